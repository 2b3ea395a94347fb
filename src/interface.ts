// Memif: one memif interface, master or slave — lifecycle (create, connect, disconnect, reconnect,
// close), events, the queues of the current connection, and details(). The control plane lives in
// control/, the packet loops in queue/; this file joins them and checks the caller's arguments.
import { EventEmitter } from 'node:events';
import type { Mode } from './constants.js';
import type { Connection } from './control/connection.js';
import { MasterListener, parseSocketPath } from './control/listener.js';
import type { MasterConnection, MasterEndpoint } from './control/master.js';
import type { SessionInfo, SessionRing } from './control/session.js';
import { SlaveConnection } from './control/slave.js';
import { describe, InvalidArgumentError, MemifError, readFields, StateError, SystemError } from './errors.js';
import { LogLimiter } from './log.js';
import { type NativeBinding, native } from './native.js';
import { type MemifOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { checkBurstSize, checkRxMode, type RxMode } from './queue/args.js';
import type { QueueInit } from './queue/queue-init.js';
import { RxQueue } from './queue/rx.js';
import type { RxBurst } from './queue/rx-burst.js';
import { TxQueue } from './queue/tx.js';
import type { TxBurst } from './queue/tx-burst.js';
import { makeHandle, type QueueHandle } from './queue/worker-queue.js';
import type { SharedMemory } from './shm/memory.js';

/** Counters and ring state of one queue, from `details()`. */
export interface QueueDetails {
  queueId: number;
  /** Ring direction in protocol terms: S2M (slave → master) or M2S. */
  ringType: 'S2M' | 'M2S';
  ringSize: number;
  bufferSize: number;
  head: number;
  tail: number;
  packets: number;
  bytes: number;
  /**
   * Dropped packets and refused descriptors on this queue: emptyFragments + oversized + each time
   * the peer's ring state was found bad (which ends the connection, and with it these counters).
   * Not ringFull: those packets stay with the caller.
   */
  errors: number;
  /** Rx queues only: packets dropped because one of their fragments was empty (0 bytes). */
  emptyFragments?: number;
  /**
   * Tx queues only: packets `txBurst` could not queue because the ring had no free buffers (left to
   * the caller, who may retry: a packet refused twice counts twice).
   */
  ringFull?: number;
  /** Tx queues only: packets dropped because even a whole ring of the peer's buffers could not hold them. */
  oversized?: number;
  /** Rx queues only. */
  rxMode?: RxMode;
}

/** Everything `details()` reports about an interface. */
export interface MemifDetails {
  role: 'master' | 'slave';
  id: number;
  socketPath: string;
  mode: Mode;
  interfaceName: string;
  instanceName: string;
  /**
   * The peer's instance name; '' when down. A slave reads it from HELLO, which a master sends
   * before it knows the interface id: with memif-ts that is the instanceName of the first master
   * interface created on that socket (libmemif and VPP also name the socket, not the interface).
   */
  remoteName: string;
  /** The peer's interface name (from CONNECT or CONNECTED); '' when down. */
  remoteInterfaceName: string;
  linkUp: boolean;
  /** Why the last connection ended, if one did. */
  lastDisconnectReason: string | undefined;
  /** Process credentials of the peer, from the control socket (SO_PEERCRED), while connected. */
  peerCredentials: { pid: number; uid: number; gid: number } | undefined;
  regions: { index: number; size: number }[];
  rxQueues: QueueDetails[];
  txQueues: QueueDetails[];
}

/** Options of `waitForConnect()`. */
export interface WaitForConnectOptions {
  /** Give up after this many ms (0 … 2^31 − 1) with `MEMIF_ERR_NOCONN`. Default (or Infinity): no limit. */
  timeoutMs?: number;
  /** Give up when this signal aborts (rejects with its reason), e.g. `AbortSignal.timeout(5000)`. */
  signal?: AbortSignal;
}

/** What a `disconnect` event carries. */
export interface DisconnectInfo {
  /** Human-readable reason (ours or the peer's). */
  reason: string;
  error: MemifError;
}

/** Events of a Memif. */
export interface MemifEvents {
  /**
   * The link is up: queues can be used. A master's first txBurst may still return 0 for a moment:
   * it can only fill buffers once the slave has offered them (right after CONNECTED).
   */
  connect: [];
  /** The link went down; a slave retries by itself until closed. */
  disconnect: [info: DisconnectInfo];
  /** The peer signalled queue `queueId` (interrupt mode): call rxBurst(queueId). */
  interrupt: [queueId: number];
  /** A handshake failed or a peer misbehaved. Without a listener these go to the logger instead. */
  error: [error: MemifError];
  /** close() has released everything. */
  close: [];
}

const DEFAULT_BURST = 256;

/** True when `value instanceof C`, false (instead of a throw) for a Proxy whose traps throw. */
function isInstance(value: unknown, C: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof C;
  } catch {
    return false;
  }
}

/**
 * A memif interface. Create it with `await Memif.create(options)`, wait for `connect`, then move
 * packets with `txBurst` / `rxBurst` (or `for await (const burst of memif.receive(q))`). A slave
 * reconnects by itself; `close()` releases everything.
 */
export class Memif extends EventEmitter<MemifEvents> implements MasterEndpoint {
  readonly options: ResolvedOptions;
  readonly #binding: NativeBinding;
  #conn: Connection | undefined;
  #info: SessionInfo | undefined;
  #rx: RxQueue[] = [];
  #tx: TxQueue[] = [];
  #rxModes: RxMode[];
  #closed = false;
  #listener: MasterListener | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastReason: string | undefined;
  #lastFailure = '';
  #peerCredentials: MemifDetails['peerCredentials'];
  readonly #waiters = new Set<() => void>();
  /** waitForConnect() callers, told before the user's 'connect' / 'close' listeners. */
  readonly #onConnectWaiters = new Set<() => void>();
  readonly #onCloseWaiters = new Set<() => void>();
  readonly #logLimit = new LogLimiter();
  /** Int32Array[0] = 1 while this connection lives; shared with queues handed to workers. */
  #link = new SharedArrayBuffer(4);
  readonly #handedOff = new Set<string>();
  /** Hand-off tokens of this connection: fds not claimed by a worker are closed when it ends. */
  readonly #handoffTokens: number[] = [];
  /** Memory of this and earlier connections that a zero-copy burst may still hold; close() unmaps it. */
  #memories: SharedMemory[] = [];

  private constructor(options: ResolvedOptions, binding: NativeBinding) {
    super();
    this.options = options;
    this.#binding = binding;
    this.#rxModes = new Array<RxMode>(options.rxQueues).fill(options.rxMode);
  }

  /**
   * Creates an interface. Resolves once a master listens, or once a slave has made its first
   * connection attempt (it keeps retrying every `reconnectIntervalMs`). Rejects with a MemifError
   * on bad options or when the socket cannot be used at all.
   */
  static async create(options: MemifOptions): Promise<Memif> {
    const resolved = resolveOptions(options);
    const m = new Memif(resolved, native());
    if (resolved.role === 'master') {
      m.#listener = MasterListener.register(m);
    } else {
      m.#attempt(true);
    }
    return m;
  }

  /** True while the link is up. */
  get connected(): boolean {
    return this.#info !== undefined;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of rx queues of the current connection (else as configured). */
  get rxQueueCount(): number {
    return this.#info ? this.#rx.length : this.options.rxQueues;
  }

  /** Number of tx queues of the current connection (else as configured). */
  get txQueueCount(): number {
    return this.#info ? this.#tx.length : this.options.txQueues;
  }

  /**
   * Copies packets[0 .. count) into shared buffers of queue `queueId` and returns how many were
   * queued. Never blocks: a full ring takes fewer. A packet larger than one buffer is chained.
   */
  txBurst(queueId: number, packets: readonly Uint8Array[], count?: number): number {
    const q = this.#queue(this.#tx, queueId, 'tx');
    const n = q.burst(packets, count);
    if (q.fault !== undefined) this.#onQueueFault(q.fault);
    return n;
  }

  /** Up to `max` received packets of queue `queueId`, as Buffers the caller owns. */
  rxBurst(queueId: number, max = DEFAULT_BURST): Buffer[] {
    const q = this.#queue(this.#rx, queueId, 'rx');
    checkBurstSize(max);
    const out = q.burst(max);
    if (q.fault !== undefined) this.#onQueueFault(q.fault);
    return out;
  }

  /**
   * Zero-copy receive: up to `max` packets left in the shared buffers, as an RxBurst (the same
   * object for every burst of this queue). Read them in place — `length(i)`, `region(i, seg)`,
   * `offset(i, seg)`, `segmentLength(i, seg)` over `bytes(region)`, or `view(i)` / `copy(i, …)` —
   * then call `release()` to give the buffers back, before the next burst of this queue.
   * No allocation per packet; one index store per burst.
   */
  rxBurstZeroCopy(queueId: number, max = DEFAULT_BURST): RxBurst {
    const q = this.#queue(this.#rx, queueId, 'rx');
    checkBurstSize(max);
    const burst = q.burstZeroCopy(max);
    if (q.fault !== undefined) this.#onQueueFault(q.fault);
    return burst;
  }

  /**
   * Zero-copy transmit: up to `count` free buffers of tx queue `queueId` to write packets into in
   * place, as a TxBurst (the same object for every burst of this queue): write into
   * `bytes(region(i))` at `offset(i)` (up to `capacity(i)` bytes), `setLength(i, n, more?)`, then
   * `commit(n)` publishes buffers [0, n) with one index store and at most one interrupt.
   */
  txAlloc(queueId: number, count = DEFAULT_BURST): TxBurst {
    const q = this.#queue(this.#tx, queueId, 'tx');
    checkBurstSize(count, 'count');
    const burst = q.alloc(count);
    if (q.fault !== undefined) this.#onQueueFault(q.fault);
    return burst;
  }

  /**
   * Hands queue `queueId` (rx or tx) to another thread: returns a QueueHandle to post to a
   * `worker_threads` Worker, where `WorkerQueue.attach(handle)` maps the same shared memory and
   * drives the queue. This thread no longer uses that queue (its bursts throw) until the next
   * connection. When the link goes down, the worker's bursts throw MEMIF_ERR_NOCONN: close it
   * there, and hand off again after the next `connect`.
   */
  handOff(kind: 'rx' | 'tx', queueId: number): QueueHandle {
    if (kind !== 'rx' && kind !== 'tx')
      throw new InvalidArgumentError(`kind must be 'rx' or 'tx'; got ${describe(kind)}`);
    const q = this.#queue<RxQueue | TxQueue>(kind === 'rx' ? this.#rx : this.#tx, queueId, kind);
    // The worker resumes where this thread's indices are: buffers of a burst still out would be
    // read (or written) by both threads, and given back to the peer under this thread's views.
    if (q.burstLive) {
      throw new StateError(
        'MEMIF_ERR_ALREADY',
        `${kind} queue ${queueId}: ${kind === 'rx' ? 'release' : 'commit or abort'} its zero-copy burst before handOff()`,
      );
    }
    const info = this.#info as SessionInfo;
    const master = this.options.role === 'master';
    const rings = kind === 'rx' ? (master ? info.s2m : info.m2s) : master ? info.m2s : info.s2m;
    const r = rings[queueId];
    const handle = makeHandle(
      kind,
      q,
      {
        role: this.options.role,
        cacheLineSize: this.options.cacheLineSize,
        buffersOffset: info.buffersOffset(r.type, r.index),
        eventfd: r.eventfd,
        regions: info.regions,
      },
      this.#link,
      this.#binding,
    );
    q.close();
    this.#handedOff.add(`${kind}${queueId}`);
    this.#handoffTokens.push(handle.token);
    return handle;
  }

  /**
   * Switches queue `queueId` between 'interrupt' (the peer signals, an `interrupt` event follows)
   * and 'polling' (the peer is asked not to signal; call rxBurst when you like). Takes effect now
   * and for later connections.
   */
  setRxMode(queueId: number, mode: RxMode): void {
    checkRxMode(mode);
    if (!(Number.isInteger(queueId) && queueId >= 0 && queueId < this.options.rxQueues)) {
      throw new InvalidArgumentError(
        `rx queue id must be from 0 to ${this.options.rxQueues - 1}; got ${describe(queueId)}`,
        'MEMIF_ERR_QID',
      );
    }
    this.#rxModes[queueId] = mode;
    this.#rx[queueId]?.setMode(mode);
    this.#wake();
  }

  /**
   * Bursts of packets arriving on `queueId`, as they come: waits for interrupts (or, in polling
   * mode, yields to the event loop between empty polls), across reconnections, until close().
   */
  receive(queueId = 0, options: { maxBurst?: number } = {}): AsyncGenerator<Buffer[], void, undefined> {
    const o: { maxBurst?: unknown } =
      options === undefined ? {} : readFields(options, 'options', ['maxBurst'] as const);
    const max = o.maxBurst === undefined ? DEFAULT_BURST : o.maxBurst;
    if (!(Number.isInteger(max) && (max as number) >= 1)) {
      throw new InvalidArgumentError(`maxBurst must be a positive integer; got ${describe(max)}`);
    }
    if (!(Number.isInteger(queueId) && queueId >= 0 && queueId < this.options.rxQueues)) {
      throw new InvalidArgumentError(
        `rx queue id must be from 0 to ${this.options.rxQueues - 1}; got ${describe(queueId)}`,
        'MEMIF_ERR_QID',
      );
    }
    return this.#receive(queueId, max as number);
  }

  async *#receive(queueId: number, max: number): AsyncGenerator<Buffer[], void, undefined> {
    while (!this.#closed) {
      if (this.#info !== undefined && queueId < this.#rx.length) {
        const burst = this.rxBurst(queueId, max);
        if (burst.length > 0) {
          yield burst;
          continue;
        }
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        if (this.#info !== undefined && this.#rxModes[queueId] === 'polling') {
          setImmediate(resolve);
          return;
        }
        this.#waiters.add(resolve);
      });
    }
  }

  /**
   * Resolves when the link is up (at once if it is). Rejects with a `StateError`
   * (`MEMIF_ERR_NOCONN`) if the interface is closed first or `timeoutMs` passes, and with
   * `signal.reason` if `signal` aborts. Without either, it waits as long as it takes: a DPDK
   * client, for one, connects once and never retries, so a caller that must not hang bounds it.
   */
  waitForConnect(options: WaitForConnectOptions = {}): Promise<void> {
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
    if (this.#info !== undefined) return Promise.resolve();
    if (this.#closed) return Promise.reject(new StateError('MEMIF_ERR_NOCONN', 'interface is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (err?: unknown) => {
        this.#onConnectWaiters.delete(onConnect);
        this.#onCloseWaiters.delete(onClosed);
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onConnect = () => settle();
      const onClosed = () => settle(new StateError('MEMIF_ERR_NOCONN', 'interface is closed'));
      const onAbort = () => settle(signal?.reason);
      // Not event listeners: a user's listener that throws must not keep these from running.
      this.#onConnectWaiters.add(onConnect);
      this.#onCloseWaiters.add(onClosed);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(
          () => settle(new StateError('MEMIF_ERR_NOCONN', `not connected within ${timeoutMs} ms`)),
          timeoutMs as number,
        );
      }
    });
  }

  /** Details and counters of the interface and each queue. */
  details(): MemifDetails {
    const o = this.options;
    const info = this.#info;
    const queue = (q: RxQueue | TxQueue, ringType: 'S2M' | 'M2S', rx: boolean): QueueDetails => ({
      queueId: q.id,
      ringType,
      ringSize: q.ring.size,
      bufferSize: q.bufferSize,
      head: q.ring.loadHead(),
      tail: q.ring.loadTail(),
      packets: q.packets,
      bytes: q.bytes,
      errors: q.errors,
      ...(rx
        ? { emptyFragments: (q as RxQueue).emptyFragments, rxMode: (q as RxQueue).mode }
        : { ringFull: (q as TxQueue).ringFull, oversized: (q as TxQueue).oversized }),
    });
    const master = o.role === 'master';
    return {
      role: o.role,
      id: o.id,
      socketPath: o.socketPath,
      mode: o.mode,
      interfaceName: o.interfaceName,
      instanceName: o.instanceName,
      remoteName: info?.remoteName ?? '',
      remoteInterfaceName: info?.remoteInterfaceName ?? '',
      linkUp: info !== undefined,
      lastDisconnectReason: this.#lastReason,
      peerCredentials: info ? this.#peerCredentials : undefined,
      regions: (info?.regions ?? []).map((r) => ({ index: r.index, size: r.size })),
      rxQueues: this.#rx.map((q) => queue(q, master ? 'S2M' : 'M2S', true)),
      txQueues: this.#tx.map((q) => queue(q, master ? 'M2S' : 'S2M', false)),
    };
  }

  /**
   * Disconnects (telling the peer why), stops retrying or listening, and releases every fd and
   * mapping. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#conn?.disconnect('interface deleted');
    this.#conn = undefined;
    this.#discardHandoffs();
    // Outstanding zero-copy bursts lose their memory now (documented): close() releases everything.
    for (const m of this.#memories) m.revoke();
    this.#memories = [];
    this.#listener?.unregister(this);
    this.#listener = undefined;
    this.#wake();
    for (const w of [...this.#onCloseWaiters]) w();
    this.#notify('close');
  }

  // ---- MasterEndpoint (called by the listener and connections) ----

  /** @internal */
  get busy(): boolean {
    return this.#conn !== undefined;
  }

  /** @internal */
  attach(conn: MasterConnection): void {
    this.#conn = conn;
  }

  /** @internal */
  onConnected(conn: Connection, info: SessionInfo): void {
    if (conn !== this.#conn) return;
    const o = this.options;
    const master = o.role === 'master';
    const rxRings = master ? info.s2m : info.m2s;
    const txRings = master ? info.m2s : info.s2m;
    this.#info = info;
    this.#lastFailure = '';
    this.#link = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(this.#link), 0, 1);
    this.#handedOff.clear();
    this.#peerCredentials = conn.peerCredentials();
    this.#memories = this.#memories.filter((m) => m.mapped);
    this.#memories.push(info.memory);
    // A queue that stops trusting the peer (bad ring state, misbehaving eventfd) ends this
    // connection, after the burst or callback that found it.
    const onFault = (reason: string) =>
      queueMicrotask(() => {
        if (this.#conn === conn) this.#onQueueFault(reason);
      });
    const init = (r: SessionRing): QueueInit => ({
      id: r.index,
      role: o.role,
      ring: r.ring,
      memory: info.memory,
      onFault,
      regions: info.regions,
      bufferSize: info.bufferSize,
      buffersOffset: info.buffersOffset(r.type, r.index),
      eventfd: r.eventfd,
      binding: this.#binding,
    });
    this.#tx = txRings.map((r) => new TxQueue(init(r)));
    this.#rx = rxRings.map((r) => new RxQueue({ ...init(r), onInterrupt: (q) => this.#onInterrupt(q) }));
    for (const q of this.#rx) {
      q.refill();
      q.setMode(this.#rxModes[q.id] ?? o.rxMode);
    }
    o.logger.info('memif: connected', {
      id: o.id,
      role: o.role,
      peer: info.remoteName,
      peerInterface: info.remoteInterfaceName,
    });
    this.#wake();
    for (const w of [...this.#onConnectWaiters]) w();
    this.#notify('connect');
  }

  /** @internal */
  onDisconnected(conn: Connection, error: MemifError, wasConnected: boolean): void {
    if (conn !== this.#conn) {
      // A refused slave that never became ours (wrong secret, mode): report, keep the current link.
      this.#report(error);
      return;
    }
    this.#conn = undefined;
    // Workers driving queues of this connection see it go down at their next burst.
    Atomics.store(new Int32Array(this.#link), 0, 0);
    this.#discardHandoffs();
    for (const q of this.#rx) q.close();
    for (const q of this.#tx) q.close();
    this.#rx = [];
    this.#tx = [];
    this.#info = undefined;
    const reason = conn.reason ?? error.message;
    this.#lastReason = reason;
    // Every state change first (the retry included), the user's listeners last (see #notify).
    if (this.options.role === 'slave') this.#scheduleRetry();
    this.#wake();
    if (wasConnected) {
      this.options.logger.info('memif: disconnected', { id: this.options.id, reason });
      this.#notify('disconnect', { reason, error });
    } else if (!this.#closed) {
      this.#report(error);
    }
  }

  // ---- internals ----

  #queue<Q extends RxQueue | TxQueue>(queues: Q[], queueId: number, kind: string): Q {
    if (!(Number.isInteger(queueId) && queueId >= 0)) {
      throw new InvalidArgumentError(`${kind} queue id must be an integer; got ${describe(queueId)}`, 'MEMIF_ERR_QID');
    }
    if (this.#info === undefined) {
      throw new StateError('MEMIF_ERR_NOCONN', this.#closed ? 'interface is closed' : 'interface is not connected');
    }
    const q = queues[queueId];
    if (q === undefined) {
      throw new InvalidArgumentError(
        `${kind} queue id must be from 0 to ${queues.length - 1}; got ${describe(queueId)}`,
        'MEMIF_ERR_QID',
      );
    }
    if (this.#handedOff.size > 0 && this.#handedOff.has(`${kind}${queueId}`)) {
      throw new StateError('MEMIF_ERR_ALREADY', `${kind} queue ${queueId} is driven by a worker thread (handOff)`);
    }
    return q;
  }

  /** Closes the fds of hand-offs that no worker claimed (a claimed one is the worker's). */
  #discardHandoffs(): void {
    for (const t of this.#handoffTokens) this.#binding.handoffDiscard(t);
    this.#handoffTokens.length = 0;
  }

  #onQueueFault(reason: string): void {
    const conn = this.#conn;
    if (conn === undefined) return;
    conn.disconnect(reason.slice(0, 95), new MemifError('MEMIF_ERR_MFMSG', reason));
  }

  #onInterrupt(queueId: number): void {
    this.#wake();
    this.#notify('interrupt', queueId);
  }

  /**
   * Emits an event to the user's listeners, always as the last step of what memif-ts does (its
   * own state is complete and consistent by then). A listener that throws cannot skip anything
   * of ours: its exception is rethrown on process.nextTick, so it reaches 'uncaughtException'
   * as an exception in any other callback would — never the connection, the retry or close().
   */
  #notify<K extends keyof MemifEvents>(event: K, ...args: MemifEvents[K]): void {
    try {
      (this as EventEmitter).emit(event, ...args);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  #wake(): void {
    if (this.#waiters.size === 0) return;
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  /**
   * Reports a failure: once per distinct message in a row (a retrying slave repeats itself), as an
   * `error` event when someone listens, else as a log line, at most one per error name per 10 s.
   */
  #report(error: MemifError): void {
    if (error.message === this.#lastFailure) {
      this.options.logger.debug('memif: again', { id: this.options.id, error: error.message });
      return;
    }
    this.#lastFailure = error.message;
    if (this.listenerCount('error') > 0) {
      this.#notify('error', error);
      return;
    }
    const held = this.#logLimit.admit(error.errorName);
    if (held === undefined) return;
    this.options.logger.warn('memif: connection failed', {
      id: this.options.id,
      error: error.message,
      code: error.errorName,
      ...(held > 0 ? { alikeNotLogged: held } : {}),
    });
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#attempt(false);
    }, this.options.reconnectIntervalMs);
  }

  /** One slave connection attempt. `first`: errors other than "no master yet" are thrown. */
  #attempt(first: boolean): void {
    if (this.#closed || this.#conn !== undefined) return;
    const addr = parseSocketPath(this.options.socketPath);
    let fd: number;
    try {
      fd = this.#binding.connect(addr.name, addr.abstract);
    } catch (err) {
      const e = SystemError.from(err) as MemifError;
      const code = (err as { code?: string }).code;
      const transient = code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EAGAIN' || code === 'ECONNRESET';
      if (first && !transient) throw e;
      if (!transient) this.#report(e);
      this.#scheduleRetry();
      return;
    }
    this.#conn = new SlaveConnection(fd, this.options, this, this.options.logger, this.#binding);
  }
}
