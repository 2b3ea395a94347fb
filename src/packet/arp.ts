// ARP for IPv4 over Ethernet (RFC 826): build a broadcast request, parse a frame, and turn a
// request into its reply. Parsing never throws; parsed addresses are copies, safe to keep after
// the frame's buffer (for instance a memif ring slot) is reused.
import { isUint8Array } from 'node:util/types';
import { InvalidArgumentError } from '../errors.js';
import { checkSize, readFields } from './args.js';
import { ETH_HEADER_SIZE, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from './ethernet.js';

/** ARP operation: request. */
export const ARP_OP_REQUEST = 1;
/** ARP operation: reply. */
export const ARP_OP_REPLY = 2;
/** Size of an Ethernet frame carrying an IPv4 ARP packet, without padding: 14 + 28. */
export const ARP_FRAME_SIZE = ETH_HEADER_SIZE + 28;

const HTYPE_ETHERNET = 1;
const A = ETH_HEADER_SIZE; // start of the ARP packet
const BROADCAST = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** The fields of an Ethernet/IPv4 ARP packet. */
export interface ArpPacket {
  /** 1 request, 2 reply (other values are passed through). */
  op: number;
  /** Sender hardware address (6 bytes). */
  senderMac: Buffer;
  /** Sender protocol address (4 bytes, IPv4). */
  senderIp: Buffer;
  /** Target hardware address (6 bytes; zero in a request). */
  targetMac: Buffer;
  /** Target protocol address (4 bytes, IPv4). */
  targetIp: Buffer;
}

/** Options of buildArpRequest. */
export interface ArpRequestOptions {
  /** Our MAC address, 6 bytes (e.g. from `parseMac`): the frame's source and the ARP sender. */
  senderMac: Uint8Array;
  /** Our IPv4 address, 4 bytes (e.g. from `parseIPv4`). */
  senderIp: Uint8Array;
  /** The IPv4 address asked about, 4 bytes. */
  targetIp: Uint8Array;
}

/** Build a 42-byte Ethernet frame to ff:ff:ff:ff:ff:ff asking who has `targetIp`. */
export function buildArpRequest(options: ArpRequestOptions): Buffer {
  const { senderMac, senderIp, targetIp } = readFields(options, 'options', ['senderMac', 'senderIp', 'targetIp']);
  checkSize(senderMac, 6, 'senderMac');
  checkSize(senderIp, 4, 'senderIp');
  checkSize(targetIp, 4, 'targetIp');
  return writeArp(BROADCAST, senderMac, ARP_OP_REQUEST, senderMac, senderIp, Buffer.alloc(6), targetIp);
}

/** Parse an Ethernet/IPv4 ARP frame; undefined when it is anything else or too short. */
export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  if (!isArp(frame)) return undefined;
  return {
    op: u16(frame, A + 6),
    senderMac: Buffer.from(frame.subarray(A + 8, A + 14)),
    senderIp: Buffer.from(frame.subarray(A + 14, A + 18)),
    targetMac: Buffer.from(frame.subarray(A + 18, A + 24)),
    targetIp: Buffer.from(frame.subarray(A + 24, A + 28)),
  };
}

/**
 * Build the 42-byte reply to an ARP request (RFC 826): op 2, sender = `myMac` + the requested IP,
 * target = the requester; throws InvalidArgumentError if `request` is not an Ethernet/IPv4 ARP
 * request or `myMac` not 6 bytes.
 */
export function buildArpReply(request: Uint8Array, myMac: Uint8Array): Buffer {
  checkSize(myMac, 6, 'myMac');
  if (!isArp(request) || u16(request, A + 6) !== ARP_OP_REQUEST) {
    throw new InvalidArgumentError('buildArpReply: frame is not an Ethernet/IPv4 ARP request');
  }
  const requesterMac = request.subarray(A + 8, A + 14);
  const requesterIp = request.subarray(A + 14, A + 18);
  const requestedIp = request.subarray(A + 24, A + 28);
  return writeArp(requesterMac, myMac, ARP_OP_REPLY, myMac, requestedIp, requesterMac, requesterIp);
}

function isArp(frame: Uint8Array): boolean {
  return (
    isUint8Array(frame) &&
    frame.length >= ARP_FRAME_SIZE &&
    u16(frame, 12) === ETHERTYPE_ARP &&
    u16(frame, A) === HTYPE_ETHERNET &&
    u16(frame, A + 2) === ETHERTYPE_IPV4 &&
    frame[A + 4] === 6 &&
    frame[A + 5] === 4
  );
}

function writeArp(
  ethDst: Uint8Array,
  ethSrc: Uint8Array,
  op: number,
  sha: Uint8Array,
  spa: Uint8Array,
  tha: Uint8Array,
  tpa: Uint8Array,
): Buffer {
  const f = Buffer.alloc(ARP_FRAME_SIZE);
  f.set(ethDst, 0);
  f.set(ethSrc, 6);
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  f.writeUInt16BE(HTYPE_ETHERNET, A);
  f.writeUInt16BE(ETHERTYPE_IPV4, A + 2);
  f[A + 4] = 6;
  f[A + 5] = 4;
  f.writeUInt16BE(op, A + 6);
  f.set(sha, A + 8);
  f.set(spa, A + 14);
  f.set(tha, A + 18);
  f.set(tpa, A + 24);
  return f;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
