// memif-ts against DPDK's net_memif (dpdk-testpmd), a peer nobody on this team wrote. Each case
// starts a fresh testpmd that echoes (macswap, or io on a looped port) and checks every frame that
// comes back byte for byte, on every queue, including frames chained over several buffers:
// our slave ↔ testpmd server and our master ↔ testpmd client, filesystem and abstract sockets,
// 1 and 2 queues, rings of 2^8 and 2^12, buffers of 1024 and 2048, and a zero-copy client.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PEER_WAIT_MS, TESTPMD_MISSING, Testpmd, testpmdAvailable } from '../../peers/testpmd.js';
import { Memif } from '../../src/index.js';
import { chainSizes, echoCheck, macswapped } from '../helpers/interop.js';
import { tempDir } from '../helpers/tmp.js';

interface Case {
  our: 'slave' | 'master';
  mode: 'macswap' | 'io';
  abstract?: boolean;
  queues?: number;
  rsize?: number;
  bsize?: number;
  zeroCopy?: boolean;
}

const cases: Case[] = [
  { our: 'slave', mode: 'macswap' },
  { our: 'slave', mode: 'io' },
  { our: 'slave', mode: 'macswap', abstract: true },
  { our: 'slave', mode: 'io', abstract: true },
  { our: 'master', mode: 'macswap' },
  { our: 'master', mode: 'io' },
  { our: 'master', mode: 'macswap', abstract: true },
  { our: 'slave', mode: 'macswap', queues: 2 },
  { our: 'master', mode: 'macswap', queues: 2 },
  { our: 'slave', mode: 'macswap', rsize: 8 },
  { our: 'slave', mode: 'io', rsize: 12 },
  { our: 'master', mode: 'macswap', rsize: 8 },
  { our: 'master', mode: 'io', rsize: 12 },
  { our: 'slave', mode: 'macswap', bsize: 1024 },
  { our: 'master', mode: 'macswap', bsize: 1024 },
  { our: 'slave', mode: 'io', queues: 2, rsize: 8, bsize: 1024 },
  { our: 'master', mode: 'macswap', zeroCopy: true },
  { our: 'master', mode: 'io', zeroCopy: true, queues: 2 },
];

function title(c: Case): string {
  const peer = c.our === 'slave' ? 'testpmd server' : `testpmd client${c.zeroCopy ? ' (zero-copy)' : ''}`;
  return `our ${c.our} ↔ ${peer}, ${c.mode}, ${c.abstract ? 'abstract' : 'filesystem'} socket, ${c.queues ?? 1} queue(s), ring 2^${c.rsize ?? 10}, buffers ${c.bsize ?? 2048}`;
}

describe('interop with DPDK net_memif: echo', { skip: testpmdAvailable() ? false : TESTPMD_MISSING }, () => {
  for (const c of cases) {
    test(title(c), { timeout: 90_000 }, async () => {
      const tmp = tempDir();
      const sock = tmp.socket('dpdk.sock');
      const ourPath = c.abstract ? `@${sock}` : sock;
      const queues = c.queues ?? 1;
      const rsize = c.rsize ?? 10;
      const bsize = c.bsize ?? 2048;
      const pmdOptions = {
        socket: sock,
        abstract: c.abstract,
        forwardMode: c.mode,
        queues,
        rsize,
        bsize,
        zeroCopy: c.zeroCopy,
        extra: c.mode === 'io' ? ['--port-topology=loop'] : [],
      };
      const ourOptions = {
        socketPath: ourPath,
        rxQueues: queues,
        txQueues: queues,
        log2RingSize: rsize,
        bufferSize: bsize,
      };
      let pmd: Testpmd | undefined;
      let iface: Memif | undefined;
      try {
        if (c.our === 'slave') {
          pmd = await Testpmd.start({ role: 'server', ...pmdOptions });
          iface = await Memif.create({ role: 'slave', ...ourOptions, reconnectIntervalMs: 100 });
        } else {
          // The DPDK client connects once, when its port starts: we must listen first.
          // DPDK's zero-copy memory is a memfd that cannot be sealed: trusting it is an explicit choice.
          iface = await Memif.create({ role: 'master', ...ourOptions, allowUnsealedRegions: c.zeroCopy === true });
          pmd = await Testpmd.start({ role: 'client', ...pmdOptions });
        }
        await iface.waitForConnect({ timeoutMs: PEER_WAIT_MS });
        const d = iface.details();
        assert.match(d.remoteName, /^DPDK /);
        assert.equal(d.remoteInterfaceName, 'net_memif0');
        assert.equal(iface.rxQueueCount, queues);
        assert.equal(iface.txQueueCount, queues);
        for (const q of [...d.rxQueues, ...d.txQueues]) assert.equal(q.ringSize, 1 << rsize);
        if (c.zeroCopy) assert.ok(d.regions.length >= 2, 'a zero-copy client exports its memory as extra regions');
        await echoCheck(iface, { sizes: chainSizes(bsize), expect: c.mode === 'macswap' ? macswapped : (f) => f });
        // Counters saw exactly what crossed.
        const after = iface.details();
        const frames = chainSizes(bsize).length * queues;
        assert.equal(
          after.txQueues.reduce((a, q) => a + q.packets, 0),
          frames,
        );
        assert.equal(
          after.rxQueues.reduce((a, q) => a + q.packets, 0),
          frames,
        );
        assert.equal(
          after.rxQueues.reduce((a, q) => a + q.errors, 0),
          0,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- testpmd output ---\n${pmd?.tail() ?? '(not started)'}`, {
          cause: err,
        });
      } finally {
        // testpmd 22.11 as a server may crash when its client leaves while it forwards: stop it first.
        await pmd?.stop();
        await iface?.close();
        tmp.remove();
      }
    });
  }
});
