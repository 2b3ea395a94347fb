// A careless caller's callbacks against the state machine: listeners of 'disconnect', 'close',
// 'connect', 'error', 'interrupt' and 'connectFailed' that throw, and a logger whose every method throws (or
// rejects). Rule under test: memif-ts updates its state before any user code runs, a listener's
// exception is rethrown on process.nextTick (it reaches 'uncaughtException'), and nothing of ours
// — retry, teardown, close(), the fresh link — is skipped. A logger's exception is swallowed.
// Each case also checks: the event loop kept turning, a bystander pair kept passing traffic, and
// fds and mappings are back to the baseline.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, Memif, MemifError, type MemifOptions } from '../../src/index.js';
import { native } from '../../src/native.js';
import { assertReleased, Bystander, countingLogger, exchange, Reports, until } from '../helpers/hostile.js';
import { captureUncaught, LoopWatch } from '../helpers/liveness.js';
import { snapshot } from '../helpers/resources.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const T = { timeout: 20_000 };

/** What the careless listeners throw: recognisable, so the test can tell it is the user's. */
class UserError extends Error {}

/** Connect fails: nobody listens on `path` (the file is gone). */
function nobodyListens(path: string): void {
  assert.equal(existsSync(path), false, `socket file ${path} is gone`);
  assert.throws(
    () => native().connect(path, false),
    (e: { code?: string }) => e.code === 'ENOENT',
  );
}

describe('user callbacks that throw, and a logger that throws', () => {
  let tmp: TempDir;
  const logger = countingLogger();
  let bystander: Bystander;
  let n = 0;

  before(async () => {
    tmp = tempDir('memif-callbacks-');
    bystander = await Bystander.start(tmp.socket('bystander.sock'), logger);
  });
  after(async () => {
    await bystander.close();
    tmp.remove();
  });

  /** Runs `body` with a loop watch, a capture of uncaught exceptions, and the common checks after it. */
  async function scene(label: string, body: (path: string, caught: unknown[]) => Promise<void>): Promise<unknown[]> {
    const path = tmp.socket(`s${n++}.sock`);
    const baseline = snapshot();
    const watch = new LoopWatch();
    const cap = captureUncaught();
    try {
      await body(path, cap.errors);
      // Let any exception rethrown on nextTick arrive before the capture ends.
      await sleep(1);
      await watch.assertAlive(label);
    } finally {
      cap.restore();
      watch.stop();
    }
    await bystander.check(label);
    await assertReleased(baseline, label);
    return cap.errors;
  }

  const opts = (role: 'master' | 'slave', path: string, extra: Partial<MemifOptions> = {}): MemifOptions => ({
    role,
    socketPath: path,
    logger,
    rxMode: 'polling',
    reconnectIntervalMs: 20,
    ...extra,
  });

  test('a disconnect listener that throws: the slave still reconnects to a restarted master', T, async () => {
    const thrown: UserError[] = [];
    const caught = await scene('throwing disconnect listener (slave)', async (path) => {
      let master = await Memif.create(opts('master', path));
      const slave = await Memif.create(opts('slave', path));
      slave.on('disconnect', () => {
        const e = new UserError('disconnect listener broke');
        thrown.push(e);
        throw e;
      });
      try {
        await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
        for (let round = 0; round < 3; round++) {
          await master.close();
          await until(() => !slave.connected);
          master = await Memif.create(opts('master', path));
          await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
          await exchange(master, slave, `reconnected ${round}`);
        }
      } finally {
        await slave.close();
        await master.close();
      }
    });
    assert.equal(thrown.length, 3 + 1, 'three restarts, then close() (the link was up)');
    assert.deepEqual(caught, thrown, 'each exception reached uncaughtException, and nothing else did');
  });

  test('a disconnect listener that throws on a master: the next slave is accepted', T, async () => {
    const thrown: UserError[] = [];
    const caught = await scene('throwing disconnect listener (master)', async (path) => {
      const master = await Memif.create(opts('master', path));
      master.on('disconnect', () => {
        const e = new UserError('master disconnect listener broke');
        thrown.push(e);
        throw e;
      });
      try {
        for (let round = 0; round < 3; round++) {
          const slave = await Memif.create(opts('slave', path));
          await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
          await exchange(master, slave, `slave ${round}`);
          await slave.close();
          await until(() => !master.connected);
        }
      } finally {
        master.removeAllListeners('disconnect');
        await master.close();
      }
    });
    assert.equal(thrown.length, 3);
    assert.deepEqual(caught, thrown);
  });

  test('listeners that throw during close(): socket file gone, id free, no new connection', T, async () => {
    const thrown: UserError[] = [];
    const caught = await scene('throwing listeners during close()', async (path) => {
      const master = await Memif.create(opts('master', path, { id: 7 }));
      const slave = await Memif.create(opts('slave', path, { id: 7 }));
      for (const m of [master, slave]) {
        for (const event of ['disconnect', 'close'] as const) {
          m.on(event, () => {
            const e = new UserError(`${m.options.role} ${event} listener broke`);
            thrown.push(e);
            throw e;
          });
        }
      }
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      await master.close(); // resolves: the listeners' exceptions go to uncaughtException
      assert.equal(master.closed, true);
      nobodyListens(path);
      await until(() => !slave.connected);
      // The same path and id can be registered again, and a slave connects to the new master only.
      const again = await Memif.create(opts('master', path, { id: 7 }));
      try {
        await Promise.all([again.waitForConnect(), slave.waitForConnect()]);
        await exchange(again, slave, 'after a throwing close');
      } finally {
        await slave.close();
        await again.close();
      }
      nobodyListens(path);
    });
    // master: disconnect + close; slave: disconnect (master gone), disconnect (its own close) + close.
    assert.equal(thrown.length, 5, thrown.map((e) => e.message).join('; '));
    assert.deepEqual(caught, thrown);
  });

  test('a connect listener that throws: the link stays up and passes traffic', T, async () => {
    const thrown: UserError[] = [];
    const caught = await scene('throwing connect listener', async (path) => {
      const master = await Memif.create(opts('master', path));
      const slave = await Memif.create(opts('slave', path));
      for (const m of [master, slave]) {
        m.on('connect', () => {
          const e = new UserError(`${m.options.role} connect listener broke`);
          thrown.push(e);
          throw e;
        });
      }
      try {
        await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
        await until(() => thrown.length === 2);
        assert.equal(master.connected, true);
        assert.equal(slave.connected, true);
        for (let i = 0; i < 5; i++) await exchange(master, slave, `after a throwing connect listener ${i}`);
        assert.equal(master.details().lastDisconnectReason, undefined, 'the link never went down');
        assert.equal(slave.details().lastDisconnectReason, undefined, 'the link never went down');
      } finally {
        await slave.close();
        await master.close();
      }
    });
    assert.equal(thrown.length, 2);
    assert.deepEqual(caught, thrown);
  });

  test('error and interrupt listeners that throw: reports and interrupts go on', T, async () => {
    const thrown: UserError[] = [];
    const caught = await scene('throwing error and interrupt listeners', async (path) => {
      const master = await Memif.create(opts('master', path, { secret: 'right', rxMode: 'interrupt' }));
      master.on('error', (err) => {
        const e = new UserError(`error listener broke on ${err.errorName}`);
        thrown.push(e);
        throw e;
      });
      let interrupts = 0;
      master.on('interrupt', () => {
        interrupts++;
        const e = new UserError('interrupt listener broke');
        thrown.push(e);
        throw e;
      });
      try {
        // Two refused slaves (wrong secret, no secret): each reported, the listener's throw changes nothing.
        for (const secret of ['wrong', undefined]) {
          const s = new ScriptedSlave(path);
          try {
            await s.handshake({ secret }).catch(() => undefined);
            while ((await s.next()) !== undefined) {
              // drain until the master hangs up
            }
          } finally {
            s.close();
          }
        }
        await until(() => thrown.filter((e) => e.message.startsWith('error listener')).length === 2);
        const slave = await Memif.create(opts('slave', path, { secret: 'right' }));
        try {
          await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
          for (let i = 0; i < 3; i++) {
            const before = interrupts;
            const p = Buffer.alloc(64, i + 1);
            assert.equal(slave.txBurst(0, [p]), 1);
            await until(() => interrupts > before);
            assert.deepEqual(master.rxBurst(0), [p]);
          }
        } finally {
          await slave.close();
        }
      } finally {
        master.removeAllListeners();
        await master.close();
      }
    });
    assert.ok(thrown.length >= 5, `${thrown.length} thrown`);
    assert.deepEqual(caught, thrown);
  });

  test('a logger whose every method throws, or rejects: everything still works', T, async () => {
    let calls = 0;
    const throwing: Logger = {
      debug: () => {
        calls++;
        throw new UserError('debug broke');
      },
      info: () => {
        calls++;
        throw new UserError('info broke');
      },
      warn: () => {
        calls++;
        throw new UserError('warn broke');
      },
      error: () => {
        calls++;
        throw new UserError('error broke');
      },
    };
    const rejecting = {
      debug: async () => {
        calls++;
        throw new UserError('async debug broke');
      },
      info: async () => {
        calls++;
        throw new UserError('async info broke');
      },
      warn: async () => {
        calls++;
        throw new UserError('async warn broke');
      },
      error: async () => {
        calls++;
        throw new UserError('async error broke');
      },
    } as unknown as Logger;
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const [name, bad] of [
        ['throwing', throwing],
        ['rejecting', rejecting],
      ] as const) {
        const caught = await scene(`${name} logger`, async (path) => {
          // No 'error' listener: refusals go to the logger (warn), and so do connects and disconnects.
          const master = await Memif.create(opts('master', path, { logger: bad, secret: 'right' }));
          try {
            const refused = new ScriptedSlave(path);
            try {
              await refused.handshake({ secret: 'wrong' }).catch(() => undefined);
              while ((await refused.next()) !== undefined) {
                // until the master hangs up
              }
            } finally {
              refused.close();
            }
            for (let round = 0; round < 2; round++) {
              const slave = await Memif.create(opts('slave', path, { logger: bad, secret: 'right' }));
              const reports = new Reports(slave);
              try {
                await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
                await exchange(master, slave, `${name} logger ${round}`);
                assert.deepEqual(reports.all, []);
              } finally {
                await slave.close();
              }
              await until(() => !master.connected);
            }
          } finally {
            await master.close();
          }
        });
        assert.deepEqual(caught, [], 'a logger exception never reaches uncaughtException');
      }
      await sleep(1);
      assert.deepEqual(unhandled, [], 'nor an unhandled rejection');
      assert.ok(calls > 4, `the logger was called (${calls} times)`);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test(
    'a connectFailed listener that throws: the slave keeps retrying and connects when a master comes',
    T,
    async () => {
      const thrown: UserError[] = [];
      const caught = await scene('throwing connectFailed listener', async (path) => {
        const slave = await Memif.create(opts('slave', path));
        slave.on('connectFailed', (info) => {
          const e = new UserError(`connectFailed listener broke on ${info.cause}`);
          thrown.push(e);
          throw e;
        });
        let master: Memif | undefined;
        try {
          await until(() => thrown.length >= 1);
          const attempts = slave.details().connectAttempts;
          // Retries go on after the throw (every reconnectIntervalMs).
          await until(() => slave.details().connectAttempts >= attempts + 2);
          master = await Memif.create(opts('master', path));
          await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
          await exchange(master, slave, 'after a throwing connectFailed listener');
        } finally {
          await slave.close();
          await master?.close();
        }
      });
      assert.ok(thrown.length >= 1);
      assert.deepEqual(caught, thrown);
    },
  );

  test('a throwing listener is the user’s error, typed errors stay ours', T, async () => {
    // A slave with nobody to connect to reports through a throwing 'error' listener, then is closed.
    const thrown: UserError[] = [];
    const seen: MemifError[] = [];
    const caught = await scene('throwing error listener on a retrying slave', async (path) => {
      const slave = await Memif.create(
        opts('slave', path, { secret: 'x', reconnectIntervalMs: 5, handshakeTimeoutMs: 50 }),
      );
      slave.on('error', (err) => {
        seen.push(err);
        const e = new UserError('error listener broke');
        thrown.push(e);
        throw e;
      });
      // A master that accepts and says nothing: the slave's handshake times out, and it retries.
      const b = native();
      const lfd = b.listen(path, false, 4, 0);
      const accepted: number[] = [];
      const poller = new b.Poller(lfd, () => {
        for (let fd = b.accept(lfd); fd >= 0; fd = b.accept(lfd)) accepted.push(fd);
      });
      poller.start(b.READABLE);
      try {
        await until(() => accepted.length >= 3);
      } finally {
        await slave.close();
        poller.close();
        b.close(lfd);
        for (const fd of accepted) b.close(fd);
      }
    });
    assert.ok(thrown.length >= 1);
    assert.deepEqual(caught, thrown);
    for (const e of seen) assert.ok(e instanceof MemifError && e.errorName === 'MEMIF_ERR_AGAIN', String(e));
  });
});
