// The `netns` option: opens a network namespace file for the duration of one native call that
// creates a socket (or a TAP device) inside it (native/netns.cc), and closes it on every path.
// Also the one helper that opens a control socket, listening or connecting, in any namespace.
import { closeSync, constants, openSync } from 'node:fs';
import { SystemError } from '../errors.js';
import type { NativeBinding } from '../native.js';

/** The file behind a `netns` value: a name is /var/run/netns/NAME, a path stays as it is. */
export function netnsPath(netns: string): string {
  return netns.startsWith('/') ? netns : `/var/run/netns/${netns}`;
}

function errnoOf(err: unknown): { code: string; errno: number; syscall: string } | undefined {
  const e = err as { code?: unknown; errno?: unknown; syscall?: unknown };
  if (typeof e?.code !== 'string' || typeof e.errno !== 'number') return undefined;
  return { code: e.code, errno: Math.abs(e.errno), syscall: typeof e.syscall === 'string' ? e.syscall : '' };
}

/**
 * Calls `fn` with an open fd of the namespace `netns` (or -1 when `netns` is undefined: our own),
 * closing that fd afterwards whatever happens. Errors opening or entering the namespace become
 * SystemErrors that say what is wrong; other errors from `fn` pass through as SystemErrors.
 */
export function inNetns<T>(netns: string | undefined, fn: (nsFd: number) => T): T {
  if (netns === undefined) return fnWrapped(fn, -1, '');
  const path = netnsPath(netns);
  const label = netns === path ? path : `${JSON.stringify(netns)} (${path})`;
  let nsFd: number;
  try {
    // O_NONBLOCK: a FIFO given by mistake must not block the event loop in open(); the flag does
    // nothing to a namespace file, and setns() then refuses whatever is not one.
    nsFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // libuv adds O_CLOEXEC
  } catch (err) {
    const e = errnoOf(err);
    if (e === undefined) throw err;
    const why =
      e.code === 'ENOENT'
        ? `no network namespace ${label}: it does not exist`
        : e.code === 'EACCES' || e.code === 'EPERM'
          ? `network namespace ${label} cannot be opened (permission denied)`
          : `network namespace ${label} cannot be opened (${e.code})`;
    throw new SystemError('open', e.code, e.errno, why);
  }
  try {
    return fnWrapped(fn, nsFd, label);
  } finally {
    closeSync(nsFd);
  }
}

function fnWrapped<T>(fn: (nsFd: number) => T, nsFd: number, label: string): T {
  try {
    return fn(nsFd);
  } catch (err) {
    const e = errnoOf(err);
    if (e?.syscall === 'setns') {
      const why =
        e.code === 'EPERM'
          ? `entering network namespace ${label} needs CAP_SYS_ADMIN`
          : e.code === 'EINVAL'
            ? `${label} is not a network namespace`
            : `entering network namespace ${label} failed (${e.code})`;
      throw new SystemError('setns', e.code, e.errno, why);
    }
    throw SystemError.from(err);
  }
}

/** Where a control socket is: a name, abstract or not, and the network namespace to create it in. */
export interface ControlAddress {
  name: string;
  abstract: boolean;
  netns: string | undefined;
}

/**
 * Opens a control socket: `listen` binds and listens (mode: permission bits set before bind, 0 =
 * umask), else it connects. The fd is the caller's. Errors are SystemErrors (errno in `syscallCode`).
 */
export function openControlSocket(
  addr: ControlAddress,
  binding: NativeBinding,
  listen?: { backlog: number; mode: number },
): number {
  return inNetns(addr.netns, (nsFd) =>
    listen === undefined
      ? binding.connect(addr.name, addr.abstract, nsFd)
      : binding.listen(addr.name, addr.abstract, listen.backlog, listen.mode, nsFd),
  );
}
