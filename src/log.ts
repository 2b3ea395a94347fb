// The logger interface users can replace, and the default one: util.debuglog('memif'), so nothing
// is printed unless NODE_DEBUG=memif is set. No logging dependency.
import { debuglog } from 'node:util';

/** What memif-ts logs through. Every method takes a message and optional structured fields. */
export interface Logger {
  /** Details, e.g. a failure repeated by a retrying slave. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Events of note: link up, link down, a connection refused before it was bound to an interface. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Failures: a connection attempt that failed with no `error` listener (rate-limited), accept trouble. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Errors; part of the usual logger shape (pino, console), not called by memif-ts today. */
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

/** The methods of a Logger, in order. */
export const logLevels = ['debug', 'info', 'warn', 'error'] as const;

/**
 * The user's logger as memif-ts calls it: `methods` (read once from `logger` by the caller),
 * each called with `logger` as `this`, and never able to break anything — a method that throws,
 * or returns a promise that rejects, is ignored (the line is lost, nothing else). A log line is
 * never worth a torn-down connection, a skipped cleanup or an unhandled rejection.
 */
export function guardLogger(logger: object, methods: Logger): Logger {
  const guarded = {} as Logger;
  for (const level of logLevels) {
    const method = methods[level];
    guarded[level] = (message, fields) => {
      try {
        const r: unknown = Reflect.apply(method, logger, [message, fields]);
        if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
          (r as Promise<unknown>).then(undefined, () => {});
        }
      } catch {
        // A broken logger loses its line; memif-ts goes on.
      }
    };
  }
  return guarded;
}

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
