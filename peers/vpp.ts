// FD.io VPP as a real memif peer, for the interop tests (test/interop/) and the benchmark
// (bench/vpp.ts). VPP is built once per machine from the source snapshot in ../shared/peers/vpp
// (build.sh: core + memif and ping plugins, no DPDK, no hugepages) into a cache folder outside the
// repo (VPP_CACHE, default /var/cache/memif-ts/vpp); a finished build is reused. Each test file starts its own VPP with a temporary folder (CLI socket, log, stats and
// API sockets) and its own API segment prefix, waits for its CLI, drives it with vppctl, keeps its
// log and the commands it ran (with their output) for failure messages, and stops it by pid (its
// process group: VPP runs under `timeout`, so it dies at its time limit even if we are killed).
// Every VPP still running when this process exits is killed (SIGKILL) and its files removed.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from out/peers/). */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The VPP peer kit: source snapshot, build.sh, startup.conf.in. */
export const VPP_PEER_DIR = process.env.VPP_PEER_DIR ?? resolve(REPO, '../shared/peers/vpp');
/** Where VPP is built (one folder per snapshot); .ci/run uses the same default. */
export const VPP_CACHE = process.env.VPP_CACHE ?? '/var/cache/memif-ts/vpp';
/** The command that builds VPP (about 4 minutes on 2 cores the first time; a no-op after). */
export const VPP_BUILD_COMMAND = `bash ${VPP_PEER_DIR}/build.sh ${VPP_CACHE}`;

/** How long a test waits for a link with VPP before it fails (a bound against hanging). */
export const VPP_WAIT_MS = 20_000;

let built: { dir?: string; reason?: string } | undefined;

/** The snapshot build.sh builds (its SNAP= line), if the kit is here. */
function snapshotOfKit(): string | undefined {
  try {
    return /^SNAP=(\S+)/m.exec(readFileSync(join(VPP_PEER_DIR, 'build.sh'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

const usable = (dir: string) => existsSync(join(dir, 'bin/vpp')) && existsSync(join(dir, 'bin/vppctl'));

/**
 * The VPP build folder (bin/vpp, bin/vppctl, lib/…/vpp_plugins), building it first if needed and
 * possible: VPP_BUILD_DIR if set; else the finished build of the kit's snapshot in VPP_CACHE; else
 * build.sh is run (under flock, so that two runs on one machine never build at once). Without the
 * kit, any finished build in the cache is used. Returns a reason instead when there is none.
 */
export function vppBuild(): { dir?: string; reason?: string } {
  if (built) return built;
  built = findOrBuild();
  return built;
}

function findOrBuild(): { dir?: string; reason?: string } {
  const missing = `VPP is not built here and could not be built (${VPP_BUILD_COMMAND}; .ci/run runs it)`;
  if (process.env.VPP_BUILD_DIR) {
    return usable(process.env.VPP_BUILD_DIR)
      ? { dir: process.env.VPP_BUILD_DIR }
      : { reason: `VPP_BUILD_DIR=${process.env.VPP_BUILD_DIR} has no bin/vpp` };
  }
  const snap = snapshotOfKit();
  if (snap) {
    const root = join(VPP_CACHE, snap);
    if (existsSync(join(root, '.built')) && usable(join(root, 'build'))) return { dir: join(root, 'build') };
    if (process.env.VPP_NO_BUILD) return { reason: `${missing}: VPP_NO_BUILD is set` };
    try {
      execFileSync('mkdir', ['-p', VPP_CACHE], { stdio: 'ignore' });
      process.stderr.write(`building VPP (about 4 minutes): ${VPP_BUILD_COMMAND}\n`);
      const out = execFileSync('flock', [join(VPP_CACHE, '.lock'), 'bash', join(VPP_PEER_DIR, 'build.sh'), VPP_CACHE], {
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 30 * 60_000,
      });
      const dir = out.toString().trim().split('\n').pop() ?? '';
      return usable(dir) ? { dir } : { reason: `${missing}: build.sh printed ${dir}` };
    } catch (err) {
      return { reason: `${missing}: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  // No kit: a finished build of any snapshot.
  try {
    for (const s of readdirSync(VPP_CACHE)) {
      if (existsSync(join(VPP_CACHE, s, '.built')) && usable(join(VPP_CACHE, s, 'build'))) {
        return { dir: join(VPP_CACHE, s, 'build') };
      }
    }
  } catch {
    // no cache
  }
  return { reason: `${missing}: ${VPP_PEER_DIR}/build.sh not found` };
}

/** false when VPP can run here; otherwise the skip message, with the command that builds it. */
export function vppSkip(): false | string {
  const b = vppBuild();
  return b.dir ? false : (b.reason ?? 'VPP not available');
}

let counter = 0;

/** Instances still running, killed when this process exits (even by the hang guard after a timeout). */
const live = new Set<Vpp>();
process.on('exit', () => {
  for (const v of live) {
    v.signal('SIGKILL');
    v.removeFiles();
  }
});

export interface VppStartOptions {
  /** Hard limit on its life, in ms (SIGKILL after). Default 5 minutes. */
  maxRunMs?: number;
}

/** One line of what was asked of VPP and what it answered, for failure messages. */
interface Exchange {
  command: string;
  output: string;
}

/** Counters of one interface in `show interface`. */
export interface VppInterfaceCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Every other counter VPP shows for it (drops, punt, rx-miss, tx-error …), by name. */
  other: Record<string, number>;
}

export class Vpp {
  readonly proc: ChildProcess;
  /** The instance's private folder: startup.conf, cli.sock, vpp.log, and sockets tests put there. */
  readonly dir: string;
  /** Its API segment prefix (/dev/shm/<prefix>-*). */
  readonly prefix: string;
  readonly build: string;
  output = '';
  readonly history: Exchange[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #killTimer: NodeJS.Timeout;

  private constructor(build: string, options: VppStartOptions) {
    this.build = build;
    this.dir = mkdtempSync(join(tmpdir(), 'memif-ts-vpp-'));
    this.prefix = `mtvpp${process.pid}x${counter++}`;
    const conf = readFileSync(join(VPP_PEER_DIR, 'startup.conf.in'), 'utf8')
      .replaceAll('@DIR@', this.dir)
      .replaceAll('@PLUGINS@', join(build, 'lib/x86_64-linux-gnu/vpp_plugins'))
      .replaceAll('@PREFIX@', this.prefix);
    writeFileSync(join(this.dir, 'startup.conf'), conf);
    // Under `timeout`, in its own process group: VPP dies at its time limit even if this process
    // was killed without a chance to clean up (VPP busy-polls a core until stopped).
    const limitSec = String(Math.ceil((options.maxRunMs ?? 300_000) / 1000));
    this.proc = spawn(
      'timeout',
      ['-s', 'KILL', limitSec, join(build, 'bin/vpp'), '-c', join(this.dir, 'startup.conf')],
      {
        cwd: this.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const collect = (d: Buffer) => {
      this.output += d.toString();
    };
    this.proc.stdout?.on('data', collect);
    this.proc.stderr?.on('data', collect);
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        live.delete(this);
        clearTimeout(this.#killTimer);
        resolve({ code, signal });
      });
    });
    this.#killTimer = setTimeout(() => this.signal('SIGKILL'), options.maxRunMs ?? 300_000);
    this.#killTimer.unref();
  }

  /** Starts a fresh VPP and returns once its CLI answers. */
  static async start(options: VppStartOptions = {}): Promise<Vpp> {
    const b = vppBuild();
    if (!b.dir) throw new Error(b.reason);
    const v = new Vpp(b.dir, options);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!v.running) throw new Error(`VPP exited while starting:\n${v.logTail()}`);
      if (existsSync(join(v.dir, 'cli.sock'))) {
        try {
          if (/vpp v/.test(await v.cli('show version'))) return v;
        } catch {
          // not answering yet
        }
      }
      if (Date.now() > deadline) {
        await v.stop();
        throw new Error(`VPP's CLI did not answer within 30 s:\n${v.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The pid of its process group's leader (`timeout`, whose child VPP is). */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Sends `sig` to VPP's process group (timeout and VPP). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, sig);
    } catch {
      // already gone
    }
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Whether VPP is gone or goes within `ms`: a dying VPP (one that aborts) already fails vppctl
   * while its process is still being torn down.
   */
  async diesWithin(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    try {
      return await Promise.race([this.exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A path inside the instance's folder (for sockets). */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Runs one CLI command with vppctl; resolves with what VPP printed. Bounded (10 s). */
  cli(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        join(this.build, 'bin/vppctl'),
        ['-s', join(this.dir, 'cli.sock'), command],
        { timeout: 10_000 },
        (err, stdout, stderr) => {
          const output = `${stdout}${stderr}`.trim();
          this.history.push({ command, output });
          if (err) reject(new Error(`vppctl ${command}: ${err.message.split('\n')[0]} ${output}`));
          else resolve(output);
        },
      );
    });
  }

  /**
   * Runs configuration commands in order. They print nothing when they succeed: any output is
   * VPP's error message (e.g. "create memif socket: unknown input …") and rejects.
   */
  async config(...commands: string[]): Promise<void> {
    for (const c of commands) {
      const out = await this.cli(c);
      if (out !== '') throw new Error(`VPP refused \`${c}\`: ${out}`);
    }
  }

  /** The counters `show interface NAME` lists for an interface. */
  async interfaceCounters(name: string): Promise<VppInterfaceCounters> {
    return parseInterfaceCounters(await this.cli(`show interface ${name}`), name);
  }

  /** `show errors`, as { "node: reason": count }. */
  async errors(): Promise<Record<string, number>> {
    return parseErrors(await this.cli('show errors'));
  }

  /** Clears interface, error and memif ring counters. */
  async clearCounters(): Promise<void> {
    await this.config('clear interfaces', 'clear errors', 'clear hardware-interfaces');
  }

  /**
   * For a failure message: the last commands and their answers, VPP's log and output, and (if it
   * still runs) show memif, show interface and show errors now.
   */
  async diagnostics(): Promise<string> {
    const parts = [`--- VPP (pid ${this.pid}, ${this.running ? 'running' : 'exited'}) folder ${this.dir}`];
    parts.push('--- last commands ---');
    for (const h of this.history.slice(-12)) parts.push(`vpp# ${h.command}\n${h.output}`);
    if (this.running) {
      for (const c of ['show memif', 'show interface', 'show errors']) {
        try {
          parts.push(`vpp# ${c}\n${await this.cli(c)}`);
        } catch (err) {
          parts.push(`vpp# ${c}: ${(err as Error).message}`);
        }
      }
    }
    parts.push('--- vpp.log / output ---', this.logTail());
    return parts.join('\n');
  }

  /** The last lines of vpp.log and of what it printed. */
  logTail(lines = 30): string {
    let log = '';
    try {
      log = readFileSync(join(this.dir, 'vpp.log'), 'utf8');
    } catch {
      // not written yet
    }
    const tail = (s: string) => s.split('\n').slice(-lines).join('\n');
    return `${tail(log)}\n${tail(this.output)}`;
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s; removes its folder and API segment. */
  async stop(): Promise<void> {
    if (this.running) {
      this.signal('SIGTERM');
      const t = setTimeout(() => this.signal('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(t);
    }
    this.removeFiles();
  }

  /** SIGKILL at once: VPP dies mid-traffic without a word (its files stay until stop()). */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Removes the instance's folder and its /dev/shm API segment files. */
  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true });
    try {
      for (const f of readdirSync('/dev/shm')) {
        if (f.startsWith(`${this.prefix}-`)) rmSync(join('/dev/shm', f), { force: true });
      }
    } catch {
      // no /dev/shm
    }
  }
}

/** Parses the counters of interface `name` out of `show interface` output. */
export function parseInterfaceCounters(text: string, name: string): VppInterfaceCounters {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${name} `));
  if (start < 0) throw new Error(`no interface ${name} in:\n${text}`);
  const c: VppInterfaceCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, other: {} };
  for (let i = start; i < lines.length; i++) {
    if (i > start && /^\S/.test(lines[i])) break;
    const m = /([a-z][a-z0-9 -]*?)\s+(\d+)\s*$/.exec(lines[i]);
    if (!m) continue;
    const key = m[1].trim();
    const n = Number(m[2]);
    if (key === 'rx packets') c.rxPackets = n;
    else if (key === 'rx bytes') c.rxBytes = n;
    else if (key === 'tx packets') c.txPackets = n;
    else if (key === 'tx bytes') c.txBytes = n;
    else c.other[key] = n;
  }
  return c;
}

/** Parses `show errors` into { "node: reason": count }. */
export function parseErrors(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s+(.*?)\s+(error|info|warn\w*|unknown)\s*$/.exec(l);
    if (m) out[`${m[2]}: ${m[3]}`] = (out[`${m[2]}: ${m[3]}`] ?? 0) + Number(m[1]);
  }
  return out;
}
