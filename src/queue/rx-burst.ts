// RxBurst: one zero-copy receive burst — its packets left in the shared buffers, each seen as its
// segments (region, offset, length), already checked against the regions. One object per queue,
// reused for every burst: no allocation per packet or per burst. Every accessor throws once the
// burst is released, so a stale burst cannot be mistaken for the next one. A live burst holds the
// connection's memory: it stays mapped until release(), even if the peer leaves first.
import { isUint8Array } from 'node:util/types';
import { describe, InvalidArgumentError, StateError } from '../errors.js';
import type { SharedMemory } from '../shm/memory.js';
import type { Region } from '../shm/region.js';

export class RxBurst {
  /** Packets in this burst. */
  count = 0;
  readonly #regions: readonly Region[];
  /**
   * Bulk access, for loops that check once per burst instead of once per call; valid for packets
   * [0, count) until release(). Packet i's segments are [first[i], first[i + 1]) of segRegion,
   * segOffset and segLength (each already checked to lie inside its region; never 0 bytes);
   * packetLength[i] is its total. Read-only: copy(), view() and TxBurst.pushFrom() read them too,
   * so writing here misleads those (never beyond a mapping: every copy is bounded by its typed
   * arrays) and nothing else; the ring itself is released from the queue's own state.
   */
  readonly segRegion: Uint16Array;
  readonly segOffset: Uint32Array;
  readonly segLength: Uint32Array;
  readonly first: Uint16Array;
  readonly packetLength: Uint32Array;
  #live = false;
  readonly #memory: SharedMemory;
  readonly #release: () => void;

  /** @internal Built by RxQueue; `capacity` is the ring size. */
  constructor(memory: SharedMemory, capacity: number, release: () => void) {
    this.#memory = memory;
    this.#regions = memory.regions;
    this.segRegion = new Uint16Array(capacity);
    this.segOffset = new Uint32Array(capacity);
    this.segLength = new Uint32Array(capacity);
    this.first = new Uint16Array(capacity + 1);
    this.packetLength = new Uint32Array(capacity);
    this.#release = release;
  }

  /** @internal */
  open(): void {
    this.#live = true;
    this.#memory.hold();
  }

  /** True until release(). */
  get live(): boolean {
    return this.#live;
  }

  /** Total bytes of packet `i`. */
  length(i: number): number {
    this.#check(i);
    return this.packetLength[i];
  }

  /** Number of segments (buffers) of packet `i`: 1 unless it was chained. */
  segments(i: number): number {
    this.#check(i);
    return this.first[i + 1] - this.first[i];
  }

  /** Region index of segment `seg` of packet `i`. */
  region(i: number, seg = 0): number {
    return this.segRegion[this.#segment(i, seg)];
  }

  /** Offset in its region of segment `seg` of packet `i`. */
  offset(i: number, seg = 0): number {
    return this.segOffset[this.#segment(i, seg)];
  }

  /** Bytes in segment `seg` of packet `i`. */
  segmentLength(i: number, seg = 0): number {
    return this.segLength[this.#segment(i, seg)];
  }

  /** The whole mapping of region `r` (the same object every time): read packet bytes from it in place. */
  bytes(r: number): Uint8Array {
    if (!this.#live || this.#memory.revoked) throw released(this.#live);
    const region = Number.isInteger(r) ? this.#regions[r] : undefined;
    if (region === undefined) throw new InvalidArgumentError(`no region ${describe(r)}`);
    return region.bytes;
  }

  /**
   * Packet `i` as one Uint8Array: a view into shared memory for a single segment (valid until
   * release(); it allocates the view object), or a gathered copy for a chain.
   */
  view(i: number): Uint8Array {
    this.#check(i);
    const s = this.first[i];
    if (this.first[i + 1] - s === 1) {
      const off = this.segOffset[s];
      return this.#regions[this.segRegion[s]].bytes.subarray(off, off + this.segLength[s]);
    }
    const out = Buffer.allocUnsafe(this.packetLength[i]);
    this.copy(i, out);
    return out;
  }

  /** Copies packet `i` (all its segments) into `target` at `at`; returns the bytes copied. */
  copy(i: number, target: Uint8Array, at = 0): number {
    this.#check(i);
    const len = this.packetLength[i];
    if (!isUint8Array(target)) throw new InvalidArgumentError(`target must be a Uint8Array; got ${describe(target)}`);
    if (!(Number.isInteger(at) && at >= 0 && at + len <= target.length)) {
      throw new InvalidArgumentError(
        `target has room for ${target.length} bytes; packet ${i} has ${len}, to copy at ${describe(at)}`,
      );
    }
    this.#gather(i, target, at);
    return len;
  }

  /**
   * Copies packet `i`'s segments into `target` at `at`, unchecked (copy() checks first). Segments
   * that follow each other in one region (consecutive buffers) go in one copy.
   */
  #gather(i: number, target: Uint8Array, at: number): void {
    const reg = this.segRegion;
    const off = this.segOffset;
    const seg = this.segLength;
    for (let s = this.first[i], end = this.first[i + 1]; s < end; ) {
      let e = s + 1;
      let n = seg[s];
      while (e < end && reg[e] === reg[s] && off[e] === off[e - 1] + seg[e - 1]) n += seg[e++];
      target.set(this.#regions[reg[s]].bytes.subarray(off[s], off[s] + n), at);
      at += n;
      s = e;
    }
  }

  /**
   * Gives the buffers back to the peer (one index store for the whole burst; nothing if the link
   * went down meanwhile) and lets go of the memory. Idempotent.
   */
  release(): void {
    if (!this.#live) return;
    this.#live = false;
    try {
      this.#release();
    } finally {
      this.#memory.drop();
    }
  }

  #check(i: number): void {
    if (!this.#live || this.#memory.revoked) throw released(this.#live);
    // Number.isInteger first: it never runs user code (a comparison would call valueOf).
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new InvalidArgumentError(`packet index must be from 0 to ${this.count - 1}; got ${describe(i)}`);
    }
  }

  #segment(i: number, seg: number): number {
    this.#check(i);
    const first = this.first[i];
    if (!(Number.isInteger(seg) && seg >= 0 && first + seg < this.first[i + 1])) {
      throw new InvalidArgumentError(`packet ${i} has ${this.first[i + 1] - first} segment(s); got ${describe(seg)}`);
    }
    return first + seg;
  }
}

function released(live: boolean): StateError {
  return new StateError(
    'MEMIF_ERR_NOCONN',
    live
      ? "the interface was closed: this zero-copy burst's memory is unmapped"
      : 'this zero-copy burst was released; its buffers belong to the peer again',
  );
}
