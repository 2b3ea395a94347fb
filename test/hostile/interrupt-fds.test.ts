// Interrupt fds as a weapon. A master receives each ring's interrupt fd from the slave (ADD_RING),
// and both sides always share the open file description of every eventfd, so a hostile peer can
// (1) send something that is not an eventfd at all, or (2) play with the eventfd we share: clear
// O_NONBLOCK, saturate its counter (2^64 − 2), keep re-saturating it, or read its count away.
// None of it may crash us, freeze the event loop, or touch other interfaces: (1) is refused at
// ADD_RING; under (2) reads never block, a blocked write is released within a few ticks of the
// native watchdog and the peer is disconnected. Every case also passes the arena's checks (loop
// kept turning, bystander traffic, fds and mappings back, few log lines). Regions too large to map:
// huge-region.test.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MsgType } from '../../src/constants.js';
import { type Memif, MemifError } from '../../src/index.js';
import { native } from '../../src/native.js';
import { type FdKind, FdToy } from '../helpers/fd-toy.js';
import { havePython, packet, type Reports, until } from '../helpers/hostile.js';
import type { HostileConn } from '../helpers/hostile-master.js';
import { LoopWatch } from '../helpers/liveness.js';
import { type Attack, MasterArena, refused, withRegion } from '../helpers/master-arena.js';
import type { ScriptedSlave } from '../helpers/scripted-slave.js';
import { SlaveArena } from '../helpers/slave-arena.js';

const T = { timeout: 20_000 };
const faultWorker = fileURLToPath(new URL('../helpers/fault-worker.js', import.meta.url));

/** What fault-worker.ts reports after its burst. */
interface WorkerBurst {
  result: number | Buffer[];
  fault: string | undefined;
  maxGapMs: number;
  ticks: number;
}

/** The first message of `event` from `w`. */
async function message<M>(w: Worker, event: string): Promise<M> {
  for (;;) {
    const [m] = (await once(w, 'message')) as [{ event: string }];
    if (m.event === event) return m as M;
  }
}

/**
 * Hands the tx queue 0 of `victim` to a worker (fault-worker.ts), lets `attack` spoil the eventfd,
 * and has the worker send `sent`: its txBurst returns, its own loop kept turning, its queue faulted
 * over the blocked write, and the link goes down (`droppedOver`, checked by the caller); then the
 * worker closes its queue.
 */
async function workerKick(victim: Memif, sent: Buffer, attack: () => Promise<void>, down: () => Promise<void>) {
  const w = new Worker(faultWorker, { workerData: { handle: victim.handOff('tx', 0), packet: sent } });
  try {
    await message(w, 'attached');
    await attack();
    w.postMessage('go');
    const r = await message<WorkerBurst>(w, 'burst');
    assert.equal(r.result, 1, 'the packet itself was queued by the worker');
    assert.match(r.fault ?? '', /blocked our interrupt write/, "the worker's queue faulted");
    assert.ok(r.ticks > 0 && r.maxGapMs < LoopWatch.MAX_GAP_MS, `the worker's loop stalled ${r.maxGapMs} ms`);
    await down();
    await message(w, 'down');
    w.postMessage('close');
    await message(w, 'closed');
  } finally {
    await w.terminate();
  }
}

/** The link went down over the interrupt fd: a disconnect with MFMSG and a reason naming it. */
async function droppedOver(reports: Reports, reason: RegExp): Promise<void> {
  const o = await reports.first();
  assert.ok(o.error instanceof MemifError, 'a typed error');
  assert.equal(o.kind, 'disconnect');
  assert.equal(o.error.errorName, 'MEMIF_ERR_MFMSG');
  assert.match(o.reason, reason);
}

describe('hostile slave vs our master: interrupt fds', () => {
  const arena = new MasterArena();
  let python = false;
  before(async () => {
    python = await havePython();
    await arena.start();
  });
  after(() => arena.stop());

  describe('an ADD_RING fd that is not a counter-mode eventfd is refused', () => {
    const kinds: FdKind[] = [
      'pipe-write-orphan',
      'pipe-read-hungup',
      'pipe-full',
      'socket-listening',
      'socket-hungup',
      'eventfd-semaphore',
      'dev-null',
    ];
    for (const kind of kinds) {
      test(kind, T, async (t) => {
        if (!python) return t.skip('python3 is not available');
        const { toy, fd } = await FdToy.make(kind);
        try {
          await arena.attack(`ADD_RING ${kind}`, {}, async (a) => {
            const s = a.slave();
            await withRegion(a, s);
            s.eventfds.push(fd); // the slave closes it with the rest
            s.send(s.ringMessage('S2M'), fd);
            await refused(a, s, 'MEMIF_ERR_NO_INTFD', kind === 'eventfd-semaphore' ? /semaphore/ : /not an eventfd/);
          });
        } finally {
          await toy.stop();
        }
      });
    }

    test('a memfd (a region fd) as an interrupt fd', T, () =>
      arena.attack('ADD_RING memfd', {}, async (a) => {
        const s = a.slave();
        await withRegion(a, s);
        s.send(s.ringMessage('S2M'), s.region?.fd);
        await refused(a, s, 'MEMIF_ERR_NO_INTFD', /not an eventfd \(\/memfd:/);
      }),
    );
  });

  describe('the peer plays with the eventfds we share', () => {
    /**
     * Runs `body` on a connected hostile slave whose `type` ring eventfd is also held by a toy
     * (python). The toy lives outside the attack, so its own pipes are not counted as ours.
     */
    async function withToy(
      t: { skip(msg: string): void },
      label: string,
      type: 'S2M' | 'M2S',
      body: (a: Attack, s: ScriptedSlave, toy: FdToy) => Promise<void>,
    ): Promise<void> {
      if (!python) return t.skip('python3 is not available');
      const { toy, fd } = await FdToy.make('eventfd');
      let handed = false;
      try {
        await arena.attack(label, {}, async (a) => {
          const s = a.slave();
          handed = true; // from here the slave owns fd
          await s.handshake({ id: a.id, log2RingSize: 4, eventfds: { [type]: fd } });
          await a.victim.waitForConnect({ timeoutMs: 5000 });
          await body(a, s, toy);
          await toy.play('stop-loop');
        });
      } finally {
        if (!handed) native().close(fd);
        await toy.stop();
      }
    }

    for (const play of ['saturate', 'saturate-loop'] as const) {
      test(`our master's M2S interrupt write: the slave made it blocking and ${play}s it`, T, (t) =>
        withToy(t, `M2S eventfd ${play}`, 'M2S', async (a, s, toy) => {
          s.offerGoodM2S(8);
          await toy.play('block');
          await toy.play(play);
          const sent = packet('into a saturated doorbell', 200);
          const loop = new LoopWatch();
          // The write behind this burst would block for ever; the watchdog releases it.
          assert.equal(a.victim.txBurst(0, [sent]), 1, 'the packet itself was queued');
          await loop.assertAlive(`txBurst against a ${play} eventfd`);
          await droppedOver(a.reports, /blocked our interrupt write/);
          assert.deepEqual(s.readM2S(), [sent], 'what was published arrived intact');
        }),
      );
    }

    test("a worker driving our master's M2S queue: the slave made the eventfd blocking and saturates it", T, (t) =>
      withToy(t, 'M2S eventfd saturate-loop (worker)', 'M2S', async (a, s, toy) => {
        s.offerGoodM2S(8);
        const sent = packet('from a worker into a saturated doorbell', 222);
        await workerKick(
          a.victim,
          sent,
          async () => {
            await toy.play('block');
            await toy.play('saturate-loop');
          },
          () => droppedOver(a.reports, /blocked our interrupt write/),
        );
        assert.deepEqual(s.readM2S(), [sent], 'what was published arrived intact');
      }),
    );

    test('our master drains an S2M eventfd that the slave made blocking and keeps reading', T, (t) =>
      withToy(t, 'S2M eventfd blocking + stolen counts', 'S2M', async (a, s, toy) => {
        await toy.play('block');
        await toy.play('steal-loop');
        // Interrupts may be stolen: the packets still arrive (read on every wake-up the master
        // does get, and by polling here), and nothing blocks.
        const sent = Array.from({ length: 40 }, (_, i) => packet(`stolen ${i}`, 64 + i));
        for (let i = 0; i < sent.length; i += 8) {
          // At most 8 in flight on a ring of 16 (this slave does not look at the tail).
          s.sendS2M(sent.slice(i, i + 8));
          await until(() => {
            if (a.victim.connected) a.received.push(...a.victim.rxBurst(0));
            return a.received.length >= i + 8 || !a.victim.connected;
          });
        }
        assert.deepEqual(a.reports.all, [], 'no error or disconnect');
        assert.deepEqual(a.received, sent);
        assert.equal(a.victim.connected, true, 'a peer that only hurts its own interrupts keeps its link');
      }),
    );

    test('our master drains an S2M eventfd that the slave saturated', T, (t) =>
      withToy(t, 'S2M eventfd saturated', 'S2M', async (a, s, toy) => {
        await toy.play('saturate');
        const sent = [packet('after saturation', 300)];
        s.sendS2M(sent); // its own kick is the one that would overflow: EAGAIN for the slave, not us
        await until(() => a.received.length > 0 || !a.victim.connected);
        assert.deepEqual(a.received, sent);
        assert.equal(a.victim.connected, true);
      }),
    );
  });
});

describe('hostile master vs our slave: the eventfds it shares', () => {
  const arena = new SlaveArena();
  let python = false;
  before(async () => {
    python = await havePython();
    await arena.start();
  });
  after(() => arena.stop());

  /**
   * Our slave against a hostile master that completed the handshake, with a toy holding the open
   * file description of the slave's `type` eventfd (the arena checks the aftermath).
   */
  async function scene(
    t: { skip(msg: string): void },
    label: string,
    type: 'S2M' | 'M2S',
    body: (slave: Memif, conn: HostileConn, toy: FdToy, reports: Reports, received: Buffer[]) => Promise<void>,
  ): Promise<void> {
    if (!python) return t.skip('python3 is not available');
    await arena.scene(label, {}, async (sc) => {
      const conn = await sc.hm.accept();
      await conn.handshake();
      await sc.slave.waitForConnect({ timeoutMs: 5000 });
      const toy = await FdToy.on(conn.ring(type).eventfd);
      try {
        await body(sc.slave, conn, toy, sc.reports, sc.received);
        await toy.play('stop-loop');
      } finally {
        await toy.stop();
      }
    });
  }

  for (const play of ['saturate', 'saturate-loop'] as const) {
    test(`our slave's S2M interrupt write: the master made it blocking and ${play}s it`, T, (t) =>
      scene(t, `slave S2M ${play}`, 'S2M', async (slave, conn, toy, reports) => {
        await toy.play('block');
        await toy.play(play);
        const sent = packet('slave into a saturated doorbell', 150);
        const loop = new LoopWatch();
        assert.equal(slave.txBurst(0, [sent]), 1);
        await loop.assertAlive(`slave txBurst against a ${play} eventfd`);
        await droppedOver(reports, /blocked our interrupt write/);
        assert.deepEqual(conn.readS2M(), [sent], 'what was published arrived intact');
        const r = await conn.next();
        assert.equal(r?.msg?.type, MsgType.DISCONNECT, 'the master was told why');
      }),
    );
  }

  test("a worker driving our slave's S2M queue: the master made the eventfd blocking and saturates it", T, (t) =>
    scene(t, 'slave S2M saturate-loop (worker)', 'S2M', async (slave, conn, toy, reports) => {
      const sent = packet('slave worker into a saturated doorbell', 170);
      await workerKick(
        slave,
        sent,
        async () => {
          await toy.play('block');
          await toy.play('saturate-loop');
        },
        () => droppedOver(reports, /blocked our interrupt write/),
      );
      assert.deepEqual(conn.readS2M(), [sent], 'what was published arrived intact');
      const r = await conn.next();
      assert.equal(r?.msg?.type, MsgType.DISCONNECT, 'the master was told why');
    }),
  );

  test('our slave drains an M2S eventfd that the master made blocking and keeps reading', T, (t) =>
    scene(t, 'slave M2S blocking + stolen counts', 'M2S', async (slave, conn, toy, reports, received) => {
      await toy.play('block');
      await toy.play('steal-loop');
      const loop = new LoopWatch();
      const sent = Array.from({ length: 24 }, (_, i) => packet(`to the slave ${i}`, 80 + i));
      for (let i = 0; i < sent.length; i += 8) {
        assert.equal(conn.sendM2S(sent.slice(i, i + 8)), 8);
        await until(() => {
          if (slave.connected) received.push(...slave.rxBurst(0));
          return received.length >= i + 8 || !slave.connected;
        });
      }
      await loop.assertAlive('slave reading under stolen interrupts');
      assert.deepEqual(reports.all, [], 'no error or disconnect');
      assert.deepEqual(received, sent);
    }),
  );
});
