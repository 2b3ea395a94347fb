// TxBurst.push / pushFrom and the public bulk arrays of TxBurst and RxBurst, in both roles: packets
// appended whole (chained over as many buffers as they need, across the ring's end), packets
// forwarded from a live zero-copy rx burst (re-chunked between different buffer sizes, left over
// when they do not fit), commit's checks of values written straight into the arrays, and a loop
// that uses nothing but the arrays. Every packet is compared byte for byte with what was sent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ErrorName,
  InvalidArgumentError,
  Memif,
  type MemifError,
  type RxBurst,
  StateError,
  type TxBurst,
} from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { receive, type StreamSpec, streamPacket, streams } from '../helpers/traffic.js';

type Role = 'master' | 'slave';
interface Pair {
  master: Memif;
  slave: Memif;
}

const T = { timeout: 30_000 };
const GUARD = 16;

/** One turn of the event loop. */
const tick = () => new Promise<void>((r) => setImmediate(r));

/** The other role. */
const peerOf = (role: Role): Role => (role === 'slave' ? 'master' : 'slave');

/** Buffers a packet of `size` bytes takes when each holds `capacity`. */
const buffersFor = (size: number, capacity: number) => Math.ceil(size / capacity);

/** `size` distinctive bytes (xorshift from `seed`): a shifted, swapped or repeated chunk cannot pass. */
function packetOf(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = Math.imul(seed + 1, 0x9e3779b1) | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x >>> 24;
  }
  return b;
}

/** A connected master/slave pair (polling, same options on both sides), the slave's buffers offered. */
async function pair(tmp: TempDir, name: string, opts: { bufferSize?: number; log2RingSize?: number } = {}) {
  const socketPath = tmp.socket(name);
  const master = await Memif.create({ role: 'master', socketPath, rxMode: 'polling', ...opts });
  const slave = await Memif.create({ role: 'slave', socketPath, rxMode: 'polling', ...opts });
  await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
  (await allocAtLeast(master, 1)).abort();
  return { master, slave };
}

/** Closes every interface of `pairs` (slaves first). */
async function closeAll(...pairs: Pair[]): Promise<void> {
  for (const p of pairs) await p.slave.close();
  for (const p of pairs) await p.master.close();
}

/** txAlloc on queue 0 that waits until `n` buffers are granted (a master waits for the slave's refill). */
async function allocAtLeast(tx: Memif, n: number): Promise<TxBurst> {
  for (;;) {
    const b = tx.txAlloc(0, n);
    if (b.count >= n) return b;
    b.abort();
    await tick();
  }
}

/** The next zero-copy rx burst of queue 0 that holds at least one packet. */
async function nextBurst(rx: Memif): Promise<RxBurst> {
  for (;;) {
    const rb = rx.rxBurstZeroCopy(0);
    if (rb.count > 0) return rb;
    rb.release();
    await tick();
  }
}

/** One zero-copy rx burst of queue 0, each packet gathered by RxBurst.copy into a guarded target. */
function takeZeroCopy(rx: Memif): Buffer[] {
  const rb = rx.rxBurstZeroCopy(0);
  const out: Buffer[] = [];
  for (let i = 0; i < rb.count; i++) {
    const len = rb.length(i);
    const target = Buffer.alloc(len + 2 * GUARD, 0xa5);
    assert.equal(rb.copy(i, target, GUARD), len);
    for (let g = 0; g < GUARD; g++) {
      assert.equal(target[g], 0xa5, 'copy wrote nothing before `at`');
      assert.equal(target[GUARD + len + g], 0xa5, 'copy wrote nothing past the packet');
    }
    out.push(Buffer.from(target.subarray(GUARD, GUARD + len)));
  }
  rb.release();
  return out;
}

/** Receives `n` packets (or more, if more come) through takeZeroCopy. */
async function receiveZeroCopy(rx: Memif, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  while (out.length < n) {
    out.push(...takeZeroCopy(rx));
    if (out.length < n) await tick();
  }
  return out;
}

/** Receives `want.length` packets on queue 0 of `rx` and asserts they are `want`, in order, byte for byte. */
async function expectPackets(rx: Memif, want: Buffer[], what: string): Promise<void> {
  const got = await receive(rx, 0, want.length);
  assert.equal(got.length, want.length, what);
  for (let j = 0; j < want.length; j++) assert.ok(got[j].equals(want[j]), `${what}: packet ${j} intact`);
}

/** Asserts that nothing arrives on queue 0 of `rx` for a few turns of the event loop. */
async function assertQuiet(rx: Memif, what: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await tick();
    assert.deepEqual(rx.rxBurst(0), [], what);
  }
}

/** Copies of the bytes of tx buffers [from, to) (to check that nothing was written into them). */
function snapshot(tb: TxBurst, from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i < to; i++) {
    const off = tb.bufOffset[i];
    out.push(Buffer.from(tb.bytes(tb.bufRegion[i]).subarray(off, off + tb.bufCapacity[i])));
  }
  return out;
}

/** Asserts the chain push just wrote into buffers [at, tb.used): lengths add up, more=1 on all but the last. */
function assertChain(tb: TxBurst, at: number, size: number): void {
  let sum = 0;
  for (let k = at; k < tb.used; k++) {
    assert.ok(tb.bufLength[k] >= 1 && tb.bufLength[k] <= tb.bufCapacity[k], `buffer ${k} length in 1 … capacity`);
    assert.equal(tb.bufMore[k], k + 1 < tb.used ? 1 : 0, `bufMore[${k}] of a ${size}-byte chain`);
    sum += tb.bufLength[k];
  }
  assert.equal(sum, size, 'the chain holds the whole packet');
}

/** A validator for assert.throws: an instance of `kind` named `name`. */
function memifError(kind: new (...args: never[]) => MemifError, name: ErrorName) {
  return (e: unknown) => e instanceof kind && e.errorName === name;
}

/** Records the 'disconnect' events of `m` (to check that a refused commit left the link up). */
function disconnects(m: Memif): unknown[] {
  const seen: unknown[] = [];
  m.on('disconnect', (e) => seen.push(e));
  return seen;
}

/** Asserts that `m` stayed connected: no 'disconnect' event seen (for a few turns) and the link up. */
async function assertConnected(m: Memif, seen: unknown[], what: string): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(seen, [], `${what}: no disconnect event`);
  assert.equal(m.details().linkUp, true, `${what}: the link is up`);
}

/** Writes `pkt` into buffer `i` through the public arrays only: its bytes at bufOffset, then bufLength. */
function fillByArrays(tb: TxBurst, i: number, pkt: Uint8Array): void {
  tb.bytes(tb.bufRegion[i]).set(pkt, tb.bufOffset[i]);
  tb.bufLength[i] = pkt.length;
}

/** Counters of tx queue 0 of `m`, from details(). */
const txCounters = (m: Memif) => {
  const q = m.details().txQueues[0];
  return { packets: q.packets, errors: q.errors };
};

/**
 * Forwards what queue 0 of `from` receives to queue 0 of `to` with pushFrom, at most `maxBuffers`
 * tx buffers per burst; an rx burst is held (and continued with `from`) until all of it went out.
 */
class Forwarder {
  rb: RxBurst | undefined;
  at = 0;
  /** Packets forwarded, rx segments seen, tx buffers published, bursts left over for later. */
  readonly stats = { packets: 0, segments: 0, buffers: 0, leftovers: 0 };

  constructor(
    readonly from: Memif,
    readonly to: Memif,
    readonly maxBuffers: number,
  ) {}

  /** One rx burst taken (if none is held) and one tx burst filled; returns packets forwarded. */
  step(): number {
    if (this.rb === undefined) {
      const rb = this.from.rxBurstZeroCopy(0, 64);
      if (rb.count === 0) {
        rb.release();
        return 0;
      }
      this.rb = rb;
      this.at = 0;
      this.stats.segments += rb.first[rb.count] - rb.first[0];
    }
    const rb = this.rb;
    const tb = this.to.txAlloc(0, this.maxBuffers);
    const n = tb.pushFrom(rb, this.at);
    if (tb.used > 0) {
      this.stats.buffers += tb.used;
      assert.equal(tb.commit(), n, 'commit sends the packets pushFrom took');
    } else {
      assert.equal(n, 0, 'packets forwarded without a buffer');
      tb.abort();
    }
    this.at += n;
    this.stats.packets += n;
    if (this.at < rb.count) {
      if (n > 0) this.stats.leftovers++;
    } else {
      rb.release();
      this.rb = undefined;
    }
    return n;
  }
}

/** Sends `total` packets of `spec` from `src` (copy API) through `fwd` and checks them in order at `dst`. */
async function relay(src: Memif, fwd: Forwarder, dst: Memif, spec: StreamSpec, total: number): Promise<void> {
  let sent = 0;
  let received = 0;
  const batch: Buffer[] = [];
  while (received < total) {
    let progress = false;
    if (sent < total) {
      batch.length = 0;
      for (let i = sent; i < total && batch.length < 64; i++) batch.push(streamPacket(spec, i));
      const n = src.txBurst(0, batch);
      sent += n;
      progress ||= n > 0;
    }
    while (fwd.step() > 0) progress = true;
    for (const p of dst.rxBurst(0)) {
      const want = streamPacket(spec, received);
      if (!p.equals(want)) assert.fail(`packet ${received}: ${p.length} bytes arrived, ${want.length} sent, not equal`);
      received++;
      progress = true;
    }
    if (!progress) await tick();
  }
  assert.equal(received, total);
  await assertQuiet(dst, 'nothing more than was sent arrives');
}

describe('TxBurst.push / pushFrom and the bulk arrays', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const from of ['slave', 'master'] as const) {
    const to = peerOf(from);

    test(
      `push, ${from} → ${to}: 1 byte … most of the ring, used counts the chains, copy and zero-copy rx`,
      T,
      async () => {
        const B = 256;
        const RING = 64;
        const p = await pair(tmp, `push-${from}.sock`, { bufferSize: B, log2RingSize: 6 });
        const tx = p[from];
        const rx = p[to];
        try {
          const sizes = [1, 60, B - 1, B, B + 1, 3 * B + 5];
          const small = sizes.reduce((a, s) => a + buffersFor(s, B), 0);
          sizes.push((RING - small - 9) * B - 3); // takes most of the ring
          // Three rounds: the second and third start mid-ring, so some chains wrap round its end.
          for (const [round, zeroCopyRx] of [
            [0, false],
            [1, true],
            [2, false],
          ] as const) {
            const packets = sizes.map((s, j) => packetOf(s, (from === 'slave' ? 1000 : 2000) + round * 10 + j));
            const tb = await allocAtLeast(tx, RING);
            assert.equal(tb.used, 0, 'a new burst starts empty');
            for (let i = 0; i < tb.count; i++) assert.equal(tb.bufCapacity[i], B, "every buffer is one of the slave's");
            let want = 0;
            for (const pkt of packets) {
              const at = tb.used;
              assert.equal(tb.push(pkt), true, `a ${pkt.length}-byte packet fits`);
              want += buffersFor(pkt.length, B);
              assert.equal(tb.used, want, `used after pushing ${pkt.length} bytes`);
              assertChain(tb, at, pkt.length);
            }
            assert.ok(tb.used > RING / 2, 'the burst took most of the ring');
            assert.equal(tb.commit(), packets.length, 'commit() returns the packets sent');
            assert.equal(tb.live, false);
            const got = zeroCopyRx ? await receiveZeroCopy(rx, packets.length) : await receive(rx, 0, packets.length);
            assert.equal(got.length, packets.length);
            for (let j = 0; j < packets.length; j++) {
              assert.ok(
                got[j].equals(packets[j]),
                `round ${round}: packet ${j} (${packets[j].length} bytes) arrived intact`,
              );
            }
            await assertQuiet(rx, 'nothing more arrives');
          }
          assert.equal(tx.details().txQueues[0].packets, 3 * sizes.length);
        } finally {
          await closeAll(p);
        }
      },
    );

    test(`push, ${from} → ${to}: false and nothing written when it does not fit or is empty`, T, async () => {
      const B = 256;
      const p = await pair(tmp, `push-full-${from}.sock`, { bufferSize: B, log2RingSize: 4 });
      const tx = p[from];
      const rx = p[to];
      try {
        const tb = await allocAtLeast(tx, 3);
        assert.equal(tb.count, 3);
        const untouched = snapshot(tb, 0, 3);
        assert.equal(tb.push(packetOf(3 * B + 1, 1)), false, 'a packet needing 4 buffers does not fit in 3');
        assert.equal(tb.used, 0);
        assert.deepEqual([...tb.bufLength.subarray(0, 3)], [0, 0, 0], 'the tried buffers have no length');
        assert.deepEqual(snapshot(tb, 0, 3), untouched, 'no byte was written');
        assert.equal(tb.push(new Uint8Array(0)), false, 'an empty packet is refused');
        assert.equal(tb.used, 0);

        const fits = packetOf(B + 7, 2);
        assert.equal(tb.push(fits), true);
        assert.equal(tb.used, 2);
        assert.deepEqual([...tb.bufLength.subarray(0, 3)], [B, 7, 0]);
        assert.deepEqual([...tb.bufMore.subarray(0, 2)], [1, 0]);
        const third = snapshot(tb, 2, 3);
        assert.equal(tb.push(packetOf(B + 1, 3)), false, 'two buffers needed, one left');
        assert.equal(tb.used, 2);
        assert.deepEqual([...tb.bufLength.subarray(0, 3)], [B, 7, 0], 'the packet before is intact');
        assert.equal(tb.bufMore[1], 0, 'the chain before still ends');
        assert.deepEqual(snapshot(tb, 2, 3), third, 'no byte was written into the buffer left');
        assert.equal(tb.push(new Uint8Array(0)), false);
        assert.equal(tb.used, 2);

        assert.equal(tb.commit(), 1, 'only the packet that fitted is sent');
        await expectPackets(rx, [fits], 'it arrived intact');
        await assertQuiet(rx, 'the refused packets were not published');

        // The buffer left over went back: the next burst starts with it and its packets arrive intact.
        const again = [packetOf(3 * B, 4), packetOf(5, 5)];
        const tb2 = await allocAtLeast(tx, 4);
        for (const pkt of again) assert.equal(tb2.push(pkt), true);
        assert.equal(tb2.used, 4);
        assert.equal(tb2.commit(), 2);
        await expectPackets(rx, again, 'the next burst');
      } finally {
        await closeAll(p);
      }
    });

    test(`push, ${from} → ${to}: chains cross the end of an 8-slot ring many times`, T, async () => {
      const B = 128;
      const RING = 8;
      const p = await pair(tmp, `push-wrap-${from}.sock`, { bufferSize: B, log2RingSize: 3 });
      const tx = p[from];
      const rx = p[to];
      const total = 1500;
      const seed = from === 'slave' ? 3000 : 4000;
      const sizeOf = (i: number) => 1 + (packetOf(4, seed + i).readUInt32LE(0) % (RING * B));
      const packetAt = (i: number) => packetOf(sizeOf(i), seed + i);
      try {
        let sent = 0;
        let received = 0;
        let wrapped = 0;
        for (let round = 0; received < total; round++) {
          const tb = tx.txAlloc(0, RING);
          while (sent < total) {
            const at = tb.used;
            const pkt = packetAt(sent);
            if (!tb.push(pkt)) break;
            assert.equal(tb.used - at, buffersFor(pkt.length, B));
            assertChain(tb, at, pkt.length);
            for (let k = at + 1; k < tb.used; k++) if (tb.bufOffset[k] < tb.bufOffset[k - 1]) wrapped++;
            sent++;
          }
          if (tb.used > 0) tb.commit();
          else tb.abort();
          const got = round % 2 === 0 ? rx.rxBurst(0) : takeZeroCopy(rx);
          for (const pkt of got) {
            const want = packetAt(received);
            if (!pkt.equals(want)) assert.fail(`packet ${received}: ${pkt.length} bytes arrived, ${want.length} sent`);
            received++;
          }
          if (got.length === 0) await tick();
        }
        assert.equal(received, total);
        assert.ok(wrapped > 100, `chains crossed the ring's end ${wrapped} times`);
        await assertQuiet(rx, 'nothing more arrives');
      } finally {
        await closeAll(p);
      }
    });

    test(
      `pushFrom, ${from} echoes within one interface (one region: copyWithin), chained 256-byte buffers`,
      T,
      async () => {
        const p = await pair(tmp, `echo-${from}.sock`, { bufferSize: 256, log2RingSize: 8 });
        const echo = p[from];
        const src = p[peerOf(from)];
        try {
          const spec = streams(7, 3000)[from];
          const fwd = new Forwarder(echo, echo, 64);
          const total = 2000;
          await relay(src, fwd, src, spec, total);
          let buffers = 0;
          for (let i = 0; i < total; i++) buffers += buffersFor(streamPacket(spec, i).length, 256);
          assert.equal(fwd.stats.packets, total);
          assert.equal(fwd.stats.segments, buffers, 'rx segments');
          assert.equal(fwd.stats.buffers, buffers, 'tx buffers');
          assert.ok(fwd.stats.leftovers > 0, 'some rx bursts were continued with `from`');
        } finally {
          await closeAll(p);
        }
      },
    );
  }

  for (const f of [
    { rx: 'slave', rxBuf: 2048, tx: 'slave', txBuf: 300 },
    { rx: 'slave', rxBuf: 300, tx: 'master', txBuf: 2048 },
    { rx: 'master', rxBuf: 2048, tx: 'master', txBuf: 300 },
    { rx: 'master', rxBuf: 300, tx: 'slave', txBuf: 2048 },
  ] as const) {
    test(
      `pushFrom between two interfaces: ${f.rx} rx (${f.rxBuf}-byte segments) → ${f.tx} tx (${f.txBuf}-byte buffers), 60–9,000 bytes`,
      T,
      async () => {
        const ring = (buf: number) => (buf === 300 ? 9 : 7);
        const one = await pair(tmp, `fwd-in-${f.rx}-${f.rxBuf}.sock`, {
          bufferSize: f.rxBuf,
          log2RingSize: ring(f.rxBuf),
        });
        const two = await pair(tmp, `fwd-out-${f.tx}-${f.txBuf}.sock`, {
          bufferSize: f.txBuf,
          log2RingSize: ring(f.txBuf),
        });
        try {
          const spec = streams(11, 9000, 60).master;
          const fwd = new Forwarder(one[f.rx], two[f.tx], 32);
          const total = 1500;
          await relay(one[peerOf(f.rx)], fwd, two[peerOf(f.tx)], spec, total);
          let segments = 0;
          let buffers = 0;
          for (let i = 0; i < total; i++) {
            const size = streamPacket(spec, i).length;
            segments += buffersFor(size, f.rxBuf);
            buffers += buffersFor(size, f.txBuf);
          }
          assert.equal(fwd.stats.packets, total);
          assert.equal(fwd.stats.segments, segments, 'rx segments, as the rx buffer size cuts them');
          assert.equal(fwd.stats.buffers, buffers, 'tx buffers, as the tx buffer size cuts them');
          assert.ok(fwd.stats.leftovers > 0, 'some rx bursts were continued with `from`');
        } finally {
          await closeAll(one, two);
        }
      },
    );
  }

  for (const fwdRole of ['slave', 'master'] as const) {
    test(
      `pushFrom, ${fwdRole} forwards: a partial fit returns k < N, the rest goes with pushFrom(rb, k)`,
      T,
      async () => {
        const B = 256;
        const p = await pair(tmp, `partial-${fwdRole}.sock`, { bufferSize: B, log2RingSize: 6 });
        const fwd = p[fwdRole];
        const peer = p[peerOf(fwdRole)];
        try {
          const sizes = [600, 100, 700, 256, 900, 50]; // 3, 1, 3, 1, 4, 1 buffers
          const packets = sizes.map((s, j) => packetOf(s, 5000 + j));
          assert.equal(peer.txBurst(0, packets), packets.length);
          const rb = await nextBurst(fwd);
          assert.equal(rb.count, packets.length, 'one txBurst arrives as one rx burst');

          // 9 buffers: packets 0–3 take 8, packet 4 needs 4 and is not written.
          const tb = await allocAtLeast(fwd, 9);
          assert.equal(tb.count, 9);
          assert.equal(tb.pushFrom(rb), 4);
          assert.equal(tb.used, 8);
          assert.equal(tb.bufLength[8], 0, 'the buffer tried for packet 4 has no length');
          assert.equal(tb.pushFrom(rb, 4), 0, 'still no room for packet 4');
          assert.equal(tb.used, 8);
          assert.equal(tb.commit(), 4);
          assert.equal(rb.live, true, 'pushFrom and commit leave the rx burst live');

          // The rest, appended after a push: pushFrom continues from `used`.
          const extra = packetOf(B + 1, 5100);
          const tb2 = await allocAtLeast(fwd, 16);
          assert.equal(tb2.pushFrom(rb, 4, 1), 1);
          assert.equal(tb2.used, 4);
          assert.equal(tb2.push(extra), true);
          assert.equal(tb2.used, 6);
          assert.equal(tb2.pushFrom(rb, 5), 1);
          assert.equal(tb2.used, 7);
          assert.equal(tb2.commit(), 3);
          rb.release();

          const want = [...packets.slice(0, 5), extra, packets[5]];
          await expectPackets(peer, want, 'forwarded, in order');
          await assertQuiet(peer, 'nothing more arrives');
        } finally {
          await closeAll(p);
        }
      },
    );
  }

  test('misuse of pushFrom and push: released rx burst, bad from/count, a committed tx burst', T, async () => {
    const p = await pair(tmp, 'misuse-push.sock', { bufferSize: 256, log2RingSize: 5 });
    try {
      assert.equal(p.master.txBurst(0, [packetOf(300, 1), packetOf(10, 2)]), 2);
      const rb = await nextBurst(p.slave);
      assert.equal(rb.count, 2);
      const tb = p.slave.txAlloc(0, 8);
      const inval = memifError(InvalidArgumentError, 'MEMIF_ERR_INVAL_ARG');
      const bad: [number, number | undefined][] = [
        [-1, undefined],
        [3, undefined],
        [0, 3],
        [1, 2],
        [2, 1],
        [0, -1],
        [0.5, undefined],
        [0, 1.5],
        [Number.NaN, undefined],
      ];
      for (const [from, count] of bad) {
        assert.throws(() => tb.pushFrom(rb, from, count), inval, `pushFrom(rb, ${from}, ${count})`);
      }
      assert.equal(tb.used, 0, 'the refused calls took no buffer');
      assert.equal(tb.live, true);
      assert.equal(tb.pushFrom(rb, 2), 0, 'from = count: nothing to do');
      assert.equal(tb.pushFrom(rb, 0, 0), 0);
      assert.equal(tb.used, 0);

      rb.release();
      assert.throws(() => tb.pushFrom(rb), memifError(StateError, 'MEMIF_ERR_NOCONN'), 'pushFrom after release');
      assert.equal(tb.used, 0);
      assert.equal(tb.push(packetOf(20, 3)), true, 'the tx burst is still usable');
      assert.equal(tb.commit(), 1);
      assert.throws(() => tb.push(packetOf(20, 4)), memifError(StateError, 'MEMIF_ERR_NOCONN'), 'push after commit');
      assert.equal(p.master.txBurst(0, [packetOf(30, 5)]), 1);
      const rb2 = await nextBurst(p.slave);
      assert.throws(() => tb.pushFrom(rb2), memifError(StateError, 'MEMIF_ERR_NOCONN'), 'pushFrom after commit');
      rb2.release();

      await expectPackets(p.master, [packetOf(20, 3)], 'the committed packet');
      await assertQuiet(p.master, 'only the committed packet arrives');
    } finally {
      await closeAll(p);
    }
  });

  for (const from of ['slave', 'master'] as const) {
    const to = peerOf(from);
    test(
      `commit, ${from} → ${to}: lengths over capacity and cut chains written into the arrays publish nothing`,
      T,
      async () => {
        const p = await pair(tmp, `misuse-commit-${from}.sock`, { bufferSize: 256, log2RingSize: 5 });
        const tx = p[from];
        const rx = p[to];
        const inval = memifError(InvalidArgumentError, 'MEMIF_ERR_INVAL_ARG');
        try {
          const tb = await allocAtLeast(tx, 4);
          const bytes = tb.bytes(tb.bufRegion[0]);
          bytes.fill(0x77, tb.bufOffset[0], tb.bufOffset[0] + tb.bufCapacity[0]);
          tb.bufLength[0] = tb.bufCapacity[0] + 1;
          assert.throws(() => tb.commit(1), inval, 'length over capacity');
          assert.equal(tb.live, true, 'a refused commit leaves the burst live');
          await assertQuiet(rx, 'a refused commit publishes nothing');

          // Over capacity in the second buffer of a chain.
          tb.bufLength[0] = tb.bufCapacity[0];
          tb.bufMore[0] = 1;
          tb.bufLength[1] = tb.bufCapacity[1] + 1;
          assert.throws(() => tb.commit(2), inval, 'length over capacity inside a chain');
          assert.equal(tb.live, true);

          // Any nonzero bufMore on the last buffer cuts a chain.
          tb.bufLength[0] = 10;
          tb.bufMore[0] = 7;
          assert.throws(() => tb.commit(1), inval, 'bufMore 7 on the last buffer');
          assert.throws(() => tb.commit(1), /continues a chain/);
          assert.equal(tb.live, true);
          await assertQuiet(rx, 'still nothing published');
          tb.abort();
          assert.equal(tb.live, false);
          await assertQuiet(rx, 'abort publishes nothing');

          const pkt = packetOf(600, 6);
          const tb2 = await allocAtLeast(tx, 4);
          assert.equal(tb2.used, 0);
          assert.equal(tb2.push(pkt), true);
          assert.equal(tb2.commit(), 1);
          await expectPackets(rx, [pkt], 'the next burst is the only one to arrive, intact');
          await assertQuiet(rx, 'nothing more arrives');
        } finally {
          await closeAll(p);
        }
      },
    );

    test(
      `bulk arrays only, ${from} → ${to}: bufRegion/bufOffset/bufLength/bufMore in, first/seg*/packetLength out`,
      T,
      async () => {
        const B = 256;
        const p = await pair(tmp, `bulk-${from}.sock`, { bufferSize: B, log2RingSize: 5 });
        const tx = p[from];
        const rx = p[to];
        const total = 600;
        const seed = from === 'slave' ? 6000 : 7000;
        const sizeOf = (i: number) => (i % 3 === 0 ? 1 + (i % B) : 1 + ((i * 977) % (6 * B)));
        const packetAt = (i: number) => packetOf(sizeOf(i), seed + i);
        try {
          let sent = 0;
          let received = 0;
          while (received < total) {
            // Fill buffers through the arrays alone: chunks of bufCapacity, bufMore on all but the last.
            const tb = tx.txAlloc(0, 32);
            let used = 0;
            let packets = 0;
            for (; sent < total; sent++) {
              const pkt = packetAt(sent);
              let need = 0;
              let room = 0;
              while (room < pkt.length && used + need < tb.count) room += tb.bufCapacity[used + need++];
              if (room < pkt.length) break;
              for (let k = 0, done = 0; k < need; k++) {
                const i = used + k;
                const n = Math.min(tb.bufCapacity[i], pkt.length - done);
                tb.bytes(tb.bufRegion[i]).set(pkt.subarray(done, done + n), tb.bufOffset[i]);
                tb.bufLength[i] = n;
                tb.bufMore[i] = k + 1 < need ? 1 : 0;
                done += n;
              }
              used += need;
              packets++;
            }
            assert.equal(tb.used, 0, 'used counts push/pushFrom only');
            if (used > 0) assert.equal(tb.commit(used), packets);
            else tb.abort();

            // Read through the arrays alone.
            const rb = rx.rxBurstZeroCopy(0);
            for (let i = 0; i < rb.count; i++) {
              const want = packetAt(received);
              const len = rb.packetLength[i];
              assert.equal(len, want.length, `packet ${received}: packetLength`);
              assert.equal(rb.first[i + 1] - rb.first[i], buffersFor(len, B), `packet ${received}: segments`);
              const got = Buffer.alloc(len);
              let at = 0;
              for (let s = rb.first[i]; s < rb.first[i + 1]; s++) {
                const off = rb.segOffset[s];
                const n = rb.segLength[s];
                assert.ok(n > 0, 'no empty segment');
                got.set(rb.bytes(rb.segRegion[s]).subarray(off, off + n), at);
                at += n;
              }
              assert.equal(at, len, 'the segments add up to packetLength');
              if (!got.equals(want)) assert.fail(`packet ${received} (${len} bytes) differs`);
              received++;
            }
            const none = rb.count === 0;
            rb.release();
            if (none) await tick();
          }
          assert.equal(received, total);
          await assertQuiet(rx, 'nothing more arrives');
        } finally {
          await closeAll(p);
        }
      },
    );
  }

  for (const from of ['slave', 'master'] as const) {
    const to = peerOf(from);

    test(
      `failed push and pushFrom, ${from} → ${to}: the tried buffers are left with no length and no chain`,
      T,
      async () => {
        const B = 256;
        const p = await pair(tmp, `failed-push-${from}.sock`, { bufferSize: B, log2RingSize: 4 });
        const tx = p[from];
        const rx = p[to];
        try {
          // push: 1,000 bytes need 4 buffers, 3 are granted; all 3 are tried and must be reset.
          const tb = await allocAtLeast(tx, 3);
          tb.abort();
          const tb1 = tx.txAlloc(0, 3);
          assert.equal(tb1.count, 3);
          assert.equal(tb1.push(new Uint8Array(1000)), false);
          assert.equal(tb1.used, 0);
          assert.deepEqual([...tb1.bufLength.subarray(0, 3)], [0, 0, 0], 'push: bufLength reset');
          assert.deepEqual([...tb1.bufMore.subarray(0, 3)], [0, 0, 0], 'push: bufMore reset');
          const two = [packetOf(100, 8000), packetOf(200, 8001)];
          fillByArrays(tb1, 0, two[0]);
          fillByArrays(tb1, 1, two[1]);
          assert.equal(tb1.commit(2), 2, 'two one-buffer packets, not one chain');
          await expectPackets(rx, two, 'push: each packet alone');
          await assertQuiet(rx, 'push: nothing more arrives');

          // pushFrom: a 1,000-byte packet received from the peer (4 segments), 3 buffers to put it in.
          const big = packetOf(1000, 8002);
          assert.equal(rx.txBurst(0, [big]), 1);
          const rb = await nextBurst(tx);
          assert.equal(rb.count, 1);
          assert.equal(rb.first[1] - rb.first[0], 4, 'four 256-byte segments');
          const tb2 = await allocAtLeast(tx, 3);
          tb2.abort();
          const tb3 = tx.txAlloc(0, 3);
          assert.equal(tb3.count, 3);
          const before = txCounters(tx);
          assert.equal(tb3.pushFrom(rb), 0, 'does not fit in 3 buffers (but would in a ring of 16)');
          assert.equal(tb3.used, 0);
          assert.deepEqual(txCounters(tx), before, 'not dropped: no error counted');
          assert.deepEqual([...tb3.bufLength.subarray(0, 3)], [0, 0, 0], 'pushFrom: bufLength reset');
          assert.deepEqual([...tb3.bufMore.subarray(0, 3)], [0, 0, 0], 'pushFrom: bufMore reset');
          const again = [packetOf(60, 8003), packetOf(B, 8004)];
          fillByArrays(tb3, 0, again[0]);
          fillByArrays(tb3, 1, again[1]);
          assert.equal(tb3.commit(2), 2);
          await expectPackets(rx, again, 'pushFrom: each packet alone');

          // The packet pushFrom left is still there to forward once there is room.
          const tb4 = await allocAtLeast(tx, 4);
          assert.equal(tb4.pushFrom(rb), 1);
          assert.equal(tb4.commit(), 1);
          rb.release();
          await expectPackets(rx, [big], 'the 1,000-byte packet arrived intact');
          await assertQuiet(rx, 'nothing more arrives');
        } finally {
          await closeAll(p);
        }
      },
    );

    test(
      `bufCapacity written by the caller, ${from} → ${to}: the granted capacity still bounds setLength, write, push and commit`,
      T,
      async () => {
        const B = 256;
        const p = await pair(tmp, `tamper-cap-${from}.sock`, { bufferSize: B, log2RingSize: 5 });
        const tx = p[from];
        const rx = p[to];
        const inval = memifError(InvalidArgumentError, 'MEMIF_ERR_INVAL_ARG');
        const rxDown = disconnects(rx);
        const txDown = disconnects(tx);
        try {
          const before = txCounters(tx);
          const tb = await allocAtLeast(tx, 4);
          tb.bufCapacity[0] = 100000;
          assert.equal(tb.capacity(0), B, 'capacity(0) is what alloc granted');
          assert.throws(() => tb.setLength(0, 400), inval, 'setLength over the granted capacity');
          assert.throws(() => tb.write(0, packetOf(400, 1)), inval, 'write over the granted capacity');
          tb.bufLength[0] = 400;
          assert.throws(() => tb.commit(1), inval, 'commit: length 400 in a 256-byte buffer');
          assert.equal(tb.live, true, 'the refused commit leaves the burst live');
          await assertQuiet(rx, 'the refused commit published nothing');
          await assertConnected(rx, rxDown, `${to} after the refused commit`);
          await assertConnected(tx, txDown, `${from} after the refused commit`);
          assert.deepEqual(txCounters(tx), before, 'no packet and no error counted');

          // push chains by the granted capacity, not by the one written into the array.
          tb.bufLength[0] = 0;
          const pkt = packetOf(400, 8100);
          assert.equal(tb.push(pkt), true);
          assert.equal(tb.used, 2, '400 bytes take two 256-byte buffers');
          assert.deepEqual([...tb.bufLength.subarray(0, 2)], [B, 400 - B]);
          assert.deepEqual([...tb.bufMore.subarray(0, 2)], [1, 0]);
          tb.abort();
          assert.equal(tb.live, false);
          await assertQuiet(rx, 'abort published nothing');

          const good = packetOf(300, 8101);
          const tb2 = await allocAtLeast(tx, 4);
          assert.equal(tb2.bufCapacity[0], B, 'a new burst shows the granted capacity again');
          assert.equal(tb2.push(good), true);
          assert.equal(tb2.commit(), 1);
          await expectPackets(rx, [good], 'the next packet arrives intact');
          await assertQuiet(rx, 'nothing more arrives');
          await assertConnected(rx, rxDown, to);
          assert.deepEqual(txCounters(tx), { packets: before.packets + 1, errors: before.errors });
        } finally {
          await closeAll(p);
        }
      },
    );

    test(
      `bufRegion/bufOffset written by the caller, ${from} → ${to}: accessors, writes and descriptors use the granted buffer`,
      T,
      async () => {
        const B = 256;
        const p = await pair(tmp, `tamper-off-${from}.sock`, { bufferSize: B, log2RingSize: 5 });
        const tx = p[from];
        const rx = p[to];
        const rxDown = disconnects(rx);
        try {
          // setLength after writing at offset(i): the arrays were written with other values first.
          const tb = await allocAtLeast(tx, 4);
          const region = tb.region(0);
          const offset = tb.offset(0);
          assert.equal(tb.bufRegion[0], region);
          assert.equal(tb.bufOffset[0], offset);
          tb.bufOffset[0] = offset + 2 * B;
          tb.bufRegion[0] = 9;
          tb.bufCapacity[0] = 7;
          assert.equal(tb.region(0), region, 'region(0) is the granted one');
          assert.equal(tb.offset(0), offset, 'offset(0) is the granted one');
          assert.equal(tb.capacity(0), B, 'capacity(0) is the granted one');
          const pkt = packetOf(200, 8200);
          const mem = tb.bytes(tb.region(0));
          mem.set(pkt, tb.offset(0));
          // Something else where the tampered offset points: it must not be what arrives.
          const decoy = Buffer.from(pkt.map((b) => b ^ 0xff));
          assert.ok(offset + 2 * B + decoy.length <= mem.length);
          mem.set(decoy, offset + 2 * B);
          tb.setLength(0, pkt.length);
          assert.equal(tb.commit(1), 1);
          await expectPackets(rx, [pkt], 'the bytes at the granted offset arrive');
          await assertQuiet(rx, 'nothing more arrives');
          await assertConnected(rx, rxDown, `${to} after a descriptor from a tampered burst`);

          // push and write into buffers whose array entries point elsewhere.
          const tb2 = await allocAtLeast(tx, 4);
          const granted = [0, 1, 2].map((i) => ({ region: tb2.region(i), offset: tb2.offset(i) }));
          for (let i = 0; i < 3; i++) {
            tb2.bufRegion[i] = 9;
            tb2.bufOffset[i] = granted[(i + 1) % 3].offset;
          }
          const chained = packetOf(300, 8201);
          const single = packetOf(90, 8202);
          assert.equal(tb2.push(chained), true);
          assert.equal(tb2.used, 2);
          tb2.write(2, single);
          for (let i = 0; i < 3; i++) {
            assert.equal(tb2.region(i), granted[i].region);
            assert.equal(tb2.offset(i), granted[i].offset);
          }
          const at = (i: number, n: number) =>
            Buffer.from(tb2.bytes(granted[i].region).subarray(granted[i].offset, granted[i].offset + n));
          assert.ok(at(2, single.length).equals(single), 'write wrote into granted buffer 2');
          assert.ok(at(0, B).equals(chained.subarray(0, B)), 'push wrote its first chunk into granted buffer 0');
          assert.ok(at(1, 300 - B).equals(chained.subarray(B)), 'push wrote its second chunk into granted buffer 1');
          assert.equal(tb2.commit(3), 2);
          await expectPackets(rx, [chained, single], 'the pushed chain, then the written packet');
          await assertQuiet(rx, 'nothing more arrives');
          await assertConnected(rx, rxDown, to);
        } finally {
          await closeAll(p);
        }
      },
    );

    test(`commit() after push/pushFrom fitted nothing, ${from} → ${to}: 0 sent, nothing published`, T, async () => {
      const B = 256;
      const p = await pair(tmp, `commit-none-${from}.sock`, { bufferSize: B, log2RingSize: 4 });
      const tx = p[from];
      const rx = p[to];
      try {
        const before = txCounters(tx);
        (await allocAtLeast(tx, 2)).abort();
        const tb = tx.txAlloc(0, 2);
        assert.equal(tb.count, 2);
        const offsets = [tb.offset(0), tb.offset(1)];
        assert.equal(tb.push(packetOf(3 * B, 8300)), false);
        assert.equal(tb.commit(), 0, 'commit() publishes the 0 buffers push filled');
        assert.equal(tb.live, false);
        await assertQuiet(rx, 'push: nothing published');
        assert.deepEqual(txCounters(tx), before);

        // The buffers went back: the next burst gets the same ones, and its packet arrives.
        const tb2 = tx.txAlloc(0, 2);
        assert.equal(tb2.count, 2, 'the next txAlloc works');
        assert.deepEqual([tb2.offset(0), tb2.offset(1)], offsets, 'the same buffers come back');
        const small = packetOf(B + 3, 8301);
        assert.equal(tb2.push(small), true);
        assert.equal(tb2.commit(), 1);
        await expectPackets(rx, [small], 'the small packet');

        // pushFrom: the packet waiting needs 3 buffers, 2 are granted.
        const big = packetOf(3 * B, 8302);
        assert.equal(rx.txBurst(0, [big]), 1);
        const rb = await nextBurst(tx);
        (await allocAtLeast(tx, 2)).abort();
        const tb3 = tx.txAlloc(0, 2);
        assert.equal(tb3.count, 2);
        assert.equal(tb3.pushFrom(rb), 0);
        assert.equal(tb3.commit(), 0, 'commit() publishes the 0 buffers pushFrom filled');
        assert.equal(tb3.live, false);
        await assertQuiet(rx, 'pushFrom: nothing published');
        assert.deepEqual(txCounters(tx), { packets: before.packets + 1, errors: before.errors });

        const tb4 = await allocAtLeast(tx, 3);
        assert.equal(tb4.pushFrom(rb), 1);
        assert.equal(tb4.commit(), 1);
        rb.release();
        await expectPackets(rx, [big], 'the waiting packet goes with the next burst, intact');
        await assertQuiet(rx, 'nothing more arrives');
      } finally {
        await closeAll(p);
      }
    });
  }

  for (const f of [
    { rx: 'slave', tx: 'master' },
    { rx: 'master', tx: 'slave' },
  ] as const) {
    test(
      `pushFrom, ${f.rx} rx (2,048-byte buffers) → ${f.tx} tx (ring of 4 × 128 bytes): a packet no ring holds is dropped, one that waits for room is not`,
      T,
      async () => {
        const B = 128;
        const RING = 4;
        const one = await pair(tmp, `never-in-${f.rx}.sock`, { bufferSize: 2048, log2RingSize: 4 });
        const two = await pair(tmp, `never-out-${f.tx}.sock`, { bufferSize: B, log2RingSize: 2 });
        const src = one[peerOf(f.rx)];
        const fin = one[f.rx];
        const fout = two[f.tx];
        const dst = two[peerOf(f.tx)];
        let seed = 8400;
        /** Sends packets of `sizes` through `src`; returns them and the rx burst they make at `fin`. */
        const send = async (...sizes: number[]) => {
          const packets = sizes.map((s) => packetOf(s, seed++));
          assert.equal(src.txBurst(0, packets), packets.length);
          const rb = await nextBurst(fin);
          assert.equal(rb.count, packets.length, 'one txBurst arrives as one rx burst');
          return { packets, rb };
        };
        const expectAt = async (want: Buffer[], what: string) => {
          await expectPackets(dst, want, what);
          await assertQuiet(dst, `${what}: nothing more arrives`);
        };
        try {
          const start = txCounters(fout);

          // A, B (more than the 512 bytes of a whole ring), C: B is tried, reset and dropped.
          const s1 = await send(100, 1500, 200);
          const [a, , c] = s1.packets;
          const tb = await allocAtLeast(fout, RING);
          assert.equal(tb.count, RING);
          assert.equal(tb.pushFrom(s1.rb), 3, 'A, B (dropped) and C taken');
          assert.equal(tb.used, 3, 'A takes 1 buffer, C 2');
          assert.deepEqual([...tb.bufLength.subarray(0, 3)], [100, B, 200 - B]);
          assert.deepEqual([...tb.bufMore.subarray(0, 4)], [0, 1, 0, 0]);
          assert.deepEqual(txCounters(fout), start, 'B is counted when the burst is committed, not before');
          assert.equal(tb.commit(), 2, 'A and C sent');
          assert.deepEqual(txCounters(fout), { packets: start.packets + 2, errors: start.errors + 1 }, 'B counted');
          s1.rb.release();
          await expectAt([a, c], 'A, C');
          assert.deepEqual(txCounters(fout), { packets: start.packets + 2, errors: start.errors + 1 });

          // D fills the ring, E is over it (dropped with no buffer left), F waits for the next burst.
          const s2 = await send(RING * B, RING * B + 1, 50);
          const [d, , ff] = s2.packets;
          // Aborted, the burst's drop is not counted; tried again and committed, it is counted once.
          const tried = await allocAtLeast(fout, RING);
          assert.equal(tried.pushFrom(s2.rb), 2);
          tried.abort();
          assert.deepEqual(
            txCounters(fout),
            { packets: start.packets + 2, errors: start.errors + 1 },
            'abort counts nothing',
          );
          const tb2 = await allocAtLeast(fout, RING);
          assert.equal(tb2.pushFrom(s2.rb), 2, 'D and E (dropped) taken, F left');
          assert.equal(tb2.used, RING);
          assert.equal(tb2.commit(), 1);
          assert.deepEqual(
            txCounters(fout),
            { packets: start.packets + 3, errors: start.errors + 2 },
            'E counted once',
          );
          await expectAt([d], 'D');
          const tb3 = await allocAtLeast(fout, RING);
          assert.equal(tb3.pushFrom(s2.rb, 2), 1);
          assert.equal(tb3.commit(), 1);
          s2.rb.release();
          await expectAt([ff], 'F');

          // A burst of one oversized packet: taken, nothing to publish.
          const s3 = await send(2000);
          const tb4 = await allocAtLeast(fout, RING);
          assert.equal(tb4.pushFrom(s3.rb), 1);
          assert.equal(tb4.used, 0);
          assert.deepEqual([...tb4.bufMore.subarray(0, RING)], [0, 0, 0, 0]);
          assert.equal(tb4.commit(), 0);
          s3.rb.release();
          await assertQuiet(dst, 'the oversized packet is not published');
          assert.deepEqual(txCounters(fout), { packets: start.packets + 4, errors: start.errors + 3 });

          // G takes a buffer; H (a whole ring's worth) no longer fits now, but must wait, not drop.
          const s4 = await send(100, RING * B);
          const [g, h] = s4.packets;
          const tb5 = await allocAtLeast(fout, RING);
          assert.equal(tb5.pushFrom(s4.rb, 0, 1), 1);
          assert.equal(tb5.commit(), 1);
          const tb6 = fout.txAlloc(0, RING);
          assert.equal(tb6.count, RING - 1, 'G still holds a slot');
          assert.equal(tb6.pushFrom(s4.rb, 1), 0, 'H does not fit now');
          assert.equal(tb6.used, 0);
          assert.equal(tb6.commit(), 0);
          assert.deepEqual(txCounters(fout), { packets: start.packets + 5, errors: start.errors + 3 }, 'H not dropped');
          await expectAt([g], 'G');
          const tb7 = await allocAtLeast(fout, RING);
          assert.equal(tb7.pushFrom(s4.rb, 1), 1, 'H goes once the peer drained the ring');
          assert.equal(tb7.commit(), 1);
          s4.rb.release();
          await expectAt([h], 'H');
          assert.deepEqual(txCounters(fout), { packets: start.packets + 6, errors: start.errors + 3 });
        } finally {
          await closeAll(one, two);
        }
      },
    );
  }
});
