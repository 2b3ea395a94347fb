// Region layout of src/shm/layout.ts against spec §7.2/§7.5 (worked example, CL 128), then the ring
// data path on 16-slot rings: free-running u16 indices across the 65535 → 0 wrap in both directions,
// a full ring taking only what fits, and chains that are sent whole or not at all.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Memif, MemifError } from '../../src/index.js';
import { bufferOffset, computeLayout, ringOffset } from '../../src/shm/layout.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { runTraffic, type StreamSpec, streamPacket, streams } from '../helpers/traffic.js';

const T = { timeout: 120_000 };

describe('layout (§7.2, §7.5)', () => {
  test('worked example: 1+1 rings, N = 1024, B = 2048, CL 64', () => {
    const l = computeLayout({ numS2M: 1, numM2S: 1, log2RingSize: 10, bufferSize: 2048, cacheLineSize: 64 });
    assert.equal(l.ringSize, 1024);
    assert.equal(l.ringBytes, 16512);
    assert.equal(ringOffset(l, 'S2M', 0), 0);
    assert.equal(ringOffset(l, 'M2S', 0), 16512);
    assert.equal(l.buffersOffset, 33024);
    for (const k of [0, 1, 2, 1023]) {
      assert.equal(bufferOffset(l, 'S2M', 0, k), 33024 + 2048 * k);
      assert.equal(bufferOffset(l, 'M2S', 0, k), 2130176 + 2048 * k);
    }
    assert.equal(l.regionSize, 4227328);
    // The last M2S buffer ends exactly at the end of the region.
    assert.equal(bufferOffset(l, 'M2S', 0, 1023) + 2048, l.regionSize);
  });

  test('same example with CL 128 (VPP / libmemif on aarch64)', () => {
    const l = computeLayout({ numS2M: 1, numM2S: 1, log2RingSize: 10, bufferSize: 2048, cacheLineSize: 128 });
    assert.equal(l.ringBytes, 2 * 128 + 16 * 1024);
    assert.equal(l.ringBytes, 16640);
    assert.equal(ringOffset(l, 'M2S', 0), 16640);
    assert.equal(l.buffersOffset, 33280);
    assert.equal(bufferOffset(l, 'S2M', 0, 0), 33280);
    assert.equal(bufferOffset(l, 'M2S', 0, 0), 33280 + 1024 * 2048);
    assert.equal(bufferOffset(l, 'M2S', 0, 5), 2130432 + 2048 * 5);
    assert.equal(l.regionSize, 33280 + 2 * 1024 * 2048);
    assert.equal(l.regionSize, 4227584);
  });

  test('several queues: S2M rings, then M2S rings, then buffers, S2M queues first', () => {
    const N = 256;
    const B = 1000;
    const l = computeLayout({ numS2M: 2, numM2S: 3, log2RingSize: 8, bufferSize: B, cacheLineSize: 64 });
    const rb = 128 + 16 * N;
    assert.equal(l.ringBytes, rb);
    assert.deepEqual(
      [0, 1].map((i) => ringOffset(l, 'S2M', i)),
      [0, rb],
    );
    assert.deepEqual(
      [0, 1, 2].map((i) => ringOffset(l, 'M2S', i)),
      [2 * rb, 3 * rb, 4 * rb],
    );
    const base = 5 * rb;
    assert.equal(l.buffersOffset, base);
    assert.equal(bufferOffset(l, 'S2M', 1, 7), base + (1 * N + 7) * B);
    assert.equal(bufferOffset(l, 'M2S', 0, 0), base + 2 * N * B);
    assert.equal(bufferOffset(l, 'M2S', 2, 9), base + ((2 + 2) * N + 9) * B);
    assert.equal(l.regionSize, base + 5 * N * B);
    // rings_end is a multiple of 64 whenever N >= 4 (§7.5).
    for (const log2 of [2, 3, 4, 10, 14]) {
      const x = computeLayout({ numS2M: 3, numM2S: 1, log2RingSize: log2, bufferSize: 2048, cacheLineSize: 64 });
      assert.equal(x.buffersOffset % 64, 0);
    }
  });
});

/** A connected pair on 16-slot rings, rx in polling mode (these tests read when they choose). */
async function smallPair(tmp: TempDir, name: string, bufferSize: number): Promise<[Memif, Memif]> {
  const socketPath = tmp.socket(name);
  const common = { socketPath, log2RingSize: 4, bufferSize, rxMode: 'polling' as const };
  const master = await Memif.create({ role: 'master', ...common });
  const slave = await Memif.create({ role: 'slave', ...common });
  await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
  return [master, slave];
}

async function drain(rx: Memif, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  while (got.length < count) {
    got.push(...rx.rxBurst(0));
    if (got.length < count) await tick();
  }
  // And nothing beyond.
  await tick();
  assert.deepEqual(rx.rxBurst(0), []);
  return got;
}

function assertSame(got: Buffer[], want: Buffer[]): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].length, want[i].length, `packet ${i} length`);
    assert.ok(got[i].equals(want[i]), `packet ${i} bytes`);
  }
}

describe('ring data path on 16-slot rings', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('70,000 single-buffer packets each way: indices wrap 65535 → 0, every byte arrives', T, async () => {
    const COUNT = 70_000;
    const [master, slave] = await smallPair(tmp, 'wrap.sock', 2048);
    try {
      // 1 … 2048 bytes: always one buffer, lengths varying packet by packet.
      const s = streams(0x7a11, 2048);
      const [m, sl] = await Promise.all([
        runTraffic(master, { count: COUNT, send: s.master, expect: s.slave, rxMode: 'polling' }),
        runTraffic(slave, { count: COUNT, send: s.slave, expect: s.master, rxMode: 'polling' }),
      ]);
      assert.deepEqual(m.mismatches, []);
      assert.deepEqual(sl.mismatches, []);
      assert.equal(m.received, COUNT);
      assert.equal(sl.received, COUNT);
      const end = COUNT & 0xffff; // 4464: the u16 counters went past 65535 once.
      assert.ok(end < 16 * 1024 && COUNT > 0xffff);
      const md = master.details();
      const sd = slave.details();
      // S2M: the slave's head and the master's tail both stand at COUNT mod 2^16.
      assert.equal(sd.txQueues[0].head, end);
      assert.equal(md.rxQueues[0].head, end);
      assert.equal(md.rxQueues[0].tail, end);
      // M2S: the master's tail at COUNT mod 2^16, the slave's head one ring of buffers ahead (refilled).
      assert.equal(md.txQueues[0].tail, end);
      assert.equal(sd.rxQueues[0].tail, end);
      assert.equal(sd.rxQueues[0].head, (end + 16) & 0xffff);
      assert.equal(md.rxQueues[0].packets, COUNT);
      assert.equal(sd.rxQueues[0].packets, COUNT);
      assert.equal(md.rxQueues[0].bytes, m.bytesReceived);
      assert.equal(sd.txQueues[0].bytes, m.bytesReceived);
      assert.equal(md.txQueues[0].bytes, sl.bytesReceived);
      assert.equal(md.rxQueues[0].errors, 0);
      assert.equal(sd.rxQueues[0].errors, 0);
      assert.equal(master.connected && slave.connected, true);
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('a full ring takes 16 of 40 packets, then none; the reader gets exactly those 16', T, async () => {
    const [master, slave] = await smallPair(tmp, 'full.sock', 256);
    try {
      const spec: StreamSpec = { seed: 99, minSize: 1, maxSize: 256 };
      for (const [tx, rx, offset] of [
        [slave, master, 0],
        [master, slave, 1000],
      ] as const) {
        const packets = Array.from({ length: 40 }, (_, i) => streamPacket(spec, offset + i));
        assert.equal(tx.txBurst(0, packets), 16);
        assert.equal(tx.txBurst(0, packets.slice(16)), 0);
        assert.equal(tx.txBurst(0, [Buffer.from('one more')]), 0);
        assertSame(await drain(rx, 16), packets.slice(0, 16));
        // Room again: the rest goes out, 16 at a time.
        let sent = 16;
        while (sent < 40) {
          const n = tx.txBurst(0, packets.slice(sent));
          assert.equal(n, Math.min(16, 40 - sent));
          assertSame(await drain(rx, n), packets.slice(sent, sent + n));
          sent += n;
        }
      }
      assert.equal(master.connected && slave.connected, true);
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test(
    'a 5-buffer chain with 3 free slots is not sent at all; after the reader drains it arrives whole',
    T,
    async () => {
      const B = 256;
      const [master, slave] = await smallPair(tmp, 'chain.sock', B);
      try {
        const spec: StreamSpec = { seed: 7, minSize: 1, maxSize: B };
        const chainSpec: StreamSpec = { seed: 8, minSize: 4 * B + 1, maxSize: 5 * B };
        for (const [tx, rx, offset] of [
          [slave, master, 0],
          [master, slave, 500],
        ] as const) {
          const singles = Array.from({ length: 13 }, (_, i) => streamPacket(spec, offset + i));
          const chain = Buffer.from(streamPacket(chainSpec, offset));
          assert.equal(Math.ceil(chain.length / B), 5);
          assert.equal(tx.txBurst(0, singles), 13);
          // 3 slots free: the chain needs 5. Nothing of it (nor what follows it) is published.
          assert.equal(tx.txBurst(0, [chain]), 0);
          assert.equal(tx.txBurst(0, [chain, Buffer.from('small')]), 0);
          assertSame(await drain(rx, 13), singles);
          assert.equal(tx.txBurst(0, [chain]), 1);
          assertSame(await drain(rx, 1), [chain]);

          // A chain of exactly 16 buffers fills the empty ring and arrives whole; one byte more never fits.
          const whole = Buffer.from(streamPacket({ seed: 9, minSize: 16 * B, maxSize: 16 * B }, offset));
          assert.equal(tx.txBurst(0, [whole]), 1);
          assert.equal(tx.txBurst(0, [Buffer.from('x')]), 0);
          assertSame(await drain(rx, 1), [whole]);
          assert.throws(
            () => tx.txBurst(0, [Buffer.alloc(16 * B + 1)]),
            (e: unknown) => e instanceof MemifError && e.errorName === 'MEMIF_ERR_INVAL_ARG',
          );
        }
        assert.equal(master.details().rxQueues[0].errors, 0);
        assert.equal(slave.details().rxQueues[0].errors, 0);
        assert.equal(master.connected && slave.connected, true);
      } finally {
        await slave.close();
        await master.close();
      }
    },
  );
});
