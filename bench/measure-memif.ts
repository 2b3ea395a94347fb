// The memif-ts rows: memif-ts ↔ memif-ts (one-way either way and echo, per API, frame size,
// queues and buffer size; the master here in the parent, the slave a child process), round-trip
// latency, and the memcpy reference (plain copies in this process).
import { Memif } from 'memif-ts';
import { rttStats } from './floor.js';
import { frame } from './frames.js';
import { run } from './loops.js';
import { Peer, type PeerReport } from './peer.js';
import { withTimeout } from './procs.js';
import {
  type Again,
  gbps,
  MEASURE_MS,
  mppsOf,
  peerOptions,
  progress,
  QUICK,
  RTT_WARMUP,
  SECTION,
  socketPath,
  WINDOW,
  work,
} from './settings.js';
import type { Row } from './table.js';
import { type Api, BUFFER_SIZE, Control, type RxMode, type WorkResult, type WorkSpec } from './workloads.js';

export type Direction = 's2m' | 'm2s' | 'echo';
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

export async function memifRow(
  dir: Direction,
  api: Api,
  size: number,
  queues: number,
  bufferSize = BUFFER_SIZE,
  workers = false,
): Promise<Row> {
  const jumbo = bufferSize !== BUFFER_SIZE;
  const base: Row = {
    id: `memif/${dir}/${api}/${size}/${queues}q${jumbo ? `/b${bufferSize}` : ''}${workers ? '/workers' : ''}`,
    section: SECTION.memif,
    scenario:
      `${DIRECTION_LABEL[dir]}${jumbo ? `, ${bufferSize.toLocaleString('en-US')}-byte buffers` : ''}` +
      (workers ? ', each queue on its own worker thread (both processes)' : ''),
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
      work({ kind: 'receive', api, size, queues, bufferSize, workers }),
      work({ kind: 'send', api, size, queues, bufferSize, workers, measureMs: MEASURE_MS }),
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
      work({ kind: 'send', api, size, queues, bufferSize, workers, measureMs: MEASURE_MS }),
      work({ kind: 'receive', api, size, queues, bufferSize, workers }),
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
      work({ kind: 'initiate', api, size, queues, bufferSize, workers, window, measureMs: MEASURE_MS }),
      work({ kind: 'reflect', api, size, queues, bufferSize, workers }),
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

export async function latencyRow(mode: RxMode): Promise<Row> {
  const { own } = await memifPair(
    1,
    mode,
    work({ kind: 'ping', size: 64 }),
    work({ kind: 'pong', size: 64 }),
    () => {},
    (p) => p.send({ t: 'stop' }),
  );
  const rtts = own.rtts ?? [];
  return {
    id: `latency/${mode}`,
    section: SECTION.latency,
    scenario: mode === 'polling' ? 'rx mode polling (both spin)' : 'rx mode interrupt (eventfd)',
    api: 'copy',
    size: 64,
    queues: 1,
    rtt: rttStats(rtts),
    notes: `${rtts.length.toLocaleString('en-US')} round trips after ${RTT_WARMUP.toLocaleString('en-US')} unmeasured`,
  };
}

// ---- memcpy reference ----

export function memcpyRow(kind: 'Buffer.copy' | 'Uint8Array.set', size: number, again?: Again): Row {
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
    id: `memcpy/${kind}/${size}${again?.suffix ?? ''}`,
    section: SECTION.memcpy,
    scenario: `${kind}${again?.label ?? ''}`,
    size,
    mpps,
    gbps: gbps(mpps, size),
    notes: 'into a 2 MiB buffer at rotating offsets; Mpps: millions of copies per second',
  };
}
