// The only importer of the compiled addon: loads it, types every function it exports, and turns
// errno errors into SystemError. Nothing here knows the memif protocol.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemifError, SystemError } from './errors.js';

/** A readiness watcher on one fd (libuv uv_poll). */
export interface NativePoller {
  /** Start (or change) watching; `events` is a mask of READABLE / WRITABLE / DISCONNECT. */
  start(events: number): void;
  stop(): void;
  /** Stop for good and remove the fd from epoll at once; no callback runs afterwards. */
  close(): void;
}

/** fds claimed from a hand-off (see handoffClaim): closed by close(), by GC, or when the thread's environment ends. */
export interface OwnedFds {
  /** How many fds were handed over. */
  readonly count: number;
  /** fd `i`, still owned by this object; -1 once taken or closed. */
  fd(i: number): number;
  /** fd `i`, now the caller's to close; -1 if taken already. */
  take(i: number): number;
  /** Closes every fd not taken. Idempotent. */
  close(): void;
}

/** What the addon exports, function by function. */
export interface NativeBinding {
  /** nsFd: an open network namespace file to create the socket in (control/netns.ts); -1 or absent: ours. */
  listen(name: string, abstract: boolean, backlog: number, mode: number, nsFd?: number): number;
  accept(fd: number): number;
  /** nsFd: as for listen. */
  connect(name: string, abstract: boolean, nsFd?: number): number;
  send(fd: number, bytes: Uint8Array, passFd: number): number;
  /**
   * Receives one message into `into`: its length, 0 when the peer closed, -1 when nothing is pending.
   * `meta` (an Int32Array of 3) gets [0] the first fd received or -1, [1] how many more came (closed
   * already), [2] bit 0 MSG_TRUNC, bit 1 MSG_CTRUNC. The peer's credentials: peerCredentials().
   */
  recv(fd: number, into: Uint8Array, meta: Int32Array): number;
  peerCredentials(fd: number): [pid: number, uid: number, gid: number];
  close(fd: number): void;
  dup(fd: number): number;
  memfdCreate(name: string, size: number): number;
  map(fd: number, size: number): ArrayBuffer;
  unmap(buffer: ArrayBuffer): boolean;
  mappingCount(): number;
  sealShrink(fd: number): number;
  eventfdCreate(): number;
  /** 0, or the errno of a failed write: EDEADLK when the peer blocked it (see native/eventfd.cc). */
  eventfdSignal(fd: number): number;
  /** The counter (0 if nothing was pending) or −errno; never blocks, never throws for a bad fd. */
  eventfdDrain(fd: number): number;
  /** Duplicates `fds` into a process-wide table; returns the token that claims them. */
  handoffCreate(fds: Int32Array): number;
  /** The fds of `token`, once; null if unknown or claimed already. */
  handoffClaim(token: number): OwnedFds | null;
  /** The file size of each fd of an unclaimed `token` (-1: fstat failed), without claiming; null if unknown or claimed. */
  handoffSizes(token: number): number[] | null;
  /** Closes the fds of `token` if still unclaimed; true if it was. */
  handoffDiscard(token: number): boolean;
  /**
   * Creates (or attaches to) the TAP device `name` ('' = tapN chosen by the kernel; at most 15 bytes),
   * IFF_NO_PI, brought up, inside the network namespace of nsFd (-1: ours). Returns its
   * non-blocking fd (one Ethernet frame per read/write) and the device's name.
   */
  tapOpen(name: string, nsFd: number): [fd: number, name: string];
  Poller: new (fd: number, callback: (status: number, events: number) => void) => NativePoller;
  READABLE: number;
  WRITABLE: number;
  DISCONNECT: number;
}

function load(): NativeBinding {
  if (process.platform !== 'linux') {
    throw new MemifError('MEMIF_ERR_UNSUPPORTED', `memif works on Linux only, not on ${process.platform}`);
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new MemifError(
      'MEMIF_ERR_UNSUPPORTED',
      'memif stores its fields in host order; big-endian hosts are not supported',
    );
  }
  const require = createRequire(import.meta.url);
  // For tests only: MEMIF_NATIVE_ADDON=<absolute path of a memif_native.node> loads that build
  // instead, e.g. the AddressSanitizer build of scripts/test-asan.mjs (docs/testing.md).
  const override = process.env.MEMIF_NATIVE_ADDON;
  if (override) {
    if (!override.startsWith('/') || !existsSync(override)) {
      throw new MemifError(
        'MEMIF_ERR_NOT_INIT',
        `MEMIF_NATIVE_ADDON must be the absolute path of a built memif_native.node; there is none at ${JSON.stringify(override)}`,
      );
    }
    return require(override) as NativeBinding;
  }
  // dist/native.js and out/src/native.js: the package root is the nearest folder up with binding.gyp.
  // There node-gyp-build picks build/Release/memif_native.node (built from source: a git clone, or an
  // install without a fitting prebuild), else prebuilds/linux-<arch>/memif-ts.glibc.node.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && !existsSync(join(dir, 'binding.gyp')); i++) dir = dirname(dir);
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  let path: string;
  try {
    path = nodeGypBuild.resolve(dir);
  } catch (err) {
    throw new MemifError(
      'MEMIF_ERR_NOT_INIT',
      `the native addon is neither built nor prebuilt for ${process.platform}-${process.arch}; run "npm install" (or "npm run build:native") in the memif-ts folder (${String(err).trim()})`,
    );
  }
  return require(path) as NativeBinding;
}

let binding: NativeBinding | undefined;

/** The addon, loaded on first use. */
export function native(): NativeBinding {
  binding ??= load();
  return binding;
}

/** Calls `fn`, turning an errno error from the addon into a SystemError. */
export function sys<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw SystemError.from(err);
  }
}
