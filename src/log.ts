// The logger interface users can replace, and the default one: util.debuglog('memif'), so nothing
// is printed unless NODE_DEBUG=memif is set. No logging dependency.
import { debuglog } from 'node:util';

/** What memif-ts logs through. Every method takes a message and optional structured fields. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const debug = debuglog('memif');

function line(level: string, message: string, fields?: Record<string, unknown>): void {
  if (fields === undefined) debug('%s %s', level, message);
  else debug('%s %s %j', level, message, fields);
}

/** The default logger: silent unless `NODE_DEBUG=memif`. */
export const defaultLogger: Logger = {
  debug: (m, f) => line('debug', m, f),
  info: (m, f) => line('info', m, f),
  warn: (m, f) => line('warn', m, f),
  error: (m, f) => line('error', m, f),
};

/**
 * Lets one log line per key through per interval and counts the rest, so that a peer repeating
 * the same failure cannot flood the log. Keys should come from a small set (error names).
 */
export class LogLimiter {
  readonly #seen = new Map<string, { at: number; held: number }>();

  constructor(private readonly intervalMs = 10_000) {}

  /** undefined: hold this line back. A number: log it, noting how many were held back before it. */
  admit(key: string, now = Date.now()): number | undefined {
    const s = this.#seen.get(key);
    if (s !== undefined && now - s.at < this.intervalMs) {
      s.held++;
      return undefined;
    }
    const held = s?.held ?? 0;
    this.#seen.set(key, { at: now, held: 0 });
    return held;
  }
}
