// Waiters: who waits on an interface — receive() loops (woken by any change: connect, interrupt,
// rx mode, disconnect, close) and waitForConnect() callers (settled on connect or close before the
// user's listeners run, on their timeout, or on abort), and the checks of waitForConnect's options.
import { describe, InvalidArgumentError, readFields, StateError } from './errors.js';
import { checkBurstSize } from './queue/args.js';

/** Options of `waitForConnect()`. */
export interface WaitForConnectOptions {
  /** Give up after this many ms (0 … 2^31 − 1) with `MEMIF_ERR_NOCONN`. Default (or Infinity): no limit. */
  timeoutMs?: number;
  /** Give up when this signal aborts (rejects with its reason), e.g. `AbortSignal.timeout(5000)`. */
  signal?: AbortSignal;
}

/** Options of `receive()`. */
export interface ReceiveOptions {
  /** Most packets per burst (a positive integer). Default 256. */
  maxBurst?: number;
  /** Ends the iteration when it aborts (the loop completes; no error is thrown). */
  signal?: AbortSignal;
}

/** True when `value instanceof C`, false (instead of a throw) for a Proxy whose traps throw. */
function isInstance(value: unknown, C: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof C;
  } catch {
    return false;
  }
}

/** receive()'s options, checked; `maxBurst` defaults to `defaultBurst`. */
export function readReceiveOptions(
  options: ReceiveOptions | undefined,
  defaultBurst: number,
): { maxBurst: number; signal: AbortSignal | undefined } {
  const o: { maxBurst?: unknown; signal?: unknown } =
    options === undefined ? {} : readFields(options, 'options', ['maxBurst', 'signal'] as const);
  const max = o.maxBurst === undefined ? defaultBurst : o.maxBurst;
  checkBurstSize(max, 'maxBurst');
  if (o.signal !== undefined && !isInstance(o.signal, AbortSignal)) {
    throw new InvalidArgumentError(`signal must be an AbortSignal; got ${describe(o.signal)}`);
  }
  return { maxBurst: max as number, signal: o.signal as AbortSignal | undefined };
}

export class Waiters {
  readonly #wakers = new Set<() => void>();
  /** Not event listeners: a user's listener that throws must not keep these from running. */
  readonly #onConnect = new Set<() => void>();
  readonly #onClose = new Set<() => void>();

  /** Resolves at the next wake(), or when `signal` aborts. */
  next(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal === undefined) {
        this.#wakers.add(resolve);
        return;
      }
      const done = () => {
        this.#wakers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#wakers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Something changed: every next() resolves. */
  wake(): void {
    if (this.#wakers.size === 0) return;
    const ws = [...this.#wakers];
    this.#wakers.clear();
    for (const w of ws) w();
  }

  /** The link came up: waitForConnect() callers resolve. */
  connected(): void {
    for (const w of [...this.#onConnect]) w();
  }

  /** The interface closed: waitForConnect() callers reject. */
  closed(): void {
    for (const w of [...this.#onClose]) w();
  }

  /**
   * See Memif.waitForConnect: `state` is the interface's at the call, `timedOut` makes the
   * timeout's error.
   */
  forConnect(
    options: WaitForConnectOptions | undefined,
    state: { up: boolean; closed: boolean; timedOut: (ms: number) => Error },
  ): Promise<void> {
    let timeoutMs: unknown;
    let signal: AbortSignal | undefined;
    try {
      const o: { timeoutMs?: unknown; signal?: unknown } =
        options === undefined ? {} : readFields(options, 'options', ['timeoutMs', 'signal'] as const);
      timeoutMs = o.timeoutMs;
      if (o.signal !== undefined && !isInstance(o.signal, AbortSignal)) {
        throw new InvalidArgumentError(`signal must be an AbortSignal; got ${describe(o.signal)}`);
      }
      signal = o.signal as AbortSignal | undefined;
    } catch (err) {
      return Promise.reject(err);
    }
    // A timer takes at most 2^31 − 1 ms (Node fires a longer one after 1 ms); Infinity: no timer.
    if (
      timeoutMs !== undefined &&
      timeoutMs !== Number.POSITIVE_INFINITY &&
      !(Number.isFinite(timeoutMs) && (timeoutMs as number) >= 0 && (timeoutMs as number) <= 2 ** 31 - 1)
    ) {
      return Promise.reject(
        new InvalidArgumentError(
          `timeoutMs must be from 0 to ${2 ** 31 - 1} (or Infinity), got ${describe(timeoutMs)}`,
        ),
      );
    }
    if (state.up) return Promise.resolve();
    if (state.closed) return Promise.reject(new StateError('MEMIF_ERR_NOCONN', 'interface is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (err?: unknown) => {
        this.#onConnect.delete(onConnect);
        this.#onClose.delete(onClosed);
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onConnect = () => settle();
      const onClosed = () => settle(new StateError('MEMIF_ERR_NOCONN', 'interface is closed'));
      const onAbort = () => settle(signal?.reason);
      this.#onConnect.add(onConnect);
      this.#onClose.add(onClosed);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(() => settle(state.timedOut(timeoutMs as number)), timeoutMs as number);
      }
    });
  }
}
