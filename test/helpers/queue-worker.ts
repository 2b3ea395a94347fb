// A worker thread that drives two handed-off queues of a slave: it echoes what arrives on the rx
// queue back on the tx queue (zero-copy rx, write into tx buffers) until told to stop, then
// reports, keeps bursting to see the link go down, and closes its queues.
import { parentPort, workerData } from 'node:worker_threads';
import { type QueueHandle, WorkerQueue } from '../../src/index.js';

const { rx: rxHandle, tx: txHandle } = workerData as { rx: QueueHandle; tx: QueueHandle };
const rx = WorkerQueue.attach(rxHandle);
const tx = WorkerQueue.attach(txHandle);
let echoed = 0;
let stop = false;
let downError = '';
parentPort?.on('message', (m: string) => {
  if (m === 'stop') stop = true;
});

while (!stop) {
  try {
    const burst = rx.rxBurstZeroCopy(64);
    if (burst.count > 0) {
      let sent = 0;
      while (sent < burst.count) {
        const out = tx.txAlloc(burst.count - sent);
        for (let i = 0; i < out.count; i++) out.write(i, burst.view(sent + i));
        sent += out.commit(out.count);
      }
      echoed += burst.count;
    }
    burst.release();
  } catch (err) {
    downError = `${(err as { errorName?: string }).errorName}: ${(err as Error).message}`;
    break;
  }
  await new Promise((r) => setImmediate(r));
}
parentPort?.postMessage({ echoed, downError, rx: rx.stats, tx: tx.stats, connected: rx.connected });
rx.close();
tx.close();
parentPort?.postMessage('closed');
