// Argument checks shared by the packet helpers: every bad argument of the caller is an
// InvalidArgumentError (MEMIF_ERR_INVAL_ARG); the frames the helpers parse are never checked here
// (a parser answers undefined for anything it does not recognise).
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError } from '../errors.js';

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
