// Liveness checks of the hostile suites: a timer that must keep firing through an
// attack (the event loop kept turning: its largest gap stays under a generous bound — a liveness
// check, not a performance one), and a capture of exceptions that reach 'uncaughtException'.
import assert from 'node:assert/strict';

/**
 * Watches the event loop through an attack: an interval (10 ms) that records the largest gap
 * between its runs. A frozen loop shows as a huge gap; the bound is generous (a loaded 2-core
 * machine, or the sanitizer run), far below a freeze.
 */
export class LoopWatch {
  /** The default bound of assertAlive(). */
  static readonly MAX_GAP_MS = 2000;
  maxGapMs = 0;
  ticks = 0;
  #last = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs = 10) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.maxGapMs = Math.max(this.maxGapMs, now - this.#last);
      this.#last = now;
      this.ticks++;
    }, intervalMs);
  }

  /** The largest gap so far, counting the one up to now. */
  maxGap(): number {
    return Math.max(this.maxGapMs, performance.now() - this.#last);
  }

  /**
   * Waits for the timer to fire once more, stops watching, and asserts it never waited more than
   * `boundMs` between two runs.
   */
  async assertAlive(label: string, boundMs = LoopWatch.MAX_GAP_MS): Promise<void> {
    const ticks = this.ticks;
    while (this.ticks === ticks) await new Promise((r) => setTimeout(r, 5));
    clearInterval(this.#timer);
    this.maxGapMs = this.maxGap();
    assert.ok(
      this.maxGapMs < boundMs,
      `the event loop stalled for ${Math.round(this.maxGapMs)} ms (bound ${boundMs} ms) during ${label}`,
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * Takes over 'uncaughtException' (the test runner's own handler is set aside) and records what
 * reaches it, until restore().
 */
export function captureUncaught(): { errors: unknown[]; restore(): void } {
  const saved = process.listeners('uncaughtException');
  const errors: unknown[] = [];
  const capture = (err: unknown) => {
    errors.push(err);
  };
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', capture);
  return {
    errors,
    restore: () => {
      process.off('uncaughtException', capture);
      for (const l of saved) process.on('uncaughtException', l);
    },
  };
}
