// A DPDK dpdk-testpmd with the net_memif driver, as a real memif peer for interop tests: a fresh
// instance per case, on a socket in a temporary folder, pinned to core 0 for forwarding, without
// hugepages. It waits until testpmd forwards, bounds its run time, stops it by pid, removes its
// socket and /run/dpdk/<prefix>, and keeps its output for failure messages. See peers.md.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

export type ForwardMode = 'macswap' | 'io' | 'rxonly' | 'txonly' | 'icmpecho';

export interface TestpmdOptions {
  /** DPDK's names: 'server' is a memif master, 'client' a slave. */
  role: 'server' | 'client';
  /** Socket path; with `abstract`, the abstract name (no file). */
  socket: string;
  /** Use DPDK's default abstract socket (no `socket-abstract=no`). Default false. */
  abstract?: boolean;
  id?: number;
  /** Buffer size (bsize). Default DPDK's 2048. */
  bsize?: number;
  /** log2 ring size (rsize). Default DPDK's 10. */
  rsize?: number;
  secret?: string;
  /** zero-copy=yes (client only; adds --single-file-segments). */
  zeroCopy?: boolean;
  /** --rxq / --txq. Default 1. */
  queues?: number;
  forwardMode?: ForwardMode;
  /** Interactive mode (-i): forwarding starts on command('start'), or at once with autoStart. */
  interactive?: boolean;
  autoStart?: boolean;
  /** More testpmd application arguments. */
  extra?: string[];
  /** Hard limit on its life, in ms (SIGKILL after). Default 60 s. */
  maxRunMs?: number;
}

/** Forward statistics of a port, as testpmd prints them on stop. */
export interface ForwardStats {
  rxPackets: number;
  rxDropped: number;
  txPackets: number;
  txDropped: number;
}

let counter = 0;

/** Instances still running, killed when this process exits (even by the hang guard after a timeout). */
const live = new Set<Testpmd>();
process.on('exit', () => {
  for (const t of live) {
    t.proc.kill('SIGKILL');
    rmSync(`/run/dpdk/${t.prefix}`, { recursive: true, force: true });
  }
});

/** Whether dpdk-testpmd is installed here. */
export function testpmdAvailable(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v dpdk-testpmd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * How long a test waits for a link with testpmd before it fails (a bound against hanging: a DPDK
 * client connects once and never retries, so a lost handshake would otherwise wait for ever).
 */
export const PEER_WAIT_MS = 20_000;

/** The skip message for tests that need testpmd. */
export const TESTPMD_MISSING = 'dpdk-testpmd not installed (apt-get install -y dpdk-dev); .ci/run installs it';

export class Testpmd {
  readonly proc: ChildProcess;
  readonly prefix: string;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #listeners: (() => void)[] = [];
  #killTimer: NodeJS.Timeout;

  private constructor(readonly options: TestpmdOptions) {
    this.prefix = `mt${process.pid}x${counter++}`;
    const o = options;
    const dev = [
      'net_memif0',
      `role=${o.role}`,
      `id=${o.id ?? 0}`,
      `socket=${o.socket}`,
      ...(o.abstract ? [] : ['socket-abstract=no']),
      ...(o.bsize ? [`bsize=${o.bsize}`] : []),
      ...(o.rsize ? [`rsize=${o.rsize}`] : []),
      ...(o.secret ? [`secret=${o.secret}`] : []),
      ...(o.zeroCopy ? ['zero-copy=yes'] : []),
    ].join(',');
    const eal = ['-l', '0,1', '--main-lcore=1', '--no-huge', '-m', '512', '--no-pci', '--no-telemetry'];
    eal.push(`--file-prefix=${this.prefix}`, `--vdev=${dev}`);
    if (o.zeroCopy) eal.push('--single-file-segments');
    const app = [
      `--forward-mode=${o.forwardMode ?? 'macswap'}`,
      '--total-num-mbufs=16384',
      '--no-flush-rx',
      `--rxq=${o.queues ?? 1}`,
      `--txq=${o.queues ?? 1}`,
      ...(o.interactive ? ['-i', ...(o.autoStart ? ['--auto-start'] : [])] : ['--stats-period=0']),
      ...(o.extra ?? []),
    ];
    if (o.role === 'server' && !o.abstract) rmSync(o.socket, { force: true });
    // stdbuf: testpmd's printf output is block-buffered into a pipe; line-buffer it so that what it
    // prints after each command arrives at once. stdbuf execs testpmd, so the pid is testpmd's.
    this.proc = spawn('stdbuf', ['-oL', '-eL', 'dpdk-testpmd', ...eal, '--', ...app], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => {
      this.output += d.toString();
      for (const l of this.#listeners.splice(0)) l();
    };
    this.proc.stdout?.on('data', collect);
    this.proc.stderr?.on('data', collect);
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        live.delete(this);
        clearTimeout(this.#killTimer);
        this.#cleanup();
        for (const l of this.#listeners.splice(0)) l();
        resolve({ code, signal });
      });
    });
    this.#killTimer = setTimeout(() => this.proc.kill('SIGKILL'), o.maxRunMs ?? 60_000);
    this.#killTimer.unref();
  }

  /**
   * Starts testpmd. A server is returned once it forwards (before that it refuses INIT with
   * "ID not found"); a client once it has started (it connects once, at port start, and does not
   * retry: the master must listen already).
   */
  static async start(options: TestpmdOptions): Promise<Testpmd> {
    const t = new Testpmd(options);
    const ready = options.interactive && !options.autoStart ? /testpmd> / : /start packet forwarding/i;
    await t.waitFor(ready, 30_000);
    return t;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits until the output matches `re` (searching from `from`); rejects on exit or after `ms`. */
  async waitFor(re: RegExp, ms = 20_000, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.output.slice(from));
      if (m) return m;
      if (!this.running) throw new Error(`testpmd exited before ${re}:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`testpmd did not print ${re} within ${ms} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a command line to an interactive testpmd. */
  command(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /** Interactive: starts forwarding and waits until testpmd says it forwards. */
  async startForwarding(): Promise<void> {
    const from = this.output.length;
    this.command('start');
    await this.waitFor(/packet forwarding - ports=/, 20_000, from);
  }

  /** Interactive: stops forwarding and returns port 0's forward statistics. */
  async stopForwarding(): Promise<ForwardStats> {
    const from = this.output.length;
    this.command('stop');
    await this.waitFor(/Done\./, 20_000, from);
    return parseForwardStats(this.output.slice(from));
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s. Cleans up its files. */
  async stop(): Promise<void> {
    if (this.running) {
      if (this.options.interactive) this.command('quit');
      else this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(t);
    }
    this.#cleanup();
  }

  /** SIGKILL at once: the peer dies mid-traffic without a word. */
  async kill(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** The last lines of its output, for failure messages. */
  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  #cleanup(): void {
    rmSync(`/run/dpdk/${this.prefix}`, { recursive: true, force: true });
    if (this.options.role === 'server' && !this.options.abstract) rmSync(this.options.socket, { force: true });
  }
}

/** Parses the first "Forward statistics for port 0" block of testpmd's output. */
export function parseForwardStats(text: string): ForwardStats {
  const block =
    /Forward statistics for port 0[\s\S]*?RX-packets:\s*(\d+)\s+RX-dropped:\s*(\d+)[\s\S]*?TX-packets:\s*(\d+)\s+TX-dropped:\s*(\d+)/.exec(
      text,
    );
  if (!block) throw new Error(`no forward statistics in:\n${text}`);
  return {
    rxPackets: Number(block[1]),
    rxDropped: Number(block[2]),
    txPackets: Number(block[3]),
    txDropped: Number(block[4]),
  };
}
