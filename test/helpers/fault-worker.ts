// A worker that attaches one handed-off queue and, on 'go', makes one burst while a 10 ms timer
// watches its own event loop: tx sends workerData.packet (txBurst), rx reads (rxBurst) until a
// packet or a fault. It reports {event:'burst', result, fault, maxGapMs, ticks}, then waits until
// the interface's link goes down ({event:'down'}), and closes its queue on 'close' ({event:'closed'}).
import { parentPort, workerData } from 'node:worker_threads';
import { type QueueHandle, WorkerQueue } from '../../src/index.js';
import { LoopWatch } from './liveness.js';

const { handle, packet } = workerData as { handle: QueueHandle; packet?: Uint8Array };
const port = parentPort as NonNullable<typeof parentPort>;
const q = WorkerQueue.attach(handle);
port.postMessage({ event: 'attached' });
port.on('message', async (m: string) => {
  if (m === 'close') {
    q.close();
    port.postMessage({ event: 'closed' });
    return;
  }
  if (m !== 'go') return;
  const watch = new LoopWatch();
  let result: number | Buffer[];
  if (q.kind === 'tx') {
    result = q.txBurst([packet as Uint8Array]);
  } else {
    const got: Buffer[] = [];
    while (got.length === 0 && q.stats.fault === undefined && q.connected) {
      got.push(...q.rxBurst());
      await new Promise((r) => setTimeout(r, 1));
    }
    result = got;
  }
  // Let the timer run at least once after the burst (a frozen loop shows as one huge gap).
  const ticks = watch.ticks;
  while (watch.ticks === ticks) await new Promise((r) => setTimeout(r, 5));
  watch.stop();
  port.postMessage({ event: 'burst', result, fault: q.stats.fault, maxGapMs: watch.maxGap(), ticks: watch.ticks });
  while (q.connected) await new Promise((r) => setTimeout(r, 5));
  port.postMessage({ event: 'down' });
});
