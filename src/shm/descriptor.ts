// A ring descriptor (§7.4) and the one check every descriptor of the peer passes before a byte it
// points at is touched. 16 bytes, little-endian, read and written through the ring's u16 and u32
// views (Ring.u16 / Ring.u32):
//
//   bytes   0      2       4        8        12        16
//           flags  region  length   offset   metadata
//   u16     +0     +1
//   u32                    +1       +2       +3
//
// Descriptor k starts at u16 index `ring.desc16 + k * Desc16.STRIDE` and at u32 index
// `ring.desc32 + k * Desc32.STRIDE`; each field is at its named index from there. The burst loops
// take the views and the start indices into locals and use these names: plain numbers, no object
// per descriptor.
import type { Region } from './region.js';

/**
 * Indices in the ring's u16 view: descriptor k starts at `ring.desc16 + k * Desc16.STRIDE`, its
 * fields are that many entries further. A const enum, so that tsc writes the numbers themselves
 * into the burst loops: V8 does not constant-fold a `const` imported from another module, and a
 * load per field per descriptor costs the receive loop up to a fifth of its rate.
 */
// biome-ignore lint/suspicious/noConstEnum: inlined by tsc on purpose (see above); internal, never exported from index.ts
export const enum Desc16 {
  /** u16 entries from one descriptor to the next (16 bytes). */
  STRIDE = 8,
  /** `flags` (bit 0: DESC_FLAG_NEXT). */
  FLAGS = 0,
  /** `region`: index of the region that holds the buffer. */
  REGION = 1,
}

/** Indices in the ring's u32 view: descriptor k starts at `ring.desc32 + k * Desc32.STRIDE` (const as Desc16). */
// biome-ignore lint/suspicious/noConstEnum: as Desc16
export const enum Desc32 {
  /** u32 entries from one descriptor to the next (16 bytes). */
  STRIDE = 4,
  /** `length`: data bytes; on an M2S slot the slave offers, the buffer's capacity. */
  LENGTH = 1,
  /** `offset`: the buffer's first byte, from the start of its region. */
  OFFSET = 2,
  /** `metadata`: written 0, ignored on read. */
  METADATA = 3,
}

/**
 * True when `length` bytes at `offset` lie inside `region`. `offset` and `length` are u32 values
 * (as read from a descriptor or a message) and region sizes are at most 2^53 - 1, so the sum is
 * exact: nothing wraps.
 */
export function fitsInRegion(region: Pick<Region, 'size'>, offset: number, length: number): boolean {
  return offset + length <= region.size;
}

/**
 * Where a peer (ADD_RING) or a handle (WorkerQueue.attach) places a ring: true when `region`
 * exists, `offset` is 4-aligned and the ring's `bytes` (ringBytes() of ring.ts) lie inside it.
 */
export function ringInRegion(region: Pick<Region, 'size'> | undefined, offset: number, bytes: number): boolean {
  return region !== undefined && offset % 4 === 0 && fitsInRegion(region, offset, bytes);
}

/**
 * THE gate for a peer's descriptor: true when region index `region` exists in `regions` (the
 * session's regions, by index) and `length` bytes at `offset` lie inside it. A master calls it on
 * every descriptor it follows (S2M data, M2S offered buffers) before touching a byte; a caller with
 * a further condition (an offered M2S buffer must hold at least one byte) states it beside the call.
 */
export function inRegions(regions: readonly Region[], region: number, offset: number, length: number): boolean {
  return region < regions.length && fitsInRegion(regions[region], offset, length);
}
