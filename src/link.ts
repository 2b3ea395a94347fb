// Link: the data plane of one connection as the interface drives it — one RxQueue / TxQueue per
// ring (which rings: ringTypes(role) of control/session.ts), the queues handed to worker threads,
// and the flag those workers watch. Built when a connection comes up, ended when it goes down. It
// knows rings and regions, not messages (control/ hands it a SessionInfo).
import type { RingType } from './constants.js';
import { ringTypes, type SessionInfo, type SessionRing } from './control/session.js';
import { describe, InvalidArgumentError, StateError } from './errors.js';
import type { NativeBinding } from './native.js';
import type { RxMode } from './queue/args.js';
import type { QueueInit } from './queue/queue-init.js';
import { RxQueue } from './queue/rx.js';
import { TxQueue } from './queue/tx.js';
import {
  FAULT_POSTED,
  LINK_BYTES,
  LINK_FAULT,
  LINK_UP,
  makeHandle,
  postedFault,
  type QueueHandle,
} from './queue/worker-queue.js';

/** Atomics.waitAsync (ES2024; in Node since 16), not in the ES2022 lib this package compiles with. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** What a link needs of the interface. */
export interface LinkConfig {
  role: 'master' | 'slave';
  cacheLineSize: number;
  /** Each rx queue's mode (the interface keeps them across connections). */
  rxModes: readonly RxMode[];
  /** A queue stopped trusting the peer (may be called in the middle of a burst: defer teardown). */
  onFault: (reason: string) => void;
  onInterrupt: (queueId: number) => void;
}

export class Link {
  readonly rx: RxQueue[];
  readonly tx: TxQueue[];
  readonly #info: SessionInfo;
  readonly #rings: { rx: readonly SessionRing[]; tx: readonly SessionRing[] };
  readonly #config: LinkConfig;
  readonly #binding: NativeBinding;
  /**
   * Int32Array[LINK_UP] = 1 while this connection lives; shared with queues handed to workers,
   * which post a fault there (worker-queue.ts, postFault).
   */
  readonly #flag = new SharedArrayBuffer(LINK_BYTES);
  #watching = false;
  readonly #handedOff = new Set<string>();
  /** Hand-off tokens of this connection: fds not claimed by a worker are closed when it ends. */
  readonly #tokens: number[] = [];

  constructor(info: SessionInfo, config: LinkConfig, binding: NativeBinding) {
    this.#info = info;
    this.#config = config;
    this.#binding = binding;
    const types = ringTypes(config.role);
    const ringsOf = (t: RingType) => (t === 'S2M' ? info.s2m : info.m2s);
    this.#rings = { rx: ringsOf(types.rx), tx: ringsOf(types.tx) };
    Atomics.store(new Int32Array(this.#flag), LINK_UP, 1);
    const init = (r: SessionRing): QueueInit => ({
      id: r.index,
      role: config.role,
      ring: r.ring,
      memory: info.memory,
      onFault: config.onFault,
      regions: info.regions,
      bufferSize: info.bufferSize,
      buffersOffset: info.buffersOffset(r.type, r.index),
      eventfd: r.eventfd,
      binding,
    });
    this.tx = this.#rings.tx.map((r) => new TxQueue(init(r)));
    this.rx = this.#rings.rx.map((r) => new RxQueue({ ...init(r), onInterrupt: config.onInterrupt }));
    for (const q of this.rx) {
      q.refill();
      q.setMode(config.rxModes[q.id] ?? 'interrupt');
    }
  }

  get info(): SessionInfo {
    return this.#info;
  }

  /** Queue `queueId` of `kind` (an integer already): out of range or handed off throws. */
  queue(kind: 'rx', queueId: number): RxQueue;
  queue(kind: 'tx', queueId: number): TxQueue;
  queue(kind: 'rx' | 'tx', queueId: number): RxQueue | TxQueue;
  queue(kind: 'rx' | 'tx', queueId: number): RxQueue | TxQueue {
    const queues = kind === 'rx' ? this.rx : this.tx;
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

  /** See Memif.handOff. */
  handOff(kind: 'rx' | 'tx', queueId: number): QueueHandle {
    const q = this.queue(kind, queueId);
    // The worker resumes where this thread's indices are: buffers of a burst still out would be
    // read (or written) by both threads, and given back to the peer under this thread's views.
    if (q.burstLive) {
      throw new StateError(
        'MEMIF_ERR_ALREADY',
        `${kind} queue ${queueId}: ${kind === 'rx' ? 'release' : 'commit or abort'} its zero-copy burst before handOff()`,
      );
    }
    const r = this.#rings[kind][queueId];
    const handle = makeHandle(
      kind,
      q,
      {
        role: this.#config.role,
        cacheLineSize: this.#config.cacheLineSize,
        buffersOffset: this.#info.buffersOffset(r.type, r.index),
        eventfd: r.eventfd,
        regions: this.#info.regions,
      },
      this.#flag,
      this.#binding,
    );
    q.close();
    this.#handedOff.add(`${kind}${queueId}`);
    this.#tokens.push(handle.token);
    this.#watchWorkers();
    return handle;
  }

  /**
   * Waits (without blocking, and without keeping the process alive) for a worker's queue to post
   * a fault, and then ends the connection through onFault, as a fault of our own queues does.
   * end() wakes the wait and it stops.
   */
  #watchWorkers(): void {
    if (this.#watching) return;
    this.#watching = true;
    const i32 = new Int32Array(this.#flag);
    const wait = (): void => {
      if (Atomics.load(i32, LINK_UP) !== 1) return;
      const state = Atomics.load(i32, LINK_FAULT);
      if (state === FAULT_POSTED) {
        this.#config.onFault(`worker: ${postedFault(this.#flag)}`);
        return;
      }
      const r = waitAsync(i32, LINK_FAULT, state);
      if (r.async) (r.value as Promise<string>).then(wait);
      else queueMicrotask(wait);
    };
    // While a worker is still writing its reason (FAULT_WRITING, a few stores), this waits on that
    // state: the worker's notify after FAULT_POSTED wakes it.
    wait();
  }

  /**
   * The connection is gone: workers see it at their next burst, hand-offs nobody claimed are
   * closed, and the queues stop (a zero-copy burst still held stays mapped until given back).
   */
  end(): void {
    const i32 = new Int32Array(this.#flag);
    Atomics.store(i32, LINK_UP, 0);
    Atomics.notify(i32, LINK_FAULT); // ends #watchWorkers' wait
    for (const t of this.#tokens) this.#binding.handoffDiscard(t);
    this.#tokens.length = 0;
    for (const q of this.rx) q.close();
    for (const q of this.tx) q.close();
  }
}
