// Floods and hang-ups against our master: 10,000 control messages on one connection, 10,000
// connections opened and closed, more silent connections than the listener keeps, a hang-up in
// every handshake state, a client that says nothing, and a slave that stops after INIT.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { MsgType } from '../../src/constants.js';
import { MAX_PENDING_CONNECTIONS } from '../../src/control/listener.js';
import { Memif } from '../../src/index.js';
import { native } from '../../src/native.js';
import { encodeAck, encodeConnect, encodeHello } from '../../src/wire/messages.js';
import { exchange } from '../helpers/hostile.js';
import {
  type Attack,
  bound,
  MasterArena,
  refused,
  refusedUnbound,
  toldAndDropped,
  withRegion,
  withRings,
} from '../helpers/master-arena.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';

const T = { timeout: 20_000 };

/** Sends `msg` up to `count` times; stops when the master hangs up. Returns how many went out. */
async function flood(s: ScriptedSlave, msg: Buffer, count: number): Promise<number> {
  let sent = 0;
  while (sent < count) {
    const r = s.trySend(msg);
    if (r === 'closed') break;
    if (r === 'sent') sent++;
    else await tick();
  }
  return sent;
}

/** A good slave for the victim connects and passes a packet each way. */
async function goodSlaveWorks(a: Attack, tag: string): Promise<void> {
  const good = await Memif.create({ role: 'slave', socketPath: a.socketPath, id: a.id, logger: a.logger });
  try {
    await Promise.all([good.waitForConnect(), a.victim.waitForConnect()]);
    a.victim.removeAllListeners('interrupt');
    await exchange(a.victim, good, tag);
  } finally {
    await good.close();
  }
}

/** connect(), retrying while the listener's backlog is full. */
async function connectRaw(path: string): Promise<number> {
  for (;;) {
    try {
      return native().connect(path, false);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') throw err;
      await tick();
    }
  }
}

describe('floods and hang-ups against our master', () => {
  // The listener takes its pre-INIT handshake timeout from the socket's first interface.
  const arena = new MasterArena();
  before(() => arena.start({ handshakeTimeoutMs: 300 }));
  after(() => arena.stop());

  test('10,000 ACKs after INIT: refused at the first', T, () =>
    arena.attack('ACK flood', { extraConnections: 1 }, async (a) => {
      const s = a.slave();
      await bound(a, s);
      const sent = await flood(s, encodeAck(), 10_000);
      assert.ok(sent >= 1 && sent <= 10_000, `${sent} sent`);
      await refused(a, s, 'MEMIF_ERR_MFMSG', /unexpected message ACK/);
      await goodSlaveWorks(a, 'after an ACK flood');
    }),
  );

  test('10,000 HELLOs before INIT: refused at the first', T, () =>
    arena.attack('HELLO flood', { extraConnections: 1 }, async (a) => {
      const s = a.slave();
      await s.expect(MsgType.HELLO);
      const hello = encodeHello({
        name: 'flood',
        minVersion: 0x200,
        maxVersion: 0x200,
        maxRegion: 0,
        maxM2SRing: 0,
        maxS2MRing: 0,
        maxLog2RingSize: 10,
      });
      const sent = await flood(s, hello, 10_000);
      assert.ok(sent >= 1 && sent <= 10_000, `${sent} sent`);
      await refusedUnbound(a, s, /unexpected message HELLO/);
      await goodSlaveWorks(a, 'after a HELLO flood');
    }),
  );

  test('10,000 connections opened and closed', T, () =>
    arena.attack('connection flood', { logPerConnection: 10 }, async (a) => {
      const b = native();
      for (let i = 0; i < 10_000; i++) {
        b.close(await connectRaw(a.socketPath));
        if (i % 4 === 3) await tick();
      }
      await goodSlaveWorks(a, 'after 10,000 connections');
    }),
  );

  test(`more silent connections than the listener keeps (${MAX_PENDING_CONNECTIONS})`, T, () =>
    arena.attack('silent crowd', { logPerConnection: 10 }, async (a) => {
      const crowd: ScriptedSlave[] = [];
      try {
        for (let i = 0; i < MAX_PENDING_CONNECTIONS + 40; i++) {
          for (;;) {
            try {
              crowd.push(new ScriptedSlave(a.socketPath));
              break;
            } catch (err) {
              if ((err as { code?: string }).code !== 'EAGAIN') throw err;
              await tick();
            }
          }
        }
        const first = await Promise.all(crowd.map((s) => s.next()));
        const greeted = first.filter((m) => m?.type === MsgType.HELLO).length;
        const dropped = first.filter((m) => m === undefined).length;
        assert.deepEqual([greeted, dropped], [MAX_PENDING_CONNECTIONS, 40]);
      } finally {
        for (const s of crowd) s.close();
      }
      await goodSlaveWorks(a, 'after a silent crowd');
    }),
  );

  test('20 slaves with a wrong secret and no error listener: a log line or two, not 20', T, () =>
    arena.attack('secret guessing', { victim: { secret: 'sesame' }, listen: false, maxLog: 2 }, async (a) => {
      for (let i = 0; i < 20; i++) {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(s.initMessage({ id: a.id, secret: `guess ${i}` }));
        await toldAndDropped(s, /incorrect secret/);
        s.close();
      }
      // The interface's warning (the listener may add one info line about the same refusal).
      const lines = a.logger.loudSince(a.mark);
      assert.equal(lines.filter((l) => /^warn memif: connection failed .*MEMIF_ERR_SECRET/.test(l)).length, 1);
    }),
  );

  test('a client that connects and says nothing is dropped (handshake timeout)', T, () =>
    arena.attack('silent client', {}, async (a) => {
      const s = a.slave();
      await s.expect(MsgType.HELLO);
      await refusedUnbound(a, s, /handshake not finished within 300 ms/);
    }),
  );

  test('a slave that stops after INIT is dropped with MEMIF_ERR_AGAIN', T, () =>
    arena.attack('silent after INIT', { victim: { handshakeTimeoutMs: 300 } }, async (a) => {
      const s = a.slave();
      await bound(a, s);
      await refused(a, s, 'MEMIF_ERR_AGAIN', /handshake not finished within 300 ms/);
    }),
  );

  describe('a hang-up in every handshake state', () => {
    test('after connect, before INIT', T, () =>
      arena.attack('hang-up before INIT', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.close();
        // No interface is concerned: nothing to report; the arena checks the release.
        assert.deepEqual(a.reports.all, []);
      }),
    );

    const steps: [string, (a: Attack, s: ScriptedSlave) => Promise<void>][] = [
      ['after INIT', bound],
      ['after ADD_REGION', withRegion],
      [
        'after ADD_RING S2M',
        async (a, s) => {
          await withRegion(a, s);
          s.send(s.ringMessage('S2M'), s.newEventfd());
          await s.expect(MsgType.ACK);
        },
      ],
      ['after ADD_RING M2S', withRings],
    ];
    for (const [name, step] of steps) {
      test(name, T, () =>
        arena.attack(`hang-up ${name}`, {}, async (a) => {
          const s = a.slave();
          await step(a, s);
          s.close();
          const o = await a.reports.first();
          assert.equal(o.kind, 'error');
          assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED');
          assert.match(o.reason, /peer closed|hung up/);
          assert.equal(a.victim.connected, false);
        }),
      );
    }

    test('after CONNECT, before reading CONNECTED', T, () =>
      arena.attack('hang-up after CONNECT', {}, async (a) => {
        const s = a.slave();
        await withRings(a, s);
        s.send(encodeConnect('gone'));
        s.close();
        const o = await a.reports.first();
        // The link may have come up for a moment (CONNECTED was sent) before the hang-up was seen.
        assert.ok(o.kind === 'disconnect' || o.kind === 'error', o.kind);
        assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED', o.reason);
        assert.equal(a.victim.connected, false);
        assert.equal(a.reports.all.length, 1);
      }),
    );
  });
});

describe('the cap on pending connections counts only those that have not sent INIT', () => {
  // Slaves that are bound (or connected) are not pending: a socket serving more interfaces than
  // the cap must still accept a slave for each of them.
  const arena = new MasterArena();
  const masters: Memif[] = [];
  const slaves: Memif[] = [];
  before(() => arena.start());
  after(async () => {
    // Also after a timeout, when the test's own cleanup never ran.
    for (const m of [...slaves, ...masters]) await m.close();
    await arena.stop();
  });

  test(`${MAX_PENDING_CONNECTIONS + 2} interfaces on one socket all connect`, { timeout: 10_000 }, async () => {
    const count = MAX_PENDING_CONNECTIONS + 2;
    const opts = { socketPath: arena.socketPath, logger: arena.logger, log2RingSize: 2, bufferSize: 256 };
    try {
      for (let i = 0; i < count; i++) {
        masters.push(await Memif.create({ ...opts, role: 'master', id: 1000 + i }));
        slaves.push(await Memif.create({ ...opts, role: 'slave', id: 1000 + i, reconnectIntervalMs: 50 }));
        slaves[i].on('error', () => {});
        await slaves[i].waitForConnect();
      }
      await exchange(masters[count - 1], slaves[count - 1], 'the last of many');
    } finally {
      for (const m of [...slaves, ...masters]) await m.close();
    }
    await arena.bystander?.check('many interfaces');
  });
});

describe("a master's own handshakeTimeoutMs applies to its slaves", () => {
  // The socket's first interface has the default timeout (5 s); the victim asks for 300 ms.
  const arena = new MasterArena();
  before(() => arena.start());
  after(() => arena.stop());

  test('a slave that stops after INIT is dropped after the victim’s 300 ms', { timeout: 4000 }, () =>
    arena.attack('silent after INIT, first interface slower', { victim: { handshakeTimeoutMs: 300 } }, async (a) => {
      const s = a.slave();
      await bound(a, s);
      await refused(a, s, 'MEMIF_ERR_AGAIN', /handshake not finished within 300 ms/);
    }),
  );
});
