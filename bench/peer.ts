// The parent's handle on one memif-peer child process (memif-peer.ts): spawned pinned, its IPC
// messages as promises (listening, ready, result), and a bounded close that kills it if need be.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromPeer, PeerSpec, ToPeer } from './memif-peer.js';
import { sleep, spawnPinned } from './procs.js';
import type { WorkResult } from './workloads.js';

const peerPath = fileURLToPath(new URL('./memif-peer.js', import.meta.url));

export interface PeerReport {
  result: WorkResult;
  counters: { rx: number; tx: number };
}

/** How a child is started. */
export interface PeerOptions {
  /** Pin to `core` with taskset. */
  pin: boolean;
  core: number;
  /** Echo its stderr. */
  verbose: boolean;
  /** The child exits by itself after this long. */
  maxMs: number;
}

/** A memif-peer child process and the promises of its messages. */
export class Peer {
  readonly proc: ChildProcess;
  readonly listening: Promise<void>;
  readonly ready: Promise<void>;
  readonly result: Promise<PeerReport>;
  readonly #cleanup: () => void;
  #stderr = '';

  constructor(spec: Omit<PeerSpec, 'maxMs'>, o: PeerOptions) {
    const full: PeerSpec = { ...spec, maxMs: o.maxMs };
    const { proc, cleanup } = spawnPinned(
      o.pin,
      o.core,
      process.execPath,
      [peerPath, '--spec', JSON.stringify(full)],
      ['ignore', 'inherit', 'pipe', 'ipc'],
    );
    this.proc = proc;
    this.#cleanup = cleanup;
    proc.stderr?.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
      if (o.verbose) process.stderr.write(d);
    });
    const waiters: { [K in FromPeer['t']]?: [(v: unknown) => void, (e: Error) => void] } = {};
    const expect = <T>(t: FromPeer['t']): Promise<T> => {
      const p = new Promise<T>((resolve, reject) => {
        waiters[t] = [resolve as (v: unknown) => void, reject];
      });
      p.catch(() => {}); // awaited (or not) by the row; never an unhandled rejection
      return p;
    };
    this.listening = expect('listening');
    this.ready = expect('ready');
    this.result = expect('result');
    const failAll = (err: Error) => {
      for (const w of Object.values(waiters)) w?.[1](err);
    };
    proc.on('message', (msg: FromPeer) => {
      if (msg.t === 'error') failAll(new Error(`memif-peer: ${msg.message.split('\n')[0]}`));
      else if (msg.t === 'result') waiters.result?.[0]({ result: msg.result, counters: msg.counters });
      else waiters[msg.t]?.[0](undefined);
    });
    proc.once('exit', (code, signal) => {
      const why = this.#stderr.trim().split('\n').slice(-3).join(' / ');
      failAll(new Error(`memif-peer exited (${signal ?? code})${why ? `: ${why}` : ''}`));
    });
    proc.once('error', failAll);
  }

  send(msg: ToPeer): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  /** Asks it to quit; SIGKILL if it has not exited within 3 s. */
  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.send({ t: 'quit' });
      await Promise.race([exited, sleep(3_000)]);
    }
    this.#cleanup();
  }
}
