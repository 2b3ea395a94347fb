// npm run bench: memif-ts measured in one run and printed as one table — memif-ts ↔ memif-ts
// (one-way, echo; copy and zero-copy API; 64 / 1,500 / 9,000 B; 1–2 queues), memif-ts ↔ testpmd beside
// testpmd ↔ testpmd, memif-ts → VPP → memif-ts beside testpmd → VPP → testpmd, round-trip latency,
// heap and GCs, a memcpy reference, and the targets.
// node out/bench/run.js [--quick] [--json FILE] [--repeat N (median of N)] [--only REGEX] [--verbose]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Memif } from 'memif-ts';
import { Peer, type PeerOptions, type PeerReport } from './peer.js';
import {
  cleanupAll,
  cpuTicks,
  installExitHandlers,
  machineInfo,
  onCleanup,
  type Placement,
  pinSelf,
  sleep,
  stealPercent,
  withTimeout,
} from './procs.js';
import { bytesPerPacket, formatReport, type Report, type Row, type Target } from './table.js';
import { sweepStale, Testpmd, testpmdAvailable } from './testpmd.js';
import { memifThroughVpp, tpThroughVpp, type VppBenchContext, vppSkip } from './vpp.js';
import {
  type Api,
  BUFFER_SIZE,
  Control,
  calibrate,
  frame,
  JUMBO_BUFFER_SIZE,
  type RxMode,
  run,
  type WorkResult,
  type WorkSpec,
} from './workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
  },
});
const QUICK = args.quick === true;
/** Each row is measured this many times; the table keeps the median. */
const REPEAT = Math.max(1, Math.floor(Number(args.repeat)) || 1);
const WARM_MS = QUICK ? 300 : 500;
const MEASURE_MS = QUICK ? 1000 : 2000;
const RTTS = QUICK ? 2_000 : 20_000;
const RTT_WARMUP = QUICK ? 200 : 1_000;
/** Echo: packets in flight per queue (as testpmd's `start tx_first 16`: 16 bursts of 32). */
const WINDOW = 512;
/** The whole run is cut at this bound (children and testpmd killed, the rows so far printed). */
const BOUND_MS = (QUICK ? 90_000 : 330_000) * REPEAT;
/** One row may take this long. */
const ROW_MS = 30_000;
/** Cores: the parent (master; orchestrator) and testpmd's forwarding lcore on 0, memif-ts children on 1. */
const CORE_PARENT = 0;
const CORE_CHILD = 1;

let placement: Placement = { pinned: false, reason: 'not tried' };
let tmp = '';
let sockets = 0;
const socketPath = (name: string) => join(tmp, `${name}${sockets++}.sock`);

function progress(msg: string): void {
  if (args.verbose) console.error(msg);
  else if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg.slice(0, (process.stderr.columns ?? 80) - 1)}`);
}

const peerOptions = (): PeerOptions => ({
  pin: placement.pinned,
  core: CORE_CHILD,
  verbose: args.verbose === true,
  maxMs: ROW_MS,
});

const work = (w: Partial<WorkSpec> & Pick<WorkSpec, 'kind'>): WorkSpec => ({
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

const mppsOf = (r: WorkResult) => (r.ms > 0 ? r.packets / r.ms / 1000 : 0);
const gbps = (mpps: number, size: number) => (mpps * 1e6 * size * 8) / 1e9;

// ---- sections of the table (they name the cores only when processes are pinned) ----

const pinNote = (text: string) => (placement.pinned ? ` (${text})` : ' (memif-ts processes not pinned)');
const SECTION = {
  get memcpy() {
    return `reference: plain copies of one frame in a loop${pinNote('parent, core 0')}`;
  },
  get memif() {
    return `memif-ts ↔ memif-ts${pinNote('master: parent on core 0, slave: child on core 1')}`;
  },
  get latency() {
    return 'round trip, one packet in flight, memif-ts ↔ memif-ts (copy API, 64 B, 1 queue)';
  },
  get tpOneWay() {
    return `one-way with testpmd, 64 B, 1 queue${pinNote('testpmd forwarding on core 0, memif-ts on core 1')}`;
  },
  get tpEcho() {
    return 'echo with a testpmd client in io mode, 512 in flight (start tx_first 16), 64 B, 1 queue';
  },
  get vpp() {
    return `through FD.io VPP: sender → VPP L2 xconnect → receiver, 1 queue (VPP main thread on core 0, polling; sender and receiver on core 1${placement.pinned ? '' : ', memif-ts processes not pinned'})`;
  },
};

// ---- memif-ts ↔ memif-ts ----

type Direction = 's2m' | 'm2s' | 'echo';
const DIRECTION_LABEL: Record<Direction, string> = {
  s2m: 'slave → master',
  m2s: 'master → slave',
  echo: `echo, ${WINDOW} in flight`,
};

/** Echo window for a frame size: at most WINDOW, and no more than one ring (1,024 buffers) holds. */
function echoWindow(size: number, bufferSize: number): number {
  return Math.min(WINDOW, Math.floor(1024 / Math.ceil(size / bufferSize)));
}

/**
 * Runs `mine` here (the master) and `theirs` in a child slave on its own socket. `after` tells
 * the child what it needs when our side is done (totals, stop).
 */
async function memifPair(
  queues: number,
  rxMode: RxMode,
  mine: WorkSpec,
  theirs: WorkSpec,
  wiring: (peer: Peer, ctl: Control) => void,
  after: (peer: Peer, own: WorkResult) => void,
): Promise<{ own: WorkResult; peer: PeerReport }> {
  const socket = socketPath('pair');
  const master = await Memif.create({
    role: 'master',
    socketPath: socket,
    rxQueues: queues,
    txQueues: queues,
    rxMode,
    bufferSize: mine.bufferSize,
    instanceName: 'memif-ts-bench',
  });
  master.on('error', (e) => progress(`master: ${e.message}`));
  const peer = new Peer({ role: 'slave', socket, queues, rxMode, work: theirs }, peerOptions());
  try {
    await withTimeout(Promise.all([master.waitForConnect(), peer.ready]), 10_000, 'connect');
    const ctl = new Control();
    wiring(peer, ctl);
    peer.send({ t: 'go' });
    const own = await Promise.race([
      run(master, mine, ctl, rxMode),
      peer.result.then(() => new Promise<never>(() => {})), // a failing child rejects this race
    ]);
    after(peer, own);
    const report = await withTimeout(peer.result, 15_000, 'slave result');
    return { own, peer: report };
  } finally {
    await peer.close();
    await master.close();
  }
}

async function memifRow(
  dir: Direction,
  api: Api,
  size: number,
  queues: number,
  bufferSize = BUFFER_SIZE,
): Promise<Row> {
  const jumbo = bufferSize !== BUFFER_SIZE;
  const base: Row = {
    id: `memif/${dir}/${api}/${size}/${queues}q${jumbo ? `/b${bufferSize}` : ''}`,
    section: SECTION.memif,
    scenario: `${DIRECTION_LABEL[dir]}${jumbo ? `, ${bufferSize.toLocaleString('en-US')}-byte buffers` : ''}`,
    api: api === 'zc' ? 'zero-copy' : 'copy',
    size,
    queues,
  };
  let rate: WorkResult;
  let lost: number;
  let masterHeap: WorkResult['heap'];
  let slaveHeap: WorkResult['heap'];
  if (dir === 's2m') {
    const { own, peer } = await memifPair(
      queues,
      'polling',
      work({ kind: 'receive', api, size, queues, bufferSize }),
      work({ kind: 'send', api, size, queues, bufferSize, measureMs: MEASURE_MS }),
      (p, ctl) => {
        void p.result.then((r) => {
          ctl.totals = r.result.perQueue;
        });
      },
      () => {},
    );
    rate = own;
    lost = own.lost + own.errors;
    masterHeap = own.heap;
    slaveHeap = peer.result.heap;
  } else if (dir === 'm2s') {
    const { own, peer } = await memifPair(
      queues,
      'polling',
      work({ kind: 'send', api, size, queues, bufferSize, measureMs: MEASURE_MS }),
      work({ kind: 'receive', api, size, queues, bufferSize }),
      () => {},
      (p, r) => p.send({ t: 'totals', totals: r.perQueue }),
    );
    rate = peer.result;
    lost = peer.result.lost + peer.result.errors;
    masterHeap = own.heap;
    slaveHeap = peer.result.heap;
  } else {
    const window = echoWindow(size, bufferSize);
    const { own, peer } = await memifPair(
      queues,
      'polling',
      work({ kind: 'initiate', api, size, queues, bufferSize, window, measureMs: MEASURE_MS }),
      work({ kind: 'reflect', api, size, queues, bufferSize }),
      () => {},
      (p) => p.send({ t: 'stop' }),
    );
    rate = own;
    lost = own.lost + own.errors;
    masterHeap = own.heap;
    slaveHeap = peer.result.heap;
    if (window !== WINDOW) base.scenario = base.scenario.replace(`${WINDOW} in flight`, `${window} in flight`);
  }
  const mpps = mppsOf(rate);
  return {
    ...base,
    mpps,
    gbps: gbps(mpps, size),
    lost,
    heap: { master: masterHeap, slave: slaveHeap },
    ...(queues > 1 ? { notes: 'rate summed over the queues' } : {}),
  };
}

async function latencyRow(mode: RxMode): Promise<Row> {
  const { own } = await memifPair(
    1,
    mode,
    work({ kind: 'ping', size: 64 }),
    work({ kind: 'pong', size: 64 }),
    () => {},
    (p) => p.send({ t: 'stop' }),
  );
  const rtts = [...(own.rtts ?? [])].sort((a, b) => a - b);
  const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? Number.NaN;
  return {
    id: `latency/${mode}`,
    section: SECTION.latency,
    scenario: mode === 'polling' ? 'rx mode polling (both spin)' : 'rx mode interrupt (eventfd)',
    api: 'copy',
    size: 64,
    queues: 1,
    rtt: { p50: q(0.5), p99: q(0.99), max: rtts[rtts.length - 1] ?? Number.NaN, n: rtts.length },
    notes: `${rtts.length.toLocaleString('en-US')} round trips after ${RTT_WARMUP.toLocaleString('en-US')} unmeasured`,
  };
}

// ---- memcpy reference ----

/** How a reference measured again is named in the table, by its id suffix. */
const AGAIN: Record<string, string> = { '#3': ' (again, at the end)' };
const againLabel = (suffix: string) => AGAIN[suffix] ?? '';

function memcpyRow(kind: 'Buffer.copy' | 'Uint8Array.set', size: number, again = ''): Row {
  const src = frame(size);
  const dst = Buffer.alloc(2 * 1024 * 1024); // the size of one ring's buffers
  const stride = Math.ceil(size / 1024) * 1024;
  const slots = Math.floor(dst.length / stride);
  const loop = (ms: number) => {
    let copies = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let i = 0; i < 1000; i++, copies++) {
        const at = (copies % slots) * stride;
        if (kind === 'Buffer.copy') src.copy(dst, at);
        else dst.set(src, at);
      }
      t = performance.now();
    }
    return { copies, ms: t - t0 };
  };
  loop(300);
  const r = loop(QUICK ? 300 : 1000);
  const mpps = r.copies / r.ms / 1000;
  return {
    id: `memcpy/${kind}/${size}${again}`,
    section: SECTION.memcpy,
    scenario: `${kind}${againLabel(again)}`,
    size,
    mpps,
    gbps: gbps(mpps, size),
    notes: 'into a 2 MiB buffer at rotating offsets; Mpps: millions of copies per second',
  };
}

// ---- with testpmd ----

const TP_MAX_SEC = 40;

/**
 * Starts a testpmd on `socket` with its forwarding lcore on `core` (and its main lcore on the
 * other), bounded to TP_MAX_SEC.
 */
function startTestpmd(
  role: 'server' | 'client',
  socket: string,
  forwardMode: 'rxonly' | 'txonly' | 'io',
  core: 0 | 1,
): Promise<Testpmd> {
  return Testpmd.start({
    role,
    socket,
    forwardMode,
    ...(forwardMode === 'io' ? { loop: true } : {}),
    forwardCore: core,
    mainCore: core === 0 ? 1 : 0,
    maxRunSec: TP_MAX_SEC,
  });
}

/** After the warm-up, the RX-packets rate of `t` (show port stats) over the measured window, in Mpps. */
async function windowRate(t: Testpmd): Promise<number> {
  await sleep(WARM_MS);
  const a = await t.portStats();
  await sleep(MEASURE_MS);
  const b = await t.portStats();
  return (b.rx - a.rx) / (b.at - a.at) / 1000;
}

/** testpmd client txonly (forwarding core 0) → testpmd server rxonly (forwarding core 1). */
async function tpToTp(again = ''): Promise<Row> {
  const socket = socketPath('tp');
  const server = await startTestpmd('server', socket, 'rxonly', 1);
  let client: Testpmd | undefined;
  try {
    await server.startForwarding();
    client = await startTestpmd('client', socket, 'txonly', 0);
    await client.linkUp();
    await client.startForwarding();
    const mpps = await windowRate(server);
    const sent = (await client.stopForwarding()).txPackets;
    await sleep(50);
    const got = (await server.stopForwarding()).rxPackets;
    return {
      id: `tp/tp-to-tp${again}`,
      section: SECTION.tpOneWay,
      scenario: `testpmd txonly (client) → testpmd rxonly (server)${againLabel(again)}`,
      api: 'DPDK',
      size: 64,
      queues: 1,
      mpps,
      gbps: gbps(mpps, 64),
      lost: sent - got,
      notes: 'rate: the server’s RX-packets (show port stats) over the window; lost: forward statistics',
    };
  } finally {
    await client?.quit();
    await server.quit();
  }
}

/** memif-ts slave (child, core 1) → testpmd server rxonly (forwarding core 0). */
async function memifToTp(api: Api): Promise<Row> {
  const socket = socketPath('tp');
  const server = await startTestpmd('server', socket, 'rxonly', 0);
  let peer: Peer | undefined;
  try {
    await server.startForwarding();
    peer = new Peer(
      { role: 'slave', socket, queues: 1, rxMode: 'polling', work: work({ kind: 'send', api }) },
      peerOptions(),
    );
    await withTimeout(peer.ready, 10_000, 'memif-ts slave connect');
    await server.linkUp();
    peer.send({ t: 'go' });
    const mpps = await windowRate(server);
    peer.send({ t: 'stop' });
    const r = await withTimeout(peer.result, 10_000, 'memif-ts result');
    await sleep(50);
    const fwd = await server.stopForwarding();
    return {
      id: `tp/memif-to-tp/${api}`,
      section: SECTION.tpOneWay,
      scenario: 'memif-ts (slave) → testpmd rxonly (server)',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size: 64,
      queues: 1,
      mpps,
      gbps: gbps(mpps, 64),
      lost: r.counters.tx - fwd.rxPackets,
      heap: { slave: r.result.heap },
      notes: `rate: testpmd’s RX-packets over the window; memif-ts sent ${mppsOf(r.result).toFixed(2)} Mpps in its own; lost: memif-ts tx (details()) − testpmd’s forward RX-packets`,
    };
  } finally {
    await peer?.close();
    await server.quit();
  }
}

/** testpmd client txonly (forwarding core 0) → memif-ts master (child, core 1). */
async function tpToMemif(api: Api): Promise<Row> {
  const socket = socketPath('tp');
  const peer = new Peer(
    {
      role: 'master',
      socket,
      queues: 1,
      rxMode: 'polling',
      work: work({ kind: 'receive', api, check: false }),
    },
    peerOptions(),
  );
  let client: Testpmd | undefined;
  try {
    await withTimeout(peer.listening, 10_000, 'memif-ts master listen');
    client = await startTestpmd('client', socket, 'txonly', 0);
    await withTimeout(peer.ready, 10_000, 'memif-ts master connect');
    peer.send({ t: 'go' });
    await client.startForwarding();
    await sleep(WARM_MS + MEASURE_MS);
    const sent = (await client.stopForwarding()).txPackets;
    peer.send({ t: 'stop' });
    const r = await withTimeout(peer.result, 10_000, 'memif-ts result');
    const mpps = mppsOf(r.result);
    return {
      id: `tp/tp-to-memif/${api}`,
      section: SECTION.tpOneWay,
      scenario: 'testpmd txonly (client) → memif-ts (master)',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size: 64,
      queues: 1,
      mpps,
      gbps: gbps(mpps, 64),
      lost: sent - r.counters.rx,
      heap: { master: r.result.heap },
      notes: 'rate: memif-ts’s count over its window; lost: testpmd’s forward TX-packets − memif-ts rx (details())',
    };
  } finally {
    await client?.quit();
    await peer.close();
  }
}

/** An io-mode testpmd client (forwarding core 0) with 512 packets in flight, against `reflector`. */
async function echoWithTpClient(
  socket: string,
  ready: () => Promise<void>,
): Promise<{ mpps: number; client: Testpmd }> {
  const client = await startTestpmd('client', socket, 'io', 0);
  try {
    await client.linkUp();
    await ready();
    // A first start/stop runs the client's rx path once, which offers its M2S buffers; otherwise the
    // echo of the first burst can find no buffer and be dropped (see peers.md).
    await client.startForwarding();
    await sleep(100);
    await client.stopForwarding();
    await client.startForwarding(16);
    const mpps = await windowRate(client);
    await client.stopForwarding();
    return { mpps, client };
  } catch (err) {
    await client.quit();
    throw err;
  }
}

/** testpmd client io ↔ testpmd server io --port-topology=loop (forwarding core 1). */
async function tpEcho(again = ''): Promise<Row> {
  const socket = socketPath('tp');
  const server = await startTestpmd('server', socket, 'io', 1);
  let client: Testpmd | undefined;
  try {
    await server.startForwarding();
    const r = await echoWithTpClient(socket, async () => {});
    client = r.client;
    await server.stopForwarding();
    return {
      id: `tp/echo-tp${again}`,
      section: SECTION.tpEcho,
      scenario: `echo peer: testpmd server io (forwarding core 1)${againLabel(again)}`,
      api: 'DPDK',
      size: 64,
      queues: 1,
      mpps: r.mpps,
      gbps: gbps(r.mpps, 64),
      notes: 'rate: the client’s RX-packets (show port stats) over the window',
    };
  } finally {
    await client?.quit();
    await server.quit();
  }
}

/** testpmd client io ↔ memif-ts master reflector (child, core 1). */
async function memifEchoPeer(api: Api): Promise<Row> {
  const socket = socketPath('tp');
  const peer = new Peer(
    { role: 'master', socket, queues: 1, rxMode: 'polling', work: work({ kind: 'reflect', api }) },
    peerOptions(),
  );
  let client: Testpmd | undefined;
  try {
    await withTimeout(peer.listening, 10_000, 'memif-ts master listen');
    const r = await echoWithTpClient(socket, async () => {
      await withTimeout(peer.ready, 10_000, 'memif-ts master connect');
      peer.send({ t: 'go' });
    });
    client = r.client;
    peer.send({ t: 'stop' });
    const res = await withTimeout(peer.result, 10_000, 'memif-ts result');
    return {
      id: `tp/echo-memif/${api}`,
      section: SECTION.tpEcho,
      scenario: 'echo peer: memif-ts master (core 1)',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size: 64,
      queues: 1,
      mpps: r.mpps,
      gbps: gbps(r.mpps, 64),
      heap: { master: res.result.heap },
      notes: `rate: the client’s RX-packets over the window; memif-ts echoed ${res.counters.tx.toLocaleString('en-US')}`,
    };
  } finally {
    await client?.quit();
    await peer.close();
  }
}

// ---- through VPP ----

const vppContext = (): VppBenchContext => ({
  warmMs: WARM_MS,
  measureMs: MEASURE_MS,
  section: SECTION.vpp,
  peerOptions,
  work,
  core: CORE_CHILD,
});

// ---- the plan ----

interface Plan {
  id: string;
  label: string;
  run: () => Promise<Row> | Row;
  /** For a failed row: where it goes in the table. */
  section: string;
  /** Place in the table (the execution order differs). */
  order: number;
}

/** The references, by base id, and how to measure each again. */
const REFERENCES: Record<string, { section: () => string; label: string; run: (again: string) => Promise<Row> | Row }> =
  {
    'tp/tp-to-tp': { section: () => SECTION.tpOneWay, label: 'testpmd → testpmd', run: (again) => tpToTp(again) },
    'tp/echo-tp': { section: () => SECTION.tpEcho, label: 'testpmd ↔ testpmd echo', run: (again) => tpEcho(again) },
    'memcpy/Buffer.copy/9000': {
      section: () => SECTION.memcpy,
      label: 'memcpy Buffer.copy 9000 B',
      run: (again) => memcpyRow('Buffer.copy', 9000, again),
    },
  };

/** The rows to measure, in the order to measure them. */
function plan(): Plan[] {
  const p: Plan[] = [];
  const add = (id: string, label: string, section: string, fn: () => Promise<Row> | Row) =>
    p.push({ id, label, run: fn, section, order: p.length });
  for (const size of QUICK ? [9000] : [1500, 9000]) {
    add(`memcpy/Buffer.copy/${size}`, `memcpy Buffer.copy ${size} B`, SECTION.memcpy, () =>
      memcpyRow('Buffer.copy', size),
    );
  }
  add('memcpy/Uint8Array.set/9000', 'memcpy Uint8Array.set 9000 B', SECTION.memcpy, () =>
    memcpyRow('Uint8Array.set', 9000),
  );
  const tp = testpmdAvailable();
  if (tp) {
    add('tp/tp-to-tp', 'testpmd → testpmd', SECTION.tpOneWay, () => tpToTp());
    for (const api of QUICK ? (['zc'] as const) : (['copy', 'zc'] as const)) {
      add(`tp/memif-to-tp/${api}`, `memif-ts ${api} → testpmd`, SECTION.tpOneWay, () => memifToTp(api));
      add(`tp/tp-to-memif/${api}`, `testpmd → memif-ts ${api}`, SECTION.tpOneWay, () => tpToMemif(api));
    }
    add('tp/echo-tp', 'testpmd ↔ testpmd echo', SECTION.tpEcho, () => tpEcho());
    for (const api of QUICK ? (['zc'] as const) : (['copy', 'zc'] as const)) {
      add(`tp/echo-memif/${api}`, `testpmd ↔ memif-ts ${api} echo`, SECTION.tpEcho, () => memifEchoPeer(api));
    }
  }
  // Through VPP: memif-ts right after testpmd on the same set-up, per size (full run only).
  if (!QUICK && tp && vppSkip() === false) {
    for (const size of [64, 1500]) {
      add(`vpp/tp/${size}`, `testpmd → VPP → testpmd ${size} B`, SECTION.vpp, () => tpThroughVpp(vppContext(), size));
      add(`vpp/memif/zc/${size}`, `memif-ts zc → VPP → memif-ts ${size} B`, SECTION.vpp, () =>
        memifThroughVpp(vppContext(), size, 'zc'),
      );
    }
  }
  const pair = (dir: Direction, api: Api, size: number, q: number, bufferSize = BUFFER_SIZE) => {
    const b = bufferSize === BUFFER_SIZE ? '' : `/b${bufferSize}`;
    add(`memif/${dir}/${api}/${size}/${q}q${b}`, `memif ${dir} ${api} ${size} B ${q}q${b}`, SECTION.memif, () =>
      memifRow(dir, api, size, q, bufferSize),
    );
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
  add('latency/interrupt', 'latency interrupt', SECTION.latency, () => latencyRow('interrupt'));
  add('latency/polling', 'latency polling', SECTION.latency, () => latencyRow('polling'));
  // Full run: the references a last time at the end.
  if (!QUICK) {
    for (const [base, ref] of Object.entries(REFERENCES)) {
      if (base.startsWith('tp/') && !tp) continue;
      add(`${base}#3`, `${ref.label}#3`, ref.section(), () => ref.run('#3'));
    }
  }
  // Execution order: each row a target is read from between two measurements of its reference
  // (the host's speed changes by itself within seconds: a ratio holds only next to its reference);
  // then the rest in table order; then the references a last time.
  const only = args.only ? new RegExp(args.only) : undefined;
  const exec: Plan[] = [];
  const take = (...res: RegExp[]) => {
    for (const re of res) for (const x of p) if (re.test(x.id) && !exec.includes(x)) exec.push(x);
  };
  let n = 0;
  /** For each again-row, the row it follows: --only keeps it only with that row. */
  const follows = new Map<string, string>();
  const alternate = (base: string, rows: RegExp) => {
    const ref = REFERENCES[base];
    const first = p.find((x) => x.id === base);
    if (!first) return;
    const again = (after: string | undefined) => {
      const suffix = `#n${++n}`;
      AGAIN[suffix] = after ? ` (again, after ${after})` : ' (again, before the rows below it)';
      const id = `${base}${suffix}`;
      if (after) follows.set(id, after);
      exec.push({
        id,
        label: `${ref.label} again`,
        section: ref.section(),
        order: first.order + n / 1000, // in the table: with the reference's first measurement
        run: () => ref.run(suffix),
      });
    };
    // The first target row needs a measurement just before it too: the reference's first one,
    // unless that was taken earlier in the run.
    // (--quick measures each reference once, to stay near 30 s.)
    if (!exec.includes(first)) exec.push(first);
    else if (!QUICK) again(undefined);
    for (const x of p) {
      if (!rows.test(x.id) || exec.includes(x)) continue;
      exec.push(x);
      if (!QUICK) again(x.id);
    }
  };
  take(/^memcpy\/[^#]*$/);
  alternate('tp/tp-to-tp', /^memif\/(s2m|m2s)\/(copy|zc)\/64\/1q$/);
  alternate('tp/echo-tp', /^(memif\/echo\/(copy|zc)\/64\/1q|tp\/echo-memif\/.*)$/);
  alternate('memcpy/Buffer.copy/9000', /^memif\/(s2m|m2s)\/zc\/9000\/1q(\/b\d+)?$/);
  take(/^[^#]*$/);
  take(/./);
  if (!only) return exec;
  const kept = new Set(exec.filter((x) => !follows.has(x.id) && only.test(x.id)).map((x) => x.id));
  return exec.filter((x) => kept.has(x.id) || (follows.has(x.id) && kept.has(follows.get(x.id) ?? '')));
}

// ---- ratios and targets ----

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

/** The reference of each row that has one: [base id, name, compare Gbit/s instead of Mpps]. */
function referenceOf(r: Row): [string, string, boolean] | undefined {
  if (r.error || r.mpps === undefined || r.id.includes('#')) return undefined;
  if (r.id.startsWith('tp/memif-to-tp') || r.id.startsWith('tp/tp-to-memif')) {
    return ['tp/tp-to-tp', 'testpmd→testpmd', false];
  }
  if (r.id.startsWith('vpp/memif/')) return [`vpp/tp/${r.size}`, 'testpmd → VPP → testpmd', false];
  if (r.id.startsWith('tp/echo-memif') || (r.id.startsWith('memif/echo') && r.size === 64)) {
    return ['tp/echo-tp', 'testpmd echo', false];
  }
  if (r.id.startsWith('memif/') && r.size === 64) return ['tp/tp-to-tp', 'testpmd→testpmd', false];
  if (r.id.startsWith('memif/')) return [`memcpy/Buffer.copy/${r.size}`, 'Buffer.copy', true];
  return undefined;
}

/** Sets each row's ratio against its reference as measured just before and just after it. */
function addRatios(rows: Row[]): void {
  for (const r of rows) {
    const ref = referenceOf(r);
    if (!ref) continue;
    const [base, of, bandwidth] = ref;
    const use = referenceFor(rows, base, r);
    if (use.length === 0) continue;
    const mean = (f: (x: Row) => number) => use.reduce((x, u) => x + f(u), 0) / use.length;
    const rates = use.map((u) => u.mpps ?? 0);
    const spread = use.length > 1 ? (Math.max(...rates) / Math.min(...rates) - 1) * 100 : 0;
    const value = bandwidth ? (r.gbps ?? 0) / mean((u) => u.gbps ?? 0) : (r.mpps ?? 0) / mean((u) => u.mpps ?? 0);
    r.ratio = { value, of, ref: base, spread };
  }
  // Each later measurement of a reference against the one before it: how much the host moved it.
  for (const base of Object.keys(REFERENCES)) {
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
function driftWarnings(rows: Row[]): string[] {
  const out: string[] = [];
  for (const base of Object.keys(REFERENCES)) {
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

/** The ids of the rows the targets are read from. */
const TARGET_ROWS = [
  'memif/s2m/zc/64/1q',
  'memif/m2s/zc/64/1q',
  'memif/echo/zc/64/1q',
  'tp/echo-memif/zc',
  'memif/s2m/copy/64/1q',
  'memif/m2s/copy/64/1q',
  'memif/echo/copy/64/1q',
  'memif/s2m/zc/9000/1q/b9216',
  'memif/m2s/zc/9000/1q/b9216',
  'memif/s2m/zc/9000/1q',
  'memif/m2s/zc/9000/1q',
];

function targets(rows: Row[]): Target[] {
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
  ratioTarget('64 B one-way zero-copy, slave → master ÷ testpmd→testpmd', TARGET_ROWS[0], 0.5);
  ratioTarget('64 B one-way zero-copy, master → slave ÷ testpmd→testpmd', TARGET_ROWS[1], 0.5);
  ratioTarget('64 B echo zero-copy (memif-ts ↔ memif-ts) ÷ testpmd echo', TARGET_ROWS[2], 0.4);
  ratioTarget('64 B echo zero-copy (memif-ts as testpmd’s echo peer) ÷ testpmd echo', TARGET_ROWS[3], 0.4);
  ratioTarget('64 B one-way copy API, slave → master ÷ testpmd→testpmd', TARGET_ROWS[4], 0.15);
  ratioTarget('64 B one-way copy API, master → slave ÷ testpmd→testpmd', TARGET_ROWS[5], 0.15);
  ratioTarget('64 B echo copy API ÷ testpmd echo', TARGET_ROWS[6], 0.15);
  ratioTarget(
    '9,000 B one-way zero-copy, slave → master, 9,216-byte buffers ÷ Buffer.copy Gbit/s',
    TARGET_ROWS[7],
    0.7,
  );
  ratioTarget(
    '9,000 B one-way zero-copy, master → slave, 9,216-byte buffers ÷ Buffer.copy Gbit/s',
    TARGET_ROWS[8],
    0.7,
  );
  ratioTarget(
    '9,000 B one-way zero-copy, slave → master, chained over 2,048-byte buffers ÷ Buffer.copy',
    TARGET_ROWS[9],
    0.7,
  );
  ratioTarget(
    '9,000 B one-way zero-copy, master → slave, chained over 2,048-byte buffers ÷ Buffer.copy',
    TARGET_ROWS[10],
    0.7,
  );
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

// ---- main ----

/** The median of repeated measurements of one row (by rate, or by p50 round trip). */
function median(runs: Row[]): Row {
  if (runs.length === 1) return runs[0];
  const key = (r: Row) => r.mpps ?? r.rtt?.p50 ?? 0;
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  const m = sorted[Math.floor(sorted.length / 2)];
  const unit = m.mpps !== undefined ? ' Mpps' : ' µs p50';
  const spread = `median of ${runs.length}: ${key(sorted[0]).toFixed(2)}–${key(sorted[sorted.length - 1]).toFixed(2)}${unit}`;
  return { ...m, notes: m.notes ? `${m.notes}; ${spread}` : spread };
}

async function main(): Promise<number> {
  installExitHandlers();
  const t0 = Date.now();
  const meta = machineInfo();
  placement = pinSelf(CORE_PARENT);
  sweepStale();
  tmp = mkdtempSync(join(tmpdir(), 'memif-bench-'));
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  await calibrate();
  const rows: Row[] = [];
  const flags = process.argv.slice(2).join(' ');
  const placementText =
    (placement.pinned
      ? `parent (memif-ts master, orchestrator) on core ${CORE_PARENT}; memif-ts child processes on core ${CORE_CHILD} (taskset); testpmd forwarding lcore on core 0 against memif-ts, on cores 0 (client) and 1 (server) for testpmd ↔ testpmd`
      : `memif-ts processes NOT PINNED (${placement.reason}); testpmd lcores as with pinning`) +
    (testpmdAvailable() ? '' : '; dpdk-testpmd NOT FOUND: testpmd rows left out (apt-get install dpdk-dev)');
  const runStart = cpuTicks();
  const report = (): Report => ({
    meta: {
      ...meta,
      mode: QUICK ? 'quick' : 'full',
      flags,
      placement: placementText,
      windows:
        `${WARM_MS} ms warm-up + ${MEASURE_MS} ms measured per row; ${RTTS.toLocaleString('en-US')} round trips` +
        (REPEAT > 1 ? `; every row measured ${REPEAT} times, median kept` : ''),
      durationSec: (Date.now() - t0) / 1000,
      steal: stealPercent(runStart, cpuTicks()),
      warnings: driftWarnings(rows),
    },
    rows,
    targets: targets(rows),
  });
  const finish = (aborted?: string): number => {
    if (process.stderr.isTTY && !args.verbose) process.stderr.write('\r\x1b[K');
    addRatios(rows);
    const rep = report();
    console.log(formatReport(rep));
    if (aborted) console.log(`\nABORTED: ${aborted}`);
    if (args.json) writeFileSync(args.json, `${JSON.stringify({ ...rep, aborted }, null, 2)}\n`);
    const failed = rows.filter((r) => r.error).length;
    return aborted || failed > 0 ? 1 : 0;
  };
  const bound = setTimeout(() => {
    cleanupAll();
    process.exit(finish(`the run exceeded its bound of ${BOUND_MS / 1000} s; children and testpmd killed`));
  }, BOUND_MS);
  bound.unref();

  const steps = plan();
  for (const [i, step] of steps.entries()) {
    const n = `${i + 1}/${steps.length}`;
    progress(`[${n}] ${step.label} …`);
    const ticks = cpuTicks();
    let row: Row;
    try {
      const runs: Row[] = [];
      for (let k = 0; k < REPEAT; k++) runs.push(await withTimeout(Promise.resolve(step.run()), ROW_MS, step.label));
      row = median(runs);
      row.steal = stealPercent(ticks, cpuTicks());
      if (row.steal >= 1) row.notes = `${row.notes ? `${row.notes}; ` : ''}CPU steal ${row.steal.toFixed(0)} %`;
      progress(
        `[${n}] ${step.label}: ${row.mpps?.toFixed(2) ?? ''} Mpps ${row.rtt ? `p50 ${row.rtt.p50.toFixed(1)} µs` : ''}`,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      progress(`[${n}] ${step.label}: FAILED ${message}`);
      if (args.verbose && err instanceof Error) console.error(err.message);
      row = { id: step.id, section: step.section, scenario: step.label, error: message };
      cleanupAll(); // whatever the row left running
      tmp = mkdtempSync(join(tmpdir(), 'memif-bench-'));
      onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
    }
    row.order = step.order;
    row.seq = i;
    rows.push(row);
  }
  clearTimeout(bound);
  return finish();
}

main().then(
  (code) => {
    cleanupAll();
    process.exit(code);
  },
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
    cleanupAll();
    process.exit(1);
  },
);
