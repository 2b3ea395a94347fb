// The benchmark's settings: the command line (--quick, --repeat, --only, --json, --verbose), the
// windows and bounds it sets, core placement, the section headings of the table, and the helpers
// every measurement shares (workload specs, child options, socket paths, progress line).
// `where` is set once by run.ts before anything is measured.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PeerOptions } from './peer.js';
import type { Placement } from './procs.js';
import type { VppBenchContext } from './vpp.js';
import { BUFFER_SIZE, type WorkResult, type WorkSpec } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
  },
});
export const QUICK = args.quick === true;
export const VERBOSE = args.verbose === true;
export const JSON_PATH = args.json;
export const ONLY = args.only ? new RegExp(args.only) : undefined;
/** Each row is measured this many times; the table keeps the median. */
export const REPEAT = Math.max(1, Math.floor(Number(args.repeat)) || 1);
export const WARM_MS = QUICK ? 300 : 400;
export const MEASURE_MS = QUICK ? 1000 : 1500;
export const RTTS = QUICK ? 2_000 : 20_000;
export const RTT_WARMUP = QUICK ? 200 : 1_000;
/** Echo: packets in flight per queue (as testpmd's `start tx_first 16`: 16 bursts of 32). */
export const WINDOW = 512;
/** The whole run is cut at this bound (children and testpmd killed, the rows so far printed). */
export const BOUND_MS = (QUICK ? 150_000 : 720_000) * REPEAT;
/** One row may take this long. */
export const ROW_MS = 30_000;
/** Cores: the parent (master; orchestrator) and testpmd's forwarding lcore on 0, memif-ts children on 1. */
export const CORE_PARENT = 0;
export const CORE_CHILD = 1;

/** Where this run measures: set by run.ts (pinning, then a temporary folder for the sockets). */
export const where: { placement: Placement; tmp: string } = {
  placement: { pinned: false, reason: 'not tried' },
  tmp: '',
};

let sockets = 0;
export const socketPath = (name: string) => join(where.tmp, `${name}${sockets++}.sock`);

export function progress(msg: string): void {
  if (VERBOSE) console.error(msg);
  else if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg.slice(0, (process.stderr.columns ?? 80) - 1)}`);
}

export const peerOptions = (): PeerOptions => ({
  pin: where.placement.pinned,
  core: CORE_CHILD,
  verbose: VERBOSE,
  maxMs: ROW_MS,
});

export const work = (w: Partial<WorkSpec> & Pick<WorkSpec, 'kind'>): WorkSpec => ({
  api: 'copy',
  size: 64,
  queues: 1,
  warmMs: WARM_MS,
  measureMs: 0,
  window: WINDOW,
  check: true,
  count: RTTS,
  warmup: RTT_WARMUP,
  bufferSize: BUFFER_SIZE,
  ...w,
});

export const mppsOf = (r: WorkResult) => (r.ms > 0 ? r.packets / r.ms / 1000 : 0);
export const gbps = (mpps: number, size: number) => (mpps * 1e6 * size * 8) / 1e9;

/** A reference measured again: the suffix of its id (`#3`, `#n1` …) and what its scenario says. */
export interface Again {
  suffix: string;
  label: string;
}

// ---- sections of the table (they name the cores only when processes are pinned) ----

const pinNote = (text: string) => (where.placement.pinned ? ` (${text})` : ' (memif-ts processes not pinned)');
export const SECTION = {
  get memcpy() {
    return `reference: plain copies of one frame in a loop${pinNote('parent, core 0')}`;
  },
  get memif() {
    return `memif-ts ↔ memif-ts${pinNote('master: parent on core 0, slave: child on core 1')}`;
  },
  get latency() {
    return 'round trip, one packet in flight (memif-ts ↔ memif-ts: copy API, 64 B, 1 queue), and its floor';
  },
  get tpOneWay() {
    return `one-way with testpmd, 64 B, 1 queue${pinNote('testpmd forwarding on core 0, memif-ts on core 1')}`;
  },
  get tpEcho() {
    return 'echo with a testpmd client in io mode, 512 in flight (start tx_first 16), 64 B, 1 queue';
  },
  get vpp() {
    return `through FD.io VPP: sender → VPP L2 xconnect → receiver, 1 queue (VPP main thread on core 0, polling; sender and receiver on core 1${where.placement.pinned ? '' : ', memif-ts processes not pinned'})`;
  },
};

/** What the VPP rows (vpp.ts) need from here. */
export const vppContext = (): VppBenchContext => ({
  warmMs: WARM_MS,
  measureMs: MEASURE_MS,
  section: SECTION.vpp,
  peerOptions,
  work,
  core: CORE_CHILD,
});
