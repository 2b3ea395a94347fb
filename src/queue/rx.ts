// RxQueue: the consumer side of one ring, copy mode. A master receives on an S2M ring, following
// the slave's descriptors after checking each against the regions; a slave receives on its M2S
// ring from its own buffers and refills it (§8.2, §8.3). Packets come back as Buffers the caller
// owns; chains are reassembled, and a chain cut at the published index waits for the next burst.
import { DESC_FLAG_NEXT, MAX_BUFFER_SIZE, MAX_RX_BURST_BYTES, RING_FLAG_MASK_INT } from '../constants.js';
import { StateError } from '../errors.js';
import type { NativePoller } from '../native.js';
import { Desc16, Desc32, inRegions } from '../shm/descriptor.js';
import type { Ring } from '../shm/ring.js';
import type { RxMode } from './args.js';
import type { QueueInit } from './queue-init.js';
import { RxBurst } from './rx-burst.js';

export type { RxMode } from './args.js';

/** A placeholder in RxQueue's view cache (length 0 never matches a run). */
const NO_VIEW = new Uint8Array(0);

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
  /** Packets dropped (emptyFragments), and bad ring states found (each ends the connection). */
  errors = 0;
  /** Packets dropped because one of their fragments was empty (0 bytes). */
  emptyFragments = 0;
  /** Why the peer's ring state cannot be trusted any more; the interface disconnects on it. */
  fault: string | undefined;
  mode: RxMode = 'interrupt';

  readonly #init: RxQueueInit;
  /** Next slot to read: lastHead (master, S2M) or lastTail (slave, M2S). */
  #last: number;
  /** Slave only: our head on the M2S ring (how far we have offered buffers). */
  #head: number;
  #poller: NativePoller | undefined;
  /** The packets of the current burst, as checked segments (reused for every burst). */
  readonly #rxBurst: RxBurst;
  /** Where #last goes, and the bytes counted, when the current burst is given back. */
  #pendingLast = 0;
  #pendingBytes = 0;
  /** Master: S2M slots whose NEXT flag is cleared when the burst is given back. */
  readonly #nextSlots: Uint16Array;
  #nextCount = 0;
  #closed = false;
  /**
   * Copy API: views of the shared memory that runs of segments were copied from, by a hash of
   * (region, offset) into 2 × ringSize entries (`>>> #srcShift`). Entry k views #srcLength[k]
   * bytes (0: none yet) at #srcOffset[k] of region #srcRegion[k]; all three match before reuse.
   * The regions of a queue never change, so the region index names the mapping.
   */
  readonly #srcViews: Uint8Array[];
  readonly #srcOffset: Uint32Array;
  readonly #srcLength: Uint32Array;
  readonly #srcRegion: Uint16Array;
  readonly #srcShift: number;

  constructor(init: RxQueueInit) {
    this.#init = init;
    this.id = init.id;
    this.ring = init.ring;
    this.bufferSize = init.bufferSize;
    // Master: our tail is where reading starts. Slave: the master's tail starts where we left it.
    this.#last = init.resume?.last ?? init.ring.loadTail();
    this.#head = init.resume?.head ?? init.ring.loadHead();
    this.#rxBurst = new RxBurst(init.memory, init.ring.size, () => this.#commit());
    this.#nextSlots = new Uint16Array(init.ring.size);
    const views = 2 * init.ring.size;
    this.#srcViews = new Array<Uint8Array>(views).fill(NO_VIEW);
    this.#srcOffset = new Uint32Array(views);
    this.#srcLength = new Uint32Array(views);
    this.#srcRegion = new Uint16Array(views);
    this.#srcShift = 32 - (init.ring.log2Size + 1);
  }

  /**
   * Up to `max` whole packets, oldest first, copied out; the slots go back to the peer at once.
   * One allocation per burst: every packet is a Buffer view into one block allocated for this
   * burst (never reused by us, independent of the ring), filled with one copy per run of
   * consecutive buffers (a chain that does not wrap round the ring is one copy).
   */
  burst(max: number): Buffer[] {
    this.#assertIdle();
    const n = this.#walk(max);
    const b = this.#rxBurst;
    const out = new Array<Buffer>(n);
    if (n > 0) {
      // Buffer.allocUnsafe: a small burst comes from Node's shared pool, a larger one is its own
      // ArrayBuffer; either way nothing writes to it after this call.
      const block = Buffer.allocUnsafe(this.#pendingBytes);
      const ab = block.buffer;
      const regions = this.#init.regions;
      const reg = b.segRegion;
      const off = b.segOffset;
      const seg = b.segLength;
      const first = b.first;
      const plen = b.packetLength;
      const views = this.#srcViews;
      const viewOffset = this.#srcOffset;
      const viewLength = this.#srcLength;
      const viewRegion = this.#srcRegion;
      const shift = this.#srcShift;
      let at = block.byteOffset;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const end = first[i + 1];
        const len = plen[i];
        out[i] = Buffer.from(ab, at, len);
        // Segments that follow each other in one region (consecutive buffers) go in one copy.
        while (s < end) {
          const r = reg[s];
          const o = off[s];
          let bytes = seg[s++];
          while (s < end && reg[s] === r && off[s] === o + bytes) bytes += seg[s++];
          // The source: a view of exactly these bytes, reused from the last time this run of
          // the region was copied (steady traffic makes no object here), or made and kept.
          const key = Math.imul(o ^ (r << 24), 0x9e3779b1) >>> shift;
          if (viewLength[key] !== bytes || viewOffset[key] !== o || viewRegion[key] !== r) {
            views[key] = new Uint8Array(regions[r].buffer, o, bytes);
            viewOffset[key] = o;
            viewLength[key] = bytes;
            viewRegion[key] = r;
          }
          block.set(views[key], at - block.byteOffset);
          at += bytes;
        }
      }
    }
    this.#commit();
    return out;
  }

  /**
   * Up to `max` whole packets left in the shared buffers (zero-copy). The same RxBurst object
   * comes back every time; call its release() when done, before the next burst of this queue.
   */
  burstZeroCopy(max: number): RxBurst {
    this.#assertIdle();
    this.#walk(max);
    this.#rxBurst.open();
    return this.#rxBurst;
  }

  #assertIdle(): void {
    if (this.#rxBurst.live) {
      throw new StateError('MEMIF_ERR_ALREADY', `rx queue ${this.id}: release the previous zero-copy burst first`);
    }
  }

  /**
   * Reads the published descriptors from #last into the burst's segment arrays, checking each
   * before it is used: the master follows the peer's region/offset (inside a region, or fault);
   * the slave reads its own buffer for the slot (length within its buffer size, or fault).
   * Whole packets only; a chain cut at the published index waits. Nothing is given back yet.
   */
  #walk(max: number): number {
    const b = this.#rxBurst;
    b.count = 0;
    b.first[0] = 0;
    this.#pendingLast = this.#last;
    this.#pendingBytes = 0;
    this.#nextCount = 0;
    if (this.fault !== undefined) return 0;
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const desc16 = ring.desc16;
    const desc32 = ring.desc32;
    const master = this.#init.role === 'master';
    let avail: number;
    if (master) {
      // Acquire: descriptors and data the slave wrote before its head store are visible.
      const head = Atomics.load(u16, ring.headIndex);
      avail = (head - this.#last) & 0xffff;
      if (avail > ring.size) {
        this.#setFault(`S2M ring ${this.id}: head ${head} moved more than ${ring.size} slots past tail ${this.#last}`);
        return 0;
      }
    } else {
      // Acquire: descriptors and data the master wrote before its tail store are visible.
      const tail = Atomics.load(u16, ring.tailIndex);
      avail = (tail - this.#last) & 0xffff;
      if (avail > ((this.#head - this.#last) & 0xffff)) {
        this.#setFault(`M2S ring ${this.id}: tail ${tail} moved past the buffers offered (head ${this.#head})`);
        return 0;
      }
    }
    const regions = this.#init.regions;
    const B = this.bufferSize;
    const base = this.#init.buffersOffset;
    const segRegion = b.segRegion;
    const segOffset = b.segOffset;
    const segLength = b.segLength;
    const nextSlots = this.#nextSlots;
    let cur = this.#last;
    let consumed = 0;
    let packets = 0;
    let seg = 0;
    let bytes = 0;
    let nc = 0;
    packet: while (packets < max && consumed < avail) {
      const start = seg;
      const nextStart = nc;
      let n = 0;
      let total = 0;
      let empty = false;
      for (;;) {
        if (consumed + n >= avail) {
          // The chain goes on past what is published: wait for the rest, unless it alone already
          // fills the whole ring, so that its end can never come.
          if (n === ring.size) this.#setFault(`ring ${this.id}: a chained packet is longer than the whole ring`);
          seg = start;
          nc = nextStart;
          break packet;
        }
        const slot = (cur + n) & mask;
        const d16 = desc16 + slot * Desc16.STRIDE;
        const d32 = desc32 + slot * Desc32.STRIDE;
        const flags = u16[d16 + Desc16.FLAGS];
        const length = u32[d32 + Desc32.LENGTH];
        let region = 0;
        let offset: number;
        if (master) {
          region = u16[d16 + Desc16.REGION];
          offset = u32[d32 + Desc32.OFFSET];
          if (!inRegions(regions, region, offset, length)) {
            this.#setFault(
              `descriptor outside the shared memory: S2M ring ${this.id} slot ${slot}, region ${region}, offset ${offset}, length ${length}`,
            );
            seg = start;
            nc = nextStart;
            break packet;
          }
          if (length > MAX_BUFFER_SIZE) {
            this.#setFault(
              `S2M ring ${this.id} slot ${slot}: length ${length} is longer than any memif buffer (${MAX_BUFFER_SIZE})`,
            );
            seg = start;
            nc = nextStart;
            break packet;
          }
        } else {
          offset = base + slot * B;
          if (length > B) {
            this.#setFault(`M2S ring ${this.id} slot ${slot}: length ${length} exceeds the buffer size ${B}`);
            seg = start;
            break packet;
          }
        }
        if (length === 0) empty = true;
        segRegion[seg] = region;
        segOffset[seg] = offset;
        segLength[seg] = length;
        seg++;
        total += length;
        n++;
        if ((flags & DESC_FLAG_NEXT) === 0) break;
        // A DPDK 22.11 client does not rewrite flags on a packet's first descriptor: the NEXT bits
        // we consume are cleared on release, so no stale one merges later frames (peers.md).
        if (master) nextSlots[nc++] = slot;
      }
      if (bytes + total > MAX_RX_BURST_BYTES) {
        // Stop before this packet; alone, it is larger than any burst may hold: the peer lies.
        if (packets === 0) {
          this.#setFault(`ring ${this.id}: a packet of ${total} bytes, more than ${MAX_RX_BURST_BYTES} accepted`);
        }
        seg = start;
        nc = nextStart;
        break;
      }
      cur = (cur + n) & 0xffff;
      consumed += n;
      if (empty) {
        // A packet with an empty fragment is dropped (VPP does the same), and counted.
        this.errors++;
        this.emptyFragments++;
        seg = start;
        continue;
      }
      b.packetLength[packets] = total;
      packets++;
      b.first[packets] = seg;
      bytes += total;
    }
    b.count = packets;
    this.#nextCount = nc;
    this.#pendingLast = cur;
    this.#pendingBytes = bytes;
    return packets;
  }

  /** Gives what #walk consumed back to the peer: one release-store of tail (master) or a refill (slave). */
  #commit(): void {
    if (this.#closed) return;
    const ring = this.ring;
    const u16 = ring.u16;
    for (let k = 0; k < this.#nextCount; k++) u16[ring.desc16 + this.#nextSlots[k] * Desc16.STRIDE + Desc16.FLAGS] = 0;
    this.#nextCount = 0;
    this.#last = this.#pendingLast;
    this.packets += this.#rxBurst.count;
    this.bytes += this.#pendingBytes;
    if (this.#init.role === 'master') {
      // Release: our reads of the consumed buffers are done before the slave sees the new tail.
      Atomics.store(u16, ring.tailIndex, this.#last);
    } else {
      this.refill();
    }
  }

  /** Slave: offer every free M2S slot again as an empty buffer of bufferSize bytes (§8.3). */
  refill(): void {
    if (this.#init.role !== 'slave' || this.fault !== undefined || this.#closed) return;
    const ring = this.ring;
    const u16 = ring.u16;
    const u32 = ring.u32;
    const mask = ring.mask;
    const B = this.bufferSize;
    const base = this.#init.buffersOffset;
    let head = this.#head;
    const n = ring.size - ((head - this.#last) & 0xffff);
    if (n === 0) return;
    // Every field: the master writes flags and length into these descriptors, and may have
    // written the others (a DPDK 22.11 master leaves a stale NEXT otherwise, peers.md).
    for (let i = 0; i < n; i++) {
      const slot = head & mask;
      const d16 = ring.desc16 + slot * Desc16.STRIDE;
      const d32 = ring.desc32 + slot * Desc32.STRIDE;
      u16[d16 + Desc16.FLAGS] = 0;
      u16[d16 + Desc16.REGION] = 0;
      u32[d32 + Desc32.LENGTH] = B;
      u32[d32 + Desc32.OFFSET] = base + slot * B;
      u32[d32 + Desc32.METADATA] = 0;
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
      this.#poller = new b.Poller(this.#init.eventfd, (status) => this.#onPoll(status));
    }
    this.#poller.start(b.READABLE);
    setImmediate(() => {
      if (this.mode === 'interrupt' && this.#poller !== undefined) this.#init.onInterrupt(this.id);
    });
  }

  /**
   * The eventfd is readable: drain it (never blocks) and report the interrupt. A poll error or a
   * failed read means the fd is not behaving as an eventfd: stop watching it and fault the queue.
   */
  #onPoll(status: number): void {
    if (this.#closed) return;
    const n = status < 0 ? status : this.#init.binding.eventfdDrain(this.#init.eventfd);
    if (n < 0) {
      this.#poller?.stop();
      this.#setFault(`${this.#ringName} ring ${this.id}: interrupt eventfd failed (errno ${-n})`);
      return;
    }
    this.#init.onInterrupt(this.id);
  }

  get #ringName(): string {
    return this.#init.role === 'master' ? 'S2M' : 'M2S';
  }

  /**
   * Stops watching the eventfd (before the connection's fds are closed). A zero-copy burst still
   * held stays readable (its memory stays mapped) until its release(), which then gives nothing
   * back to the ring.
   */
  close(): void {
    this.#poller?.close();
    this.#poller = undefined;
    this.#closed = true;
  }

  #setFault(reason: string): void {
    this.errors++;
    if (this.fault !== undefined) return;
    this.fault = reason;
    this.#init.onFault?.(reason);
  }

  /** Next slot this queue reads. */
  /** True while this queue's zero-copy burst is out (between burstZeroCopy and its release). */
  get burstLive(): boolean {
    return this.#rxBurst.live;
  }

  get last(): number {
    return this.#last;
  }

  /** Slave: how far buffers have been offered (head). */
  get head(): number {
    return this.#head;
  }
}
