// The control backlog while an async `authorize` runs (issue 8, class 5): a peer that floods us
// with messages, each carrying an fd, while our check is pending. Before the bound, every message
// and its fd waited in memory (about 20,000 fds in a second). Now at most MAX_BACKLOG_MESSAGES
// messages and MAX_BACKLOG_FDS fds are held; beyond that the peer is refused (DISCONNECT with the
// reason, a typed MEMIF_ERR_MFMSG report) and every held fd is closed. Both roles: a hostile slave
// against our master, a hostile master against our slave. Each case also checks the event loop
// kept turning, a bystander pair kept passing traffic, and fds and mappings are back to baseline.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { MsgType } from '../../src/constants.js';
import { MAX_BACKLOG_FDS, MAX_BACKLOG_MESSAGES } from '../../src/control/connection.js';
import { Memif, MemifError } from '../../src/index.js';
import { type Disconnect, encodeAddRegion, encodeAddRing } from '../../src/wire/messages.js';
import {
  assertQuietLog,
  assertReleased,
  Bystander,
  countingLogger,
  exchange,
  Reports,
  until,
} from '../helpers/hostile.js';
import { HostileMaster } from '../helpers/hostile-master.js';
import { LoopWatch } from '../helpers/liveness.js';
import { type Attack, MasterArena, toldAndDropped } from '../helpers/master-arena.js';
import { snapshot } from '../helpers/resources.js';
import { tempDir } from '../helpers/tmp.js';

const T = { timeout: 30_000 };
const FLOOD = 20_000;
const REASON = /messages \(\d+ fds\) sent while authorization was pending/;

/** An authorize() whose answer the test gives, and how often it was asked. */
function slowAuthorize() {
  const pending: ((ok: boolean) => void)[] = [];
  let open = false;
  return {
    pending,
    fn: () => (open ? true : new Promise<boolean>((resolve) => pending.push(resolve))),
    /** From now on say yes at once, and say yes to every pending question. */
    open(): void {
      open = true;
      for (const r of pending.splice(0)) r(true);
    },
  };
}

/** Open fds of this process now. */
function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Sends `msg` (with `fd` each time, the kernel makes a new fd per message at the receiver) up to
 * `count` times, until the peer hangs up. Returns how many went out and the most fds this process
 * held meanwhile (the receiver is in this process).
 */
async function flood(
  send: (bytes: Buffer, fd: number) => 'sent' | 'full' | 'closed',
  msg: Buffer,
  fd: number,
  count: number,
): Promise<{ sent: number; peakFds: number }> {
  let sent = 0;
  let peakFds = fdCount();
  while (sent < count) {
    const r = send(msg, fd);
    if (r === 'closed') break;
    if (r === 'sent') {
      sent++;
      if (sent % 64 === 0) peakFds = Math.max(peakFds, fdCount());
    } else {
      peakFds = Math.max(peakFds, fdCount());
      await tick();
    }
  }
  return { sent, peakFds: Math.max(peakFds, fdCount()) };
}

describe('a flood while async authorize() is pending', () => {
  describe('hostile slave vs our master', () => {
    const arena = new MasterArena();
    before(() => arena.start());
    after(() => arena.stop());

    async function attack(label: string, withFds: boolean): Promise<void> {
      const auth = slowAuthorize();
      const loop = new LoopWatch();
      await arena.attack(label, { victim: { authorize: auth.fn }, maxLog: 6 }, async (a: Attack) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.prepare();
        s.send(s.initMessage({ id: a.id }));
        await until(() => auth.pending.length === 1);
        const baseline = fdCount();
        const msg = withFds
          ? encodeAddRing({ ringType: 'S2M', index: 0, region: 0, offset: 0, log2RingSize: 4 })
          : encodeAddRegion({ index: 0, size: 4096n });
        const efd = withFds ? s.newEventfd() : -1;
        const { sent, peakFds } = await flood((b, fd) => s.trySend(b, fd), msg, efd, FLOOD);
        // Held at most: the bound's fds (+ the eventfd we made to send); not thousands.
        assert.ok(
          peakFds - baseline <= MAX_BACKLOG_FDS + 1,
          `${peakFds - baseline} fds more than before the flood (${sent} messages sent)`,
        );
        assert.ok(sent < FLOOD, `the master hung up during the flood (${sent} sent)`);
        assert.ok(sent > MAX_BACKLOG_MESSAGES, `${sent} sent`);
        const o = await a.reports.first();
        assert.ok(o.error instanceof MemifError);
        assert.equal(o.kind, 'error');
        assert.equal(o.error.errorName, 'MEMIF_ERR_MFMSG');
        assert.match(o.reason, REASON);
        await toldAndDropped(s, REASON);
        // The check answers late: nothing happens, the connection is gone.
        auth.open();
        await tick();
        assert.equal(a.victim.connected, false);
        // A slave that waits for our answer, as it should, is let in and passes traffic.
        const good = await Memif.create({ role: 'slave', socketPath: a.socketPath, id: a.id, logger: a.logger });
        try {
          await Promise.all([good.waitForConnect(), a.victim.waitForConnect()]);
          a.victim.removeAllListeners('interrupt');
          await exchange(a.victim, good, label);
        } finally {
          await good.close();
        }
      });
      await loop.assertAlive(label);
    }

    test(`${FLOOD} ADD_RINGs, each with an eventfd, after INIT`, T, () => attack('ADD_RING + fd flood', true));
    test(`${FLOOD} ADD_REGIONs without fds, after INIT`, T, () => attack('ADD_REGION flood', false));

    test('a peer that sends nothing while waiting is let in (the bound takes nothing from it)', T, async () => {
      const auth = slowAuthorize();
      await arena.attack('patient slave', { victim: { authorize: auth.fn }, maxLog: 6 }, async (a) => {
        const good = await Memif.create({ role: 'slave', socketPath: a.socketPath, id: a.id, logger: a.logger });
        try {
          await until(() => auth.pending.length === 1);
          await tick();
          auth.open();
          await Promise.all([good.waitForConnect(), a.victim.waitForConnect()]);
          a.victim.removeAllListeners('interrupt');
          await exchange(a.victim, good, 'patient');
        } finally {
          await good.close();
        }
        assert.equal(a.reports.all.filter((r) => r.kind === 'error').length, 0);
      });
    });
  });

  describe('hostile master vs our slave', () => {
    const tmp = tempDir('memif-backlog-');
    const logger = countingLogger();
    let bystander: Bystander;
    before(async () => {
      bystander = await Bystander.start(tmp.socket('bystander.sock'), logger);
    });
    after(async () => {
      await bystander.close();
      tmp.remove();
    });

    test(`${FLOOD} ADD_RINGs with eventfds after HELLO`, T, async () => {
      const label = 'hostile master ADD_RING + fd flood';
      const loop = new LoopWatch();
      const hm = new HostileMaster(tmp.socket('hostile.sock'));
      const before = snapshot();
      const mark = logger.loud();
      const auth = slowAuthorize();
      const slave = await Memif.create({
        role: 'slave',
        socketPath: hm.socketPath,
        logger,
        authorize: auth.fn,
        reconnectIntervalMs: 60_000,
      });
      const reports = new Reports(slave);
      const efd = hm.b.eventfdCreate();
      try {
        const conn = await hm.accept();
        conn.sendHello();
        await until(() => auth.pending.length === 1);
        const baseline = fdCount();
        const msg = encodeAddRing({ ringType: 'M2S', index: 0, region: 0, offset: 0, log2RingSize: 4 });
        const { sent, peakFds } = await flood((b, fd) => conn.send(b, fd), msg, efd, FLOOD);
        assert.ok(peakFds - baseline <= MAX_BACKLOG_FDS, `${peakFds - baseline} fds more (${sent} sent)`);
        assert.ok(sent < FLOOD, `the slave hung up during the flood (${sent} sent)`);
        const o = await reports.first();
        assert.ok(o.error instanceof MemifError);
        assert.equal(o.kind, 'error');
        assert.equal(o.error.errorName, 'MEMIF_ERR_MFMSG');
        assert.match(o.reason, REASON);
        const r = await conn.next();
        assert.equal(r?.msg?.type, MsgType.DISCONNECT);
        assert.match((r?.msg as Disconnect | undefined)?.reason ?? '', REASON);
        assert.equal(await conn.next(), undefined, 'then the slave hangs up');
        auth.open();
        await tick();
        assert.equal(slave.connected, false);
      } finally {
        await slave.close();
        hm.close();
        hm.b.close(efd);
      }
      await assertReleased(before, label);
      assertQuietLog(logger, mark, 3, label);
      await loop.assertAlive(label);
      await bystander.check(label);
    });
  });
});
