// The child of the eventfd floor (floor.ts): two Node processes waking each other through eventfds
// and uv_poll, with nothing else to do. It inherits the two eventfds as fds 4 (parent → us) and 5
// (us → parent), watches the first with the addon's Poller and answers every wake-up on the second.
// Started by floor.ts only: node out/bench/eventfd-peer.js (stdio: ignore, inherit, pipe, ipc, in, out).
import { native } from '../src/native.js';

const IN = 4;
const OUT = 5;

function main(): void {
  if (!process.send) throw new Error('eventfd-peer is started by the benchmark (bench/floor.ts)');
  const b = native();
  const poller = new b.Poller(IN, (status) => {
    if (status < 0 || b.eventfdDrain(IN) < 0) {
      process.send?.({ t: 'error', message: `eventfd-peer: poll or drain failed (${status})` });
      process.exit(1);
    }
    const err = b.eventfdSignal(OUT);
    if (err !== 0) {
      process.send?.({ t: 'error', message: `eventfd-peer: signal failed (errno ${err})` });
      process.exit(1);
    }
  });
  poller.start(b.READABLE);
  process.on('message', (msg: { t: string }) => {
    if (msg.t === 'quit') {
      poller.close();
      process.disconnect();
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ t: 'ready' });
}

main();
