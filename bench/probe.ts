// The machinery of the benchmark's packet loops and their measured window: the clock, the yield to
// the event loop (drive) and what one round of it allocates (calibrate), rounds of bursts, tallies
// per queue, and the Probe that records packets, time, heap allocation and GCs over the window.
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IDLE_POLLS, SPIN } from './workloads.js';

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

/**
 * performance.now() returns a boxed double (16 bytes of heap per call): the loops read the clock
 * once per round of bursts, never per burst, so that the benchmark itself does not allocate per packet.
 */
export const now = () => performance.now();

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
export class Probe {
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

// ---- the loop ----

/**
 * Runs `body` once per turn of the event loop (setImmediate) until it returns false. A callback,
 * not `await`: a yield through promises allocates about 1 KB, a bare setImmediate about 350 B.
 */
export function drive(body: () => boolean): Promise<void> {
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
export function round(pass: () => number): number {
  let busy = 0;
  let idle = 0;
  while (busy < SPIN && idle < IDLE_POLLS) {
    if (pass() > 0) busy++;
    else idle++;
  }
  return busy;
}

/** Packets moved, per queue and in all. */
export class Tally {
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
export class ArrivalWindow {
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

/**
 * Heap bytes of one object per packet, as the copy API's receive returns it at best: a Buffer (a
 * view of a larger block) in the array of the burst. Measured here, in this process: bursts of
 * 256 views of one block, kept alive until counted.
 */
export function objectBytes(): number {
  const block = Buffer.allocUnsafe(256 * 64);
  const bursts = 400;
  const keep: Buffer[][] = [];
  const make = () => {
    const out = new Array<Buffer>(256);
    for (let i = 0; i < 256; i++) out[i] = block.subarray(i * 64, i * 64 + 64);
    return out;
  };
  for (let k = 0; k < 20; k++) make(); // warm the JIT
  gc({ type: 'minor' });
  const p = new GCProfiler();
  p.start();
  const h0 = process.memoryUsage().heapUsed;
  for (let k = 0; k < bursts; k++) keep.push(make());
  const h1 = process.memoryUsage().heapUsed;
  let freed = 0;
  for (const g of p.stop()?.statistics ?? []) {
    freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  }
  return (h1 - h0 + freed) / (bursts * keep[0].length);
}
