// RxQueue: the consumer side of one ring, copy mode. A master receives on an S2M ring, following
// the slave's descriptors after checking each against the regions; a slave receives on its M2S
// ring from its own buffers and refills it (§8.2, §8.3). Packets come back as Buffers the caller
// owns; chains are reassembled, and a chain cut at the published index waits for the next burst.
import { DESC_FLAG_NEXT, RING_FLAG_MASK_INT } from '../constants.js';
import type { NativePoller } from '../native.js';
import type { Ring } from '../shm/ring.js';
import type { QueueInit } from './queue-init.js';

/** How a queue learns that packets arrived. */
export type RxMode = 'interrupt' | 'polling';

/** An RxQueue also needs to tell its interface about interrupts. */
export interface RxQueueInit extends QueueInit {
  /** Called (on the event loop) when the eventfd fires or after a switch to interrupt mode. */
  onInterrupt: (queueId: number) => void;
}

export class RxQueue {
  readonly id: number;
  readonly ring: Ring;
  readonly bufferSize: number;
  packets = 0;
  bytes = 0;
  /** Packets dropped because a fragment was empty. */
  errors = 0;
  /** Why the peer's ring state cannot be trusted any more; the interface disconnects on it. */
  fault: string | undefined;
  mode: RxMode = 'interrupt';

  readonly #init: RxQueueInit;
  /** Next slot to read: lastHead (master, S2M) or lastTail (slave, M2S). */
  #last: number;
  /** Slave only: our head on the M2S ring (how far we have offered buffers). */
  #head: number;
  #poller: NativePoller | undefined;
  // Scratch for one packet's fragments, read once from the descriptors, then copied.
  readonly #fragRegion: Uint16Array;
  readonly #fragOffset: Uint32Array;
  readonly #fragLength: Uint32Array;

  constructor(init: RxQueueInit) {
    this.#init = init;
    this.id = init.id;
    this.ring = init.ring;
    this.bufferSize = init.bufferSize;
    // Master: our tail is where reading starts. Slave: the master's tail starts where we left it.
    this.#last = init.ring.loadTail();
    this.#head = init.ring.loadHead();
    this.#fragRegion = new Uint16Array(init.ring.size);
    this.#fragOffset = new Uint32Array(init.ring.size);
    this.#fragLength = new Uint32Array(init.ring.size);
  }

  /** Up to `max` whole packets, oldest first. */
  burst(max: number): Buffer[] {
    if (this.fault !== undefined) return [];
    if (this.#init.role === 'master') return this.#burstS2M(max);
    const out = this.#burstM2S(max);
    this.refill();
    return out;
  }

  /** Master: read what the slave published on S2M, then release the slots (tail). */
  #burstS2M(max: number): Buffer[] {
    const ring = this.ring;
    const u16 = ring.u16;
    // Acquire: descriptors and data the slave wrote before its head store are visible.
    const head = Atomics.load(u16, ring.headIndex);
    const avail = (head - this.#last) & 0xffff;
    if (avail > ring.size) {
      this.#setFault(`S2M ring ${this.id}: head ${head} moved more than ${ring.size} slots past tail ${this.#last}`);
      return [];
    }
    const out = this.#collect(max, avail, avail === ring.size, true);
    // Release: our reads of the consumed buffers are done before the slave sees the new tail.
    Atomics.store(u16, ring.tailIndex, this.#last);
    return out;
  }

  /** Slave: read what the master filled on M2S (it advanced tail). */
  #burstM2S(max: number): Buffer[] {
    const ring = this.ring;
    // Acquire: descriptors and data the master wrote before its tail store are visible.
    const tail = Atomics.load(ring.u16, ring.tailIndex);
    const avail = (tail - this.#last) & 0xffff;
    const offered = (this.#head - this.#last) & 0xffff;
    if (avail > offered) {
      this.#setFault(`M2S ring ${this.id}: tail ${tail} moved past the buffers offered (head ${this.#head})`);
      return [];
    }
    return this.#collect(max, avail, avail === ring.size, false);
  }

  /**
   * Walks `avail` published descriptors from #last, copying whole packets out. `validateAddress`:
   * the master follows the peer's region/offset (checked here); the slave reads its own buffers.
   */
  #collect(max: number, avail: number, ringFull: boolean, validateAddress: boolean): Buffer[] {
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const desc16 = ring.desc16;
    const desc32 = ring.desc32;
    const regions = this.#init.regions;
    const B = this.bufferSize;
    const base = this.#init.buffersOffset;
    const fragRegion = this.#fragRegion;
    const fragOffset = this.#fragOffset;
    const fragLength = this.#fragLength;
    const out: Buffer[] = [];
    let cur = this.#last;
    let consumed = 0;
    let bytes = 0;
    packet: while (out.length < max && consumed < avail) {
      let n = 0;
      let total = 0;
      let empty = false;
      for (;;) {
        if (consumed + n >= avail) {
          // The chain goes on past what is published: wait for the rest, unless it never can come.
          if (ringFull) this.#setFault(`ring ${this.id}: a chained packet is longer than the whole ring`);
          break packet;
        }
        const slot = (cur + n) & mask;
        const d16 = desc16 + slot * 8;
        const d32 = desc32 + slot * 4;
        const flags = u16[d16];
        const length = u32[d32 + 1];
        let region = 0;
        let offset: number;
        if (validateAddress) {
          region = u16[d16 + 1];
          offset = u32[d32 + 2];
          if (region >= regions.length || offset + length > regions[region].size) {
            this.#setFault(
              `descriptor outside the shared memory: S2M ring ${this.id} slot ${slot}, region ${region}, offset ${offset}, length ${length}`,
            );
            break packet;
          }
        } else {
          offset = base + slot * B;
          if (length > B) {
            this.#setFault(`M2S ring ${this.id} slot ${slot}: length ${length} exceeds the buffer size ${B}`);
            break packet;
          }
        }
        if (length === 0) empty = true;
        fragRegion[n] = region;
        fragOffset[n] = offset;
        fragLength[n] = length;
        total += length;
        n++;
        if ((flags & DESC_FLAG_NEXT) === 0) break;
      }
      if (empty) {
        this.errors++;
      } else {
        const buf = Buffer.allocUnsafe(total);
        let at = 0;
        for (let k = 0; k < n; k++) {
          const src = regions[fragRegion[k]].bytes;
          const off = fragOffset[k];
          buf.set(src.subarray(off, off + fragLength[k]), at);
          at += fragLength[k];
        }
        out.push(buf);
        bytes += total;
      }
      // A DPDK 22.11 client does not rewrite flags on a packet's first descriptor: clear the NEXT
      // bits we consumed so no stale one merges later frames (peers.md). The slave refills its own.
      if (validateAddress && n > 1) {
        for (let k = 0; k < n - 1; k++) u16[desc16 + ((cur + k) & mask) * 8] = 0;
      }
      cur = (cur + n) & 0xffff;
      consumed += n;
    }
    this.#last = cur;
    this.packets += out.length;
    this.bytes += bytes;
    return out;
  }

  /** Slave: offer every free M2S slot again as an empty buffer of bufferSize bytes (§8.3). */
  refill(): void {
    if (this.#init.role !== 'slave' || this.fault !== undefined) return;
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const B = this.bufferSize;
    const base = this.#init.buffersOffset;
    let head = this.#head;
    const n = ring.size - ((head - this.#last) & 0xffff);
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      const slot = head & mask;
      const d16 = ring.desc16 + slot * 8;
      const d32 = ring.desc32 + slot * 4;
      u16[d16] = 0;
      u16[d16 + 1] = 0;
      u32[d32 + 1] = B;
      u32[d32 + 2] = base + slot * B;
      u32[d32 + 3] = 0;
      head = (head + 1) & 0xffff;
    }
    // Release: the descriptors are written before the master sees them offered.
    Atomics.store(u16, ring.headIndex, head);
    this.#head = head;
  }

  /** Packets published and not yet read (a cheap check before a burst). */
  get pending(): number {
    const ring = this.ring;
    const peer =
      this.#init.role === 'master' ? Atomics.load(ring.u16, ring.headIndex) : Atomics.load(ring.u16, ring.tailIndex);
    return Math.min((peer - this.#last) & 0xffff, ring.size);
  }

  /**
   * Interrupt mode: clear MASK_INT and watch the eventfd, then poll once (a producer may have
   * read the old flag). Polling mode: set MASK_INT so the producer does not signal.
   */
  setMode(mode: RxMode): void {
    this.mode = mode;
    const b = this.#init.binding;
    if (mode === 'polling') {
      this.ring.setFlags(RING_FLAG_MASK_INT);
      this.#poller?.stop();
      return;
    }
    this.ring.setFlags(0);
    if (this.#poller === undefined) {
      this.#poller = new b.Poller(this.#init.eventfd, () => {
        b.eventfdDrain(this.#init.eventfd);
        this.#init.onInterrupt(this.id);
      });
    }
    this.#poller.start(b.READABLE);
    setImmediate(() => {
      if (this.mode === 'interrupt' && this.#poller !== undefined) this.#init.onInterrupt(this.id);
    });
  }

  /** Stops watching the eventfd (before the connection's fds are closed). */
  close(): void {
    this.#poller?.close();
    this.#poller = undefined;
  }

  #setFault(reason: string): void {
    this.errors++;
    this.fault ??= reason;
  }

  /** Next slot this queue reads. */
  get last(): number {
    return this.#last;
  }

  /** Slave: how far buffers have been offered (head). */
  get head(): number {
    return this.#head;
  }
}
