// Reports: what an interface remembers and says about its connections — the counters and last
// causes details() shows, and how often a failure is told (an `error` event or a log line once
// per distinct message; a slave's failed connection attempts rate-limited by cause). The events
// themselves are emitted by the interface, through `Sink`.
import { type ConnectFailedInfo, ConnectFailureLimiter } from './control/dialer.js';
import { type MemifError, StateError } from './errors.js';
import { type Logger, LogLimiter } from './log.js';

/** How a report reaches the user: the interface's events. */
export interface ReportSink {
  hasErrorListener(): boolean;
  error(error: MemifError): void;
  connectFailed(failure: ConnectFailedInfo): void;
}

export class Reports {
  /** Links that came up / went down since create(). */
  connects = 0;
  disconnects = 0;
  lastDisconnectReason: string | undefined;
  /** Queue faults since create() (each ended its connection). */
  faults = 0;
  /** A slave's last failed attempt (connect() or handshake), until a link comes up. */
  lastConnectError: MemifError | undefined;
  #lastFailure = '';
  readonly #logLimit = new LogLimiter();
  readonly #connectLimit = new ConnectFailureLimiter();

  constructor(
    private readonly logger: Logger,
    private readonly id: number,
    private readonly sink: ReportSink,
  ) {}

  /** A link came up: the failures before it are history. */
  up(): void {
    this.connects++;
    this.#lastFailure = '';
    this.lastConnectError = undefined;
    this.#connectLimit.reset();
  }

  /** This interface's connection ended, up or still in its handshake. */
  ended(reason: string, wasConnected: boolean): void {
    if (wasConnected) this.disconnects++;
    this.lastDisconnectReason = reason;
  }

  /**
   * A failure: once per distinct message in a row (a retrying slave repeats itself), as an
   * `error` event when someone listens, else as a log line, at most one per error name per 10 s.
   */
  failure(error: MemifError): void {
    if (error.message === this.#lastFailure) {
      this.logger.debug('memif: again', { id: this.id, error: error.message });
      return;
    }
    this.#lastFailure = error.message;
    if (this.sink.hasErrorListener()) {
      this.sink.error(error);
      return;
    }
    const held = this.#logLimit.admit(error.errorName);
    if (held === undefined) return;
    this.logger.warn('memif: connection failed', {
      id: this.id,
      error: error.message,
      code: error.errorName,
      ...(held > 0 ? { alikeNotLogged: held } : {}),
    });
  }

  /**
   * A slave's connect() failed: remembered; logged and told (`connectFailed`) for the first
   * failure, each change of cause, then once a minute per cause. A cause other than "no master
   * yet" (`transient` false) is also a failure (an `error`).
   */
  connectFailed(failure: ConnectFailedInfo, transient: boolean): void {
    this.lastConnectError = failure.error;
    const held = this.#connectLimit.admit(failure.cause);
    if (held !== undefined) {
      this.logger.warn('memif: connection attempt failed', {
        id: this.id,
        socket: failure.socketPath,
        cause: failure.cause,
        ...(failure.hint !== undefined ? { hint: failure.hint } : {}),
        attempts: failure.attempts,
        ...(held > 0 ? { suppressed: held } : {}),
      });
    }
    if (!transient) this.failure(failure.error);
    if (held !== undefined) this.sink.connectFailed({ ...failure, suppressed: held });
  }

  /** waitForConnect's timeout: names the last failed attempt, and carries it as `cause`. */
  notConnectedWithin(timeoutMs: number): StateError {
    const last = this.lastConnectError;
    const message = `not connected within ${timeoutMs} ms`;
    return last === undefined
      ? new StateError('MEMIF_ERR_NOCONN', message)
      : new StateError('MEMIF_ERR_NOCONN', `${message} (last attempt: ${last.message})`, { cause: last });
  }
}
