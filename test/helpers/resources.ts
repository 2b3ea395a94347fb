// What a process holds: open fds, memfd mappings (from /proc/self/maps), and the addon's own count
// of live mappings. Tests compare a snapshot before create() with one after close().
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { native } from '../../src/native.js';

export interface Resources {
  /** fd number → what it points to. */
  fds: Map<string, string>;
  /** Lines of /proc/self/maps that map a memfd. */
  memfdMaps: string[];
  /** Live mappings made by the addon. */
  addonMappings: number;
}

export function snapshot(): Resources {
  const fds = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      fds.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // the fd readdir itself used, closed by now
    }
  }
  const memfdMaps = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/memfd:'));
  return { fds, memfdMaps, addonMappings: native().mappingCount() };
}

/** Lets pending closes (uv_close callbacks, timers) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

/** fds open now that were not in `before` (ignoring the one readdir used). */
export function newFds(before: Resources, after: Resources): string[] {
  const extra: string[] = [];
  for (const [fd, target] of after.fds) {
    if (before.fds.get(fd) !== target) extra.push(`${fd} -> ${target}`);
  }
  return extra;
}
