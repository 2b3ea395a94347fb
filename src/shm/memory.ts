// SharedMemory: the regions of one connection and who still reads or writes them. A connection
// that ends lets go of its hold; a zero-copy burst holds the memory from its alloc or receive to
// its commit, abort or release. The regions are unmapped when the last holder lets go, so a view
// handed to a native consumer (zlib, crypto, fs on the thread pool) stays valid however the peer
// leaves, or at once by revoke() (the interface or worker queue is closed).
import type { Region } from './region.js';

export class SharedMemory {
  /** The connection's own hold, plus one per live burst. */
  #holders = 1;
  #revoked = false;

  /** `regions` (by index) are owned from here on: this object unmaps them. */
  constructor(readonly regions: Region[] = []) {}

  /** A burst starts using the memory. */
  hold(): void {
    this.#holders++;
  }

  /** A holder is done with it; the last one unmaps every region. */
  drop(): void {
    if (this.#holders === 0) return;
    if (--this.#holders === 0) this.#unmap();
  }

  /** Unmaps now, whoever still holds it (close()). Views read as empty; bursts over it throw. */
  revoke(): void {
    this.#revoked = true;
    this.#holders = 0;
    this.#unmap();
  }

  /** True once revoked, or once the last holder let go. */
  get revoked(): boolean {
    return this.#revoked;
  }

  /** True while any region is still mapped. */
  get mapped(): boolean {
    return this.regions.some((r) => r.mapped);
  }

  #unmap(): void {
    this.#revoked = true;
    for (const r of this.regions) r.unmap();
  }
}
