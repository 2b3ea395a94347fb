// TxBurst: one zero-copy transmit burst — free buffers handed to the caller to write packets into
// in place, then published together with commit(n). One object per queue, reused: no allocation
// per packet or per burst. Nothing reaches the ring until commit, and commit checks everything
// first, so a mistake (length over capacity, a chain cut in half, more than was taken) is an
// error, never a half-published ring. Besides the per-buffer accessors, the buffer arrays are
// public for loops that check once per burst, and push/pushFrom append whole packets (chained as
// needed, contiguous buffers filled by one copy). A live burst holds the connection's memory: it
// stays mapped until commit or abort, even if the peer leaves first (then nothing is published).
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError, StateError } from '../errors.js';
import type { SharedMemory } from '../shm/memory.js';
import type { Region } from '../shm/region.js';
import { RxBurst } from './rx-burst.js';

export class TxBurst {
  /** Buffers granted by the last alloc. */
  count = 0;
  /**
   * Buffers filled by push()/pushFrom(): they take buffers [0, used) in order. Once either was
   * called, commit() without an argument publishes exactly these (possibly none).
   */
  used = 0;
  /**
   * Bulk access, for loops that check once per burst instead of once per call: entries [0, count)
   * describe the granted buffers while the burst is live. `bufRegion`, `bufOffset`, `bufCapacity`
   * are copies for reading (already checked to lie inside the region; the burst keeps its own, so
   * writing here changes nothing but your reads). Written by the caller (or by setLength, write,
   * push): `bufLength` (1 … capacity) and `bufMore` (1: the packet continues in the next buffer).
   * commit() checks every written value before it publishes anything.
   */
  readonly bufRegion: Uint16Array;
  readonly bufOffset: Uint32Array;
  readonly bufCapacity: Uint32Array;
  readonly bufLength: Uint32Array;
  readonly bufMore: Uint8Array;
  // What alloc granted, kept apart from the public copies: every write and check uses these.
  readonly #region: Uint16Array;
  readonly #offset: Uint32Array;
  readonly #capacity: Uint32Array;
  readonly #regions: readonly Region[];
  readonly #memory: SharedMemory;
  readonly #commit: (n: number) => number;
  readonly #drop: (packets: number) => void;
  readonly #ringSize: number;
  #live = false;
  /** Packets pushFrom dropped in this burst (counted when it is committed), and the largest buffer granted (-1: not yet known). */
  #dropped = 0;
  #largest = -1;
  /** push/pushFrom was called on this burst: commit() then defaults to `used`. */
  #appending = false;

  /**
   * @internal Built by TxQueue; `capacity` is the ring size; `drop` counts the packets a committed
   * burst's pushFrom dropped because no ring of these buffers could ever hold them.
   */
  constructor(memory: SharedMemory, capacity: number, commit: (n: number) => number, drop: (packets: number) => void) {
    this.#memory = memory;
    this.#regions = memory.regions;
    this.#ringSize = capacity;
    this.#drop = drop;
    this.bufRegion = new Uint16Array(capacity);
    this.bufOffset = new Uint32Array(capacity);
    this.bufCapacity = new Uint32Array(capacity);
    this.bufLength = new Uint32Array(capacity);
    this.bufMore = new Uint8Array(capacity);
    this.#region = new Uint16Array(capacity);
    this.#offset = new Uint32Array(capacity);
    this.#capacity = new Uint32Array(capacity);
    this.#commit = commit;
  }

  /** @internal TxQueue.alloc: buffer `i` is `capacity` bytes at `offset` of region `region`. */
  grant(i: number, region: number, offset: number, capacity: number): void {
    if (this.#live) throw new StateError('MEMIF_ERR_ALREADY', 'a live tx burst cannot be granted buffers');
    this.#region[i] = region;
    this.#offset[i] = offset;
    this.#capacity[i] = capacity;
    this.bufRegion[i] = region;
    this.bufOffset[i] = offset;
    this.bufCapacity[i] = capacity;
  }

  /**
   * @internal TxQueue.alloc as slave: buffers [0, n) are the slots from `index` on of our own ring
   * (region 0, `base + slot * size`, `size` bytes each); one loop, no call per buffer.
   */
  grantOwn(n: number, index: number, mask: number, base: number, size: number): void {
    if (this.#live) throw new StateError('MEMIF_ERR_ALREADY', 'a live tx burst cannot be granted buffers');
    const offset = this.#offset;
    const bufOffset = this.bufOffset;
    this.#region.fill(0, 0, n);
    this.#capacity.fill(size, 0, n);
    this.bufRegion.fill(0, 0, n);
    this.bufCapacity.fill(size, 0, n);
    for (let k = 0; k < n; k++) {
      const o = base + ((index + k) & mask) * size;
      offset[k] = o;
      bufOffset[k] = o;
    }
  }

  /** @internal */
  open(count: number): void {
    this.count = count;
    this.used = 0;
    this.#appending = false;
    this.#dropped = 0;
    this.#largest = -1;
    this.bufLength.fill(0, 0, count);
    this.bufMore.fill(0, 0, count);
    this.#live = true;
    this.#memory.hold();
  }

  /** True between alloc and commit/abort. */
  get live(): boolean {
    return this.#live;
  }

  /** Region index of buffer `i` (write its bytes into bytes(region(i))). */
  region(i: number): number {
    this.#check(i);
    return this.#region[i];
  }

  /** Offset of buffer `i` in its region. */
  offset(i: number): number {
    this.#check(i);
    return this.#offset[i];
  }

  /** Bytes buffer `i` can hold. */
  capacity(i: number): number {
    this.#check(i);
    return this.#capacity[i];
  }

  /** The whole mapping of region `r` (the same object every time): write packet bytes into it in place. */
  bytes(r: number): Uint8Array {
    if (!this.#live || this.#memory.revoked) throw done(this.#live);
    const region = Number.isInteger(r) ? this.#regions[r] : undefined;
    if (region === undefined) throw new InvalidArgumentError(`no region ${describe(r)}`);
    return region.bytes;
  }

  /**
   * Sets how many bytes buffer `i` holds (1 … capacity). `more`: the packet continues in buffer
   * i + 1 (a chain).
   */
  setLength(i: number, length: number, more = false): void {
    this.#check(i);
    if (!(Number.isInteger(length) && length >= 1 && length <= this.#capacity[i])) {
      throw new InvalidArgumentError(`buffer ${i} holds 1 to ${this.#capacity[i]} bytes; got ${describe(length)}`);
    }
    if (typeof more !== 'boolean') throw new InvalidArgumentError(`more must be a boolean; got ${describe(more)}`);
    this.bufLength[i] = length;
    this.bufMore[i] = more ? 1 : 0;
  }

  /** Copies `packet` into buffer `i` and sets its length (one buffer; push() chains). */
  write(i: number, packet: Uint8Array): void {
    this.#check(i);
    if (!isUint8Array(packet)) throw new InvalidArgumentError(`packet must be a Uint8Array; got ${describe(packet)}`);
    if (packet.length < 1 || packet.length > this.#capacity[i]) {
      throw new InvalidArgumentError(`buffer ${i} holds 1 to ${this.#capacity[i]} bytes; packet has ${packet.length}`);
    }
    this.#regions[this.#region[i]].bytes.set(packet, this.#offset[i]);
    this.bufLength[i] = packet.length;
    this.bufMore[i] = 0;
  }

  /**
   * Appends `packet` at buffer `used`, chained over as many buffers as it needs; buffers that
   * follow each other in one region are filled by a single copy. Returns false, writing nothing,
   * when the buffers left cannot hold it (or it is empty).
   */
  push(packet: Uint8Array): boolean {
    if (!this.#live || this.#memory.revoked) throw done(this.#live);
    if (!isUint8Array(packet)) throw new InvalidArgumentError(`packet must be a Uint8Array; got ${describe(packet)}`);
    this.#appending = true;
    const total = packet.length;
    const cap = this.#capacity;
    const len = this.bufLength;
    const more = this.bufMore;
    const first = this.used;
    const limit = this.count;
    let k = first;
    let left = total;
    while (left > 0 && k < limit) {
      const n = Math.min(left, cap[k]);
      len[k] = n;
      more[k] = 1;
      left -= n;
      k++;
    }
    if (left > 0 || total === 0) {
      for (let j = first; j < k; j++) {
        len[j] = 0;
        more[j] = 0;
      }
      return false;
    }
    more[k - 1] = 0;
    this.used = k;
    // Copy runs of buffers that are contiguous in one region with one set() each.
    const region = this.#region;
    const offset = this.#offset;
    let at = 0;
    for (let j = first; j < k; ) {
      let end = j + 1;
      let bytes = len[j];
      while (end < k && region[end] === region[j] && offset[end] === offset[end - 1] + len[end - 1]) {
        bytes += len[end];
        end++;
      }
      const dst = this.#regions[region[j]].bytes;
      dst.set(at === 0 && bytes === total ? packet : packet.subarray(at, at + bytes), offset[j]);
      at += bytes;
      j = end;
    }
    return true;
  }

  /**
   * Forwards packets `[from, from + count)` of a live zero-copy rx burst into the buffers from
   * `used` on (bytes copied shared memory to shared memory, chained as the buffers require) and
   * returns how many it took: the packets after them are left for the next burst. A packet that
   * even a whole ring of these buffers could not hold is taken and dropped (counted in the
   * queue's errors when this burst is committed), so that a forwarder never stalls on it. The rx burst stays live; release it
   * once everything it holds went out.
   */
  pushFrom(rb: RxBurst, from = 0, count?: number): number {
    if (!this.#live || this.#memory.revoked) throw done(this.#live);
    if (!isRxBurst(rb)) throw new InvalidArgumentError(`pushFrom takes an RxBurst; got ${describe(rb)}`);
    if (!rb.live) throw new StateError('MEMIF_ERR_NOCONN', 'pushFrom: the rx burst was released');
    if (count === undefined && Number.isInteger(from)) count = rb.count - from;
    if (
      !(
        Number.isInteger(from) &&
        Number.isInteger(count) &&
        from >= 0 &&
        (count as number) >= 0 &&
        from + (count as number) <= rb.count
      )
    ) {
      throw new InvalidArgumentError(
        `pushFrom: from ${describe(from)}, count ${describe(count)}: not within a burst of ${rb.count}`,
      );
    }
    count = count as number;
    this.#appending = true;
    const first = rb.first;
    const sReg = rb.segRegion;
    const sOff = rb.segOffset;
    const sLen = rb.segLength;
    const dReg = this.#region;
    const dOff = this.#offset;
    const cap = this.#capacity;
    const len = this.bufLength;
    const more = this.bufMore;
    const end = from + count;
    const limit = this.count;
    let k = this.used;
    let p = from;
    packets: for (; p < end; p++) {
      let s = first[p];
      const sEnd = first[p + 1];
      if (k >= limit) {
        if (this.#neverFits(rb.packetLength[p])) continue;
        break;
      }
      // The common case: one segment into one buffer.
      if (sEnd - s === 1 && sLen[s] <= cap[k]) {
        copyBetween(rb.bytes(sReg[s]), sOff[s], this.#regions[dReg[k]].bytes, dOff[k], sLen[s]);
        len[k] = sLen[s];
        more[k] = 0;
        k++;
        continue;
      }
      // Any segmentation on either side: two cursors.
      const start = k;
      let src = rb.bytes(sReg[s]);
      let srcAt = sOff[s];
      let srcLeft = sLen[s];
      let dst = this.#regions[dReg[k]].bytes;
      let dstAt = dOff[k];
      let room = cap[k];
      len[k] = 0;
      for (;;) {
        const n = Math.min(srcLeft, room);
        copyBetween(src, srcAt, dst, dstAt, n);
        len[k] += n;
        srcAt += n;
        dstAt += n;
        srcLeft -= n;
        room -= n;
        if (srcLeft === 0) {
          if (++s === sEnd) break;
          src = rb.bytes(sReg[s]);
          srcAt = sOff[s];
          srcLeft = sLen[s];
        }
        if (room === 0) {
          more[k] = 1;
          if (++k === limit) {
            for (let j = start; j < k; j++) {
              len[j] = 0;
              more[j] = 0;
            }
            k = start;
            if (this.#neverFits(rb.packetLength[p])) continue packets;
            break packets;
          }
          dst = this.#regions[dReg[k]].bytes;
          dstAt = dOff[k];
          room = cap[k];
          len[k] = 0;
        }
      }
      more[k] = 0;
      k++;
    }
    this.used = k;
    return p - from;
  }

  /**
   * Publishes buffers [0, n) — one release-store of the ring index and at most one interrupt —
   * and gives the rest back unused. Returns the number of packets sent. `n` defaults to `used`
   * once push/pushFrom was called on this burst, or else to all that were granted. Throws, publishing nothing,
   * if n is more than was taken, a buffer has no length or more than its capacity, or buffer
   * n-1 continues a chain.
   */
  commit(n = this.#appending ? this.used : this.count): number {
    if (!this.#live) throw done();
    if (!(Number.isInteger(n) && n >= 0 && n <= this.count)) {
      throw new InvalidArgumentError(
        `commit takes 0 to ${this.count} buffers (as many as alloc gave); got ${describe(n)}`,
      );
    }
    const len = this.bufLength;
    const cap = this.#capacity;
    for (let i = 0; i < n; i++) {
      if (len[i] === 0) throw new InvalidArgumentError(`buffer ${i} has no length: call setLength or write`);
      if (len[i] > cap[i]) throw new InvalidArgumentError(`buffer ${i} holds ${cap[i]} bytes; its length is ${len[i]}`);
    }
    if (n > 0 && this.bufMore[n - 1] !== 0) {
      throw new InvalidArgumentError(`buffer ${n - 1} continues a chain: commit the whole chain or none of it`);
    }
    this.#live = false;
    try {
      if (this.#dropped > 0) this.#drop(this.#dropped);
      return this.#commit(n);
    } finally {
      this.#memory.drop();
    }
  }

  /** Gives every buffer back unused. */
  abort(): void {
    if (!this.#live) return;
    this.#live = false;
    try {
      this.#commit(0);
    } finally {
      this.#memory.drop();
    }
  }

  /** True (and the drop noted) when a whole ring of buffers like these is too small for `bytes`. */
  #neverFits(bytes: number): boolean {
    if (this.#largest < 0) {
      this.#largest = 0;
      for (let j = 0; j < this.count; j++) this.#largest = Math.max(this.#largest, this.#capacity[j]);
    }
    if (this.#largest === 0 || bytes <= this.#ringSize * this.#largest) return false;
    this.#dropped++;
    return true;
  }

  #check(i: number): void {
    if (!this.#live || this.#memory.revoked) throw done(this.#live);
    // Number.isInteger first: it never runs user code (a comparison would call valueOf).
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new InvalidArgumentError(`buffer index must be from 0 to ${this.count - 1}; got ${describe(i)}`);
    }
  }
}

/** Copies `n` bytes within one mapping (no view object) or between two (one view). */
function copyBetween(src: Uint8Array, srcAt: number, dst: Uint8Array, dstAt: number, n: number): void {
  if (src === dst) dst.copyWithin(dstAt, srcAt, srcAt + n);
  else dst.set(src.subarray(srcAt, srcAt + n), dstAt);
}

/** `value instanceof RxBurst`, false (not a throw) for a Proxy whose traps throw. */
function isRxBurst(value: unknown): value is RxBurst {
  try {
    return value instanceof RxBurst;
  } catch {
    return false;
  }
}

function done(live = false): StateError {
  return new StateError(
    'MEMIF_ERR_NOCONN',
    live
      ? "the interface was closed: this zero-copy tx burst's memory is unmapped"
      : 'this zero-copy tx burst was committed or aborted; call txAlloc again',
  );
}
