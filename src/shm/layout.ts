// Where a slave puts rings and buffers in its single region 0 (§7.2, §7.5): all S2M rings, then all
// M2S rings, then every buffer, S2M queues first. Pure arithmetic; a master never uses this file
// to find anything (it follows ADD_RING offsets and descriptors instead).
import type { RingType } from '../constants.js';
import { ringBytes as bytesOfRing } from './ring.js';

/** Sizes a slave lays its region out with. */
export interface LayoutParams {
  numS2M: number;
  numM2S: number;
  log2RingSize: number;
  bufferSize: number;
  cacheLineSize: number;
}

/** Byte offsets inside region 0. */
export interface Layout extends LayoutParams {
  ringSize: number;
  /** Bytes of one ring: header (2 cache lines) and descriptors. */
  ringBytes: number;
  /** First byte after the last ring; the buffers start here. */
  buffersOffset: number;
  /** Total bytes of region 0. */
  regionSize: number;
}

export function computeLayout(p: LayoutParams): Layout {
  const ringSize = 1 << p.log2RingSize;
  const ringBytes = bytesOfRing(p.cacheLineSize, p.log2RingSize);
  const buffersOffset = (p.numS2M + p.numM2S) * ringBytes;
  const regionSize = buffersOffset + (p.numS2M + p.numM2S) * ringSize * p.bufferSize;
  return { ...p, ringSize, ringBytes, buffersOffset, regionSize };
}

/** Offset of ring `index` of `type` inside region 0. */
export function ringOffset(l: Layout, type: RingType, index: number): number {
  return (type === 'S2M' ? index : l.numS2M + index) * l.ringBytes;
}

/** Offset of the buffer of `slot` in ring `index` of `type`. */
export function bufferOffset(l: Layout, type: RingType, index: number, slot: number): number {
  const ring = type === 'S2M' ? index : l.numS2M + index;
  return l.buffersOffset + (ring * l.ringSize + slot) * l.bufferSize;
}
