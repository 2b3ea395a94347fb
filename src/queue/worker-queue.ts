// Queues on worker threads. The main thread hands a queue off as a QueueHandle — duplicated fds of
// its regions and eventfd, where its ring is, its private indices, and a shared flag for the link
// — which is posted to a worker. There WorkerQueue maps the same memory (shared, not copied) and
// drives the ring with the same burst code as the main thread. When the link goes down the main
// thread clears the flag; the worker's mapping stays valid until it closes, so nothing can fault.
import { InvalidArgumentError, StateError } from '../errors.js';
import { type NativeBinding, native, sys } from '../native.js';
import { Region } from '../shm/region.js';
import { Ring } from '../shm/ring.js';
import { type RxMode, RxQueue } from './rx.js';
import type { RxBurst } from './rx-burst.js';
import { TxQueue } from './tx.js';
import type { TxBurst } from './tx-burst.js';

/** A queue ready to be posted to a worker thread (structured-clone safe). Attach it exactly once. */
export interface QueueHandle {
  kind: 'rx' | 'tx';
  role: 'master' | 'slave';
  queueId: number;
  /** Duplicated region fds (owned by the handle until attach) and their sizes. */
  regions: { fd: number; size: number }[];
  ring: { region: number; offset: number; log2Size: number };
  cacheLineSize: number;
  bufferSize: number;
  buffersOffset: number;
  /** Duplicated eventfd of the ring. */
  eventfd: number;
  /** The queue's private indices where the main thread left them. */
  resume: { last: number; head: number };
  /** Int32Array[0]: 1 while the connection lives, 0 once it went down. */
  link: SharedArrayBuffer;
}

/** A queue driven on a worker thread, attached from a QueueHandle. */
export class WorkerQueue {
  readonly kind: 'rx' | 'tx';
  readonly queueId: number;
  readonly #regions: Region[];
  readonly #link: Int32Array;
  readonly #rx: RxQueue | undefined;
  readonly #tx: TxQueue | undefined;
  readonly #eventfd: number;
  readonly #binding: NativeBinding;
  #closed = false;

  private constructor(h: QueueHandle, binding: NativeBinding, onInterrupt: (queueId: number) => void) {
    this.kind = h.kind;
    this.queueId = h.queueId;
    this.#binding = binding;
    this.#link = new Int32Array(h.link);
    this.#eventfd = h.eventfd;
    this.#regions = [];
    try {
      for (const [i, r] of h.regions.entries()) this.#regions.push(Region.adopt(i, r.fd, r.size, binding));
    } catch (err) {
      for (const r of h.regions.slice(this.#regions.length + 1)) binding.close(r.fd);
      this.#release();
      throw err;
    }
    const ring = new Ring(this.#regions[h.ring.region], h.ring.offset, h.ring.log2Size, h.cacheLineSize);
    const init = {
      id: h.queueId,
      role: h.role,
      ring,
      regions: this.#regions,
      bufferSize: h.bufferSize,
      buffersOffset: h.buffersOffset,
      eventfd: h.eventfd,
      binding,
      resume: h.resume,
    };
    if (h.kind === 'rx') this.#rx = new RxQueue({ ...init, onInterrupt });
    else this.#tx = new TxQueue(init);
  }

  /**
   * Takes over a queue handed off by `Memif.handOff()` (in a worker thread, usually). The handle's
   * fds become this object's; close() releases them. `onInterrupt` runs when the peer signals
   * (rx queues in interrupt mode, see setRxMode).
   */
  static attach(handle: QueueHandle, options: { onInterrupt?: (queueId: number) => void } = {}): WorkerQueue {
    if (typeof handle !== 'object' || handle === null || !(handle.link instanceof SharedArrayBuffer)) {
      throw new InvalidArgumentError('attach takes the QueueHandle returned by Memif.handOff()');
    }
    return new WorkerQueue(handle, native(), options.onInterrupt ?? (() => {}));
  }

  /** True while the main thread's connection is up. */
  get connected(): boolean {
    return !this.#closed && Atomics.load(this.#link, 0) === 1;
  }

  /** Like Memif.rxBurst. */
  rxBurst(max = 256): Buffer[] {
    return this.#rxQueue().burst(max);
  }

  /** Like Memif.rxBurstZeroCopy. */
  rxBurstZeroCopy(max = 256): RxBurst {
    return this.#rxQueue().burstZeroCopy(max);
  }

  /** Like Memif.txBurst. */
  txBurst(packets: readonly Uint8Array[], count = packets.length): number {
    return this.#txQueue().burst(packets, count);
  }

  /** Like Memif.txAlloc. */
  txAlloc(count = 256): TxBurst {
    return this.#txQueue().alloc(count);
  }

  /** Interrupt mode watches the eventfd on this thread's loop and calls onInterrupt. */
  setRxMode(mode: RxMode): void {
    this.#rxQueue().setMode(mode);
  }

  /** Counters and ring state, like one entry of Memif.details(). */
  get stats(): { packets: number; bytes: number; errors: number; fault: string | undefined } {
    const q = (this.#rx ?? this.#tx) as RxQueue | TxQueue;
    return { packets: q.packets, bytes: q.bytes, errors: q.errors, fault: q.fault };
  }

  /** Unmaps this thread's view and closes its fds. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rx?.close();
    this.#tx?.close();
    this.#release();
  }

  #release(): void {
    for (const r of this.#regions) r.close();
    this.#regions.length = 0;
    if (this.#eventfd >= 0) this.#binding.close(this.#eventfd);
  }

  #live(): void {
    if (this.#closed) throw new StateError('MEMIF_ERR_NOCONN', 'this worker queue is closed');
    if (Atomics.load(this.#link, 0) !== 1) {
      throw new StateError('MEMIF_ERR_NOCONN', 'the interface disconnected: close this worker queue');
    }
  }

  #rxQueue(): RxQueue {
    this.#live();
    if (this.#rx === undefined) throw new InvalidArgumentError(`queue ${this.queueId} was handed off as a tx queue`);
    return this.#rx;
  }

  #txQueue(): TxQueue {
    this.#live();
    if (this.#tx === undefined) throw new InvalidArgumentError(`queue ${this.queueId} was handed off as an rx queue`);
    return this.#tx;
  }
}

/** @internal Builds a handle for a queue of the main thread (fds duplicated; the caller stops using the queue). */
export function makeHandle(
  kind: 'rx' | 'tx',
  q: RxQueue | TxQueue,
  shape: {
    role: 'master' | 'slave';
    cacheLineSize: number;
    buffersOffset: number;
    eventfd: number;
    regions: readonly Region[];
  },
  link: SharedArrayBuffer,
  binding = native(),
): QueueHandle {
  const regions: { fd: number; size: number }[] = [];
  try {
    for (const r of shape.regions) regions.push({ fd: sys(() => binding.dup(r.fd)), size: r.size });
    const eventfd = sys(() => binding.dup(shape.eventfd));
    const rx = q instanceof RxQueue;
    return {
      kind,
      role: shape.role,
      queueId: q.id,
      regions,
      ring: { region: q.ring.region.index, offset: q.ring.offset, log2Size: q.ring.log2Size },
      cacheLineSize: shape.cacheLineSize,
      bufferSize: q.bufferSize,
      buffersOffset: shape.buffersOffset,
      eventfd,
      resume: rx ? { last: q.last, head: q.head } : { last: (q as TxQueue).index, head: 0 },
      link,
    };
  } catch (err) {
    for (const r of regions) binding.close(r.fd);
    throw err;
  }
}
