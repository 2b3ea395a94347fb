// Argument checks the queues share, wherever they are driven from (Memif or a WorkerQueue): each
// throws InvalidArgumentError, and reads nothing but the value it checks.
import { describe, InvalidArgumentError } from '../errors.js';

/** How a queue learns that packets arrived. */
export type RxMode = 'interrupt' | 'polling';

/** Throws InvalidArgumentError unless `mode` is an RxMode. */
export function checkRxMode(mode: unknown): asserts mode is RxMode {
  if (mode !== 'interrupt' && mode !== 'polling') {
    throw new InvalidArgumentError(`rx mode must be 'interrupt' or 'polling'; got ${describe(mode)}`);
  }
}

/** Throws InvalidArgumentError unless `max` (a burst's size) is a positive integer. */
export function checkBurstSize(max: unknown, what = 'max'): asserts max is number {
  if (!(Number.isInteger(max) && (max as number) >= 1)) {
    throw new InvalidArgumentError(`${what} must be a positive integer; got ${describe(max)}`);
  }
}
