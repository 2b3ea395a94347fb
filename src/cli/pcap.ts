// Capture files: pcap (nanosecond variant, magic 0xa1b23c4d) and pcapng (one section, one
// Ethernet interface with if_tsresol = 9, Enhanced Packet Blocks) written in host byte order;
// both read back, in either byte order, with µs or ns pcap and any pcapng if_tsresol.
// Pure functions on Buffers: where the bytes go (a file, stdout) is the caller's business.
import { InvalidArgumentError } from '../errors.js';

/** The two formats `memif capture` writes. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;

/** One frame read from a capture file. */
export interface CaptureRecord {
  /** Capture time, ns since the Unix epoch. */
  timeNs: bigint;
  /** The bytes captured (at most snaplen of the original): a view into the buffer read. */
  data: Buffer;
  /** Length of the frame on the wire. */
  originalLength: number;
}

/** A whole capture file, read. */
export interface CaptureFile {
  format: CaptureFormat;
  /** Link type of the (first) interface: 1 = Ethernet. */
  linkType: number;
  records: CaptureRecord[];
}

const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_US = 0xa1b2c3d4;
const SHB = 0x0a0d0d0a;
const IDB = 1;
const SPB = 3;
const EPB = 6;
const BOM = 0x1a2b3c4d;

const pad4 = (n: number) => (n + 3) & ~3;

/** The bytes a capture file starts with: pcap's global header, or pcapng's SHB and IDB. */
export function captureHeader(format: CaptureFormat, snaplen: number): Buffer {
  if (format === 'pcap') {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(PCAP_MAGIC_NS, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    // thiszone and sigfigs: 0
    b.writeUInt32LE(snaplen, 16);
    b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    return b;
  }
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(SHB, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(BOM, 8);
  shb.writeUInt16LE(1, 12); // version 1.0
  shb.writeUInt16LE(0, 14);
  shb.writeBigInt64LE(-1n, 16); // section length: unknown
  shb.writeUInt32LE(28, 24);
  // IDB: link type, snaplen, options if_tsresol = 9 (ns) and opt_endofopt.
  const idb = Buffer.alloc(32);
  idb.writeUInt32LE(IDB, 0);
  idb.writeUInt32LE(32, 4);
  idb.writeUInt16LE(LINKTYPE_ETHERNET, 8);
  idb.writeUInt32LE(snaplen, 12);
  idb.writeUInt16LE(9, 16); // if_tsresol
  idb.writeUInt16LE(1, 18);
  idb.writeUInt8(9, 20); // 10^-9 s
  // 21..23: padding; 24..27: opt_endofopt
  idb.writeUInt32LE(32, 28);
  return Buffer.concat([shb, idb]);
}

/** Bytes of one record (pcap record or pcapng EPB) for `frame`, cut to `snaplen`. */
export function recordSize(format: CaptureFormat, frameLength: number, snaplen: number): number {
  const caplen = Math.min(frameLength, snaplen);
  return format === 'pcap' ? 16 + caplen : 32 + pad4(caplen);
}

/**
 * Writes one record for `frame` (captured at `timeNs`, ns since the epoch) into `out` at `offset`
 * (room: recordSize); returns the offset after it.
 */
export function writeRecord(
  format: CaptureFormat,
  out: Buffer,
  offset: number,
  frame: Uint8Array,
  timeNs: bigint,
  snaplen: number,
): number {
  const caplen = Math.min(frame.length, snaplen);
  const data = caplen === frame.length ? frame : frame.subarray(0, caplen);
  if (format === 'pcap') {
    out.writeUInt32LE(Number(timeNs / 1_000_000_000n), offset);
    out.writeUInt32LE(Number(timeNs % 1_000_000_000n), offset + 4);
    out.writeUInt32LE(caplen, offset + 8);
    out.writeUInt32LE(frame.length, offset + 12);
    out.set(data, offset + 16);
    return offset + 16 + caplen;
  }
  const total = 32 + pad4(caplen);
  out.writeUInt32LE(EPB, offset);
  out.writeUInt32LE(total, offset + 4);
  out.writeUInt32LE(0, offset + 8); // interface 0
  out.writeUInt32LE(Number(timeNs >> 32n), offset + 12);
  out.writeUInt32LE(Number(timeNs & 0xffffffffn), offset + 16);
  out.writeUInt32LE(caplen, offset + 20);
  out.writeUInt32LE(frame.length, offset + 24);
  out.set(data, offset + 28);
  out.fill(0, offset + 28 + caplen, offset + total - 4);
  out.writeUInt32LE(total, offset + total - 4);
  return offset + total;
}

function bad(why: string): never {
  throw new InvalidArgumentError(`not a readable pcap or pcapng file: ${why}`);
}

/** Reads a pcap or pcapng file held in `buf`. Throws InvalidArgumentError on anything malformed. */
export function readCapture(buf: Buffer): CaptureFile {
  if (buf.length < 4) bad(`only ${buf.length} bytes`);
  return buf.readUInt32LE(0) === SHB ? readPcapng(buf) : readPcap(buf);
}

function readPcap(buf: Buffer): CaptureFile {
  if (buf.length < 24) bad('truncated pcap header');
  let le: boolean;
  let nsRes: boolean;
  const m = buf.readUInt32LE(0);
  if (m === PCAP_MAGIC_NS || m === PCAP_MAGIC_US) [le, nsRes] = [true, m === PCAP_MAGIC_NS];
  else if (buf.readUInt32BE(0) === PCAP_MAGIC_NS || buf.readUInt32BE(0) === PCAP_MAGIC_US)
    [le, nsRes] = [false, buf.readUInt32BE(0) === PCAP_MAGIC_NS];
  else bad(`unknown magic 0x${m.toString(16)}`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0xffff;
  const records: CaptureRecord[] = [];
  let o = 24;
  while (o < buf.length) {
    if (o + 16 > buf.length) bad(`truncated record header at byte ${o}`);
    const caplen = u32(o + 8);
    if (o + 16 + caplen > buf.length) bad(`truncated record at byte ${o}`);
    const frac = BigInt(u32(o + 4));
    records.push({
      timeNs: BigInt(u32(o)) * 1_000_000_000n + (nsRes ? frac : frac * 1000n),
      data: buf.subarray(o + 16, o + 16 + caplen),
      originalLength: u32(o + 12),
    });
    o += 16 + caplen;
  }
  return { format: 'pcap', linkType, records };
}

function readPcapng(buf: Buffer): CaptureFile {
  let le = true;
  let linkType = -1;
  // Per interface of the current section: ns per tick as a (numerator, denominator) pair.
  let units: { num: bigint; den: bigint }[] = [];
  const records: CaptureRecord[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 12 > buf.length) bad(`truncated block at byte ${o}`);
    if (buf.readUInt32LE(o) === SHB) {
      const bom = buf.readUInt32LE(o + 8);
      if (bom === BOM) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else bad(`bad byte-order magic at byte ${o}`);
      units = [];
    }
    const u32 = (p: number) => (le ? buf.readUInt32LE(p) : buf.readUInt32BE(p));
    const u16 = (p: number) => (le ? buf.readUInt16LE(p) : buf.readUInt16BE(p));
    const type = u32(o);
    const len = u32(o + 4);
    if (len < 12 || len % 4 !== 0 || o + len > buf.length) bad(`bad block length ${len} at byte ${o}`);
    if (type === IDB) {
      if (linkType < 0) linkType = u16(o + 8);
      let unit = { num: 1000n, den: 1n }; // default: 10^-6 s
      for (let p = o + 16; p + 4 <= o + len - 4; ) {
        const code = u16(p);
        const olen = u16(p + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = buf[p + 4] as number;
          const e = BigInt(r & 0x7f);
          if (r & 0x80) unit = { num: 1_000_000_000n, den: 1n << e };
          else unit = e <= 9n ? { num: 10n ** (9n - e), den: 1n } : { num: 1n, den: 10n ** (e - 9n) };
        }
        p += 4 + pad4(olen);
      }
      units.push(unit);
    } else if (type === EPB) {
      if (len < 32) bad(`short packet block at byte ${o}`);
      const unit = units[u32(o + 8)];
      if (unit === undefined) bad(`packet block for an undeclared interface at byte ${o}`);
      const caplen = u32(o + 20);
      if (28 + caplen > len - 4) bad(`packet longer than its block at byte ${o}`);
      const ticks = (BigInt(u32(o + 12)) << 32n) | BigInt(u32(o + 16));
      records.push({
        timeNs: (ticks * unit.num) / unit.den,
        data: buf.subarray(o + 28, o + 28 + caplen),
        originalLength: u32(o + 24),
      });
    } else if (type === SPB) {
      const orig = u32(o + 8);
      const caplen = Math.min(orig, len - 16);
      records.push({ timeNs: 0n, data: buf.subarray(o + 12, o + 12 + caplen), originalLength: orig });
    }
    o += len;
  }
  return { format: 'pcapng', linkType: linkType < 0 ? LINKTYPE_ETHERNET : linkType, records };
}
