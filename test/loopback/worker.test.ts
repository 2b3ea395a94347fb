// Queues driven on a worker thread: a slave hands its rx and tx queue to a worker, which maps the
// same shared memory and echoes; the master checks every byte. The main thread can no longer use
// those queues; when the link goes down the worker's bursts fail with MEMIF_ERR_NOCONN, and after
// it closes, every fd and mapping is released.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Memif } from '../../src/index.js';
import { newFds, settle, snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const workerFile = fileURLToPath(new URL('../helpers/queue-worker.js', import.meta.url));

describe('queues on worker threads', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('a worker echoes through handed-off queues; the link going down reaches it', { timeout: 60_000 }, async () => {
    const socketPath = tmp.socket();
    const master = await Memif.create({ role: 'master', socketPath, rxMode: 'polling' });
    await settle();
    const before = snapshot();
    const slave = await Memif.create({ role: 'slave', socketPath, rxMode: 'polling' });
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    const worker = new Worker(workerFile, { workerData: { rx: slave.handOff('rx', 0), tx: slave.handOff('tx', 0) } });
    const results = once(worker, 'message');
    try {
      assert.throws(() => slave.rxBurst(0), { errorName: 'MEMIF_ERR_ALREADY' });
      assert.throws(() => slave.txBurst(0, [Buffer.from('x')]), { errorName: 'MEMIF_ERR_ALREADY' });
      const frames = Array.from({ length: 5000 }, (_, i) => {
        const f = Buffer.alloc(1 + ((i * 37) % 2048));
        for (let k = 0; k < f.length; k++) f[k] = (i + k * 7) & 0xff;
        return f;
      });
      const back: Buffer[] = [];
      let sent = 0;
      while (back.length < frames.length) {
        if (sent < frames.length) sent += master.txBurst(0, frames.slice(sent, sent + 64));
        back.push(...master.rxBurst(0));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(back.length, frames.length);
      for (let i = 0; i < frames.length; i++) assert.ok(back[i].equals(frames[i]), `frame ${i} came back intact`);
      // The link goes down while the worker bursts.
      await master.close();
      while (slave.connected) await new Promise((r) => setImmediate(r));
      const [report] = (await results) as [{ echoed: number; downError: string; connected: boolean }];
      assert.equal(report.echoed, frames.length);
      assert.match(report.downError, /^MEMIF_ERR_NOCONN: the interface disconnected/);
      assert.equal(report.connected, false);
      const [closed] = await once(worker, 'message');
      assert.equal(closed, 'closed');
    } finally {
      worker.postMessage('stop');
      await worker.terminate();
      await slave.close();
      await master.close();
    }
    await settle();
    const now = snapshot();
    assert.deepEqual(newFds(before, now), []);
    assert.equal(now.addonMappings, before.addonMappings, 'the worker unmapped its view');
  });
});
