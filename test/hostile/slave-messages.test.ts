// A hostile SLAVE against our master, on the control channel: messages of the wrong size or type,
// out of order or repeated, missing or extra fds, bad version/mode/secret, a second slave for a
// taken id, bad ADD_REGION / ADD_RING fields, region fds that cannot be mapped, a bad cookie.
// Each attack: a typed refusal, nothing left open or mapped, few log lines, the bystander unharmed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MsgType } from '../../src/constants.js';
import { native } from '../../src/native.js';
import {
  encodeAck,
  encodeAddRegion,
  encodeAddRing,
  encodeConnect,
  encodeHello,
  encodeInit,
} from '../../src/wire/messages.js';
import { havePython, packet, python, until } from '../helpers/hostile.js';
import { bound, MasterArena, refused, refusedUnbound, withRegion, withRings } from '../helpers/master-arena.js';
import { newFds, snapshot } from '../helpers/resources.js';
import type { ScriptedSlave } from '../helpers/scripted-slave.js';

const T = { timeout: 15_000 };
/** A region fd that is no file: it cannot be sealed (NO_SHMFD) nor mapped (SYSCALL). */
const NOT_A_FILE = ['MEMIF_ERR_NO_SHMFD', 'MEMIF_ERR_SYSCALL'];

/** A message of `type` with nothing else in it. */
function bare(type: number): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt16LE(type, 0);
  return b;
}

describe('hostile slave vs our master: control messages', () => {
  const arena = new MasterArena();
  before(() => arena.start());
  after(() => arena.stop());

  describe('before INIT (no interface bound yet)', () => {
    test('a message of 10 bytes', T, () =>
      arena.attack('10-byte message', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(encodeInit({ version: 0x0200, id: a.id, mode: 0, name: 'short' }).subarray(0, 10));
        await refusedUnbound(a, s, /control message of 10 bytes; every message is 128/);
      }),
    );

    test('a message of 200 bytes', T, () =>
      arena.attack('200-byte message', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        const init = encodeInit({ version: 0x0200, id: a.id, mode: 0, name: 'long' });
        s.send(Buffer.concat([init, Buffer.alloc(72, 0x41)]));
        await refusedUnbound(a, s, /every message is 128/);
      }),
    );

    for (const type of [0, 9, 0x1234]) {
      test(`unknown message type 0x${type.toString(16)}`, T, () =>
        arena.attack(`unknown type ${type} before INIT`, {}, async (a) => {
          const s = a.slave();
          await s.expect(MsgType.HELLO);
          s.send(bare(type));
          await refusedUnbound(a, s, new RegExp(`unknown message type \\(0x${type.toString(16).padStart(2, '0')}\\)`));
        }),
      );
    }

    test('ADD_RING (with its eventfd) before INIT', T, () =>
      arena.attack('ADD_RING before INIT', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(encodeAddRing({ ringType: 'S2M', index: 0, region: 0, offset: 0, log2RingSize: 4 }), s.newEventfd());
        await refusedUnbound(a, s, /unexpected message ADD_RING/);
      }),
    );

    test('ADD_REGION (with a memfd) before INIT', T, () =>
      arena.attack('ADD_REGION before INIT', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.prepare();
        s.send(s.regionMessage(), s.region?.fd);
        await refusedUnbound(a, s, /unexpected message ADD_REGION/);
      }),
    );

    test('CONNECT before INIT', T, () =>
      arena.attack('CONNECT before INIT', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(encodeConnect('early'));
        await refusedUnbound(a, s, /unexpected message CONNECT/);
      }),
    );

    test('a HELLO or an ACK from the slave', T, () =>
      arena.attack('HELLO/ACK from a slave', {}, async (a) => {
        const s1 = a.slave();
        await s1.expect(MsgType.HELLO);
        s1.send(
          encodeHello({
            name: 'x',
            minVersion: 0x200,
            maxVersion: 0x200,
            maxRegion: 0,
            maxM2SRing: 0,
            maxS2MRing: 0,
            maxLog2RingSize: 4,
          }),
        );
        await refusedUnbound(a, s1, /unexpected message HELLO/);
        const s2 = a.slave();
        await s2.expect(MsgType.HELLO);
        s2.send(encodeAck());
        await refusedUnbound(a, s2, /unexpected message ACK/);
      }),
    );

    test('INIT with version 0x0100', T, () =>
      arena.attack('bad version', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(s.initMessage({ id: a.id, version: 0x0100 }));
        await refusedUnbound(a, s, /incompatible protocol version 0x100/);
      }),
    );

    test('INIT for an id nobody serves', T, () =>
      arena.attack('unknown id', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(s.initMessage({ id: 0xfffffff0 }));
        await refusedUnbound(a, s, /unmatched interface id 4294967280/);
      }),
    );

    test('a second slave for an id already connected', T, () =>
      arena.attack('second slave', {}, async (a) => {
        const first = a.slave();
        await first.handshake({ id: a.id });
        await a.victim.waitForConnect();
        const second = a.slave();
        await second.expect(MsgType.HELLO);
        second.send(second.initMessage({ id: a.id }));
        await refusedUnbound(a, second, /already connected/);
        // The first slave still owns the interface and its packets still arrive intact.
        assert.equal(a.victim.connected, true);
        const p = packet('first slave still here', 300);
        first.sendS2M([p]);
        await until(() => a.received.length > 0);
        assert.deepEqual(a.received, [p]);
      }),
    );
  });

  describe('after INIT (the victim is concerned)', () => {
    test('a message of 10 bytes', T, () =>
      arena.attack('10 bytes after INIT', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(s.regionMessage().subarray(0, 10), s.region?.fd);
        await refused(a, s, 'MEMIF_ERR_MFMSG', /control message of 10 bytes/);
      }),
    );

    test('a message of 200 bytes', T, () =>
      arena.attack('200 bytes after INIT', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(Buffer.concat([s.regionMessage(), Buffer.alloc(72, 0x42)]), s.region?.fd);
        await refused(a, s, 'MEMIF_ERR_MFMSG', /every message is 128/);
      }),
    );

    for (const type of [0, 9, 0x1234]) {
      test(`unknown message type 0x${type.toString(16)}`, T, () =>
        arena.attack(`unknown type ${type} after INIT`, {}, async (a) => {
          const s = a.slave();
          await bound(a, s);
          s.send(bare(type));
          await refused(a, s, 'MEMIF_ERR_UNKNOWN_MSG', /unknown message type/);
        }),
      );
    }

    test('INIT twice', T, () =>
      arena.attack('INIT twice', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(s.initMessage({ id: a.id }));
        await refused(a, s, 'MEMIF_ERR_MFMSG', /unexpected message INIT/);
      }),
    );

    test('CONNECT before any region', T, () =>
      arena.attack('CONNECT before regions', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(encodeConnect('hasty'));
        await refused(a, s, 'MEMIF_ERR_MAXRING', /at least one ring each way/);
      }),
    );

    test('CONNECT with rings in one direction only', T, () =>
      arena.attack('CONNECT with S2M only', {}, async (a) => {
        const s = a.slave();
        await withRegion(a, s);
        s.send(s.ringMessage('S2M'), s.newEventfd());
        await s.expect(MsgType.ACK);
        s.send(encodeConnect('half'));
        await refused(a, s, 'MEMIF_ERR_MAXRING', /at least one ring each way/);
      }),
    );

    test('the same ADD_REGION index twice', T, () =>
      arena.attack('ADD_REGION twice', {}, async (a) => {
        const s = a.slave();
        await withRegion(a, s);
        s.send(s.regionMessage(), s.region?.fd);
        await refused(a, s, 'MEMIF_ERR_MAXREG', /unexpected region index 0/);
      }),
    );

    test('ADD_REGION index 300', T, () =>
      arena.attack('ADD_REGION 300', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(encodeAddRegion({ index: 300, size: 65536n }), s.region?.fd);
        await refused(a, s, 'MEMIF_ERR_MAXREG', /region index 300/);
      }),
    );

    test('ADD_REGION without an fd', T, () =>
      arena.attack('ADD_REGION without fd', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(s.regionMessage());
        await refused(a, s, 'MEMIF_ERR_NO_SHMFD', /missing memory region fd/);
      }),
    );

    test('ADD_REGION of size 0', T, () =>
      arena.attack('ADD_REGION size 0', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(encodeAddRegion({ index: 0, size: 0n }), s.region?.fd);
        await refused(a, s, 'MEMIF_ERR_MFMSG', /invalid region size 0/);
      }),
    );

    test('ADD_RING without an fd', T, () =>
      arena.attack('ADD_RING without fd', {}, async (a) => {
        const s = a.slave();
        await withRegion(a, s);
        s.send(s.ringMessage('S2M'));
        await refused(a, s, 'MEMIF_ERR_NO_INTFD', /missing ring interrupt fd/);
      }),
    );

    test('an fd on INIT is closed, and the handshake goes on', T, () =>
      arena.attack('fd on INIT', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.prepare();
        const extra = s.newEventfd();
        const mid = snapshot();
        s.send(s.initMessage({ id: a.id }), extra);
        await s.expect(MsgType.ACK);
        assert.deepEqual(newFds(mid, snapshot()), [], 'the fd sent with INIT was closed at once');
        s.send(s.regionMessage(), s.region?.fd);
        await s.expect(MsgType.ACK);
      }),
    );

    test('an fd on CONNECT is closed, and the link comes up', T, () =>
      arena.attack('fd on CONNECT', {}, async (a) => {
        const s = a.slave();
        await withRings(a, s);
        const extra = native().memfdCreate('extra', 4096);
        const mid = snapshot();
        try {
          s.send(encodeConnect('with-fd'), extra);
          await s.expect(MsgType.CONNECTED);
          assert.deepEqual(newFds(mid, snapshot()), [], 'the fd sent with CONNECT was closed at once');
        } finally {
          native().close(extra);
        }
        await a.victim.waitForConnect();
        const p = packet('after fd on CONNECT', 200);
        s.sendS2M([p]);
        await until(() => a.received.length > 0);
        assert.deepEqual(a.received, [p]);
        // The link then ends with the slave's hang-up, reported as such.
        s.close();
        const o = await a.reports.first();
        assert.equal(o.kind, 'disconnect');
        assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED');
      }),
    );

    test('INIT with mode 7', T, () =>
      arena.attack('bad mode', {}, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(s.initMessage({ id: a.id, mode: 7 }));
        await refused(a, s, 'MEMIF_ERR_MODE', /mode mismatch/);
      }),
    );

    test('a wrong secret', T, () =>
      arena.attack('wrong secret', { victim: { secret: 'open sesame' } }, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(s.initMessage({ id: a.id, secret: 'open barley' }));
        await refused(a, s, 'MEMIF_ERR_SECRET', /incorrect secret/);
      }),
    );

    test('no secret when the master has one', T, () =>
      arena.attack('missing secret', { victim: { secret: 'open sesame' } }, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        s.send(s.initMessage({ id: a.id }));
        await refused(a, s, 'MEMIF_ERR_NOSECRET', /secret required/);
      }),
    );

    test('a secret that fills its field with no NUL', T, () =>
      arena.attack('secret without NUL', { victim: { secret: 'open sesame' } }, async (a) => {
        const s = a.slave();
        await s.expect(MsgType.HELLO);
        const init = s.initMessage({ id: a.id });
        init.fill(0x61, 9, 33); // 24 × 'a', running into the name field
        s.send(init);
        await refused(a, s, 'MEMIF_ERR_SECRET', /incorrect secret/);
      }),
    );
  });

  describe('bad region fds', () => {
    test('an eventfd as the region fd', T, () =>
      arena.attack('eventfd region', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(s.regionMessage(), s.newEventfd());
        await refused(a, s, NOT_A_FILE, /region 0/);
      }),
    );

    test('the control socket itself as the region fd', T, () =>
      arena.attack('socket region', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        s.send(s.regionMessage(), s.fd);
        await refused(a, s, NOT_A_FILE, /region 0/);
      }),
    );

    test('a region size of 1 GiB on a 64 KiB memfd', T, () =>
      arena.attack('oversized region', {}, async (a) => {
        const s = a.slave();
        await bound(a, s);
        const small = native().memfdCreate('small', 64 * 1024);
        try {
          s.send(encodeAddRegion({ index: 0, size: 1n << 30n }), small);
          await refused(a, s, 'MEMIF_ERR_SYSCALL', /cannot map region 0/);
        } finally {
          native().close(small);
        }
      }),
    );

    test('two fds on one ADD_REGION (python peer)', T, async (t) => {
      if (!(await havePython())) {
        t.skip('python3 with socket.send_fds is not available');
        return;
      }
      await arena.attack('two fds', {}, async (a) => {
        const r = await python(TWO_FDS, [a.socketPath, String(a.id)]);
        assert.equal(r.code, 0, r.err);
        const seen = JSON.parse(r.out) as { hello: number; ack: number; after: { type: number; reason: string }[] };
        assert.deepEqual(seen.hello, MsgType.HELLO);
        assert.deepEqual(seen.ack, MsgType.ACK);
        assert.deepEqual(
          seen.after.map((m) => m.type),
          [MsgType.DISCONNECT],
        );
        assert.match(seen.after[0].reason, /more than one fd/);
        const o = await a.reports.first();
        assert.equal(o.kind, 'error');
        assert.equal(o.error.errorName, 'MEMIF_ERR_MFMSG');
        assert.match(o.reason, /more than one fd/);
      });
    });
  });

  describe('bad ADD_RING fields', () => {
    const ring = (o: Partial<Parameters<typeof encodeAddRing>[0]>) =>
      encodeAddRing({ ringType: 'S2M', index: 0, region: 0, offset: 0, log2RingSize: 4, ...o });
    const cases: [string, (s: ScriptedSlave) => Buffer, string, RegExp][] = [
      [
        'offset outside its region',
        (s) => ring({ offset: (s.layout?.regionSize ?? 0) - 64 }),
        'MEMIF_ERR_MFMSG',
        /does not fit in region 0/,
      ],
      ['offset near 2^32', () => ring({ offset: 0xfffffff0 }), 'MEMIF_ERR_MFMSG', /does not fit in region 0/],
      ['offset not 4-aligned', () => ring({ offset: 2 }), 'MEMIF_ERR_MFMSG', /offset 2 does not fit/],
      ['region index out of range', () => ring({ region: 3 }), 'MEMIF_ERR_MFMSG', /unknown region 3/],
      ['log2 ring size 15', () => ring({ log2RingSize: 15 }), 'MEMIF_ERR_MAX_RING', /2\^15 too large/],
      ['log2 ring size 255', () => ring({ log2RingSize: 255 }), 'MEMIF_ERR_MAX_RING', /2\^255 too large/],
      ['private_hdr_size 1', () => ring({ privateHdrSize: 1 }), 'MEMIF_ERR_PRIVHDR', /private headers/],
      ['ring index 5 with one queue', () => ring({ index: 5 }), 'MEMIF_ERR_MAXRING', /unexpected ring index 5/],
    ];
    for (const [name, make, errorName, reason] of cases) {
      test(name, T, () =>
        arena.attack(`ADD_RING ${name}`, {}, async (a) => {
          const s = a.slave();
          await withRegion(a, s);
          s.send(make(s), s.newEventfd());
          await refused(a, s, errorName, reason);
        }),
      );
    }

    test('a second M2S ring when one queue is configured', T, () =>
      arena.attack('too many rings', {}, async (a) => {
        const s = a.slave();
        await withRings(a, s);
        s.send(ring({ ringType: 'M2S', index: 1, offset: 0 }), s.newEventfd());
        await refused(a, s, 'MEMIF_ERR_MAXRING', /too many rings: M2S 1 >= 1/);
      }),
    );

    test('CONNECT with a wrong cookie in a ring', T, () =>
      arena.attack('wrong cookie', {}, async (a) => {
        const s = a.slave();
        await withRings(a, s);
        if (s.m2s) s.m2s.u32[0] = 0xdeadbeef;
        s.send(encodeConnect('cookie'));
        await refused(a, s, 'MEMIF_ERR_COOKIE', /wrong cookie on M2S ring 0/);
      }),
    );
  });
});

/** A slave in python: INIT for argv[2], then ADD_REGION carrying two memfds; prints what came back. */
const TWO_FDS = `
import json, os, socket, struct, sys
path, ident = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
hello = s.recv(256)
init = bytearray(128)
struct.pack_into('<HHIB', init, 0, 3, 0x0200, ident, 0)
s.send(bytes(init))
ack = s.recv(256)
region = bytearray(128)
struct.pack_into('<HHQ', region, 0, 4, 0, 4096)
a = os.memfd_create('a'); os.ftruncate(a, 4096)
b = os.memfd_create('b'); os.ftruncate(b, 4096)
socket.send_fds(s, [bytes(region)], [a, b])
after = []
while True:
    m = s.recv(256)
    if not m:
        break
    after.append({'type': m[0] | (m[1] << 8), 'reason': m[6:102].split(b'\\0')[0].decode()})
print(json.dumps({'hello': hello[0], 'ack': ack[0], 'after': after}))
`;
