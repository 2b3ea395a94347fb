// Argument checks shared by the packet helpers: every bad argument of the caller is an
// InvalidArgumentError (MEMIF_ERR_INVAL_ARG); the frames the helpers parse are never checked here
// (a parser answers undefined for anything it does not recognise).
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError, readFields } from '../errors.js';

export { readFields } from '../errors.js';

/** `b` is a Uint8Array of exactly `size` bytes. */
export function checkSize(b: unknown, size: number, name: string): asserts b is Uint8Array {
  if (!(isUint8Array(b) && b.length === size)) {
    throw new InvalidArgumentError(`${name} must be ${size} bytes (a Uint8Array); got ${describe(b)}`);
  }
}

/** `n` is an integer 0 … 65535. */
export function checkU16(n: unknown, name: string): asserts n is number {
  if (!(Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff)) {
    throw new InvalidArgumentError(`${name} must be an integer 0 … 65535; got ${describe(n)}`);
  }
}

/**
 * The options of an ICMP (`ipSize` 4) or ICMPv6 (`ipSize` 16) echo request, checked in order:
 * MACs of 6 bytes, IP addresses of `ipSize`, id and seq 0 … 65535, payload empty when omitted.
 */
export function readEchoRequest(opts: unknown, ipSize: 4 | 16) {
  const o = readFields(opts, 'options', ['srcMac', 'dstMac', 'srcIp', 'dstIp', 'id', 'seq', 'payload']);
  const { srcMac, dstMac, srcIp, dstIp, id, seq } = o;
  const payload = o.payload === undefined ? new Uint8Array(0) : o.payload;
  if (!isUint8Array(payload)) throw new InvalidArgumentError(`payload must be a Uint8Array; got ${describe(payload)}`);
  checkSize(srcMac, 6, 'srcMac');
  checkSize(dstMac, 6, 'dstMac');
  checkSize(srcIp, ipSize, 'srcIp');
  checkSize(dstIp, ipSize, 'dstIp');
  checkU16(id, 'id');
  checkU16(seq, 'seq');
  return { srcMac, dstMac, srcIp, dstIp, id, seq, payload };
}
