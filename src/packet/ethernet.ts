// Ethernet II framing constants and the text forms of MAC and IPv4 addresses. The parsers and
// formatters throw InvalidArgumentError (MEMIF_ERR_INVAL_ARG) on bad input.
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError } from '../errors.js';

/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Size of an untagged Ethernet II header: destination MAC, source MAC, EtherType. */
export const ETH_HEADER_SIZE = 14;

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parse "aa:bb:cc:dd:ee:ff" into 6 bytes; throws InvalidArgumentError on anything else. */
export function parseMac(s: string): Buffer {
  if (typeof s !== 'string' || !MAC_RE.test(s)) {
    throw new InvalidArgumentError(
      `invalid MAC address ${describe(s)}: expected six colon-separated hex octets such as "aa:bb:cc:dd:ee:ff"`,
    );
  }
  return Buffer.from(s.split(':').map((h) => Number.parseInt(h, 16)));
}

/** Format the 6 bytes at `offset` as lower-case "aa:bb:cc:dd:ee:ff". */
export function formatMac(b: Uint8Array, offset = 0): string {
  checkRange(b, offset, 6, 'MAC address');
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[offset + i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Parse dotted-quad "192.0.2.1" into 4 bytes; throws InvalidArgumentError on anything else. */
export function parseIPv4(s: string): Buffer {
  const m = typeof s === 'string' ? IPV4_RE.exec(s) : null;
  const octets = m ? m.slice(1, 5) : [];
  // Leading zeros are refused: inet_aton would read them as octal, so they are ambiguous.
  if (!m || octets.some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) {
    throw new InvalidArgumentError(
      `invalid IPv4 address ${describe(s)}: expected four dot-separated decimal octets 0-255 such as "192.0.2.1"`,
    );
  }
  return Buffer.from(octets.map(Number));
}

/** Format the 4 bytes at `offset` as dotted-quad "192.0.2.1". */
export function formatIPv4(b: Uint8Array, offset = 0): string {
  checkRange(b, offset, 4, 'IPv4 address');
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

function checkRange(b: Uint8Array, offset: number, size: number, what: string): void {
  if (!isUint8Array(b)) throw new InvalidArgumentError(`${what}: bytes must be a Uint8Array; got ${describe(b)}`);
  if (!(Number.isInteger(offset) && offset >= 0 && offset + size <= b.length)) {
    throw new InvalidArgumentError(`${what} at offset ${describe(offset)} does not fit in ${b.length} bytes`);
  }
}
