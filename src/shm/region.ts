// A memory region: an fd and its mapping. Owns both, and releases both exactly once: the mapping
// is detached (views read as empty) and unmapped, then the fd is closed.
import { type NativeBinding, native, sys } from '../native.js';

export class Region {
  /** The whole mapping, for descriptor-addressed reads and writes. */
  readonly bytes: Uint8Array;
  readonly buffer: ArrayBuffer;
  #fd: number;

  private constructor(
    readonly index: number,
    fd: number,
    readonly size: number,
    buffer: ArrayBuffer,
    private readonly binding: NativeBinding,
  ) {
    this.#fd = fd;
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
  }

  /** Creates a sealed memfd of `size` bytes and maps it (slave side). */
  static create(index: number, size: number, name: string, binding = native()): Region {
    const fd = sys(() => binding.memfdCreate(name, size));
    return Region.adopt(index, fd, size, binding);
  }

  /** Maps a region fd received from the peer (master side). Takes ownership of `fd`, even on failure. */
  static adopt(index: number, fd: number, size: number, binding = native()): Region {
    try {
      const buffer = sys(() => binding.map(fd, size));
      return new Region(index, fd, size, buffer, binding);
    } catch (err) {
      binding.close(fd);
      throw err;
    }
  }

  /** The fd, for sending it in ADD_REGION; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** Unmaps and closes. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.binding.unmap(this.buffer);
    this.binding.close(this.#fd);
    this.#fd = -1;
  }
}
