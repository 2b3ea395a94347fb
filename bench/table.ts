// The benchmark's one table: rows of every section and the targets, formatted as a Markdown table
// (pasteable into BENCHMARKS.md), and the same data as JSON for comparing runs between commits.
// Pure formatting: no measuring here.

import type { HeapStat } from './probe.js';
import type { MachineInfo } from './procs.js';

export interface Row {
  /** Stable key, for comparing JSON files between commits. */
  id: string;
  section: string;
  scenario: string;
  api?: string;
  /** Frame size in bytes. */
  size?: number;
  queues?: number;
  mpps?: number;
  gbps?: number;
  /**
   * The row's rate divided by its reference (`ref`: the reference's row id): the mean of its
   * measurements just before and just after the row in this run; `spread`: how far apart those two are, %.
   */
  ratio?: { value: number; of: string; ref: string; spread?: number };
  lost?: number;
  /** Round-trip times, µs. */
  rtt?: { p50: number; p99: number; max: number; n: number };
  /** Heap and GCs over the measured window, per process. */
  heap?: { master?: HeapStat; slave?: HeapStat };
  notes?: string;
  error?: string;
  /** Place in the table, and in the run (the rows are not measured in table order). */
  order?: number;
  seq?: number;
  /** CPU steal (hypervisor) while the row ran, % of all CPU time. */
  steal?: number;
  /** CPU time other processes used while the row ran, % of all CPU time (procs.ts othersPercent). */
  others?: number;
}

export interface Target {
  label: string;
  /** The ratio (or, for heap, bytes per packet) wanted. */
  want: string;
  value: number | undefined;
  met: boolean | undefined;
  detail: string;
  /** Why the verdict cannot be trusted (its reference drifted during the run). */
  unreliable?: string;
}

export interface Report {
  meta: MachineInfo & {
    mode: 'full' | 'quick';
    flags: string;
    placement: string;
    windows: string;
    durationSec: number;
    /** CPU steal over the whole run, %. */
    steal: number;
    /** CPU time used by processes other than the benchmark's over the run, % of all CPU time. */
    others: number;
    /** 1-minute load average at the start and at the end. */
    load: [number, number];
    warnings: string[];
  };
  rows: Row[];
  targets: Target[];
}

const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(2));

/** Bytes allocated per packet over the window, without what the loop's own rounds allocate. */
export function bytesPerPacket(h: HeapStat | undefined): number | undefined {
  if (h === undefined || h.packets <= 0) return undefined;
  return (h.allocated - h.rounds * h.perRound) / h.packets;
}

/** Bytes allocated per packet over the window, all included. */
export function rawBytesPerPacket(h: HeapStat | undefined): number | undefined {
  if (h === undefined || h.packets <= 0) return undefined;
  return h.allocated / h.packets;
}

function heapCell(h: HeapStat | undefined): string {
  const b = bytesPerPacket(h);
  if (b === undefined) return '';
  return b < 10 ? b.toFixed(2) : b.toFixed(0);
}

function gcCell(h: HeapStat | undefined): string {
  return h === undefined ? '' : String(h.gcs);
}

const sides = (a: string, b: string) => (a === '' && b === '' ? '' : `${a || '–'} / ${b || '–'}`);

const HEADER = [
  'scenario',
  'API',
  'bytes',
  'q',
  'Mpps',
  'Gbit/s',
  'ratio',
  'lost',
  'RTT p50 / p99 / max µs',
  'alloc B/pkt M / S',
  'GCs M / S',
  'notes',
];

function cells(r: Row): string[] {
  return [
    r.scenario,
    r.api ?? '',
    r.size === undefined ? '' : String(r.size),
    r.queues === undefined ? '' : String(r.queues),
    f2(r.mpps),
    f2(r.gbps),
    r.ratio ? `${r.ratio.value.toFixed(2)} × ${r.ratio.of}` : '',
    r.lost === undefined ? '' : String(r.lost),
    r.rtt ? `${r.rtt.p50.toFixed(1)} / ${r.rtt.p99.toFixed(1)} / ${r.rtt.max.toFixed(0)}` : '',
    r.heap ? sides(heapCell(r.heap.master), heapCell(r.heap.slave)) : '',
    r.heap ? sides(gcCell(r.heap.master), gcCell(r.heap.slave)) : '',
    r.error ? `FAILED: ${r.error}` : (r.notes ?? ''),
  ];
}

/** The report as text: a few lines of setup, then one Markdown table (sections, rows, targets). */
export function formatReport(rep: Report): string {
  const m = rep.meta;
  const lines = [
    `memif-ts benchmark (${m.mode}) — ${m.date}, commit ${m.commit}`,
    `CPU ${m.cpu}, ${m.cores} cores, kernel ${m.kernel}; Node ${m.node}; DPDK ${m.dpdk}`,
    `placement: ${m.placement}`,
    `windows: ${m.windows}; flags: ${m.flags || '(none)'}; took ${m.durationSec.toFixed(0)} s; CPU steal ${m.steal.toFixed(1)} %`,
    `load: other processes used ${m.others.toFixed(0)} % of the machine's CPU time during the run; 1-minute load average ${m.load[0].toFixed(1)} at the start, ${m.load[1].toFixed(1)} at the end` +
      (m.others >= 10 ? ' — the machine was shared: rates and ratios are not those of a quiet host' : ''),
    ...m.warnings.map((w) => `WARNING: ${w}`),
    '',
  ];
  const table: string[][] = [HEADER];
  // Rows in table order (not the order they were measured in), grouped by section.
  const rows = [...rep.rows].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const sections = [...new Set(rows.map((r) => r.section))];
  for (const section of sections) {
    table.push([`**${section}**`, ...HEADER.slice(1).map(() => '')]);
    for (const r of rows) if (r.section === section) table.push(cells(r));
  }
  if (rep.targets.length > 0) {
    table.push(['**targets** (same run)', ...HEADER.slice(1).map(() => '')]);
    for (const t of rep.targets) {
      const verdict =
        t.met === undefined
          ? 'not measured'
          : t.unreliable
            ? `UNRELIABLE (reads ${t.met ? 'met' : 'missed'}: ${t.unreliable})`
            : t.met
              ? 'MET'
              : 'MISSED';
      const value = t.value === undefined ? '' : t.value.toFixed(2);
      const row = HEADER.map(() => '');
      row[0] = t.label;
      row[6] = value;
      row[HEADER.length - 1] = `want ${t.want}: ${verdict}${t.detail ? ` (${t.detail})` : ''}`;
      table.push(row);
    }
  }
  const widths = HEADER.map((_, c) => Math.max(...table.map((row) => [...row[c]].length)));
  const numeric = new Set([2, 3, 4, 5, 7]);
  const fmt = (row: string[]) =>
    `| ${row.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ')} |`;
  lines.push(fmt(table[0]));
  lines.push(`|${widths.map((w, c) => (numeric.has(c) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const row of table.slice(1)) lines.push(fmt(row));
  lines.push('');
  lines.push(
    'Mpps: packets received per second over the measured window (echo: packets back at the initiator). ' +
      'Gbit/s: frame bytes only. ratio: against the reference named, measured in this run ' +
      '(the mean of its measurements just before and just after the row). ' +
      'alloc B/pkt: heap bytes allocated over the window (heapUsed growth plus what the GCs in it freed, ' +
      'v8.GCProfiler) ÷ packets handled there, less what the benchmark loop itself allocates per round ' +
      '(one setImmediate per 64 bursts, calibrated in each process, ≈ 350 B); the JSON has the raw figures. ' +
      'GCs: in the window. M / S: master / slave process (only the memif-ts side against testpmd).',
  );
  return lines.join('\n');
}
