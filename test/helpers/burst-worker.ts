// A worker that holds a zero-copy rx burst of a handed-off queue across a disconnect of the main
// thread's interface (see hostile/burst-lifetime.test.ts). Driven by messages:
//   (start)   attaches, waits for packets, holds the burst, starts native consumers on its views,
//             posts {event:'holding', count, segments}
//   'go'      (after the main thread saw the disconnect) starts the consumers again, awaits both
//             rounds, posts {event:'consumed', rounds, views, connected, burstError}
//   'release' releases the burst, posts {event:'released'}
//   'close'   closes the queue (with the burst still held if it was not released), posts
//             {event:'closed', viewError, viewLength}
import { parentPort, workerData } from 'node:worker_threads';
import { type QueueHandle, WorkerQueue } from '../../src/index.js';
import { type Consumed, consumedBytes, startConsumers } from './consumers.js';

const { handle, dir } = workerData as { handle: QueueHandle; dir: string };
const port = parentPort as NonNullable<typeof parentPort>;
const q = WorkerQueue.attach(handle);
const errorName = (f: () => unknown): string => {
  try {
    f();
    return '';
  } catch (err) {
    return `${(err as Error).constructor.name}/${(err as { errorName?: string }).errorName}`;
  }
};

let burst = q.rxBurstZeroCopy(64);
while (burst.count === 0) {
  burst.release();
  await new Promise((r) => setImmediate(r));
  burst = q.rxBurstZeroCopy(64);
}
const views = Array.from({ length: burst.count }, (_, i) => burst.view(i));
const segments = Array.from({ length: burst.count }, (_, i) => burst.segments(i));
const rounds: Consumed[][] = [startConsumers(views, dir, 'worker-before')];
port.postMessage({ event: 'holding', count: burst.count, segments });

port.on('message', async (m: string) => {
  if (m === 'go') {
    rounds.push(startConsumers(views, dir, 'worker-after'));
    const out = [];
    for (const round of rounds) out.push(await Promise.all(round.map((c) => consumedBytes(c))));
    port.postMessage({
      event: 'consumed',
      rounds: out,
      views: views.map((v) => Buffer.from(v)),
      connected: q.connected,
      burstError: errorName(() => q.rxBurstZeroCopy(1)),
    });
  } else if (m === 'release') {
    burst.release();
    port.postMessage({ event: 'released' });
  } else if (m === 'close') {
    q.close();
    port.postMessage({ event: 'closed', viewError: errorName(() => burst.view(0)), viewLength: views[0].length });
  }
});
