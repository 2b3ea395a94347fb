// dpdk-testpmd with the net_memif driver as a memif peer: the one driver of the interop tests
// (test/interop/) and of the benchmark (bench/). A fresh instance per use, on a filesystem socket
// (or DPDK's abstract one), without hugepages, its own /run/dpdk/<prefix>. Core placement is explicit:
// `-l F,M --main-lcore=M` puts the forwarding lcore on core F and the command line on core M.
// Interactive (-i) instances are driven through stdin and their counts come from testpmd itself
// (show port stats, forward statistics on stop). Each runs under `timeout` in its own process
// group, so it dies by its bound even if this process is SIGKILLed; otherwise it is killed when
// this process exits. Its output is kept for failure messages.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';

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
  /** Core of the forwarding lcore. Default 0. */
  forwardCore?: number;
  /** Core of the main lcore (the command line; idle while forwarding). Default 1. */
  mainCore?: number;
  /** --port-topology=loop: io mode sends back on the port it received from. */
  loop?: boolean;
  /** txonly: frame length (--txpkts). Default testpmd's 64. */
  txpkts?: number;
  /** Interactive mode (-i): forwarding starts on startForwarding(), or at once with autoStart. */
  interactive?: boolean;
  autoStart?: boolean;
  /** More testpmd application arguments. */
  extra?: string[];
  /** Hard limit on its life, in ms (`timeout`: SIGTERM, SIGKILL 2 s later). Default 60 s. */
  maxRunMs?: number;
}

/** Forward statistics of a port, as testpmd prints them on stop. */
export interface ForwardStats {
  rxPackets: number;
  rxDropped: number;
  txPackets: number;
  txDropped: number;
}

/** Port counters (show port stats 0) and when they were read (performance.now(), ms). */
export interface PortStats {
  rx: number;
  tx: number;
  at: number;
}

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

let counter = 0;
/** Our /run/dpdk prefixes: mt<pid>x<n> (mtb<pid>x<n> from before the benchmark shared this driver). */
const PREFIX = /^mtb?(\d+)x\d+$/;

/** Instances still running, killed when this process exits (even by the hang guard after a timeout). */
const live = new Set<Testpmd>();
process.on('exit', killAllTestpmd);

/** SIGKILLs every instance still running and removes their files, at once (usable from an 'exit' handler). */
export function killAllTestpmd(): void {
  for (const t of [...live]) t.killNow();
}

/**
 * Removes /run/dpdk/mt<pid>x<n> folders left by a run that was SIGKILLed (no chance to clean up),
 * when that pid is gone. Only our own prefixes are touched.
 */
export function sweepStale(): void {
  let names: string[];
  try {
    names = readdirSync('/run/dpdk');
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(PREFIX.exec(name)?.[1] ?? 0);
    if (pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(`/run/dpdk/${name}`, { recursive: true, force: true });
    }
  }
}

export class Testpmd {
  readonly proc: ChildProcess;
  readonly prefix: string;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #listeners: (() => void)[] = [];
  /** Commands run one at a time: each waits for the previous one's output. */
  #queue: Promise<unknown> = Promise.resolve();

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
    const forward = o.forwardCore ?? 0;
    const main = o.mainCore ?? 1;
    const eal = ['-l', `${forward},${main}`, `--main-lcore=${main}`, '--no-huge', '-m', '512', '--no-pci'];
    eal.push('--no-telemetry', `--file-prefix=${this.prefix}`, `--vdev=${dev}`);
    if (o.zeroCopy) eal.push('--single-file-segments');
    const app = [
      `--forward-mode=${o.forwardMode ?? 'macswap'}`,
      '--total-num-mbufs=16384',
      '--no-flush-rx',
      `--rxq=${o.queues ?? 1}`,
      `--txq=${o.queues ?? 1}`,
      ...(o.loop ? ['--port-topology=loop'] : []),
      ...(o.txpkts ? [`--txpkts=${o.txpkts}`] : []),
      ...(o.interactive ? ['-i', ...(o.autoStart ? ['--auto-start'] : [])] : ['--stats-period=0']),
      ...(o.extra ?? []),
    ];
    if (o.role === 'server' && !o.abstract) rmSync(o.socket, { force: true });
    // timeout: a hard bound even if this process dies (detached: its own process group, killed as
    // one); stdbuf: testpmd's printf output is block-buffered into a pipe, line-buffer it so that
    // what it prints after each command arrives at once.
    const bound = String(Math.max(1, Math.ceil((o.maxRunMs ?? 60_000) / 1000)));
    this.proc = spawn('timeout', ['-k', '2', bound, 'stdbuf', '-oL', '-eL', 'dpdk-testpmd', ...eal, '--', ...app], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const collect = (d: Buffer) => {
      this.output += d.toString();
      for (const l of this.#listeners.splice(0)) l();
    };
    this.proc.stdout?.on('data', collect);
    this.proc.stderr?.on('data', collect);
    this.proc.stdin?.on('error', () => {}); // EPIPE when it died: reported by waitFor
    live.add(this);
    // 'close', not 'exit': `timeout` may exit before testpmd, whose end closes the pipes.
    this.exited = new Promise((resolve) => {
      this.proc.once('close', (code, signal) => {
        live.delete(this);
        this.#removeFiles();
        for (const l of this.#listeners.splice(0)) l();
        resolve({ code, signal });
      });
    });
  }

  /**
   * Starts testpmd. An interactive one without autoStart is returned at its prompt (its port is
   * started by then); any other once it forwards. A server refuses INIT with "ID not found" until
   * it forwards; a client connects once, at port start, and does not retry: the master must listen already.
   */
  static async start(options: TestpmdOptions): Promise<Testpmd> {
    const t = new Testpmd(options);
    const ready = options.interactive && !options.autoStart ? /testpmd> / : /start (automatic )?packet forwarding/i;
    try {
      await t.waitFor(ready, 30_000);
    } catch (err) {
      t.killNow();
      throw err;
    }
    return t;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits until the output from `from` on matches `re`; returns that output. Rejects on exit or after `ms`. */
  async waitFor(re: RegExp, ms = 20_000, from = 0): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = this.output.slice(from);
      if (re.test(text)) return text;
      if (!this.running) throw new Error(`testpmd (${this.options.role}) exited before ${re}:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`testpmd (${this.options.role}) did not print ${re} within ${ms} ms:\n${this.tail()}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Interactive: sends a command and returns its output, up to the match of `done` (one command at a time). */
  query(line: string, done: RegExp, ms = 20_000): Promise<string> {
    const run = async () => {
      const from = this.output.length;
      this.proc.stdin?.write(`${line}\n`);
      return this.waitFor(done, ms, from);
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Interactive: starts forwarding (`start`, or `start tx_first N`: N bursts of 32 packets sent first). */
  async startForwarding(txFirst?: number): Promise<void> {
    await this.query(txFirst ? `start tx_first ${txFirst}` : 'start', /packet forwarding - ports=[\s\S]*testpmd> /);
  }

  /** Interactive: stops forwarding and returns port 0's forward statistics (since start). */
  async stopForwarding(): Promise<ForwardStats> {
    return parseForwardStats(await this.query('stop', /Done\.[\s\S]*testpmd> /));
  }

  /** Interactive: port 0's RX and TX packet counters, read now. */
  async portStats(): Promise<PortStats> {
    const t0 = performance.now();
    const text = await this.query('show port stats 0', /Tx-pps:[^\n]*\n[^\n]*#{20,}/);
    const t1 = performance.now();
    const rx = /RX-packets:\s*(\d+)/.exec(text);
    const tx = /TX-packets:\s*(\d+)/.exec(text);
    if (!rx || !tx) throw new Error(`no port statistics in:\n${text}`);
    return { rx: Number(rx[1]), tx: Number(tx[1]), at: (t0 + t1) / 2 };
  }

  /** Interactive: waits until port 0's link is up (the memif peer connected). */
  async linkUp(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = await this.query('show port info 0', /Link status:\s*\w+[\s\S]*testpmd> /);
      if (/Link status:\s*up/.test(text)) return;
      if (Date.now() > deadline) throw new Error(`testpmd (${this.options.role}): link still down after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Quits (`quit` when interactive, else SIGTERM), SIGKILL if it has not exited within 5 s. Never throws. */
  async stop(): Promise<void> {
    if (this.running) {
      if (this.options.interactive) this.proc.stdin?.write('quit\n');
      else this.#signal('SIGTERM');
      const t = setTimeout(() => this.#signal('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(t);
    }
    this.#removeFiles();
  }

  /** SIGKILL at once (the peer dies mid-traffic without a word); resolves once it has exited. */
  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  /** SIGKILL its process group and remove its files, synchronously. */
  killNow(): void {
    if (this.running) this.#signal('SIGKILL');
    this.#removeFiles();
  }

  /** The last lines of its output, for failure messages. */
  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  #signal(sig: NodeJS.Signals): void {
    try {
      if (this.proc.pid) process.kill(-this.proc.pid, sig);
    } catch {
      // already gone
    }
  }

  #removeFiles(): void {
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
