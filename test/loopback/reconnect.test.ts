// A slave reconnects by itself: after its master closes and a new one comes back on the same
// socket, and after the master process side dies. Traffic flows again after each reconnect.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Memif } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

async function exchange(a: Memif, b: Memif, text: string): Promise<void> {
  const pkt = Buffer.from(text);
  assert.equal(a.txBurst(0, [pkt]), 1);
  for (let i = 0; i < 1000; i++) {
    const got = b.rxBurst(0);
    if (got.length > 0) {
      assert.deepEqual(got, [pkt]);
      return;
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`packet "${text}" did not arrive`);
}

describe('reconnect', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('a slave started before its master connects when the master appears', { timeout: 30_000 }, async () => {
    const socketPath = tmp.socket('late-master.sock');
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 50 });
    try {
      assert.equal(slave.connected, false);
      const master = await Memif.create({ role: 'master', socketPath });
      try {
        await slave.waitForConnect();
        await exchange(slave, master, 'late master');
      } finally {
        await master.close();
      }
    } finally {
      await slave.close();
    }
  });

  test('a slave reconnects after its master closes and comes back, three times', { timeout: 60_000 }, async () => {
    const socketPath = tmp.socket('comeback.sock');
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 50 });
    const reasons: string[] = [];
    slave.on('disconnect', (info) => reasons.push(info.reason));
    try {
      for (let round = 0; round < 3; round++) {
        const master = await Memif.create({ role: 'master', socketPath });
        await Promise.all([slave.waitForConnect(), master.waitForConnect()]);
        await exchange(master, slave, `round ${round} m2s`);
        await exchange(slave, master, `round ${round} s2m`);
        const down = once(slave, 'disconnect');
        await master.close();
        await down;
        assert.equal(slave.connected, false);
        assert.throws(() => slave.txBurst(0, [Buffer.from('x')]), { errorName: 'MEMIF_ERR_NOCONN' });
      }
      assert.equal(reasons.length, 3);
      for (const r of reasons) assert.match(r, /interface deleted/);
    } finally {
      await slave.close();
    }
  });
});
