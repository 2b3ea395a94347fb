// Property-based fuzzing of the control-message codec (src/wire/messages.ts): arbitrary bytes into
// decodeMessage, decode → encode → decode normalisation, and encode → decode round trips of valid
// messages. Seeds, run counts and long runs: see harness.ts. Corpus: corpus/decoder.json.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MSG_SIZE, MsgType, NAME_FIELD_SIZE, REASON_FIELD_SIZE, SECRET_FIELD_SIZE } from '../../src/constants.js';
import { ProtocolError } from '../../src/errors.js';
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/messages.js';
import { fuzz, loadCorpus } from './harness.js';

const P = 2;

/** Where each type's string fields are (absolute offsets, sizes including the NUL). */
const stringFields: Record<number, { key: string; at: number; size: number }[]> = {
  [MsgType.HELLO]: [{ key: 'name', at: P, size: NAME_FIELD_SIZE }],
  [MsgType.INIT]: [{ key: 'name', at: P + 31, size: NAME_FIELD_SIZE }],
  [MsgType.CONNECT]: [{ key: 'ifName', at: P, size: NAME_FIELD_SIZE }],
  [MsgType.CONNECTED]: [{ key: 'ifName', at: P, size: NAME_FIELD_SIZE }],
  [MsgType.DISCONNECT]: [{ key: 'reason', at: P + 4, size: REASON_FIELD_SIZE }],
};
const SECRET_AT = P + 7;

/** First byte after the last field of each type: an encoder leaves everything from here zero. */
const payloadEnd: Record<number, number> = {
  [MsgType.ACK]: P,
  [MsgType.HELLO]: P + 43,
  [MsgType.INIT]: P + 31 + NAME_FIELD_SIZE,
  [MsgType.ADD_REGION]: P + 10,
  [MsgType.ADD_RING]: P + 13,
  [MsgType.CONNECT]: P + NAME_FIELD_SIZE,
  [MsgType.CONNECTED]: P + NAME_FIELD_SIZE,
  [MsgType.DISCONNECT]: P + 4 + REASON_FIELD_SIZE,
};

// ---------------------------------------------------------------------------------------------
// Inputs

type Holder = 'uint8array' | 'buffer' | 'offset';

/** Puts `bytes` into the kind of Uint8Array a caller might pass (plain, pooled Buffer, odd byteOffset). */
function hold(bytes: Uint8Array, holder: Holder): Uint8Array {
  if (holder === 'buffer') return Buffer.from(bytes);
  if (holder === 'offset') {
    const u = new Uint8Array(new ArrayBuffer(bytes.length + 11), 3, bytes.length);
    u.set(bytes);
    return u;
  }
  return Uint8Array.from(bytes);
}

const holderArb = fc.constantFrom<Holder>('uint8array', 'buffer', 'offset');

/** A byte that is often 0, often printable, sometimes UTF-8 lead/continuation, sometimes anything. */
const fieldByte = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xf4 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

/** 128 bytes whose type is `typeArb`, payload biased towards string-like content. */
function message128(typeArb: fc.Arbitrary<number>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      typeArb,
      fc.oneof(
        fc.uint8Array({ minLength: MSG_SIZE - 2, maxLength: MSG_SIZE - 2 }),
        fc.array(fieldByte, { minLength: MSG_SIZE - 2, maxLength: MSG_SIZE - 2 }).map((a) => Uint8Array.from(a)),
      ),
    )
    .map(([type, payload]) => {
      const b = new Uint8Array(MSG_SIZE);
      b[0] = type & 0xff;
      b[1] = type >>> 8;
      b.set(payload, 2);
      return b;
    });
}

const validType = fc.integer({ min: MsgType.ACK, max: MsgType.DISCONNECT });
const anyType = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 10 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x100, 0x101, 0x108, 0xff01, 0xffff) },
);
const anyBytes = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 126, maxLength: 130 }) },
  { weight: 3, arbitrary: message128(anyType) },
);

/** Truncates `s` at a code-point boundary to at most `max` UTF-8 bytes. */
function utf8Prefix(s: string, max: number): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    const len = Buffer.byteLength(ch);
    if (n + len > max) break;
    out += ch;
    n += len;
  }
  return out;
}

/** Any Unicode text without NUL (no lone surrogates: they are not UTF-8). */
const text = (maxLength: number) =>
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength }),
      fc.string({ unit: 'grapheme', maxLength }),
      fc.string({ unit: 'binary-ascii', maxLength }),
    )
    .map((s) => s.replaceAll('\0', ''));

/** Text that fits a field of `size` bytes with its NUL. */
const fieldText = (size: number) => text(size).map((s) => utf8Prefix(s, size - 1));

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** fc.record makes null-prototype objects by default; the decoder returns plain ones. */
const noNull = { noNullPrototype: true };

/** Valid message objects; every field within its wire range, strings within their byte limits. */
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.constant({ type: MsgType.ACK }),
  fc.record(
    {
      type: fc.constant(MsgType.HELLO),
      name: fieldText(NAME_FIELD_SIZE),
      minVersion: u16,
      maxVersion: u16,
      maxRegion: u16,
      maxM2SRing: u16,
      maxS2MRing: u16,
      maxLog2RingSize: u8,
    },
    noNull,
  ),
  fc.record(
    {
      type: fc.constant(MsgType.INIT),
      version: u16,
      id: u32,
      mode: u8,
      secret: fc
        .uint8Array({ min: 1, max: 255, minLength: 0, maxLength: SECRET_FIELD_SIZE - 1 })
        .map((a) => Buffer.from(a)),
      name: fieldText(NAME_FIELD_SIZE),
    },
    noNull,
  ),
  fc.record(
    {
      type: fc.constant(MsgType.ADD_REGION),
      index: u16,
      size: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
    },
    noNull,
  ),
  fc.record(
    {
      type: fc.constant(MsgType.ADD_RING),
      ringType: fc.constantFrom<'S2M' | 'M2S'>('S2M', 'M2S'),
      otherFlags: fc.integer({ min: 0, max: 0x7fff }).map((x) => x * 2),
      index: u16,
      region: u16,
      offset: u32,
      log2RingSize: u8,
      privateHdrSize: u16,
    },
    noNull,
  ),
  fc.record(
    {
      type: fc.constantFrom<typeof MsgType.CONNECT | typeof MsgType.CONNECTED>(MsgType.CONNECT, MsgType.CONNECTED),
      ifName: fieldText(NAME_FIELD_SIZE),
    },
    noNull,
  ),
  fc.record({ type: fc.constant(MsgType.DISCONNECT), code: u32, reason: fieldText(REASON_FIELD_SIZE) }, noNull),
);

// ---------------------------------------------------------------------------------------------
// Checks

/** P1: a message of type 1..8 or a ProtocolError of the right kind, nothing else; input untouched. */
function checkAnyBytes(bytes: Uint8Array, holder: Holder): void {
  const b = hold(bytes, holder);
  const before = Buffer.from(b);
  let m: Message | undefined;
  let err: unknown;
  try {
    m = decodeMessage(b);
  } catch (e) {
    err = e;
  }
  assert.deepEqual(Buffer.from(b), before, 'decodeMessage modified its input');
  const type = b.length >= 2 ? b[0] | (b[1] << 8) : -1;
  if (m !== undefined) {
    assert.equal(b.length, MSG_SIZE, `decoded a ${b.length}-byte message`);
    assert.ok(Number.isInteger(m.type) && m.type >= 1 && m.type <= 8, `type ${m.type}`);
    assert.equal(m.type, type);
    return;
  }
  assert.ok(err instanceof ProtocolError, `threw ${err instanceof Error ? err.stack : String(err)}`);
  if (b.length !== MSG_SIZE) assert.equal(err.errorName, 'MEMIF_ERR_MFMSG');
  else {
    assert.equal(err.errorName, 'MEMIF_ERR_UNKNOWN_MSG');
    assert.ok(type < 1 || type > 8, `type ${type} refused`);
  }
}

/** Raw bytes of a field up to its first NUL, or the whole field. */
function rawField(b: Uint8Array, at: number, size: number): Buffer {
  const f = Buffer.from(b.subarray(at, at + size));
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function fieldOf(m: Message, key: string): string {
  const v = (m as unknown as Record<string, unknown>)[key];
  assert.equal(typeof v, 'string', `${key} is not a string`);
  return v as string;
}

/** P2: any 128 bytes of a valid type decode; one decode → encode → decode normalises for good. */
function checkNormalise(bytes: Uint8Array, holder: Holder): void {
  const b = hold(bytes, holder);
  const type = b[0] | (b[1] << 8);
  const m1 = decodeMessage(b);
  assert.equal(m1.type, type);
  for (const f of stringFields[type] ?? []) {
    const s = fieldOf(m1, f.key);
    const raw = rawField(b, f.at, f.size);
    assert.ok(!s.includes('\0'), `${f.key} contains NUL`);
    // One UTF-16 unit at most per byte (U+FFFD for a bad byte), so never longer than the field.
    assert.ok(s.length <= f.size, `${f.key}: ${s.length} code units from a ${f.size}-byte field`);
    assert.ok(raw.length <= f.size);
    if (isValidUtf8(raw)) assert.deepEqual(Buffer.from(s, 'utf8'), raw, `${f.key} is not the field's bytes`);
  }
  if (m1.type === MsgType.INIT) {
    assert.ok(Buffer.isBuffer(m1.secret));
    assert.ok(m1.secret.length <= SECRET_FIELD_SIZE, `secret of ${m1.secret.length} bytes`);
    assert.equal(m1.secret.indexOf(0), -1, 'secret contains NUL');
    assert.deepEqual(m1.secret, rawField(b, SECRET_AT, SECRET_FIELD_SIZE));
  }
  const e1 = encodeMessage(m1);
  assert.equal(e1.length, MSG_SIZE);
  const m2 = decodeMessage(e1);
  const e2 = encodeMessage(m2);
  assert.deepEqual(decodeMessage(e2), m2, 'decode(encode(m)) is not a fixed point after one normalisation');
  assert.deepEqual(e2, e1, 'encoding is not stable after one normalisation');
  // What the normalisation keeps: every number exactly; strings as their longest prefix that fits.
  const r1 = m1 as unknown as Record<string, unknown>;
  const r2 = m2 as unknown as Record<string, unknown>;
  for (const key of Object.keys(r1)) {
    const v1 = r1[key];
    const v2 = r2[key];
    const field = (stringFields[type] ?? []).find((f) => f.key === key);
    if (field !== undefined && typeof v1 === 'string') {
      const size = field.size;
      assert.equal(v2, utf8Prefix(v1, size - 1), `${key} is not the longest prefix that fits`);
    } else if (Buffer.isBuffer(v1)) {
      assert.deepEqual(v2, v1.subarray(0, SECRET_FIELD_SIZE - 1), 'secret is not its prefix that fits');
    } else {
      assert.deepEqual(v2, v1, `${key} changed`);
    }
  }
}

/** P3: encode → decode is the identity on valid messages; the encoding is zero-padded. */
function checkRoundTrip(m: Message): void {
  const e = encodeMessage(m);
  assert.equal(e.length, MSG_SIZE);
  assert.equal(e.readUInt16LE(0), m.type);
  assert.deepEqual(decodeMessage(e), m);
  const end = payloadEnd[m.type];
  assert.ok(
    e.subarray(end).every((x) => x === 0),
    `non-zero padding after byte ${end}`,
  );
  for (const f of stringFields[m.type] ?? []) {
    const n = Buffer.byteLength(fieldOf(m, f.key));
    assert.ok(
      e.subarray(f.at + n, f.at + f.size).every((x) => x === 0),
      `${f.key} not NUL-terminated and zero-filled`,
    );
  }
}

/** P4: a string longer than its field is cut at a character boundary to the longest prefix that fits. */
function checkTruncation(m: Message, key: string, size: number): void {
  const original = fieldOf(m, key);
  const got = fieldOf(decodeMessage(encodeMessage(m)), key);
  assert.ok(original.startsWith(got), `${key} is not a prefix of the original`);
  assert.ok(Buffer.byteLength(got) <= size - 1, `${key} of ${Buffer.byteLength(got)} bytes`);
  assert.equal(got, utf8Prefix(original, size - 1), `${key} was cut short of the longest prefix that fits`);
}

// ---------------------------------------------------------------------------------------------
// Corpus: hand-picked byte strings (see corpus/decoder.json for the format)

interface CorpusEntry {
  name: string;
  length?: number;
  fill?: number;
  type?: number;
  patches?: ({ at: number; hex: string } | { at: number; byte: number; count: number })[];
}

function corpusBytes(c: CorpusEntry): Uint8Array {
  const b = new Uint8Array(c.length ?? MSG_SIZE).fill(c.fill ?? 0);
  if (c.type !== undefined) {
    b[0] = c.type & 0xff;
    b[1] = c.type >>> 8;
  }
  for (const p of c.patches ?? []) {
    const bytes = 'hex' in p ? Buffer.from(p.hex, 'hex') : new Uint8Array(p.count).fill(p.byte);
    b.set(bytes.subarray(0, Math.max(0, b.length - p.at)), p.at);
  }
  return b;
}

const corpus = loadCorpus<CorpusEntry>('decoder.json');

describe('fuzz: control-message decoder', () => {
  describe('corpus', () => {
    for (const c of corpus) {
      test(c.name, () => {
        const b = corpusBytes(c);
        for (const h of ['uint8array', 'buffer', 'offset'] as const) {
          checkAnyBytes(b, h);
          const type = b.length === MSG_SIZE ? b[0] | (b[1] << 8) : 0;
          if (type >= 1 && type <= 8) checkNormalise(b, h);
        }
      });
    }
  });

  test('any bytes: a message of type 1..8 or ProtocolError MFMSG / UNKNOWN_MSG', (t) => {
    fuzz(t, 'decoder/any-bytes', fc.property(anyBytes, holderArb, checkAnyBytes), 2000);
  });

  test('128 bytes of a valid type: decodes; decode(encode(decode(b))) is a fixed point', (t) => {
    fuzz(t, 'decoder/normalise', fc.property(message128(validType), holderArb, checkNormalise), 2000);
  });

  test('valid messages: decode(encode(m)) equals m', (t) => {
    fuzz(t, 'decoder/round-trip', fc.property(messageArb, checkRoundTrip), 2000);
  });

  test('over-long strings: cut at a character boundary to what fits', (t) => {
    const longName = text(3 * NAME_FIELD_SIZE);
    const cases = fc.oneof(
      longName.map((name) => ({ m: { type: MsgType.CONNECT, ifName: name } as Message, key: 'ifName', size: 32 })),
      longName.map((name) => ({
        m: {
          type: MsgType.INIT,
          version: 0x200,
          id: 0,
          mode: 0,
          secret: Buffer.alloc(0),
          name,
        } as Message,
        key: 'name',
        size: NAME_FIELD_SIZE,
      })),
      text(3 * REASON_FIELD_SIZE).map((reason) => ({
        m: { type: MsgType.DISCONNECT, code: 1, reason } as Message,
        key: 'reason',
        size: REASON_FIELD_SIZE,
      })),
    );
    fuzz(
      t,
      'decoder/truncation',
      fc.property(cases, ({ m, key, size }) => checkTruncation(m, key, size)),
      1000,
    );
  });
});
