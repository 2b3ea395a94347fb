// What an interface tells about its connection's life, provoked for real: a slave with no master
// (connectFailed events with errno, path and hint, rate-limited; details(); waitForConnect's
// cause), a master refusing a wrong secret (naming the interface id), a link going up and down,
// and a queue fault from a bad descriptor — each seen on its diagnostics channel with the Memif,
// its id and role, and in the connects / disconnects counters.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ConnectFailureLimiter, connectHint } from '../../src/control/dialer.js';
import {
  type ConnectFailedInfo,
  diagnosticsChannels,
  Memif,
  type MemifChannelMessage,
  type MemifError,
  StateError,
} from '../../src/index.js';
import { captureUncaught } from '../helpers/liveness.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { abstractName, type TempDir, tempDir } from '../helpers/tmp.js';

const T = { timeout: 20_000 };

async function until(cond: () => boolean, what: string): Promise<void> {
  let ok = cond();
  for (let i = 0; i < 20_000 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 1));
    ok = cond();
  }
  assert.ok(ok, what);
}

/** Every message of every channel, in order, as [channel name, message]. */
function record(): { seen: [string, MemifChannelMessage][]; stop: () => void } {
  const seen: [string, MemifChannelMessage][] = [];
  const subs = Object.values(diagnosticsChannels).map((name) => {
    const fn = (m: unknown) => seen.push([name, m as MemifChannelMessage]);
    diagnosticsChannel.subscribe(name, fn);
    return () => diagnosticsChannel.unsubscribe(name, fn);
  });
  return {
    seen,
    stop: () => {
      for (const u of subs) u();
    },
  };
}

describe('connection attempts are visible', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test(
    'a slave with no master: one event per cause, details(), waitForConnect cause, then it connects',
    T,
    async () => {
      const socketPath = tmp.socket('later.sock');
      const rec = record();
      const lines: [string, Record<string, unknown> | undefined][] = [];
      const log = (message: string, fields?: Record<string, unknown>) => lines.push([message, fields]);
      const logger = { debug: () => {}, info: log, warn: log, error: log };
      const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 2, logger });
      const events: ConnectFailedInfo[] = [];
      slave.on('connectFailed', (info) => events.push(info));
      try {
        // The first attempt ran inside create(); its event comes once someone could listen.
        await until(() => events.length === 1 && slave.details().connectAttempts >= 10, 'ten attempts');
        assert.equal(events.length, 1, 'the same cause is reported once (within a minute)');
        const [first] = events;
        assert.equal(first.cause, 'ENOENT');
        assert.equal(first.socketPath, socketPath);
        assert.equal(first.hint, 'is the master running?');
        assert.equal(first.attempts, 1);
        assert.equal(first.suppressed, 0);
        assert.equal(first.error.errorName, 'MEMIF_ERR_NO_FILE');
        const d = slave.details();
        assert.equal(d.state, 'down');
        assert.equal((d.lastConnectError as { syscallCode?: string }).syscallCode, 'ENOENT');
        // Every attempt is published, unlimited.
        const failed = rec.seen.filter(([c, m]) => c === 'memif:connect-failed' && m.memif === slave);
        assert.ok(failed.length >= 10, `${failed.length} published`);
        assert.equal(failed[0][1].role, 'slave');
        assert.equal(failed[0][1].id, 0);
        assert.match(failed[0][1].reason ?? '', /ENOENT/);
        // The log says it once too, with the same facts.
        const logged = lines.filter(([m]) => m === 'memif: connection attempt failed');
        assert.equal(logged.length, 1);
        assert.deepEqual(logged[0][1], {
          id: 0,
          socket: socketPath,
          cause: 'ENOENT',
          hint: 'is the master running?',
          attempts: 1,
        });

        const err = await slave.waitForConnect({ timeoutMs: 1 }).then(
          () => assert.fail('connected with no master'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StateError);
        assert.equal(err.errorName, 'MEMIF_ERR_NOCONN');
        assert.equal((err.cause as { syscallCode?: string }).syscallCode, 'ENOENT');
        assert.match(err.message, /last attempt/);

        // A change of cause is reported at once: a file that is not a listening socket.
        writeFileSync(socketPath, '');
        await until(() => events.length === 2, 'the new cause reported');
        assert.equal(events[1].cause, 'ECONNREFUSED');
        assert.equal(events[1].hint, 'is the master running?');
        assert.ok(events[1].attempts > first.attempts);
      } finally {
        rec.stop();
        await slave.close();
      }
    },
  );

  test('a slave whose master then comes: the record clears, the counters count', T, async () => {
    const socketPath = tmp.socket('comes.sock');
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 2 });
    let master: Memif | undefined;
    try {
      await until(() => slave.details().connectAttempts >= 2, 'attempts');
      master = await Memif.create({ role: 'master', socketPath });
      await slave.waitForConnect({ timeoutMs: 10_000 });
      const d = slave.details();
      assert.equal(d.lastConnectError, undefined);
      assert.equal(d.connects, 1);
      assert.equal(d.disconnects, 0);
      assert.equal(d.state, 'up');
      assert.ok(d.connectAttempts >= 3);
    } finally {
      await slave.close();
      await master?.close();
    }
  });

  test('an abstract name nobody serves: the hint asks about the network namespace', T, async () => {
    const slave = await Memif.create({ role: 'slave', socketPath: abstractName('nobody'), reconnectIntervalMs: 50 });
    try {
      const [info] = (await once(slave, 'connectFailed')) as [ConnectFailedInfo];
      assert.equal(info.cause, 'ECONNREFUSED');
      assert.match(info.hint ?? '', /^abstract socket: same network namespace\?/);
    } finally {
      await slave.close();
    }
  });

  test('a wrong secret: the master names the interface id; both publish memif:refused', T, async () => {
    const socketPath = tmp.socket('secret.sock');
    const rec = record();
    const master = await Memif.create({ role: 'master', socketPath, id: 7, secret: 'right' });
    const masterErrors: MemifError[] = [];
    master.on('error', (e) => masterErrors.push(e));
    const slave = await Memif.create({
      role: 'slave',
      socketPath,
      id: 7,
      secret: 'wrong',
      reconnectIntervalMs: 60_000,
    });
    const slaveErrors: MemifError[] = [];
    slave.on('error', (e) => slaveErrors.push(e));
    try {
      await until(() => masterErrors.length > 0 && slaveErrors.length > 0, 'both report the refusal');
      assert.equal(masterErrors[0].errorName, 'MEMIF_ERR_SECRET');
      assert.match(masterErrors[0].message, /incorrect secret \(interface id 7\)/);
      // The slave got the reason in DISCONNECT, still mapped to its code.
      assert.equal(slaveErrors[0].errorName, 'MEMIF_ERR_SECRET');
      assert.match(slaveErrors[0].message, /interface id 7/);
      assert.equal(slave.details().lastConnectError, slaveErrors[0]);
      const refused = rec.seen.filter(([c]) => c === 'memif:refused').map(([, m]) => m);
      const ours = refused.find((m) => m.memif === master);
      assert.ok(ours, 'the master published its refusal');
      assert.equal(ours.id, 7);
      assert.equal(ours.role, 'master');
      assert.equal(ours.error?.errorName, 'MEMIF_ERR_SECRET');
      const theirs = refused.find((m) => m.memif === slave);
      assert.ok(theirs, 'the slave published being refused');
      assert.equal(theirs.role, 'slave');
      const err = await slave.waitForConnect({ timeoutMs: 1 }).catch((e: unknown) => e as StateError);
      assert.equal((err as StateError).cause, slaveErrors[0]);
      assert.equal(master.details().connects, 0);
    } finally {
      rec.stop();
      await slave.close();
      await master.close();
    }
  });
});

describe('link up, link down and faults on diagnostics channels', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('a link up then down: published on both sides, counted in details()', T, async () => {
    const socketPath = tmp.socket('updown.sock');
    const rec = record();
    const master = await Memif.create({ role: 'master', socketPath, id: 3 });
    const slave = await Memif.create({ role: 'slave', socketPath, id: 3 });
    try {
      await master.waitForConnect({ timeoutMs: 10_000 });
      await slave.waitForConnect({ timeoutMs: 10_000 });
      const down = once(master, 'disconnect');
      await slave.close();
      await down;
      const ups = rec.seen.filter(([c]) => c === 'memif:link-up').map(([, m]) => m);
      assert.deepEqual(
        ups.map((m) => [m.memif === master ? 'master' : m.memif === slave ? 'slave' : 'other', m.id, m.role]).sort(),
        [
          ['master', 3, 'master'],
          ['slave', 3, 'slave'],
        ],
      );
      const masterDown = rec.seen.find(([c, m]) => c === 'memif:link-down' && m.memif === master)?.[1];
      assert.ok(masterDown, 'the master published its link going down');
      assert.equal(masterDown.reason, 'interface deleted');
      assert.equal(masterDown.error?.errorName, 'MEMIF_ERR_DISCONNECT');
      const d = master.details();
      assert.equal(d.connects, 1);
      assert.equal(d.disconnects, 1);
      assert.equal(d.lastDisconnectReason, 'interface deleted');
      assert.equal(d.connectAttempts, 0);
    } finally {
      rec.stop();
      await slave.close();
      await master.close();
    }
  });

  test('a descriptor outside the shared memory: memif:fault, then memif:link-down', T, async () => {
    const socketPath = tmp.socket('fault.sock');
    const rec = record();
    const master = await Memif.create({ role: 'master', socketPath, id: 0, log2RingSize: 4 });
    master.on('interrupt', (q) => master.rxBurst(q));
    const bad = new ScriptedSlave(socketPath);
    try {
      await bad.handshake({ id: 0, log2RingSize: 4 });
      await master.waitForConnect({ timeoutMs: 10_000 });
      const down = once(master, 'disconnect');
      bad.publishS2M(0, { region: 7, offset: 0, length: 64 }, 1);
      await down;
      const mine = rec.seen.filter(([, m]) => m.memif === master).map(([c]) => c);
      assert.deepEqual(mine, ['memif:link-up', 'memif:fault', 'memif:link-down']);
      const fault = rec.seen.find(([c]) => c === 'memif:fault')?.[1];
      assert.equal(fault?.id, 0);
      assert.equal(fault?.role, 'master');
      assert.equal(fault?.error?.errorName, 'MEMIF_ERR_MFMSG');
      assert.match(fault?.reason ?? '', /region 7/);
      assert.equal(master.details().disconnects, 1);
      assert.equal(master.details().faults, 1);
    } finally {
      rec.stop();
      bad.close();
      await master.close();
    }
  });
});

describe('careless observers', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('a connectFailed listener and channel subscribers that throw: the slave retries and connects', T, async () => {
    const socketPath = tmp.socket('careless.sock');
    class UserError extends Error {}
    const cap = captureUncaught();
    const boom = () => {
      throw new UserError('subscriber broke');
    };
    for (const name of Object.values(diagnosticsChannels)) diagnosticsChannel.subscribe(name, boom);
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 2 });
    let master: Memif | undefined;
    try {
      slave.on('connectFailed', () => {
        throw new UserError('listener broke');
      });
      await until(() => slave.details().connectAttempts >= 5, 'attempts go on');
      master = await Memif.create({ role: 'master', socketPath });
      await slave.waitForConnect({ timeoutMs: 10_000 });
      await master.waitForConnect({ timeoutMs: 10_000 });
      // The link works: a packet goes through whole.
      const pkt = Buffer.from('after careless observers');
      assert.equal(slave.txBurst(0, [pkt]), 1);
      const got: Buffer[] = [];
      await until(() => {
        got.push(...(master?.rxBurst(0) ?? []));
        return got.length > 0;
      }, 'the packet arrives');
      assert.deepEqual(got, [pkt]);
      await new Promise((r) => setImmediate(r));
      const messages = cap.errors.map((e) => (e instanceof UserError ? e.message : String(e)));
      assert.ok(messages.includes('listener broke'), "the listener's exception reached uncaughtException");
      assert.ok(messages.includes('subscriber broke'), "a subscriber's exception reached uncaughtException");
      assert.ok(
        cap.errors.every((e) => e instanceof UserError),
        `only the user's exceptions: ${messages.join('; ')}`,
      );
    } finally {
      for (const name of Object.values(diagnosticsChannels)) diagnosticsChannel.unsubscribe(name, boom);
      await slave.close();
      await master?.close();
      await new Promise((r) => setImmediate(r));
      cap.restore();
    }
  });
});

describe('ConnectFailureLimiter', () => {
  test('first, each change of cause, then once per interval with the count held back', () => {
    const l = new ConnectFailureLimiter(60_000);
    assert.equal(l.admit('ENOENT', 0), 0);
    assert.equal(l.admit('ENOENT', 1_000), undefined);
    assert.equal(l.admit('ENOENT', 59_999), undefined);
    assert.equal(l.admit('ENOENT', 60_000), 2);
    assert.equal(l.admit('ECONNREFUSED', 60_001), 0);
    assert.equal(l.admit('ENOENT', 60_002), 0);
    l.reset();
    assert.equal(l.admit('ENOENT', 60_003), 0);
  });
});

describe('connectHint', () => {
  // Permission errors cannot be provoked here (the tests run as root): the mapping is checked alone.
  test('names what to check for each cause', () => {
    assert.equal(connectHint('EACCES', false), 'permission: see socketMode/socketOwner');
    assert.equal(connectHint('EPERM', true), 'permission: see socketMode/socketOwner');
    assert.equal(connectHint('ENOENT', false), 'is the master running?');
    assert.equal(connectHint('ECONNREFUSED', false), 'is the master running?');
    assert.match(connectHint('ECONNREFUSED', true) ?? '', /^abstract socket: same network namespace\?/);
    assert.equal(connectHint('EMFILE', false), undefined);
  });
});
