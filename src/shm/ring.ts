// A ring inside a region: typed views over its header and descriptors, with head and tail read and
// written through Atomics (§8.4). The burst loops take these views into locals; this file only
// computes where things are.
//
//   offset 0      cookie u32 | flags u16 | head u16 | ...padding to CL
//   offset CL     tail u16   | ...padding to 2*CL
//   offset 2*CL   desc[0] … desc[N-1], 16 bytes each (fields and bounds check: descriptor.ts):
//                 flags u16 | region u16 | length u32 | offset u32 | metadata u32
//
// head is written by the slave only, tail by the master only, flags by the ring's consumer.
import { DESC_SIZE, MEMIF_COOKIE } from '../constants.js';
import type { Region } from './region.js';

/** Bytes of a ring: its header (2 cache lines) and 2^log2Size descriptors. */
export function ringBytes(cacheLineSize: number, log2Size: number): number {
  return 2 * cacheLineSize + DESC_SIZE * 2 ** log2Size;
}

export class Ring {
  readonly size: number;
  readonly mask: number;
  /** u16 view from the ring's start. */
  readonly u16: Uint16Array;
  /** u32 view from the ring's start. */
  readonly u32: Uint32Array;
  /** Index in `u16` of the header's flags, head and tail. */
  readonly flagsIndex = 2;
  readonly headIndex = 3;
  readonly tailIndex: number;
  /** Index in `u16` of desc[0]; desc[k] starts Desc16.STRIDE entries further per k (fields: descriptor.ts). */
  readonly desc16: number;
  /** Index in `u32` of desc[0]; desc[k] starts Desc32.STRIDE entries further per k (fields: descriptor.ts). */
  readonly desc32: number;

  /**
   * Views the ring at `offset` in `region`. The caller has checked that offset is 4-aligned and that
   * 2*CL + 16*N bytes fit in the region.
   */
  constructor(
    readonly region: Region,
    readonly offset: number,
    readonly log2Size: number,
    cacheLineSize: number,
  ) {
    this.size = 1 << log2Size;
    this.mask = this.size - 1;
    const bytes = ringBytes(cacheLineSize, log2Size);
    this.u16 = new Uint16Array(region.buffer, offset, bytes >>> 1);
    this.u32 = new Uint32Array(region.buffer, offset, bytes >>> 2);
    this.tailIndex = cacheLineSize >>> 1;
    this.desc16 = cacheLineSize;
    this.desc32 = (2 * cacheLineSize) >>> 2;
  }

  /** Slave side: writes the cookie, zero flags, head and tail. */
  init(): void {
    this.u32[0] = MEMIF_COOKIE;
    this.u16[this.flagsIndex] = 0;
    Atomics.store(this.u16, this.headIndex, 0);
    Atomics.store(this.u16, this.tailIndex, 0);
  }

  get cookie(): number {
    return this.u32[0];
  }

  /** Acquire-load of head (seq-cst Atomics are at least acquire). */
  loadHead(): number {
    return Atomics.load(this.u16, this.headIndex);
  }

  /** Acquire-load of tail. */
  loadTail(): number {
    return Atomics.load(this.u16, this.tailIndex);
  }

  /** Consumer side: sets or clears the interrupt mask (the consumer owns the flags word). */
  setFlags(value: number): void {
    Atomics.store(this.u16, this.flagsIndex, value);
  }
}
