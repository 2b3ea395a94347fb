// Reporting: what the measured rows say together — each row's ratio against its reference as
// measured just before and after it, how far the references drifted during the run, and the
// median of repeated measurements. targets.ts reads the targets; table.ts formats the result.
import { REFERENCE_IDS, type Step } from './plan.js';
import type { Row } from './table.js';

/** Measurements of reference `base` (its first id and the ones measured again), in run order. */
function measurementsOf(rows: Row[], base: string): Row[] {
  return rows
    .filter((r) => (r.id === base || r.id.startsWith(`${base}#`)) && !r.error && (!!r.mpps || !!r.rtt))
    .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
}

/** The measurements of `base` just before and just after `row` in the run (one if it has only one side). */
export function referenceFor(rows: Row[], base: string, row: Row): Row[] {
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
    const ref = r.error || (r.mpps === undefined && r.rtt === undefined) ? undefined : ratioOf.get(r.id);
    if (!ref) continue;
    const { ref: base, of, bandwidth } = ref;
    const use = referenceFor(rows, base, r);
    if (use.length === 0) continue;
    const mean = (f: (x: Row) => number) => use.reduce((x, u) => x + f(u), 0) / use.length;
    const rates = use.map((u) => u.mpps ?? u.rtt?.p50 ?? 0);
    const spread = use.length > 1 ? (Math.max(...rates) / Math.min(...rates) - 1) * 100 : 0;
    const value =
      r.rtt !== undefined
        ? r.rtt.p50 / mean((u) => u.rtt?.p50 ?? Number.NaN)
        : bandwidth
          ? (r.gbps ?? 0) / mean((u) => u.gbps ?? 0)
          : (r.mpps ?? 0) / mean((u) => u.mpps ?? 0);
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
export const SPREAD_LIMIT = 15;

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
