// UDP over IPv4 over Ethernet (RFC 768): build a frame with both checksums set, and parse one,
// checking the IPv4 header checksum and the UDP checksum (over the IPv4 pseudo-header). Parsing
// never throws; parsed fields are copies.
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError } from '../errors.js';
import { checkSize, checkU16, readFields } from './args.js';
import { internetChecksum } from './checksum.js';
import { ETH_HEADER_SIZE, ETHERTYPE_IPV4 } from './ethernet.js';

/** IPv4 protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** Bytes before the UDP payload in an untagged Ethernet/IPv4 (no options)/UDP frame: 14 + 20 + 8. */
export const UDP_PAYLOAD_OFFSET = ETH_HEADER_SIZE + 20 + 8;

const IP = ETH_HEADER_SIZE;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/** Options of buildUdpFrame. */
export interface UdpFrameOptions {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** IPv4 identification, 0 … 65535 (default 0). */
  ipId?: number;
  /** IPv4 time to live, 1 … 255 (default 64). */
  ttl?: number;
}

/** The fields of a UDP datagram in a frame. */
export interface UdpDatagram {
  srcIp: Buffer;
  dstIp: Buffer;
  srcPort: number;
  dstPort: number;
  ipId: number;
  ttl: number;
  /** Where the payload starts in the frame. */
  payloadOffset: number;
  payload: Buffer;
}

/**
 * Build Ethernet + IPv4 (IHL 5, DF) + UDP with the IPv4 header checksum and the UDP checksum set
 * (a computed 0 is sent as 0xffff, RFC 768).
 */
export function buildUdpFrame(opts: UdpFrameOptions): Buffer {
  const o = readFields(opts, 'options', [
    'srcMac',
    'dstMac',
    'srcIp',
    'dstIp',
    'srcPort',
    'dstPort',
    'payload',
    'ipId',
    'ttl',
  ]);
  const payload = o.payload === undefined ? new Uint8Array(0) : o.payload;
  if (!isUint8Array(payload)) throw new InvalidArgumentError(`payload must be a Uint8Array; got ${describe(payload)}`);
  checkSize(o.srcMac, 6, 'srcMac');
  checkSize(o.dstMac, 6, 'dstMac');
  checkSize(o.srcIp, 4, 'srcIp');
  checkSize(o.dstIp, 4, 'dstIp');
  checkU16(o.srcPort, 'srcPort');
  checkU16(o.dstPort, 'dstPort');
  const ipId = o.ipId === undefined ? 0 : o.ipId;
  checkU16(ipId, 'ipId');
  const ttl = o.ttl === undefined ? 64 : o.ttl;
  if (!(Number.isInteger(ttl) && (ttl as number) >= 1 && (ttl as number) <= 255)) {
    throw new InvalidArgumentError(`ttl must be an integer 1 … 255; got ${describe(ttl)}`);
  }
  const udpLength = 8 + payload.length;
  if (20 + udpLength > 0xffff) throw new InvalidArgumentError('payload too large for one IPv4 packet');
  const f = Buffer.alloc(IP + 20 + udpLength);
  f.set(o.dstMac, 0);
  f.set(o.srcMac, 6);
  f.writeUInt16BE(ETHERTYPE_IPV4, 12);
  f[IP] = 0x45;
  f.writeUInt16BE(20 + udpLength, IP + 2);
  f.writeUInt16BE(ipId, IP + 4);
  f.writeUInt16BE(FLAG_DF, IP + 6);
  f[IP + 8] = ttl as number;
  f[IP + 9] = IPPROTO_UDP;
  f.set(o.srcIp, IP + 12);
  f.set(o.dstIp, IP + 16);
  f.writeUInt16BE(internetChecksum(f, IP, IP + 20), IP + 10);
  const u = IP + 20;
  f.writeUInt16BE(o.srcPort, u);
  f.writeUInt16BE(o.dstPort, u + 2);
  f.writeUInt16BE(udpLength, u + 4);
  f.set(payload, u + 8);
  f.writeUInt16BE(udpChecksum(f, u) || 0xffff, u + 6);
  return f;
}

/**
 * Parse an Ethernet/IPv4/UDP frame (not a fragment) whose IPv4 header checksum and UDP checksum
 * (unless 0: none) are correct; undefined for anything else.
 */
export function parseUdpFrame(frame: Uint8Array): UdpDatagram | undefined {
  if (!isUint8Array(frame) || frame.length < IP + 28 || u16(frame, 12) !== ETHERTYPE_IPV4) return undefined;
  const vihl = frame[IP];
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20 || frame[IP + 9] !== IPPROTO_UDP) return undefined;
  const total = u16(frame, IP + 2);
  if (total < ihl + 8 || IP + total > frame.length) return undefined;
  if (u16(frame, IP + 6) & (FLAG_MF | FRAG_OFFSET_MASK)) return undefined;
  if (internetChecksum(frame, IP, IP + ihl) !== 0) return undefined;
  const u = IP + ihl;
  const udpLength = u16(frame, u + 4);
  if (udpLength < 8 || u + udpLength > IP + total) return undefined;
  if (u16(frame, u + 6) !== 0 && udpChecksum(frame, u, true) !== 0) return undefined;
  return {
    srcIp: Buffer.from(frame.subarray(IP + 12, IP + 16)),
    dstIp: Buffer.from(frame.subarray(IP + 16, IP + 20)),
    srcPort: u16(frame, u),
    dstPort: u16(frame, u + 2),
    ipId: u16(frame, IP + 4),
    ttl: frame[IP + 8],
    payloadOffset: u + 8,
    payload: Buffer.from(frame.subarray(u + 8, u + udpLength)),
  };
}

/** The UDP checksum of the datagram at `u` (its checksum field taken as 0 unless `verify`). */
function udpChecksum(f: Uint8Array, u: number, verify = false): number {
  const len = u16(f, u + 4);
  let sum = 0;
  for (let i = IP + 12; i < IP + 20; i += 2) sum += (f[i] << 8) | f[i + 1];
  sum += IPPROTO_UDP + len;
  const end = u + len;
  let i = u;
  for (; i + 1 < end; i += 2) if (verify || i !== u + 6) sum += (f[i] << 8) | f[i + 1];
  if (i < end) sum += f[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
