// A queue worker of workers.ts: attaches the rx and/or tx queue handed off to it (WorkerQueue),
// polls, and runs one loop of loops.ts on that single queue, seen as queue 0 of a Port; reports
// its result to the main thread and ends. Started by workers.ts only, as a worker_threads Worker.
import { parentPort, workerData } from 'node:worker_threads';
import { WorkerQueue } from 'memif-ts';
import { runPort } from './loops.js';
import { calibrate } from './probe.js';
import type { FromWorker, QueueWork, ToWorker } from './workers.js';
import { Control, type Port } from './workloads.js';

const say = (m: FromWorker) => parentPort?.postMessage(m);

function noQueue(kind: string): never {
  throw new Error(`this worker was not handed a ${kind} queue`);
}

async function main(): Promise<void> {
  const work = workerData as QueueWork;
  const ctl = new Control();
  parentPort?.on('message', (m: ToWorker) => {
    if (m.t === 'stop') ctl.stop = true;
    else ctl.totals = m.totals;
  });
  await calibrate();
  const rx = work.rx ? WorkerQueue.attach(work.rx) : undefined;
  const tx = work.tx ? WorkerQueue.attach(work.tx) : undefined;
  rx?.setRxMode('polling');
  const port: Port = {
    txAlloc: (_q, count) => (tx ?? noQueue('tx')).txAlloc(count),
    txBurst: (_q, packets, count) => (tx ?? noQueue('tx')).txBurst(packets, count),
    rxBurst: (_q, max) => (rx ?? noQueue('rx')).rxBurst(max),
    rxBurstZeroCopy: (_q, max) => (rx ?? noQueue('rx')).rxBurstZeroCopy(max),
    get connected() {
      return (rx ?? tx)?.connected ?? false;
    },
  };
  try {
    say({ t: 'result', result: await runPort(port, work.spec, ctl) });
  } finally {
    rx?.close();
    tx?.close();
    parentPort?.close();
  }
}

main().catch((err: unknown) => say({ t: 'error', message: err instanceof Error ? err.message : String(err) }));
