// IPv6 addresses (text forms, RFC 4291 §2.2 in, RFC 5952 out), the IPv6 header fields the helpers
// use, and the ICMPv6/UDP checksum over the IPv6 pseudo-header (RFC 8200 §8.1).
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError } from '../errors.js';

/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Size of the fixed IPv6 header. */
export const IPV6_HEADER_SIZE = 40;
/** IPv6 next-header number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;

const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
const IPV4_TAIL = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parse "2001:db8::1" (also "::ffff:192.0.2.1") into 16 bytes; throws InvalidArgumentError on anything else. */
export function parseIPv6(s: string): Buffer {
  const bad = () =>
    new InvalidArgumentError(
      `invalid IPv6 address ${describe(s)}: expected eight colon-separated hex groups such as "2001:db8::1"`,
    );
  if (typeof s !== 'string' || s.length > 45) throw bad();
  const halves = s.split('::');
  if (halves.length > 2) throw bad();
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string;
      const v4 = i === items.length - 1 ? IPV4_TAIL.exec(item) : null;
      if (v4) {
        const o = v4.slice(1, 5).map(Number);
        if (v4.slice(1, 5).some((x) => Number(x) > 255 || (x.length > 1 && x.startsWith('0')))) throw bad();
        out.push(((o[0] as number) << 8) | (o[1] as number), ((o[2] as number) << 8) | (o[3] as number));
      } else if (HEX_GROUP.test(item)) out.push(Number.parseInt(item, 16));
      else throw bad();
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw bad();
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(all[i] as number, i * 2);
  return b;
}

/** Format the 16 bytes at `offset` in the RFC 5952 form ("2001:db8::1"). */
export function formatIPv6(b: Uint8Array, offset = 0): string {
  if (!isUint8Array(b)) throw new InvalidArgumentError(`IPv6 address: bytes must be a Uint8Array; got ${describe(b)}`);
  if (!(Number.isInteger(offset) && offset >= 0 && offset + 16 <= b.length)) {
    throw new InvalidArgumentError(`IPv6 address at offset ${describe(offset)} does not fit in ${b.length} bytes`);
  }
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[offset + 2 * i] << 8) | b[offset + 2 * i + 1]);
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/**
 * The checksum of an upper-layer message in an IPv6 packet (ICMPv6, UDP): the Internet checksum
 * over the pseudo-header (source, destination, upper-layer length, next header) and
 * `bytes[start, end)`. Over a message that already holds its correct checksum it is 0.
 */
export function ipv6PseudoChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  bytes: Uint8Array,
  start: number,
  end: number,
): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) sum += ((src[i] << 8) | src[i + 1]) + ((dst[i] << 8) | dst[i + 1]);
  const length = end - start;
  sum += Math.floor(length / 0x10000) + (length & 0xffff) + nextHeader;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}
