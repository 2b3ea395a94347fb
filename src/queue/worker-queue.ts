// Queues on worker threads. The main thread hands a queue off as a QueueHandle — a token for
// duplicated fds of its regions and eventfd (held in the addon's hand-off table, so each has one
// owner whatever happens to either thread), where its ring is, its private indices, and a shared
// flag for the link — which is posted to a worker. There WorkerQueue claims the fds once, maps the
// same memory (shared, not copied) and drives the ring with the same burst code as the main
// thread. When the link goes down the main thread clears the flag; the worker's mapping stays
// valid until it closes (or its thread ends), so nothing can fault. A worker's queue that stops
// trusting the peer (a bad descriptor, an interrupt write the peer blocked) posts its reason
// through the same shared buffer, and the main thread ends the connection as for its own queues.
import { InvalidArgumentError, StateError } from '../errors.js';
import { type NativeBinding, native, type OwnedFds, sys } from '../native.js';
import { ringInRegion } from '../shm/descriptor.js';
import { SharedMemory } from '../shm/memory.js';
import { Region } from '../shm/region.js';
import { Ring, ringBytes } from '../shm/ring.js';
import { checkBurstSize, checkRxMode, type RxMode } from './args.js';
import { RxQueue } from './rx.js';
import type { RxBurst } from './rx-burst.js';
import { TxQueue } from './tx.js';
import type { TxBurst } from './tx-burst.js';

/**
 * A queue ready to be posted to a worker thread (structured-clone safe). Its fds wait in the
 * addon's hand-off table until one `WorkerQueue.attach()` claims them; a second attach is refused,
 * and fds never claimed are closed when the interface disconnects or closes.
 */
export interface QueueHandle {
  /** Which queue: rx or tx. */
  kind: 'rx' | 'tx';
  /** The role of the interface it belongs to. */
  role: 'master' | 'slave';
  /** Its queue id in the interface. */
  queueId: number;
  /** Claims the duplicated fds: one per region, then the ring's eventfd. */
  token: number;
  /** Region sizes, by index. */
  regions: {
    /** Bytes. */
    size: number;
  }[];
  /** Where the ring is. */
  ring: {
    /** Index of the region holding it. */
    region: number;
    /** Byte offset of the ring header in that region. */
    offset: number;
    /** Slots, as log2. */
    log2Size: number;
  };
  /** Ring header layout (64, or 128 for aarch64 VPP). */
  cacheLineSize: number;
  /** Bytes per buffer. */
  bufferSize: number;
  /** Where a slave's buffers of this ring start in region 0. */
  buffersOffset: number;
  /** The queue's private indices where the main thread left them. */
  resume: {
    /** This side's private index into the ring (the next slot to process). */
    last: number;
    /** The head this side last published (a slave's rx refill). */
    head: number;
  };
  /**
   * Int32Array[0]: 1 while the connection lives, 0 once it went down; then the fault a worker's
   * queue posts to the main thread (see postFault).
   */
  link: SharedArrayBuffer;
}

/** A queue driven on a worker thread, attached from a QueueHandle. */
export class WorkerQueue {
  /** Which queue it drives: rx or tx. */
  readonly kind: 'rx' | 'tx';
  /** Its queue id in the interface. */
  readonly queueId: number;
  readonly #memory = new SharedMemory();
  readonly #link: Int32Array;
  readonly #rx: RxQueue | undefined;
  readonly #tx: TxQueue | undefined;
  /** The claimed fds still held: the eventfd (region fds are closed once mapped). */
  readonly #fds: OwnedFds;
  #closed = false;

  private constructor(h: QueueHandle, fds: OwnedFds, binding: NativeBinding, onInterrupt: (queueId: number) => void) {
    this.kind = h.kind;
    this.queueId = h.queueId;
    this.#fds = fds;
    this.#link = new Int32Array(h.link);
    const regions = this.#memory.regions;
    let ring: Ring;
    try {
      for (const [i, r] of h.regions.entries()) regions.push(Region.adopt(i, fds.take(i), r.size, binding, false));
      const region = regions[h.ring.region];
      if (!ringInRegion(region, h.ring.offset, ringBytes(h.cacheLineSize, h.ring.log2Size))) {
        throw new InvalidArgumentError("the handle's ring does not lie inside its regions");
      }
      ring = new Ring(region, h.ring.offset, h.ring.log2Size, h.cacheLineSize);
    } catch (err) {
      this.#memory.revoke();
      fds.close();
      throw err;
    }
    const init = {
      id: h.queueId,
      role: h.role,
      ring,
      memory: this.#memory,
      regions,
      bufferSize: h.bufferSize,
      buffersOffset: h.buffersOffset,
      eventfd: fds.fd(h.regions.length),
      binding,
      resume: h.resume,
      onFault: (reason: string) => postFault(h.link, reason),
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
    const h = checkHandle(handle);
    const onInterrupt = checkOptions(options);
    const binding = native();
    const gone = () =>
      new StateError(
        'MEMIF_ERR_ALREADY',
        'this QueueHandle was attached already, or its interface disconnected or closed before it was attached',
      );
    // Checked against the fds before claiming them: a refused handle leaves every fd where it was
    // (still attachable as handed off, or discarded with its connection).
    const sizes = binding.handoffSizes(h.token);
    if (sizes === null) throw gone();
    checkAgainst(h, sizes);
    const fds = binding.handoffClaim(h.token);
    if (fds === null) throw gone();
    if (fds.count !== h.regions.length + 1) {
      fds.close();
      throw new InvalidArgumentError('the QueueHandle was altered: its fds do not match its regions');
    }
    return new WorkerQueue(h, fds, binding, onInterrupt);
  }

  /** True while the main thread's connection is up. */
  get connected(): boolean {
    return !this.#closed && Atomics.load(this.#link, LINK_UP) === 1;
  }

  /** Like Memif.rxBurst. */
  rxBurst(max = 256): Buffer[] {
    checkBurstSize(max);
    return this.#rxQueue().burst(max);
  }

  /** Like Memif.rxBurstZeroCopy. */
  rxBurstZeroCopy(max = 256): RxBurst {
    checkBurstSize(max);
    return this.#rxQueue().burstZeroCopy(max);
  }

  /** Like Memif.txBurst. */
  txBurst(packets: readonly Uint8Array[], count?: number): number {
    return this.#txQueue().burst(packets, count);
  }

  /** Like Memif.txAlloc. */
  txAlloc(count = 256): TxBurst {
    checkBurstSize(count, 'count');
    return this.#txQueue().alloc(count);
  }

  /** Interrupt mode watches the eventfd on this thread's loop and calls onInterrupt. */
  setRxMode(mode: RxMode): void {
    checkRxMode(mode);
    this.#rxQueue().setMode(mode);
  }

  /** Counters and ring state, like one entry of Memif.details(). */
  get stats(): {
    /** Packets moved by this queue. */
    packets: number;
    /** Bytes moved by this queue. */
    bytes: number;
    /** Packets dropped or descriptors refused. */
    errors: number;
    /** Why the queue stopped trusting the peer, if it did (the interface then ended the connection). */
    fault: string | undefined;
  } {
    const q = (this.#rx ?? this.#tx) as RxQueue | TxQueue;
    return { packets: q.packets, bytes: q.bytes, errors: q.errors, fault: q.fault };
  }

  /**
   * Unmaps this thread's view (a zero-copy burst still held becomes unusable) and closes its fds.
   * Idempotent. A worker that ends without calling it still releases its fds and mappings.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rx?.close();
    this.#tx?.close();
    this.#memory.revoke();
    this.#fds.close();
  }

  #live(): void {
    if (this.#closed) throw new StateError('MEMIF_ERR_NOCONN', 'this worker queue is closed');
    if (Atomics.load(this.#link, LINK_UP) !== 1) {
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

/**
 * @internal Builds a handle for a queue of the main thread: its fds (regions, then eventfd) are
 * duplicated into the addon's hand-off table. The caller stops using the queue, and discards the
 * token (binding.handoffDiscard) when the connection ends.
 */
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
  const fds = Int32Array.from([...shape.regions.map((r) => r.fd), shape.eventfd]);
  const token = sys(() => binding.handoffCreate(fds));
  const rx = q instanceof RxQueue;
  return {
    kind,
    role: shape.role,
    queueId: q.id,
    token,
    regions: shape.regions.map((r) => ({ size: r.size })),
    ring: { region: q.ring.region.index, offset: q.ring.offset, log2Size: q.ring.log2Size },
    cacheLineSize: shape.cacheLineSize,
    bufferSize: q.bufferSize,
    buffersOffset: shape.buffersOffset,
    resume: rx ? { last: q.last, head: q.head } : { last: (q as TxQueue).index, head: 0 },
    link,
  };
}

/**
 * @internal The link buffer shared by a connection and the workers driving its queues, as Int32
 * entries: [LINK_UP] 1 while the connection lives; [LINK_FAULT] 0, FAULT_WRITING while one worker
 * writes its reason, FAULT_POSTED once it is there: [LINK_FAULT_LENGTH] bytes of UTF-8 from byte
 * FAULT_TEXT. The first fault of any worker wins; the main thread waits on LINK_FAULT.
 */
export const LINK_UP = 0;
export const LINK_FAULT = 1;
const LINK_FAULT_LENGTH = 2;
const FAULT_WRITING = 1;
export const FAULT_POSTED = 2;
const FAULT_TEXT = 12;
const FAULT_TEXT_MAX = 116;
/** @internal Bytes of a link buffer. */
export const LINK_BYTES = FAULT_TEXT + FAULT_TEXT_MAX;

/** @internal A worker's queue stopped trusting the peer: tell the main thread (first fault only). */
export function postFault(link: SharedArrayBuffer, reason: string): void {
  const i32 = new Int32Array(link);
  if (Atomics.compareExchange(i32, LINK_FAULT, 0, FAULT_WRITING) !== 0) return;
  let text = Buffer.from(reason);
  if (text.length > FAULT_TEXT_MAX) {
    // Cut before a whole character: back off while the first byte left out continues one.
    let n = FAULT_TEXT_MAX;
    while (n > 0 && (text[n] & 0xc0) === 0x80) n--;
    text = text.subarray(0, n);
  }
  new Uint8Array(link, FAULT_TEXT, FAULT_TEXT_MAX).set(text);
  Atomics.store(i32, LINK_FAULT_LENGTH, text.length);
  Atomics.store(i32, LINK_FAULT, FAULT_POSTED);
  Atomics.notify(i32, LINK_FAULT);
}

/**
 * @internal The reason a worker posted (LINK_FAULT is FAULT_POSTED). Any thread holding the handle
 * can write the buffer: a length out of range is clamped (a negative one threw in the main thread's
 * wait, an unhandled rejection, and the fault was lost).
 */
export function postedFault(link: SharedArrayBuffer): string {
  const n = Math.max(0, Math.min(Atomics.load(new Int32Array(link), LINK_FAULT_LENGTH), FAULT_TEXT_MAX));
  return Buffer.from(new Uint8Array(link, FAULT_TEXT, n)).toString();
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** The handle's fields, checked; anything else is not what Memif.handOff() returned. */
function checkHandle(handle: unknown): QueueHandle {
  const bad = () => new InvalidArgumentError('attach takes the QueueHandle returned by Memif.handOff()');
  if (typeof handle !== 'object' || handle === null) throw bad();
  let h: QueueHandle;
  try {
    const o = handle as QueueHandle;
    const ring = o.ring;
    h = {
      kind: o.kind,
      role: o.role,
      queueId: o.queueId,
      token: o.token,
      regions: Array.isArray(o.regions) ? o.regions.map((r) => ({ size: r?.size })) : (undefined as never),
      ring: { region: ring?.region, offset: ring?.offset, log2Size: ring?.log2Size },
      cacheLineSize: o.cacheLineSize,
      bufferSize: o.bufferSize,
      buffersOffset: o.buffersOffset,
      resume: { last: o.resume?.last, head: o.resume?.head },
      link: o.link,
    };
  } catch (err) {
    throw new InvalidArgumentError(
      `attach takes the QueueHandle returned by Memif.handOff(): ${(err as Error)?.message}`,
    );
  }
  const u32 = 2 ** 32 - 1;
  const ok =
    (h.kind === 'rx' || h.kind === 'tx') &&
    (h.role === 'master' || h.role === 'slave') &&
    isInt(h.queueId, 0, 255) &&
    isInt(h.token, 1, u32) &&
    Array.isArray(h.regions) &&
    h.regions.length >= 1 &&
    h.regions.length <= 256 &&
    h.regions.every((r) => isInt(r.size, 1, Number.MAX_SAFE_INTEGER)) &&
    isInt(h.ring.region, 0, 255) &&
    isInt(h.ring.offset, 0, u32) &&
    isInt(h.ring.log2Size, 0, 15) &&
    isInt(h.cacheLineSize, 8, 4096) &&
    isInt(h.bufferSize, 1, u32) &&
    isInt(h.buffersOffset, 0, u32) &&
    isInt(h.resume.last, 0, 0xffff) &&
    isInt(h.resume.head, 0, 0xffff) &&
    h.link instanceof SharedArrayBuffer &&
    h.link.byteLength >= LINK_BYTES;
  if (!ok) throw bad();
  return h;
}

/**
 * The handle against the sizes of its fds (regions, then the eventfd): as many as it has regions
 * plus one, each region no larger than its file (a larger mapping would fault), the ring inside its
 * region. Anything else was altered.
 */
function checkAgainst(h: QueueHandle, sizes: readonly number[]): void {
  const altered = (what: string) => new InvalidArgumentError(`the QueueHandle was altered: ${what}`);
  if (sizes.length !== h.regions.length + 1) throw altered('its fds do not match its regions');
  for (const [i, r] of h.regions.entries()) {
    if (!(r.size <= sizes[i])) throw altered(`region ${i} is larger than its memory`);
  }
  if (!ringInRegion(h.regions[h.ring.region], h.ring.offset, ringBytes(h.cacheLineSize, h.ring.log2Size))) {
    throw altered('its ring does not lie inside its regions');
  }
}

function checkOptions(options: unknown): (queueId: number) => void {
  if (options === undefined) return () => {};
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('attach options must be an object');
  }
  let onInterrupt: unknown;
  try {
    onInterrupt = (options as { onInterrupt?: unknown }).onInterrupt;
  } catch (err) {
    throw new InvalidArgumentError(`attach options could not be read: ${(err as Error)?.message}`);
  }
  if (onInterrupt === undefined) return () => {};
  if (typeof onInterrupt !== 'function') throw new InvalidArgumentError('onInterrupt must be a function');
  return onInterrupt as (queueId: number) => void;
}
