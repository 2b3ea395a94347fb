// A hostile SLAVE against our master, in the shared memory once connected (cases not already in
// loopback/bad-descriptor.test.ts): zero-length descriptors, head moved backwards, its tail
// scribbled, bad M2S offers, and region files it could shrink or punch holes in under our mapping
// (SIGBUS).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, ftruncateSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DESC_FLAG_NEXT, MsgType } from '../../src/constants.js';
import { computeLayout } from '../../src/shm/layout.js';
import { encodeAddRegion, encodeConnect } from '../../src/wire/messages.js';
import { havePython, packet, until } from '../helpers/hostile.js';
import { LoopWatch } from '../helpers/liveness.js';
import { type Attack, MasterArena, toldAndDropped } from '../helpers/master-arena.js';
import type { ScriptedSlave } from '../helpers/scripted-slave.js';

const T = { timeout: 15_000 };

/** The victim dropped the link over what the slave wrote: 'disconnect' with MFMSG, peer told. */
async function faulted(a: Attack, s: ScriptedSlave, reason: RegExp): Promise<void> {
  const o = await a.reports.first();
  assert.equal(o.kind, 'disconnect');
  assert.equal(o.error.errorName, 'MEMIF_ERR_MFMSG');
  assert.match(o.reason, reason);
  assert.equal(a.victim.connected, false);
  assert.equal(a.victim.details().lastDisconnectReason, o.reason);
  await toldAndDropped(s, reason);
  assert.equal(a.reports.all.length, 1);
}

/**
 * After the slave's region was accepted: its rings, CONNECT (`tag`), and one packet through the
 * region, compared byte for byte at the victim.
 */
async function connectThroughRegion(a: Attack, s: ScriptedSlave, tag: string): Promise<void> {
  for (const type of ['S2M', 'M2S'] as const) {
    s.send(s.ringMessage(type), s.newEventfd());
    await s.expect(MsgType.ACK);
  }
  s.send(encodeConnect(tag));
  await s.expect(MsgType.CONNECTED);
  await a.victim.waitForConnect();
  const p = packet(`through the region (${tag})`, 1500);
  s.sendS2M([p]);
  await until(() => a.received.length > 0);
  assert.deepEqual(a.received, [p]);
}

/** A connected hostile slave (ring of 16). */
async function connected(a: Attack): Promise<ScriptedSlave> {
  const s = a.slave();
  await s.handshake({ id: a.id, log2RingSize: 4 });
  await a.victim.waitForConnect();
  return s;
}

describe('hostile slave vs our master: shared memory', () => {
  const arena = new MasterArena();
  before(() => arena.start());
  after(() => arena.stop());

  describe('S2M ring', () => {
    test('a zero-length descriptor is dropped and counted, the link stays up', T, () =>
      arena.attack('zero-length descriptor', {}, async (a) => {
        const s = await connected(a);
        const good = packet('after the empty one', 333);
        const at = s.layout?.buffersOffset ?? 0;
        s.region?.bytes.set(good, at + 2048);
        s.publishS2M(0, { offset: at, length: 0 }, 1);
        s.publishS2M(1, { offset: at + 2048, length: good.length }, 2);
        await until(() => a.received.length > 0);
        assert.deepEqual(a.received, [good]);
        const q = a.victim.details().rxQueues[0];
        assert.equal(q.errors, 1);
        assert.equal(q.packets, 1);
        assert.equal(q.tail, 2, 'both slots released');
        assert.equal(a.victim.connected, true);
        assert.deepEqual(a.reports.all, []);
      }),
    );

    test('a zero-length fragment drops its whole chain, and only that', T, () =>
      arena.attack('zero-length fragment', {}, async (a) => {
        const s = await connected(a);
        const at = s.layout?.buffersOffset ?? 0;
        const good = packet('whole packet after a broken chain', 500);
        s.region?.bytes.set(good, at + 3 * 2048);
        s.publishS2M(0, { flags: DESC_FLAG_NEXT, offset: at, length: 100 }, 0);
        s.publishS2M(1, { flags: DESC_FLAG_NEXT, offset: at + 2048, length: 0 }, 0);
        s.publishS2M(2, { offset: at + 2 * 2048, length: 100 }, 0);
        s.publishS2M(3, { offset: at + 3 * 2048, length: good.length }, 4);
        await until(() => a.received.length > 0);
        assert.deepEqual(a.received, [good]);
        const q = a.victim.details().rxQueues[0];
        assert.equal(q.errors, 1);
        assert.equal(q.packets, 1);
        assert.equal(a.victim.connected, true);
      }),
    );

    test('a descriptor outside the memory, read by a worker thread: the worker faults, the link goes down', T, () =>
      arena.attack('descriptor outside the memory (worker)', {}, async (a) => {
        const s = await connected(a);
        const file = fileURLToPath(new URL('../helpers/fault-worker.js', import.meta.url));
        const w = new Worker(file, { workerData: { handle: a.victim.handOff('rx', 0) } });
        const next = (event: string) =>
          new Promise<{ event: string; result?: Buffer[]; fault?: string; maxGapMs?: number }>((resolve) => {
            const on = (m: { event: string }) => {
              if (m.event !== event) return;
              w.off('message', on);
              resolve(m);
            };
            w.on('message', on);
          });
        try {
          await next('attached');
          const size = s.region?.size ?? 0;
          s.publishS2M(0, { offset: size - 10, length: 100 }, 1);
          w.postMessage('go');
          const r = await next('burst');
          assert.deepEqual(r.result, [], 'nothing read from outside the memory');
          assert.match(r.fault ?? '', /descriptor outside the shared memory/);
          assert.ok((r.maxGapMs ?? Infinity) < LoopWatch.MAX_GAP_MS, "the worker's loop kept turning");
          await faulted(a, s, /worker: descriptor outside the shared memory/);
          await next('down');
          w.postMessage('close');
          await next('closed');
        } finally {
          await w.terminate();
        }
      }),
    );

    test('head moved backwards', T, () =>
      arena.attack('head backwards', {}, async (a) => {
        const s = await connected(a);
        const ps = [packet('one', 64), packet('two', 65), packet('three', 66)];
        s.sendS2M(ps);
        await until(() => a.received.length === 3);
        assert.deepEqual(a.received, ps);
        s.publishS2M(0, { offset: s.layout?.buffersOffset ?? 0, length: 10 }, 1);
        await faulted(a, s, /head 1 moved more than 16 slots past tail 3/);
      }),
    );

    test('the master-owned tail scribbled by the slave is ignored', T, () =>
      arena.attack('tail scribbled', {}, async (a) => {
        const s = await connected(a);
        const ring = s.s2m;
        assert.ok(ring);
        Atomics.store(ring.u16, ring.tailIndex, 9);
        const p = packet('tail was 9', 120);
        s.sendS2M([p]);
        await until(() => a.received.length > 0);
        assert.deepEqual(a.received, [p]);
        assert.equal(Atomics.load(ring.u16, ring.tailIndex), 1, 'the master stores its own tail');
        assert.equal(a.victim.connected, true);
      }),
    );
  });

  describe('M2S ring (buffers the slave offers)', () => {
    const bad: [string, (s: ScriptedSlave) => void, RegExp][] = [
      [
        'an offered buffer past the end of the region',
        (s) => s.offerM2S(1, { offset: (s.layout?.regionSize ?? 0) - 100, length: 2048 }, 2),
        /outside the shared memory: M2S ring 0 slot 1, region 0/,
      ],
      [
        'an offered buffer in a region that does not exist',
        (s) => s.offerM2S(1, { region: 5, offset: 0, length: 2048 }, 2),
        /M2S ring 0 slot 1, region 5/,
      ],
      [
        'an offered buffer of length 0',
        (s) => s.offerM2S(1, { offset: s.layout?.buffersOffset ?? 0, length: 0 }, 2),
        /M2S ring 0 slot 1, region 0, offset \d+, length 0/,
      ],
      [
        'an offered buffer of length 0xFFFFFFFF',
        (s) => s.offerM2S(1, { offset: 0, length: 0xffffffff }, 2),
        /length 4294967295/,
      ],
      ['head moved more than the ring size', (s) => s.offerM2S(1, { offset: 0, length: 64 }, 18), /moved more than 16/],
    ];
    for (const [name, offer, reason] of bad) {
      test(name, T, () =>
        arena.attack(`M2S: ${name}`, {}, async (a) => {
          const s = await connected(a);
          // One good buffer first: the master fills it correctly.
          s.offerGoodM2S(1);
          const first = packet('into a good buffer', 400);
          assert.equal(a.victim.txBurst(0, [first]), 1);
          assert.deepEqual(s.readM2S(), [first]);
          offer(s);
          assert.equal(a.victim.txBurst(0, [packet('into a bad buffer', 100)]), 0);
          await faulted(a, s, reason);
        }),
      );
    }
  });

  describe('a region the slave could shrink under our mapping', () => {
    const layout = computeLayout({ numS2M: 1, numM2S: 1, log2RingSize: 4, bufferSize: 2048, cacheLineSize: 64 });

    /** INIT and ADD_REGION with `fd` as region 0: refused (cannot be sealed) or accepted. */
    async function offerRegion(a: Attack, s: ScriptedSlave, fd: number): Promise<'refused' | 'accepted'> {
      await s.expect(MsgType.HELLO);
      s.prepare({ regionFd: fd, log2RingSize: 4 });
      s.send(s.initMessage({ id: a.id }));
      await s.expect(MsgType.ACK);
      s.send(s.regionMessage(), fd);
      const reply = await s.next();
      if (reply?.type === MsgType.ACK) return 'accepted';
      assert.equal(reply?.type, MsgType.DISCONNECT);
      return 'refused';
    }

    /** What every unsealable region must give: NO_SHMFD with a reason about sealing. */
    async function refusedUnsealable(a: Attack, s: ScriptedSlave): Promise<void> {
      const o = await a.reports.first();
      assert.equal(o.kind, 'error');
      assert.equal(o.error.errorName, 'MEMIF_ERR_NO_SHMFD');
      assert.match(o.reason, /seal/);
      assert.equal(await s.next(), undefined);
    }

    test('a plain file as the region', T, () =>
      arena.attack('plain file region', {}, async (a) => {
        const path = join(arena.tmp.dir, 'region.bin');
        const fd = openSync(path, 'w+');
        unlinkSync(path);
        ftruncateSync(fd, layout.regionSize);
        const s = a.slave();
        const outcome = await offerRegion(a, s, fd); // s owns fd now
        if (outcome === 'accepted') {
          // Accepted: the slave can now cut the file under the master's mapping (SIGBUS on touch).
          ftruncateSync(fd, 4096);
          assert.fail('the master mapped a region file that its peer can still shrink');
        }
        await refusedUnsealable(a, s);
      }),
    );

    for (const allowSealing of [false, true]) {
      const name = allowSealing
        ? 'a memfd that allows sealing but is not sealed'
        : 'a memfd created without MFD_ALLOW_SEALING';
      test(name, T, async (t) => {
        if (!(await havePython())) {
          t.skip('python3 with os.memfd_create is not available');
          return;
        }
        const holder = await pythonMemfd(layout.regionSize, allowSealing);
        try {
          await arena.attack(name, {}, async (a) => {
            const fd = openSync(`/proc/${holder.proc.pid}/fd/${holder.fd}`, 'r+');
            const s = a.slave();
            const outcome = await offerRegion(a, s, fd);
            if (!allowSealing) {
              assert.equal(outcome, 'refused');
              await refusedUnsealable(a, s);
              return;
            }
            if (outcome === 'refused') {
              await refusedUnsealable(a, s);
              return;
            }
            // Accepted: only if the master sealed it, so that the slave can no longer shrink it.
            assert.throws(() => ftruncateSync(fd, 4096), { code: 'EPERM' });
            await connectThroughRegion(a, s, 'sealed-by-master');
          });
        } finally {
          await holder.stop();
        }
      });
    }

    // hugetlbfs takes F_SEAL_SHRINK, but its holder can still punch holes (only F_SEAL_WRITE stops
    // that, and it forbids a writable mapping); once every free huge page is taken, our next touch
    // of a hole is SIGBUS. Refused whether or not this machine has huge pages: no pool is needed to
    // create the file, and the refusal comes before any mapping.
    test('a hugetlb memfd (sealable against shrinking, yet its holes can be punched)', T, async (t) => {
      if (!(await havePython())) {
        t.skip('python3 with os.memfd_create is not available');
        return;
      }
      const holder = await pythonMemfd(hugePageSize(), true, true);
      try {
        await arena.attack('hugetlb region', {}, async (a) => {
          const s = a.slave();
          await s.expect(MsgType.HELLO);
          s.send(s.initMessage({ id: a.id }));
          await s.expect(MsgType.ACK);
          const fd = openSync(`/proc/${holder.proc.pid}/fd/${holder.fd}`, 'r+');
          s.send(encodeAddRegion({ index: 0, size: BigInt(layout.regionSize) }), fd);
          closeSync(fd); // the master has its own copy now
          assert.equal((await s.next())?.type, MsgType.DISCONNECT);
          const o = await a.reports.first();
          assert.equal(o.kind, 'error');
          assert.equal(o.error.errorName, 'MEMIF_ERR_NO_SHMFD');
          assert.match(o.reason, /hugetlbfs/);
          assert.equal(await s.next(), undefined);
        });
      } finally {
        await holder.stop();
      }
    });

    // A trusted peer's hugetlb region (allowUnsealedRegions) of a size that is not whole huge pages:
    // munmap of such a mapping fails unless its length is rounded up, which left it mapped (and its
    // huge page pinned) after the connection ended.
    test('with allowUnsealedRegions, a hugetlb region is unmapped whole when the link ends', T, async (t) => {
      if (!(await havePython())) {
        t.skip('python3 with os.memfd_create is not available');
        return;
      }
      const pool = reserveHugePage();
      if (pool === undefined) {
        t.skip('no free huge page (and /proc/sys/vm/nr_hugepages not writable)');
        return;
      }
      const holder = await pythonMemfd(hugePageSize(), true, true);
      try {
        assert.notEqual(layout.regionSize % hugePageSize(), 0);
        await arena.attack('hugetlb region, trusted', { victim: { allowUnsealedRegions: true } }, async (a) => {
          const fd = openSync(`/proc/${holder.proc.pid}/fd/${holder.fd}`, 'r+');
          const s = a.slave();
          assert.equal(await offerRegion(a, s, fd), 'accepted');
          await connectThroughRegion(a, s, 'hugetlb');
        });
      } finally {
        await holder.stop();
        pool.restore();
      }
    });
  });
});

/** The default huge page size (Hugepagesize in /proc/meminfo), 2 MiB if it cannot be read. */
function hugePageSize(): number {
  const m = /Hugepagesize:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m === null ? 2 * 1024 * 1024 : Number(m[1]) * 1024;
}

/** Makes sure one huge page is free, growing the pool by one if need be (root); undefined if not. */
function reserveHugePage(): { restore(): void } | undefined {
  const free = (): number => {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(info)?.[1] ?? 0);
    return get('HugePages_Free') - get('HugePages_Rsvd');
  };
  if (free() >= 1) return { restore: () => {} };
  const path = '/proc/sys/vm/nr_hugepages';
  try {
    const was = readFileSync(path, 'utf8').trim();
    writeFileSync(path, String(Number(was) + 1));
    if (free() >= 1) return { restore: () => writeFileSync(path, was) };
    writeFileSync(path, was);
  } catch {
    // not root, or no hugetlb support
  }
  return undefined;
}

/** A python process holding a memfd (hugetlb: on hugetlbfs) of `size` bytes; open it through /proc/<pid>/fd/<fd>. */
async function pythonMemfd(
  size: number,
  allowSealing: boolean,
  hugetlb = false,
): Promise<{ proc: ChildProcess; fd: number; stop: () => Promise<void> }> {
  const flags = [allowSealing ? 'os.MFD_ALLOW_SEALING' : '0', hugetlb ? 'os.MFD_HUGETLB' : '0'].join(' | ');
  const code = `
import os, sys
fd = os.memfd_create('hostile', ${flags})
os.ftruncate(fd, int(sys.argv[1]))
print(fd, flush=True)
sys.stdin.read()
`;
  const proc = spawn('python3', ['-c', code, String(size)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = once(proc, 'close');
  const [line] = (await once(proc.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const fd = Number(line.toString().trim());
  return {
    proc,
    fd,
    stop: async () => {
      proc.stdin?.end();
      await closed;
    },
  };
}
