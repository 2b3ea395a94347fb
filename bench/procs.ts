// Processes of the benchmark and their cleanup: every child and testpmd instance registers a
// synchronous cleanup here (testpmd instances are killed through peers/testpmd.ts's killAllTestpmd),
// run when its row ends, on exit, on a signal or on the time bound.
// Also core pinning through taskset (util-linux) and the machine description above the table.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { killAllTestpmd } from '../peers/testpmd.js';

const cleanups = new Set<() => void>();

/** Registers `fn` to run once on exit or abort; returns a function that runs it now and unregisters. */
export function onCleanup(fn: () => void): () => void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cleanups.delete(run);
    try {
      fn();
    } catch {
      // best effort: the others must still run
    }
  };
  cleanups.add(run);
  return run;
}

/** Runs every registered cleanup and kills every testpmd still running (synchronous: usable from an 'exit' handler). */
export function cleanupAll(): void {
  for (const c of [...cleanups]) c();
  killAllTestpmd();
}

let handlersInstalled = false;

/** Cleans up on exit, SIGINT, SIGTERM, SIGHUP and uncaught errors. */
export function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`bench: ${sig}: stopping children and testpmd`);
      cleanupAll();
      process.exit(130);
    });
  }
}

/** Kills a process (and, for a group leader, its group) with SIGKILL; ignores "no such process". */
export function killHard(pid: number | undefined, group = false): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` with a message naming `what`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- pinning ----

export interface Placement {
  /** taskset works here and there are at least 2 cores. */
  pinned: boolean;
  /** Why not, if not. */
  reason: string;
}

/** Decides whether to pin, and pins this process (all its threads) to `core` if so. */
export function pinSelf(core: number): Placement {
  if (availableParallelism() < 2) return { pinned: false, reason: `only ${availableParallelism()} core` };
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
    return { pinned: true, reason: '' };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { pinned: false, reason: missing ? 'taskset not found (util-linux)' : 'taskset failed' };
  }
}

/** Spawns `cmd args`, pinned to `core` through taskset when `pin`; killed on cleanup. A number in `stdio` is an fd the child inherits at that index. */
export function spawnPinned(
  pin: boolean,
  core: number,
  cmd: string,
  args: string[],
  stdio: ('ignore' | 'inherit' | 'pipe' | 'ipc' | number)[],
): { proc: ChildProcess; cleanup: () => void } {
  const proc = pin ? spawn('taskset', ['-c', String(core), cmd, ...args], { stdio }) : spawn(cmd, args, { stdio });
  const cleanup = onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) killHard(proc.pid);
  });
  proc.once('exit', cleanup);
  return { proc, cleanup };
}

// ---- the machine ----

/** CPU time from /proc/stat, in ticks: steal (taken by the hypervisor), busy (not idle) and all; `own`: this process and its waited-for children (/proc/self/stat). */
export interface Ticks {
  steal: number;
  busy: number;
  total: number;
  own: number;
}

export function cpuTicks(): Ticks {
  const t: Ticks = { steal: 0, busy: 0, total: 0, own: 0 };
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    t.steal = v[7] ?? 0;
    t.total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    t.busy = t.total - (v[3] ?? 0) - (v[4] ?? 0) - t.steal;
    // utime stime cutime cstime: fields 14-17, counted after the ")" that ends the command name.
    const f = readFileSync('/proc/self/stat', 'utf8').split(')').pop()?.trim().split(/\s+/) ?? [];
    t.own = [11, 12, 13, 14].reduce((a, i) => a + (Number(f[i]) || 0), 0);
  } catch {
    // not Linux's /proc: report zeros
  }
  return t;
}

/** Steal between two cpuTicks() readings, in % of all CPU time. */
export function stealPercent(a: Ticks, b: Ticks): number {
  const total = b.total - a.total;
  return total > 0 ? ((b.steal - a.steal) / total) * 100 : 0;
}

/**
 * CPU time the rest of the machine used between two readings, in % of all CPU time (100 % = every
 * core busy): busy time less this process's and its finished children's (the memif-ts children,
 * testpmd and VPP are waited for when their row ends; one still running is counted as "other").
 */
export function othersPercent(a: Ticks, b: Ticks): number {
  const total = b.total - a.total;
  return total > 0 ? Math.max(0, ((b.busy - a.busy - (b.own - a.own)) / total) * 100) : 0;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  commit: string;
  kernel: string;
  dpdk: string;
  date: string;
}

function tryExec(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // keep os.cpus()'s
  }
  let commit = tryExec('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  // --no-optional-locks: never touch the index another process may be using.
  const dirty = tryExec('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']);
  if (dirty) commit += ' + uncommitted changes';
  return {
    cpu,
    cores: availableParallelism(),
    node: process.version,
    commit,
    kernel: release(),
    // dpkg-query's own format syntax, not a template string.
    dpdk: tryExec('dpkg-query', ['-W', `-f=${'$'}{Version}`, 'dpdk-dev']) ?? 'unknown',
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}
