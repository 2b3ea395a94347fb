// The zero-copy burst API in both roles and both directions: packets written in place into
// TxBurst buffers (chains across buffers included) arrive byte for byte through RxBurst views,
// also mixed with the copy API; and every misuse is an error, never corrupted memory.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Memif, type RxBurst, type TxBurst } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { streamPacket, streams } from '../helpers/traffic.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Writes as many of `packets` as fit into one TxBurst (chaining over buffers) and commits. */
function sendZeroCopy(iface: Memif, packets: Buffer[]): number {
  const b: TxBurst = iface.txAlloc(0, 256);
  let used = 0;
  let sent = 0;
  for (const p of packets) {
    // Plan: enough buffers for the whole packet, or stop.
    let need = 0;
    for (let room = 0; room < p.length; need++) {
      if (used + need >= b.count) {
        b.commit(used);
        return sent;
      }
      room += b.capacity(used + need);
    }
    let done = 0;
    for (let k = 0; k < need; k++) {
      const i = used + k;
      const n = Math.min(b.capacity(i), p.length - done);
      b.bytes(b.region(i)).set(p.subarray(done, done + n), b.offset(i));
      b.setLength(i, n, k + 1 < need);
      done += n;
    }
    used += need;
    sent++;
  }
  b.commit(used);
  return sent;
}

/** Reads one RxBurst, gathering each packet from its segments, and releases it. */
function receiveZeroCopy(iface: Memif): Buffer[] {
  const b: RxBurst = iface.rxBurstZeroCopy(0, 256);
  const out: Buffer[] = [];
  for (let i = 0; i < b.count; i++) {
    const pkt = Buffer.alloc(b.length(i));
    let at = 0;
    for (let s = 0; s < b.segments(i); s++) {
      const off = b.offset(i, s);
      const len = b.segmentLength(i, s);
      pkt.set(b.bytes(b.region(i, s)).subarray(off, off + len), at);
      at += len;
    }
    assert.equal(at, pkt.length);
    out.push(pkt);
  }
  b.release();
  return out;
}

async function pair(tmp: TempDir, name: string) {
  const socketPath = tmp.socket(name);
  const master = await Memif.create({ role: 'master', socketPath, rxMode: 'polling' });
  const slave = await Memif.create({ role: 'slave', socketPath, rxMode: 'polling' });
  await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
  // Let the slave offer its buffers before the master allocates. Every alloc ends in commit or abort.
  for (;;) {
    const b = master.txAlloc(0, 1);
    const granted = b.count;
    b.abort();
    if (granted > 0) break;
    await tick();
  }
  return { master, slave };
}

describe('zero-copy bursts', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const [from, to, txZc, rxZc] of [
    ['slave', 'master', true, true],
    ['master', 'slave', true, true],
    ['slave', 'master', true, false],
    ['master', 'slave', false, true],
  ] as const) {
    test(`${from} → ${to}: ${txZc ? 'zero-copy' : 'copy'} tx, ${rxZc ? 'zero-copy' : 'copy'} rx, 20,000 packets of 1–9,000 bytes`, {
      timeout: 60_000,
    }, async () => {
      const { master, slave } = await pair(tmp, `zc-${from}-${txZc}-${rxZc}.sock`);
      const tx = from === 'slave' ? slave : master;
      const rx = from === 'slave' ? master : slave;
      const spec = streams(42, 9000)[from];
      const total = 20_000;
      let sent = 0;
      let received = 0;
      try {
        while (received < total) {
          const batch: Buffer[] = [];
          for (let i = sent; i < total && batch.length < 64; i++) batch.push(streamPacket(spec, i));
          if (batch.length > 0) sent += txZc ? sendZeroCopy(tx, batch) : tx.txBurst(0, batch);
          const got = rxZc ? receiveZeroCopy(rx) : rx.rxBurst(0);
          for (const p of got) {
            assert.ok(p.equals(streamPacket(spec, received)), `packet ${received} arrived intact`);
            received++;
          }
          if (got.length === 0) await tick();
        }
        assert.equal(tx.details().txQueues[0].packets, total);
        assert.equal(rx.details().rxQueues[0].packets, total);
      } finally {
        await slave.close();
        await master.close();
      }
    });
  }

  test('echo in place: the slave forwards received buffers to its tx ring with copyWithin', {
    timeout: 30_000,
  }, async () => {
    const { master, slave } = await pair(tmp, 'zc-echo.sock');
    try {
      const frames = Array.from({ length: 300 }, (_, i) => Buffer.alloc(60 + (i % 1400), i & 0xff));
      let sent = 0;
      const back: Buffer[] = [];
      while (back.length < frames.length) {
        if (sent < frames.length) sent += master.txBurst(0, frames.slice(sent, sent + 64));
        const rx = slave.rxBurstZeroCopy(0);
        if (rx.count > 0) {
          const tx = slave.txAlloc(0, rx.count);
          const n = Math.min(tx.count, rx.count);
          for (let i = 0; i < n; i++) {
            assert.equal(rx.segments(i), 1);
            assert.equal(rx.region(i), tx.region(i)); // one region on a slave: no copy between buffers of two mappings
            tx.bytes(tx.region(i)).copyWithin(tx.offset(i), rx.offset(i), rx.offset(i) + rx.length(i));
            tx.setLength(i, rx.length(i));
          }
          tx.commit(n);
          assert.equal(n, rx.count, 'the tx ring had room for the whole burst');
        }
        rx.release();
        back.push(...master.rxBurst(0));
        await tick();
      }
      assert.deepEqual(back, frames);
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('misuse is an error, never corrupted memory', { timeout: 30_000 }, async () => {
    const { master, slave } = await pair(tmp, 'zc-misuse.sock');
    try {
      // tx: more than taken, over capacity, a cut chain, no length, twice.
      const b = slave.txAlloc(0, 4);
      assert.equal(b.count, 4);
      assert.throws(() => b.setLength(0, b.capacity(0) + 1), { errorName: 'MEMIF_ERR_INVAL_ARG' });
      assert.throws(() => b.setLength(4, 10), { errorName: 'MEMIF_ERR_INVAL_ARG' });
      b.write(0, Buffer.from('first'));
      b.setLength(1, 10, true);
      assert.throws(() => b.commit(5), { errorName: 'MEMIF_ERR_INVAL_ARG' }, 'more than was taken');
      assert.throws(() => b.commit(2), /continues a chain/);
      assert.throws(() => b.commit(3), /no length/);
      assert.throws(() => slave.txBurst(0, [Buffer.from('x')]), { errorName: 'MEMIF_ERR_ALREADY' });
      assert.throws(() => slave.txAlloc(0, 1), { errorName: 'MEMIF_ERR_ALREADY' });
      for (let i = 0; i < 50 && master.rxBurst(0).length === 0; i++) await tick();
      assert.deepEqual(master.rxBurst(0), [], 'nothing was published by the failed commits');
      assert.equal(b.commit(1), 1);
      assert.throws(() => b.commit(1), { errorName: 'MEMIF_ERR_NOCONN' }, 'a burst commits once');
      assert.throws(() => b.offset(0), /committed or aborted/);
      let got: Buffer[] = [];
      for (let i = 0; i < 100 && got.length === 0; i++) {
        got = master.rxBurst(0);
        await tick();
      }
      assert.deepEqual(got, [Buffer.from('first')]);

      // rx: a view used after release, a second burst while one is held.
      assert.equal(slave.txBurst(0, [Buffer.from('second')]), 1);
      let r = master.rxBurstZeroCopy(0);
      for (let i = 0; i < 100 && r.count === 0; i++) {
        r.release();
        await tick();
        r = master.rxBurstZeroCopy(0);
      }
      assert.equal(r.count, 1);
      assert.equal(Buffer.from(r.view(0)).toString(), 'second');
      assert.throws(() => master.rxBurst(0), { errorName: 'MEMIF_ERR_ALREADY' });
      assert.throws(() => master.rxBurstZeroCopy(0), { errorName: 'MEMIF_ERR_ALREADY' });
      assert.throws(() => r.length(1), { errorName: 'MEMIF_ERR_INVAL_ARG' });
      assert.throws(() => r.offset(0, 1), { errorName: 'MEMIF_ERR_INVAL_ARG' });
      r.release();
      r.release(); // idempotent
      assert.throws(() => r.length(0), /released/);
      assert.throws(() => r.bytes(0), /released/);

      // A burst held across a disconnect: its memory stays mapped and writable until it is given
      // back, which then publishes nothing; afterwards it is unusable.
      const held = slave.txAlloc(0, 2);
      assert.equal(held.count, 2);
      await master.close();
      while (slave.connected) await tick();
      const at = held.offset(0);
      held.bytes(held.region(0)).set([1, 2, 3], at);
      assert.deepEqual([...held.bytes(held.region(0)).subarray(at, at + 3)], [1, 2, 3]);
      held.setLength(0, 3);
      assert.equal(held.commit(1), 0, 'nothing is published on a link that went down');
      assert.throws(() => held.offset(0), /committed or aborted/);
    } finally {
      await slave.close();
      await master.close();
    }
  });
});
