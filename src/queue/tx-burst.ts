// TxBurst: one zero-copy transmit burst — free buffers handed to the caller to write packets into
// in place, then published together with commit(n). One object per queue, reused: no allocation
// per packet or per burst. Nothing reaches the ring until commit, and commit checks everything
// first, so a mistake (length over capacity, a chain cut in half, more than was taken) is an
// error, never a half-published ring.
import { InvalidArgumentError, StateError } from '../errors.js';
import type { Region } from '../shm/region.js';

export class TxBurst {
  /** Buffers granted by the last alloc. */
  count = 0;
  readonly bufRegion: Uint16Array;
  readonly bufOffset: Uint32Array;
  readonly bufCapacity: Uint32Array;
  readonly bufLength: Uint32Array;
  /** 1 where the packet continues in the next buffer (a chain). */
  readonly bufMore: Uint8Array;
  readonly #regions: readonly Region[];
  readonly #commit: (n: number) => number;
  #live = false;

  /** @internal Built by TxQueue; `capacity` is the ring size. */
  constructor(regions: readonly Region[], capacity: number, commit: (n: number) => number) {
    this.#regions = regions;
    this.bufRegion = new Uint16Array(capacity);
    this.bufOffset = new Uint32Array(capacity);
    this.bufCapacity = new Uint32Array(capacity);
    this.bufLength = new Uint32Array(capacity);
    this.bufMore = new Uint8Array(capacity);
    this.#commit = commit;
  }

  /** @internal */
  open(count: number): void {
    this.count = count;
    this.bufLength.fill(0, 0, count);
    this.bufMore.fill(0, 0, count);
    this.#live = true;
  }

  /** True between alloc and commit/abort. */
  get live(): boolean {
    return this.#live;
  }

  /** Region index of buffer `i` (write its bytes into bytes(region(i))). */
  region(i: number): number {
    this.#check(i);
    return this.bufRegion[i];
  }

  /** Offset of buffer `i` in its region. */
  offset(i: number): number {
    this.#check(i);
    return this.bufOffset[i];
  }

  /** Bytes buffer `i` can hold. */
  capacity(i: number): number {
    this.#check(i);
    return this.bufCapacity[i];
  }

  /** The whole mapping of region `r` (the same object every time): write packet bytes into it in place. */
  bytes(r: number): Uint8Array {
    if (!this.#live) throw done();
    const region = this.#regions[r];
    if (region === undefined) throw new InvalidArgumentError(`no region ${r}`);
    return region.bytes;
  }

  /**
   * Sets how many bytes buffer `i` holds (1 … capacity). `more`: the packet continues in buffer
   * i + 1 (a chain).
   */
  setLength(i: number, length: number, more = false): void {
    this.#check(i);
    if (!(Number.isInteger(length) && length >= 1 && length <= this.bufCapacity[i])) {
      throw new InvalidArgumentError(`buffer ${i} holds 1 to ${this.bufCapacity[i]} bytes; got ${length}`);
    }
    this.bufLength[i] = length;
    this.bufMore[i] = more ? 1 : 0;
  }

  /** Copies `packet` into buffer `i` and sets its length (a convenience; no chaining). */
  write(i: number, packet: Uint8Array): void {
    this.#check(i);
    if (packet.length < 1 || packet.length > this.bufCapacity[i]) {
      throw new InvalidArgumentError(
        `buffer ${i} holds 1 to ${this.bufCapacity[i]} bytes; packet has ${packet.length}`,
      );
    }
    this.#regions[this.bufRegion[i]].bytes.set(packet, this.bufOffset[i]);
    this.bufLength[i] = packet.length;
    this.bufMore[i] = 0;
  }

  /**
   * Publishes buffers [0, n) — one release-store of the ring index and at most one interrupt —
   * and gives the rest back unused. Returns the number of packets sent. Throws, publishing
   * nothing, if n is more than was taken, a buffer has no length, or buffer n-1 continues a chain.
   */
  commit(n = this.count): number {
    if (!this.#live) throw done();
    if (!(Number.isInteger(n) && n >= 0 && n <= this.count)) {
      throw new InvalidArgumentError(`commit takes 0 to ${this.count} buffers (as many as alloc gave); got ${n}`);
    }
    for (let i = 0; i < n; i++) {
      if (this.bufLength[i] === 0) throw new InvalidArgumentError(`buffer ${i} has no length: call setLength or write`);
    }
    if (n > 0 && this.bufMore[n - 1] === 1) {
      throw new InvalidArgumentError(`buffer ${n - 1} continues a chain: commit the whole chain or none of it`);
    }
    this.#live = false;
    return this.#commit(n);
  }

  /** Gives every buffer back unused. */
  abort(): void {
    if (!this.#live) return;
    this.#live = false;
    this.#commit(0);
  }

  #check(i: number): void {
    if (!this.#live) throw done();
    if (!(i >= 0 && i < this.count && Number.isInteger(i))) {
      throw new InvalidArgumentError(`buffer index must be from 0 to ${this.count - 1}; got ${i}`);
    }
  }
}

function done(): StateError {
  return new StateError('MEMIF_ERR_NOCONN', 'this zero-copy tx burst was committed or aborted; call txAlloc again');
}
