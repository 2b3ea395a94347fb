// Unit tests of the control-message codec (src/wire/messages.ts) against memif-protocol.md §5.
// Offsets in comments are absolute ("abs"): the u16 type is at abs 0, the payload starts at abs 2.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADD_RING_FLAG_S2M,
  InterfaceMode,
  MSG_SIZE,
  MsgType,
  NAME_FIELD_SIZE,
  REASON_FIELD_SIZE,
  SECRET_FIELD_SIZE,
} from '../../src/constants.js';
import { ErrorCodes, InvalidArgumentError, MemifError, PeerRefusedError, ProtocolError } from '../../src/errors.js';
import {
  type AddRegion,
  type AddRing,
  type Connect,
  type Disconnect,
  decodeAddRegion,
  decodeAddRing,
  decodeConnect,
  decodeConnected,
  decodeDisconnect,
  decodeHello,
  decodeInit,
  decodeMessage,
  encodeAck,
  encodeAddRegion,
  encodeAddRing,
  encodeConnect,
  encodeConnected,
  encodeDisconnect,
  encodeHello,
  encodeInit,
  encodeMessage,
  type Hello,
  type Init,
  type Message,
  messageNames,
  messageType,
} from '../../src/wire/messages.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** Bytes of a hex string such as "02 00 56"; whitespace is ignored. */
function fromHex(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, '');
  assert.equal(clean.length % 2, 0, `odd hex string: ${hex}`);
  return Buffer.from(clean, 'hex');
}

/** A full 128-byte message: zero everywhere except the given [abs offset, hex] parts. */
function expectedMessage(...parts: Array<[number, string]>): Buffer {
  const b = Buffer.alloc(MSG_SIZE);
  for (const [offset, hex] of parts) {
    const bytes = fromHex(hex);
    assert.ok(offset + bytes.length <= MSG_SIZE, 'vector part overflows the message');
    bytes.copy(b, offset);
  }
  return b;
}

/** Byte-exact comparison of a whole message, with a readable hex diff on failure. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length, 'length');
  assert.equal(Buffer.from(actual).toString('hex'), Buffer.from(expected).toString('hex'));
}

/** A copy of a message's bytes. */
function copyOf(b: Uint8Array): Buffer {
  return Buffer.from(b);
}

/** Asserts fn throws a ProtocolError with the given symbolic name and numeric code. */
function assertProtocolError(fn: () => unknown, errorName: keyof typeof ErrorCodes, code: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Error, 'is an Error');
    assert.ok(err instanceof MemifError, 'is a MemifError');
    assert.ok(err instanceof ProtocolError, 'is a ProtocolError');
    assert.ok(!(err instanceof PeerRefusedError), 'is not a PeerRefusedError');
    assert.ok(!(err instanceof InvalidArgumentError), 'is not an InvalidArgumentError');
    assert.equal(err.errorName, errorName);
    assert.equal(err.code, code);
    assert.equal(err.name, 'ProtocolError');
    return true;
  });
}

const HELLO_BASE: Omit<Hello, 'type'> = {
  name: 'master',
  minVersion: 0x0200,
  maxVersion: 0x0200,
  maxRegion: 255,
  maxM2SRing: 255,
  maxS2MRing: 255,
  maxLog2RingSize: 14,
};

// ---------------------------------------------------------------------------------------------
// §5.9 test vectors

interface Vector {
  label: string;
  /** The full 128-byte message, built from the spec's hex (everything not shown is zero). */
  bytes: Buffer;
  /** The field values the spec states. */
  message: Message;
  /** Encodes those values through the type-specific encoder. */
  encode: () => Buffer;
  /** Decodes through the type-specific decoder. */
  decode: (b: Uint8Array) => Message;
}

const helloVector: Hello = {
  type: MsgType.HELLO,
  name: 'VPP 24.10',
  minVersion: 0x0200,
  maxVersion: 0x0200,
  maxRegion: 255,
  maxM2SRing: 255,
  maxS2MRing: 255,
  maxLog2RingSize: 14,
};

const initVector: Init = {
  type: MsgType.INIT,
  version: 0x0200,
  id: 7,
  mode: InterfaceMode.ip,
  secret: Buffer.from('abc'),
  name: 'app',
};

const addRegionVector: AddRegion = { type: MsgType.ADD_REGION, index: 0, size: 4227328n };

const addRingS2MVector: AddRing = {
  type: MsgType.ADD_RING,
  ringType: 'S2M',
  otherFlags: 0,
  index: 0,
  region: 0,
  offset: 0,
  log2RingSize: 10,
  privateHdrSize: 0,
};

const addRingM2SVector: AddRing = {
  type: MsgType.ADD_RING,
  ringType: 'M2S',
  otherFlags: 0,
  index: 0,
  region: 0,
  offset: 16512,
  log2RingSize: 10,
  privateHdrSize: 0,
};

const disconnectVector: Disconnect = { type: MsgType.DISCONNECT, code: 0, reason: 'x' };

const vectors: Vector[] = [
  {
    label: 'HELLO name="VPP 24.10", versions 0x0200, limits 255/255/255, log2 14',
    bytes: expectedMessage([0, '02 00 56 50 50 20 32 34 2e 31 30 00'], [34, '00 02 00 02 ff 00 ff 00 ff 00 0e']),
    message: helloVector,
    encode: () =>
      encodeHello({
        name: 'VPP 24.10',
        minVersion: 0x0200,
        maxVersion: 0x0200,
        maxRegion: 255,
        maxM2SRing: 255,
        maxS2MRing: 255,
        maxLog2RingSize: 14,
      }),
    decode: decodeHello,
  },
  {
    label: 'INIT version 0x0200, id 7, mode ip(1), secret "abc", name "app"',
    bytes: expectedMessage([0, '03 00 00 02 07 00 00 00 01 61 62 63 00'], [33, '61 70 70 00']),
    message: initVector,
    encode: () => encodeInit({ version: 0x0200, id: 7, mode: 1, secret: 'abc', name: 'app' }),
    decode: decodeInit,
  },
  {
    label: 'ADD_REGION index 0, size 4227328 (0x408100)',
    bytes: expectedMessage([0, '04 00 00 00 00 81 40 00 00 00 00 00']),
    message: addRegionVector,
    encode: () => encodeAddRegion({ index: 0, size: 0x408100n }),
    decode: decodeAddRegion,
  },
  {
    label: 'ADD_RING S2M #0, region 0, offset 0, log2 10',
    bytes: expectedMessage([0, '05 00 01 00 00 00 00 00 00 00 00 00 0a 00 00']),
    message: addRingS2MVector,
    encode: () => encodeAddRing({ ringType: 'S2M', index: 0, region: 0, offset: 0, log2RingSize: 10 }),
    decode: decodeAddRing,
  },
  {
    label: 'ADD_RING M2S #0, region 0, offset 16512 (0x4080), log2 10',
    bytes: expectedMessage([0, '05 00 00 00 00 00 00 00 80 40 00 00 0a 00 00']),
    message: addRingM2SVector,
    encode: () => encodeAddRing({ ringType: 'M2S', index: 0, region: 0, offset: 0x4080, log2RingSize: 10 }),
    decode: decodeAddRing,
  },
  {
    label: 'DISCONNECT code 0, "x"',
    bytes: expectedMessage([0, '08 00 00 00 00 00 78 00']),
    message: disconnectVector,
    encode: () => encodeDisconnect('x'),
    decode: decodeDisconnect,
  },
];

describe('§5.9 test vectors', () => {
  test('the vectors are built as 128-byte messages with the spec bytes in place', () => {
    // Guards the helper itself: a few spot checks against the spec text.
    const hello = vectors[0].bytes;
    assert.equal(hello.length, 128);
    assert.equal(hello.toString('latin1', 2, 11), 'VPP 24.10');
    assert.equal(hello[44], 0x0e);
    assert.equal(hello.readUInt16LE(36), 0x0200);
    assert.equal(vectors[2].bytes.readBigUInt64LE(4), 4227328n);
    assert.equal(vectors[4].bytes.readUInt32LE(8), 16512);
    assert.equal(vectors[5].bytes[6], 0x78);
  });

  for (const v of vectors) {
    describe(v.label, () => {
      test('type-specific encoder produces exactly the spec bytes, zero elsewhere', () => {
        assertSameBytes(v.encode(), v.bytes);
      });

      test('encodeMessage produces exactly the spec bytes, zero elsewhere', () => {
        assertSameBytes(encodeMessage(v.message), v.bytes);
      });

      test('decodeMessage gives the stated field values', () => {
        assert.deepStrictEqual(decodeMessage(v.bytes), v.message);
      });

      test('type-specific decoder gives the stated field values', () => {
        assert.deepStrictEqual(v.decode(v.bytes), v.message);
      });

      test('messageType reads the u16 type', () => {
        assert.equal(messageType(v.bytes), v.message.type);
      });
    });
  }

  test('INIT vector: secret decodes as the Buffer "abc", mode 1 is ip', () => {
    const m = decodeMessage(vectors[1].bytes);
    assert.equal(m.type, MsgType.INIT);
    if (m.type !== MsgType.INIT) return;
    assert.ok(Buffer.isBuffer(m.secret));
    assert.deepStrictEqual([...m.secret], [0x61, 0x62, 0x63]);
    assert.equal(m.mode, InterfaceMode.ip);
    assert.equal(m.id, 7);
  });

  test('INIT vector: a Uint8Array secret encodes the same as the string secret', () => {
    const b = encodeInit({ version: 0x0200, id: 7, mode: 1, secret: new Uint8Array([0x61, 0x62, 0x63]), name: 'app' });
    assertSameBytes(b, vectors[1].bytes);
  });

  test('ADD_RING vectors: S2M sets flag bit 0, M2S leaves it clear', () => {
    assert.equal(ADD_RING_FLAG_S2M, 1);
    assert.equal(encodeMessage(addRingS2MVector).readUInt16LE(2), 1);
    assert.equal(encodeMessage(addRingM2SVector).readUInt16LE(2), 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips

const roundTrips: Array<{ label: string; message: Message }> = [
  { label: 'ACK', message: { type: MsgType.ACK } },

  {
    label: 'HELLO all zero, empty name',
    message: {
      type: MsgType.HELLO,
      name: '',
      minVersion: 0,
      maxVersion: 0,
      maxRegion: 0,
      maxM2SRing: 0,
      maxS2MRing: 0,
      maxLog2RingSize: 0,
    },
  },
  {
    label: 'HELLO typical libmemif',
    message: {
      type: MsgType.HELLO,
      name: 'libmemif-app',
      minVersion: 0x0200,
      maxVersion: 0x0200,
      maxRegion: 1,
      maxM2SRing: 3,
      maxS2MRing: 7,
      maxLog2RingSize: 10,
    },
  },
  {
    label: 'HELLO maxima (u16 0xffff, u8 0xff, 31-byte name)',
    message: {
      type: MsgType.HELLO,
      name: 'N'.repeat(NAME_FIELD_SIZE - 1),
      minVersion: 0xffff,
      maxVersion: 0xffff,
      maxRegion: 0xffff,
      maxM2SRing: 0xffff,
      maxS2MRing: 0xffff,
      maxLog2RingSize: 0xff,
    },
  },
  {
    label: 'HELLO distinct values in every field (catches swapped fields)',
    message: {
      type: MsgType.HELLO,
      name: 'm',
      minVersion: 0x0102,
      maxVersion: 0x0304,
      maxRegion: 0x0506,
      maxM2SRing: 0x0708,
      maxS2MRing: 0x090a,
      maxLog2RingSize: 0x0b,
    },
  },

  {
    label: 'INIT zero id, ethernet, no secret, empty name',
    message: { type: MsgType.INIT, version: 0x0200, id: 0, mode: 0, secret: Buffer.alloc(0), name: '' },
  },
  {
    label: 'INIT maxima (u32 id 0xffffffff, u16 version 0xffff, mode 0xff, 23-byte secret, 31-byte name)',
    message: {
      type: MsgType.INIT,
      version: 0xffff,
      id: 0xffffffff,
      mode: 0xff,
      secret: Buffer.from(Array.from({ length: SECRET_FIELD_SIZE - 1 }, (_, i) => 0xff - i)),
      name: 'S'.repeat(NAME_FIELD_SIZE - 1),
    },
  },
  {
    label: 'INIT id 0x80000000 (sign bit), punt/inject, non-UTF-8 secret bytes, UTF-8 name',
    message: {
      type: MsgType.INIT,
      version: 0x0200,
      id: 0x80000000,
      mode: InterfaceMode['punt-inject'],
      secret: Buffer.from([0xff, 0xfe, 0x80, 0x01]),
      name: 'slavé-ü',
    },
  },

  { label: 'ADD_REGION index 0 size 0', message: { type: MsgType.ADD_REGION, index: 0, size: 0n } },
  {
    label: 'ADD_REGION size exactly 2^32',
    message: { type: MsgType.ADD_REGION, index: 1, size: 0x1_0000_0000n },
  },
  {
    label: 'ADD_REGION size above 2^32 (bigint), index 0xffff',
    message: { type: MsgType.ADD_REGION, index: 0xffff, size: 2n ** 32n + 0x1234n },
  },
  {
    label: 'ADD_REGION size 2^64 - 1',
    message: { type: MsgType.ADD_REGION, index: 2, size: 2n ** 64n - 1n },
  },

  {
    label: 'ADD_RING S2M typical',
    message: {
      type: MsgType.ADD_RING,
      ringType: 'S2M',
      otherFlags: 0,
      index: 1,
      region: 0,
      offset: 33024,
      log2RingSize: 10,
      privateHdrSize: 0,
    },
  },
  {
    label: 'ADD_RING S2M maxima (u16 0xffff, u32 offset 0xffffffff, other flags 0xfffe)',
    message: {
      type: MsgType.ADD_RING,
      ringType: 'S2M',
      otherFlags: 0xfffe,
      index: 0xffff,
      region: 0xffff,
      offset: 0xffffffff,
      log2RingSize: 0xff,
      privateHdrSize: 0xffff,
    },
  },
  {
    label: 'ADD_RING M2S with a high flag bit and a non-zero private header size',
    message: {
      type: MsgType.ADD_RING,
      ringType: 'M2S',
      otherFlags: 0x8000,
      index: 0x0102,
      region: 0x0304,
      offset: 0x80000000,
      log2RingSize: 14,
      privateHdrSize: 0x0506,
    },
  },

  { label: 'CONNECT empty', message: { type: MsgType.CONNECT, ifName: '' } },
  { label: 'CONNECT memif0/0', message: { type: MsgType.CONNECT, ifName: 'memif0/0' } },
  { label: 'CONNECT 31-byte name', message: { type: MsgType.CONNECT, ifName: 'c'.repeat(NAME_FIELD_SIZE - 1) } },
  { label: 'CONNECTED empty', message: { type: MsgType.CONNECTED, ifName: '' } },
  { label: 'CONNECTED net_memif0', message: { type: MsgType.CONNECTED, ifName: 'net_memif0' } },
  {
    label: 'CONNECTED 31-byte UTF-8 name',
    message: { type: MsgType.CONNECTED, ifName: `${'é'.repeat(15)}x` },
  },

  { label: 'DISCONNECT code 0, empty reason', message: { type: MsgType.DISCONNECT, code: 0, reason: '' } },
  {
    label: 'DISCONNECT code 22, "incorrect secret"',
    message: { type: MsgType.DISCONNECT, code: 22, reason: 'incorrect secret' },
  },
  {
    label: 'DISCONNECT code 0xffffffff, 95-byte reason',
    message: { type: MsgType.DISCONNECT, code: 0xffffffff, reason: 'r'.repeat(REASON_FIELD_SIZE - 1) },
  },
];

/** The round-trip sample whose label starts with `prefix`. */
function roundTrip(prefix: string): Message {
  const found = roundTrips.filter((r) => r.label.startsWith(prefix));
  assert.equal(found.length, 1, `one round-trip sample named ${prefix}`);
  return found[0].message;
}

/** The type-specific encoder for a message, to check it agrees with encodeMessage. */
function encodeSpecific(m: Message): Buffer {
  switch (m.type) {
    case MsgType.ACK:
      return encodeAck();
    case MsgType.HELLO: {
      const { type: _t, ...rest } = m;
      return encodeHello(rest);
    }
    case MsgType.INIT: {
      const { type: _t, ...rest } = m;
      return encodeInit(rest);
    }
    case MsgType.ADD_REGION:
      return encodeAddRegion({ index: m.index, size: m.size });
    case MsgType.ADD_RING: {
      const { type: _t, ...rest } = m;
      return encodeAddRing(rest);
    }
    case MsgType.CONNECT:
      return encodeConnect(m.ifName);
    case MsgType.CONNECTED:
      return encodeConnected(m.ifName);
    case MsgType.DISCONNECT:
      return encodeDisconnect(m.reason, m.code);
  }
}

describe('round trips encode → decode', () => {
  for (const { label, message } of roundTrips) {
    test(label, () => {
      const b = encodeMessage(message);
      assert.ok(Buffer.isBuffer(b));
      assert.equal(b.length, MSG_SIZE);
      assert.equal(b.readUInt16LE(0), message.type);
      assert.deepStrictEqual(decodeMessage(b), message);
      // The type-specific encoder writes the same bytes as encodeMessage.
      assertSameBytes(encodeSpecific(message), b);
    });
  }

  test('every message type 1..8 is covered by the round-trip table', () => {
    const types = new Set(roundTrips.map((r) => r.message.type));
    assert.deepStrictEqual(
      [...types].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  test('HELLO maxima: abs 34..44 are all 0xff and padding abs 45..127 is zero', () => {
    const b = encodeMessage(roundTrip('HELLO maxima'));
    assertSameBytes(b.subarray(34, 45), Buffer.alloc(11, 0xff));
    assertSameBytes(b.subarray(45), Buffer.alloc(128 - 45));
  });

  test('HELLO: max_region at abs 38, M2S limit at abs 40 before S2M limit at abs 42 (§5.3 field order)', () => {
    const b = encodeHello({
      ...HELLO_BASE,
      minVersion: 0x4444,
      maxVersion: 0x5555,
      maxM2SRing: 0x1111,
      maxS2MRing: 0x2222,
      maxRegion: 0x3333,
      maxLog2RingSize: 0x66,
    });
    assert.equal(b.readUInt16LE(34), 0x4444);
    assert.equal(b.readUInt16LE(36), 0x5555);
    assert.equal(b.readUInt16LE(38), 0x3333);
    assert.equal(b.readUInt16LE(40), 0x1111);
    assert.equal(b.readUInt16LE(42), 0x2222);
    assert.equal(b[44], 0x66);
    const m = decodeHello(b);
    assert.equal(m.maxM2SRing, 0x1111);
    assert.equal(m.maxS2MRing, 0x2222);
  });

  test('INIT id 0xffffffff is an unaligned little-endian u32 at abs 4..7', () => {
    const b = encodeInit({ version: 0x0200, id: 0xffffffff, mode: 0, name: '' });
    assertSameBytes(b, expectedMessage([0, '03 00 00 02 ff ff ff ff 00']));
    const b2 = encodeInit({ version: 0x0200, id: 0x12345678, mode: 2, name: '' });
    assertSameBytes(b2, expectedMessage([0, '03 00 00 02 78 56 34 12 02']));
    const m = decodeInit(b);
    assert.equal(m.id, 0xffffffff);
    assert.equal(m.id, 4294967295);
  });

  test('ADD_REGION: a size above 2^32 is an unaligned little-endian u64 at abs 4..11', () => {
    const b = encodeAddRegion({ index: 0x0102, size: 0x0123456789abcdefn });
    assertSameBytes(b, expectedMessage([0, '04 00 02 01 ef cd ab 89 67 45 23 01']));
    const m = decodeAddRegion(b);
    assert.equal(typeof m.size, 'bigint');
    assert.equal(m.size, 0x0123456789abcdefn);
    assert.equal(decodeAddRegion(encodeAddRegion({ index: 0, size: 2n ** 64n - 1n })).size, 18446744073709551615n);
  });

  test('ADD_RING maxima: every field byte is 0xff, padding zero', () => {
    const b = encodeMessage(roundTrip('ADD_RING S2M maxima'));
    assertSameBytes(b, expectedMessage([0, '05 00'], [2, 'ff'.repeat(13)]));
  });

  test('ADD_RING: ringType alone decides flag bit 0 (otherFlags bit 0 is masked)', () => {
    const b = encodeAddRing({ ringType: 'M2S', otherFlags: 0x0003, index: 0, region: 0, offset: 0, log2RingSize: 10 });
    assert.equal(b.readUInt16LE(2), 0x0002);
    const m = decodeAddRing(b);
    assert.equal(m.ringType, 'M2S');
    assert.equal(m.otherFlags, 0x0002);
    const s = decodeAddRing(
      encodeAddRing({ ringType: 'S2M', otherFlags: 0x0001, index: 0, region: 0, offset: 0, log2RingSize: 10 }),
    );
    assert.equal(s.ringType, 'S2M');
    assert.equal(s.otherFlags, 0);
  });

  test('DISCONNECT code 0xffffffff is a little-endian u32 at abs 2..5', () => {
    const b = encodeDisconnect('', 0xffffffff);
    assertSameBytes(b, expectedMessage([0, '08 00 ff ff ff ff']));
    assert.equal(decodeDisconnect(b).code, 0xffffffff);
    assert.equal(encodeDisconnect('a').readUInt32LE(2), 0, 'code defaults to 0');
  });

  test('CONNECT and CONNECTED differ only in the type', () => {
    const a = encodeConnect('memif1/2');
    const b = encodeConnected('memif1/2');
    assert.equal(a.readUInt16LE(0), MsgType.CONNECT);
    assert.equal(b.readUInt16LE(0), MsgType.CONNECTED);
    assertSameBytes(a.subarray(2), b.subarray(2));
    assert.deepStrictEqual(decodeConnect(a), { type: MsgType.CONNECT, ifName: 'memif1/2' } satisfies Connect);
    assert.deepStrictEqual(decodeConnected(b), { type: MsgType.CONNECTED, ifName: 'memif1/2' } satisfies Connect);
  });

  test('ACK is type 1 followed by 126 zero bytes, and encoders return fresh buffers', () => {
    const a = encodeAck();
    assertSameBytes(a, expectedMessage([0, '01 00']));
    a.fill(0x55);
    assertSameBytes(encodeAck(), expectedMessage([0, '01 00']));
  });

  test('messageNames maps type numbers to names', () => {
    assert.equal(messageNames[1], 'ACK');
    assert.equal(messageNames[2], 'HELLO');
    assert.equal(messageNames[5], 'ADD_RING');
    assert.equal(messageNames[8], 'DISCONNECT');
  });
});

// ---------------------------------------------------------------------------------------------
// String fields (§5.2)

interface StringField {
  label: string;
  /** abs offset of the field. */
  offset: number;
  size: number;
  encode: (s: string) => Buffer;
  /** Decodes the field's value as a string. */
  read: (b: Uint8Array) => string;
}

const stringFields: StringField[] = [
  {
    label: 'HELLO name',
    offset: 2,
    size: NAME_FIELD_SIZE,
    encode: (s) => encodeHello({ ...HELLO_BASE, name: s }),
    read: (b) => decodeHello(b).name,
  },
  {
    label: 'INIT secret',
    offset: 9,
    size: SECRET_FIELD_SIZE,
    encode: (s) => encodeInit({ version: 0x0200, id: 0xffffffff, mode: 1, secret: s, name: 'nm' }),
    read: (b) => decodeInit(b).secret.toString('utf8'),
  },
  {
    label: 'INIT name',
    offset: 33,
    size: NAME_FIELD_SIZE,
    encode: (s) => encodeInit({ version: 0x0200, id: 0xffffffff, mode: 1, secret: 'sec', name: s }),
    read: (b) => decodeInit(b).name,
  },
  {
    label: 'CONNECT if_name',
    offset: 2,
    size: NAME_FIELD_SIZE,
    encode: (s) => encodeConnect(s),
    read: (b) => decodeConnect(b).ifName,
  },
  {
    label: 'CONNECTED if_name',
    offset: 2,
    size: NAME_FIELD_SIZE,
    encode: (s) => encodeConnected(s),
    read: (b) => decodeConnected(b).ifName,
  },
  {
    label: 'DISCONNECT reason',
    offset: 6,
    size: REASON_FIELD_SIZE,
    encode: (s) => encodeDisconnect(s, 0xffffffff),
    read: (b) => decodeDisconnect(b).reason,
  },
];

/** Every byte outside [offset, offset + size). */
function outside(b: Buffer, offset: number, size: number): string {
  return Buffer.concat([b.subarray(0, offset), b.subarray(offset + size)]).toString('hex');
}

describe('string fields (§5.2)', () => {
  for (const f of stringFields) {
    describe(`${f.label} (abs ${f.offset}, ${f.size} bytes)`, () => {
      test('a short string is written then zero-filled to the end of the field', () => {
        const b = f.encode('ab');
        assertSameBytes(
          b.subarray(f.offset, f.offset + f.size),
          Buffer.concat([Buffer.from('ab'), Buffer.alloc(f.size - 2)]),
        );
        assert.equal(f.read(b), 'ab');
      });

      test('an empty string is a first byte of 0 and an all-zero field', () => {
        const b = f.encode('');
        assertSameBytes(b.subarray(f.offset, f.offset + f.size), Buffer.alloc(f.size));
        assert.equal(f.read(b), '');
      });

      test('a longer string is truncated to size - 1 bytes and NUL-terminated inside the field', () => {
        const long = 'abcdefghij'.repeat(Math.ceil((f.size + 9) / 10));
        assert.ok(long.length > f.size);
        const b = f.encode(long);
        const field = b.subarray(f.offset, f.offset + f.size);
        assert.equal(field[f.size - 1], 0, 'last byte of the field is NUL');
        assert.equal(field.toString('latin1', 0, f.size - 1), long.slice(0, f.size - 1));
        assert.equal(f.read(b), long.slice(0, f.size - 1));
        // Nothing outside the field is touched.
        assert.equal(outside(b, f.offset, f.size), outside(f.encode(''), f.offset, f.size));
      });

      test('a string of exactly size - 1 bytes fits whole; size bytes loses its last byte', () => {
        const fits = 'q'.repeat(f.size - 1);
        const b1 = f.encode(fits);
        assert.equal(b1[f.offset + f.size - 2], 0x71);
        assert.equal(b1[f.offset + f.size - 1], 0);
        assert.equal(f.read(b1), fits);

        const over = `${fits}Z`;
        const b2 = f.encode(over);
        assertSameBytes(b2, b1);
        assert.equal(f.read(b2), fits);
      });

      test('multi-byte UTF-8 (2, 3 and 4 bytes) is never cut in half', () => {
        const cases: Array<[string, number]> = [
          ['é', 2],
          ['€', 3],
          ['😀', 4],
        ];
        for (const [ch, width] of cases) {
          assert.equal(Buffer.byteLength(ch), width);
          const whole = Math.floor((f.size - 1) / width);
          const b = f.encode(ch.repeat(whole + 3));
          const field = b.subarray(f.offset, f.offset + f.size);
          // Exactly `whole` characters are written; every byte after them is zero.
          assertSameBytes(field, Buffer.concat([Buffer.from(ch.repeat(whole)), Buffer.alloc(f.size - whole * width)]));
          const s = f.read(b);
          assert.equal(s, ch.repeat(whole));
          assert.ok(!s.includes('\uFFFD'), 'no replacement character');
        }
      });

      test('a character that would straddle the last usable byte is dropped whole', () => {
        // size - 2 ASCII bytes, then a 2-byte character that would need bytes size-2 and size-1.
        const prefix = 'x'.repeat(f.size - 2);
        const b = f.encode(`${prefix}é`);
        assert.equal(b[f.offset + f.size - 2], 0);
        assert.equal(b[f.offset + f.size - 1], 0);
        assert.equal(f.read(b), prefix);
        // One byte shorter prefix: the character fits exactly in the last usable bytes.
        const b2 = f.encode(`${prefix.slice(1)}é`);
        assert.equal(f.read(b2), `${prefix.slice(1)}é`);
        assert.equal(b2[f.offset + f.size - 1], 0);
      });
    });
  }

  test('HELLO: "x"*30 + "é" (32 bytes) keeps the 30 x and drops the é', () => {
    const b = encodeHello({ ...HELLO_BASE, name: `${'x'.repeat(30)}é` });
    assertSameBytes(b.subarray(2, 34), Buffer.concat([Buffer.alloc(30, 0x78), Buffer.alloc(2)]));
    assert.equal(decodeHello(b).name, 'x'.repeat(30));
  });

  test('INIT name: "a" + 8 emoji keeps "a" + 7 emoji (29 bytes), bytes 29..31 zero', () => {
    const b = encodeInit({ version: 0x0200, id: 1, mode: 0, name: `a${'😀'.repeat(8)}` });
    const field = b.subarray(33, 65);
    assert.deepStrictEqual([...field.subarray(29)], [0, 0, 0]);
    assert.equal(decodeInit(b).name, `a${'😀'.repeat(7)}`);
  });

  test('DISCONNECT reason: 40 × "€" keeps 31 (93 bytes) and NUL-terminates at abs 101', () => {
    const b = encodeDisconnect('€'.repeat(40));
    assert.equal(b[6 + 92], 0xac, 'last byte of the 31st €');
    assertSameBytes(b.subarray(6 + 93, 102), Buffer.alloc(3));
    assert.equal(decodeDisconnect(b).reason, '€'.repeat(31));
  });

  describe('decode reads up to the first NUL and ignores garbage after it and in padding', () => {
    test('HELLO: name "abc", 0xAA in abs 6..33 and 45..127', () => {
      const b = encodeHello({ ...HELLO_BASE, name: 'abc' });
      const clean = decodeHello(b);
      assert.equal(clean.name, 'abc');
      b.fill(0xaa, 6, 34);
      b.fill(0xaa, 45);
      assert.equal(b[5], 0);
      assert.deepStrictEqual(decodeMessage(b), clean);
      assert.deepStrictEqual(decodeHello(b), clean);
    });

    test('INIT: secret "ab" and name "app", 0xAA after each NUL and in abs 65..127', () => {
      const b = encodeInit({ version: 0x0200, id: 9, mode: 0, secret: 'ab', name: 'app' });
      const clean = decodeInit(b);
      assert.deepStrictEqual(clean.secret, Buffer.from('ab'));
      b.fill(0xaa, 12, 33); // secret: abs 9 'a', 10 'b', 11 NUL, garbage to abs 32
      b.fill(0xaa, 37, 65); // name: abs 33..35 "app", 36 NUL, garbage to abs 64
      b.fill(0xaa, 65); // padding
      assert.deepStrictEqual(decodeMessage(b), clean);
      const m = decodeInit(b);
      assert.equal(m.name, 'app');
      assert.deepStrictEqual([...m.secret], [0x61, 0x62]);
    });

    test('CONNECT / CONNECTED: "memif0/0", 0xAA in abs 11..127', () => {
      for (const enc of [encodeConnect, encodeConnected]) {
        const b = enc('memif0/0');
        const clean = decodeMessage(b);
        b.fill(0xaa, 11);
        assert.equal(b[10], 0);
        assert.deepStrictEqual(decodeMessage(b), clean);
        assert.equal((decodeMessage(b) as Connect).ifName, 'memif0/0');
      }
    });

    test('DISCONNECT: "bye", 0xAA in abs 10..127', () => {
      const b = encodeDisconnect('bye', 3);
      b.fill(0xaa, 10);
      assert.deepStrictEqual(decodeMessage(b), { type: MsgType.DISCONNECT, code: 3, reason: 'bye' });
    });

    test('garbage that is valid text after the NUL is also ignored', () => {
      const b = encodeConnect('a');
      b.write('HIDDEN', 4, 'latin1');
      assert.equal(decodeConnect(b).ifName, 'a');
    });
  });

  describe('a field with no NUL decodes as the full field (and not beyond it)', () => {
    test('HELLO name: 32 × "A", followed by non-zero min_version bytes', () => {
      const b = encodeHello({ ...HELLO_BASE, minVersion: 0x4343 });
      b.fill(0x41, 2, 34);
      const m = decodeHello(b);
      assert.equal(m.name, 'A'.repeat(32));
      assert.equal(m.minVersion, 0x4343);
      assert.equal(m.maxLog2RingSize, 14);
    });

    test('INIT secret: 24 × "s" followed by name "app" gives a 24-byte secret', () => {
      const b = encodeInit({ version: 0x0200, id: 5, mode: 0, name: 'app' });
      b.fill(0x73, 9, 33);
      const m = decodeInit(b);
      assert.deepStrictEqual(m.secret, Buffer.alloc(24, 0x73));
      assert.equal(m.name, 'app');
    });

    test('INIT name: 32 × "n" with non-zero padding after it', () => {
      const b = encodeInit({ version: 0x0200, id: 5, mode: 0, name: '' });
      b.fill(0x6e, 33, 65);
      b.fill(0x7a, 65);
      assert.equal(decodeInit(b).name, 'n'.repeat(32));
    });

    test('CONNECT if_name: 32 × "b" with "c" padding after it', () => {
      const b = encodeConnect('');
      b.fill(0x62, 2, 34);
      b.fill(0x63, 34);
      assert.equal(decodeConnect(b).ifName, 'b'.repeat(32));
      assert.deepStrictEqual(decodeMessage(b), { type: MsgType.CONNECT, ifName: 'b'.repeat(32) });
    });

    test('DISCONNECT reason: 96 × "r" with "c" padding after it', () => {
      const b = encodeDisconnect('', 1);
      b.fill(0x72, 6, 102);
      b.fill(0x63, 102);
      assert.deepStrictEqual(decodeMessage(b), { type: MsgType.DISCONNECT, code: 1, reason: 'r'.repeat(96) });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// INIT secret (§5.4)

describe('INIT secret', () => {
  const base = { version: 0x0200, id: 1, mode: 0, name: 'app' };

  test('is decoded as a Buffer of the bytes before the first NUL', () => {
    const m = decodeInit(encodeInit({ ...base, secret: 'hunter2' }));
    assert.ok(Buffer.isBuffer(m.secret));
    assert.deepStrictEqual(m.secret, Buffer.from('hunter2'));
    assert.equal(m.secret.length, 7);
  });

  test('is an empty Buffer when unused (omitted), and the field abs 9..32 is all zero', () => {
    const b = encodeInit(base);
    assertSameBytes(b.subarray(9, 33), Buffer.alloc(24));
    const m = decodeInit(b);
    assert.ok(Buffer.isBuffer(m.secret));
    assert.equal(m.secret.length, 0);
  });

  test('is an empty Buffer for an empty string or empty Uint8Array secret', () => {
    assert.equal(decodeInit(encodeInit({ ...base, secret: '' })).secret.length, 0);
    assert.equal(decodeInit(encodeInit({ ...base, secret: new Uint8Array(0) })).secret.length, 0);
    assertSameBytes(encodeInit({ ...base, secret: '' }), encodeInit(base));
  });

  test('stops at the first NUL even with stale bytes after it', () => {
    const b = encodeInit(base);
    b.set([0x6b, 0x00, 0x41, 0x42, 0x43], 9);
    assert.deepStrictEqual(decodeInit(b).secret, Buffer.from('k'));
  });

  test('keeps arbitrary (non-UTF-8) bytes exactly', () => {
    const bytes = new Uint8Array([0xff, 0xc3, 0x28, 0x80, 0x7f, 0x01]);
    const m = decodeInit(encodeInit({ ...base, secret: bytes }));
    assert.deepStrictEqual([...m.secret], [...bytes]);
  });

  test('a Uint8Array secret longer than 23 bytes is truncated to 23 and NUL-terminated at abs 32', () => {
    const long = new Uint8Array(30).map((_, i) => i + 1);
    const b = encodeInit({ ...base, secret: long });
    assert.equal(b[32], 0);
    assertSameBytes(b.subarray(9, 32), long.subarray(0, 23));
    assert.equal(decodeInit(b).name, 'app', 'name at abs 33 untouched');
    assert.deepStrictEqual([...decodeInit(b).secret], [...long.subarray(0, 23)]);
  });

  test('is a copy: changing the received bytes afterwards does not change the decoded secret', () => {
    const b = encodeInit({ ...base, secret: 'abc' });
    const m = decodeInit(b);
    b.fill(0x7a, 9, 12);
    assert.deepStrictEqual(m.secret, Buffer.from('abc'));
  });
});

// ---------------------------------------------------------------------------------------------
// Errors

describe('decodeMessage errors', () => {
  test('error codes: MEMIF_ERR_MFMSG is 22, MEMIF_ERR_UNKNOWN_MSG is 36', () => {
    assert.equal(ErrorCodes.MEMIF_ERR_MFMSG, 22);
    assert.equal(ErrorCodes.MEMIF_ERR_UNKNOWN_MSG, 36);
  });

  for (const size of [0, 1, 2, 127, 129, 256]) {
    test(`rejects a ${size}-byte message with MEMIF_ERR_MFMSG (22)`, () => {
      // Otherwise a valid HELLO: only the size is wrong.
      const b = Buffer.alloc(size);
      vectors[0].bytes.copy(b, 0, 0, Math.min(size, MSG_SIZE));
      assertProtocolError(() => decodeMessage(b), 'MEMIF_ERR_MFMSG', 22);
    });
  }

  test('the size is checked before the type (127 bytes of unknown type 9 → MFMSG)', () => {
    const b = Buffer.alloc(127);
    b.writeUInt16LE(9, 0);
    assertProtocolError(() => decodeMessage(b), 'MEMIF_ERR_MFMSG', 22);
  });

  test('a 128-byte subarray of a larger buffer is accepted; a 129-byte one is not', () => {
    const big = new Uint8Array(300);
    big.set(vectors[0].bytes, 10);
    assert.deepStrictEqual(decodeMessage(big.subarray(10, 138)), helloVector);
    assertProtocolError(() => decodeMessage(big.subarray(10, 139)), 'MEMIF_ERR_MFMSG', 22);
  });

  for (const type of [0, 9, 0xffff, 0x0100, 0x0102]) {
    test(`rejects unknown type 0x${type.toString(16)} with MEMIF_ERR_UNKNOWN_MSG (36)`, () => {
      const b = Buffer.alloc(MSG_SIZE);
      b.writeUInt16LE(type, 0);
      assertProtocolError(() => decodeMessage(b), 'MEMIF_ERR_UNKNOWN_MSG', 36);
    });
  }

  test('the type is a little-endian u16 (0x0102 is not HELLO, 0x0201 is not ACK)', () => {
    assert.equal(messageType(Uint8Array.from([0x02, 0x01])), 0x0102);
    assert.equal(messageType(Uint8Array.from([0x01, 0x02])), 0x0201);
    const b = Buffer.alloc(MSG_SIZE);
    b.set([0x01, 0x02], 0);
    assertProtocolError(() => decodeMessage(b), 'MEMIF_ERR_UNKNOWN_MSG', 36);
  });
});

// ---------------------------------------------------------------------------------------------
// Decoding from a view at a non-zero byteOffset

describe('decode from a subarray at a non-zero byteOffset', () => {
  const samples: Array<{ label: string; message: Message }> = [
    ...vectors.map((v) => ({ label: v.label, message: v.message })),
    ...roundTrips,
  ];

  for (const at of [200, 193]) {
    test(`every sample decodes identically from the middle of a 512-byte buffer (offset ${at})`, () => {
      for (const { label, message } of samples) {
        const big = new Uint8Array(512).fill(0xaa);
        big.set(encodeMessage(message), at);
        const sub = big.subarray(at, at + MSG_SIZE);
        assert.equal(sub.byteOffset, at);
        assert.equal(sub.length, MSG_SIZE);
        assert.ok(!Buffer.isBuffer(sub), 'a plain Uint8Array');
        assert.equal(messageType(sub), message.type, label);
        assert.deepStrictEqual(decodeMessage(sub), message, label);
      }
    });
  }

  test('type-specific decoders also honour byteOffset', () => {
    for (const v of vectors) {
      const big = new Uint8Array(512).fill(0x55);
      big.set(v.bytes, 192);
      assert.deepStrictEqual(v.decode(big.subarray(192, 320)), v.message, v.label);
    }
  });

  test('a Buffer slice of a larger Buffer decodes too (INIT with secret, ADD_REGION above 2^32)', () => {
    const init: Init = {
      type: MsgType.INIT,
      version: 0x0200,
      id: 0xdeadbeef,
      mode: 1,
      secret: Buffer.from('s3cr3t'),
      name: 'slave',
    };
    const region: AddRegion = { type: MsgType.ADD_REGION, index: 3, size: 0x1_2345_6789n };
    const big = Buffer.alloc(512, 0xff);
    encodeMessage(init).copy(big, 131);
    encodeMessage(region).copy(big, 259);
    assert.deepStrictEqual(decodeMessage(big.subarray(131, 259)), init);
    assert.deepStrictEqual(decodeMessage(big.subarray(259, 387)), region);
  });
});

// ---------------------------------------------------------------------------------------------
// Padding is never checked (§5.1)

describe('padding is never checked', () => {
  test('HELLO vector with abs 45..127 all 0xFF decodes identically', () => {
    const b = copyOf(vectors[0].bytes);
    b.fill(0xff, 45);
    assert.equal(b[44], 0x0e);
    assert.equal(b[127], 0xff);
    assert.deepStrictEqual(decodeMessage(b), helloVector);
    assert.deepStrictEqual(decodeMessage(b), decodeMessage(vectors[0].bytes));
  });

  // Payload sizes from the §5.1 table; padding starts at abs 2 + payload size.
  const payloadSizes: Record<number, number> = { 1: 0, 2: 43, 3: 63, 4: 10, 5: 13, 6: 32, 7: 32, 8: 100 };

  for (const { label, message } of roundTrips) {
    test(`${label}: padding filled with 0xFF decodes identically`, () => {
      const b = encodeMessage(message);
      const start = 2 + payloadSizes[message.type];
      assertSameBytes(b.subarray(start), Buffer.alloc(MSG_SIZE - start));
      b.fill(0xff, start);
      assert.deepStrictEqual(decodeMessage(b), message);
    });
  }
});
