// dpdk-testpmd (net_memif) instances for the benchmark, with explicit core placement:
// `-l F,M --main-lcore=M` puts the forwarding lcore on core F and the command line on core M.
// Interactive (-i), driven through stdin; counts come from testpmd itself (show port stats, forward
// statistics on stop). Each runs under `timeout` in its own process group, so it dies even if we do.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { type ForwardStats, parseForwardStats, testpmdAvailable } from '../peers/testpmd.js';
import { killHard, onCleanup, sleep } from './procs.js';

export { testpmdAvailable };

export interface TestpmdSpec {
  /** DPDK's names: 'server' is a memif master, 'client' a slave. */
  role: 'server' | 'client';
  /** Filesystem socket path. */
  socket: string;
  forwardMode: 'rxonly' | 'txonly' | 'io';
  /** Core of the forwarding lcore. */
  forwardCore: number;
  /** Core of the main lcore (the command line; idle while forwarding). */
  mainCore: number;
  /** --port-topology=loop: io mode sends back on the port it received from. */
  loop?: boolean;
  /** Killed (by `timeout`) after this many seconds, whatever happens. */
  maxRunSec: number;
  /** txonly: frame length (--txpkts). Default testpmd's 64. */
  txpkts?: number;
}

/** Port counters (show port stats 0) and when they were read (performance.now(), ms). */
export interface PortStats {
  rx: number;
  tx: number;
  at: number;
}

let counter = 0;
const PREFIX = /^mtb(\d+)x\d+$/;

/**
 * Removes /run/dpdk/mtb<pid>x<n> folders left by a benchmark run that was killed (SIGKILL leaves
 * no chance to clean up), when that pid is gone. Only our own prefix is touched.
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
  readonly exited: Promise<void>;
  readonly #listeners: (() => void)[] = [];
  readonly #cleanup: () => void;
  /** Commands run one at a time: each waits for the previous one's output. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly spec: TestpmdSpec) {
    this.prefix = `mtb${process.pid}x${counter++}`;
    const dev = `net_memif0,role=${spec.role},id=0,socket=${spec.socket},socket-abstract=no,bsize=2048,rsize=10`;
    const eal = [
      '-l',
      `${spec.forwardCore},${spec.mainCore}`,
      `--main-lcore=${spec.mainCore}`,
      '--no-huge',
      '-m',
      '512',
      '--no-pci',
      '--no-telemetry',
      `--file-prefix=${this.prefix}`,
      `--vdev=${dev}`,
    ];
    const app = [
      `--forward-mode=${spec.forwardMode}`,
      '--total-num-mbufs=16384',
      '--no-flush-rx',
      ...(spec.loop ? ['--port-topology=loop'] : []),
      ...(spec.txpkts ? [`--txpkts=${spec.txpkts}`] : []),
      '-i',
    ];
    if (spec.role === 'server') rmSync(spec.socket, { force: true });
    // timeout: a hard bound even if this process dies; stdbuf: line-buffered output through the pipe.
    this.proc = spawn(
      'timeout',
      ['-k', '2', String(spec.maxRunSec), 'stdbuf', '-oL', '-eL', 'dpdk-testpmd', ...eal, '--', ...app],
      { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    this.#cleanup = onCleanup(() => {
      if (this.running) killHard(this.proc.pid, true);
      rmSync(`/run/dpdk/${this.prefix}`, { recursive: true, force: true });
      if (spec.role === 'server') rmSync(spec.socket, { force: true });
    });
    const collect = (d: Buffer) => {
      this.output += d.toString();
      for (const l of this.#listeners.splice(0)) l();
    };
    this.proc.stdout?.on('data', collect);
    this.proc.stderr?.on('data', collect);
    this.proc.stdin?.on('error', () => {}); // EPIPE when it died: reported by waitFor
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', () => {
        for (const l of this.#listeners.splice(0)) l();
        resolve();
      });
    });
  }

  /** Starts testpmd and waits for its prompt (its port is started by then). */
  static async start(spec: TestpmdSpec): Promise<Testpmd> {
    const t = new Testpmd(spec);
    try {
      await t.waitFor(/testpmd> /, 20_000);
    } catch (err) {
      t.kill();
      throw err;
    }
    return t;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits until the output from `from` on matches `re`; rejects on exit or after `ms`. */
  async waitFor(re: RegExp, ms: number, from = 0): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = this.output.slice(from);
      if (re.test(text)) return text;
      if (!this.running) throw new Error(`testpmd (${this.spec.role}) exited before ${re}:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`testpmd (${this.spec.role}) did not print ${re} in ${ms} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a command and returns its output, up to the match of `done`. */
  query(line: string, done: RegExp, ms = 10_000): Promise<string> {
    const run = async () => {
      const from = this.output.length;
      this.proc.stdin?.write(`${line}\n`);
      return this.waitFor(done, ms, from);
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Port 0's RX and TX packet counters, read now. */
  async portStats(): Promise<PortStats> {
    const t0 = performance.now();
    const text = await this.query('show port stats 0', /Tx-pps:[^\n]*\n[^\n]*#{20,}/);
    const t1 = performance.now();
    const rx = /RX-packets:\s*(\d+)/.exec(text);
    const tx = /TX-packets:\s*(\d+)/.exec(text);
    if (!rx || !tx) throw new Error(`no port statistics in:\n${text}`);
    return { rx: Number(rx[1]), tx: Number(tx[1]), at: (t0 + t1) / 2 };
  }

  /** Waits until port 0's link is up (the memif peer connected). */
  async linkUp(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = await this.query('show port info 0', /Link status:\s*\w+[\s\S]*testpmd> /);
      if (/Link status:\s*up/.test(text)) return;
      if (Date.now() > deadline) throw new Error(`testpmd (${this.spec.role}): link still down after ${ms} ms`);
      await sleep(50);
    }
  }

  /** Starts forwarding (`start`, or `start tx_first N`: N bursts of 32 packets sent first). */
  async startForwarding(txFirst?: number): Promise<void> {
    const cmd = txFirst ? `start tx_first ${txFirst}` : 'start';
    await this.query(cmd, /packet forwarding - ports=[\s\S]*testpmd> /);
  }

  /** Stops forwarding; returns port 0's forward statistics (since start). */
  async stopForwarding(): Promise<ForwardStats> {
    const text = await this.query('stop', /Done\.[\s\S]*testpmd> /);
    return parseForwardStats(text);
  }

  /** Quits (SIGKILL after 5 s) and removes its files. Never throws. */
  async quit(): Promise<void> {
    if (this.running) {
      this.proc.stdin?.write('quit\n');
      const t = setTimeout(() => killHard(this.proc.pid, true), 5_000);
      await this.exited;
      clearTimeout(t);
    }
    this.#cleanup();
  }

  /** SIGKILL now (its whole process group) and remove its files. */
  kill(): void {
    this.#cleanup();
  }

  tail(lines = 25): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}
