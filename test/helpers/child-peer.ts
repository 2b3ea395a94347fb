// Starts test/helpers/peer-process.ts as a child process and follows its JSON-line reports.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerSpec } from './peer-process.js';

const script = fileURLToPath(new URL('./peer-process.js', import.meta.url));

export interface PeerEvent {
  event: 'connect' | 'error' | 'disconnect' | 'result';
  [key: string]: unknown;
}

export class ChildPeer {
  readonly proc: ChildProcess;
  readonly events: PeerEvent[] = [];
  readonly exited: Promise<number | null>;
  #stderr = '';
  #waiters: (() => void)[] = [];

  constructor(spec: PeerSpec) {
    this.proc = spawn(process.execPath, [script, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        this.events.push(JSON.parse(buf.slice(0, nl)) as PeerEvent);
        buf = buf.slice(nl + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code) => {
        for (const w of this.#waiters.splice(0)) w();
        resolve(code);
      }),
    );
  }

  /** The first event of `kind` (after the first `skip` of them). Rejects if the child exits first. */
  async waitFor(kind: PeerEvent['event'], skip = 0): Promise<PeerEvent> {
    for (;;) {
      const hit = this.events.filter((e) => e.event === kind)[skip];
      if (hit !== undefined) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(
          `peer exited (${this.proc.exitCode ?? this.proc.signalCode}) before '${kind}'; stderr: ${this.#stderr}`,
        );
      }
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  /** Asks the child to close and exit; kills it if it does not within 10 s. */
  async stop(): Promise<number | null> {
    this.proc.stdin?.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  /** SIGKILL: the peer dies without a word, leaving its socket file behind. */
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}
