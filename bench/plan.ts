// Planning: which rows a run measures (the catalogue, in table order), what each row's ratio is
// taken against, and the order they are measured in. Every row is found by its id; a row declares
// the rows it is measured between two measurements of (`bracket`: a reference, or the 1-queue row
// of a 2-queue row) and the one its ratio is read against (`ratio`).
// Nothing here measures (measure-*.ts, floor.ts, vpp.ts) or formats (report.ts, table.ts).
import { testpmdAvailable } from '../peers/testpmd.js';
import { eventfdFloorRow } from './floor.js';
import { type Direction, latencyRow, memcpyRow, memifRow } from './measure-memif.js';
import { memifEchoPeer, memifToTp, tpEcho, tpToMemif, tpToTp } from './measure-testpmd.js';
import { type Again, ONLY, QUICK, SECTION, vppContext } from './settings.js';
import type { Row } from './table.js';
import { memifThroughVpp, tpThroughVpp, vppSkip } from './vpp.js';
import { type Api, BUFFER_SIZE, JUMBO_BUFFER_SIZE } from './workloads.js';

/** A row's ratio: its rate ÷ that of row `ref` (named `of` in the table), or Gbit/s ÷ Gbit/s. */
export interface RatioOf {
  ref: string;
  of: string;
  bandwidth: boolean;
}

/** One measurement of the run. */
export interface Step {
  id: string;
  label: string;
  /** Measures the row; `again` (a later measurement of the same row) changes its id and scenario. */
  run: (again?: Again) => Promise<Row> | Row;
  /** For a failed row: where it goes in the table. */
  section: string;
  /** Place in the table (the execution order differs). */
  order: number;
  /** The rows this one is measured between two measurements of (full run; --quick: after one). */
  bracket?: string[];
  /** What its ratio is read against. */
  ratio?: RatioOf;
}

/** The ids of the references whose drift between measurements is reported, and that are measured a last time at the end. */
export const REFERENCE_IDS = ['tp/tp-to-tp', 'tp/echo-tp', 'memcpy/Buffer.copy/9000'] as const;

const TP_ONE_WAY: RatioOf = { ref: 'tp/tp-to-tp', of: 'testpmd→testpmd', bandwidth: false };
const TP_ECHO: RatioOf = { ref: 'tp/echo-tp', of: 'testpmd echo', bandwidth: false };

/** The id of a memif-ts ↔ memif-ts row. */
export function memifId(dir: Direction, api: Api, size: number, q: number, bufferSize = BUFFER_SIZE, workers = false) {
  return `memif/${dir}/${api}/${size}/${q}q${bufferSize === BUFFER_SIZE ? '' : `/b${bufferSize}`}${workers ? '/workers' : ''}`;
}

/** A row measured again: same figures, the id and scenario of a later measurement. */
const relabel = (r: Row, again?: Again): Row =>
  again ? { ...r, id: `${r.id}${again.suffix}`, scenario: `${r.scenario}${again.label}` } : r;

/** The rows of this run, in table order. */
function catalogue(tp: boolean): Step[] {
  const rows: Step[] = [];
  const add = (step: Omit<Step, 'order'>) => rows.push({ ...step, order: rows.length });
  for (const size of QUICK ? [9000] : [1500, 9000]) {
    const run = (a?: Again) => memcpyRow('Buffer.copy', size, a);
    add({ id: `memcpy/Buffer.copy/${size}`, label: `memcpy Buffer.copy ${size} B`, section: SECTION.memcpy, run });
  }
  add({
    id: 'memcpy/Uint8Array.set/9000',
    label: 'memcpy Uint8Array.set 9000 B',
    section: SECTION.memcpy,
    run: (a) => relabel(memcpyRow('Uint8Array.set', 9000), a),
  });
  const apis: readonly Api[] = QUICK ? ['zc'] : ['copy', 'zc'];
  if (tp) {
    add({ id: 'tp/tp-to-tp', label: 'testpmd → testpmd', section: SECTION.tpOneWay, run: (a) => tpToTp(a) });
    for (const api of apis) {
      const s = SECTION.tpOneWay;
      const ratio = TP_ONE_WAY;
      const label = `memif-ts ${api} → testpmd`;
      add({
        id: `tp/memif-to-tp/${api}`,
        label,
        section: s,
        ratio,
        run: async (a) => relabel(await memifToTp(api), a),
      });
      const back = `testpmd → memif-ts ${api}`;
      const run = async (a?: Again) => relabel(await tpToMemif(api), a);
      add({ id: `tp/tp-to-memif/${api}`, label: back, section: s, ratio, run });
    }
    add({ id: 'tp/echo-tp', label: 'testpmd ↔ testpmd echo', section: SECTION.tpEcho, run: (a) => tpEcho(a) });
    for (const api of apis) {
      add({
        id: `tp/echo-memif/${api}`,
        label: `testpmd ↔ memif-ts ${api} echo`,
        section: SECTION.tpEcho,
        bracket: ['tp/echo-tp'],
        ratio: TP_ECHO,
        run: async (a) => relabel(await memifEchoPeer(api), a),
      });
    }
  }
  // Through VPP: memif-ts right after testpmd on the same set-up, per size (full run only).
  if (!QUICK && tp && vppSkip() === false) {
    for (const size of [64, 1500]) {
      const s = SECTION.vpp;
      add({
        id: `vpp/tp/${size}`,
        label: `testpmd → VPP → testpmd ${size} B`,
        section: s,
        run: async (a) => relabel(await tpThroughVpp(vppContext(), size), a),
      });
      add({
        id: `vpp/memif/zc/${size}`,
        label: `memif-ts zc → VPP → memif-ts ${size} B`,
        section: s,
        ratio: { ref: `vpp/tp/${size}`, of: 'testpmd → VPP → testpmd', bandwidth: false },
        run: async (a) => relabel(await memifThroughVpp(vppContext(), size, 'zc'), a),
      });
    }
  }
  const pair = (dir: Direction, api: Api, size: number, q: number, bufferSize = BUFFER_SIZE, workers = false) => {
    const id = memifId(dir, api, size, q, bufferSize, workers);
    const one = memifId(dir, api, size, 1, bufferSize);
    // 2 queues (in one thread or on workers): against the same row with 1 queue, measured on both
    // sides of it. 1 queue, 64 B: against testpmd; larger frames: against a memcpy of the same size, in Gbit/s.
    let ratio: RatioOf;
    const bracket: string[] = [];
    if (q > 1) {
      // On workers: against the 1-queue measurement just before it only (not a target).
      ratio = { ref: one, of: '1 queue', bandwidth: false };
      if (!workers) bracket.push(one);
    } else if (size === 64) {
      ratio = dir === 'echo' ? TP_ECHO : TP_ONE_WAY;
      if (bufferSize === BUFFER_SIZE) bracket.push(ratio.ref);
    } else {
      ratio = { ref: `memcpy/Buffer.copy/${size}`, of: 'Buffer.copy', bandwidth: true };
      // The 9,000-byte targets are read against Buffer.copy, the 1,500-byte copy-API ones against zero-copy.
      if (size === 9000 && dir !== 'echo') bracket.push(ratio.ref);
      if (size === 1500 && dir !== 'echo' && api === 'copy') bracket.push(memifId(dir, 'zc', size, 1));
    }
    const w = workers ? ' workers' : '';
    add({
      id,
      label: `memif ${dir} ${api} ${size} B ${q}q${bufferSize === BUFFER_SIZE ? '' : ` b${bufferSize}`}${w}`,
      section: SECTION.memif,
      bracket,
      ratio,
      run: async (a) => relabel(await memifRow(dir, api, size, q, bufferSize, workers), a),
    });
  };
  if (QUICK) {
    for (const dir of ['s2m', 'm2s'] as const) for (const api of ['zc', 'copy'] as const) pair(dir, api, 64, 1);
    pair('m2s', 'zc', 64, 2);
    pair('m2s', 'zc', 64, 2, BUFFER_SIZE, true);
    for (const api of ['zc', 'copy'] as const) pair('echo', api, 64, 1);
    pair('s2m', 'zc', 9000, 1);
    pair('s2m', 'zc', 9000, 1, JUMBO_BUFFER_SIZE);
  } else {
    // Each 2-queue row right after its 1-queue row, zero-copy before copy (the copy API's
    // 1,500-byte targets are read against zero-copy).
    for (const size of [64, 1500, 9000]) {
      for (const dir of ['s2m', 'm2s', 'echo'] as const) {
        for (const api of ['zc', 'copy'] as const) {
          pair(dir, api, size, 1);
          pair(dir, api, size, 2);
          // Each queue driven by its own worker thread (handOff), in both processes.
          if (size === 64 && api === 'zc') pair(dir, api, size, 2, BUFFER_SIZE, true);
        }
      }
    }
    // Jumbo frames as VPP and DPDK set them up: one 9,216-byte buffer per 9,000-byte frame.
    for (const dir of ['s2m', 'm2s', 'echo'] as const) {
      for (const api of ['zc', 'copy'] as const) pair(dir, api, 9000, 1, JUMBO_BUFFER_SIZE);
    }
  }
  const latency = SECTION.latency;
  add({ id: 'latency/eventfd-floor', label: 'eventfd floor', section: latency, run: (a) => eventfdFloorRow(a) });
  add({
    id: 'latency/interrupt',
    label: 'latency interrupt',
    section: latency,
    bracket: ['latency/eventfd-floor'],
    ratio: { ref: 'latency/eventfd-floor', of: 'eventfd floor', bandwidth: false },
    run: async (a) => relabel(await latencyRow('interrupt'), a),
  });
  add({
    id: 'latency/polling',
    label: 'latency polling',
    section: latency,
    run: async (a) => relabel(await latencyRow('polling'), a),
  });
  return rows;
}

/** The rows `--only` asks for, and every row their brackets and ratios need. */
function selected(rows: Step[]): Step[] {
  if (!ONLY) return rows;
  const only = ONLY;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const keep = new Set<string>();
  const need = (id: string) => {
    const r = byId.get(id);
    if (!r || keep.has(id)) return;
    keep.add(id);
    for (const b of r.bracket ?? []) need(b);
    if (r.ratio) need(r.ratio.ref);
  };
  for (const r of rows) if (only.test(r.id)) need(r.id);
  return rows.filter((r) => keep.has(r.id));
}

/**
 * The steps of the run, in the order to measure them: the memcpy rows; then every row in table
 * order, each between two measurements of the rows in its bracket (the host's speed changes by
 * itself within seconds: a ratio holds only next to its reference). A measurement taken right
 * after one row serves as the "before" of the next row that needs it. Then (full run) the
 * references a last time. --quick measures what a row needs only before it, to stay near 45 s.
 */
export function plan(): Step[] {
  const rows = selected(catalogue(testpmdAvailable()));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const exec: Step[] = [];
  const times = new Map<string, number>();
  let fresh = new Set<string>();
  let again = 0;
  const measure = (id: string, after?: string) => {
    const row = byId.get(id);
    if (!row) return;
    if (!times.has(id)) {
      runRow(row);
      return;
    }
    times.set(id, (times.get(id) ?? 0) + 1);
    const suffix = `#n${++again}`;
    const label = after ? ` (again, after ${after})` : ' (again, before the row below it)';
    exec.push({
      ...row,
      id: `${id}${suffix}`,
      label: `${row.label} again`,
      order: row.order + again / 10_000, // in the table: with the row's first measurement
      run: () => row.run({ suffix, label }),
    });
    fresh.add(id);
  };
  const runRow = (x: Step) => {
    if (times.has(x.id)) return;
    for (const b of x.bracket ?? []) if (!fresh.has(b) && !(QUICK && times.has(b))) measure(b);
    times.set(x.id, 1);
    exec.push(x);
    fresh = new Set([x.id]);
    if (!QUICK) for (const b of x.bracket ?? []) measure(b, x.id);
  };
  for (const r of rows) if (r.section === SECTION.memcpy) runRow(r);
  for (const r of rows) runRow(r);
  if (!QUICK) {
    for (const [k, id] of REFERENCE_IDS.entries()) {
      const ref = byId.get(id);
      if (!ref) continue;
      const suffix = '#3';
      const run = () => ref.run({ suffix, label: ' (again, at the end)' });
      const order = rows.length + k; // in the table: after every other row
      exec.push({ ...ref, id: `${id}${suffix}`, label: `${ref.label}${suffix}`, order, run });
    }
  }
  return exec;
}
