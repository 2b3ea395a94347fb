// Bad usage of the command line: UsageError (exit status 2, a one-line reason on stderr) and the
// parsers of option values that throw it. Nothing here touches a memif.
import { InvalidArgumentError } from '../index.js';

/** The command line is wrong: the process prints the one-line reason and exits with status 2. */
export class UsageError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
  }
}

const UINT_RE = /^\d+$/;
const NUMBER_RE = /^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** An integer option in [min, max]. */
export function parseIntOption(raw: string, option: string, min: number, max: number): number {
  const n = UINT_RE.test(raw) ? Number(raw) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
    throw new UsageError(`${option} must be an integer ${min} … ${max}; got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A non-negative decimal option (seconds, rates) in (0, max] or [0, max] when zeroOk. */
export function parseNumberOption(raw: string, option: string, max: number, zeroOk = false): number {
  const n = NUMBER_RE.test(raw) ? Number(raw) : Number.NaN;
  if (!(Number.isFinite(n) && (zeroOk ? n >= 0 : n > 0) && n <= max)) {
    const low = zeroOk ? '0' : 'more than 0';
    throw new UsageError(`${option} must be a number ${low} … ${max}; got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** One of `choices`. */
export function parseChoice<T extends string>(raw: string, option: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`${option} must be ${choices.join(' or ')}; got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

/** A library parser (packet.parseMac, …) whose InvalidArgumentError becomes a usage error. */
export function parseWith<T>(parse: (s: string) => T, raw: string, option: string): T {
  try {
    return parse(raw);
  } catch (err) {
    throw new UsageError(`${option}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Refuses two options given together. */
export function exclusive(values: Record<string, unknown>, a: string, b: string): void {
  if (values[a] !== undefined && values[b] !== undefined && values[a] !== false && values[b] !== false) {
    throw new UsageError(`--${a} and --${b} cannot be used together`);
  }
}
