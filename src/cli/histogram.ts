// A latency histogram in nanoseconds with log-linear buckets (16 per power of two, so within
// about 6 %), fixed memory, no allocation per sample; percentiles are bucket midpoints.
const SUB = 16;
const BUCKETS = SUB + 32 * SUB;

/** Counts of latencies (ns), for percentiles. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  count = 0;
  max = 0;

  /** Adds one sample; negative values count as 0, values beyond 2^32 − 1 ns (4.3 s) as that. */
  add(ns: number): void {
    const v = ns <= 0 ? 0 : ns >= 0xffffffff ? 0xffffffff : Math.floor(ns);
    if (v > this.max) this.max = v;
    this.count++;
    this.#counts[index(v)]++;
  }

  /** The `p`th percentile (0-100) in ns; 0 when empty. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] as number;
      if (seen >= want) return Math.min(mid(i), this.max);
    }
    return this.max;
  }
}

function index(v: number): number {
  if (v < SUB) return v;
  const e = 31 - Math.clz32(v); // ≥ 4
  return SUB + (e - 4) * SUB + ((v >>> (e - 4)) & (SUB - 1));
}

function mid(i: number): number {
  if (i < SUB) return i;
  const e = Math.floor((i - SUB) / SUB) + 4;
  const sub = (i - SUB) % SUB;
  const low = (SUB + sub) * 2 ** (e - 4);
  return low + 2 ** (e - 4) / 2;
}
