// ICMP echo (ping) over IPv4 over Ethernet: build a request, parse an echo frame, and turn a
// request into its reply. Parsing never throws; parsed fields are copies, safe to keep after the
// frame's buffer (for instance a memif ring slot) is reused.
import { isUint8Array } from 'node:util/types';
import { InvalidArgumentError } from '../errors.js';
import { checkSize, readEchoRequest } from './args.js';
import { internetChecksum } from './checksum.js';
import { ETH_HEADER_SIZE, ETHERTYPE_IPV4 } from './ethernet.js';

/** ICMP type of an echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type of an echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** IPv4 protocol number of ICMP. */
export const IPPROTO_ICMP = 1;

const IP = ETH_HEADER_SIZE; // start of the IPv4 header
const IPV4_MIN_HEADER = 20;
const ICMP_ECHO_HEADER = 8;
const DEFAULT_TTL = 64;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/** The fields of an ICMP echo request or reply. */
export interface IcmpEcho {
  /** 8 request, 0 reply. */
  type: number;
  /** ICMP code (0 for echo). */
  code: number;
  /** ICMP identifier, 0 … 65535. */
  id: number;
  /** ICMP sequence number, 0 … 65535. */
  seq: number;
  /** IPv4 source address (4 bytes). */
  srcIp: Buffer;
  /** IPv4 destination address (4 bytes). */
  dstIp: Buffer;
  /** Echo data. */
  payload: Buffer;
}

/** Options of buildIcmpEchoRequest. */
export interface IcmpEchoRequestOptions {
  /** Ethernet source address, 6 bytes (e.g. from `parseMac`). */
  srcMac: Uint8Array;
  /** Ethernet destination address, 6 bytes (the next hop's, e.g. learnt by ARP). */
  dstMac: Uint8Array;
  /** IPv4 source address, 4 bytes (e.g. from `parseIPv4`). */
  srcIp: Uint8Array;
  /** IPv4 destination address, 4 bytes. */
  dstIp: Uint8Array;
  /** ICMP identifier, 0 … 65535. */
  id: number;
  /** ICMP sequence number, 0 … 65535. */
  seq: number;
  /** Echo data; empty when omitted. */
  payload?: Uint8Array;
}

/** Build an Ethernet + IPv4 (IHL 5, TTL 64, DF) + ICMP echo request frame with both checksums set. */
export function buildIcmpEchoRequest(opts: IcmpEchoRequestOptions): Buffer {
  const { srcMac, dstMac, srcIp, dstIp, id, seq, payload } = readEchoRequest(opts, 4);
  const totalLength = IPV4_MIN_HEADER + ICMP_ECHO_HEADER + payload.length;
  if (totalLength > 0xffff) throw new InvalidArgumentError('payload too large for one IPv4 packet');

  const f = Buffer.alloc(IP + totalLength);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f.writeUInt16BE(ETHERTYPE_IPV4, 12);
  f[IP] = 0x45; // version 4, IHL 5
  f.writeUInt16BE(totalLength, IP + 2);
  f.writeUInt16BE(FLAG_DF, IP + 6);
  f[IP + 8] = DEFAULT_TTL;
  f[IP + 9] = IPPROTO_ICMP;
  f.set(srcIp, IP + 12);
  f.set(dstIp, IP + 16);
  f.writeUInt16BE(internetChecksum(f, IP, IP + IPV4_MIN_HEADER), IP + 10);

  const icmp = IP + IPV4_MIN_HEADER;
  f[icmp] = ICMP_ECHO_REQUEST;
  f.writeUInt16BE(id, icmp + 4);
  f.writeUInt16BE(seq, icmp + 6);
  f.set(payload, icmp + ICMP_ECHO_HEADER);
  f.writeUInt16BE(internetChecksum(f, icmp, f.length), icmp + 2);
  return f;
}

/** Parse an Ethernet/IPv4 ICMP echo request or reply; undefined for anything else or a malformed frame. */
export function parseIcmpEcho(frame: Uint8Array): IcmpEcho | undefined {
  const loc = locateEcho(frame);
  if (!loc) return undefined;
  const { icmp, end } = loc;
  return {
    type: frame[icmp],
    code: frame[icmp + 1],
    id: u16(frame, icmp + 4),
    seq: u16(frame, icmp + 6),
    srcIp: Buffer.from(frame.subarray(IP + 12, IP + 16)),
    dstIp: Buffer.from(frame.subarray(IP + 16, IP + 20)),
    payload: Buffer.from(frame.subarray(icmp + ICMP_ECHO_HEADER, end)),
  };
}

/**
 * Build the reply to an echo request: MACs swapped (source `myMac`), IPs swapped, TTL 64, IP options
 * kept, both checksums recomputed, same id/seq/payload; undefined if `request` is not a valid echo
 * request. Throws InvalidArgumentError if `myMac` is not 6 bytes.
 */
export function buildIcmpEchoReply(request: Uint8Array, myMac: Uint8Array): Buffer | undefined {
  checkSize(myMac, 6, 'myMac');
  const loc = locateEcho(request);
  if (!loc || request[loc.icmp] !== ICMP_ECHO_REQUEST || request[loc.icmp + 1] !== 0) return undefined;
  const { icmp, end } = loc;

  // Copy only up to the IP total length: any Ethernet padding of the request is dropped.
  const f = Buffer.from(request.subarray(0, end));
  f.set(request.subarray(6, 12), 0);
  f.set(myMac, 6);
  f.set(request.subarray(IP + 16, IP + 20), IP + 12);
  f.set(request.subarray(IP + 12, IP + 16), IP + 16);
  f[IP + 8] = DEFAULT_TTL;
  f.writeUInt16BE(0, IP + 10);
  f.writeUInt16BE(internetChecksum(f, IP, icmp), IP + 10);

  f[icmp] = ICMP_ECHO_REPLY;
  f[icmp + 1] = 0;
  f.writeUInt16BE(0, icmp + 2);
  f.writeUInt16BE(internetChecksum(f, icmp, end), icmp + 2);
  return f;
}

/** Where the ICMP echo message of a valid frame starts and ends, or undefined. */
function locateEcho(frame: Uint8Array): { icmp: number; end: number } | undefined {
  if (!isUint8Array(frame) || frame.length < IP + IPV4_MIN_HEADER) return undefined;
  if (u16(frame, 12) !== ETHERTYPE_IPV4) return undefined;
  const versionIhl = frame[IP];
  if (versionIhl >> 4 !== 4) return undefined;
  const headerLength = (versionIhl & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER) return undefined;
  const totalLength = u16(frame, IP + 2);
  if (totalLength < headerLength + ICMP_ECHO_HEADER || IP + totalLength > frame.length) return undefined;
  const flagsFrag = u16(frame, IP + 6);
  if (flagsFrag & (FLAG_MF | FRAG_OFFSET_MASK)) return undefined;
  if (frame[IP + 9] !== IPPROTO_ICMP) return undefined;
  const icmp = IP + headerLength;
  const type = frame[icmp];
  if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) return undefined;
  return { icmp, end: IP + totalLength };
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
