// Zero-copy bursts outlive the peer (issue 8, class 4): a view of a held burst is handed to native
// asynchronous consumers (zlib, fs, WebCrypto on the thread pool) and the peer dies or hangs up
// meanwhile. The memory stays mapped until the burst is released (rx) or committed (tx), on the
// main thread or on a worker; close() unmaps at once and the burst's accessors throw. Every case
// checks: the process survived and the consumers produced the peer's bytes, the event loop kept
// turning, a bystander pair kept passing traffic, the disconnect came with a reason, and every fd
// and mapping came back (the mapping only once the burst was given back).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, read as fsRead, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Memif, type RxBurst, type TxBurst } from '../../src/index.js';
import { encodeDisconnect } from '../../src/wire/messages.js';
import { ChildPeer } from '../helpers/child-peer.js';
import { blockThreadPool, checkConsumers, startConsumers } from '../helpers/consumers.js';
import { assertReleased, Bystander, countingLogger, exchange, packet, Reports, until } from '../helpers/hostile.js';
import { LoopWatch } from '../helpers/liveness.js';
import { newFds, type Resources, settle, snapshot } from '../helpers/resources.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { streamPacket, streams } from '../helpers/traffic.js';

const T = { timeout: 30_000 };
/** Packets the child slave sends (each fits one 2048-byte buffer, so view(i) is shared memory). */
const COUNT = 12;
const MAX_SIZE = 2000;
/** The event loop must never stall this long (liveness, not performance). */
const MAX_GAP_MS = LoopWatch.MAX_GAP_MS;

const workerFile = fileURLToPath(new URL('../helpers/burst-worker.js', import.meta.url));
const logger = countingLogger();

/** Polls `take` until it returns a burst with packets (the test timeout bounds the wait). */
async function firstBurst(take: () => RxBurst): Promise<RxBurst> {
  for (;;) {
    const b = take();
    if (b.count > 0) return b;
    b.release();
    await tick();
  }
}

/** Every packet of `b` lies in one buffer: view(i) is a view into shared memory, not a copy. */
function sharedViews(b: RxBurst): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (let i = 0; i < b.count; i++) {
    assert.equal(b.segments(i), 1, `packet ${i} in one buffer`);
    const v = b.view(i);
    assert.equal(v.buffer, b.bytes(b.region(i)).buffer, `packet ${i}: view(i) is over the mapping`);
    views.push(v);
  }
  return views;
}

/** Each view holds the bytes of `expected[i]`. */
function assertBytes(views: readonly Uint8Array[], expected: readonly Uint8Array[], label: string): void {
  assert.equal(views.length, expected.length, label);
  for (const [i, v] of views.entries()) assert.ok(Buffer.from(v).equals(expected[i]), `${label}: packet ${i}`);
}

/**
 * The mapping is still held: more addon mappings than at `base`, and (`fds`, not while a worker
 * runs: its own loop holds fds) no fd of the dead connection left.
 */
async function assertHeld(base: Resources, label: string, fds = true): Promise<void> {
  await settle();
  const now = snapshot();
  assert.ok(now.addonMappings > base.addonMappings, `${label}: the held burst keeps its mapping`);
  assert.ok(now.memfdMaps.length > base.memfdMaps.length, `${label}: the memfd is still mapped`);
  if (fds)
    assert.deepEqual(newFds(base, now), [], `${label}: the connection's fds are closed even while a burst is held`);
}

describe('zero-copy bursts held across a disconnect (class 4)', () => {
  let tmp: TempDir;
  let bystander: Bystander;
  let socketPath: string;
  let loop: LoopWatch;
  before(async () => {
    tmp = tempDir('memif-hostile-life-');
    socketPath = tmp.socket();
    bystander = await Bystander.start(socketPath, logger);
    loop = new LoopWatch();
  });
  after(async () => {
    loop.stop();
    await bystander.close();
    tmp.remove();
  });

  /**
   * One case against a fresh polling master: `run` gets the master, its reports, the resources
   * before any peer came (`base`) and `defer`, which registers a cleanup (a peer to kill, a pool
   * to unblock) that runs, last registered first, before the master closes, pass or fail.
   */
  async function withMaster(
    run: (c: {
      master: Memif;
      reports: Reports;
      base: Resources;
      defer: (cleanup: () => unknown) => void;
    }) => Promise<void>,
  ): Promise<void> {
    const master = await Memif.create({ role: 'master', socketPath, id: 0, logger, rxMode: 'polling' });
    const cleanups: (() => unknown)[] = [];
    try {
      const reports = new Reports(master);
      await settle();
      const base = snapshot();
      await run({ master, reports, base, defer: (cleanup) => cleanups.push(cleanup) });
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await master.close();
    }
  }

  /** A child-process slave with script `script` (`seed` for 'traffic'), SIGKILLed by the case's cleanup. */
  function childSlave(defer: (cleanup: () => unknown) => void, script: 'traffic' | 'echo', seed = 0) {
    const options = { role: 'slave' as const, socketPath, id: 0 };
    const child = new ChildPeer(
      script === 'traffic' ? { options, script, count: COUNT, maxSize: MAX_SIZE, seed } : { options, script },
    );
    defer(() => child.proc.kill('SIGKILL'));
    return { child, closed: once(child.proc, 'close') };
  }

  /** The thread pool held busy until `unblock()` (also the case's cleanup). */
  function heldPool(defer: (cleanup: () => unknown) => void): ReturnType<typeof blockThreadPool> {
    const pool = blockThreadPool(tmp.dir);
    defer(() => pool.unblock());
    return pool;
  }

  /** The next report is the disconnect of a killed peer: MEMIF_ERR_DISCONNECTED, with a reason. */
  async function assertKilledDisconnect(reports: Reports): Promise<void> {
    const o = await reports.first();
    assert.equal(o.kind, 'disconnect');
    assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED');
    assert.ok(o.reason.length > 0, 'the disconnect has a reason');
  }

  /** Every fd and mapping since `base` came back, and the event loop never stalled. */
  async function assertAllBack(base: Resources, label: string): Promise<void> {
    await assertReleased(base, label);
    assert.ok(loop.maxGap() < MAX_GAP_MS, `event loop stalled ${loop.maxGap()} ms`);
  }

  test('rx: views handed to zlib, fs and WebCrypto while the slave process is SIGKILLed', T, () =>
    withMaster(async ({ master, reports, base, defer }) => {
      const { child, closed: childClosed } = childSlave(defer, 'traffic', 41);
      await master.waitForConnect();
      const rb = await firstBurst(() => master.rxBurstZeroCopy(0, 64));
      const s = streams(41, MAX_SIZE);
      const expected = Array.from({ length: rb.count }, (_, i) => streamPacket(s.slave, i));
      const views = sharedViews(rb);
      assertBytes(views, expected, 'as sent');
      // Consumers queued on the thread pool (held busy), the peer dies, the connection is torn
      // down, and only then do they run.
      const pool = heldPool(defer);
      const during = startConsumers(views, tmp.dir, 'rx-during');
      child.proc.kill('SIGKILL');
      await assertKilledDisconnect(reports);
      assert.equal(master.connected, false);
      await pool.unblock();
      // The connection is torn down: the views are still the peer's bytes, and consumers started now work too.
      const afterDown = startConsumers(views, tmp.dir, 'rx-after');
      await checkConsumers(during, expected, 'started before the kill');
      await checkConsumers(afterDown, expected, 'started after the disconnect');
      assertBytes(views, expected, 'intact after the disconnect');
      assert.equal(rb.length(0), expected[0].length, 'the burst is still readable');
      await childClosed;
      assert.equal(child.proc.signalCode, 'SIGKILL');
      await bystander.check('rx burst held, slave killed');
      await assertHeld(base, 'rx burst held');
      rb.release();
      assert.equal(snapshot().addonMappings, base.addonMappings, 'release() unmapped at once');
      assert.throws(() => rb.view(0), { name: 'StateError', errorName: 'MEMIF_ERR_NOCONN' });
      await assertAllBack(base, 'rx burst released after the slave was killed');
    }),
  );

  test('tx: a txAlloc burst written (and fs.read into) after the slave process died; commit publishes nothing', T, () =>
    withMaster(async ({ master, reports, base, defer }) => {
      const { child, closed: childClosed } = childSlave(defer, 'echo');
      await master.waitForConnect();
      let tb: TxBurst = master.txAlloc(0, 4);
      while (tb.count < 3) {
        tb.abort();
        await tick();
        tb = master.txAlloc(0, 4);
      }
      const content = packet('read from a file into shared memory', 1500);
      const file = join(tmp.dir, 'tx-source.bin');
      writeFileSync(file, content);
      const fd = openSync(file, 'r');
      const readInto = (i: number) =>
        new Promise<number>((resolve, reject) =>
          fsRead(fd, tb.bytes(tb.region(i)), tb.offset(i), content.length, 0, (err, n) =>
            err ? reject(err) : resolve(n),
          ),
        );
      try {
        // A thread-pool read into buffer 1 is queued (the pool held busy) when the peer dies and
        // runs after the teardown; one into buffer 2 starts after it.
        const pool = heldPool(defer);
        const during = readInto(1);
        child.proc.kill('SIGKILL');
        await assertKilledDisconnect(reports);
        await pool.unblock();
        const afterDown = readInto(2);
        const first = packet('written after the disconnect', 900);
        tb.write(0, first);
        assert.equal(await during, content.length);
        assert.equal(await afterDown, content.length);
        const at = (i: number, n: number) =>
          Buffer.from(tb.bytes(tb.region(i)).subarray(tb.offset(i), tb.offset(i) + n));
        assert.ok(at(0, first.length).equals(first), 'buffer 0 holds what was written after the disconnect');
        assert.ok(at(1, content.length).equals(content), 'buffer 1: the read that ran during the kill');
        assert.ok(at(2, content.length).equals(content), 'buffer 2: the read after the disconnect');
      } finally {
        closeSync(fd);
      }
      await childClosed;
      await bystander.check('tx burst held, slave killed');
      await assertHeld(base, 'tx burst held');
      tb.setLength(1, content.length);
      tb.setLength(2, content.length);
      assert.equal(tb.commit(3), 0, 'nothing is published on a dead connection');
      assert.equal(snapshot().addonMappings, base.addonMappings, 'commit() unmapped at once');
      assert.throws(() => tb.bytes(0), { name: 'StateError', errorName: 'MEMIF_ERR_NOCONN' });
      await assertAllBack(base, 'tx burst committed after the slave was killed');
    }),
  );

  test("worker: a burst held on a worker survives the main thread's disconnect; release, close, all back", T, () =>
    withMaster(async ({ master, reports, base, defer }) => {
      const { child, closed: childClosed } = childSlave(defer, 'traffic', 43);
      await master.waitForConnect();
      const w = new Worker(workerFile, { workerData: { handle: master.handOff('rx', 0), dir: tmp.dir } });
      defer(() => w.terminate());
      const next = async <M>(event: string): Promise<M> => {
        for (;;) {
          const [m] = (await once(w, 'message')) as [{ event: string }];
          if (m.event === event) return m as M;
        }
      };
      const holding = await next<{ count: number; segments: number[] }>('holding');
      assert.ok(holding.count > 0);
      assert.deepEqual(holding.segments, Array(holding.count).fill(1));
      const s = streams(43, MAX_SIZE);
      const expected = Array.from({ length: holding.count }, (_, i) => streamPacket(s.slave, i));
      child.proc.kill('SIGKILL');
      await assertKilledDisconnect(reports);
      await childClosed;
      await assertHeld(base, 'worker burst held', false);
      w.postMessage('go');
      const consumed = await next<{
        rounds: { inflated: Uint8Array; gunzipped: Uint8Array; written: Uint8Array; digest: Uint8Array }[][];
        views: Uint8Array[];
        connected: boolean;
        burstError: string;
      }>('consumed');
      assert.equal(consumed.connected, false);
      assert.equal(consumed.burstError, 'StateError/MEMIF_ERR_NOCONN', 'the next burst on the worker throws');
      for (const [r, round] of consumed.rounds.entries()) {
        for (const [i, c] of round.entries()) {
          const want = expected[i];
          assert.ok(Buffer.from(c.inflated).equals(want), `round ${r} packet ${i} deflate`);
          assert.ok(Buffer.from(c.gunzipped).equals(want), `round ${r} packet ${i} gzip`);
          assert.ok(Buffer.from(c.written).equals(want), `round ${r} packet ${i} file`);
        }
      }
      assertBytes(consumed.views, expected, 'worker views intact');
      await bystander.check('worker burst held, slave killed');
      w.postMessage('release');
      await next('released');
      w.postMessage('close');
      const closed = await next<{ viewError: string }>('closed');
      assert.equal(closed.viewError, 'StateError/MEMIF_ERR_NOCONN');
      assert.equal(snapshot().addonMappings, base.addonMappings, "the worker's close() unmapped its view");
      await w.terminate();
      await assertAllBack(base, 'worker burst released and queue closed');
    }),
  );

  test('close() with bursts outstanding unmaps at once; their accessors throw MEMIF_ERR_NOCONN', T, async () => {
    await settle();
    const base = snapshot();
    const master = await Memif.create({ role: 'master', socketPath, id: 0, logger, rxMode: 'polling' });
    const slave = await Memif.create({ role: 'slave', socketPath, id: 0, logger, rxMode: 'polling' });
    try {
      const slaveReports = new Reports(slave);
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      const sent = [packet('close with a held burst', 700), packet('second one', 300)];
      assert.equal(slave.txBurst(0, sent), 2);
      const rb = await firstBurst(() => master.rxBurstZeroCopy(0));
      const views = sharedViews(rb);
      assertBytes(views, sent, 'as sent');
      const tb = slave.txAlloc(0, 2);
      assert.ok(tb.count > 0);
      const held = snapshot().addonMappings;
      await master.close();
      // The master's mapping is gone now; the slave's own region is still held by its tx burst.
      assert.equal(snapshot().addonMappings, held - 1, "master.close() unmapped the master's view at once");
      for (const f of [() => rb.view(0), () => rb.bytes(0), () => rb.length(0), () => rb.copy(0, Buffer.alloc(800))]) {
        assert.throws(f, { name: 'StateError', errorName: 'MEMIF_ERR_NOCONN', message: /interface was closed/ });
      }
      assert.equal(views[0].length, 0, 'a view taken before close() reads as empty (detached), never as freed memory');
      rb.release();
      rb.release();
      // The slave saw the master go; its held tx burst is still writable until the slave closes.
      const o = await slaveReports.first();
      assert.equal(o.kind, 'disconnect');
      assert.ok(o.reason.length > 0);
      tb.write(0, packet('after the master left', 100));
      await slave.close();
      const closed = snapshot();
      assert.equal(closed.addonMappings, base.addonMappings, 'slave.close() unmapped at once');
      assert.deepEqual(closed.memfdMaps, base.memfdMaps, 'no memfd mapped after close()');
      assert.deepEqual(newFds(base, closed), [], 'every fd closed by the time close() resolved');
      assert.throws(() => tb.write(0, packet('after close', 10)), {
        name: 'StateError',
        errorName: 'MEMIF_ERR_NOCONN',
      });
      assert.throws(() => tb.bytes(0), { name: 'StateError', errorName: 'MEMIF_ERR_NOCONN' });
      tb.abort();
      await bystander.check('close() with bursts held');
      await assertAllBack(base, 'close() with bursts held');
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('a burst held from a slave that left stays intact while a new slave connects and traffic flows', T, () =>
    withMaster(async ({ master, reports, base, defer }) => {
      const s = new ScriptedSlave(socketPath);
      defer(() => s.close());
      await s.handshake({ id: 0, log2RingSize: 4 });
      await master.waitForConnect();
      const sent = Array.from({ length: 4 }, (_, i) => packet(`before the reconnect ${i}`, 100 + 400 * i));
      s.sendS2M(sent);
      const rb = await firstBurst(() => master.rxBurstZeroCopy(0));
      const views = sharedViews(rb);
      s.close();
      assert.equal((await reports.first()).kind, 'disconnect');
      // A new slave on the same id: a new connection, new memory, the old burst still held.
      const slave = await Memif.create({ role: 'slave', socketPath, id: 0, logger, rxMode: 'polling' });
      defer(() => slave.close());
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      await exchange(master, slave, 'new connection while an old burst is held');
      const fresh = master.rxBurstZeroCopy(0);
      assert.equal(fresh.count, 0, "the new connection's queue has its own burst");
      fresh.release();
      const during = snapshot().addonMappings;
      assertBytes(views, sent, 'old views intact across the reconnect');
      assert.equal(rb.length(0), sent[0].length);
      rb.release();
      assert.equal(snapshot().addonMappings, during - 1, 'release() unmapped only the old connection');
      await exchange(master, slave, 'after the old burst was released');
      await slave.close();
      await until(() => !master.connected);
      await bystander.check('held burst across a reconnect');
      await assertAllBack(base, 'held burst across a reconnect');
    }),
  );

  for (const [how, hangUp] of [
    [
      'sends DISCONNECT and hangs up',
      (s: ScriptedSlave) => {
        s.send(encodeDisconnect('scripted slave leaves mid-burst'));
        s.close();
      },
    ],
    ['hangs up without a word', (s: ScriptedSlave) => s.close()],
  ] as const) {
    test(`a scripted slave ${how} while our master holds its packets`, T, () =>
      withMaster(async ({ master, reports, base, defer }) => {
        const s = new ScriptedSlave(socketPath);
        defer(() => s.close());
        await s.handshake({ id: 0, log2RingSize: 4 });
        await master.waitForConnect();
        const sent = Array.from({ length: 6 }, (_, i) => packet(`scripted ${i} ${how}`, 200 + 300 * i));
        s.sendS2M(sent);
        const rb = await firstBurst(() => master.rxBurstZeroCopy(0));
        assert.equal(rb.count, sent.length);
        const views = sharedViews(rb);
        const pool = heldPool(defer);
        const during = startConsumers(views, tmp.dir, 'scripted-during');
        hangUp(s);
        const o = await reports.first();
        assert.equal(o.kind, 'disconnect');
        if (how.startsWith('sends')) assert.match(o.reason, /scripted slave leaves mid-burst/);
        else assert.ok(o.reason.length > 0);
        await pool.unblock();
        const afterDown = startConsumers(views, tmp.dir, 'scripted-after');
        await checkConsumers(during, sent, 'started before the hang-up');
        await checkConsumers(afterDown, sent, 'started after the disconnect');
        await bystander.check(`scripted slave ${how}`);
        await assertHeld(base, `scripted slave ${how}`);
        rb.release();
        assert.equal(snapshot().addonMappings, base.addonMappings, 'release() unmapped at once');
        await assertAllBack(base, `scripted slave ${how}`);
      }),
    );
  }
});
