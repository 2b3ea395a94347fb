// The Internet checksum (RFC 1071) used by the IPv4 header and ICMP. Pure function over bytes:
// no allocation, no state.
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError } from '../errors.js';

/**
 * RFC 1071 ones'-complement checksum of `bytes[start, end)` (a trailing odd byte is padded with
 * zero; start and end are integers, clamped to the bytes); store the result big-endian. Over a region that already holds a correct checksum it is 0.
 */
export function internetChecksum(bytes: Uint8Array, start = 0, end?: number): number {
  if (!isUint8Array(bytes)) throw new InvalidArgumentError(`bytes must be a Uint8Array; got ${describe(bytes)}`);
  if (end === undefined) end = bytes.length;
  if (!(Number.isInteger(start) && Number.isInteger(end))) {
    throw new InvalidArgumentError(`start and end must be integers; got ${describe(start)}, ${describe(end)}`);
  }
  const from = Math.max(0, Math.min(start, bytes.length));
  const to = Math.max(from, Math.min(end, bytes.length));
  let sum = 0;
  let i = from;
  for (; i + 1 < to; i += 2) {
    sum += (bytes[i] << 8) | bytes[i + 1];
    // Fold early so the sum never leaves the safe-integer range on huge inputs.
    if (sum > 0xffffffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  if (i < to) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}
