// A worker that attaches the QueueHandles it is given (see hostile/worker-handles.test.ts) and
// reports {event:'attached', attached, errors} (errors as "Class/errorName"). `hold`: it then
// waits for a packet on its rx queue and keeps that zero-copy burst, unreleased. It stays alive
// until terminated; 'close' closes its queues and reports {event:'closed'}.
import { parentPort, workerData } from 'node:worker_threads';
import { type QueueHandle, type RxBurst, WorkerQueue } from '../../src/index.js';

const { handles, hold } = workerData as { handles: QueueHandle[]; hold?: boolean };
const port = parentPort as NonNullable<typeof parentPort>;
const queues: WorkerQueue[] = [];
const errors: string[] = [];
for (const h of handles) {
  try {
    queues.push(WorkerQueue.attach(h));
  } catch (err) {
    errors.push(`${(err as Error).constructor.name}/${(err as { errorName?: string }).errorName}`);
  }
}
let held: RxBurst | undefined;
const rx = queues.find((q) => q.kind === 'rx');
if (hold && rx !== undefined) {
  for (;;) {
    const b = rx.rxBurstZeroCopy(16);
    if (b.count > 0) {
      held = b;
      break;
    }
    b.release();
    await new Promise((r) => setImmediate(r));
  }
}
port.postMessage({ event: 'attached', attached: queues.length, errors, held: held?.count ?? 0 });
port.on('message', (m: string) => {
  if (m === 'close') {
    for (const q of queues) q.close();
    port.postMessage({ event: 'closed' });
  }
});
