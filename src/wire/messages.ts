// Encode and decode the control messages of memif 2.0 on a 128-byte buffer (§5). Pure functions:
// no I/O, no state. Senders zero-fill and NUL-terminate every string inside its field; receivers
// read strings up to the first NUL and never look at padding (§5.1, §5.2).
import {
  ADD_RING_FLAG_S2M,
  MSG_SIZE,
  MsgType,
  NAME_FIELD_SIZE,
  REASON_FIELD_SIZE,
  type RingType,
  SECRET_FIELD_SIZE,
} from '../constants.js';
import { ProtocolError } from '../errors.js';

/** HELLO (type 2), master → slave: the master's limits for the whole socket (§5.3). */
export interface Hello {
  type: typeof MsgType.HELLO;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** Highest region index accepted. */
  maxRegion: number;
  /** Highest M2S ring index accepted (count = value + 1). */
  maxM2SRing: number;
  /** Highest S2M ring index accepted (count = value + 1). */
  maxS2MRing: number;
  maxLog2RingSize: number;
}

/** INIT (type 3), slave → master (§5.4). */
export interface Init {
  type: typeof MsgType.INIT;
  version: number;
  id: number;
  /** 0 ethernet, 1 ip, 2 punt/inject; other values are passed through for the handshake to judge. */
  mode: number;
  /** The secret's bytes up to the first NUL (empty when unused). */
  secret: Buffer;
  name: string;
}

/** ADD_REGION (type 4), slave → master; carries the region's fd (§5.5). */
export interface AddRegion {
  type: typeof MsgType.ADD_REGION;
  index: number;
  size: bigint;
}

/** ADD_RING (type 5), slave → master; carries the ring's eventfd (§5.6). */
export interface AddRing {
  type: typeof MsgType.ADD_RING;
  ringType: RingType;
  /** Flag bits other than S2M; zero from every correct peer. */
  otherFlags: number;
  index: number;
  region: number;
  offset: number;
  log2RingSize: number;
  privateHdrSize: number;
}

/** CONNECT (6), slave → master, and CONNECTED (7), master → slave (§5.7). */
export interface Connect {
  type: typeof MsgType.CONNECT | typeof MsgType.CONNECTED;
  ifName: string;
}

/** DISCONNECT (type 8), either way (§5.8). */
export interface Disconnect {
  type: typeof MsgType.DISCONNECT;
  code: number;
  reason: string;
}

/** ACK (type 1), master → slave. */
export interface Ack {
  type: typeof MsgType.ACK;
}

/** Any control message. */
export type Message = Ack | Hello | Init | AddRegion | AddRing | Connect | Disconnect;

const P = 2; // the payload starts at abs 2, after the u16 type

function newMessage(type: number): Buffer {
  const b = Buffer.alloc(MSG_SIZE);
  b.writeUInt16LE(type, 0);
  return b;
}

/** Writes at most size - 1 bytes of `value` (never half a UTF-8 character); the rest stays zero. */
function writeString(b: Buffer, offset: number, size: number, value: string | Uint8Array): void {
  if (typeof value === 'string') b.write(value, offset, size - 1, 'utf8');
  else b.set(value.subarray(0, size - 1), offset);
}

/** Bytes of a field up to its first NUL, or the whole field. */
function fieldBytes(b: Uint8Array, offset: number, size: number): Buffer {
  const field = Buffer.from(b.buffer, b.byteOffset + offset, size);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function readString(b: Uint8Array, offset: number, size: number): string {
  return fieldBytes(b, offset, size).toString('utf8');
}

export function encodeAck(): Buffer {
  return newMessage(MsgType.ACK);
}

export function encodeHello(m: Omit<Hello, 'type'>): Buffer {
  const b = newMessage(MsgType.HELLO);
  writeString(b, P, NAME_FIELD_SIZE, m.name);
  b.writeUInt16LE(m.minVersion, P + 32);
  b.writeUInt16LE(m.maxVersion, P + 34);
  b.writeUInt16LE(m.maxRegion, P + 36);
  b.writeUInt16LE(m.maxM2SRing, P + 38);
  b.writeUInt16LE(m.maxS2MRing, P + 40);
  b.writeUInt8(m.maxLog2RingSize, P + 42);
  return b;
}

export function encodeInit(m: Omit<Init, 'type' | 'secret'> & { secret?: string | Uint8Array }): Buffer {
  const b = newMessage(MsgType.INIT);
  b.writeUInt16LE(m.version, P);
  b.writeUInt32LE(m.id >>> 0, P + 2);
  b.writeUInt8(m.mode, P + 6);
  if (m.secret !== undefined) writeString(b, P + 7, SECRET_FIELD_SIZE, m.secret);
  writeString(b, P + 31, NAME_FIELD_SIZE, m.name);
  return b;
}

export function encodeAddRegion(m: Omit<AddRegion, 'type'>): Buffer {
  const b = newMessage(MsgType.ADD_REGION);
  b.writeUInt16LE(m.index, P);
  b.writeBigUInt64LE(m.size, P + 2);
  return b;
}

export function encodeAddRing(
  m: Omit<AddRing, 'type' | 'otherFlags' | 'privateHdrSize'> & { otherFlags?: number; privateHdrSize?: number },
): Buffer {
  const b = newMessage(MsgType.ADD_RING);
  b.writeUInt16LE((m.ringType === 'S2M' ? ADD_RING_FLAG_S2M : 0) | ((m.otherFlags ?? 0) & ~ADD_RING_FLAG_S2M), P);
  b.writeUInt16LE(m.index, P + 2);
  b.writeUInt16LE(m.region, P + 4);
  b.writeUInt32LE(m.offset >>> 0, P + 6);
  b.writeUInt8(m.log2RingSize, P + 10);
  b.writeUInt16LE(m.privateHdrSize ?? 0, P + 11);
  return b;
}

export function encodeConnect(ifName: string): Buffer {
  const b = newMessage(MsgType.CONNECT);
  writeString(b, P, NAME_FIELD_SIZE, ifName);
  return b;
}

export function encodeConnected(ifName: string): Buffer {
  const b = newMessage(MsgType.CONNECTED);
  writeString(b, P, NAME_FIELD_SIZE, ifName);
  return b;
}

export function encodeDisconnect(reason: string, code = 0): Buffer {
  const b = newMessage(MsgType.DISCONNECT);
  b.writeUInt32LE(code >>> 0, P);
  writeString(b, P + 4, REASON_FIELD_SIZE, reason);
  return b;
}

/** Reads the u16 type of a message without validating the rest. */
export function messageType(b: Uint8Array): number {
  return b[0] | (b[1] << 8);
}

export function decodeHello(b: Uint8Array): Hello {
  const v = view(b);
  return {
    type: MsgType.HELLO,
    name: readString(b, P, NAME_FIELD_SIZE),
    minVersion: v.getUint16(P + 32, true),
    maxVersion: v.getUint16(P + 34, true),
    maxRegion: v.getUint16(P + 36, true),
    maxM2SRing: v.getUint16(P + 38, true),
    maxS2MRing: v.getUint16(P + 40, true),
    maxLog2RingSize: b[P + 42],
  };
}

export function decodeInit(b: Uint8Array): Init {
  const v = view(b);
  return {
    type: MsgType.INIT,
    version: v.getUint16(P, true),
    id: v.getUint32(P + 2, true),
    mode: b[P + 6],
    secret: Buffer.from(fieldBytes(b, P + 7, SECRET_FIELD_SIZE)),
    name: readString(b, P + 31, NAME_FIELD_SIZE),
  };
}

export function decodeAddRegion(b: Uint8Array): AddRegion {
  return { type: MsgType.ADD_REGION, index: view(b).getUint16(P, true), size: view(b).getBigUint64(P + 2, true) };
}

export function decodeAddRing(b: Uint8Array): AddRing {
  const v = view(b);
  const flags = v.getUint16(P, true);
  return {
    type: MsgType.ADD_RING,
    ringType: flags & ADD_RING_FLAG_S2M ? 'S2M' : 'M2S',
    otherFlags: flags & ~ADD_RING_FLAG_S2M,
    index: v.getUint16(P + 2, true),
    region: v.getUint16(P + 4, true),
    offset: v.getUint32(P + 6, true),
    log2RingSize: b[P + 10],
    privateHdrSize: v.getUint16(P + 11, true),
  };
}

export function decodeConnect(b: Uint8Array): Connect {
  return { type: MsgType.CONNECT, ifName: readString(b, P, NAME_FIELD_SIZE) };
}

export function decodeConnected(b: Uint8Array): Connect {
  return { type: MsgType.CONNECTED, ifName: readString(b, P, NAME_FIELD_SIZE) };
}

export function decodeDisconnect(b: Uint8Array): Disconnect {
  return {
    type: MsgType.DISCONNECT,
    code: view(b).getUint32(P, true),
    reason: readString(b, P + 4, REASON_FIELD_SIZE),
  };
}

/**
 * Decodes one control message. Throws ProtocolError (MEMIF_ERR_MFMSG) unless it is exactly 128
 * bytes, and (MEMIF_ERR_UNKNOWN_MSG) for a type outside 1..8. Field values are not judged here:
 * that is the handshake's job.
 */
export function decodeMessage(b: Uint8Array): Message {
  if (b.length !== MSG_SIZE) {
    throw new ProtocolError('MEMIF_ERR_MFMSG', `control message of ${b.length} bytes; every message is ${MSG_SIZE}`);
  }
  const type = messageType(b);
  switch (type) {
    case MsgType.ACK:
      return { type: MsgType.ACK };
    case MsgType.HELLO:
      return decodeHello(b);
    case MsgType.INIT:
      return decodeInit(b);
    case MsgType.ADD_REGION:
      return decodeAddRegion(b);
    case MsgType.ADD_RING:
      return decodeAddRing(b);
    case MsgType.CONNECT:
      return decodeConnect(b);
    case MsgType.CONNECTED:
      return decodeConnected(b);
    case MsgType.DISCONNECT:
      return decodeDisconnect(b);
    default:
      throw new ProtocolError(
        'MEMIF_ERR_UNKNOWN_MSG',
        `unknown message type (0x${type.toString(16).padStart(2, '0')})`,
      );
  }
}

/** Encodes any message (the inverse of decodeMessage). */
export function encodeMessage(m: Message): Buffer {
  switch (m.type) {
    case MsgType.ACK:
      return encodeAck();
    case MsgType.HELLO:
      return encodeHello(m);
    case MsgType.INIT:
      return encodeInit(m);
    case MsgType.ADD_REGION:
      return encodeAddRegion(m);
    case MsgType.ADD_RING:
      return encodeAddRing(m);
    case MsgType.CONNECT:
      return encodeConnect(m.ifName);
    case MsgType.CONNECTED:
      return encodeConnected(m.ifName);
    case MsgType.DISCONNECT:
      return encodeDisconnect(m.reason, m.code);
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Names of message types, for logs and errors. */
export const messageNames: Record<number, string> = Object.fromEntries(
  Object.entries(MsgType).map(([name, value]) => [value, name]),
);
