// Master and slave in one process: 100,000 packets of 1–9,000 bytes over 2,048-byte buffers
// (so most are chains) in both directions at once, on 1 and 4 queues, in interrupt and polling
// mode, every packet compared byte for byte with what was sent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Memif } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { runTraffic, streams } from '../helpers/traffic.js';

const COUNT = 100_000;

describe('traffic between a master and a slave in one process', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const queues of [1, 4]) {
    for (const rxMode of ['interrupt', 'polling'] as const) {
      test(`${COUNT} packets each way, ${queues} queue(s), ${rxMode} mode`, { timeout: 300_000 }, async () => {
        const socketPath = tmp.socket(`t-${queues}-${rxMode}.sock`);
        const common = { socketPath, rxQueues: queues, txQueues: queues, bufferSize: 2048, rxMode };
        const master = await Memif.create({ role: 'master', ...common });
        const slave = await Memif.create({ role: 'slave', ...common });
        try {
          await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
          assert.equal(master.rxQueueCount, queues);
          assert.equal(slave.txQueueCount, queues);
          const s = streams(queues * 10 + (rxMode === 'polling' ? 1 : 0), 9000);
          const [m, sl] = await Promise.all([
            runTraffic(master, { count: COUNT, send: s.master, expect: s.slave, rxMode }),
            runTraffic(slave, { count: COUNT, send: s.slave, expect: s.master, rxMode }),
          ]);
          assert.deepEqual(m.mismatches, []);
          assert.deepEqual(sl.mismatches, []);
          assert.equal(m.received, COUNT);
          assert.equal(sl.received, COUNT);
          if (rxMode === 'interrupt') {
            assert.ok(m.interrupts > 0 && sl.interrupts > 0, 'interrupt mode delivers interrupt events');
          }
          // Counters agree with what crossed, on both ends.
          const md = master.details();
          const sd = slave.details();
          const sum = (qs: { packets: number }[]) => qs.reduce((a, q) => a + q.packets, 0);
          const bytes = (qs: { bytes: number }[]) => qs.reduce((a, q) => a + q.bytes, 0);
          assert.equal(sum(md.rxQueues), COUNT);
          assert.equal(sum(sd.txQueues), COUNT);
          assert.equal(sum(sd.rxQueues), COUNT);
          assert.equal(bytes(md.rxQueues), m.bytesReceived);
          assert.equal(bytes(sd.txQueues), m.bytesReceived);
          assert.equal(bytes(md.txQueues), sl.bytesReceived);
          for (const q of md.rxQueues) assert.equal(q.rxMode, rxMode);
        } finally {
          await slave.close();
          await master.close();
        }
      });
    }
  }
});
