// The benchmark's child process: one memif-ts interface (slave against the parent's master, or
// either role against testpmd) running one workload of loops.ts, driven over IPC by the parent:
// → listening, ready; ← go, totals, stop; → result (with details() counters); ← quit.
// Started by peer.ts only: node out/bench/memif-peer.js --spec '<PeerSpec as JSON>'
import { parseArgs } from 'node:util';
import { Memif } from 'memif-ts';
import { run } from './loops.js';
import { calibrate } from './probe.js';
import { Control, type RxMode, type WorkResult, type WorkSpec } from './workloads.js';

/** What the parent asks a child to be and do. */
export interface PeerSpec {
  role: 'master' | 'slave';
  socket: string;
  queues: number;
  rxMode: RxMode;
  work: WorkSpec;
  /** The child exits by itself after this long. */
  maxMs: number;
}

/** Messages child → parent. */
export type FromPeer =
  | { t: 'listening' }
  | { t: 'ready' }
  | { t: 'result'; result: WorkResult; counters: { rx: number; tx: number } }
  | { t: 'error'; message: string };

/** Messages parent → child. */
export type ToPeer = { t: 'go' } | { t: 'totals'; totals: number[] } | { t: 'stop' } | { t: 'quit' };

function say(msg: FromPeer): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { spec: { type: 'string' } } });
  if (!values.spec || !process.send) throw new Error('memif-peer is started by the benchmark (bench/peer.ts)');
  const spec = JSON.parse(values.spec) as PeerSpec;
  setTimeout(() => {
    console.error(`memif-peer: still running after ${spec.maxMs} ms; exiting`);
    process.exit(3);
  }, spec.maxMs).unref();
  // The parent is gone (or done with us): leave at once.
  process.on('disconnect', () => process.exit(0));

  const ctl = new Control();
  let go: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    go = resolve;
  });
  let quit: () => void = () => {};
  const quitting = new Promise<void>((resolve) => {
    quit = resolve;
  });
  process.on('message', (msg: ToPeer) => {
    if (msg.t === 'go') go();
    else if (msg.t === 'totals') ctl.totals = msg.totals;
    else if (msg.t === 'stop') ctl.stop = true;
    else if (msg.t === 'quit') quit();
  });

  await calibrate();
  const m = await Memif.create({
    role: spec.role,
    socketPath: spec.socket,
    rxQueues: spec.queues,
    txQueues: spec.queues,
    rxMode: spec.rxMode,
    bufferSize: spec.work.bufferSize,
    reconnectIntervalMs: 100,
    instanceName: 'memif-ts-bench',
  });
  m.on('error', (e) => console.error(`memif-peer (${spec.role}): ${e.message}`));
  if (spec.role === 'master') say({ t: 'listening' });
  await m.waitForConnect();
  say({ t: 'ready' });
  await started;
  const result = await run(m, spec.work, ctl, spec.rxMode);
  const d = m.details();
  const counters = {
    rx: d.rxQueues.reduce((s, q) => s + q.packets, 0),
    tx: d.txQueues.reduce((s, q) => s + q.packets, 0),
  };
  say({ t: 'result', result, counters });
  await quitting;
  await m.close();
  process.disconnect();
}

main().catch((err: unknown) => {
  say({ t: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  console.error(`memif-peer: ${err instanceof Error ? err.message : err}`);
  // Leave time for the IPC message to go out.
  setTimeout(() => process.exit(1), 100);
});
