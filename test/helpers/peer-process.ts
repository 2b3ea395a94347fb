// A memif-ts peer in its own process, for cross-process tests. argv[2] is a JSON PeerSpec; it
// connects, runs the traffic of helpers/traffic.ts, prints one JSON line with the result, closes.
import { Memif, type MemifOptions } from '../../src/index.js';
import { runTraffic, streams } from './traffic.js';

export interface PeerSpec {
  options: MemifOptions;
  count: number;
  seed: number;
  maxSize: number;
  rxMode: 'interrupt' | 'polling';
}

const spec = JSON.parse(process.argv[2]) as PeerSpec;
const iface = await Memif.create(spec.options);
iface.on('error', (e) => process.stderr.write(`peer error: ${e.message}\n`));
await iface.waitForConnect();
const s = streams(spec.seed, spec.maxSize);
const mine = spec.options.role === 'master' ? s.master : s.slave;
const theirs = spec.options.role === 'master' ? s.slave : s.master;
const result = await runTraffic(iface, { count: spec.count, send: mine, expect: theirs, rxMode: spec.rxMode });
process.stdout.write(`${JSON.stringify(result)}\n`);
// Stay until the parent has read everything we sent, then leave.
await new Promise<void>((resolve) => {
  if (!iface.connected) resolve();
  iface.once('disconnect', () => resolve());
  process.stdin.once('data', () => resolve());
  process.stdin.once('end', () => resolve());
});
await iface.close();
