// The packet loops of the benchmark, run in both memif-ts processes: one-way sender and receiver,
// echo initiator and reflector (copy and zero-copy API), round-trip latency. They poll, yield to
// the event loop every SPIN bursts so that control messages flow, never allocate per packet
// themselves, and record packets, time and heap allocation over their measured window.
import { setTimeout as delay, setImmediate as yieldToLoop } from 'node:timers/promises';
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Memif, RxBurst } from 'memif-ts';

export type Api = 'copy' | 'zc';
export type RxMode = 'polling' | 'interrupt';

/** What one side of a scenario does. */
export interface WorkSpec {
  kind: 'send' | 'receive' | 'initiate' | 'reflect' | 'ping' | 'pong';
  api: Api;
  /** Frame size in bytes (send, initiate; receive checks it). */
  size: number;
  /** Queues used, 0 … queues-1. */
  queues: number;
  /** Not measured at the start (JIT, rings filling). */
  warmMs: number;
  /** send / initiate: stop after warmMs + measureMs; 0 = run until Control.stop. */
  measureMs: number;
  /** initiate: packets in flight per queue. */
  window: number;
  /** receive: check size and sequence numbers (false for testpmd's frames). */
  check: boolean;
  /** ping: round trips measured, after `warmup` unmeasured ones. */
  count: number;
  warmup: number;
  /** The slave's buffer size (both ends' buffers): how many buffers a frame takes. */
  bufferSize: number;
}

/** Set from outside (IPC or the parent's own logic) while a loop runs. */
export class Control {
  stop = false;
  /** receive: packets the sender sent on each queue; the receiver ends once it has them all. */
  totals: number[] | undefined;
}

/** Heap and GCs over a measured window. */
export interface HeapStat {
  heapBefore: number;
  heapAfter: number;
  /** Bytes allocated in the window: heapAfter − heapBefore + what the GCs in it freed. */
  allocated: number;
  /** GCs inside the window. */
  gcs: number;
  /** Rounds of the loop in the window, and what one round of an idle loop allocates (calibrated). */
  rounds: number;
  perRound: number;
  /** Packets handled by this process in the window (the denominator of bytes per packet). */
  packets: number;
}

export interface WorkResult {
  /** Packets counted in the measured window and its length (ms): the rate. */
  packets: number;
  ms: number;
  /** Per queue: packets sent (send, initiate) or received (receive, reflect) in all. */
  perQueue: number[];
  /** Packets that arrived in order with the right size (receive, initiate). */
  verified: number;
  /** Packets with a wrong size or an unexpected sequence number. */
  errors: number;
  /** initiate: packets sent and never seen back. */
  lost: number;
  heap: HeapStat;
  /** ping: round-trip times in µs. */
  rtts?: number[];
}

/** Bursts of packets per call. */
export const BURST = 256;
/** Non-empty bursts of a busy loop between two yields to the event loop. */
export const SPIN = 64;
/**
 * Empty polls that also end a round (≈ 0.2–0.4 ms): an idle poller yields less often, because every
 * yield allocates (a promise and an Immediate) and would be counted as heap growth.
 */
const IDLE_POLLS = 4096;
/** Where the sequence number sits in a frame (after the Ethernet header, 4-aligned). */
const SEQ_AT = 16;
/** The buffer size both ends use by default (memif-ts's and DPDK's default). */
export const BUFFER_SIZE = 2048;
/** The buffer size of the jumbo rows: a 9,000-byte frame in one buffer, as VPP and DPDK set up jumbo frames. */
export const JUMBO_BUFFER_SIZE = 9216;

/**
 * performance.now() returns a boxed double (16 bytes of heap per call): the loops read the clock
 * once per round of bursts, never per burst, so that the benchmark itself does not allocate per packet.
 */
const now = () => performance.now();

// ---- GC and heap ----

setFlagsFromString('--expose-gc');
/** V8's gc(), exposed at run time: a minor GC empties the young generation before a window. */
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

/** Bytes one round of an empty loop allocates here (a clock read and a yield), from calibrate(). */
let roundCost = 0;

/**
 * Measures what the loops' own per-round work allocates (one clock read, one yield to the event
 * loop), without packets, so that it can be told apart from what memif-ts allocates.
 */
export async function calibrate(): Promise<number> {
  let i = 0;
  await drive(() => {
    now();
    return ++i < 200;
  });
  gc({ type: 'minor' });
  const p = new GCProfiler();
  p.start();
  const h0 = process.memoryUsage().heapUsed;
  const n = 2000;
  i = 0;
  await drive(() => {
    now();
    return ++i < n;
  });
  const h1 = process.memoryUsage().heapUsed;
  let freed = 0;
  for (const g of p.stop()?.statistics ?? []) {
    freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  }
  roundCost = Math.max(0, (h1 - h0 + freed) / n);
  return roundCost;
}

/**
 * Opens and closes the measured window: packets, time, and the heap. Bytes allocated are counted
 * across GCs with v8.GCProfiler: growth of heapUsed over the window plus what each GC in it freed.
 */
class Probe {
  started = false;
  t0 = 0;
  count0 = 0;
  heap0 = 0;
  t1 = 0;
  count1 = 0;
  heap1 = 0;
  /** Rounds (one yield each) while the window was open. */
  rounds = 0;
  #profiler: GCProfiler | undefined;
  #freed = 0;
  #gcs = 0;

  /** Called once per round of the loop. */
  tick(): void {
    if (this.#profiler !== undefined) this.rounds++;
  }

  /**
   * Opens the window: a minor GC first (a little garbage from before cannot trigger one inside),
   * then heapUsed; the clock is read after both (nothing was processed meanwhile).
   */
  begin(count: number): void {
    gc({ type: 'minor' });
    this.#profiler = new GCProfiler();
    this.#profiler.start();
    this.heap0 = process.memoryUsage().heapUsed;
    this.started = true;
    this.t0 = now();
    this.count0 = count;
  }

  end(t: number, count: number): void {
    this.heap1 = process.memoryUsage().heapUsed;
    const stats = this.#profiler?.stop()?.statistics ?? [];
    this.#profiler = undefined;
    this.#gcs = stats.length;
    this.#freed = 0;
    for (const g of stats)
      this.#freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
    this.t1 = t;
    this.count1 = count;
    if (!this.started) {
      this.started = true;
      this.t0 = t;
      this.count0 = count;
      this.heap0 = this.heap1;
    }
  }

  heap(packets: number): HeapStat {
    return {
      heapBefore: this.heap0,
      heapAfter: this.heap1,
      allocated: this.heap1 - this.heap0 + this.#freed,
      gcs: this.#gcs,
      packets,
      rounds: this.rounds,
      perRound: roundCost,
    };
  }

  get packets(): number {
    return this.count1 - this.count0;
  }

  get ms(): number {
    return this.t1 - this.t0;
  }
}

// ---- frames ----

/** A frame of `size` bytes: Ethernet header (local experimental EtherType 0x88B5) and a pattern. */
export function frame(size: number): Buffer {
  const f = Buffer.alloc(size);
  Buffer.from([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5]).copy(f);
  for (let i = 14; i < size; i++) f[i] = (i * 31) & 0xff;
  return f;
}

/** A placeholder before the first region is known. */
const NO_WORDS = new Uint32Array(0);

/** A Uint32Array over a region's mapping, made once per mapping. */
class U32Cache {
  #bytes: Uint8Array | undefined;
  #u32: Uint32Array = new Uint32Array(0);

  get(bytes: Uint8Array): Uint32Array {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    }
    return this.#u32;
  }
}

/**
 * Zero-copy transmit of numbered frames: takes buffers with txAlloc, appends each whole frame with
 * push() (chained over several buffers when larger than one; consecutive buffers in one copy),
 * writes its sequence number in place and commits.
 */
export class ZcSender {
  readonly #frame: Buffer;
  readonly #u32 = new U32Cache();
  readonly segs: number;

  constructor(
    readonly size: number,
    bufferSize: number,
  ) {
    this.#frame = frame(size);
    this.segs = Math.ceil(size / bufferSize);
  }

  /** Sends up to `max` frames numbered from `seq` on queue `q`; returns how many were committed. */
  send(m: Memif, q: number, max: number, seq: number): number {
    const tb = m.txAlloc(q, Math.min(BURST, max * this.segs));
    const f = this.#frame;
    let p = 0;
    let r = -1;
    let words: Uint32Array = NO_WORDS;
    while (p < max) {
      const i = tb.used;
      if (!tb.push(f)) break;
      if (tb.bufRegion[i] !== r) {
        r = tb.bufRegion[i];
        words = this.#u32.get(tb.bytes(r));
      }
      words[(tb.bufOffset[i] + SEQ_AT) >>> 2] = (seq + p) >>> 0;
      p++;
    }
    if (p === 0) {
      tb.abort();
      return 0;
    }
    return tb.commit();
  }
}

/** Copy-API transmit of numbered frames: a burst of Buffers, renumbered after each partial send. */
export class CopySender {
  readonly #packets: Buffer[];
  #numbered = -1;

  constructor(size: number) {
    this.#packets = Array.from({ length: BURST }, () => frame(size));
  }

  send(m: Memif, q: number, max: number, seq: number): number {
    const count = Math.min(max, BURST);
    if (this.#numbered !== seq) {
      for (let k = 0; k < BURST; k++) this.#packets[k].writeUInt32LE((seq + k) >>> 0, SEQ_AT);
      this.#numbered = seq;
    }
    return m.txBurst(q, this.#packets, count);
  }
}

interface Sender {
  send(m: Memif, q: number, max: number, seq: number): number;
}

function sender(s: WorkSpec): Sender {
  return s.api === 'zc' ? new ZcSender(s.size, s.bufferSize) : new CopySender(s.size);
}

/** Counts and checks received frames of one queue. */
class Checker {
  expect = 0;
  verified = 0;
  errors = 0;
  readonly #u32 = new U32Cache();

  constructor(
    readonly size: number,
    readonly check: boolean,
  ) {}

  /** Zero-copy: reads length and sequence number in place, then releases. Returns the count. */
  zc(rb: RxBurst): number {
    const n = rb.count;
    // Bulk access (checked once per burst): length and first segment of each packet.
    const length = rb.packetLength;
    const first = rb.first;
    const region = rb.segRegion;
    const offset = rb.segOffset;
    if (this.check && n > 0) {
      // The region's words, looked up again only when a packet is in another region.
      let r = region[first[0]];
      let words = this.#u32.get(rb.bytes(r));
      for (let k = 0; k < n; k++) {
        const s = first[k];
        if (region[s] !== r) {
          r = region[s];
          words = this.#u32.get(rb.bytes(r));
        }
        const seq = words[(offset[s] + SEQ_AT) >>> 2];
        if (length[k] === this.size && seq === this.expect) this.verified++;
        else this.errors++;
        this.expect = (seq + 1) >>> 0;
      }
    } else {
      for (let k = 0; k < n; k++) if (length[k] > 0) this.verified++;
    }
    rb.release();
    return n;
  }

  copy(packets: Buffer[]): number {
    const n = packets.length;
    if (this.check) {
      for (let k = 0; k < n; k++) {
        const p = packets[k];
        const seq = p.readUInt32LE(SEQ_AT);
        if (p.length === this.size && seq === this.expect) this.verified++;
        else this.errors++;
        this.expect = (seq + 1) >>> 0;
      }
    } else {
      this.verified += n;
    }
    return n;
  }
}

function receiveOnce(m: Memif, api: Api, q: number, c: Checker, max = BURST): number {
  return api === 'zc' ? c.zc(m.rxBurstZeroCopy(q, max)) : c.copy(m.rxBurst(q, max));
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

// ---- the loop ----

/**
 * Runs `body` once per turn of the event loop (setImmediate) until it returns false. A callback,
 * not `await`: a yield through promises allocates about 1 KB, a bare setImmediate about 350 B.
 */
function drive(body: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = () => {
      try {
        if (body()) setImmediate(step);
        else resolve();
      } catch (err) {
        reject(err);
      }
    };
    step();
  });
}

/**
 * One round of a busy loop: calls `pass` (one burst on every queue; returns packets moved) until
 * SPIN passes moved packets or IDLE_POLLS did not. Returns the passes that moved packets.
 */
function round(pass: () => number): number {
  let busy = 0;
  let idle = 0;
  while (busy < SPIN && idle < IDLE_POLLS) {
    if (pass() > 0) busy++;
    else idle++;
  }
  return busy;
}

/** Packets moved, per queue and in all. */
class Tally {
  total = 0;
  readonly perQueue: number[];

  constructor(queues: number) {
    this.perQueue = new Array<number>(queues).fill(0);
  }

  /** A pass over every queue: `step(q)` moves packets on queue q; returns the packets moved. */
  pass(step: (q: number) => number): () => number {
    const per = this.perQueue;
    return () => {
      let moved = 0;
      for (let q = 0; q < per.length; q++) {
        const n = step(q);
        per[q] += n;
        moved += n;
      }
      this.total += moved;
      return moved;
    };
  }
}

/** A receiving side's window: it opens warmMs after the first packet and ends at the last round that moved any. */
class ArrivalWindow {
  first = -1;
  last = 0;

  constructor(
    readonly probe: Probe,
    readonly warmMs: number,
  ) {}

  /** Called once per round with the busy passes of that round, the clock and the running total. */
  observe(busy: number, t: number, total: number): void {
    if (busy > 0) {
      this.last = t;
      if (this.first < 0) this.first = t;
    }
    if (!this.probe.started && this.first >= 0 && t >= this.first + this.warmMs) this.probe.begin(total);
  }
}

/** Sends numbered frames on every queue for warmMs + measureMs (or until stopped). */
export async function send(m: Memif, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const senders = Array.from({ length: Q }, () => sender(s));
  const sent = new Tally(Q);
  const seq = sent.perQueue;
  const probe = new Probe();
  const start = now();
  const warmEnd = start + s.warmMs;
  const end = s.measureMs > 0 ? warmEnd + s.measureMs : Number.POSITIVE_INFINITY;
  const pass = sent.pass((q) => senders[q].send(m, q, BURST, seq[q]));
  await drive(() => {
    round(pass);
    probe.tick();
    const t = now();
    if (!probe.started && t >= warmEnd) probe.begin(sent.total);
    if (t >= end || ctl.stop || !m.connected) {
      probe.end(t, sent.total);
      return false;
    }
    return true;
  });
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: seq,
    verified: 0,
    errors: 0,
    lost: 0,
    heap: probe.heap(probe.packets),
  };
}

/**
 * Receives on every queue until the sender's totals are known and reached (or, without totals,
 * until stopped and idle for 50 ms). The window runs from warmMs after the first packet to the
 * end of the round that saw the last one.
 */
export async function receive(m: Memif, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const checkers = Array.from({ length: Q }, () => new Checker(s.size, s.check));
  const got = new Tally(Q);
  const probe = new Probe();
  const w = new ArrivalWindow(probe, s.warmMs);
  let giveUp = Number.POSITIVE_INFINITY;
  const pass = got.pass((q) => receiveOnce(m, s.api, q, checkers[q]));
  await drive(() => {
    const busy = round(pass);
    probe.tick();
    const t = now();
    w.observe(busy, t, got.total);
    const totals = ctl.totals;
    if (totals !== undefined) {
      if (got.perQueue.every((g, q) => g >= totals[q])) return false;
      if (giveUp === Number.POSITIVE_INFINITY) giveUp = t + 10_000;
      if (t > giveUp) return false; // packets were lost: report what arrived
    } else if (ctl.stop && t - Math.max(w.last, w.first) > 50) {
      return false;
    }
    return m.connected;
  });
  probe.end(w.last, got.total);
  const verified = sum(checkers.map((c) => c.verified));
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: got.perQueue,
    verified,
    errors: sum(checkers.map((c) => c.errors)),
    lost: ctl.totals ? sum(ctl.totals) - verified : 0,
    heap: probe.heap(probe.packets),
  };
}

// ---- echo ----

/**
 * Echo initiator: keeps `window` numbered frames in flight on every queue for warmMs + measureMs,
 * checking what comes back; then stops sending and waits for the rest. The rate is packets back.
 */
export async function initiate(m: Memif, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const senders = Array.from({ length: Q }, () => sender(s));
  const checkers = Array.from({ length: Q }, () => new Checker(s.size, true));
  const sent = new Array<number>(Q).fill(0);
  const returned = new Tally(Q);
  const back = returned.perQueue;
  const probe = new Probe();
  const start = now();
  const warmEnd = start + s.warmMs;
  const measureEnd = warmEnd + s.measureMs;
  let drainEnd = 0;
  let sending = true;
  const pass = returned.pass((q) => {
    if (sending) {
      const room = s.window - (sent[q] - back[q]);
      if (room > 0) sent[q] += senders[q].send(m, q, room, sent[q]);
    }
    return receiveOnce(m, s.api, q, checkers[q]);
  });
  await drive(() => {
    round(pass);
    probe.tick();
    const t = now();
    if (!probe.started && t >= warmEnd) probe.begin(returned.total);
    if (sending && (t >= measureEnd || ctl.stop || !m.connected)) {
      probe.end(t, returned.total);
      sending = false;
      drainEnd = t + 2000;
    }
    return sending || !(back.every((b, q) => b >= sent[q]) || t > drainEnd || ctl.stop || !m.connected);
  });
  const verified = sum(checkers.map((c) => c.verified));
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: sent,
    verified,
    errors: sum(checkers.map((c) => c.errors)),
    lost: sum(sent) - sum(back),
    heap: probe.heap(probe.packets),
  };
}

/** Zero-copy reflector state of one queue: an rx burst held until all its packets went back. */
class ZcReflector {
  #rb: RxBurst | undefined;
  #next = 0;

  /** Echoes what it can; returns the packets sent back. */
  step(m: Memif, q: number): number {
    let rb = this.#rb;
    if (rb === undefined) {
      rb = m.rxBurstZeroCopy(q, BURST);
      if (rb.count === 0) {
        rb.release();
        return 0;
      }
      this.#rb = rb;
      this.#next = 0;
    }
    // As many buffers as the packets left have segments (both rings have buffers of one size).
    const tb = m.txAlloc(q, rb.first[rb.count] - rb.first[this.#next]);
    const sent = tb.count > 0 ? tb.pushFrom(rb, this.#next) : 0;
    if (sent > 0) tb.commit();
    else tb.abort();
    this.#next += sent;
    if (this.#next === rb.count) {
      rb.release();
      this.#rb = undefined;
    }
    return sent;
  }

  /** Gives a held burst back (at the end). */
  drop(): void {
    this.#rb?.release();
    this.#rb = undefined;
  }
}

/** Copy-API reflector state of one queue: received packets not yet taken by txBurst. */
class CopyReflector {
  #pending: Buffer[] = [];

  step(m: Memif, q: number): number {
    if (this.#pending.length === 0) this.#pending = m.rxBurst(q, BURST);
    const p = this.#pending;
    if (p.length === 0) return 0;
    const n = m.txBurst(q, p);
    this.#pending = n === p.length ? [] : p.slice(n);
    return n;
  }

  drop(): void {
    this.#pending = [];
  }
}

/** Echo reflector: sends every packet back on the queue it came from, until stopped. */
export async function reflect(m: Memif, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const reflectors = Array.from({ length: Q }, () => (s.api === 'zc' ? new ZcReflector() : new CopyReflector()));
  const echoed = new Tally(Q);
  const probe = new Probe();
  const w = new ArrivalWindow(probe, s.warmMs);
  const pass = echoed.pass((q) => reflectors[q].step(m, q));
  await drive(() => {
    const busy = round(pass);
    probe.tick();
    w.observe(busy, now(), echoed.total);
    return !ctl.stop && m.connected;
  });
  probe.end(w.last, echoed.total);
  if (m.connected) for (const r of reflectors) r.drop();
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: echoed.perQueue,
    verified: 0,
    errors: 0,
    lost: 0,
    heap: probe.heap(probe.packets),
  };
}

// ---- latency ----

/**
 * Round trips with one packet in flight on queue 0 (copy API). Polling: both ends spin, and yield
 * to the event loop between round trips at most once a millisecond. Interrupt: each end waits for
 * the eventfd, on the event loop.
 */
export async function ping(m: Memif, s: WorkSpec, mode: RxMode): Promise<WorkResult> {
  const pkt = [frame(s.size)];
  const rtts: number[] = [];
  const n = s.warmup + s.count;
  const probe = new Probe();
  if (mode === 'polling') {
    let lastYield = now();
    for (let i = 0; i < n; i++) {
      if (i === s.warmup) probe.begin(0);
      pkt[0].writeUInt32LE(i, SEQ_AT);
      const t0 = now();
      while (m.txBurst(0, pkt) === 0) if (now() - t0 > 1000) throw new Error('ping: tx ring stays full');
      let back = m.rxBurst(0, 1);
      let polls = 0;
      while (back.length === 0) {
        if ((++polls & 0xfff) === 0 && now() - t0 > 2000) throw new Error(`ping: no reply to round trip ${i}`);
        back = m.rxBurst(0, 1);
      }
      const t1 = now();
      if (back[0].readUInt32LE(SEQ_AT) !== i) throw new Error(`ping: reply ${back[0].readUInt32LE(SEQ_AT)}, want ${i}`);
      if (i >= s.warmup) rtts.push((t1 - t0) * 1000);
      if (t1 - lastYield > 1) {
        await yieldToLoop();
        lastYield = now();
      }
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      let i = 0;
      let t0 = 0;
      const timer = setTimeout(() => finish(new Error(`ping: no reply to round trip ${i}`)), 30_000);
      const next = () => {
        if (i === s.warmup) probe.begin(0);
        pkt[0].writeUInt32LE(i, SEQ_AT);
        t0 = now();
        if (m.txBurst(0, pkt) === 0) finish(new Error('ping: tx ring full'));
      };
      const onInterrupt = (q: number) => {
        if (q !== 0) return;
        const back = m.rxBurst(0, 1);
        if (back.length === 0) return; // spurious
        const t1 = now();
        if (i >= s.warmup) rtts.push((t1 - t0) * 1000);
        if (++i === n) finish();
        else next();
      };
      const finish = (err?: Error) => {
        clearTimeout(timer);
        m.off('interrupt', onInterrupt);
        if (err) reject(err);
        else resolve();
      };
      m.on('interrupt', onInterrupt);
      next();
    });
  }
  probe.end(now(), s.count);
  return {
    packets: s.count,
    ms: probe.ms,
    perQueue: [n],
    verified: n,
    errors: 0,
    lost: 0,
    heap: probe.heap(s.count),
    rtts,
  };
}

/** The other end of ping: sends every packet back at once, until stopped. */
export async function pong(m: Memif, mode: RxMode, ctl: Control): Promise<WorkResult> {
  let echoed = 0;
  const echo = () => {
    const p = m.rxBurst(0, BURST);
    if (p.length === 0) return;
    let done = 0;
    while (done < p.length) done += m.txBurst(0, done === 0 ? p : p.slice(done));
    echoed += p.length;
  };
  if (mode === 'polling') {
    let lastYield = now();
    while (!ctl.stop && m.connected) {
      for (let i = 0; i < 256; i++) echo();
      const t = now();
      if (t - lastYield > 1) {
        await yieldToLoop();
        lastYield = now();
      }
    }
  } else {
    const onInterrupt = (q: number) => {
      if (q === 0) echo();
    };
    m.on('interrupt', onInterrupt);
    while (!ctl.stop && m.connected) await delay(5);
    m.off('interrupt', onInterrupt);
  }
  const probe = new Probe();
  probe.end(now(), echoed);
  return {
    packets: echoed,
    ms: 0,
    perQueue: [echoed],
    verified: 0,
    errors: 0,
    lost: 0,
    heap: probe.heap(0),
  };
}

/** Runs the workload `s` on `m`. */
export function run(m: Memif, s: WorkSpec, ctl: Control, mode: RxMode = 'polling'): Promise<WorkResult> {
  switch (s.kind) {
    case 'send':
      return send(m, s, ctl);
    case 'receive':
      return receive(m, s, ctl);
    case 'initiate':
      return initiate(m, s, ctl);
    case 'reflect':
      return reflect(m, s, ctl);
    case 'ping':
      return ping(m, s, mode);
    case 'pong':
      return pong(m, mode, ctl);
  }
}
