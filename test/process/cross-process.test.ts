// Two memif-ts processes: this one and a child (test/helpers/peer-process.ts), in both role
// combinations, on 1 and 4 queues. 100,000 packets of 1–9,000 bytes each way, compared byte for
// byte on both sides.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Memif, type MemifOptions } from '../../src/index.js';
import type { PeerSpec } from '../helpers/peer-process.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { runTraffic, streams, type TrafficResult } from '../helpers/traffic.js';

const COUNT = 100_000;
const peerScript = fileURLToPath(new URL('../helpers/peer-process.js', import.meta.url));

interface Child {
  result: Promise<TrafficResult>;
  release(): void;
  exited: Promise<number | null>;
}

function startPeer(spec: PeerSpec): Child {
  const child = spawn(process.execPath, [peerScript, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const result = new Promise<TrafficResult>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as TrafficResult);
    });
    child.on('exit', (code) => reject(new Error(`peer exited (${code}) before reporting; stderr: ${err}`)));
  });
  return {
    result,
    exited,
    release: () => {
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    },
  };
}

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
        const peerOptions: MemifOptions = { role: peerRole, ...common, instanceName: 'child' };
        let child: Child | undefined;
        // A master must listen before its slave tries; a slave retries by itself.
        if (ourRole === 'slave') {
          child = startPeer({ options: peerOptions, count: COUNT, seed, maxSize: 9000, rxMode });
        }
        const iface = await Memif.create({ role: ourRole, ...common, reconnectIntervalMs: 100 });
        try {
          child ??= startPeer({ options: peerOptions, count: COUNT, seed, maxSize: 9000, rxMode });
          await iface.waitForConnect();
          assert.equal(iface.details().remoteName, 'child');
          const s = streams(seed, 9000);
          const mine = await runTraffic(iface, {
            count: COUNT,
            send: ourRole === 'master' ? s.master : s.slave,
            expect: ourRole === 'master' ? s.slave : s.master,
            rxMode,
          });
          const theirs = await child.result;
          assert.deepEqual(mine.mismatches, []);
          assert.deepEqual(theirs.mismatches, []);
          assert.equal(mine.received, COUNT);
          assert.equal(theirs.received, COUNT);
          assert.equal(mine.sent, COUNT);
          assert.equal(theirs.sent, COUNT);
          assert.equal(mine.bytesReceived > COUNT, true);
        } finally {
          child?.release();
          await iface.close();
        }
        assert.equal(await child.exited, 0);
      });
    }
  }
});
