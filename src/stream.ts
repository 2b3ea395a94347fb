// createStream: a Memif as a Node.js Duplex of packets (object mode), over one queue or all, with
// backpressure honoured both ways. Built only on Memif's public API (txBurst, rxBurst and its
// events): the interface and its queues know nothing of streams.
import { Duplex, type DuplexOptions } from 'node:stream';
import { describe, InvalidArgumentError, type MemifError, readFields, StateError } from './errors.js';
import type { DisconnectInfo } from './events.js';
import { isMemif, type Memif } from './interface.js';

function adjustMaxListeners(memif: Memif, by: 1 | -1): void {
  const n = memif.getMaxListeners();
  if (n !== 0 && n !== Number.POSITIVE_INFINITY) memif.setMaxListeners(Math.max(1, n + by));
}

/** Options of `createStream()`. */
export interface MemifStreamOptions {
  /**
   * The queue the stream reads from (rx) and writes to (tx). Default: it reads every rx queue,
   * round robin, and writes tx queue 0 (one queue keeps the packets written in order).
   */
  queueId?: number;
  /**
   * Packets buffered on the readable side; once that many wait for the consumer, the stream stops
   * taking packets out of the rx ring, so the ring fills and the peer's sends are refused (its
   * backpressure). Default 64.
   */
  readableHighWaterMark?: number;
  /** Packets buffered on the writable side before `write()` returns `false`. Default 64. */
  writableHighWaterMark?: number;
  /**
   * A write that finds the tx ring full is retried after this many ms (1 … 1000), or at the next
   * `interrupt` of the interface, whichever comes first. Default 1.
   */
  retryMs?: number;
  /**
   * `false`: a write-only stream (its readable side is ended from the start, so the stream is
   * done, and leaves the interface, once its writable side finishes). Default `true`.
   */
  readable?: boolean;
  /** `false`: a read-only stream (its writable side is ended from the start). Default `true`. */
  writable?: boolean;
}

/** The most packets taken from a ring at once. */
const MAX_BURST = 256;

interface PendingWrite {
  packets: Uint8Array[];
  from: number;
  callback: (error?: Error | null) => void;
}

function checkCount(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}; got ${describe(value)}`);
  }
  return value as number;
}

function checkFlag(name: string, value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean; got ${describe(value)}`);
  return value;
}

/**
 * A Duplex stream of packets over a Memif: write `Buffer`s or `Uint8Array`s (one packet each),
 * read `Buffer`s (one packet each). Made by `createStream()`.
 *
 * - Backpressure: a write that finds the tx ring full waits (its callback is not called, so
 *   `write()` soon returns `false`) until the peer has made room; reading stops taking packets
 *   out of the rx ring while `readableHighWaterMark` packets wait for the consumer.
 * - Packets written before the link is up wait for it; so does reading.
 * - The link going down destroys the stream with a `StateError` (`MEMIF_ERR_NOCONN`, the
 *   disconnect's error as `cause`): packets in the rings are lost then, so a pipeline must not look
 *   complete. A slave reconnects by itself: make a new stream after the next `connect`.
 * - `close()` of the interface ends the readable side (`end`); a write still waiting fails, and so
 *   do writes after it, with `StateError` (`MEMIF_ERR_NOCONN`).
 * - A packet `txBurst` refuses (empty, not a Uint8Array, larger than the ring) fails its write
 *   with the `InvalidArgumentError`, which destroys the stream.
 * - Destroying the stream leaves the interface open.
 */
export class MemifStream extends Duplex {
  /** The interface this stream moves packets over. */
  readonly memif: Memif;
  readonly #rxQueues: number[] | undefined;
  readonly #txQueue: number;
  readonly #retryMs: number;
  #nextRx = 0;
  #reading = false;
  #pulling = false;
  #pollScheduled = false;
  #pending: PendingWrite | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #onConnect = () => this.#resume();
  readonly #onInterrupt = (queueId: number) => {
    if (this.#pending !== undefined) this.#retryWrite();
    if (this.#rxQueues === undefined || this.#rxQueues.includes(queueId)) this.#pull();
  };
  readonly #onDisconnect = (info: DisconnectInfo) => {
    if (this.memif.closed) return; // close() of the interface: #onClose ends the stream
    this.destroy(new StateError('MEMIF_ERR_NOCONN', `link went down: ${info.reason}`, { cause: info.error }));
  };
  readonly #onClose = () => {
    this.#failPending(new StateError('MEMIF_ERR_NOCONN', 'interface is closed'));
    this.push(null);
  };

  /** Use `createStream(memif, options)`. */
  constructor(memif: Memif, options: MemifStreamOptions = {}) {
    if (!isMemif(memif)) {
      throw new InvalidArgumentError(`createStream takes a Memif (from Memif.create); got ${describe(memif)}`);
    }
    const o: Record<keyof MemifStreamOptions, unknown> =
      options === undefined
        ? {
            queueId: undefined,
            readableHighWaterMark: undefined,
            writableHighWaterMark: undefined,
            retryMs: undefined,
            readable: undefined,
            writable: undefined,
          }
        : readFields(options, 'options', [
            'queueId',
            'readableHighWaterMark',
            'writableHighWaterMark',
            'retryMs',
            'readable',
            'writable',
          ] as const);
    const maxQueue = Math.min(memif.options.rxQueues, memif.options.txQueues) - 1;
    const queueId = o.queueId === undefined ? undefined : checkCount('queueId', o.queueId, 0, maxQueue, 0);
    const readableHighWaterMark = checkCount('readableHighWaterMark', o.readableHighWaterMark, 1, 65536, 64);
    const writableHighWaterMark = checkCount('writableHighWaterMark', o.writableHighWaterMark, 1, 65536, 64);
    const retryMs = checkCount('retryMs', o.retryMs, 1, 1000, 1);
    const readable = checkFlag('readable', o.readable);
    const writable = checkFlag('writable', o.writable);
    if (memif.closed) throw new StateError('MEMIF_ERR_NOCONN', 'interface is closed');
    // `readable`/`writable` are Duplex options since Node 14, missing from @types/node 20's type.
    super({ objectMode: true, readableHighWaterMark, writableHighWaterMark, readable, writable } as DuplexOptions);
    this.memif = memif;
    this.#rxQueues = queueId === undefined ? undefined : [queueId];
    this.#txQueue = queueId ?? 0;
    this.#retryMs = retryMs;
    // One listener per event per stream, up to one stream per queue (255): the streams' listeners
    // are not a leak, so they raise the limit Node warns at by one each (0 stays unlimited).
    adjustMaxListeners(memif, 1);
    memif.on('connect', this.#onConnect);
    memif.on('interrupt', this.#onInterrupt);
    memif.on('disconnect', this.#onDisconnect);
    memif.on('close', this.#onClose);
  }

  /** @internal */
  override _read(): void {
    this.#reading = true;
    this.#pull();
  }

  /** @internal */
  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send({ packets: [chunk], from: 0, callback });
  }

  /** @internal */
  override _writev(
    chunks: { chunk: Uint8Array; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.#send({ packets: chunks.map((c) => c.chunk), from: 0, callback });
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    callback(); // every packet written is in the tx ring by now
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.memif.off('connect', this.#onConnect);
    this.memif.off('interrupt', this.#onInterrupt);
    this.memif.off('disconnect', this.#onDisconnect);
    this.memif.off('close', this.#onClose);
    adjustMaxListeners(this.memif, -1);
    this.#reading = false;
    this.#failPending(error ?? new StateError('MEMIF_ERR_NOCONN', 'stream destroyed'));
    callback(error);
  }

  #resume(): void {
    if (this.#pending !== undefined) this.#retryWrite();
    this.#pull();
  }

  /** Moves packets from the rx ring(s) to the readable side while the consumer keeps up. */
  #pull(): void {
    if (!this.#reading || this.#pulling || this.destroyed || !this.memif.connected) return;
    this.#pulling = true;
    try {
      const queues = this.#rxQueues ?? this.#allRxQueues();
      while (this.#reading) {
        let got = 0;
        for (let k = 0; k < queues.length && this.#reading; k++) {
          const q = queues[(this.#nextRx + k) % queues.length];
          // Take no more than the readable side has room for: what stays in the ring is the peer's
          // backpressure.
          const room = this.readableHighWaterMark - this.readableLength;
          const burst = this.memif.rxBurst(q, Math.min(MAX_BURST, Math.max(1, room)));
          got += burst.length;
          for (const p of burst) if (!this.push(p)) this.#reading = false;
        }
        this.#nextRx = (this.#nextRx + 1) % queues.length;
        if (got === 0) break;
      }
      // Empty and still wanted: an interrupt calls #pull again; a polling queue is polled.
      if (this.#reading && !this.#pollScheduled && queues.some((q) => this.#polling(q))) {
        this.#pollScheduled = true;
        setImmediate(() => {
          this.#pollScheduled = false;
          this.#pull();
        });
      }
    } catch (err) {
      this.destroy(err as MemifError);
    } finally {
      this.#pulling = false;
    }
  }

  #allRxQueues(): number[] {
    return Array.from({ length: this.memif.rxQueueCount }, (_, i) => i);
  }

  #polling(queueId: number): boolean {
    return this.memif.details().rxQueues[queueId]?.rxMode === 'polling';
  }

  /** Puts packets into the tx ring; what does not fit waits for room. */
  #send(w: PendingWrite): void {
    if (this.memif.closed) {
      w.callback(new StateError('MEMIF_ERR_NOCONN', 'interface is closed'));
      return;
    }
    if (!this.memif.connected) {
      this.#pending = w; // the next connect retries it
      return;
    }
    try {
      const rest = w.from === 0 ? w.packets : w.packets.slice(w.from);
      w.from += this.memif.txBurst(this.#txQueue, rest);
    } catch (err) {
      this.#pending = undefined;
      w.callback(err as Error);
      return;
    }
    if (w.from === w.packets.length) {
      this.#pending = undefined;
      w.callback();
      return;
    }
    // The ring is full: wait for the peer to take packets (no event tells us; a timer or an
    // interrupt, whichever comes first, retries).
    this.#pending = w;
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.#retryWrite();
    }, this.#retryMs);
  }

  #retryWrite(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const w = this.#pending;
    if (w === undefined || this.destroyed) return;
    this.#send(w);
  }

  #failPending(error: Error): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const w = this.#pending;
    this.#pending = undefined;
    w?.callback(error);
  }
}

/**
 * A Duplex stream of packets over `memif` (object mode: each chunk is one packet), composable with
 * `stream.pipeline`; see `MemifStream` for backpressure, disconnect and close. It takes packets
 * from the same rx rings as `rxBurst`, `receive()` and `interrupt` listeners that call `rxBurst`:
 * use one of them per queue. Throws `StateError` if `memif` is closed, `InvalidArgumentError` for
 * bad options.
 */
export function createStream(memif: Memif, options: MemifStreamOptions = {}): MemifStream {
  return new MemifStream(memif, options);
}
