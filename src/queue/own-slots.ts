// The fields of a slave's S2M descriptors that never change: written once per connection, so that
// the transmit loops write only flags and length per buffer.
import { Desc16, Desc32 } from '../shm/descriptor.js';
import type { Ring } from '../shm/ring.js';

/**
 * A slave's S2M ring: writes region 0, the slot's buffer offset and metadata 0 into every
 * descriptor, once per connection, so that the transmit loops write only flags and length per
 * buffer. A master only reads these fields (it clears NEXT in flags at most), and we never read
 * them back (each slot's buffer is computed from the slot): a master that scribbles on them
 * misleads only itself. Rewriting them when a worker resumes the queue writes the same values.
 * (The M2S refill rewrites every field: the master writes into those descriptors.)
 */
export function writeOwnSlots(ring: Ring, base: number, bufferSize: number): void {
  const u16 = ring.u16;
  const u32 = ring.u32;
  for (let slot = 0; slot < ring.size; slot++) {
    u16[ring.desc16 + slot * Desc16.STRIDE + Desc16.REGION] = 0;
    u32[ring.desc32 + slot * Desc32.STRIDE + Desc32.OFFSET] = base + slot * bufferSize;
    u32[ring.desc32 + slot * Desc32.STRIDE + Desc32.METADATA] = 0;
  }
}
