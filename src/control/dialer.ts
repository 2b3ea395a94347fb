// Dialer: a slave's side of the socket, beside the master's listener.ts — one non-blocking
// connect() per attempt, which errors mean "no master yet" (retry), the retry timer, and the
// visible record of failed attempts (errno, path, a hint; rate-limited). What to do with a
// connected fd (the handshake) is the caller's: slave.ts.
import { MemifError, SystemError } from '../errors.js';
import type { NativeBinding } from '../native.js';
import { parseSocketPath } from './listener.js';
import { openControlSocket } from './netns.js';

/** The options a dialer needs. */
export interface DialerConfig {
  socketPath: string;
  reconnectIntervalMs: number;
  /** The network namespace to connect from (`MemifOptions.netns`); undefined: ours. */
  netns: string | undefined;
}

/**
 * What a `connectFailed` event carries: one failed connection attempt of a slave — the errno name
 * (`cause`), the socket path and a hint. Reported for the first failure, for each change of cause,
 * and then for the same cause at most once a minute (`suppressed` counts those held back).
 */
export interface ConnectFailedInfo {
  /** The error: a SystemError (errno, syscall 'connect'). */
  error: MemifError;
  /** The errno name of the failed connect(), e.g. 'ENOENT' (the error's name if it carried none). */
  cause: string;
  /** The socket path the attempt connected to (`@name` for an abstract one). */
  socketPath: string;
  /** What to check, when the cause suggests something; else undefined. */
  hint: string | undefined;
  /** Attempts made so far by this interface (this one included). */
  attempts: number;
  /** Failures of the same cause not reported since the last report (see ConnectFailureLimiter). */
  suppressed: number;
}

/** What the dialer tells its interface. */
export interface DialerOwner {
  /** True while an attempt makes sense (not closed, no connection in progress). */
  idle(): boolean;
  /** connect() succeeded: the handshake can start on `fd`. */
  connected(fd: number): void;
  /** connect() failed; the retry is already scheduled. */
  failed(failure: ConnectFailedInfo, transient: boolean): void;
}

/** connect() errors that mean "no master there yet": retried quietly on the first attempt too. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN', 'ECONNRESET']);

/** What to check for a failed attempt, by errno (and whether the path is abstract). */
export function connectHint(cause: string, abstract: boolean): string | undefined {
  if (cause === 'EACCES' || cause === 'EPERM') return 'permission: see socketMode/socketOwner';
  if (cause === 'ENOENT' || cause === 'ECONNREFUSED') {
    return abstract ? 'abstract socket: same network namespace? is the master running?' : 'is the master running?';
  }
  return undefined;
}

/** The interval at which one unchanged cause of failure is reported again. */
export const CONNECT_FAILURE_REPEAT_MS = 60_000;

/**
 * Decides which failures are reported: the first, each change of cause, and then the same cause
 * at most once per CONNECT_FAILURE_REPEAT_MS, with the count of those held back in between. A
 * slave retrying every second for a day reports about 1,440 lines, not 86,400.
 */
export class ConnectFailureLimiter {
  #cause: string | undefined;
  #at = 0;
  #held = 0;

  constructor(private readonly intervalMs = CONNECT_FAILURE_REPEAT_MS) {}

  /** undefined: hold back. A number: report, with that many held back before. */
  admit(cause: string, now = Date.now()): number | undefined {
    if (cause === this.#cause && now - this.#at < this.intervalMs) {
      this.#held++;
      return undefined;
    }
    const held = cause === this.#cause ? this.#held : 0;
    this.#cause = cause;
    this.#at = now;
    this.#held = 0;
    return held;
  }

  /** After a connection came up: the next failure is a first one again. */
  reset(): void {
    this.#cause = undefined;
    this.#held = 0;
  }
}

export class Dialer {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** connect() calls made (successful or not). */
  attempts = 0;

  constructor(
    private readonly config: DialerConfig,
    private readonly owner: DialerOwner,
    private readonly binding: NativeBinding,
  ) {}

  /**
   * One attempt. `first` (from Memif.create): an error other than "no master yet" is thrown
   * instead of retried, so a wrong path or permission is seen at once.
   */
  dial(first = false): void {
    if (this.#stopped || !this.owner.idle()) return;
    const addr = parseSocketPath(this.config.socketPath);
    this.attempts++;
    let fd: number;
    try {
      fd = openControlSocket({ ...addr, netns: this.config.netns }, this.binding);
    } catch (err) {
      const error = SystemError.from(err);
      const e = error instanceof MemifError ? error : new MemifError('MEMIF_ERR_SYSCALL', error.message);
      // The errno name: a SystemError's (openControlSocket gives those), else the native error's.
      const cause = e instanceof SystemError ? e.syscallCode : (err as { code?: unknown }).code;
      const code = typeof cause === 'string' ? cause : e.errorName;
      // Only connect() failing says "no master (yet)": a missing namespace (open's ENOENT) does not.
      const transient = e instanceof SystemError && e.syscall === 'connect' && TRANSIENT.has(code);
      if (first && !transient) throw e;
      this.scheduleRetry();
      this.owner.failed(
        {
          error: e,
          cause: code,
          socketPath: this.config.socketPath,
          hint: connectHint(code, addr.abstract),
          attempts: this.attempts,
          suppressed: 0,
        },
        transient,
      );
      return;
    }
    this.owner.connected(fd);
  }

  /** The next attempt after `reconnectIntervalMs` (once, however often it is asked for). */
  scheduleRetry(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.dial();
    }, this.config.reconnectIntervalMs);
  }

  /** No more attempts (close()). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
