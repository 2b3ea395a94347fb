// A ring descriptor (§7.4) and the one check every descriptor of the peer passes before a byte it
// points at is touched. 16 bytes, little-endian, read and written through the ring's u16 and u32
// views (Ring.u16 / Ring.u32):
//
//   bytes   0      2       4        8        12        16
//           flags  region  length   offset   metadata
//   u16     +0     +1
//   u32                    +1       +2       +3
//
// Descriptor k starts at u16 index `ring.desc16 + k * DESC16_STRIDE` and at u32 index
// `ring.desc32 + k * DESC32_STRIDE`; each field is at its named index from there. The burst loops
// take the views and the start indices into locals and use these names: plain numbers, no object
// per descriptor.
import { DESC_SIZE } from '../constants.js';
import type { Region } from './region.js';

/** u16 entries from one descriptor to the next. */
export const DESC16_STRIDE = DESC_SIZE >>> 1;
/** u32 entries from one descriptor to the next. */
export const DESC32_STRIDE = DESC_SIZE >>> 2;

/** u16 index, from the descriptor's first u16, of `flags` (bit 0: DESC_FLAG_NEXT). */
export const DESC16_FLAGS = 0;
/** u16 index, from the descriptor's first u16, of `region`. */
export const DESC16_REGION = 1;
/** u32 index, from the descriptor's first u32, of `length` (data bytes; on an offered M2S slot, its capacity). */
export const DESC32_LENGTH = 1;
/** u32 index, from the descriptor's first u32, of `offset` (first byte, from the start of `region`). */
export const DESC32_OFFSET = 2;
/** u32 index, from the descriptor's first u32, of `metadata` (written 0, ignored on read). */
export const DESC32_METADATA = 3;

/**
 * True when `length` bytes at `offset` lie inside `region`. `offset` and `length` are u32 values
 * (as read from a descriptor or a message) and region sizes are at most 2^53 - 1, so the sum is
 * exact: nothing wraps.
 */
export function fitsInRegion(region: Region, offset: number, length: number): boolean {
  return offset + length <= region.size;
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
