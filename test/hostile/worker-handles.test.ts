// Worker hand-off handles own their fds exactly once (issue 8, class 7): a worker terminated
// without close() leaves nothing behind, handles never attached are discarded when the link goes
// down or the interface closes, a second attach of one handle is refused (MEMIF_ERR_ALREADY) and
// cannot later close an fd the application opened, and garbage handed to attach() touches no fd.
// Every case also checks that the event loop kept turning and a bystander pair kept passing traffic.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Memif, type MemifError, type QueueHandle, WorkerQueue } from '../../src/index.js';
import {
  Bystander,
  countingLogger,
  exchange,
  packet,
  Reports,
  receiveSome,
  watchEachTest,
} from '../helpers/hostile.js';
import { newFds, type Resources, settle, snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const T = { timeout: 60_000 };
const ROUNDS = 20;
const workerFile = fileURLToPath(new URL('../helpers/handle-worker.js', import.meta.url));
const logger = countingLogger();

/** The fd table and mappings are exactly as in `base` (fds opened or closed both count). */
function assertSame(base: Resources, now: Resources, label: string): void {
  assert.deepEqual(newFds(base, now), [], `${label}: fds opened`);
  assert.deepEqual(newFds(now, base), [], `${label}: fds closed`);
  assert.equal(now.addonMappings, base.addonMappings, `${label}: addon mappings`);
  assert.deepEqual(now.memfdMaps, base.memfdMaps, `${label}: memfd mappings`);
}

/** The first message of `event` from `w`. */
async function message<M>(w: Worker, event: string): Promise<M> {
  for (;;) {
    const [m] = (await once(w, 'message')) as [{ event: string }];
    if (m.event === event) return m as M;
  }
}

/** "Class/errorName" of what `f` throws ('' if it does not). */
function thrown(f: () => unknown): string {
  try {
    f();
    return '';
  } catch (err) {
    return `${(err as Error).constructor.name}/${(err as { errorName?: string }).errorName}`;
  }
}

describe('worker hand-off handles own their fds exactly once (class 7)', () => {
  let tmp: TempDir;
  let socketPath: string;
  let master: Memif;
  let bystander: Bystander;
  before(async () => {
    tmp = tempDir('memif-hostile-handles-');
    socketPath = tmp.socket();
    master = await Memif.create({ role: 'master', socketPath, id: 0, logger, rxMode: 'polling' });
    bystander = await Bystander.start(tmp.socket('bystander.sock'), logger);
  });
  after(async () => {
    await bystander.close();
    await master.close();
    tmp.remove();
  });
  // Through each attack: the loop kept turning and the bystander pair is untouched.
  watchEachTest(() => bystander);

  async function connectSlave(): Promise<Memif> {
    const slave = await Memif.create({ role: 'slave', socketPath, id: 0, logger, rxMode: 'polling' });
    await Promise.all([slave.waitForConnect(), master.waitForConnect()]);
    return slave;
  }

  test(
    `${ROUNDS} rounds: a worker attaches rx+tx, holds a zero-copy burst and is terminated without close()`,
    T,
    async (t) => {
      await settle();
      const start = snapshot();
      for (let round = 0; round < ROUNDS; round++) {
        const slave = await connectSlave();
        try {
          await exchange(master, slave, `round ${round}`);
          assert.equal(master.txBurst(0, [packet(`for the worker ${round}`, 500)]), 1);
          await settle();
          const base = snapshot();
          const worker = new Worker(workerFile, {
            workerData: { handles: [slave.handOff('rx', 0), slave.handOff('tx', 0)], hold: true },
          });
          const attached = await message<{ attached: number; errors: string[]; held: number }>(worker, 'attached');
          assert.deepEqual(attached, { event: 'attached', attached: 2, errors: [], held: 1 });
          const running = snapshot();
          await worker.terminate();
          await settle();
          const now = snapshot();
          t.diagnostic(
            `round ${round}: fds ${base.fds.size} before hand-off, ${running.fds.size} with the worker attached, ` +
              `${now.fds.size} after terminate; addon mappings ${base.addonMappings} → ${running.addonMappings} → ${now.addonMappings}`,
          );
          assert.equal(running.addonMappings, base.addonMappings + 2, 'the worker mapped the region (once per queue)');
          assertSame(base, now, `round ${round} after terminate`);
        } finally {
          await slave.close();
        }
      }
      await settle();
      assertSame(start, snapshot(), `after ${ROUNDS} rounds`);
    },
  );

  test('a worker terminated while the thread pool still reads its held burst: no crash, nothing left', T, async () => {
    // The worker writes to this fd (the main thread's): a worker's own FileHandles are Node's to close.
    const sink = openSync('/dev/null', 'w');
    await settle();
    const start = snapshot();
    for (let round = 0; round < 5; round++) {
      const slave = await connectSlave();
      try {
        assert.equal(master.txBurst(0, [packet(`consumed ${round}`, 700)]), 1);
        await settle();
        const base = snapshot();
        const worker = new Worker(workerFile, {
          workerData: { handles: [slave.handOff('rx', 0)], hold: true, consume: sink },
        });
        const attached = await message<{ attached: number; held: number }>(worker, 'attached');
        assert.equal(attached.held, 1);
        // zlib and write(2) are reading the whole region mapping on the thread pool right now.
        await worker.terminate();
        await settle();
        assertSame(base, snapshot(), `round ${round} after terminate`);
        // The link is still up: the slave's own tx queue still reaches the master, byte for byte.
        const up = packet(`still up ${round}`, 90);
        assert.equal(slave.txBurst(0, [up]), 1);
        assert.deepEqual(await receiveSome(master), [up]);
      } finally {
        await slave.close();
      }
    }
    await settle();
    assertSame(start, snapshot(), 'after the consumed rounds');
    closeSync(sink);
  });

  test('handles never attached are discarded when the peer closes, or when the interface closes', T, async () => {
    await settle();
    const base = snapshot();
    // Handed off by our master, posted to a worker that never attaches them; then the peer leaves.
    const reports = new Reports(master);
    let slave = await connectSlave();
    const unattached = [master.handOff('rx', 0), master.handOff('tx', 0)];
    const idle = new Worker(workerFile, { workerData: { handles: [], spare: unattached } });
    await message(idle, 'attached');
    await idle.terminate();
    assert.ok(newFds(base, snapshot()).length > 0, 'the hand-offs hold duplicated fds');
    await slave.close();
    const o = await reports.first();
    assert.equal(o.kind, 'disconnect');
    assert.ok(o.reason.length > 0);
    await settle();
    assertSame(base, snapshot(), 'peer closed with hand-offs never attached');
    for (const h of unattached) {
      assert.equal(
        thrown(() => WorkerQueue.attach(h)),
        'StateError/MEMIF_ERR_ALREADY',
        'a discarded handle',
      );
    }
    assertSame(base, snapshot(), 'attach of discarded handles');
    // Handed off by a slave that is then closed.
    slave = await connectSlave();
    const fromSlave = [slave.handOff('rx', 0), slave.handOff('tx', 0)];
    await slave.close();
    await settle();
    assertSame(base, snapshot(), 'interface closed with hand-offs never attached');
    for (const h of fromSlave)
      assert.equal(
        thrown(() => WorkerQueue.attach(h)),
        'StateError/MEMIF_ERR_ALREADY',
      );
  });

  test(
    'the same handle attached twice: refused, and closing the first never closes an fd opened since',
    T,
    async () => {
      await settle();
      const base = snapshot();
      const file = join(tmp.dir, 'unrelated.txt');
      const content = 'an fd of the application';
      writeFileSync(file, content);
      const stillValid = (fd: number, st: { ino: number; dev: number }, label: string) => {
        const now = fstatSync(fd);
        assert.equal(now.ino, st.ino, `${label}: same file`);
        assert.equal(now.dev, st.dev, `${label}: same file`);
        const b = Buffer.alloc(content.length);
        assert.equal(readSync(fd, b, 0, b.length, 0), content.length);
        assert.equal(b.toString(), content, `${label}: reads the file`);
      };
      const slave = await connectSlave();
      try {
        // Twice in one thread.
        const rx = slave.handOff('rx', 0);
        const q1 = WorkerQueue.attach(rx);
        const beforeSecond = snapshot();
        assert.throws(() => WorkerQueue.attach(rx), { name: 'StateError', errorName: 'MEMIF_ERR_ALREADY' });
        assertSame(beforeSecond, snapshot(), 'the refused attach');
        const fd = openSync(file, 'r');
        const st = fstatSync(fd);
        q1.close();
        stillValid(fd, st, 'after the first queue closed');
        q1.close();
        stillValid(fd, st, 'after a second close()');
        closeSync(fd);
        // In two workers.
        const tx = slave.handOff('tx', 0);
        const w1 = new Worker(workerFile, { workerData: { handles: [tx] } });
        const w2 = new Worker(workerFile, { workerData: { handles: [tx] } });
        try {
          const [a1, a2] = await Promise.all([
            message<{ attached: number; errors: string[] }>(w1, 'attached'),
            message<{ attached: number; errors: string[] }>(w2, 'attached'),
          ]);
          const outcomes = [a1, a2].map((a) => `${a.attached} ${a.errors.join()}`).sort();
          assert.deepEqual(outcomes, ['0 StateError/MEMIF_ERR_ALREADY', '1 '], 'one attached, the other was refused');
          const winner = a1.attached === 1 ? w1 : w2;
          const fd2 = openSync(file, 'r');
          const st2 = fstatSync(fd2);
          winner.postMessage('close');
          await message(winner, 'closed');
          stillValid(fd2, st2, "after the winning worker's close()");
          await Promise.all([w1.terminate(), w2.terminate()]);
          stillValid(fd2, st2, 'after both workers ended');
          closeSync(fd2);
        } finally {
          await Promise.all([w1.terminate(), w2.terminate()]);
        }
      } finally {
        await slave.close();
      }
      await settle();
      assertSame(base, snapshot(), 'after the double attaches');
    },
  );

  test(
    'handOff() of a queue whose zero-copy burst is outstanding is refused (the worker would read the same buffers)',
    T,
    async () => {
      const slave = await connectSlave();
      try {
        await settle();
        const base = snapshot();
        const sent = [packet('held on the main thread', 400)];
        assert.equal(master.txBurst(0, sent), 1);
        let rb = slave.rxBurstZeroCopy(0);
        while (rb.count === 0) {
          rb.release();
          await new Promise((r) => setImmediate(r));
          rb = slave.rxBurstZeroCopy(0);
        }
        const tb = slave.txAlloc(0, 2);
        assert.throws(() => slave.handOff('rx', 0), { name: 'StateError', errorName: 'MEMIF_ERR_ALREADY' });
        assert.throws(() => slave.handOff('tx', 0), { name: 'StateError', errorName: 'MEMIF_ERR_ALREADY' });
        assertSame(base, snapshot(), 'refused hand-offs');
        // The bursts are untouched and still belong to the main thread.
        assert.ok(Buffer.from(rb.view(0)).equals(sent[0]));
        rb.release();
        tb.write(0, packet('sent by the main thread', 50));
        assert.equal(tb.commit(1), 1);
        assert.deepEqual(await receiveSome(master), [packet('sent by the main thread', 50)]);
        // Given back: the queues can be handed off, and the worker does not see the packet again.
        const rx = WorkerQueue.attach(slave.handOff('rx', 0));
        try {
          assert.deepEqual(rx.rxBurst(), [], 'the released packet is not delivered twice');
          const again = packet('after the hand-off', 60);
          assert.equal(master.txBurst(0, [again]), 1);
          let got: Buffer[] = [];
          while (got.length === 0) {
            got = rx.rxBurst();
            if (got.length === 0) await new Promise((r) => setImmediate(r));
          }
          assert.deepEqual(got, [again]);
        } finally {
          rx.close();
        }
      } finally {
        await slave.close();
      }
    },
  );

  test('attach() with garbage or an altered handle throws a typed error and touches no fd', T, async () => {
    const slave = await connectSlave();
    try {
      const h = slave.handOff('rx', 0);
      await settle();
      const base = snapshot();
      const throwing = new Proxy(
        {},
        {
          get() {
            throw new Error('hostile getter');
          },
        },
      );
      const garbage: [string, unknown][] = [
        ['null', null],
        ['undefined', undefined],
        ['a number', 42],
        ['a string', 'handle'],
        ['{}', {}],
        ['[]', []],
        ['a throwing proxy', throwing],
        ['a forged token', { ...h, token: 0xfffffff0 }],
        ['token 0', { ...h, token: 0 }],
        ['a fractional token', { ...h, token: h.token + 0.5 }],
        ['a string token', { ...h, token: String(h.token) }],
        ['kind altered', { ...h, kind: 'both' }],
        ['role altered', { ...h, role: 'peer' }],
        ['no regions', { ...h, regions: [] }],
        ['a negative region size', { ...h, regions: [{ size: -1 }] }],
        ['link not shared', { ...h, link: new ArrayBuffer(4) }],
        ['log2Size altered', { ...h, ring: { ...h.ring, log2Size: 99 } }],
        ['one region more', { ...h, regions: [...h.regions, { size: 4096 }] }],
        ['the ring moved out of its region', { ...h, ring: { ...h.ring, offset: h.regions[0].size } }],
        ['a region larger than its memory', { ...h, regions: [{ size: h.regions[0].size * 2 }] }],
      ];
      for (const [label, bad] of garbage) {
        const e = thrown(() => WorkerQueue.attach(bad as QueueHandle));
        assert.match(e, /^(InvalidArgumentError|StateError)\//, `${label}: ${e || 'accepted'}`);
        await settle();
        assertSame(base, snapshot(), label);
      }
      // The genuine handle still attaches, and its queue works.
      const q = WorkerQueue.attach(h);
      try {
        const sent = packet('after the garbage', 321);
        assert.equal(master.txBurst(0, [sent]), 1);
        let got: Buffer[] = [];
        while (got.length === 0) {
          got = q.rxBurst();
          if (got.length === 0) await new Promise((r) => setImmediate(r));
        }
        assert.deepEqual(got, [sent]);
      } finally {
        q.close();
      }
    } finally {
      await slave.close();
    }
  });

  test(
    "a fault forged into a handle's link buffer (a length out of range): the link goes down, nothing thrown",
    T,
    async () => {
      // Whoever holds a handle holds its link buffer: here the main thread writes a fault with a
      // length no postFault writes, as a careless or hostile worker could.
      const rejections: unknown[] = [];
      let rejected: (e: unknown) => void = () => {};
      const onRejection = (e: unknown) => {
        rejections.push(e);
        rejected(e);
      };
      process.on('unhandledRejection', onRejection);
      try {
        for (const length of [-1, 0x7fffffff]) {
          const slave = await connectSlave();
          try {
            const h = slave.handOff('tx', 0);
            const i32 = new Int32Array(h.link);
            const down = once(slave, 'disconnect') as Promise<[{ reason: string; error: MemifError }]>;
            const failed = new Promise<never>((_, reject) => {
              rejected = reject;
            });
            Atomics.store(i32, 2, length); // LINK_FAULT_LENGTH
            Atomics.store(i32, 1, 2); // LINK_FAULT = FAULT_POSTED
            Atomics.notify(i32, 1);
            const [info] = await Promise.race([down, failed]);
            assert.match(info.reason, /^worker: /, `length ${length}`);
            assert.equal(info.error.errorName, 'MEMIF_ERR_MFMSG', `length ${length}`);
            await Promise.all([slave.waitForConnect(), master.waitForConnect()]);
            await exchange(master, slave, `after a forged fault of length ${length}`);
          } finally {
            await slave.close();
          }
        }
        await settle();
        assert.deepEqual(rejections, [], 'no unhandled rejection');
      } finally {
        process.off('unhandledRejection', onRejection);
      }
    },
  );
});
