// Where memif capture writes its records. A regular file takes writeSync, which never waits long.
// A pipe or a socket — stdout in `-w - | tshark -r -`, or a FIFO named by -w — is written
// asynchronously with backpressure: while its reader is behind, `blocked` is true and capture
// reads no more frames (they wait in the ring, and the peer sees it full), so the event loop keeps
// turning and SIGINT/SIGTERM are handled however slow or stuck the reader is.
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { pause } from './drive.js';

/** How long a stopped capture waits for a stuck reader to take what is still buffered. */
const FLUSH_AFTER_ABORT_MS = 1000;

export class RecordOutput {
  /** A regular file's fd (writeSync), or -1. */
  readonly #fd: number = -1;
  /** stdout, or a FIFO's fd wrapped as a Socket (which then owns that fd). */
  readonly #stream: Writable | undefined;
  readonly #ownsStream: boolean = false;
  #blocked = false;
  #closed = false;
  #failed: Error | undefined;
  #onReady: () => void = () => {};
  #onFail: (err: Error) => void = () => {};

  /**
   * '-' for stdout, or a file to create or truncate (mode 0644). A FIFO is opened without waiting
   * for a reader: with none, this throws ENXIO. Throws what open() throws.
   */
  constructor(file: string) {
    if (file === '-') {
      this.#stream = process.stdout;
    } else if (isFifo(file)) {
      const fd = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
      this.#stream = new Socket({ fd, readable: false, writable: true });
      this.#ownsStream = true;
    } else {
      this.#fd = openSync(file, 'w', 0o644);
    }
    this.#stream?.on('drain', this.#drained);
    this.#stream?.on('error', this.#error);
  }

  readonly #drained = (): void => {
    this.#blocked = false;
    this.#onReady();
  };

  readonly #error = (err: Error): void => {
    if (this.#failed !== undefined) return;
    this.#failed = err;
    this.#blocked = false;
    this.#onFail(err);
  };

  /** True while the reader is behind: write nothing more until `ready` (of listen) runs. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** `ready` runs when a blocked output can take more; `fail` once, when writing failed (EPIPE: the reader left). */
  listen(ready: () => void, fail: (err: Error) => void): void {
    this.#onReady = ready;
    this.#onFail = fail;
  }

  /** Writes all of `b` (buffered, for a pipe). Throws a regular file's write error. */
  write(b: Buffer): void {
    if (this.#failed !== undefined) return;
    if (this.#stream === undefined) {
      let o = 0;
      while (o < b.length) o += writeSync(this.#fd, b, o);
      return;
    }
    if (!this.#stream.write(b)) this.#blocked = true;
  }

  /**
   * Flushes and closes what this opened, and resolves with the bytes a stuck reader did not take
   * (0 once all went out, or when the output failed: `fail` said so). A pipe's buffered records are
   * waited for until `signal` aborts; then the reader gets FLUSH_AFTER_ABORT_MS more, and what it
   * has not taken is dropped. Idempotent: a second call resolves with 0.
   */
  async close(signal: AbortSignal): Promise<number> {
    if (this.#closed) return 0;
    this.#closed = true;
    const stream = this.#stream;
    if (stream === undefined) {
      closeSync(this.#fd);
      return 0;
    }
    const cancel = new AbortController();
    const flushed = (async () => {
      while (this.#failed === undefined && stream.writableLength > 0 && !cancel.signal.aborted) {
        await pause(10, cancel.signal);
      }
    })();
    const gaveUp = new Promise<void>((resolve) => {
      const grace = () => void pause(FLUSH_AFTER_ABORT_MS, cancel.signal).then(resolve);
      if (signal.aborted) grace();
      else signal.addEventListener('abort', grace, { once: true, signal: cancel.signal });
    });
    await Promise.race([flushed, gaveUp]);
    cancel.abort();
    const dropped = this.#failed === undefined ? stream.writableLength : 0;
    stream.off('drain', this.#drained);
    if (this.#ownsStream) {
      stream.destroy();
    } else {
      // stdout stays open (the process owns it); a stuck reader's leftovers are dropped at exit.
      stream.off('error', this.#error);
    }
    return dropped;
  }
}

function isFifo(file: string): boolean {
  try {
    return statSync(file).isFIFO();
  } catch {
    return false;
  }
}
