// TxQueue: the producer side of one ring, copy mode. A slave transmits on its S2M ring into its
// own buffers; a master transmits on an M2S ring into the empty buffers the slave offered, taking
// each descriptor's length as its capacity (§8.2, §8.3). One burst = one acquire-load of the
// peer's index, one release-store of ours, at most one eventfd kick.
import { constants } from 'node:os';
import { DESC_FLAG_NEXT, RING_FLAG_MASK_INT } from '../constants.js';
import { describe, InvalidArgumentError, MemifError, StateError } from '../errors.js';
import { Desc16, Desc32, inRegions } from '../shm/descriptor.js';
import type { Ring } from '../shm/ring.js';
import { writeOwnSlots } from './own-slots.js';
import type { QueueInit } from './queue-init.js';
import { TxBurst } from './tx-burst.js';

const { errno } = constants;

export class TxQueue {
  readonly id: number;
  readonly ring: Ring;
  readonly bufferSize: number;
  packets = 0;
  bytes = 0;
  /** Bursts cut short because the peer's descriptors or indices were invalid, and oversized drops. */
  errors = 0;
  /** Packets dropped because a whole ring of the peer's (master) or our (slave, pushFrom) buffers could not hold them. */
  oversized = 0;
  /**
   * Packets burst() could not queue because the ring had no free buffers for them (left to the
   * caller, counted again each time they are refused).
   */
  ringFull = 0;
  /** Why the peer's ring state cannot be trusted any more; the interface disconnects on it. */
  fault: string | undefined;

  readonly #init: QueueInit;
  /** Our own index: head (slave, S2M) or tail (master, M2S). */
  #index: number;
  readonly #txBurst: TxBurst;
  #closed = false;
  // Scratch for the master's plan of one packet's fragments (validated once, then written).
  readonly #fragRegion: Uint16Array;
  readonly #fragOffset: Uint32Array;
  readonly #fragCapacity: Uint32Array;

  constructor(init: QueueInit) {
    this.#init = init;
    this.id = init.id;
    this.ring = init.ring;
    this.bufferSize = init.bufferSize;
    this.#index = init.resume?.last ?? (init.role === 'slave' ? init.ring.loadHead() : init.ring.loadTail());
    const n = init.role === 'master' ? init.ring.size : 0;
    this.#fragRegion = new Uint16Array(n);
    this.#fragOffset = new Uint32Array(n);
    this.#fragCapacity = new Uint32Array(n);
    if (init.role === 'slave') writeOwnSlots(init.ring, init.buffersOffset, init.bufferSize);
    this.#txBurst = new TxBurst(
      init.memory,
      init.ring.size,
      (count) => this.#commit(count),
      (dropped) => {
        this.oversized += dropped;
        this.errors += dropped;
      },
    );
  }

  /**
   * Zero-copy: up to `max` free buffers to write packets into in place. The same TxBurst comes
   * back every time; publish with its commit(n) (or give back with abort()) before the next burst.
   */
  alloc(max: number): TxBurst {
    const b = this.#txBurst;
    if (b.live)
      throw new StateError('MEMIF_ERR_ALREADY', `tx queue ${this.id}: commit or abort the previous burst first`);
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const size = ring.size;
    let n = 0;
    if (this.fault === undefined && this.#init.role === 'slave') {
      // Acquire: the master's reads of the slots it released happened before its store of tail.
      const used = (this.#index - Atomics.load(u16, ring.tailIndex)) & 0xffff;
      if (used > size) this.#setFault(`S2M ring ${this.id}: tail is ahead of head ${this.#index}`);
      else n = Math.min(max, size - used);
      b.grantOwn(n, this.#index, mask, this.#init.buffersOffset, this.bufferSize);
    } else if (this.fault === undefined) {
      // Acquire: the slave's refilled descriptors are visible once we see its head.
      const free = (Atomics.load(u16, ring.headIndex) - this.#index) & 0xffff;
      if (free > size) this.#setFault(`M2S ring ${this.id}: head moved more than ${size} slots past tail`);
      const regions = this.#init.regions;
      const want = free > size ? 0 : Math.min(max, free);
      // Each offered buffer is read and checked once; the caller writes only where we said.
      for (; n < want; n++) {
        const slot = (this.#index + n) & mask;
        const region = u16[ring.desc16 + slot * Desc16.STRIDE + Desc16.REGION];
        const room = u32[ring.desc32 + slot * Desc32.STRIDE + Desc32.LENGTH];
        const offset = u32[ring.desc32 + slot * Desc32.STRIDE + Desc32.OFFSET];
        // An offered buffer must also hold at least one byte.
        if (room === 0 || !inRegions(regions, region, offset, room)) {
          this.#setFault(
            `descriptor outside the shared memory: M2S ring ${this.id} slot ${slot}, region ${region}, offset ${offset}, length ${room}`,
          );
          break;
        }
        b.grant(n, region, offset, room);
      }
    }
    b.open(n);
    return b;
  }

  /** Writes the descriptors of TxBurst buffers [0, n) and publishes them (checked by TxBurst.commit). */
  #commit(n: number): number {
    if (n === 0 || this.#closed) return 0;
    const b = this.#txBurst;
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const slave = this.#init.role === 'slave';
    const desc16 = ring.desc16;
    const desc32 = ring.desc32;
    const bufMore = b.bufMore;
    const bufLength = b.bufLength;
    let index = this.#index;
    let packets = 0;
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const slot = index & mask;
      const more = bufMore[k];
      const length = bufLength[k];
      u16[desc16 + slot * Desc16.STRIDE + Desc16.FLAGS] = more ? DESC_FLAG_NEXT : 0;
      u32[desc32 + slot * Desc32.STRIDE + Desc32.LENGTH] = length;
      if (!more) packets++;
      bytes += length;
      index = (index + 1) & 0xffff;
    }
    // Release: descriptors and data are visible before the new index.
    Atomics.store(u16, slave ? ring.headIndex : ring.tailIndex, index);
    this.#index = index;
    this.packets += packets;
    this.bytes += bytes;
    this.#kick();
    return packets;
  }

  /**
   * The connection is going away: nothing is published any more. A zero-copy burst still held
   * stays writable (its memory stays mapped) until its commit or abort, which publish nothing.
   */
  close(): void {
    this.#closed = true;
  }

  /**
   * Queues packets[0 .. count) (or until the ring is full); returns how many were taken. As master,
   * a packet that the slave's buffers cannot hold even in a whole ring is dropped (counted in
   * `oversized` and `errors`) and counts as taken, so that the caller moves on.
   */
  burst(packets: readonly Uint8Array[], count?: number): number {
    if (this.#txBurst.live) {
      throw new StateError('MEMIF_ERR_ALREADY', `tx queue ${this.id}: commit or abort the zero-copy burst first`);
    }
    if (!Array.isArray(packets)) {
      throw new InvalidArgumentError(`packets must be an array of Buffers; got ${describe(packets)}`);
    }
    try {
      const length = packets.length;
      const c = count === undefined ? length : count;
      if (!(Number.isInteger(c) && c >= 0 && c <= length)) {
        throw new InvalidArgumentError(
          `count must be an integer from 0 to packets.length (${length}); got ${describe(count)}`,
        );
      }
      return this.#burst(packets, c);
    } catch (err) {
      // Only a Proxy (of the array or of an element) makes reading the packets throw.
      if (err instanceof MemifError) throw err;
      throw new InvalidArgumentError(`packets could not be read: ${describe(err)}`, 'MEMIF_ERR_INVAL_ARG', {
        cause: err,
      });
    }
  }

  #burst(packets: readonly Uint8Array[], count: number): number {
    const max = this.maxPacketSize;
    for (let i = 0; i < count; i++) {
      const p = packets[i];
      if (!(p instanceof Uint8Array) || p.length === 0 || p.length > max) {
        throw new InvalidArgumentError(
          `packets[${i}] must be a non-empty Buffer or Uint8Array of at most ${max} bytes (ring size × buffer size)`,
        );
      }
    }
    if (this.fault !== undefined) return 0;
    const sent = this.#init.role === 'slave' ? this.#burstS2M(packets, count) : this.#burstM2S(packets, count);
    if (sent > 0) this.#kick();
    if (sent < count && this.fault === undefined) this.ringFull += count - sent;
    return sent;
  }

  /** Slave → master: write into our own buffers, publish head. */
  #burstS2M(packets: readonly Uint8Array[], count: number): number {
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const size = ring.size;
    const desc16 = ring.desc16;
    const desc32 = ring.desc32;
    const data = this.#init.regions[0].bytes;
    const B = this.bufferSize;
    const base = this.#init.buffersOffset;
    // Acquire: the master's reads of the slots it released happened before its store of tail.
    const tail = Atomics.load(u16, ring.tailIndex);
    let head = this.#index;
    const used = (head - tail) & 0xffff;
    if (used > size) {
      this.#setFault(`S2M ring ${this.id}: tail ${tail} is ahead of head ${head}`);
      return 0;
    }
    let free = size - used;
    let sent = 0;
    let bytes = 0;
    for (; sent < count; sent++) {
      const p = packets[sent];
      const len = p.length;
      const need = len <= B ? 1 : Math.ceil(len / B);
      if (need > free) break;
      let done = 0;
      // A chain lies in consecutive buffers: one copy for it all, or two where it wraps round.
      const s0 = head & mask;
      if (need === 1 || s0 + need <= size) data.set(p, base + s0 * B);
      else {
        const cut = (size - s0) * B;
        data.set(p.subarray(0, cut), base + s0 * B);
        data.set(p.subarray(cut), base);
      }
      for (let k = 0; k < need; k++) {
        const slot = head & mask;
        const frag = Math.min(len - done, B);
        // Region, offset and metadata of the slot were written once (see the constructor).
        u16[desc16 + slot * Desc16.STRIDE + Desc16.FLAGS] = k + 1 < need ? DESC_FLAG_NEXT : 0;
        u32[desc32 + slot * Desc32.STRIDE + Desc32.LENGTH] = frag;
        done += frag;
        head = (head + 1) & 0xffff;
      }
      free -= need;
      bytes += len;
    }
    if (sent > 0) {
      // Release: descriptors and data above are visible before the new head.
      Atomics.store(u16, ring.headIndex, head);
      this.#index = head;
      this.packets += sent;
      this.bytes += bytes;
    }
    return sent;
  }

  /** Master → slave: fill the empty buffers the slave offered, publish tail. */
  #burstM2S(packets: readonly Uint8Array[], count: number): number {
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const desc16 = ring.desc16;
    const desc32 = ring.desc32;
    const regions = this.#init.regions;
    const fragRegion = this.#fragRegion;
    const fragOffset = this.#fragOffset;
    const fragCapacity = this.#fragCapacity;
    // Acquire: the slave's refilled descriptors are visible once we see its head.
    const head = Atomics.load(u16, ring.headIndex);
    let tail = this.#index;
    let free = (head - tail) & 0xffff;
    if (free > ring.size) {
      this.#setFault(`M2S ring ${this.id}: head ${head} moved more than ${ring.size} slots past tail ${tail}`);
      return 0;
    }
    let sent = 0;
    let bytes = 0;
    let dropped = 0;
    packet: for (; sent < count; sent++) {
      const p = packets[sent];
      const len = p.length;
      // Plan: read and check each offered descriptor once, until the packet fits.
      let need = 0;
      let capacity = 0;
      while (capacity < len) {
        if (need === ring.size) {
          // Even a whole ring of the slave's buffers cannot hold it (its buffers are smaller than
          // ours): drop it and count it, as a NIC drops a frame over its MTU.
          dropped++;
          continue packet;
        }
        if (need >= free) break packet;
        const slot = (tail + need) & mask;
        const region = u16[desc16 + slot * Desc16.STRIDE + Desc16.REGION];
        const room = u32[desc32 + slot * Desc32.STRIDE + Desc32.LENGTH];
        const offset = u32[desc32 + slot * Desc32.STRIDE + Desc32.OFFSET];
        // An offered buffer must also hold at least one byte.
        if (room === 0 || !inRegions(regions, region, offset, room)) {
          this.#setFault(
            `descriptor outside the shared memory: M2S ring ${this.id} slot ${slot}, region ${region}, offset ${offset}, length ${room}`,
          );
          break packet;
        }
        fragRegion[need] = region;
        fragOffset[need] = offset;
        fragCapacity[need] = room;
        capacity += room;
        need++;
      }
      if (need === 1) {
        const slot = tail & mask;
        regions[fragRegion[0]].bytes.set(p, fragOffset[0]);
        u16[desc16 + slot * Desc16.STRIDE + Desc16.FLAGS] = 0;
        u32[desc32 + slot * Desc32.STRIDE + Desc32.LENGTH] = len;
        tail = (tail + 1) & 0xffff;
        free--;
        bytes += len;
        continue;
      }
      // A chain. Buffers that follow each other in one region (as our slave offers them) take one
      // copy for the run, so a chain that does not wrap is copied whole, with no view made.
      let done = 0;
      for (let k = 0; k < need; ) {
        const r = fragRegion[k];
        const o = fragOffset[k];
        let bytes = Math.min(len - done, fragCapacity[k]);
        let e = k + 1;
        while (e < need && fragRegion[e] === r && fragOffset[e] === o + bytes) {
          bytes += Math.min(len - done - bytes, fragCapacity[e]);
          e++;
        }
        regions[r].bytes.set(bytes === len ? p : p.subarray(done, done + bytes), o);
        done += bytes;
        k = e;
      }
      // Descriptors; region and offset stay as the slave wrote them.
      done = 0;
      for (let k = 0; k < need; k++) {
        const slot = tail & mask;
        const frag = Math.min(len - done, fragCapacity[k]);
        u16[desc16 + slot * Desc16.STRIDE + Desc16.FLAGS] = k + 1 < need ? DESC_FLAG_NEXT : 0;
        u32[desc32 + slot * Desc32.STRIDE + Desc32.LENGTH] = frag;
        done += frag;
        tail = (tail + 1) & 0xffff;
      }
      free -= need;
      bytes += len;
    }
    if (sent > 0) {
      // Release: descriptors and data above are visible before the new tail.
      Atomics.store(u16, ring.tailIndex, tail);
      this.#index = tail;
      this.packets += sent - dropped;
      this.bytes += bytes;
      this.oversized += dropped;
      this.errors += dropped;
    }
    return sent;
  }

  /**
   * One eventfd write, unless the consumer set MASK_INT (it polls). It never blocks (see
   * native/eventfd.cc); a write the peer blocked (EDEADLK) or that failed faults the queue.
   */
  #kick(): void {
    if ((Atomics.load(this.ring.u16, this.ring.flagsIndex) & RING_FLAG_MASK_INT) === 0) {
      const err = this.#init.binding.eventfdSignal(this.#init.eventfd);
      if (err !== 0) {
        const ring = this.#init.role === 'slave' ? 'S2M' : 'M2S';
        this.#setFault(
          err === errno.EDEADLK
            ? `${ring} ring ${this.id}: the peer blocked our interrupt write (eventfd saturated or made blocking)`
            : `${ring} ring ${this.id}: interrupt eventfd write failed (errno ${err})`,
        );
      }
    }
  }

  #setFault(reason: string): void {
    this.errors++;
    if (this.fault !== undefined) return;
    this.fault = reason;
    this.#init.onFault?.(reason);
  }

  /** The largest packet a whole ring of buffers can hold. */
  get maxPacketSize(): number {
    return this.ring.size * this.bufferSize;
  }

  /** Our own index (head for a slave, tail for a master). */
  /** True while this queue's zero-copy burst is out (between alloc and its commit or abort). */
  get burstLive(): boolean {
    return this.#txBurst.live;
  }

  get index(): number {
    return this.#index;
  }
}
