// Reporting: what the measured rows say together — each row's ratio against its reference as
// measured just before and after it, how far the references drifted during the run, the targets
// (found by row id) and the median of repeated measurements. table.ts formats the result.
import { REFERENCE_IDS, type Step } from './plan.js';
import { bytesPerPacket, type Row, type Target } from './table.js';

/** Measurements of reference `base` (its first id and the ones measured again), in run order. */
function measurementsOf(rows: Row[], base: string): Row[] {
  return rows
    .filter((r) => (r.id === base || r.id.startsWith(`${base}#`)) && !r.error && !!r.mpps)
    .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
}

/** The measurements of `base` just before and just after `row` in the run (one if it has only one side). */
function referenceFor(rows: Row[], base: string, row: Row): Row[] {
  const ms = measurementsOf(rows, base);
  const seq = row.seq ?? 0;
  const before = ms.filter((r) => (r.seq ?? 0) < seq).pop();
  const after = ms.find((r) => (r.seq ?? 0) > seq);
  const use = [before, after].filter((r): r is Row => r !== undefined);
  return use.length > 0 ? use : ms.slice(0, 1);
}

/** Sets each row's ratio against its reference as measured just before and just after it. */
export function addRatios(rows: Row[], steps: Step[]): void {
  const ratioOf = new Map(steps.map((s) => [s.id, s.ratio]));
  for (const r of rows) {
    const ref = r.error || r.mpps === undefined ? undefined : ratioOf.get(r.id);
    if (!ref) continue;
    const { ref: base, of, bandwidth } = ref;
    const use = referenceFor(rows, base, r);
    if (use.length === 0) continue;
    const mean = (f: (x: Row) => number) => use.reduce((x, u) => x + f(u), 0) / use.length;
    const rates = use.map((u) => u.mpps ?? 0);
    const spread = use.length > 1 ? (Math.max(...rates) / Math.min(...rates) - 1) * 100 : 0;
    const value = bandwidth ? (r.gbps ?? 0) / mean((u) => u.gbps ?? 0) : (r.mpps ?? 0) / mean((u) => u.mpps ?? 0);
    r.ratio = { value, of, ref: base, spread };
  }
  // Each later measurement of a reference against the one before it: how much the host moved it.
  for (const base of REFERENCE_IDS) {
    const ms = measurementsOf(rows, base);
    for (let k = 1; k < ms.length; k++) {
      if (ms[k].notes?.includes('against the one before')) continue;
      const pct = ((ms[k].mpps ?? 0) / (ms[k - 1].mpps ?? 1) - 1) * 100;
      const sign = pct >= 0 ? '+' : '';
      ms[k].notes = `${ms[k].notes ? `${ms[k].notes}; ` : ''}${sign}${pct.toFixed(0)} % against the one before`;
    }
  }
}

/** Two measurements of a reference around a row that differ by more than this make its ratio unreliable. */
const SPREAD_LIMIT = 15;

/** Warnings for references whose consecutive measurements differ by more than SPREAD_LIMIT. */
export function driftWarnings(rows: Row[]): string[] {
  const out: string[] = [];
  for (const base of REFERENCE_IDS) {
    const ms = measurementsOf(rows, base);
    for (let k = 1; k < ms.length; k++) {
      const pct = ((ms[k].mpps ?? 0) / (ms[k - 1].mpps ?? 1) - 1) * 100;
      if (Math.abs(pct) > SPREAD_LIMIT) {
        out.push(
          `${base} moved ${pct >= 0 ? '+' : ''}${pct.toFixed(0)} % between two of its measurements (the host's speed changed): ` +
            'ratios of the rows measured in between are unreliable; rerun, or use --repeat 3',
        );
      }
    }
  }
  return out;
}

/** The ratio targets: the row each is read from (by id) and the ratio it wants. */
const RATIO_TARGETS: { id: string; label: string; want: number }[] = [
  { id: 'memif/s2m/zc/64/1q', label: '64 B one-way zero-copy, slave → master ÷ testpmd→testpmd', want: 0.5 },
  { id: 'memif/m2s/zc/64/1q', label: '64 B one-way zero-copy, master → slave ÷ testpmd→testpmd', want: 0.5 },
  { id: 'memif/echo/zc/64/1q', label: '64 B echo zero-copy (memif-ts ↔ memif-ts) ÷ testpmd echo', want: 0.4 },
  { id: 'tp/echo-memif/zc', label: '64 B echo zero-copy (memif-ts as testpmd’s echo peer) ÷ testpmd echo', want: 0.4 },
  { id: 'memif/s2m/copy/64/1q', label: '64 B one-way copy API, slave → master ÷ testpmd→testpmd', want: 0.15 },
  { id: 'memif/m2s/copy/64/1q', label: '64 B one-way copy API, master → slave ÷ testpmd→testpmd', want: 0.15 },
  { id: 'memif/echo/copy/64/1q', label: '64 B echo copy API ÷ testpmd echo', want: 0.15 },
  {
    id: 'memif/s2m/zc/9000/1q/b9216',
    label: '9,000 B one-way zero-copy, slave → master, 9,216-byte buffers ÷ Buffer.copy Gbit/s',
    want: 0.7,
  },
  {
    id: 'memif/m2s/zc/9000/1q/b9216',
    label: '9,000 B one-way zero-copy, master → slave, 9,216-byte buffers ÷ Buffer.copy Gbit/s',
    want: 0.7,
  },
  {
    id: 'memif/s2m/zc/9000/1q',
    label: '9,000 B one-way zero-copy, slave → master, chained over 2,048-byte buffers ÷ Buffer.copy',
    want: 0.7,
  },
  {
    id: 'memif/m2s/zc/9000/1q',
    label: '9,000 B one-way zero-copy, master → slave, chained over 2,048-byte buffers ÷ Buffer.copy',
    want: 0.7,
  },
];

/** The targets, read from this run's rows (by id). */
export function targets(rows: Row[]): Target[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ok = (id: string) => {
    const r = byId.get(id);
    return r && !r.error ? r : undefined;
  };
  const f = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(2));
  const out: Target[] = [];
  const ratioTarget = (label: string, id: string, want: number) => {
    const r = ok(id);
    const ratio = r?.ratio;
    const value = ratio?.value;
    const unreliable =
      ratio && (ratio.spread ?? 0) > SPREAD_LIMIT
        ? `${ratio.of} measured before and after this row differs by ${ratio.spread?.toFixed(0)} %`
        : undefined;
    out.push({
      label,
      want: `≥ ${want}`,
      value,
      met: value === undefined ? undefined : value >= want,
      ...(unreliable ? { unreliable } : {}),
      detail: ratio
        ? `${f(r?.mpps)} Mpps, ${f(r?.gbps)} Gbit/s vs ${ratio.of}`
        : byId.get(id)?.error
          ? 'row failed'
          : r
            ? 'its reference was not measured'
            : '',
    });
  };
  for (const t of RATIO_TARGETS) ratioTarget(t.label, t.id, t.want);
  // Heap: every zero-copy row, both processes: under 1 byte allocated per packet (any allocation
  // per packet is an object of 16 bytes or more; what is left is the loop's per-round yields).
  const zc = rows.filter((r) => !r.error && r.heap && r.api === 'zero-copy');
  let worst = Number.NEGATIVE_INFINITY;
  let worstAt = '';
  let gcs = 0;
  const bad: string[] = [];
  for (const r of zc) {
    for (const [side, h] of Object.entries(r.heap ?? {})) {
      if (!h || h.packets === 0) continue;
      const b = bytesPerPacket(h) ?? 0;
      gcs += h.gcs;
      if (b > worst) {
        worst = b;
        worstAt = `${r.id} ${side}`;
      }
      if (b >= 1) bad.push(`${r.id} ${side}: ${b.toFixed(2)} B/pkt`);
    }
  }
  out.push({
    label: 'zero-copy path: heap allocated per packet, net of the loop (worst row, either process)',
    want: '< 1 B/pkt',
    value: zc.length > 0 && Number.isFinite(worst) ? worst : undefined,
    met: zc.length > 0 ? bad.length === 0 : undefined,
    detail:
      bad.length > 0
        ? bad.slice(0, 4).join('; ')
        : worstAt
          ? `worst ${worst.toFixed(2)} B/pkt: ${worstAt}; ${zc.length} zero-copy rows; ${gcs} GCs in all their windows`
          : '',
  });
  return out;
}

/** The median of repeated measurements of one row (by rate, or by p50 round trip). */
export function median(runs: Row[]): Row {
  if (runs.length === 1) return runs[0];
  const key = (r: Row) => r.mpps ?? r.rtt?.p50 ?? 0;
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  const m = sorted[Math.floor(sorted.length / 2)];
  const unit = m.mpps !== undefined ? ' Mpps' : ' µs p50';
  const spread = `median of ${runs.length}: ${key(sorted[0]).toFixed(2)}–${key(sorted[sorted.length - 1]).toFixed(2)}${unit}`;
  return { ...m, notes: m.notes ? `${m.notes}; ${spread}` : spread };
}
