// A hostile MASTER against our slave: HELLOs out of range or odd, garbage, messages out of order,
// an ACK flood, an unterminated DISCONNECT reason, silence, hang-ups in every handshake state, and
// wild ring indices and descriptors once connected; after a fault the slave reconnects by itself
// to a good master. Each case: a typed report, nothing left open or mapped, few log lines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { DESC_FLAG_NEXT, MEMIF_COOKIE, MsgType } from '../../src/constants.js';
import { Memif, MemifError } from '../../src/index.js';
import { native } from '../../src/native.js';
import { computeLayout } from '../../src/shm/layout.js';
import { type Disconnect, encodeAck, encodeAddRegion, encodeConnected } from '../../src/wire/messages.js';
import { assertReleased, exchange, packet, until } from '../helpers/hostile.js';
import type { HostileConn } from '../helpers/hostile-master.js';
import { newFds, snapshot } from '../helpers/resources.js';
import { type Scene, SlaveArena } from '../helpers/slave-arena.js';

const T = { timeout: 15_000 };

/** The hostile master got DISCONNECT with a reason matching `reason`, then the slave hung up. */
async function toldAndDropped(conn: HostileConn, reason: RegExp): Promise<void> {
  const r = await conn.next();
  assert.equal(r?.msg?.type, MsgType.DISCONNECT, 'DISCONNECT');
  assert.match((r?.msg as Disconnect | undefined)?.reason ?? '', reason);
  assert.equal(await conn.next(), undefined, 'then the slave hangs up');
}

/** The slave's first report is an 'error' of `errorName` matching `reason`. */
async function slaveRefused(sc: Scene, errorName: string, reason: RegExp): Promise<void> {
  const o = await sc.reports.first();
  assert.ok(o.error instanceof MemifError);
  assert.equal(o.kind, 'error');
  assert.equal(o.error.errorName, errorName);
  assert.match(o.reason, reason);
  assert.equal(sc.slave.connected, false);
}

describe('hostile master vs our slave', () => {
  const arena = new SlaveArena();
  const logger = arena.logger;
  before(() => arena.start());
  after(() => arena.stop());
  const scene = arena.scene.bind(arena);

  describe('HELLO', () => {
    for (const [min, max] of [
      [0x0300, 0x0300],
      [0x0100, 0x0100],
      [0x0300, 0x0200],
    ]) {
      test(`versions 0x${min.toString(16)}-0x${max.toString(16)} (0x0200 excluded)`, T, () =>
        scene(`HELLO ${min}-${max}`, {}, async (sc) => {
          const conn = await sc.hm.accept();
          conn.sendHello({ minVersion: min, maxVersion: max });
          await slaveRefused(sc, 'MEMIF_ERR_PROTO', /incompatible protocol version/);
          await toldAndDropped(conn, /incompatible protocol version/);
        }),
      );
    }

    test('max rings 0 and max log2 3: one ring each way of 8 slots', T, () =>
      scene('HELLO limits', { rxQueues: 2, txQueues: 2, log2RingSize: 10 }, async (sc) => {
        const conn = await sc.hm.accept();
        conn.sendHello({ maxS2MRing: 0, maxM2SRing: 0, maxLog2RingSize: 3 });
        await conn.takeInit();
        const region = await conn.takeRegion();
        const layout = computeLayout({ numS2M: 1, numM2S: 1, log2RingSize: 3, bufferSize: 2048, cacheLineSize: 64 });
        assert.equal(region.size, BigInt(layout.regionSize));
        const s2m = await conn.takeRing();
        const m2s = await conn.takeRing();
        assert.deepEqual(
          [
            s2m.ringType,
            s2m.index,
            s2m.offset,
            s2m.log2RingSize,
            m2s.ringType,
            m2s.index,
            m2s.offset,
            m2s.log2RingSize,
          ],
          ['S2M', 0, 0, 3, 'M2S', 0, layout.ringBytes, 3],
        );
        const connect = await conn.next();
        assert.equal(connect?.msg?.type, MsgType.CONNECT, 'no more rings than HELLO allows');
        conn.mapRings();
        assert.equal(conn.ring('S2M').ring.cookie, MEMIF_COOKIE);
        assert.equal(conn.ring('M2S').ring.cookie, MEMIF_COOKIE);
        conn.send(encodeConnected('hostile0'));
        await sc.slave.waitForConnect();
        assert.equal(sc.slave.txQueueCount, 1);
        assert.equal(sc.slave.rxQueueCount, 1);
        assert.equal(sc.slave.details().rxQueues[0].ringSize, 8);
        // Packets flow both ways through the 8-slot rings.
        const up = packet('up through 8 slots', 700);
        assert.equal(sc.slave.txBurst(0, [up]), 1);
        assert.deepEqual(conn.readS2M(), [up]);
        const down = packet('down through 8 slots', 900);
        assert.equal(conn.sendM2S([down]), 1);
        await until(() => sc.received.length > 0);
        assert.deepEqual(sc.received, [down]);
      }),
    );

    test('garbage instead of HELLO (unknown type)', T, () =>
      scene('garbage HELLO', {}, async (sc) => {
        const conn = await sc.hm.accept();
        const junk = Buffer.alloc(128);
        for (let i = 0; i < junk.length; i++) junk[i] = (i * 73 + 41) & 0xff;
        junk.writeUInt16LE(0x4747, 0);
        conn.send(junk);
        await slaveRefused(sc, 'MEMIF_ERR_UNKNOWN_MSG', /unknown message type \(0x4747\)/);
        await toldAndDropped(conn, /unknown message type/);
      }),
    );

    test('garbage instead of HELLO (40 bytes)', T, () =>
      scene('short HELLO', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.send(Buffer.alloc(40, 0x02));
        await slaveRefused(sc, 'MEMIF_ERR_MFMSG', /control message of 40 bytes/);
        await toldAndDropped(conn, /40 bytes/);
      }),
    );

    test('HELLO twice', T, () =>
      scene('HELLO twice', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.sendHello();
        await conn.expect(MsgType.INIT);
        conn.sendHello();
        await slaveRefused(sc, 'MEMIF_ERR_MFMSG', /unexpected message HELLO/);
        await toldAndDropped(conn, /unexpected message HELLO/);
      }),
    );
  });

  describe('messages out of place', () => {
    test('an unknown message type after INIT', T, () =>
      scene('unknown type', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.sendHello();
        await conn.expect(MsgType.INIT);
        const m = Buffer.alloc(128);
        m.writeUInt16LE(9, 0);
        conn.send(m);
        await slaveRefused(sc, 'MEMIF_ERR_UNKNOWN_MSG', /unknown message type \(0x09\)/);
        await toldAndDropped(conn, /unknown message type/);
      }),
    );

    test('CONNECTED before anything', T, () =>
      scene('CONNECTED first', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.send(encodeConnected('too-soon'));
        await slaveRefused(sc, 'MEMIF_ERR_MFMSG', /unexpected message CONNECTED/);
        await toldAndDropped(conn, /unexpected message CONNECTED/);
      }),
    );

    test('CONNECTED before CONNECT', T, () =>
      scene('CONNECTED early', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.sendHello();
        await conn.takeInit();
        await conn.takeRegion();
        conn.send(encodeConnected('early'));
        await slaveRefused(sc, 'MEMIF_ERR_MFMSG', /unexpected message CONNECTED/);
        // The slave's ADD_RING (sent on our ACK) may come before its DISCONNECT.
        const r = await conn.next();
        if (r?.msg?.type === MsgType.ADD_RING) await toldAndDropped(conn, /unexpected message CONNECTED/);
        else assert.match((r?.msg as Disconnect | undefined)?.reason ?? '', /unexpected message CONNECTED/);
      }),
    );

    test('ACK before HELLO', T, () =>
      scene('ACK first', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.send(encodeAck());
        await slaveRefused(sc, 'MEMIF_ERR_MFMSG', /unexpected message ACK/);
        await toldAndDropped(conn, /unexpected message ACK/);
      }),
    );

    test('an ADD_REGION with a memfd sent to the slave (the fd is closed)', T, () =>
      scene('ADD_REGION to slave', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.sendHello();
        await conn.expect(MsgType.INIT);
        const memfd = native().memfdCreate('for-the-slave', 4096);
        try {
          const mid = snapshot();
          conn.send(encodeAddRegion({ index: 0, size: 4096n }), memfd);
          await slaveRefused(sc, 'MEMIF_ERR_MFMSG', /unexpected message ADD_REGION/);
          await toldAndDropped(conn, /unexpected message ADD_REGION/);
          assert.deepEqual(newFds(mid, snapshot()), [], 'the slave closed the fd it was sent');
        } finally {
          native().close(memfd);
        }
      }),
    );

    for (const connected of [false, true]) {
      test(`DISCONNECT with a 96-byte reason without NUL (${connected ? 'connected' : 'in handshake'})`, T, () =>
        scene(`long reason ${connected}`, {}, async (sc) => {
          const conn = await sc.hm.accept();
          const reason = 'Z'.repeat(96);
          const m = Buffer.alloc(128, 0x59); // 'Y' everywhere, so bytes after the field are not zero
          m.writeUInt16LE(MsgType.DISCONNECT, 0);
          m.writeUInt32LE(0, 2);
          m.write(reason, 6, 'latin1');
          if (connected) {
            await conn.handshake();
            await sc.slave.waitForConnect();
          } else {
            conn.sendHello();
            await conn.expect(MsgType.INIT);
          }
          conn.send(m);
          const o = await sc.reports.first();
          assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECT');
          if (connected) {
            assert.equal(o.kind, 'disconnect');
            assert.equal(o.reason, reason);
          } else {
            assert.equal(o.kind, 'error');
            assert.equal(o.reason, `peer disconnected: ${reason}`);
          }
          assert.equal(sc.slave.details().lastDisconnectReason, reason);
          assert.equal(await conn.next(), undefined, 'the slave just hangs up');
        }),
      );
    }
  });

  describe('floods and silence', () => {
    test('10,000 ACKs after HELLO: extra ACKs are ignored', T, () =>
      scene('ACK flood', {}, async (sc) => {
        const conn = await sc.hm.accept();
        conn.sendHello();
        const ack = encodeAck();
        let sent = 0;
        while (sent < 10_000) {
          const r = conn.send(ack);
          if (r === 'closed') break;
          if (r === 'sent') sent++;
          else await tick();
        }
        assert.equal(sent, 10_000);
        // Lock-step: the slave sent each of its messages on an ACK, and nothing more.
        await conn.expect(MsgType.INIT);
        await conn.takeRegion();
        const rings = [await conn.takeRing(), await conn.takeRing()];
        assert.deepEqual(
          rings.map((r) => r.ringType),
          ['S2M', 'M2S'],
        );
        await conn.expect(MsgType.CONNECT);
        conn.mapRings();
        conn.send(encodeConnected('after-flood'));
        await sc.slave.waitForConnect();
        assert.equal(conn.log.length, 5, 'INIT, ADD_REGION, 2 × ADD_RING, CONNECT');
        const up = packet('after 10,000 ACKs', 256);
        assert.equal(sc.slave.txBurst(0, [up]), 1);
        assert.deepEqual(conn.readS2M(), [up]);
        conn.close();
        const o = await sc.reports.first();
        assert.equal(o.kind, 'disconnect');
        assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED');
      }),
    );

    test('a master that accepts and never says HELLO: dropped, then retried', T, () =>
      scene(
        'no HELLO',
        { handshakeTimeoutMs: 300, reconnectIntervalMs: 50 },
        async (sc) => {
          const first = await sc.hm.accept();
          await slaveRefused(sc, 'MEMIF_ERR_AGAIN', /handshake not finished within 300 ms/);
          await toldAndDropped(first, /handshake not finished/);
          const second = await sc.hm.accept();
          assert.notEqual(second, first, 'the slave came back');
          second.close();
        },
        2,
      ),
    );

    test('a master that refuses every attempt, no error listener: one log line for 20 tries', T, () =>
      scene(
        'refusing master',
        { reconnectIntervalMs: 5 },
        async (sc) => {
          const mark = logger.loud();
          for (let i = 0; i < 20; i++) {
            const conn = await sc.hm.accept();
            conn.sendHello({ minVersion: 0x0300, maxVersion: 0x0300 });
            await toldAndDropped(conn, /incompatible protocol version/);
            conn.close();
          }
          const lines = logger.loudSince(mark);
          assert.equal(lines.length, 1, lines.join('\n'));
          assert.match(lines[0], /^warn memif: connection failed .*MEMIF_ERR_PROTO/);
        },
        1,
        false,
      ),
    );

    const states = ['accept', 'HELLO', 'INIT', 'ADD_REGION', 'ADD_RING S2M', 'ADD_RING M2S', 'CONNECT'] as const;
    for (const state of states) {
      test(`a master that hangs up after ${state}`, T, () =>
        scene(`hang-up after ${state}`, {}, async (sc) => {
          const conn = await sc.hm.accept();
          if (state !== 'accept') {
            conn.sendHello();
            if (state === 'INIT') await conn.expect(MsgType.INIT);
            else if (state !== 'HELLO') await conn.takeInit();
            if (state === 'ADD_REGION') await conn.expect(MsgType.ADD_REGION);
            else if (state.startsWith('ADD_RING') || state === 'CONNECT') await conn.takeRegion();
            if (state === 'ADD_RING S2M') await conn.expect(MsgType.ADD_RING);
            else if (state === 'ADD_RING M2S' || state === 'CONNECT') await conn.takeRing();
            if (state === 'ADD_RING M2S') await conn.expect(MsgType.ADD_RING);
            else if (state === 'CONNECT') {
              await conn.takeRing();
              await conn.expect(MsgType.CONNECT);
            }
          }
          conn.close();
          await slaveRefused(sc, 'MEMIF_ERR_DISCONNECTED', /peer closed|hung up/);
          // Released at once, not only at close().
          await assertReleased(sc.before, `slave after the hang-up after ${state}`);
        }),
      );
    }
  });

  describe('once connected', () => {
    /**
     * Connects the slave to a hostile master, runs `attack`, expects 'disconnect' MEMIF_ERR_MFMSG
     * with `reason`, then checks that the slave reconnects by itself to a good master.
     */
    function faultThenRecover(name: string, attack: (conn: HostileConn, sc: Scene) => void, reason: RegExp): void {
      test(name, T, () =>
        scene(
          name,
          { reconnectIntervalMs: 50 },
          async (sc) => {
            const conn = await sc.hm.accept();
            await conn.handshake();
            await sc.slave.waitForConnect();
            // A correct packet first, to show the link worked.
            const first = packet(`before: ${name}`, 300);
            assert.equal(conn.sendM2S([first]), 1);
            await until(() => sc.received.length > 0);
            assert.deepEqual(sc.received, [first]);
            attack(conn, sc);
            const o = await sc.reports.first();
            assert.equal(o.kind, 'disconnect');
            assert.equal(o.error.errorName, 'MEMIF_ERR_MFMSG');
            assert.match(o.reason, reason);
            await toldAndDropped(conn, reason);
            sc.hm.close();
            await assertReleased(sc.before, `slave after: ${name}`);
            // A good master on the same socket: the slave comes back by itself.
            const good = await Memif.create({ role: 'master', socketPath: sc.socketPath, id: 0, logger });
            try {
              await sc.slave.waitForConnect();
              await good.waitForConnect();
              await exchange(good, sc.slave, `recovered from: ${name}`);
            } finally {
              await good.close();
            }
          },
          3,
        ),
      );
    }

    faultThenRecover(
      'M2S tail moved past head (more than offered)',
      (conn) => {
        conn.setTail('M2S', 18);
        conn.kick('M2S');
      },
      /M2S ring 0: tail 18 moved past the buffers offered/,
    );

    faultThenRecover(
      'M2S tail moved backwards',
      (conn) => {
        conn.setTail('M2S', 0xfff0);
        conn.kick('M2S');
      },
      /tail 65520 moved past the buffers offered/,
    );

    faultThenRecover(
      "M2S descriptor longer than the slave's buffer",
      (conn) => {
        conn.fillM2S(1, { length: 2049 });
        conn.setTail('M2S', 2);
        conn.kick('M2S');
      },
      /M2S ring 0 slot 1: length 2049 exceeds the buffer size 2048/,
    );

    faultThenRecover(
      'an M2S chain whose NEXT never ends (ring full)',
      (conn, sc) => {
        // Slot 0 was used; the slave offered it again, so a whole ring is available from 1.
        assert.equal(sc.slave.details().rxQueues[0].head, 17);
        for (let k = 1; k <= 16; k++) conn.fillM2S(k & 15, { flags: DESC_FLAG_NEXT, length: 8 });
        conn.setTail('M2S', 17);
        conn.kick('M2S');
      },
      /longer than the whole ring/,
    );

    faultThenRecover(
      'S2M tail moved backwards (head - tail > ring size)',
      (conn, sc) => {
        conn.setTail('S2M', 0xff00);
        assert.equal(sc.slave.txBurst(0, [packet('into a broken ring', 100)]), 0);
      },
      /S2M ring 0: tail 65280 is ahead of head 0/,
    );

    test('an M2S descriptor with a wild region and offset: the slave reads its own buffer', T, () =>
      scene('wild M2S address', {}, async (sc) => {
        const conn = await sc.hm.accept();
        await conn.handshake();
        await sc.slave.waitForConnect();
        const p = packet('where the slave put its buffer', 200);
        const offered = conn.offeredM2S(0);
        conn.regions[0].bytes.set(p, offered.offset);
        conn.fillM2S(0, { length: p.length, region: 9, offset: 0xfffffff0 });
        conn.setTail('M2S', 1);
        conn.kick('M2S');
        await until(() => sc.received.length > 0);
        assert.deepEqual(sc.received, [p]);
        assert.equal(sc.slave.connected, true);
        assert.deepEqual(sc.reports.all, []);
      }),
    );

    test('an M2S descriptor of length 0 is dropped and counted', T, () =>
      scene('empty M2S', {}, async (sc) => {
        const conn = await sc.hm.accept();
        await conn.handshake();
        await sc.slave.waitForConnect();
        const p = packet('after an empty one', 222);
        conn.fillM2S(0, { length: 0 });
        conn.regions[0].bytes.set(p, conn.offeredM2S(1).offset);
        conn.fillM2S(1, { length: p.length });
        conn.setTail('M2S', 2);
        conn.kick('M2S');
        await until(() => sc.received.length > 0);
        assert.deepEqual(sc.received, [p]);
        const q = sc.slave.details().rxQueues[0];
        assert.equal(q.errors, 1);
        assert.equal(q.packets, 1);
        assert.equal(sc.slave.connected, true);
      }),
    );

    test('a master that hangs up while connected', T, () =>
      scene('hang-up when connected', {}, async (sc) => {
        const conn = await sc.hm.accept();
        await conn.handshake();
        await sc.slave.waitForConnect();
        conn.close();
        const o = await sc.reports.first();
        assert.equal(o.kind, 'disconnect');
        assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED');
        await assertReleased(sc.before, 'slave after a hang-up when connected');
      }),
    );
  });
});
