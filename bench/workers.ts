// Rows with each queue driven by its own worker thread: this process hands every queue it uses to
// a Worker (Memif.handOff → WorkerQueue.attach in queue-worker.ts), passes the parent's control
// (stop, totals) on to them, and merges their results into one: rates summed over the queues.
// Threads inherit this process's core: on the benchmark's 2 cores, the workers of one process share it.
import { Worker } from 'node:worker_threads';
import type { Memif, QueueHandle } from 'memif-ts';
import type { HeapStat } from './probe.js';
import type { Control, WorkResult, WorkSpec } from './workloads.js';

const workerUrl = new URL('./queue-worker.js', import.meta.url);

/** What a queue worker is given. */
export interface QueueWork {
  spec: WorkSpec;
  rx?: QueueHandle;
  tx?: QueueHandle;
}

/** Messages main thread → queue worker. */
export type ToWorker = { t: 'stop' } | { t: 'totals'; totals: number[] };
/** Messages queue worker → main thread. */
export type FromWorker = { t: 'result'; result: WorkResult } | { t: 'error'; message: string };

/** One worker's run: resolves with its result, rejects on its error or exit without one. */
function runWorker(work: QueueWork, q: number, ctl: Control): Promise<WorkResult> {
  const w = new Worker(workerUrl, { workerData: work });
  let stopSent = false;
  let totalsSent = false;
  // The parent's messages arrive on this thread's event loop: pass them on as they come.
  const forward = setInterval(() => {
    if (ctl.stop && !stopSent) {
      stopSent = true;
      w.postMessage({ t: 'stop' } satisfies ToWorker);
    }
    if (ctl.totals && !totalsSent) {
      totalsSent = true;
      w.postMessage({ t: 'totals', totals: [ctl.totals[q]] } satisfies ToWorker);
    }
  }, 2);
  return new Promise<WorkResult>((resolve, reject) => {
    w.on('message', (m: FromWorker) => {
      if (m.t === 'result') resolve(m.result);
      else reject(new Error(`queue worker ${q}: ${m.message}`));
    });
    w.once('error', (err) => reject(err));
    w.once('exit', (code) => reject(new Error(`queue worker ${q} exited (${code}) without a result`)));
  }).finally(() => clearInterval(forward));
}

/** Runs `s` with one worker per queue; rates are summed (each worker's packets over its own window). */
export async function runOnWorkers(m: Memif, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const works: QueueWork[] = [];
  for (let q = 0; q < s.queues; q++) {
    works.push({
      spec: { ...s, queues: 1, workers: false },
      ...(s.kind !== 'send' ? { rx: m.handOff('rx', q) } : {}),
      ...(s.kind !== 'receive' ? { tx: m.handOff('tx', q) } : {}),
    });
  }
  const results = await Promise.all(works.map((w, q) => runWorker(w, q, ctl)));
  return merge(results);
}

function merge(rs: WorkResult[]): WorkResult {
  const sum = (f: (r: WorkResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const ms = Math.max(...rs.map((r) => r.ms));
  const rate = sum((r) => (r.ms > 0 ? r.packets / r.ms : 0));
  const h = (f: (x: HeapStat) => number) => sum((r) => f(r.heap));
  const rounds = h((x) => x.rounds);
  const heap: HeapStat = {
    heapBefore: h((x) => x.heapBefore),
    heapAfter: h((x) => x.heapAfter),
    allocated: h((x) => x.allocated),
    gcs: h((x) => x.gcs),
    rounds,
    perRound: rounds > 0 ? h((x) => x.rounds * x.perRound) / rounds : 0,
    packets: h((x) => x.packets),
  };
  return {
    packets: Math.round(rate * ms),
    ms,
    perQueue: rs.map((r) => r.perQueue[0]),
    verified: sum((r) => r.verified),
    errors: sum((r) => r.errors),
    lost: sum((r) => r.lost),
    heap,
  };
}
