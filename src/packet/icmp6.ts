// ICMPv6 over IPv6 over Ethernet (RFC 4443, RFC 4861): echo request and reply, neighbour
// solicitation and advertisement. Parsing never throws and checks the ICMPv6 checksum (over the
// IPv6 pseudo-header); parsed fields are copies, safe to keep after the frame's buffer is reused.
// Extension headers are not followed: a frame whose next header is not ICMPv6 is not one.
import { isUint8Array } from 'node:util/types';
import { InvalidArgumentError } from '../errors.js';
import { checkSize, readEchoRequest, readFields } from './args.js';
import { ETH_HEADER_SIZE } from './ethernet.js';
import { ETHERTYPE_IPV6, IPPROTO_ICMPV6, IPV6_HEADER_SIZE, ipv6PseudoChecksum } from './ipv6.js';

/** ICMPv6 type of an echo request. */
export const ICMPV6_ECHO_REQUEST = 128;
/** ICMPv6 type of an echo reply. */
export const ICMPV6_ECHO_REPLY = 129;
/** ICMPv6 type of a neighbour solicitation. */
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
/** ICMPv6 type of a neighbour advertisement. */
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;

const IP = ETH_HEADER_SIZE; // start of the IPv6 header
const L4 = IP + IPV6_HEADER_SIZE; // start of the ICMPv6 message
const ECHO_HEADER = 8;
const ND_SIZE = 24; // type, code, checksum, flags/reserved, target
const OPT_SOURCE_LL = 1;
const OPT_TARGET_LL = 2;
const NA_FLAG_SOLICITED = 0x40;
const NA_FLAG_OVERRIDE = 0x20;
const DEFAULT_HOP_LIMIT = 64;
const ND_HOP_LIMIT = 255;
const ALL_NODES = Buffer.from('ff020000000000000000000000000001', 'hex');
const UNSPECIFIED = Buffer.alloc(16);

/** The fields of an ICMPv6 echo request or reply. */
export interface Icmp6Echo {
  /** 128 request, 129 reply. */
  type: number;
  /** ICMPv6 code (0 for echo). */
  code: number;
  /** Echo identifier. */
  id: number;
  /** Echo sequence number. */
  seq: number;
  /** The IPv6 header's hop limit. */
  hopLimit: number;
  /** IPv6 source address (16 bytes, a copy). */
  srcIp: Buffer;
  /** IPv6 destination address (16 bytes, a copy). */
  dstIp: Buffer;
  /** Echo data (a copy). */
  payload: Buffer;
}

/** Options of buildIcmp6EchoRequest. */
export interface Icmp6EchoRequestOptions {
  /** Ethernet source address (6 bytes). */
  srcMac: Uint8Array;
  /** Ethernet destination address (6 bytes). */
  dstMac: Uint8Array;
  /** 16 bytes. */
  srcIp: Uint8Array;
  /** 16 bytes. */
  dstIp: Uint8Array;
  /** Echo identifier, 0 … 65535. */
  id: number;
  /** Echo sequence number, 0 … 65535. */
  seq: number;
  /** Echo data; empty when omitted. */
  payload?: Uint8Array;
}

/** A neighbour solicitation or advertisement. */
export interface NeighborMessage {
  /** 135 solicitation, 136 advertisement. */
  type: number;
  /** Advertisement flags (R 0x80, S 0x40, O 0x20); 0 for a solicitation. */
  flags: number;
  /** IPv6 source address (16 bytes, a copy). */
  srcIp: Buffer;
  /** IPv6 destination address (16 bytes, a copy). */
  dstIp: Buffer;
  /** The address asked about (solicitation) or advertised (advertisement). */
  targetIp: Buffer;
  /** The source (solicitation) or target (advertisement) link-layer address option, if present. */
  linkLayerAddress: Buffer | undefined;
  /** The Ethernet source of the frame. */
  ethSrc: Buffer;
}

/** Options of buildNeighborSolicitation. */
export interface NeighborSolicitationOptions {
  /** Our MAC (6 bytes): the Ethernet source and the source link-layer address option. */
  srcMac: Uint8Array;
  /** Our IPv6 address, 16 bytes. */
  srcIp: Uint8Array;
  /** The address whose MAC we want, 16 bytes. */
  targetIp: Uint8Array;
}

/** The solicited-node multicast address of `ip` (ff02::1:ffXX:XXXX, RFC 4291 §2.7.1). */
export function solicitedNodeAddress(ip: Uint8Array): Buffer {
  checkSize(ip, 16, 'ip');
  const a = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  a.set(ip.subarray(13, 16), 13);
  return a;
}

/** Build an Ethernet + IPv6 (hop limit 64) + ICMPv6 echo request frame, checksum set. */
export function buildIcmp6EchoRequest(opts: Icmp6EchoRequestOptions): Buffer {
  const { srcMac, dstMac, srcIp, dstIp, id, seq, payload } = readEchoRequest(opts, 16);
  if (ECHO_HEADER + payload.length > 0xffff) throw new InvalidArgumentError('payload too large for one IPv6 packet');
  const f = ipv6Frame(dstMac, srcMac, srcIp, dstIp, DEFAULT_HOP_LIMIT, ECHO_HEADER + payload.length);
  f[L4] = ICMPV6_ECHO_REQUEST;
  f.writeUInt16BE(id, L4 + 4);
  f.writeUInt16BE(seq, L4 + 6);
  f.set(payload, L4 + ECHO_HEADER);
  return finish(f);
}

/** Parse an Ethernet/IPv6 ICMPv6 echo request or reply with a correct checksum; otherwise undefined. */
export function parseIcmp6Echo(frame: Uint8Array): Icmp6Echo | undefined {
  const end = locateIcmp6(frame, ECHO_HEADER);
  if (end === undefined) return undefined;
  const type = frame[L4];
  if (type !== ICMPV6_ECHO_REQUEST && type !== ICMPV6_ECHO_REPLY) return undefined;
  return {
    type,
    code: frame[L4 + 1],
    id: u16(frame, L4 + 4),
    seq: u16(frame, L4 + 6),
    hopLimit: frame[IP + 7],
    srcIp: Buffer.from(frame.subarray(IP + 8, IP + 24)),
    dstIp: Buffer.from(frame.subarray(IP + 24, IP + 40)),
    payload: Buffer.from(frame.subarray(L4 + ECHO_HEADER, end)),
  };
}

/**
 * Build the reply to an ICMPv6 echo request: MACs swapped (source `myMac`), source = the
 * request's destination (or `myIp` when that was multicast), destination = the request's source,
 * hop limit 64, same id/seq/payload, checksum recomputed; undefined if `request` is not a valid
 * echo request. Throws InvalidArgumentError if `myMac` is not 6 bytes or `myIp` not 16.
 */
export function buildIcmp6EchoReply(request: Uint8Array, myMac: Uint8Array, myIp?: Uint8Array): Buffer | undefined {
  checkSize(myMac, 6, 'myMac');
  if (myIp !== undefined) checkSize(myIp, 16, 'myIp');
  const end = locateIcmp6(request, ECHO_HEADER);
  if (end === undefined || request[L4] !== ICMPV6_ECHO_REQUEST || request[L4 + 1] !== 0) return undefined;
  const dst = request.subarray(IP + 24, IP + 40);
  const src = dst[0] === 0xff ? myIp : dst;
  if (src === undefined || request[IP + 8] === 0xff) return undefined; // multicast source: never answered
  const f = ipv6Frame(request.subarray(6, 12), myMac, src, request.subarray(IP + 8, IP + 24), DEFAULT_HOP_LIMIT, 0);
  const reply = Buffer.alloc(end);
  reply.set(f.subarray(0, L4));
  reply.set(request.subarray(L4, end), L4);
  reply.writeUInt16BE(end - L4, IP + 4);
  reply[L4] = ICMPV6_ECHO_REPLY;
  return finish(reply);
}

/**
 * Build a neighbour solicitation for `targetIp` (RFC 4861 §4.3): to its solicited-node multicast
 * address and 33:33:ff:… MAC, hop limit 255, with our MAC as the source link-layer option.
 */
export function buildNeighborSolicitation(options: NeighborSolicitationOptions): Buffer {
  const { srcMac, srcIp, targetIp } = readFields(options, 'options', ['srcMac', 'srcIp', 'targetIp']);
  checkSize(srcMac, 6, 'srcMac');
  checkSize(srcIp, 16, 'srcIp');
  checkSize(targetIp, 16, 'targetIp');
  const dstIp = solicitedNodeAddress(targetIp);
  const dstMac = Buffer.from([
    0x33,
    0x33,
    dstIp[12] as number,
    dstIp[13] as number,
    dstIp[14] as number,
    dstIp[15] as number,
  ]);
  const f = ipv6Frame(dstMac, srcMac, srcIp, dstIp, ND_HOP_LIMIT, ND_SIZE + 8);
  f[L4] = ICMPV6_NEIGHBOR_SOLICITATION;
  f.set(targetIp, L4 + 8);
  f[L4 + ND_SIZE] = OPT_SOURCE_LL;
  f[L4 + ND_SIZE + 1] = 1; // length in units of 8 bytes
  f.set(srcMac, L4 + ND_SIZE + 2);
  return finish(f);
}

/**
 * Parse a neighbour solicitation or advertisement that passes RFC 4861's checks (hop limit 255,
 * code 0, checksum, target not multicast, options of non-zero length); otherwise undefined.
 */
export function parseNeighborMessage(frame: Uint8Array): NeighborMessage | undefined {
  const end = locateIcmp6(frame, ND_SIZE);
  if (end === undefined) return undefined;
  const type = frame[L4];
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) return undefined;
  if (frame[IP + 7] !== ND_HOP_LIMIT || frame[L4 + 1] !== 0 || frame[L4 + 8] === 0xff) return undefined;
  const want = type === ICMPV6_NEIGHBOR_SOLICITATION ? OPT_SOURCE_LL : OPT_TARGET_LL;
  let linkLayerAddress: Buffer | undefined;
  for (let o = L4 + ND_SIZE; o < end; ) {
    if (o + 2 > end) return undefined;
    const len = frame[o + 1] * 8;
    if (len === 0 || o + len > end) return undefined;
    if (frame[o] === want && len >= 8) linkLayerAddress = Buffer.from(frame.subarray(o + 2, o + 8));
    o += len;
  }
  return {
    type,
    flags: type === ICMPV6_NEIGHBOR_ADVERTISEMENT ? frame[L4 + 4] & 0xe0 : 0,
    srcIp: Buffer.from(frame.subarray(IP + 8, IP + 24)),
    dstIp: Buffer.from(frame.subarray(IP + 24, IP + 40)),
    targetIp: Buffer.from(frame.subarray(L4 + 8, L4 + 24)),
    linkLayerAddress,
    ethSrc: Buffer.from(frame.subarray(6, 12)),
  };
}

/**
 * Build the advertisement answering a neighbour solicitation for `myIp` (RFC 4861 §7.2.4):
 * solicited and override flags, our MAC as the target link-layer option, to the solicitor (or to
 * all nodes, unsolicited, when it asked from the unspecified address); undefined if `solicitation`
 * is not a valid solicitation for `myIp`. Throws InvalidArgumentError if `myMac` is not 6 bytes
 * or `myIp` not 16.
 */
export function buildNeighborAdvertisement(
  solicitation: Uint8Array,
  myMac: Uint8Array,
  myIp: Uint8Array,
): Buffer | undefined {
  checkSize(myMac, 6, 'myMac');
  checkSize(myIp, 16, 'myIp');
  const ns = parseNeighborMessage(solicitation);
  if (!ns || ns.type !== ICMPV6_NEIGHBOR_SOLICITATION || !ns.targetIp.equals(myIp)) return undefined;
  const dad = ns.srcIp.equals(UNSPECIFIED);
  if (dad && ns.linkLayerAddress) return undefined; // RFC 4861 §7.1.1: no source option from ::
  const dstIp = dad ? ALL_NODES : ns.srcIp;
  const dstMac = dad ? Buffer.from([0x33, 0x33, 0, 0, 0, 1]) : (ns.linkLayerAddress ?? ns.ethSrc);
  const f = ipv6Frame(dstMac, myMac, myIp, dstIp, ND_HOP_LIMIT, ND_SIZE + 8);
  f[L4] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
  f[L4 + 4] = dad ? NA_FLAG_OVERRIDE : NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE;
  f.set(myIp, L4 + 8);
  f[L4 + ND_SIZE] = OPT_TARGET_LL;
  f[L4 + ND_SIZE + 1] = 1;
  f.set(myMac, L4 + ND_SIZE + 2);
  return finish(f);
}

/** An Ethernet + IPv6 header for `payloadLength` bytes of ICMPv6, the message zeroed. */
function ipv6Frame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  srcIp: Uint8Array,
  dstIp: Uint8Array,
  hopLimit: number,
  payloadLength: number,
): Buffer {
  const f = Buffer.alloc(L4 + payloadLength);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);
  f[IP] = 0x60; // version 6, traffic class 0, flow label 0
  f.writeUInt16BE(payloadLength, IP + 4);
  f[IP + 6] = IPPROTO_ICMPV6;
  f[IP + 7] = hopLimit;
  f.set(srcIp, IP + 8);
  f.set(dstIp, IP + 24);
  return f;
}

/** Sets the ICMPv6 checksum of a frame built by ipv6Frame. */
function finish(f: Buffer): Buffer {
  f.writeUInt16BE(0, L4 + 2);
  const sum = ipv6PseudoChecksum(
    f.subarray(IP + 8, IP + 24),
    f.subarray(IP + 24, IP + 40),
    IPPROTO_ICMPV6,
    f,
    L4,
    f.length,
  );
  f.writeUInt16BE(sum, L4 + 2);
  return f;
}

/** The end of a valid ICMPv6 message of at least `min` bytes in `frame`, checksum verified; else undefined. */
function locateIcmp6(frame: Uint8Array, min: number): number | undefined {
  if (!isUint8Array(frame) || frame.length < L4 + min) return undefined;
  if (u16(frame, 12) !== ETHERTYPE_IPV6 || frame[IP] >> 4 !== 6 || frame[IP + 6] !== IPPROTO_ICMPV6) return undefined;
  const end = L4 + u16(frame, IP + 4);
  if (end - L4 < min || end > frame.length) return undefined;
  const src = frame.subarray(IP + 8, IP + 24);
  const dst = frame.subarray(IP + 24, IP + 40);
  if (ipv6PseudoChecksum(src, dst, IPPROTO_ICMPV6, frame, L4, end) !== 0) return undefined;
  return end;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
