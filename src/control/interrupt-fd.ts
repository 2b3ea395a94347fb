// The check a ring's interrupt fd passes before we poll it or write to it: it must be an eventfd
// in counter mode. Anything else a peer could send instead (a pipe, a socket, a semaphore-mode
// eventfd) would make our poller spin, our reads fail or our writes block. The kernel names what
// an fd is in /proc/self/fd and shows an eventfd's mode in /proc/self/fdinfo.
import { readFileSync, readlinkSync } from 'node:fs';

/** Why `fd` cannot serve as a ring's interrupt fd, or undefined when it can. */
export function eventfdProblem(fd: number): string | undefined {
  let target: string;
  let fdinfo: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
    fdinfo = readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
  } catch (err) {
    return `interrupt fd cannot be inspected (${(err as { code?: string }).code ?? 'error'}; is /proc mounted?)`;
  }
  if (target !== 'anon_inode:[eventfd]') return `interrupt fd is not an eventfd (${target.slice(0, 40)})`;
  if (/^eventfd-semaphore:\s*1\s*$/m.test(fdinfo)) return 'interrupt eventfd is in semaphore mode';
  return undefined;
}
