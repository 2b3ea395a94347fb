// Property-based fuzzing of the ring consumer (src/queue/rx.ts) over real shared memory (memfd
// regions mapped by the addon), against a model written here from the protocol rules:
//
// - master on S2M: the test plays a hostile slave that writes random descriptors (flags, region,
//   length, offset) and moves head anywhere; the model follows the same descriptors in its own copy
//   of the regions and predicts every packet, the fault, the tail and every byte of shared memory;
// - slave on M2S: the test plays a hostile master that writes random lengths and flags, scribbles
//   region/offset, and moves tail anywhere; the model predicts the packets, the fault, and the
//   refill, and every byte outside the ring must stay as it was (canary).
//
// Model rules (the protocol's, §8; docs/api.md "rxBurst"):
// - avail = (peer index - our index) mod 2^16; above the ring size (S2M) or above what we offered
//   (M2S) → fault, nothing read, nothing released;
// - whole packets only, chained by NEXT; a chain cut at the published index waits for the next
//   burst, unless it already spans the whole ring (it can never complete) → fault;
// - master: a descriptor with region >= number of regions or offset + length > region size ends
//   the burst with a fault; the packets before it are returned and released;
//   slave: a length above the buffer size does the same;
// - a packet with an empty fragment is dropped and counted in `errors`;
// - up to `max` packets per burst (dropped ones do not count);
// - master: the consumed non-final descriptors of a chain get flags 0 (docs/interop.md: "our
//   master clears NEXT in the S2M descriptors it consumed"); nothing else in shared memory but tail;
// - slave: after the burst, every free slot is offered again (flags 0, region 0, length = buffer
//   size, offset = its own buffer, metadata 0) and head published; nothing else is written.
//
// FUZZ_LEGACY_CHAIN_RULE=1 models src's current rule instead (fault whenever a chain is cut while
// the ring was full), so the fuzzer can look past that known bug while it is open.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { native } from '../../src/native.js';
import { RxQueue } from '../../src/queue/rx.js';
import { SharedMemory } from '../../src/shm/memory.js';
import { Region } from '../../src/shm/region.js';
import { Ring } from '../../src/shm/ring.js';
import { firstDifference, fuzz, loadCorpus, pattern } from './harness.js';

const CL = 64;
const NEXT = 1;
const B = 2048;
const MAX_LOG2 = 6;
const ringBytes = (size: number) => 2 * CL + 16 * size;
/** Odd sizes, so "exactly at the end" is never a round number. */
const R0_SIZE = 16_384 + 77;
const R1_SIZE = 3001;
/** M2S region: canary, ring, canary gap, buffers, canary. */
const M_RING_OFF = 256;
const M_GAP = 64;
const M_SIZE = M_RING_OFF + ringBytes(1 << MAX_LOG2) + M_GAP + (1 << MAX_LOG2) * B + 4096 + 13;
const legacyChainRule = process.env.FUZZ_LEGACY_CHAIN_RULE === '1';

const noNull = { noNullPrototype: true };
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

// ---------------------------------------------------------------------------------------------
// Inputs

/** Where a descriptor points: inside the region, relative to its end, or any u32. */
type Off = { k: 'in'; v: number } | { k: 'end'; d: number } | { k: 'abs'; v: number };
interface DescSpec {
  flags: number;
  region: number;
  length: number;
  off: Off;
}
/** How the producer moves its index: publish n more (as room allows), fill the ring, overshoot, any value. */
type Move = { k: 'pub'; n: number } | { k: 'full' } | { k: 'over'; n: number } | { k: 'raw'; v: number };
interface Expect {
  fault?: boolean;
  packets?: number;
  errors?: number;
  bytes?: number;
}
interface S2MRound {
  head: Move;
  /** Written into the newly published slots, in order (missing ones: a valid 60-byte packet). */
  descs: DescSpec[];
  maxes: number[];
}
interface S2MCase {
  name?: string;
  log2: number;
  nRegions: number;
  tail0: number;
  rounds: S2MRound[];
  expect?: Expect;
}
interface M2SDescSpec {
  flags: number;
  length: number;
  /** Junk the master writes into region and offset: the slave must ignore both. */
  region: number;
  offset: number;
}
interface M2SRound {
  tail: Move;
  descs: M2SDescSpec[];
  maxes: number[];
}
interface M2SCase {
  name?: string;
  log2: number;
  start: number;
  rounds: M2SRound[];
  expect?: Expect;
}

type Quality = 'clean' | 'noisy' | 'hostile';

const indexArb = fc.oneof(fc.constant(0), fc.integer({ min: 0xffc0, max: 0xffff }), u16);

const flagsArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(NEXT) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
);

const maxesArb = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 3, arbitrary: fc.constant(256) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 100 }) },
  ),
  { minLength: 1, maxLength: 3 },
);

function moveArb(size: number): fc.Arbitrary<Move> {
  return fc.oneof(
    {
      weight: 16,
      arbitrary: fc.record({ k: fc.constant('pub' as const), n: fc.integer({ min: 0, max: size }) }, noNull),
    },
    { weight: 4, arbitrary: fc.constant({ k: 'full' as const }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('over' as const), n: fc.integer({ min: 1, max: 3 }) }, noNull) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('raw' as const), v: u16 }, noNull) },
  );
}

function cleanDesc(nRegions: number): fc.Arbitrary<DescSpec> {
  return fc.record(
    {
      flags: flagsArb,
      region: fc.integer({ min: 0, max: nRegions - 1 }),
      length: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 300 }) }, fc.constant(0)),
      off: fc.record({ k: fc.constant('in' as const), v: fc.nat() }, noNull),
    },
    noNull,
  );
}

const hostileDesc: fc.Arbitrary<DescSpec> = fc.record(
  {
    flags: flagsArb,
    region: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(0, 1) },
      { weight: 1, arbitrary: fc.constantFrom(2, 3, 65535) },
      { weight: 1, arbitrary: u16 },
    ),
    length: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
      fc.constant(0),
      fc.constant(0xffffffff),
      u32,
      fc.integer({ min: 1000, max: 20_000 }),
    ),
    off: fc.oneof(
      { weight: 6, arbitrary: fc.record({ k: fc.constant('in' as const), v: fc.nat() }, noNull) },
      {
        weight: 2,
        arbitrary: fc.record({ k: fc.constant('end' as const), d: fc.integer({ min: -3, max: 3 }) }, noNull),
      },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('abs' as const), v: u32 }, noNull) },
    ),
  },
  noNull,
);

function descArb(q: Quality, nRegions: number): fc.Arbitrary<DescSpec> {
  if (q === 'clean') return cleanDesc(nRegions);
  if (q === 'noisy') return fc.oneof({ weight: 40, arbitrary: cleanDesc(nRegions) }, hostileDesc);
  return hostileDesc;
}

const qualityArb = fc.constantFrom<Quality>('clean', 'noisy', 'hostile');

const s2mCaseArb: fc.Arbitrary<S2MCase> = fc
  .record(
    { log2: fc.integer({ min: 1, max: MAX_LOG2 }), nRegions: fc.integer({ min: 1, max: 2 }), q: qualityArb },
    noNull,
  )
  .chain(({ log2, nRegions, q }) => {
    const size = 1 << log2;
    return fc.record(
      {
        log2: fc.constant(log2),
        nRegions: fc.constant(nRegions),
        tail0: indexArb,
        rounds: fc.array(
          fc.record(
            {
              head: moveArb(size),
              descs: fc.array(descArb(q, nRegions), { minLength: size, maxLength: size }),
              maxes: maxesArb,
            },
            noNull,
          ),
          { minLength: 1, maxLength: 6 },
        ),
      },
      noNull,
    );
  });

function m2sLength(q: Quality): fc.Arbitrary<number> {
  const clean = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: B }) }, fc.constant(0), fc.constant(B));
  const hostile = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: B }) },
    fc.constant(0),
    fc.constant(B),
    fc.constant(B + 1),
    fc.constant(0xffffffff),
    u32,
  );
  if (q === 'clean') return clean;
  if (q === 'noisy') return fc.oneof({ weight: 40, arbitrary: clean }, hostile);
  return hostile;
}

const m2sCaseArb: fc.Arbitrary<M2SCase> = fc
  .record({ log2: fc.integer({ min: 1, max: MAX_LOG2 }), q: qualityArb }, noNull)
  .chain(({ log2, q }) => {
    const size = 1 << log2;
    const desc = fc.record(
      {
        flags: flagsArb,
        length: m2sLength(q),
        region: fc.oneof(fc.constant(0), u16),
        offset: fc.oneof(fc.constant(0), u32),
      },
      noNull,
    );
    return fc.record(
      {
        log2: fc.constant(log2),
        start: indexArb,
        rounds: fc.array(
          fc.record(
            { tail: moveArb(size), descs: fc.array(desc, { minLength: size, maxLength: size }), maxes: maxesArb },
            noNull,
          ),
          { minLength: 1, maxLength: 6 },
        ),
      },
      noNull,
    );
  });

// ---------------------------------------------------------------------------------------------
// The model's view of shared memory: plain copies of the regions, read and written by byte offset

interface Desc {
  flags: number;
  region: number;
  length: number;
  offset: number;
}

class Memory {
  readonly views: DataView[];
  constructor(readonly bytes: Uint8Array[]) {
    this.views = bytes.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
  }
  desc(ringOff: number, slot: number): Desc {
    const v = this.views[0];
    const at = ringOff + 2 * CL + slot * 16;
    return {
      flags: v.getUint16(at, true),
      region: v.getUint16(at + 2, true),
      length: v.getUint32(at + 4, true),
      offset: v.getUint32(at + 8, true),
    };
  }
  setDesc(ringOff: number, slot: number, d: Desc, metadata?: number): void {
    const v = this.views[0];
    const at = ringOff + 2 * CL + slot * 16;
    v.setUint16(at, d.flags, true);
    v.setUint16(at + 2, d.region, true);
    v.setUint32(at + 4, d.length, true);
    v.setUint32(at + 8, d.offset, true);
    if (metadata !== undefined) v.setUint32(at + 12, metadata, true);
  }
  setFlags(ringOff: number, slot: number, flags: number): void {
    this.views[0].setUint16(ringOff + 2 * CL + slot * 16, flags, true);
  }
  head(ringOff: number): number {
    return this.views[0].getUint16(ringOff + 6, true);
  }
  setHead(ringOff: number, v: number): void {
    this.views[0].setUint16(ringOff + 6, v, true);
  }
  tail(ringOff: number): number {
    return this.views[0].getUint16(ringOff + CL, true);
  }
  setTail(ringOff: number, v: number): void {
    this.views[0].setUint16(ringOff + CL, v, true);
  }
}

/** Writes a descriptor the way a producer does (scripted-slave.ts publishS2M): through the ring's views. */
function writeRealDesc(ring: Ring, slot: number, d: Desc): void {
  const d16 = ring.desc16 + slot * 8;
  const d32 = ring.desc32 + slot * 4;
  ring.u16[d16] = d.flags;
  ring.u16[d16 + 1] = d.region;
  ring.u32[d32 + 1] = d.length;
  ring.u32[d32 + 2] = d.offset;
}

/** What the model saw across a property's runs, printed with the run count (is the fuzzer reaching deep?). */
const stats = {
  runs: 0,
  bursts: 0,
  packets: 0,
  chained: 0,
  dropped: 0,
  waitingChains: 0,
  faultIndex: 0,
  faultDescriptor: 0,
  faultLongChain: 0,
  faultedRuns: 0,
};
type Stats = typeof stats;

function resetStats(): void {
  for (const k of Object.keys(stats) as (keyof Stats)[]) stats[k] = 0;
}

function statsLine(): string {
  return Object.entries(stats)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

interface Counters {
  packets: number;
  bytes: number;
  errors: number;
}

/** A chain that is cut at the published index: can it still complete? */
function chainCannotComplete(frags: number, avail: number, size: number): boolean {
  return legacyChainRule ? avail === size : frags >= size;
}

interface Frag {
  slot: number;
  region: number;
  offset: number;
  length: number;
}

/**
 * The packets of the published window, in the protocol's terms: walks descriptors from `last`, up
 * to `max` returned packets, calling `afterChain` after each whole chain (its bytes read). Returns
 * the packets, how many descriptors were consumed, and why the peer is at fault, if it is.
 */
function walk(
  mem: Memory,
  size: number,
  last: number,
  avail: number,
  max: number,
  read: (slot: number) => { frag: Frag; bad?: string; flags: number },
  c: Counters,
  afterChain: (frags: Frag[]) => void = () => {},
): { out: Buffer[]; consumed: number; fault?: string } {
  const mask = size - 1;
  const out: Buffer[] = [];
  let i = 0;
  while (out.length < max && i < avail) {
    const frags: Frag[] = [];
    let complete = false;
    for (let j = i; j < avail; j++) {
      const { frag, bad, flags } = read((last + j) & mask);
      if (bad !== undefined) {
        stats.faultDescriptor++;
        return { out, consumed: i, fault: bad };
      }
      frags.push(frag);
      if ((flags & NEXT) === 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      const fault = chainCannotComplete(frags.length, avail, size)
        ? `chain of ${frags.length} cut at the published index (ring ${size})`
        : undefined;
      if (fault === undefined) stats.waitingChains++;
      else stats.faultLongChain++;
      return { out, consumed: i, fault };
    }
    if (frags.length > 1) stats.chained++;
    if (frags.some((f) => f.length === 0)) {
      c.errors++;
      stats.dropped++;
    } else {
      stats.packets++;
      const pkt = Buffer.concat(frags.map((f) => mem.bytes[f.region].subarray(f.offset, f.offset + f.length)));
      out.push(pkt);
      c.packets++;
      c.bytes += pkt.length;
    }
    afterChain(frags);
    i += frags.length;
  }
  return { out, consumed: i };
}

/** Master consuming S2M at ring offset 0 of region 0. */
class S2MModel implements Counters {
  packets = 0;
  bytes = 0;
  errors = 0;
  fault: string | undefined;
  constructor(
    readonly mem: Memory,
    readonly size: number,
    readonly nRegions: number,
    public last: number,
  ) {}

  burst(max: number): Buffer[] {
    if (this.fault !== undefined) return [];
    const head = this.mem.head(0);
    const avail = (head - this.last) & 0xffff;
    stats.bursts++;
    if (avail > this.size) {
      stats.faultIndex++;
      this.fault = `head ${head} is ${avail} slots past tail ${this.last}`;
      this.errors++;
      return [];
    }
    const read = (slot: number) => {
      const d = this.mem.desc(0, slot);
      const frag = { slot, region: d.region, offset: d.offset, length: d.length };
      if (d.region >= this.nRegions || d.offset + d.length > this.mem.bytes[d.region].length) {
        return { frag, flags: d.flags, bad: `slot ${slot}: region ${d.region} offset ${d.offset} length ${d.length}` };
      }
      return { frag, flags: d.flags };
    };
    // The consumed non-final descriptors of each chain get flags 0 when the burst is given back,
    // after every packet of the burst was read: a packet that points into the ring itself sees the
    // flags as they were during the burst.
    const cleared: number[] = [];
    const r = walk(this.mem, this.size, this.last, avail, max, read, this, (frags) => {
      for (const f of frags.slice(0, -1)) cleared.push(f.slot);
    });
    for (const slot of cleared) this.mem.setFlags(0, slot, 0);
    if (r.fault !== undefined) {
      this.fault = r.fault;
      this.errors++;
    }
    this.last = (this.last + r.consumed) & 0xffff;
    this.mem.setTail(0, this.last);
    return r.out;
  }
}
/** Slave consuming its M2S ring (at M_RING_OFF) from its own buffers, then refilling. */
class M2SModel implements Counters {
  packets = 0;
  bytes = 0;
  errors = 0;
  fault: string | undefined;
  head: number;
  constructor(
    readonly mem: Memory,
    readonly size: number,
    readonly base: number,
    public last: number,
  ) {
    this.head = last;
  }

  burst(max: number): Buffer[] {
    if (this.fault !== undefined) return [];
    const tail = this.mem.tail(M_RING_OFF);
    const avail = (tail - this.last) & 0xffff;
    const offered = (this.head - this.last) & 0xffff;
    stats.bursts++;
    if (avail > offered) {
      stats.faultIndex++;
      this.fault = `tail ${tail} is ${avail} slots past our ${this.last}; we offered ${offered}`;
      this.errors++;
      return [];
    }
    const read = (slot: number) => {
      const d = this.mem.desc(M_RING_OFF, slot);
      const frag = { slot, region: 0, offset: this.base + slot * B, length: d.length };
      return d.length > B
        ? { frag, flags: d.flags, bad: `slot ${slot}: length ${d.length}` }
        : { frag, flags: d.flags };
    };
    const r = walk(this.mem, this.size, this.last, avail, max, read, this);
    if (r.fault !== undefined) {
      this.fault = r.fault;
      this.errors++;
    }
    this.last = (this.last + r.consumed) & 0xffff;
    this.refill();
    return r.out;
  }

  refill(): void {
    if (this.fault !== undefined) return;
    const n = this.size - ((this.head - this.last) & 0xffff);
    for (let i = 0; i < n; i++) {
      const slot = (this.head + i) & (this.size - 1);
      this.mem.setDesc(M_RING_OFF, slot, { flags: 0, region: 0, length: B, offset: this.base + slot * B }, 0);
    }
    this.head = (this.head + n) & 0xffff;
    this.mem.setHead(M_RING_OFF, this.head);
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

let r0: Region;
let r1: Region;
let rm: Region;
let pristine0: Uint8Array;
let pristine1: Uint8Array;
let pristineM: Uint8Array;

function resolveOffset(d: DescSpec): number {
  const size = d.region === 1 ? R1_SIZE : R0_SIZE;
  switch (d.off.k) {
    case 'in':
      return d.length <= size ? d.off.v % (size - d.length + 1) : d.off.v >>> 0;
    case 'end':
      return (size - d.length + d.off.d) >>> 0;
    case 'abs':
      return d.off.v >>> 0;
  }
}

function filler(i: number): DescSpec {
  return { flags: 0, region: 0, length: 60, off: { k: 'in', v: 2000 + i * 131 } };
}

/**
 * Where a producer's index goes. `limit` is as far as a correct producer may go (S2M: tail + ring
 * size; M2S: the slave's head); `pub` stays within it, `over` goes past it.
 */
function move(m: Move, own: number, limit: number, size: number): number {
  let room = (limit - own) & 0xffff;
  if (room > size) room = 0; // own is already past the limit (an earlier hostile move)
  switch (m.k) {
    case 'pub':
      return (own + Math.min(m.n, room)) & 0xffff;
    case 'full':
      return limit & 0xffff;
    case 'over':
      return (limit + m.n) & 0xffff;
    case 'raw':
      return m.v & 0xffff;
  }
}

function checkCounters(q: RxQueue, m: Counters, got: Buffer[], before: Counters, ctx: string): void {
  assert.equal(q.packets, m.packets, `${ctx}: packets counter`);
  assert.equal(q.bytes, m.bytes, `${ctx}: bytes counter`);
  assert.equal(q.errors, m.errors, `${ctx}: errors counter`);
  assert.equal(q.packets - before.packets, got.length, `${ctx}: packets counter vs packets returned`);
  assert.equal(
    q.bytes - before.bytes,
    got.reduce((s, p) => s + p.length, 0),
    `${ctx}: bytes counter vs bytes returned`,
  );
}

function checkPackets(got: unknown, expected: Buffer[], ctx: string, why: string | undefined): void {
  assert.ok(Array.isArray(got), `${ctx}: burst did not return an array`);
  const lens = (a: Buffer[]) => a.map((p) => p.length).join(',');
  assert.equal(
    got.length,
    expected.length,
    `${ctx}: ${got.length} packets [${lens(got)}], expected ${expected.length} [${lens(expected)}]${why ? ` (model fault: ${why})` : ''}`,
  );
  for (let k = 0; k < got.length; k++) {
    assert.ok(Buffer.isBuffer(got[k]), `${ctx}: packet ${k} is not a Buffer`);
    assert.ok(
      (got[k] as Buffer).equals(expected[k]),
      `${ctx}: packet ${k} differs (${got[k].length} bytes, expected ${expected[k].length})`,
    );
  }
}

function checkMemory(real: Uint8Array, model: Uint8Array, what: string, ctx: string): void {
  const at = firstDifference(real, model);
  assert.equal(at, -1, `${ctx}: ${what} byte ${at} is ${real[at]}, the model says ${model[at]}`);
}

function burstOrFail(q: RxQueue, max: number, ctx: string): Buffer[] {
  try {
    return q.burst(max);
  } catch (err) {
    assert.fail(`${ctx}: burst(${max}) threw ${err instanceof Error ? err.stack : String(err)}`);
  }
}

function checkExpect(e: Expect | undefined, q: RxQueue): void {
  if (e === undefined) return;
  if (e.fault !== undefined)
    assert.equal(q.fault !== undefined, e.fault, `corpus expects fault=${e.fault}: ${q.fault}`);
  if (e.packets !== undefined) assert.equal(q.packets, e.packets, 'corpus: packets');
  if (e.errors !== undefined) assert.equal(q.errors, e.errors, 'corpus: errors');
  if (e.bytes !== undefined) assert.equal(q.bytes, e.bytes, 'corpus: bytes');
}

/** A queue's memory and regions over `regions` (never unmapped here: the copy API holds nothing). */
function withMemory(regions: Region[]): { memory: SharedMemory; regions: Region[] } {
  return { memory: new SharedMemory(regions), regions };
}

function runS2M(c: S2MCase): void {
  const size = 1 << c.log2;
  const mask = size - 1;
  r0.bytes.set(pristine0);
  r1.bytes.set(pristine1);
  const ring = new Ring(r0, 0, c.log2, CL);
  ring.init();
  Atomics.store(ring.u16, ring.tailIndex, c.tail0);
  Atomics.store(ring.u16, ring.headIndex, c.tail0);
  const mem = new Memory([Uint8Array.from(r0.bytes), Uint8Array.from(r1.bytes)]);
  const q = new RxQueue({
    id: 0,
    role: 'master',
    ring,
    ...withMemory(c.nRegions === 1 ? [r0] : [r0, r1]),
    bufferSize: B,
    buffersOffset: 0,
    eventfd: -1,
    binding: native(),
    onInterrupt: () => {},
  });
  const m = new S2MModel(mem, size, c.nRegions, c.tail0);
  let head = c.tail0;
  c.rounds.forEach((round, ri) => {
    // The slave's side: read our tail, write the descriptors of the slots it publishes, store head.
    const tail = ring.loadTail();
    const newHead = move(round.head, head, tail + size, size);
    const n = Math.min((newHead - head) & 0xffff, size);
    for (let i = 0; i < n; i++) {
      const spec = round.descs[i] ?? filler(i);
      const d = { flags: spec.flags, region: spec.region, length: spec.length, offset: resolveOffset(spec) };
      const slot = (head + i) & mask;
      writeRealDesc(ring, slot, d);
      mem.setDesc(0, slot, d);
    }
    Atomics.store(ring.u16, ring.headIndex, newHead);
    mem.setHead(0, newHead);
    head = newHead;
    round.maxes.forEach((max, bi) => {
      const ctx = `round ${ri} burst ${bi} (head ${head}, tail ${ring.loadTail()}, max ${max})`;
      const tailBefore = ring.loadTail();
      const availBefore = (head - tailBefore) & 0xffff;
      const before = { packets: q.packets, bytes: q.bytes, errors: q.errors };
      const expected = m.burst(max);
      const got = burstOrFail(q, max, ctx);
      checkPackets(got, expected, ctx, m.fault);
      assert.equal(q.fault !== undefined, m.fault !== undefined, `${ctx}: fault "${q.fault}", model "${m.fault}"`);
      const tailAfter = ring.loadTail();
      assert.equal(tailAfter, m.last, `${ctx}: tail ${tailAfter}, model ${m.last}`);
      assert.equal(q.last, m.last, `${ctx}: queue's last`);
      const moved = (tailAfter - tailBefore) & 0xffff;
      assert.ok(moved <= (availBefore > size ? 0 : availBefore), `${ctx}: tail moved ${moved} past head`);
      checkCounters(q, m, got, before, ctx);
      assert.equal(q.pending, Math.min((head - m.last) & 0xffff, size), `${ctx}: pending`);
      checkMemory(r0.bytes, mem.bytes[0], 'region 0', ctx);
      checkMemory(r1.bytes, mem.bytes[1], 'region 1', ctx);
    });
  });
  stats.runs++;
  if (q.fault !== undefined) stats.faultedRuns++;
  checkExpect(c.expect, q);
}

function runM2S(c: M2SCase): void {
  const size = 1 << c.log2;
  const mask = size - 1;
  const base = M_RING_OFF + ringBytes(size) + M_GAP;
  const ringEnd = M_RING_OFF + ringBytes(size);
  rm.bytes.set(pristineM);
  const ring = new Ring(rm, M_RING_OFF, c.log2, CL);
  ring.init();
  Atomics.store(ring.u16, ring.tailIndex, c.start);
  Atomics.store(ring.u16, ring.headIndex, c.start);
  const mem = new Memory([Uint8Array.from(rm.bytes)]);
  const canary = () => {
    // Nothing outside the ring changes: not the buffers (read only), not the canaries around.
    checkMemory(rm.bytes.subarray(0, M_RING_OFF), pristineM.subarray(0, M_RING_OFF), 'canary before the ring', 'M2S');
    checkMemory(rm.bytes.subarray(ringEnd), pristineM.subarray(ringEnd), 'bytes after the ring', 'M2S');
  };
  const q = new RxQueue({
    id: 0,
    role: 'slave',
    ring,
    ...withMemory([rm]),
    bufferSize: B,
    buffersOffset: base,
    eventfd: -1,
    binding: native(),
    onInterrupt: () => {},
  });
  const m = new M2SModel(mem, size, base, c.start);
  q.refill();
  m.refill();
  checkMemory(rm.bytes, mem.bytes[0], 'M2S region', 'first refill');
  canary();
  let tail = c.start;
  c.rounds.forEach((round, ri) => {
    // The master's side: read the slave's head, fill the offered slots, store tail.
    const head = ring.loadHead();
    const newTail = move(round.tail, tail, head, size);
    const n = Math.min((newTail - tail) & 0xffff, size);
    for (let i = 0; i < n; i++) {
      const spec = round.descs[i] ?? { flags: 0, length: 60, region: 0, offset: 0 };
      const slot = (tail + i) & mask;
      writeRealDesc(ring, slot, spec);
      mem.setDesc(M_RING_OFF, slot, spec);
    }
    Atomics.store(ring.u16, ring.tailIndex, newTail);
    mem.setTail(M_RING_OFF, newTail);
    tail = newTail;
    round.maxes.forEach((max, bi) => {
      const ctx = `round ${ri} burst ${bi} (tail ${tail}, head ${ring.loadHead()}, max ${max})`;
      const before = { packets: q.packets, bytes: q.bytes, errors: q.errors };
      const expected = m.burst(max);
      const got = burstOrFail(q, max, ctx);
      checkPackets(got, expected, ctx, m.fault);
      assert.equal(q.fault !== undefined, m.fault !== undefined, `${ctx}: fault "${q.fault}", model "${m.fault}"`);
      assert.equal(q.last, m.last, `${ctx}: queue's last ${q.last}, model ${m.last}`);
      assert.equal(q.head, m.head, `${ctx}: queue's head ${q.head}, model ${m.head}`);
      assert.equal(ring.loadHead(), m.head, `${ctx}: published head`);
      assert.ok(((m.head - m.last) & 0xffff) <= size, `${ctx}: more than a ring offered`);
      checkCounters(q, m, got, before, ctx);
      assert.equal(q.pending, Math.min((tail - m.last) & 0xffff, size), `${ctx}: pending`);
      checkMemory(rm.bytes, mem.bytes[0], 'M2S region', ctx);
      canary();
    });
  });
  stats.runs++;
  if (q.fault !== undefined) stats.faultedRuns++;
  checkExpect(c.expect, q);
}

// ---------------------------------------------------------------------------------------------

const s2mCorpus = loadCorpus<S2MCase>('s2m.json');
const m2sCorpus = loadCorpus<M2SCase>('m2s.json');

describe('fuzz: ring consumer', () => {
  before(() => {
    r0 = Region.create(0, R0_SIZE, 'fuzz-r0');
    r1 = Region.create(1, R1_SIZE, 'fuzz-r1');
    rm = Region.create(0, M_SIZE, 'fuzz-m2s');
    pristine0 = pattern(R0_SIZE, 0);
    pristine1 = pattern(R1_SIZE, 1);
    pristineM = pattern(M_SIZE, 2);
    assert.equal(r0.bytes.length, R0_SIZE);
    assert.equal(r1.bytes.length, R1_SIZE);
  });
  after(() => {
    r0.close();
    r1.close();
    rm.close();
  });

  describe('corpus: master on S2M', () => {
    for (const c of s2mCorpus) test(c.name ?? 'unnamed', () => runS2M(c));
  });
  describe('corpus: slave on M2S', () => {
    for (const c of m2sCorpus) test(c.name ?? 'unnamed', () => runM2S(c));
  });

  test('master on S2M: hostile descriptors and head', (t) => {
    resetStats();
    try {
      fuzz(t, 'ring/s2m-master', fc.property(s2mCaseArb, runS2M), 4000);
    } finally {
      t.diagnostic(`ring/s2m-master model saw: ${statsLine()}`);
    }
  });

  test('slave on M2S: hostile lengths and tail; refill stays in the ring', (t) => {
    resetStats();
    try {
      fuzz(t, 'ring/m2s-slave', fc.property(m2sCaseArb, runM2S), 4000);
    } finally {
      t.diagnostic(`ring/m2s-slave model saw: ${statsLine()}`);
    }
  });
});
