// The targets of issue 13 (item 5), read from one run's rows by id: ratios against a reference
// measured in the same run (each row's own ratio, or against another row measured beside it),
// two queues against one, the interrupt round trip against the eventfd floor, the polling round
// trip, and heap per packet on both APIs. Each prints its measured value, its goal and a verdict.
import { memifId } from './plan.js';
import { referenceFor, SPREAD_LIMIT } from './report.js';
import { bytesPerPacket, type Row, type Target } from './table.js';

/** A ratio target: row `id`'s ratio (its own, or against row `against`, by rate) and the least it wants. */
interface RatioTarget {
  id: string;
  label: string;
  want: number;
  against?: { id: string; of: string };
}

const dirs = { s2m: 'slave → master', m2s: 'master → slave' } as const;
const oneWay = (f: (dir: 's2m' | 'm2s', name: string) => RatioTarget) =>
  (Object.entries(dirs) as ['s2m' | 'm2s', string][]).map(([d, n]) => f(d, n));

/** Every ratio target of the run but the 2-queue ones, in the order of the issue. */
const RATIO_TARGETS: RatioTarget[] = [
  ...oneWay((d, n) => ({
    id: memifId(d, 'copy', 1500, 1),
    label: `copy API 1,500 B one-way, ${n} ÷ zero-copy (same row)`,
    want: 0.5,
    against: { id: memifId(d, 'zc', 1500, 1), of: 'zero-copy' },
  })),
  ...oneWay((d, n) => ({
    id: memifId(d, 'copy', 9000, 1),
    label: `copy API 9,000 B one-way, ${n}, chained over 2,048-byte buffers ÷ Buffer.copy`,
    want: 0.3,
  })),
  ...oneWay((d, n) => ({
    id: memifId(d, 'copy', 9000, 1, 9216),
    label: `copy API 9,000 B one-way, ${n}, 9,216-byte buffers ÷ Buffer.copy`,
    want: 0.3,
  })),
  ...oneWay((d, n) => ({
    id: memifId(d, 'copy', 64, 1),
    label: `copy API 64 B one-way, ${n} ÷ testpmd→testpmd`,
    want: 0.3,
  })),
  { id: memifId('echo', 'copy', 64, 1), label: 'copy API 64 B echo (memif-ts ↔ memif-ts) ÷ testpmd echo', want: 0.25 },
  ...oneWay((d, n) => ({
    id: memifId(d, 'zc', 64, 1),
    label: `zero-copy 64 B one-way, ${n} ÷ testpmd→testpmd`,
    want: 0.6,
  })),
  { id: memifId('echo', 'zc', 64, 1), label: 'zero-copy 64 B echo (memif-ts ↔ memif-ts) ÷ testpmd echo', want: 0.5 },
  { id: 'tp/echo-memif/zc', label: 'zero-copy 64 B echo (memif-ts as testpmd’s echo peer) ÷ testpmd echo', want: 0.6 },
  ...oneWay((d, n) => ({
    id: memifId(d, 'zc', 9000, 1),
    label: `zero-copy 9,000 B one-way, ${n}, chained over 2,048-byte buffers ÷ Buffer.copy`,
    want: 0.7,
  })),
  ...oneWay((d, n) => ({
    id: memifId(d, 'zc', 9000, 1, 9216),
    label: `zero-copy 9,000 B one-way, ${n}, 9,216-byte buffers ÷ Buffer.copy (round 1)`,
    want: 0.7,
  })),
];

/** The 2-queue rows (one thread per process), each against its 1-queue row. */
function queueTargets(): RatioTarget[] {
  const out: RatioTarget[] = [];
  for (const size of [64, 1500, 9000]) {
    for (const dir of ['s2m', 'm2s', 'echo'] as const) {
      for (const api of ['zc', 'copy'] as const) {
        const name = dir === 'echo' ? 'echo' : dirs[dir];
        const a = api === 'zc' ? 'zero-copy' : 'copy API';
        out.push({
          id: memifId(dir, api, size, 2),
          label: `2 queues ÷ 1 queue, one thread: ${a} ${size} B ${name}`,
          want: 0.9,
        });
      }
    }
  }
  return out;
}

/** A "≤" or "<" target's verdict line. */
function atMost(
  label: string,
  want: string,
  value: number | undefined,
  limit: number,
  detail: string,
  strict = false,
): Target {
  return {
    label,
    want,
    value,
    met: value === undefined || !Number.isFinite(value) ? undefined : strict ? value < limit : value <= limit,
    detail,
  };
}

/** Heap per packet: the worst row of `api`, either process. */
function heapTarget(
  rows: Row[],
  api: 'zero-copy' | 'copy',
  limit: number,
  label: string,
  want: string,
  strict: boolean,
): Target {
  // Rows with one thread per process (the worker rows' heaps are each worker's own, summed: see BENCHMARKS.md).
  const measured = rows.filter(
    (r) => !r.error && r.heap && r.api === api && !r.id.includes('#') && !r.id.endsWith('/workers'),
  );
  let worst = Number.NEGATIVE_INFINITY;
  let worstAt = '';
  let gcs = 0;
  const bad: string[] = [];
  for (const r of measured) {
    for (const [side, h] of Object.entries(r.heap ?? {})) {
      if (!h || h.packets === 0) continue;
      const b = bytesPerPacket(h) ?? 0;
      gcs += h.gcs;
      if (b > worst) {
        worst = b;
        worstAt = `${r.id} ${side}`;
      }
      if (strict ? b >= limit : b > limit) bad.push(`${r.id} ${side}: ${b.toFixed(b < 10 ? 2 : 0)} B/pkt`);
    }
  }
  const value = measured.length > 0 && Number.isFinite(worst) ? worst : undefined;
  const t = atMost(label, want, value, limit, '', strict);
  const worstText =
    value === undefined
      ? ''
      : `worst ${worst.toFixed(2)} B/pkt: ${worstAt}; ${measured.length} ${api} rows; ${gcs} GCs in all their windows`;
  t.detail =
    bad.length > 0
      ? `${worstText}; over: ${bad.slice(0, 6).join('; ')}${bad.length > 6 ? ` … (${bad.length})` : ''}`
      : worstText;
  return t;
}

/** The targets, read from this run's rows (by id). `oneObject`: heap bytes of one Buffer per packet, measured in this process. */
export function targets(rows: Row[], oneObject: number): Target[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ok = (id: string) => {
    const r = byId.get(id);
    return r && !r.error ? r : undefined;
  };
  const f = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(2));
  const out: Target[] = [];
  const ratioTarget = (t: RatioTarget) => {
    const r = ok(t.id);
    let ratio = r?.ratio;
    if (r && t.against) {
      const use = referenceFor(rows, t.against.id, r);
      const rates = use.map((u) => u.mpps ?? 0);
      const mean = rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
      const spread = rates.length > 1 ? (Math.max(...rates) / Math.min(...rates) - 1) * 100 : 0;
      ratio = mean > 0 ? { value: (r.mpps ?? 0) / mean, of: t.against.of, ref: t.against.id, spread } : undefined;
    }
    const value = ratio?.value;
    const unreliable =
      ratio && (ratio.spread ?? 0) > SPREAD_LIMIT
        ? `${ratio.of} measured before and after this row differs by ${ratio.spread?.toFixed(0)} %`
        : undefined;
    out.push({
      label: t.label,
      want: `≥ ${t.want}`,
      value,
      met: value === undefined ? undefined : value >= t.want,
      ...(unreliable ? { unreliable } : {}),
      detail: ratio
        ? `${f(r?.mpps)} Mpps, ${f(r?.gbps)} Gbit/s vs ${ratio.of}`
        : byId.get(t.id)?.error
          ? 'row failed'
          : r
            ? 'its reference was not measured'
            : '',
    });
  };
  for (const t of RATIO_TARGETS) ratioTarget(t);
  // Two queues against one: every such row of the run (all of them in a full run).
  const q2 = queueTargets();
  const present = q2.filter((t) => byId.has(t.id));
  for (const t of present) ratioTarget(t);
  if (present.length === 0) ratioTarget({ ...q2[0], label: '2 queues ÷ 1 queue, one thread (every row)' });
  // Round trips.
  const irq = ok('latency/interrupt');
  const floor = irq?.ratio?.ref === 'latency/eventfd-floor' ? irq.ratio : undefined;
  const t = atMost(
    'interrupt-mode round trip p50 ÷ eventfd floor p50 (two Node processes, uv_poll)',
    '≤ 1.5',
    floor?.value,
    1.5,
    irq?.rtt && floor ? `${irq.rtt.p50.toFixed(1)} µs vs floor ${(irq.rtt.p50 / floor.value).toFixed(1)} µs` : '',
  );
  if (floor && (floor.spread ?? 0) > SPREAD_LIMIT) {
    t.unreliable = `the floor measured before and after this row differs by ${floor.spread?.toFixed(0)} %`;
  }
  out.push(t);
  const poll = ok('latency/polling')?.rtt?.p50;
  out.push(
    atMost('polling-mode round trip p50, µs', '≤ 2', poll, 2, poll === undefined ? '' : `${poll.toFixed(2)} µs`),
  );
  // Heap per packet.
  out.push(
    heapTarget(
      rows,
      'copy',
      oneObject,
      `copy API: heap allocated per packet, net of the loop (worst one-thread row, either process) ≤ one Buffer (${oneObject.toFixed(0)} B here)`,
      `≤ ${oneObject.toFixed(0)} B/pkt`,
      false,
    ),
  );
  out.push(
    heapTarget(
      rows,
      'zero-copy',
      1,
      'zero-copy: heap allocated per packet, net of the loop (worst one-thread row, either process)',
      '< 1 B/pkt',
      true,
    ),
  );
  return out;
}
