// The frames `memif gen` sends and `memif sink` recognises: Ethernet/IPv4/UDP with a 22-byte tag
// at the start of the UDP payload (offset 42), so every frame is at least 64 bytes:
//   42 magic u32 "mgen" | 46 tx queue u16 | 48 sequence u64 | 56 send time u64 (ns, CLOCK_MONOTONIC)
// all big-endian. The IPv4 identification field carries a random run id, so that a sink tells
// two runs of gen apart. The UDP checksum is set per frame by updating the template's checksum
// with the words of the sequence number and time (RFC 1624), not by summing the payload again.
import { packet } from '../index.js';

/** The tag's magic, "mgen". */
export const GEN_MAGIC = 0x6d67656e;
/** Smallest frame gen sends: headers (42) + tag (22). */
export const GEN_MIN_SIZE = 64;
/** Offsets in the frame. */
export const TAG = { magic: 42, queue: 46, seq: 48, time: 56, ipId: 18, udpChecksum: 40 } as const;

/** Where gen's frames go. */
export interface GenAddresses {
  srcMac: Buffer;
  dstMac: Buffer;
  srcIp: Buffer;
  dstIp: Buffer;
  srcPort: number;
  dstPort: number;
}

/** A frame to copy and stamp: its bytes with sequence and time 0, and the sum its UDP checksum starts from. */
export interface GenTemplate {
  bytes: Buffer;
  /** Ones'-complement sum (folded, not inverted) of the pseudo-header and datagram with seq = time = 0. */
  base: number;
}

/** The template of a `size`-byte frame sent on `queue`. */
export function genTemplate(a: GenAddresses, size: number, queue: number, runId: number): GenTemplate {
  const payload = Buffer.alloc(size - packet.UDP_PAYLOAD_OFFSET);
  payload.writeUInt32BE(GEN_MAGIC, 0);
  payload.writeUInt16BE(queue, 4);
  for (let i = 22; i < payload.length; i++) payload[i] = i & 0xff;
  const bytes = packet.buildUdpFrame({ ...a, payload, ipId: runId });
  const checksum = bytes.readUInt16BE(TAG.udpChecksum);
  return { bytes, base: ~checksum & 0xffff };
}

/**
 * Writes the sequence number and time into the frame at `o` of `b` (already a copy of the
 * template) and sets its UDP checksum. `seq` < 2^53; the time is given as two 32-bit halves.
 */
export function stamp(b: Uint8Array, o: number, base: number, seq: number, timeHi: number, timeLo: number): void {
  const seqHi = Math.floor(seq / 0x100000000);
  const seqLo = seq >>> 0;
  put32(b, o + TAG.seq, seqHi);
  put32(b, o + TAG.seq + 4, seqLo);
  put32(b, o + TAG.time, timeHi);
  put32(b, o + TAG.time + 4, timeLo);
  let sum =
    base +
    (seqHi >>> 16) +
    (seqHi & 0xffff) +
    (seqLo >>> 16) +
    (seqLo & 0xffff) +
    (timeHi >>> 16) +
    (timeHi & 0xffff) +
    (timeLo >>> 16) +
    (timeLo & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff || 0xffff;
  b[o + TAG.udpChecksum] = c >>> 8;
  b[o + TAG.udpChecksum + 1] = c & 0xff;
}

/** Parses "SRC:PORT→DST:PORT" (also "->" or ","). */
export function parseFlow(raw: string): { srcIp: string; srcPort: string; dstIp: string; dstPort: string } | undefined {
  const m = /^([\d.]+):(\d+)\s*(?:→|->|,)\s*([\d.]+):(\d+)$/.exec(raw);
  if (!m) return undefined;
  return { srcIp: m[1] as string, srcPort: m[2] as string, dstIp: m[3] as string, dstPort: m[4] as string };
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
