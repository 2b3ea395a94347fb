// A master whose buffers are larger than its slave's can be handed a packet that no whole ring of
// the slave's buffers holds. It used to return 0 for it forever; now it is dropped and counted,
// and the packets after it go through intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Memif } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

test('a master drops (and counts) a packet too large for the slave ring, then carries on', {
  timeout: 20_000,
}, async () => {
  const tmp = tempDir();
  const socketPath = tmp.socket();
  const master = await Memif.create({ role: 'master', socketPath, bufferSize: 4096, log2RingSize: 2 });
  const slave = await Memif.create({ role: 'slave', socketPath, bufferSize: 1024, log2RingSize: 2 });
  try {
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    // Wait until the slave has offered its 4 buffers of 1024 bytes.
    const small = Buffer.from('first');
    while (master.txBurst(0, [small]) === 0) await new Promise((r) => setImmediate(r));
    const tooBig = Buffer.alloc(5000, 0xab); // needs 5 of the slave's buffers; the ring has 4
    const after = Buffer.alloc(3000, 0xcd); // needs 3: fits once "first" is read
    const got: Buffer[] = [];
    while (got.length === 0) {
      got.push(...slave.rxBurst(0));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(master.txBurst(0, [tooBig, after]), 2);
    while (got.length < 2) {
      got.push(...slave.rxBurst(0));
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(got, [small, after]);
    const tx = master.details().txQueues[0];
    assert.equal(tx.errors, 1);
    assert.equal(tx.packets, 2);
    assert.equal(tx.bytes, small.length + after.length);
  } finally {
    await slave.close();
    await master.close();
    tmp.remove();
  }
});
