// A Linux TAP device for `memif bridge --tap`: created (or attached to) and brought up by the
// addon (native/tap.cc), optionally inside another network namespace; frames are read and written
// here, one per call, on the non-blocking fd, with the addon's Poller telling when it is readable.
// The CLI's one use of the addon directly: the public API has no TAP.
import { readSync, writeSync } from 'node:fs';
import { inNetns } from '../control/netns.js';
import { SystemError } from '../errors.js';
import { type NativeBinding, type NativePoller, native } from '../native.js';

/** The largest frame read from a TAP: a 9000-byte jumbo payload and its Ethernet header. */
export const TAP_MAX_FRAME = 9018;

function code(err: unknown): string | undefined {
  const e = err as { code?: unknown; errno?: unknown };
  if (e.errno === -77) return 'EBADFD'; // libuv has no name for it
  return typeof e.code === 'string' ? e.code : undefined;
}

/** An open TAP device. Owns its fd; close() is idempotent. */
export class Tap {
  readonly #binding: NativeBinding;
  #fd: number;
  #poller: NativePoller | undefined;

  private constructor(
    readonly name: string,
    fd: number,
    binding: NativeBinding,
  ) {
    this.#fd = fd;
    this.#binding = binding;
  }

  /**
   * Creates the TAP `name` (or attaches to an existing one) and brings it up, in network
   * namespace `netns` (a name or a path; default ours). Missing /dev/net/tun or CAP_NET_ADMIN are
   * SystemErrors saying so.
   */
  static open(name: string, netns?: string, binding = native()): Tap {
    try {
      const [fd, actual] = inNetns(netns, (nsFd) => binding.tapOpen(name, nsFd));
      return new Tap(actual, fd, binding);
    } catch (err) {
      if (!(err instanceof SystemError) || err.syscall === 'setns' || err.syscall === 'open') throw err;
      const why: Record<string, string> = {
        ENOENT: '/dev/net/tun is missing: load the tun module (modprobe tun), or give the container the device',
        EPERM: `creating or attaching TAP ${JSON.stringify(name)} needs CAP_NET_ADMIN (run as root)`,
        EACCES: `/dev/net/tun cannot be opened (permission denied); a TAP needs CAP_NET_ADMIN`,
        EBUSY: `TAP ${JSON.stringify(name)} is in use by another process`,
        EINVAL: `${JSON.stringify(name)} exists and is not a TAP device`,
        ENAMETOOLONG: `TAP name ${JSON.stringify(name)} is longer than 15 bytes`,
      };
      const msg = why[err.syscallCode];
      throw msg ? new SystemError(err.syscall, err.syscallCode, err.errno, msg) : err;
    }
  }

  /** Reads one frame into `into`: its length, or -1 when none is waiting. */
  read(into: Buffer): number {
    try {
      return readSync(this.#fd, into, 0, into.length, null);
    } catch (err) {
      if (code(err) === 'EAGAIN') return -1;
      throw this.#failure(err, 'read');
    }
  }

  /** Writes one frame; false when the device's queue is full (the frame is dropped). */
  write(frame: Uint8Array): boolean {
    try {
      writeSync(this.#fd, frame);
      return true;
    } catch (err) {
      const c = code(err);
      // EAGAIN: queue full. EIO: the device is down. EINVAL, EMSGSIZE: larger than the device takes.
      if (c === 'EAGAIN' || c === 'EIO' || c === 'EINVAL' || c === 'EMSGSIZE') return false;
      throw this.#failure(err, 'write');
    }
  }

  #failure(err: unknown, syscall: string): Error {
    if (code(err) !== 'EBADFD') return SystemError.from(err);
    return new SystemError(syscall, 'EBADFD', 77, `TAP ${this.name} is gone (the device was deleted)`);
  }

  /** Calls `onReadable` whenever a frame may be waiting, until close(). */
  watch(onReadable: () => void): void {
    if (this.#fd < 0 || this.#poller) return;
    this.#poller = new this.#binding.Poller(this.#fd, () => onReadable());
    this.#poller.start(this.#binding.READABLE);
  }

  /** Stops watching and closes the fd (a TAP we created goes away with it). */
  close(): void {
    this.#poller?.close();
    this.#poller = undefined;
    if (this.#fd >= 0) this.#binding.close(this.#fd);
    this.#fd = -1;
  }
}
