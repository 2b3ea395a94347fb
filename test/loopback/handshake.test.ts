// Handshake of a master and a slave Memif in one process (plus a child process where a second
// listener is needed): secrets, mode and id refusals, several interfaces on one socket, abstract and
// stale sockets, asymmetric queue counts, run-time rx mode switches and disconnect reasons.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, readdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { type DisconnectInfo, type Logger, Memif, MemifError, type MemifOptions } from '../../src/index.js';
import { computeLayout } from '../../src/shm/layout.js';
import { abstractName, type TempDir, tempDir } from '../helpers/tmp.js';
import { receive } from '../helpers/traffic.js';

const T = { timeout: 60_000 };

/** Distinct, recognisable packet bytes. */
function pkt(tag: number, i: number, len = 64 + ((tag * 37 + i * 11) % 900)): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (tag * 131 + i * 17 + k * 7) & 0xff;
  b.writeUInt32LE(tag, 0);
  b.writeUInt32LE(i, 4);
  return b;
}

/** Sends `packets` on `tx` queue `txq` and checks that `rx` queue `rxq` gets exactly those bytes. */
async function pass(tx: Memif, rx: Memif, packets: Buffer[], txq = 0, rxq = 0): Promise<void> {
  assert.equal(tx.txBurst(txq, packets), packets.length);
  const got = await receive(rx, rxq, packets.length);
  assert.equal(got.length, packets.length);
  for (let i = 0; i < packets.length; i++) assert.ok(got[i].equals(packets[i]), `packet ${i} differs`);
  // Nothing more than what was sent.
  await tick();
  assert.deepEqual(rx.rxBurst(rxq), []);
}

function nextError(m: Memif): Promise<MemifError> {
  return once(m, 'error').then(([e]) => e as MemifError);
}

/** A logger that records every call. */
function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const rec = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

/** Resolves once `logger` has seen `message`. */
async function logged(logger: ReturnType<typeof recordingLogger>, message: string): Promise<void> {
  while (!logger.lines.some((l) => l.message === message)) await sleep(5);
}

async function closeAll(...ms: (Memif | undefined)[]): Promise<void> {
  for (const m of ms) await m?.close();
}

const indexUrl = new URL('../../src/index.js', import.meta.url).href;

interface Child {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<void>;
}

/** Runs `code` (an ES module importing memif-ts from `indexUrl`) in a child node process. */
function runChild(code: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c: Child = { proc, stdout: '', stderr: '', exited: once(proc, 'exit').then(() => undefined) };
  proc.stdout?.on('data', (d: Buffer) => {
    c.stdout += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    c.stderr += d.toString();
  });
  return c;
}

/** Rejects as soon as `child` exits, naming what it printed on stderr. */
function childDeath(child: Child, what: string): Promise<never> {
  return child.exited.then(() => {
    throw new Error(
      `${what}: child exited (code ${child.proc.exitCode}, signal ${child.proc.signalCode}); stderr: ${child.stderr.trim()}`,
    );
  });
}

/** A master Memif in a child process; resolves once it listens. */
async function childMaster(socketPath: string): Promise<Child> {
  const code = `
    import { Memif } from ${JSON.stringify(indexUrl)};
    const m = await Memif.create({ role: 'master', socketPath: process.argv[1], instanceName: 'child' });
    m.on('error', () => {});
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1 << 30);
  `;
  const child = runChild(code, [socketPath]);
  const ready = (async () => {
    while (!child.stdout.includes('ready') && child.proc.exitCode === null && child.proc.signalCode === null) {
      await sleep(5);
    }
  })();
  await Promise.race([ready, childDeath(child, 'child master before listening')]);
  return child;
}

async function kill(child: Child, signal: NodeJS.Signals): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill(signal);
  await child.exited;
}

describe('handshake between a master and a slave in one process', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const secret of [undefined, 's3cret-pass'] as const) {
    test(`connects ${secret ? 'with a matching secret' : 'without a secret'}; details() on both sides`, T, async () => {
      const socketPath = tmp.socket(`details-${secret ? 'secret' : 'plain'}.sock`);
      const common: Partial<MemifOptions> = { socketPath, id: 7, log2RingSize: 8, bufferSize: 1024, mode: 'ip' };
      if (secret) common.secret = secret;
      const master = await Memif.create({
        role: 'master',
        ...common,
        interfaceName: 'm-if',
        instanceName: 'm-inst',
        rxQueues: 3,
        txQueues: 2,
      });
      const slave = await Memif.create({
        role: 'slave',
        ...common,
        interfaceName: 's-if',
        instanceName: 's-inst',
        rxQueues: 2,
        txQueues: 3,
      });
      try {
        await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
        const md = master.details();
        const sd = slave.details();
        assert.equal(md.linkUp, true);
        assert.equal(sd.linkUp, true);
        assert.equal(md.role, 'master');
        assert.equal(sd.role, 'slave');
        assert.equal(md.id, 7);
        assert.equal(sd.id, 7);
        assert.equal(md.mode, 'ip');
        assert.equal(sd.mode, 'ip');
        assert.equal(md.socketPath, socketPath);
        assert.equal(md.remoteName, 's-inst');
        assert.equal(md.remoteInterfaceName, 's-if');
        assert.equal(sd.remoteName, 'm-inst');
        assert.equal(sd.remoteInterfaceName, 'm-if');
        assert.equal(md.interfaceName, 'm-if');
        assert.equal(sd.instanceName, 's-inst');
        // One region, made by the slave, seen by both with the size of §7.5.
        const layout = computeLayout({ numS2M: 3, numM2S: 2, log2RingSize: 8, bufferSize: 1024, cacheLineSize: 64 });
        assert.ok(md.regions.length > 0);
        assert.ok(sd.regions.length > 0);
        assert.deepEqual(sd.regions, [{ index: 0, size: layout.regionSize }]);
        assert.deepEqual(md.regions, sd.regions);
        // Slave tx = master rx = S2M (3 rings); slave rx = master tx = M2S (2 rings).
        assert.equal(sd.txQueues.length, 3);
        assert.equal(sd.rxQueues.length, 2);
        assert.equal(md.rxQueues.length, 3);
        assert.equal(md.txQueues.length, 2);
        for (const q of [...md.rxQueues, ...md.txQueues, ...sd.rxQueues, ...sd.txQueues]) {
          assert.equal(q.ringSize, 2 ** 8);
        }
        assert.deepEqual(
          md.rxQueues.map((q) => q.ringType),
          ['S2M', 'S2M', 'S2M'],
        );
        assert.deepEqual(
          sd.rxQueues.map((q) => q.ringType),
          ['M2S', 'M2S'],
        );
        assert.equal(md.peerCredentials?.pid, process.pid);
        assert.equal(sd.peerCredentials?.pid, process.pid);
        assert.equal(md.peerCredentials?.uid, process.getuid?.());
        await pass(slave, master, [pkt(1, 0), pkt(1, 1)], 2, 2);
        await pass(master, slave, [pkt(2, 0)], 1, 1);
      } finally {
        await closeAll(slave, master);
      }
    });
  }

  test(
    'waitForConnect: a timeout or an abort signal bounds the wait; a peer that comes in time resolves it',
    T,
    async () => {
      const socketPath = tmp.socket('wait-bound.sock');
      const master = await Memif.create({ role: 'master', socketPath });
      try {
        const base = { connect: master.listenerCount('connect'), close: master.listenerCount('close') };
        // Nobody comes: the timeout rejects with MEMIF_ERR_NOCONN and leaves no listener behind.
        await assert.rejects(master.waitForConnect({ timeoutMs: 30 }), (e: unknown) => {
          assert.ok(e instanceof MemifError);
          assert.equal(e.errorName, 'MEMIF_ERR_NOCONN');
          assert.match(e.message, /within 30 ms/);
          return true;
        });
        const ac = new AbortController();
        const aborted = master.waitForConnect({ signal: ac.signal });
        ac.abort(new Error('gave up'));
        await assert.rejects(aborted, /gave up/);
        await assert.rejects(master.waitForConnect({ signal: AbortSignal.abort(new Error('already')) }), /already/);
        for (const timeoutMs of [-1, Number.NaN, 2 ** 31, 3e9]) {
          await assert.rejects(master.waitForConnect({ timeoutMs }), (e: unknown) => {
            assert.ok(e instanceof MemifError);
            assert.equal(e.errorName, 'MEMIF_ERR_INVAL_ARG', `timeoutMs ${timeoutMs}`);
            return true;
          });
        }
        assert.deepEqual(
          { connect: master.listenerCount('connect'), close: master.listenerCount('close') },
          base,
          'no listener left by the waits that gave up',
        );
        // A slave that comes within the bound: the wait resolves, on both sides.
        const waiting = master.waitForConnect({ timeoutMs: 30_000, signal: new AbortController().signal });
        const unbounded = master.waitForConnect({ timeoutMs: Number.POSITIVE_INFINITY });
        const slave = await Memif.create({ role: 'slave', socketPath });
        try {
          await Promise.all([waiting, unbounded, slave.waitForConnect({ timeoutMs: 30_000 })]);
          assert.equal(master.connected, true);
          await pass(slave, master, [pkt(9, 0)]);
        } finally {
          await slave.close();
        }
      } finally {
        await master.close();
      }
    },
  );

  test('wrong secret: both sides report MEMIF_ERR_SECRET, the master then accepts the right one', T, async () => {
    const socketPath = tmp.socket('wrong-secret.sock');
    const master = await Memif.create({ role: 'master', socketPath, secret: 'right' });
    const masterError = nextError(master);
    const log = recordingLogger();
    const bad = await Memif.create({
      role: 'slave',
      socketPath,
      secret: 'wrong',
      reconnectIntervalMs: 10,
      logger: log,
    });
    let good: Memif | undefined;
    let badConnects = 0;
    bad.on('connect', () => badConnects++);
    try {
      const se = await nextError(bad);
      assert.ok(se instanceof MemifError);
      assert.equal(se.errorName, 'MEMIF_ERR_SECRET');
      assert.equal(se.code, 29);
      const me = await masterError;
      assert.ok(me instanceof MemifError);
      assert.equal(me.errorName, 'MEMIF_ERR_SECRET');
      // The slave retries (the repeated failure is logged at debug level) and is refused again.
      await logged(log, 'memif: again');
      assert.equal(bad.connected, false);
      assert.equal(badConnects, 0);
      assert.equal(master.connected, false);
      await bad.close();

      good = await Memif.create({ role: 'slave', socketPath, secret: 'right' });
      await Promise.all([master.waitForConnect(), good.waitForConnect()]);
      await pass(good, master, [pkt(3, 0), pkt(3, 1, 1500)]);
      await pass(master, good, [pkt(4, 0, 2000)]);
    } finally {
      await closeAll(bad, good, master);
    }
  });

  test('slave without a secret against a master with one: MEMIF_ERR_NOSECRET', T, async () => {
    const socketPath = tmp.socket('no-secret.sock');
    const master = await Memif.create({ role: 'master', socketPath, secret: 'needed' });
    const masterError = nextError(master);
    const slave = await Memif.create({ role: 'slave', socketPath });
    try {
      const se = await nextError(slave);
      assert.equal(se.errorName, 'MEMIF_ERR_NOSECRET');
      assert.equal(se.code, 30);
      assert.equal((await masterError).errorName, 'MEMIF_ERR_NOSECRET');
      assert.equal(slave.connected, false);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('23-byte secret (the longest) connects', T, async () => {
    const socketPath = tmp.socket('long-secret.sock');
    const secret = `${'x'.repeat(22)}y`;
    const master = await Memif.create({ role: 'master', socketPath, secret });
    const slave = await Memif.create({ role: 'slave', socketPath, secret });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      await pass(slave, master, [pkt(5, 0)]);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('mode mismatch: slave error MEMIF_ERR_MODE', T, async () => {
    const socketPath = tmp.socket('mode.sock');
    const master = await Memif.create({ role: 'master', socketPath, mode: 'ip' });
    const masterError = nextError(master);
    const slave = await Memif.create({ role: 'slave', socketPath, mode: 'ethernet' });
    try {
      const se = await nextError(slave);
      assert.equal(se.errorName, 'MEMIF_ERR_MODE');
      assert.equal(se.code, 28);
      assert.equal((await masterError).errorName, 'MEMIF_ERR_MODE');
      assert.equal(slave.connected, false);
      assert.equal(master.connected, false);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('unknown id: slave error MEMIF_ERR_ID', T, async () => {
    const socketPath = tmp.socket('id.sock');
    const master = await Memif.create({ role: 'master', socketPath, id: 0 });
    const slave = await Memif.create({ role: 'slave', socketPath, id: 5 });
    try {
      const se = await nextError(slave);
      assert.equal(se.errorName, 'MEMIF_ERR_ID');
      assert.equal(se.code, 25);
      assert.equal(slave.connected, false);
      assert.equal(master.connected, false);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('three interfaces on one socket: each pair gets its own bytes; closing one leaves the others', T, async () => {
    const socketPath = tmp.socket('many.sock');
    const ids = [0, 1, 2];
    const masters: Memif[] = [];
    const slaves: Memif[] = [];
    try {
      for (const id of ids)
        masters.push(await Memif.create({ role: 'master', socketPath, id, interfaceName: `m${id}` }));
      for (const id of ids) {
        const s = await Memif.create({
          role: 'slave',
          socketPath,
          id,
          interfaceName: `s${id}`,
          reconnectIntervalMs: 20,
        });
        s.on('error', () => {});
        slaves.push(s);
      }
      await Promise.all([...masters, ...slaves].map((m) => m.waitForConnect()));
      for (const id of ids) {
        assert.equal(masters[id].details().remoteInterfaceName, `s${id}`);
        assert.equal(slaves[id].details().remoteInterfaceName, `m${id}`);
      }
      // Send on every master first, then read: a slave that got another pair's ring would see
      // that pair's tag.
      const down = ids.map((id) => [pkt(10 + id, 0), pkt(10 + id, 1), pkt(10 + id, 2)]);
      const up = ids.map((id) => [pkt(20 + id, 0), pkt(20 + id, 1)]);
      for (const id of ids) assert.equal(masters[id].txBurst(0, down[id]), 3);
      for (const id of ids) assert.equal(slaves[id].txBurst(0, up[id]), 2);
      for (const id of ids) {
        const got = await receive(slaves[id], 0, 3);
        assert.deepEqual(
          got.map((b) => b.readUInt32LE(0)),
          [10 + id, 10 + id, 10 + id],
        );
        for (let i = 0; i < 3; i++) assert.ok(got[i].equals(down[id][i]));
        const back = await receive(masters[id], 0, 2);
        for (let i = 0; i < 2; i++) assert.ok(back[i].equals(up[id][i]));
      }
      for (const id of ids) {
        assert.deepEqual(slaves[id].rxBurst(0), []);
        assert.deepEqual(masters[id].rxBurst(0), []);
      }

      // Close master 1: only slave 1 goes down.
      const gone = once(slaves[1], 'disconnect');
      let otherDisconnects = 0;
      for (const id of [0, 2]) slaves[id].on('disconnect', () => otherDisconnects++);
      await masters[1].close();
      await gone;
      assert.equal(slaves[1].connected, false);
      for (const id of [0, 2]) {
        assert.equal(slaves[id].connected, true);
        assert.equal(masters[id].connected, true);
        await pass(masters[id], slaves[id], [pkt(30 + id, 0)]);
        await pass(slaves[id], masters[id], [pkt(40 + id, 0)]);
      }
      assert.equal(otherDisconnects, 0);

      // An id already served on this socket cannot be registered twice.
      await assert.rejects(Memif.create({ role: 'master', socketPath, id: 2 }), (e: unknown) => {
        assert.ok(e instanceof MemifError);
        assert.equal(e.errorName, 'MEMIF_ERR_ALREADY_INIT');
        return true;
      });
      // …and the failed attempt did not disturb the interface that holds the id.
      await pass(masters[2], slaves[2], [pkt(50, 0)]);
    } finally {
      await closeAll(...slaves, ...masters);
    }
  });

  test('a second slave for a connected id is refused with MEMIF_ERR_ALRCONN; the first pair goes on', T, async () => {
    const socketPath = tmp.socket('alrconn.sock');
    const master = await Memif.create({ role: 'master', socketPath });
    const first = await Memif.create({ role: 'slave', socketPath });
    let second: Memif | undefined;
    try {
      await Promise.all([master.waitForConnect(), first.waitForConnect()]);
      let masterDisconnects = 0;
      master.on('disconnect', () => masterDisconnects++);
      second = await Memif.create({ role: 'slave', socketPath });
      const e = await nextError(second);
      assert.equal(e.errorName, 'MEMIF_ERR_ALRCONN');
      assert.equal(e.code, 27);
      assert.equal(second.connected, false);
      assert.equal(first.connected, true);
      assert.equal(masterDisconnects, 0);
      await pass(first, master, [pkt(60, 0), pkt(60, 1)]);
      await pass(master, first, [pkt(61, 0)]);
    } finally {
      await closeAll(second, first, master);
    }
  });

  test('abstract socket: connects, passes packets, leaves no file', T, async () => {
    const socketPath = abstractName('hs');
    const before = readdirSync(tmp.dir);
    const master = await Memif.create({ role: 'master', socketPath });
    const slave = await Memif.create({ role: 'slave', socketPath });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      await pass(slave, master, [pkt(70, 0), pkt(70, 1)]);
      await pass(master, slave, [pkt(71, 0)]);
      assert.deepEqual(readdirSync(tmp.dir), before);
      assert.equal(existsSync(socketPath), false);
      assert.equal(existsSync(socketPath.slice(1)), false);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('a live listener in another process: create rejects with MEMIF_ERR_ALREADY', T, async () => {
    const socketPath = tmp.socket('live.sock');
    const child = await childMaster(socketPath);
    let slave: Memif | undefined;
    try {
      assert.ok(lstatSync(socketPath).isSocket());
      await assert.rejects(Memif.create({ role: 'master', socketPath }), (e: unknown) => {
        assert.ok(e instanceof MemifError);
        assert.equal(e.errorName, 'MEMIF_ERR_ALREADY');
        return true;
      });
      assert.ok(lstatSync(socketPath).isSocket(), 'the live socket file is left alone');
      // The probe did not hurt the other process: a slave still reaches it.
      // (BUG: the child master dies of an uncaught EPIPE when the probe hangs up before HELLO; see
      // the test 'a peer that hangs up before HELLO does not crash the master process'.)
      slave = await Memif.create({ role: 'slave', socketPath });
      await Promise.race([slave.waitForConnect(), childDeath(child, 'the live master after the probe')]);
      assert.equal(slave.details().peerCredentials?.pid, child.proc.pid);
      assert.equal(slave.details().remoteName, 'child');
    } finally {
      await closeAll(slave);
      await kill(child, 'SIGKILL');
    }
  });

  test('an abstract name served by another process: create rejects, the other master is unharmed', T, async () => {
    const socketPath = abstractName('busy');
    const child = await childMaster(socketPath);
    let slave: Memif | undefined;
    try {
      // No file to probe here: bind() fails (EADDRINUSE). The code is MEMIF_ERR_SYSCALL today;
      // MEMIF_ERR_ALREADY, as for a live socket file, would be more consistent (see report).
      await assert.rejects(Memif.create({ role: 'master', socketPath }), (e: unknown) => {
        assert.ok(e instanceof MemifError);
        assert.ok(['MEMIF_ERR_ALREADY', 'MEMIF_ERR_SYSCALL'].includes(e.errorName), e.errorName);
        return true;
      });
      slave = await Memif.create({ role: 'slave', socketPath });
      await Promise.race([slave.waitForConnect(), childDeath(child, 'the abstract master')]);
      assert.equal(slave.details().peerCredentials?.pid, child.proc.pid);
    } finally {
      await closeAll(slave);
      await kill(child, 'SIGKILL');
    }
  });

  test('a stale socket file (its master was SIGKILLed) is replaced by a new master', T, async () => {
    const socketPath = tmp.socket('stale.sock');
    const child = await childMaster(socketPath);
    await kill(child, 'SIGKILL');
    assert.ok(lstatSync(socketPath).isSocket(), 'the killed master left its socket file');
    const master = await Memif.create({ role: 'master', socketPath, instanceName: 'parent' });
    const slave = await Memif.create({ role: 'slave', socketPath });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      assert.equal(slave.details().peerCredentials?.pid, process.pid);
      assert.equal(slave.details().remoteName, 'parent');
      await pass(slave, master, [pkt(80, 0)]);
      await pass(master, slave, [pkt(81, 0)]);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('a peer that hangs up before HELLO does not crash the master process', T, async () => {
    // Run in a child: with the bug, the uncaught EPIPE would kill this test process.
    const code = `
      import { Memif } from ${JSON.stringify(indexUrl)};
      const socketPath = process.argv[1];
      const master = await Memif.create({ role: 'master', socketPath });
      master.on('error', () => {});
      // A slave that connects and closes at once: its socket is gone when the master accepts.
      const quitter = await Memif.create({ role: 'slave', socketPath });
      await quitter.close();
      await new Promise((r) => setTimeout(r, 100));
      // The master still serves a well-behaved slave.
      const slave = await Memif.create({ role: 'slave', socketPath });
      await slave.waitForConnect();
      slave.txBurst(0, [Buffer.from('after the quitter')]);
      let got = [];
      while (got.length === 0) {
        got = master.rxBurst(0);
        await new Promise((r) => setImmediate(r));
      }
      process.stdout.write('received ' + got[0].toString() + '\\n');
      await slave.close();
      await master.close();
    `;
    const child = runChild(code, [tmp.socket('quitter.sock')]);
    await child.exited;
    assert.equal(
      child.proc.exitCode,
      0,
      `the master process died (code ${child.proc.exitCode}, signal ${child.proc.signalCode}): ${child.stderr.trim()}`,
    );
    assert.equal(child.stdout.trim(), 'received after the quitter');
  });

  test('a regular file at the socket path: MEMIF_ERR_FILE_NOT_SOCK', T, async () => {
    const socketPath = tmp.socket('regular-file');
    writeFileSync(socketPath, 'not a socket');
    await assert.rejects(Memif.create({ role: 'master', socketPath }), (e: unknown) => {
      assert.ok(e instanceof MemifError);
      assert.equal(e.errorName, 'MEMIF_ERR_FILE_NOT_SOCK');
      return true;
    });
    assert.ok(lstatSync(socketPath).isFile(), 'the file is left alone');
  });

  test('rx and tx queue counts are independent; master tx queue 2 arrives on slave rx queue 2', T, async () => {
    const socketPath = tmp.socket('queues.sock');
    const master = await Memif.create({ role: 'master', socketPath, rxQueues: 1, txQueues: 3 });
    const slave = await Memif.create({ role: 'slave', socketPath, rxQueues: 3, txQueues: 1 });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      assert.equal(master.rxQueueCount, 1);
      assert.equal(master.txQueueCount, 3);
      assert.equal(slave.rxQueueCount, 3);
      assert.equal(slave.txQueueCount, 1);
      assert.equal(master.details().txQueues.length, 3);
      assert.equal(slave.details().rxQueues.length, 3);
      const p = [pkt(90, 0), pkt(90, 1)];
      assert.equal(master.txBurst(2, p), 2);
      const got = await receive(slave, 2, 2);
      assert.ok(got[0].equals(p[0]) && got[1].equals(p[1]));
      assert.deepEqual(slave.rxBurst(0), []);
      assert.deepEqual(slave.rxBurst(1), []);
      await pass(slave, master, [pkt(91, 0)]);
      assert.equal(master.details().txQueues[2].packets, 2);
      assert.equal(master.details().txQueues[0].packets, 0);
    } finally {
      await closeAll(slave, master);
    }
  });

  test('setRxMode at run time: polling gets no interrupt events, interrupt mode gets them again', T, async () => {
    const socketPath = tmp.socket('rxmode.sock');
    const master = await Memif.create({ role: 'master', socketPath });
    const slave = await Memif.create({ role: 'slave', socketPath });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      slave.setRxMode(0, 'polling');
      assert.equal(slave.details().rxQueues[0].rxMode, 'polling');
      const interrupts: number[] = [];
      slave.on('interrupt', (q) => interrupts.push(q));
      const a = pkt(100, 0);
      assert.equal(master.txBurst(0, [a]), 1);
      await sleep(50);
      assert.deepEqual(interrupts, [], 'no interrupt in polling mode');
      const got = slave.rxBurst(0);
      assert.equal(got.length, 1);
      assert.ok(got[0].equals(a));

      // A packet queued while polling is announced by the switch back to interrupt mode.
      const b = pkt(100, 1);
      assert.equal(master.txBurst(0, [b]), 1);
      const firstInterrupt = once(slave, 'interrupt');
      slave.setRxMode(0, 'interrupt');
      assert.deepEqual(await firstInterrupt, [0]);
      const gotB = slave.rxBurst(0);
      assert.equal(gotB.length, 1);
      assert.ok(gotB[0].equals(b));

      // And a new packet raises an interrupt from the eventfd.
      const c = pkt(100, 2);
      const next = once(slave, 'interrupt');
      assert.equal(master.txBurst(0, [c]), 1);
      assert.deepEqual(await next, [0]);
      const gotC = await receive(slave, 0, 1);
      assert.ok(gotC[0].equals(c));
      assert.equal(slave.details().rxQueues[0].rxMode, 'interrupt');
    } finally {
      await closeAll(slave, master);
    }
  });

  test("the master's close reaches the slave as 'interface deleted'", T, async () => {
    const socketPath = tmp.socket('reason.sock');
    const master = await Memif.create({ role: 'master', socketPath });
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 60_000 });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      assert.equal(slave.details().lastDisconnectReason, undefined);
      const disconnected = once(slave, 'disconnect');
      await master.close();
      const [info] = (await disconnected) as [DisconnectInfo];
      assert.match(info.reason, /interface deleted/);
      assert.ok(info.error instanceof MemifError);
      const d = slave.details();
      assert.equal(d.linkUp, false);
      assert.match(d.lastDisconnectReason ?? '', /interface deleted/);
      assert.equal(d.remoteName, '');
      assert.equal(d.peerCredentials, undefined);
      assert.match(master.details().lastDisconnectReason ?? '', /interface deleted/);
      // The master's socket file went with its last interface.
      assert.equal(existsSync(socketPath), false);
    } finally {
      await closeAll(slave, master);
    }
  });
});
