// Memif: one memif interface, master or slave — lifecycle (create, connect, disconnect, reconnect,
// close), events, details(), and the checks of the caller's arguments. The sockets and handshakes
// are control/'s (listener.ts for a master, dialer.ts and slave.ts for a slave), the queues of a
// connection link.ts's, the packet loops queue/'s; this file joins them.
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Connection } from './control/connection.js';
import { type ConnectFailedInfo, Dialer } from './control/dialer.js';
import { MasterListener } from './control/listener.js';
import { MASTER_FIELDS, type MasterEndpoint } from './control/master.js';
import type { SessionInfo } from './control/session.js';
import { SLAVE_FIELDS, SlaveConnection } from './control/slave.js';
import { interfaceDetails, type MemifDetails } from './details.js';
import { describe, InvalidArgumentError, MemifError, StateError } from './errors.js';
import { type MemifChannelMessage, type MemifEvents, publish } from './events.js';
import { Link } from './link.js';
import { native } from './native.js';
import {
  type MemifOptions,
  type MemifSettings,
  pick,
  type ResolvedOptions,
  resolveOptions,
  settingsOf,
} from './options.js';
import { checkBurstSize, checkRxMode, type RxMode } from './queue/args.js';
import type { RxQueue } from './queue/rx.js';
import type { RxBurst } from './queue/rx-burst.js';
import type { TxQueue } from './queue/tx.js';
import type { TxBurst } from './queue/tx-burst.js';
import type { QueueHandle } from './queue/worker-queue.js';
import { Reports } from './reports.js';
import type { SharedMemory } from './shm/memory.js';
import { type ReceiveOptions, readReceiveOptions, Waiters, type WaitForConnectOptions } from './waiters.js';

const DEFAULT_BURST = 256;

/** Set by Memif's static block: a brand check that runs no code of the value's (Proxies included). */
let memifBrand: (v: object) => boolean;

/** @internal True when `v` is a Memif made by Memif.create (never throws, never runs user code). */
export function isMemif(v: unknown): v is Memif {
  return typeof v === 'object' && v !== null && memifBrand(v);
}

/**
 * A memif interface. Create it with `await Memif.create(options)`, wait for `connect`, then move
 * packets with `txBurst` / `rxBurst` (or `for await (const burst of memif.receive(q))`). A slave
 * reconnects by itself; `close()` releases everything.
 */
export class Memif extends EventEmitter<MemifEvents> {
  /** The options this interface runs with, defaults applied (frozen; no secret, authorize or logger). */
  readonly options: MemifSettings;
  readonly #o: ResolvedOptions;
  static {
    memifBrand = (v) => #o in v;
  }
  readonly #binding = native();
  /** How the listener and the connections reach this interface: kept off its public type. */
  readonly #endpoint: MasterEndpoint;
  #listener: MasterListener | undefined;
  #dialer: Dialer | undefined;
  #conn: Connection | undefined;
  #link: Link | undefined;
  readonly #rxModes: RxMode[];
  #closed = false;
  #peerCredentials: MemifDetails['peerCredentials'];
  readonly #reports: Reports;
  readonly #waiters = new Waiters();
  /** Memory of this and earlier connections that a zero-copy burst may still hold; close() unmaps it. */
  #memories: SharedMemory[] = [];

  private constructor(options: ResolvedOptions) {
    super();
    this.#o = options;
    this.options = settingsOf(options);
    this.#rxModes = new Array<RxMode>(options.rxQueues).fill(options.rxMode);
    this.#reports = new Reports(options.logger, options.id, {
      hasErrorListener: () => this.listenerCount('error') > 0,
      error: (e) => this.#notify('error', e),
      // On the next turn: the first attempt runs inside create(), before anyone could listen.
      connectFailed: (info) =>
        setImmediate(() => {
          if (!this.#closed) this.#notify('connectFailed', info);
        }),
    });
    this.#endpoint = {
      config: pick(options, MASTER_FIELDS),
      busy: () => this.#conn !== undefined,
      attach: (conn) => {
        this.#conn = conn;
      },
      onConnected: (conn, info) => this.#onConnected(conn, info),
      onDisconnected: (conn, error, wasConnected) => this.#onDisconnected(conn, error, wasConnected),
    };
  }

  /**
   * Creates an interface. Resolves once a master listens, or once a slave has made its first
   * connection attempt (it keeps retrying every `reconnectIntervalMs`). Rejects with a MemifError
   * on bad options or when the socket cannot be used at all.
   */
  static async create(options: MemifOptions): Promise<Memif> {
    const o = resolveOptions(options);
    const m = new Memif(o);
    if (o.role === 'master') {
      m.#listener = MasterListener.register(m.#endpoint);
      return m;
    }
    const slave = pick(o, SLAVE_FIELDS);
    m.#dialer = new Dialer(
      pick(o, ['socketPath', 'reconnectIntervalMs', 'netns']),
      {
        idle: () => !m.#closed && m.#conn === undefined,
        connected: (fd) => {
          m.#conn = new SlaveConnection(fd, slave, m.#endpoint, m.#binding);
        },
        failed: (failure, transient) => m.#connectFailed(failure, transient),
      },
      m.#binding,
    );
    m.#dialer.dial(true);
    return m;
  }

  /** True while the link is up. */
  get connected(): boolean {
    return this.#link !== undefined;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of rx queues of the current connection (else as configured). */
  get rxQueueCount(): number {
    return this.#link ? this.#link.rx.length : this.#o.rxQueues;
  }

  /** Number of tx queues of the current connection (else as configured). */
  get txQueueCount(): number {
    return this.#link ? this.#link.tx.length : this.#o.txQueues;
  }

  /**
   * Copies packets[0 .. count) into shared buffers of queue `queueId` and returns how many were
   * queued. Never blocks: a full ring takes fewer. A packet larger than one buffer is chained.
   */
  txBurst(queueId: number, packets: readonly Uint8Array[], count?: number): number {
    const q = this.#queue('tx', queueId) as TxQueue;
    const n = q.burst(packets, count);
    if (q.fault !== undefined) this.#onQueueFault(q.fault);
    return n;
  }

  /** Up to `max` received packets of queue `queueId`, as Buffers the caller owns. */
  rxBurst(queueId: number, max = DEFAULT_BURST): Buffer[] {
    const q = this.#queue('rx', queueId) as RxQueue;
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
    const q = this.#queue('rx', queueId) as RxQueue;
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
    const q = this.#queue('tx', queueId) as TxQueue;
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
    this.#queue(kind, queueId);
    return (this.#link as Link).handOff(kind, queueId);
  }

  /**
   * Switches queue `queueId` between 'interrupt' (the peer signals, an `interrupt` event follows)
   * and 'polling' (the peer is asked not to signal; call rxBurst when you like). Takes effect now
   * and for later connections.
   */
  setRxMode(queueId: number, mode: RxMode): void {
    checkRxMode(mode);
    this.#checkConfiguredRx(queueId);
    this.#rxModes[queueId] = mode;
    this.#link?.rx[queueId]?.setMode(mode);
    this.#waiters.wake();
  }

  /**
   * Bursts of packets arriving on `queueId`, as they come: waits for interrupts (or, in polling
   * mode, yields to the event loop between empty polls), across reconnections, until close() or
   * until `options.signal` aborts: then the iteration ends (no error; a burst already taken is
   * still yielded first). It takes packets from the same ring as `rxBurst`, the `interrupt`
   * listeners' bursts and a `createStream` stream: use one of them per queue.
   */
  receive(queueId = 0, options: ReceiveOptions = {}): AsyncGenerator<Buffer[], void, undefined> {
    const { maxBurst, signal } = readReceiveOptions(options, DEFAULT_BURST);
    this.#checkConfiguredRx(queueId);
    return this.#receive(queueId, maxBurst, signal);
  }

  async *#receive(queueId: number, max: number, signal?: AbortSignal): AsyncGenerator<Buffer[], void, undefined> {
    while (!this.#closed && !signal?.aborted) {
      if (this.#link !== undefined && queueId < this.#link.rx.length) {
        const burst = this.rxBurst(queueId, max);
        if (burst.length > 0) {
          yield burst;
          continue;
        }
      }
      if (this.#closed || signal?.aborted) return;
      if (this.#link !== undefined && this.#rxModes[queueId] === 'polling') await nextTurn();
      else await this.#waiters.next(signal);
    }
  }

  /**
   * Resolves when the link is up (at once if it is). Rejects with a `StateError`
   * (`MEMIF_ERR_NOCONN`) if the interface is closed first or `timeoutMs` passes, and with
   * `signal.reason` if `signal` aborts. Without either, it waits as long as it takes: a DPDK
   * client, for one, connects once and never retries, so a caller that must not hang bounds it.
   * The timeout's error carries the last failed attempt as `cause` (a slave's `lastConnectError`).
   */
  waitForConnect(options: WaitForConnectOptions = {}): Promise<void> {
    return this.#waiters.forConnect(options, {
      up: this.#link !== undefined,
      closed: this.#closed,
      timedOut: (ms) => this.#reports.notConnectedWithin(ms),
    });
  }

  /** Details and counters of the interface and each queue. */
  details(): MemifDetails {
    return interfaceDetails(this.#o, this.#link, {
      handshaking: this.#conn !== undefined,
      reports: this.#reports,
      connectAttempts: this.#dialer?.attempts ?? 0,
      peerCredentials: this.#peerCredentials,
    });
  }

  /**
   * Disconnects (telling the peer why), stops retrying or listening, and releases every fd and
   * mapping. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dialer?.stop();
    this.#conn?.disconnect('interface deleted');
    this.#conn = undefined;
    // Outstanding zero-copy bursts lose their memory now (documented): close() releases everything.
    for (const m of this.#memories) m.revoke();
    this.#memories = [];
    this.#listener?.unregister(this.#endpoint);
    this.#listener = undefined;
    this.#waiters.wake();
    this.#waiters.closed();
    this.#notify('close');
  }

  /**
   * `close()`, for `await using memif = await Memif.create(…)` (explicit resource management):
   * the interface is closed when the block that declared it is left, however it is left.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- what the connections tell this interface (through #endpoint) ----

  #onConnected(conn: Connection, info: SessionInfo): void {
    if (conn !== this.#conn) return;
    const o = this.#o;
    this.#link = new Link(
      info,
      {
        role: o.role,
        cacheLineSize: o.cacheLineSize,
        rxModes: this.#rxModes,
        // A queue that stops trusting the peer (bad ring state, misbehaving eventfd) ends this
        // connection, after the burst or callback that found it.
        onFault: (reason) =>
          queueMicrotask(() => {
            if (this.#conn === conn) this.#onQueueFault(reason);
          }),
        onInterrupt: (q) => this.#onInterrupt(q),
      },
      this.#binding,
    );
    this.#reports.up();
    this.#peerCredentials = conn.peerCredentials();
    this.#memories = this.#memories.filter((m) => m.mapped);
    this.#memories.push(info.memory);
    o.logger.info('memif: connected', {
      id: o.id,
      role: o.role,
      peer: info.remoteName,
      peerInterface: info.remoteInterfaceName,
    });
    this.#waiters.wake();
    this.#waiters.connected();
    publish('linkUp', this.#message());
    this.#notify('connect');
  }

  #onDisconnected(conn: Connection, error: MemifError, wasConnected: boolean): void {
    const reason = conn.reason ?? error.message;
    if (conn !== this.#conn) {
      // A refused slave that never became ours (wrong secret, mode): report, keep the current link.
      publish('refused', this.#message(reason, error));
      this.#reports.failure(error);
      return;
    }
    this.#conn = undefined;
    // Workers driving queues of this connection see it go down at their next burst.
    this.#link?.end();
    this.#link = undefined;
    this.#reports.ended(reason, wasConnected);
    if (!wasConnected && this.#o.role === 'slave') this.#reports.lastConnectError = error;
    // Every state change first (the retry included), the user's listeners last (see #notify).
    this.#dialer?.scheduleRetry();
    this.#waiters.wake();
    if (wasConnected) {
      this.#o.logger.info('memif: disconnected', { id: this.#o.id, reason });
      publish('linkDown', this.#message(reason, error));
      this.#notify('disconnect', { reason, error });
    } else if (!this.#closed) {
      publish('refused', this.#message(reason, error));
      this.#reports.failure(error);
    }
  }

  /** A connect() failed: published (every one), then remembered and reported (rate-limited). */
  #connectFailed(failure: ConnectFailedInfo, transient: boolean): void {
    publish('connectFailed', this.#message(`${failure.cause} on ${failure.socketPath}`, failure.error));
    this.#reports.connectFailed(failure, transient);
  }

  // ---- internals ----

  /** Queue `queueId` of the current connection; throws for a bad id or while down. */
  #queue(kind: 'rx' | 'tx', queueId: number): RxQueue | TxQueue {
    if (!(Number.isInteger(queueId) && queueId >= 0)) {
      throw new InvalidArgumentError(`${kind} queue id must be an integer; got ${describe(queueId)}`, 'MEMIF_ERR_QID');
    }
    if (this.#link === undefined) {
      throw new StateError('MEMIF_ERR_NOCONN', this.#closed ? 'interface is closed' : 'interface is not connected');
    }
    return this.#link.queue(kind, queueId);
  }

  /** An rx queue id within the configured count (it may be used before the link is up). */
  #checkConfiguredRx(queueId: number): void {
    if (!(Number.isInteger(queueId) && queueId >= 0 && queueId < this.#o.rxQueues)) {
      throw new InvalidArgumentError(
        `rx queue id must be from 0 to ${this.#o.rxQueues - 1}; got ${describe(queueId)}`,
        'MEMIF_ERR_QID',
      );
    }
  }

  #onQueueFault(reason: string): void {
    const conn = this.#conn;
    if (conn === undefined) return;
    const error = new MemifError('MEMIF_ERR_MFMSG', reason);
    this.#reports.faults++;
    publish('fault', this.#message(reason, error));
    conn.disconnect(reason.slice(0, 95), error);
  }

  #onInterrupt(queueId: number): void {
    this.#waiters.wake();
    this.#notify('interrupt', queueId);
  }

  #message(reason?: string, error?: MemifError): MemifChannelMessage {
    return { memif: this, id: this.#o.id, role: this.#o.role, ...(reason !== undefined ? { reason, error } : {}) };
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
}
