// Planning: which rows a run measures (the catalogue, in table order), what each row's ratio is
// taken against, and the order they are measured in. Every row is found by its id; a row declares
// the reference it is measured beside (`bracket`) and the one its ratio is read against (`ratio`).
// Nothing here measures (measure-*.ts, vpp.ts) or formats (report.ts, table.ts).
import { testpmdAvailable } from '../peers/testpmd.js';
import { eventfdFloorRow } from './floor.js';
import { type Direction, latencyRow, memcpyRow, memifRow } from './measure-memif.js';
import { memifEchoPeer, memifToTp, tpEcho, tpToMemif, tpToTp } from './measure-testpmd.js';
import { type Again, ONLY, QUICK, SECTION, vppContext } from './settings.js';
import type { Row } from './table.js';
import { memifThroughVpp, tpThroughVpp, vppSkip } from './vpp.js';
import { type Api, BUFFER_SIZE, JUMBO_BUFFER_SIZE } from './workloads.js';

/** A row's ratio: its rate ÷ that of reference `ref` (named `of` in the table), or Gbit/s ÷ Gbit/s. */
export interface RatioOf {
  ref: string;
  of: string;
  bandwidth: boolean;
}

/** One measurement of the run. */
export interface Step {
  id: string;
  label: string;
  run: () => Promise<Row> | Row;
  /** For a failed row: where it goes in the table. */
  section: string;
  /** Place in the table (the execution order differs). */
  order: number;
  /** The reference this row is measured between two measurements of (full run; --quick: after one). */
  bracket?: string;
  /** What its ratio is read against. */
  ratio?: RatioOf;
  /** A reference measured again right after row `follows`: --only keeps it only with that row. */
  follows?: string;
}

/** A reference: measured early, again around the rows it brackets, and a last time at the end. */
interface Reference {
  id: string;
  label: string;
  section: string;
  run: (again?: Again) => Promise<Row> | Row;
}

/** The ids of the references whose drift between measurements is reported (in bracketing order). */
export const REFERENCE_IDS = ['tp/tp-to-tp', 'tp/echo-tp', 'memcpy/Buffer.copy/9000'] as const;

function references(): Reference[] {
  const all: Reference[] = [
    { id: 'tp/tp-to-tp', section: SECTION.tpOneWay, label: 'testpmd → testpmd', run: (a) => tpToTp(a) },
    { id: 'tp/echo-tp', section: SECTION.tpEcho, label: 'testpmd ↔ testpmd echo', run: (a) => tpEcho(a) },
    {
      id: 'memcpy/Buffer.copy/9000',
      section: SECTION.memcpy,
      label: 'memcpy Buffer.copy 9000 B',
      run: (a) => memcpyRow('Buffer.copy', 9000, a),
    },
  ];
  return REFERENCE_IDS.map((id) => all.find((r) => r.id === id) as Reference);
}

const TP_ONE_WAY: RatioOf = { ref: 'tp/tp-to-tp', of: 'testpmd→testpmd', bandwidth: false };
const TP_ECHO: RatioOf = { ref: 'tp/echo-tp', of: 'testpmd echo', bandwidth: false };

/** The rows of this run, in table order. */
function catalogue(tp: boolean): Step[] {
  const rows: Step[] = [];
  const add = (step: Omit<Step, 'order'>) => rows.push({ ...step, order: rows.length });
  for (const size of QUICK ? [9000] : [1500, 9000]) {
    const run = () => memcpyRow('Buffer.copy', size);
    add({ id: `memcpy/Buffer.copy/${size}`, label: `memcpy Buffer.copy ${size} B`, section: SECTION.memcpy, run });
  }
  add({
    id: 'memcpy/Uint8Array.set/9000',
    label: 'memcpy Uint8Array.set 9000 B',
    section: SECTION.memcpy,
    run: () => memcpyRow('Uint8Array.set', 9000),
  });
  const apis: readonly Api[] = QUICK ? ['zc'] : ['copy', 'zc'];
  if (tp) {
    add({ id: 'tp/tp-to-tp', label: 'testpmd → testpmd', section: SECTION.tpOneWay, run: () => tpToTp() });
    for (const api of apis) {
      const s = SECTION.tpOneWay;
      add({
        id: `tp/memif-to-tp/${api}`,
        label: `memif-ts ${api} → testpmd`,
        section: s,
        ratio: TP_ONE_WAY,
        run: () => memifToTp(api),
      });
      add({
        id: `tp/tp-to-memif/${api}`,
        label: `testpmd → memif-ts ${api}`,
        section: s,
        ratio: TP_ONE_WAY,
        run: () => tpToMemif(api),
      });
    }
    add({ id: 'tp/echo-tp', label: 'testpmd ↔ testpmd echo', section: SECTION.tpEcho, run: () => tpEcho() });
    for (const api of apis) {
      add({
        id: `tp/echo-memif/${api}`,
        label: `testpmd ↔ memif-ts ${api} echo`,
        section: SECTION.tpEcho,
        bracket: 'tp/echo-tp',
        ratio: TP_ECHO,
        run: () => memifEchoPeer(api),
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
        run: () => tpThroughVpp(vppContext(), size),
      });
      add({
        id: `vpp/memif/zc/${size}`,
        label: `memif-ts zc → VPP → memif-ts ${size} B`,
        section: s,
        ratio: { ref: `vpp/tp/${size}`, of: 'testpmd → VPP → testpmd', bandwidth: false },
        run: () => memifThroughVpp(vppContext(), size, 'zc'),
      });
    }
  }
  const pair = (dir: Direction, api: Api, size: number, q: number, bufferSize = BUFFER_SIZE) => {
    const b = bufferSize === BUFFER_SIZE ? '' : `/b${bufferSize}`;
    // 64 B against testpmd (one-way or echo); larger frames against a memcpy of the same size, in Gbit/s.
    const ratio: RatioOf =
      size === 64
        ? dir === 'echo'
          ? TP_ECHO
          : TP_ONE_WAY
        : { ref: `memcpy/Buffer.copy/${size}`, of: 'Buffer.copy', bandwidth: true };
    // The rows the targets are read from are measured right next to their reference.
    let bracket: string | undefined;
    if (size === 64 && q === 1 && bufferSize === BUFFER_SIZE) bracket = dir === 'echo' ? 'tp/echo-tp' : 'tp/tp-to-tp';
    if (size === 9000 && q === 1 && api === 'zc' && dir !== 'echo') bracket = 'memcpy/Buffer.copy/9000';
    add({
      id: `memif/${dir}/${api}/${size}/${q}q${b}`,
      label: `memif ${dir} ${api} ${size} B ${q}q${b}`,
      section: SECTION.memif,
      ...(bracket ? { bracket } : {}),
      ratio,
      run: () => memifRow(dir, api, size, q, bufferSize),
    });
  };
  if (QUICK) {
    for (const api of ['copy', 'zc'] as const) {
      pair('s2m', api, 64, 1);
      pair('m2s', api, 64, 1);
    }
    pair('echo', 'zc', 64, 1);
    pair('s2m', 'zc', 9000, 1);
    pair('s2m', 'zc', 9000, 1, JUMBO_BUFFER_SIZE);
  } else {
    for (const size of [64, 1500, 9000]) {
      for (const q of [1, 2]) {
        for (const api of ['copy', 'zc'] as const) {
          for (const dir of ['s2m', 'm2s', 'echo'] as const) pair(dir, api, size, q);
        }
      }
    }
    // Jumbo frames as VPP and DPDK set them up: one 9,216-byte buffer per 9,000-byte frame.
    for (const api of ['copy', 'zc'] as const) {
      for (const dir of ['s2m', 'm2s', 'echo'] as const) pair(dir, api, 9000, 1, JUMBO_BUFFER_SIZE);
    }
  }
  const latency = SECTION.latency;
  add({ id: 'latency/eventfd-floor', label: 'eventfd floor', section: latency, run: () => eventfdFloorRow() });
  add({ id: 'latency/interrupt', label: 'latency interrupt', section: latency, run: () => latencyRow('interrupt') });
  add({ id: 'latency/polling', label: 'latency polling', section: latency, run: () => latencyRow('polling') });
  return rows;
}

/**
 * The steps of the run, in the order to measure them: the memcpy rows; then for each reference,
 * the rows it brackets, each between two measurements of it (the host's speed changes by itself
 * within seconds: a ratio holds only next to its reference); then the rest in table order; then
 * (full run) the references a last time. --quick measures each reference once, to stay near 30 s.
 */
export function plan(): Step[] {
  const tp = testpmdAvailable();
  const rows = catalogue(tp);
  const refs = references().filter((r) => tp || !r.id.startsWith('tp/'));
  const exec: Step[] = [];
  const push = (s: Step) => {
    if (!exec.includes(s)) exec.push(s);
  };
  for (const s of rows) if (s.section === SECTION.memcpy) push(s);
  let n = 0;
  for (const ref of refs) {
    const first = rows.find((x) => x.id === ref.id);
    if (!first) continue;
    const again = (after: string | undefined) => {
      const suffix = `#n${++n}`;
      const label = after ? ` (again, after ${after})` : ' (again, before the rows below it)';
      exec.push({
        id: `${ref.id}${suffix}`,
        label: `${ref.label} again`,
        section: ref.section,
        order: first.order + n / 1000, // in the table: with the reference's first measurement
        ...(after ? { follows: after } : {}),
        run: () => ref.run({ suffix, label }),
      });
    };
    // The first bracketed row needs a measurement just before it too: the reference's first one,
    // unless that was taken earlier in the run.
    if (!exec.includes(first)) exec.push(first);
    else if (!QUICK) again(undefined);
    for (const x of rows) {
      if (x.bracket !== ref.id || exec.includes(x)) continue;
      exec.push(x);
      if (!QUICK) again(x.id);
    }
  }
  for (const s of rows) push(s);
  if (!QUICK) {
    for (const [k, ref] of refs.entries()) {
      const suffix = '#3';
      const run = () => ref.run({ suffix, label: ' (again, at the end)' });
      const order = rows.length + k; // in the table: after every other row
      exec.push({ id: `${ref.id}${suffix}`, label: `${ref.label}${suffix}`, section: ref.section, order, run });
    }
  }
  if (!ONLY) return exec;
  const only = ONLY;
  const kept = new Set(exec.filter((x) => !x.follows && only.test(x.id)).map((x) => x.id));
  return exec.filter((x) => kept.has(x.id) || (x.follows !== undefined && kept.has(x.follows)));
}
