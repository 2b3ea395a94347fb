// Argument checking: Memif.create rejects every bad option with an InvalidArgumentError naming the
// option; txBurst / rxBurst / setRxMode reject bad queue ids and packets (MEMIF_ERR_QID / _INVAL_ARG)
// and refuse to run unconnected or closed (StateError MEMIF_ERR_NOCONN); a custom logger is used.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  ErrorCodes,
  InvalidArgumentError,
  type Logger,
  Memif,
  MemifError,
  type MemifOptions,
  StateError,
} from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { receive } from '../helpers/traffic.js';

const T = { timeout: 60_000 };

/** Checks that `p` rejects with an InvalidArgumentError whose message matches `message`. */
async function rejectsInval(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
    assert.ok(e instanceof MemifError);
    assert.equal(e.errorName, 'MEMIF_ERR_INVAL_ARG');
    assert.equal(e.code, ErrorCodes.MEMIF_ERR_INVAL_ARG);
    assert.equal(e.code, 11);
    assert.match(e.message, message);
    return true;
  });
}

/** Checks that `fn` throws a MemifError with `name` (and, if given, of class `cls`). */
function throwsMemif(fn: () => unknown, name: string, cls?: abstract new (...a: never[]) => MemifError): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MemifError, `expected MemifError, got ${String(e)}`);
    if (cls) assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}`);
    assert.equal(e.errorName, name);
    return true;
  });
}

describe('Memif.create option checks', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  // Options that are checked before any socket is touched, so socketPath need not exist.
  const base = (): MemifOptions => ({ role: 'slave', socketPath: tmp.socket('never.sock') });
  const bad = (extra: Record<string, unknown>): MemifOptions => ({ ...base(), ...extra }) as MemifOptions;

  test('role: missing or unknown', async () => {
    await rejectsInval(Memif.create({ socketPath: tmp.socket() } as unknown as MemifOptions), /'role'/);
    await rejectsInval(Memif.create(bad({ role: 'server' })), /'role'.*'master', 'slave'.*"server"/);
    await rejectsInval(Memif.create(undefined as unknown as MemifOptions), /options must be an object/);
  });

  for (const id of [-1, 2 ** 32, 1.5, Number.NaN, '3']) {
    test(`id ${typeof id === 'string' ? `'${id}'` : String(id)}`, async () => {
      await rejectsInval(Memif.create(bad({ id })), /'id'/);
    });
  }

  for (const [key, values] of [
    ['rxQueues', [0, 256, 1.5]],
    ['txQueues', [0, 256]],
    ['log2RingSize', [0, 15]],
    ['bufferSize', [0, 65536]],
    ['cacheLineSize', [32, 96, 256]],
    ['reconnectIntervalMs', [0]],
    ['handshakeTimeoutMs', [0]],
  ] as const) {
    for (const v of values) {
      test(`${key} ${v}`, async () => {
        await rejectsInval(Memif.create(bad({ [key]: v })), new RegExp(`'${key}'`));
      });
    }
  }

  test("secret: '' and 24 bytes are refused, 23 bytes accepted", async () => {
    await rejectsInval(Memif.create(bad({ secret: '' })), /'secret'/);
    await rejectsInval(Memif.create(bad({ secret: 'a'.repeat(24) })), /'secret'.*23 bytes/);
    // 24 bytes of UTF-8 in fewer characters is still too long.
    await rejectsInval(Memif.create(bad({ secret: 'é'.repeat(12) })), /'secret'/);
    await rejectsInval(Memif.create(bad({ secret: 'a\0b' })), /'secret'/);
    // The 23-byte secret is used whole: a slave with it connects (memif.options never shows it).
    const path = tmp.socket('secret23.sock');
    const m = await Memif.create({ role: 'master', socketPath: path, secret: 'a'.repeat(23) });
    const s = await Memif.create({ role: 'slave', socketPath: path, secret: 'a'.repeat(23) });
    try {
      await s.waitForConnect({ timeoutMs: 10_000 });
      assert.equal('secret' in m.options, false);
    } finally {
      await s.close();
      await m.close();
    }
  });

  test("unknown option 'ringSize' hints at log2RingSize", async () => {
    await rejectsInval(Memif.create(bad({ ringSize: 1024 })), /'ringSize'.*log2RingSize/);
    await rejectsInval(Memif.create(bad({ colour: 'blue' })), /unknown option 'colour'/);
  });

  test('socketPath: empty, bare @, and longer than sun_path', async () => {
    await rejectsInval(Memif.create(bad({ socketPath: '' })), /'socketPath'/);
    await rejectsInval(Memif.create(bad({ socketPath: '@' })), /'socketPath'/);
    await rejectsInval(Memif.create(bad({ socketPath: `/tmp/${'x'.repeat(195)}` })), /'socketPath'.*107 bytes/);
    await rejectsInval(Memif.create(bad({ socketPath: `@${'x'.repeat(108)}` })), /'socketPath'/);
    await rejectsInval(Memif.create(bad({ socketPath: '/tmp/a\0b' })), /'socketPath'/);
  });

  test('interfaceName / instanceName longer than 31 bytes', async () => {
    await rejectsInval(Memif.create(bad({ interfaceName: 'i'.repeat(40) })), /'interfaceName'/);
    await rejectsInval(Memif.create(bad({ interfaceName: 'i'.repeat(32) })), /'interfaceName'/);
    await rejectsInval(Memif.create(bad({ instanceName: 'n'.repeat(32) })), /'instanceName'/);
    await rejectsInval(Memif.create(bad({ interfaceName: 42 })), /'interfaceName'/);
  });

  test("rxMode 'adaptive', mode 'tap'", async () => {
    await rejectsInval(Memif.create(bad({ rxMode: 'adaptive' })), /'rxMode'.*"adaptive"/);
    await rejectsInval(Memif.create(bad({ mode: 'tap' })), /'mode'/);
  });

  test('logger without methods', async () => {
    await rejectsInval(Memif.create(bad({ logger: {} })), /'logger'/);
    await rejectsInval(
      Memif.create(bad({ logger: { debug() {}, info() {}, warn() {} } })),
      /'logger' must have a error\(\) method/,
    );
    await rejectsInval(Memif.create(bad({ logger: 'console' })), /'logger'/);
  });

  test('a slave whose region would pass 4 GiB', async () => {
    await rejectsInval(
      Memif.create(bad({ rxQueues: 255, txQueues: 255, log2RingSize: 14, bufferSize: 65535 })),
      /4 GiB/,
    );
    // Just above the limit: 2 + 2 rings of 2^14 × 65535-byte buffers (4 GiB − 64 KiB) plus 1 MiB of rings.
    await rejectsInval(Memif.create(bad({ rxQueues: 2, txQueues: 2, log2RingSize: 14, bufferSize: 65535 })), /4 GiB/);
  });

  test('maxima are accepted', async () => {
    const m = await Memif.create({
      role: 'master',
      socketPath: tmp.socket('max.sock'),
      id: 2 ** 32 - 1,
      rxQueues: 255,
      txQueues: 255,
      log2RingSize: 14,
      bufferSize: 65535,
      interfaceName: 'i'.repeat(31),
      instanceName: 'n'.repeat(31),
      cacheLineSize: 128,
    });
    assert.equal(m.options.id, 2 ** 32 - 1);
    assert.equal(m.rxQueueCount, 255);
    await m.close();
  });
});

describe('data-path argument checks', () => {
  let tmp: TempDir;
  let master: Memif;
  let slave: Memif;
  before(async () => {
    tmp = tempDir();
    const socketPath = tmp.socket('args.sock');
    master = await Memif.create({ role: 'master', socketPath, rxQueues: 2, txQueues: 2, log2RingSize: 4 });
    slave = await Memif.create({ role: 'slave', socketPath, rxQueues: 2, txQueues: 2, log2RingSize: 4 });
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
  });
  after(async () => {
    await slave.close();
    await master.close();
    tmp.remove();
  });

  test('bad queue id: MEMIF_ERR_QID', T, () => {
    const p = [Buffer.from('x')];
    for (const m of [master, slave]) {
      for (const q of [2, -1, 1.5, 255]) {
        throwsMemif(() => m.txBurst(q, p), 'MEMIF_ERR_QID', InvalidArgumentError);
        throwsMemif(() => m.rxBurst(q), 'MEMIF_ERR_QID', InvalidArgumentError);
        throwsMemif(() => m.setRxMode(q, 'polling'), 'MEMIF_ERR_QID', InvalidArgumentError);
      }
    }
  });

  test('bad packets and counts: MEMIF_ERR_INVAL_ARG, and nothing of the burst is sent', T, async () => {
    for (const [tx, rx] of [
      [master, slave],
      [slave, master],
    ] as const) {
      const good = Buffer.from('good packet');
      throwsMemif(() => tx.txBurst(0, [Buffer.alloc(0)]), 'MEMIF_ERR_INVAL_ARG', InvalidArgumentError);
      throwsMemif(() => tx.txBurst(0, [good, Buffer.alloc(0)]), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => tx.txBurst(0, ['text' as unknown as Buffer]), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => tx.txBurst(0, [good, null as unknown as Buffer]), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => tx.txBurst(0, good as unknown as Buffer[]), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => tx.txBurst(0, [good], 2), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => tx.txBurst(0, [good], -1), 'MEMIF_ERR_INVAL_ARG');
      // Larger than the whole ring (16 slots × 2048 bytes) can never be sent.
      throwsMemif(() => tx.txBurst(0, [Buffer.alloc(16 * 2048 + 1)]), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => rx.rxBurst(0, 0), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => rx.rxBurst(0, 1.5), 'MEMIF_ERR_INVAL_ARG');
      throwsMemif(() => rx.setRxMode(0, 'adaptive' as 'polling'), 'MEMIF_ERR_INVAL_ARG');
      // None of the refused bursts put anything on the ring: the next packet is the first to arrive.
      assert.equal(tx.txBurst(0, [Buffer.from('after')]), 1);
      const got = await receive(rx, 0, 1);
      assert.equal(got[0].toString(), 'after');
      await tick();
      assert.deepEqual(rx.rxBurst(0), []);
      // count 0 is allowed and sends nothing; a Uint8Array is accepted as well as a Buffer.
      assert.equal(tx.txBurst(0, [good], 0), 0);
      assert.equal(tx.txBurst(1, [new Uint8Array([1, 2, 3])]), 1);
      const u8 = await receive(rx, 1, 1);
      assert.deepEqual([...u8[0]], [1, 2, 3]);
    }
    assert.equal(master.connected, true);
    assert.equal(slave.connected, true);
  });

  test('a never-connected slave: StateError MEMIF_ERR_NOCONN, also after close()', T, async () => {
    const lonely = await Memif.create({ role: 'slave', socketPath: tmp.socket('nobody.sock') });
    try {
      assert.equal(lonely.connected, false);
      throwsMemif(() => lonely.txBurst(0, [Buffer.from('x')]), 'MEMIF_ERR_NOCONN', StateError);
      throwsMemif(() => lonely.rxBurst(0), 'MEMIF_ERR_NOCONN', StateError);
      // setRxMode needs no link; its queue id is checked against the configured count.
      lonely.setRxMode(0, 'polling');
      throwsMemif(() => lonely.setRxMode(1, 'polling'), 'MEMIF_ERR_QID');
      await lonely.close();
      assert.equal(lonely.closed, true);
      throwsMemif(() => lonely.txBurst(0, [Buffer.from('x')]), 'MEMIF_ERR_NOCONN', StateError);
      throwsMemif(() => lonely.rxBurst(0), 'MEMIF_ERR_NOCONN', StateError);
      await assert.rejects(lonely.waitForConnect(), (e: unknown) => {
        assert.ok(e instanceof StateError);
        assert.equal(e.errorName, 'MEMIF_ERR_NOCONN');
        return true;
      });
    } finally {
      await lonely.close();
    }
  });

  test('a connected pair after close(): MEMIF_ERR_NOCONN on both sides', T, async () => {
    const socketPath = tmp.socket('closed.sock');
    const m = await Memif.create({ role: 'master', socketPath });
    const s = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 60_000 });
    await Promise.all([m.waitForConnect(), s.waitForConnect()]);
    const down = new Promise((resolve) => m.once('disconnect', resolve));
    await s.close();
    await down;
    for (const x of [m, s]) {
      throwsMemif(() => x.txBurst(0, [Buffer.from('x')]), 'MEMIF_ERR_NOCONN', StateError);
      throwsMemif(() => x.rxBurst(0), 'MEMIF_ERR_NOCONN', StateError);
    }
    await m.close();
    throwsMemif(() => m.rxBurst(0), 'MEMIF_ERR_NOCONN', StateError);
  });
});

describe('custom logger', () => {
  test("receives 'memif: connected' and 'memif: disconnected'", T, async () => {
    const tmp = tempDir();
    const calls: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    const rec =
      (level: string) =>
      (message: string, fields?: Record<string, unknown>): void => {
        calls.push({ level, message, fields });
      };
    const logger: Logger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
    const socketPath = tmp.socket();
    const master = await Memif.create({ role: 'master', socketPath, id: 3, logger });
    const slave = await Memif.create({ role: 'slave', socketPath, id: 3, instanceName: 'logged-slave' });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      const connected = calls.find((c) => c.message === 'memif: connected');
      assert.ok(connected, `calls: ${JSON.stringify(calls)}`);
      assert.equal(connected.level, 'info');
      assert.equal(connected.fields?.id, 3);
      assert.equal(connected.fields?.role, 'master');
      assert.equal(connected.fields?.peer, 'logged-slave');
      const down = new Promise((resolve) => master.once('disconnect', resolve));
      await slave.close();
      await down;
      assert.ok(calls.some((c) => c.level === 'info' && c.message === 'memif: disconnected'));
    } finally {
      await slave.close();
      await master.close();
      tmp.remove();
    }
  });

  test('failures go to the logger when nobody listens for error', T, async () => {
    const tmp = tempDir();
    const warns: { message: string; fields?: Record<string, unknown> }[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (message, fields) => {
        warns.push({ message, fields });
      },
      error() {},
    };
    const socketPath = tmp.socket();
    const master = await Memif.create({ role: 'master', socketPath, secret: 'abc' });
    master.on('error', () => {});
    const slave = await Memif.create({ role: 'slave', socketPath, secret: 'xyz', logger });
    try {
      while (warns.length === 0) await tick();
      assert.equal(warns[0].message, 'memif: connection failed');
      assert.equal(warns[0].fields?.code, 'MEMIF_ERR_SECRET');
    } finally {
      await slave.close();
      await master.close();
      tmp.remove();
    }
  });
});
