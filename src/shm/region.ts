// A memory region: an fd and its mapping. Owns both and releases each exactly once: the fd can be
// closed early (a connection that ended keeps only the mapping while a burst still reads it); the
// mapping is detached (views read as empty) and unmapped last.
import { constants } from 'node:buffer';
import { MemifError } from '../errors.js';
import { type NativeBinding, native, sys } from '../native.js';

/**
 * The largest region this runtime can map: a mapping is an ArrayBuffer, and one larger than the
 * runtime's largest (4 GiB on Node 20) cannot be made. Refused before mapping.
 */
export const MAX_REGION_SIZE = constants.MAX_LENGTH;

export class Region {
  /** The whole mapping, for descriptor-addressed reads and writes. */
  readonly bytes: Uint8Array;
  readonly buffer: ArrayBuffer;
  #fd: number;
  #mapped = true;

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
    checkSize(index, size);
    const fd = sys(() => binding.memfdCreate(name, size));
    return Region.adopt(index, fd, size, binding);
  }

  /**
   * Maps a region fd received from the peer or handed to this thread. Takes ownership of `fd`,
   * even on failure. `keepFd: false` closes it as soon as it is mapped (a worker's copy: nothing
   * needs the fd later, and a mapping needs no fd).
   */
  static adopt(index: number, fd: number, size: number, binding = native(), keepFd = true): Region {
    let region: Region;
    try {
      checkSize(index, size);
      const buffer = sys(() => binding.map(fd, size));
      region = new Region(index, fd, size, buffer, binding);
    } catch (err) {
      binding.close(fd);
      throw err;
    }
    if (!keepFd) region.closeFd();
    return region;
  }

  /** The fd, for sending it in ADD_REGION or handing it to a worker; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** False once unmapped: `bytes` then reads as empty. */
  get mapped(): boolean {
    return this.#mapped;
  }

  /** Closes the fd; the mapping stays. Idempotent. */
  closeFd(): void {
    if (this.#fd < 0) return;
    this.binding.close(this.#fd);
    this.#fd = -1;
  }

  /** Detaches and unmaps. Idempotent. */
  unmap(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    this.binding.unmap(this.buffer);
  }

  /** Unmaps and closes. Idempotent. */
  close(): void {
    this.unmap();
    this.closeFd();
  }
}

function checkSize(index: number, size: number): void {
  if (!(Number.isSafeInteger(size) && size > 0 && size <= MAX_REGION_SIZE)) {
    throw new MemifError(
      'MEMIF_ERR_NOMEM',
      `region ${index}: size ${size} cannot be mapped (1 to ${MAX_REGION_SIZE} bytes in this runtime)`,
    );
  }
}
