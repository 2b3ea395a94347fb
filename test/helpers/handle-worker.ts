// A worker that attaches the QueueHandles it is given (see hostile/worker-handles.test.ts) and
// reports {event:'attached', attached, errors} (errors as "Class/errorName"). `hold`: it then
// waits for a packet on its rx queue and keeps that zero-copy burst, unreleased; `consume` (an fd
// the main thread opened, e.g. on /dev/null): it also starts zlib deflates and gzips of the
// burst's whole region mapping, and write(2)s of it to that fd, on the thread pool, and reports
// before they end. It stays alive until terminated; 'close' closes its
// queues and reports {event:'closed'}.
import { write } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { deflate, gzip } from 'node:zlib';
import { type QueueHandle, type RxBurst, WorkerQueue } from '../../src/index.js';

const { handles, hold, consume } = workerData as { handles: QueueHandle[]; hold?: boolean; consume?: number };
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
if (held !== undefined && consume !== undefined) {
  const whole = held.bytes(held.region(0));
  for (let i = 0; i < 4; i++) {
    deflate(whole, { level: 9 }, () => {});
    gzip(whole, { level: 9 }, () => {});
    write(consume, whole, () => {});
  }
}
port.postMessage({ event: 'attached', attached: queues.length, errors, held: held?.count ?? 0 });
port.on('message', (m: string) => {
  if (m === 'close') {
    for (const q of queues) q.close();
    port.postMessage({ event: 'closed' });
  }
});
