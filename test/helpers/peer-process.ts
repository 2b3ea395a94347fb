// A memif-ts peer in its own process, for cross-process tests. argv[2] is a JSON PeerSpec. It
// reports on stdout, one JSON line per event: {event:'connect'}, {event:'error', errorName},
// {event:'disconnect', reason}, and for 'traffic' {event:'result', ...TrafficResult}. It closes its
// interface and exits when its stdin ends.
//   script 'traffic': runs helpers/traffic.ts against the peer once connected.
//   script 'echo': sends every packet it receives back on the same queue, until stdin ends.
import { Memif, type MemifOptions } from '../../src/index.js';
import { runTraffic, streams } from './traffic.js';

export interface PeerSpec {
  options: MemifOptions;
  script: 'traffic' | 'echo';
  count?: number;
  seed?: number;
  maxSize?: number;
  rxMode?: 'interrupt' | 'polling';
}

const spec = JSON.parse(process.argv[2]) as PeerSpec;
const report = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const iface = await Memif.create(spec.options);
iface.on('error', (e) => report({ event: 'error', errorName: e.errorName, message: e.message }));
iface.on('disconnect', (d) => report({ event: 'disconnect', reason: d.reason }));
iface.on('connect', () => report({ event: 'connect', remoteName: iface.details().remoteName }));
const done = new Promise<void>((resolve) => {
  process.stdin.once('end', () => resolve());
  process.stdin.resume();
});

if (spec.script === 'echo') {
  iface.on('interrupt', (q) => {
    for (;;) {
      const got = iface.rxBurst(q);
      if (got.length === 0) break;
      let sent = 0;
      // The peer reads its rx ring while we wait, so this drains; give up if the link drops.
      while (sent < got.length && iface.connected) sent += iface.txBurst(q % iface.txQueueCount, got.slice(sent));
    }
  });
} else {
  await iface.waitForConnect();
  const s = streams(spec.seed ?? 1, spec.maxSize ?? 9000);
  const mine = spec.options.role === 'master' ? s.master : s.slave;
  const theirs = spec.options.role === 'master' ? s.slave : s.master;
  const result = await runTraffic(iface, {
    count: spec.count ?? 1000,
    send: mine,
    expect: theirs,
    rxMode: spec.rxMode ?? 'interrupt',
  });
  report({ event: 'result', ...result });
}
await done;
await iface.close();
