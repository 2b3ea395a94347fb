// A memif peer for other processes and namespaces: `node echo-peer.js '{"role":…,"socketPath":…}'`
// (MemifOptions as JSON) sends every frame it receives back on its queue, prints "connected" when
// the link is up, and exits on SIGTERM or when stdin closes.
import { Memif, type MemifOptions } from '../../src/index.js';

const memif = await Memif.create(JSON.parse(process.argv[2] ?? '{}') as MemifOptions);
memif.on('connect', () => process.stdout.write('connected\n'));
memif.on('interrupt', (q) => {
  const pkts = memif.rxBurst(q);
  if (pkts.length > 0) memif.txBurst(q, pkts);
});
process.stdout.write('ready\n');
const stop = () => void memif.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
