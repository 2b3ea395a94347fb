// The per-queue loss counters of details(), each provoked for real: a ring the peer never drains
// (ringFull), a packet no ring of the peer's buffers holds (oversized), and a chain with an empty
// fragment from a hostile slave (emptyFragments). Every packet that does arrive is compared byte
// for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESC_FLAG_NEXT } from '../../src/constants.js';
import { Memif } from '../../src/index.js';
import { bufferOffset } from '../../src/shm/layout.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { tempDir } from '../helpers/tmp.js';

const tick = () => new Promise((r) => setImmediate(r));

async function drain(m: Memif, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  for (let i = 0; i < 10_000 && got.length < count; i++) {
    got.push(...m.rxBurst(0));
    if (got.length < count) await tick();
  }
  return got;
}

function packets(n: number, size: number, seed: number): Buffer[] {
  return Array.from({ length: n }, (_, k) => Buffer.alloc(size + k, (seed + k) & 0xff));
}

test('ringFull counts the packets txBurst refused while the peer did not drain, in both directions', {
  timeout: 20_000,
}, async () => {
  const tmp = tempDir();
  const socketPath = tmp.socket();
  const opts = { socketPath, log2RingSize: 2, rxMode: 'polling' } as const;
  const master = await Memif.create({ role: 'master', ...opts });
  const slave = await Memif.create({ role: 'slave', ...opts });
  try {
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    for (const [tx, rx, seed] of [
      [slave, master, 1],
      [master, slave, 101],
    ] as const) {
      const sent = packets(6, 100, seed);
      // A master sees the slave's offered buffers a moment after connect.
      let first = 0;
      for (let i = 0; i < 1000 && first === 0; i++) {
        first = tx.txBurst(0, sent);
        if (first === 0) await tick();
      }
      assert.equal(first, 4, 'a ring of 4 takes 4 of 6');
      const refusedBefore = tx.details().txQueues[0].ringFull ?? -1;
      assert.equal(tx.txBurst(0, sent, 3), 0, 'nothing fits while the peer does not read');
      const q = tx.details().txQueues[0];
      assert.equal(q.ringFull, refusedBefore + 3);
      assert.ok(refusedBefore >= 2, `the first call refused 2 (counted ${refusedBefore})`);
      assert.equal(q.packets, 4);
      assert.equal(q.errors, 0, 'a refusal is not an error: the caller keeps the packets');
      assert.equal(q.oversized, 0);
      assert.deepEqual(await drain(rx, 4), sent.slice(0, 4));
      assert.equal(rx.details().rxQueues[0].emptyFragments, 0);
    }
  } finally {
    await slave.close();
    await master.close();
    tmp.remove();
  }
});

// A master once returned 0 for such a packet for ever, so the packets behind it never went out.
test('oversized counts a packet that even a whole ring of the slave buffers cannot hold', {
  timeout: 20_000,
}, async () => {
  const tmp = tempDir();
  const socketPath = tmp.socket();
  const master = await Memif.create({ role: 'master', socketPath, bufferSize: 4096, log2RingSize: 2 });
  const slave = await Memif.create({ role: 'slave', socketPath, bufferSize: 1024, log2RingSize: 2 });
  try {
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    const small = Buffer.alloc(700, 0x11);
    while (master.txBurst(0, [small]) === 0) await tick();
    assert.deepEqual(await drain(slave, 1), [small]);
    const tooBig = Buffer.alloc(4097, 0xab); // 5 of the slave's 1024-byte buffers; its ring has 4
    const fits = Buffer.alloc(4096, 0xcd); // exactly 4
    let taken = 0;
    for (let i = 0; i < 1000 && taken === 0; i++) {
      taken = master.txBurst(0, [tooBig, fits]);
      if (taken === 0) await tick();
    }
    assert.equal(taken, 2);
    assert.deepEqual(await drain(slave, 1), [fits]);
    const q = master.details().txQueues[0];
    assert.equal(q.oversized, 1);
    assert.equal(q.errors, 1);
    assert.equal(q.packets, 2);
    assert.equal(q.bytes, small.length + fits.length);
  } finally {
    await slave.close();
    await master.close();
    tmp.remove();
  }
});

test('emptyFragments counts a chain with a 0-byte fragment from a hostile slave; the link stays up', {
  timeout: 20_000,
}, async () => {
  const tmp = tempDir();
  const socketPath = tmp.socket();
  const master = await Memif.create({ role: 'master', socketPath, log2RingSize: 4, rxMode: 'polling' });
  const bad = new ScriptedSlave(socketPath);
  try {
    await bad.handshake({ log2RingSize: 4 });
    await master.waitForConnect();
    const layout = bad.layout;
    const region = bad.region;
    assert.ok(layout && region);
    const at = (slot: number) => bufferOffset(layout, 'S2M', 0, slot);
    const tail = Buffer.from('tail of a chain whose first fragment is empty');
    const good = Buffer.from('the packet after it');
    region.bytes.set(tail, at(1));
    region.bytes.set(good, at(2));
    bad.publishS2M(0, { flags: DESC_FLAG_NEXT, offset: at(0), length: 0 }, 0);
    bad.publishS2M(1, { offset: at(1), length: tail.length }, 0);
    bad.publishS2M(2, { offset: at(2), length: good.length }, 3);
    assert.deepEqual(await drain(master, 1), [good]);
    const q = master.details().rxQueues[0];
    assert.equal(q.emptyFragments, 1);
    assert.equal(q.errors, 1);
    assert.equal(q.packets, 1);
    assert.equal(q.bytes, good.length);
    assert.equal(master.connected, true);
  } finally {
    bad.close();
    await master.close();
    tmp.remove();
  }
});
