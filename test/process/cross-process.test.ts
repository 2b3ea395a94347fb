// Two memif-ts processes: this one and a child (helpers/peer-process.ts), in both role
// combinations, on 1 and 4 queues. 100,000 packets of 1–9,000 bytes each way, compared byte for
// byte on both sides.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Memif } from '../../src/index.js';
import { ChildPeer } from '../helpers/child-peer.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { runTraffic, streams } from '../helpers/traffic.js';

const COUNT = 100_000;

describe('traffic between two processes', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const ourRole of ['master', 'slave'] as const) {
    for (const queues of [1, 4]) {
      const rxMode = queues === 1 ? 'interrupt' : 'polling';
      test(`we are ${ourRole}, ${queues} queue(s), ${rxMode}: ${COUNT} packets each way`, {
        timeout: 300_000,
      }, async () => {
        const socketPath = tmp.socket(`x-${ourRole}-${queues}.sock`);
        const peerRole = ourRole === 'master' ? 'slave' : 'master';
        const common = { socketPath, rxQueues: queues, txQueues: queues, bufferSize: 2048, rxMode } as const;
        const seed = 1000 + queues + (ourRole === 'master' ? 0 : 50);
        const spec = {
          options: { role: peerRole, ...common, instanceName: 'child' },
          script: 'traffic',
          count: COUNT,
          seed,
          maxSize: 9000,
          rxMode,
        } as const;
        // A master must listen before its slave tries; a slave retries by itself.
        let child: ChildPeer | undefined = ourRole === 'slave' ? new ChildPeer(spec) : undefined;
        const iface = await Memif.create({ role: ourRole, ...common, reconnectIntervalMs: 100 });
        try {
          child ??= new ChildPeer(spec);
          await iface.waitForConnect();
          assert.equal(iface.details().remoteName, 'child');
          const s = streams(seed, 9000);
          const mine = await runTraffic(iface, {
            count: COUNT,
            send: ourRole === 'master' ? s.master : s.slave,
            expect: ourRole === 'master' ? s.slave : s.master,
            rxMode,
          });
          const theirs = await child.waitFor('result');
          assert.deepEqual(mine.mismatches, []);
          assert.deepEqual(theirs.mismatches, []);
          assert.equal(mine.received, COUNT);
          assert.equal(theirs.received, COUNT);
          assert.equal(mine.sent, COUNT);
          assert.equal(theirs.sent, COUNT);
        } finally {
          const code = child?.stop() ?? Promise.resolve(0);
          await iface.close();
          assert.equal(await code, 0);
        }
      });
    }
  }
});
