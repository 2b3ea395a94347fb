// The receive loop the commands share: calls poll(queueId) for each rx queue whenever packets may
// be there — on the `interrupt` event in interrupt mode, continuously (yielding to the event loop
// between rounds) in polling mode — until stopped or the abort signal fires; and drainTx, the wait
// a sender makes before it closes for the peer to take what it sent.
import type { Memif } from '../index.js';

/** A running receive loop. */
export interface RxDriver {
  /** Stops calling poll; `done` resolves. */
  stop(): void;
  /**
   * Polls every rx queue again now: for a consumer that paused (its poll returned false with
   * packets left) and can take more. In interrupt mode nothing else would: no new interrupt comes
   * for packets already waiting.
   */
  kick(): void;
  /** Resolves once stopped or aborted. */
  done: Promise<void>;
}

/**
 * Drives `poll(queueId)` over every rx queue of `memif`. `poll` returns true when it stopped with
 * packets possibly left (it is called again after the event loop turned). A poll that throws
 * while the link is down (a burst raced a disconnect) is ignored; otherwise the loop stops and
 * `done` rejects.
 */
export function driveRx(
  memif: Memif,
  mode: 'interrupt' | 'polling',
  signal: AbortSignal,
  poll: (queueId: number) => boolean,
): RxDriver {
  let stopped = false;
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const safePoll = (q: number): boolean => {
    try {
      return poll(q);
    } catch (err) {
      if (memif.connected && !memif.closed) {
        finish();
        reject(err);
      }
      return false;
    }
  };
  let timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  const onInterrupt = (q: number) => {
    if (!stopped && safePoll(q)) setImmediate(onInterrupt, q);
  };
  const tick = () => {
    timer = undefined;
    if (stopped) return;
    if (!memif.connected) {
      timer = setTimeout(tick, 10);
      return;
    }
    const n = memif.rxQueueCount;
    for (let q = 0; q < n && !stopped; q++) safePoll(q);
    if (!stopped) timer = setImmediate(tick);
  };
  const finish = () => {
    if (stopped) return;
    stopped = true;
    memif.off('interrupt', onInterrupt);
    if (timer) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    }
    signal.removeEventListener('abort', onAbort);
  };
  const onAbort = () => {
    finish();
    resolve();
  };
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) onAbort();
  else if (mode === 'polling') tick();
  else {
    memif.on('interrupt', onInterrupt);
    // Whatever arrived before we listened.
    if (memif.connected) for (let q = 0; q < memif.rxQueueCount; q++) onInterrupt(q);
  }
  return {
    stop: () => {
      finish();
      resolve();
    },
    kick: () => {
      if (stopped || mode === 'polling' || !memif.connected) return;
      for (let q = 0; q < memif.rxQueueCount; q++) onInterrupt(q);
    },
    done,
  };
}

/** Sleeps `ms`, or less if `signal` aborts; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Waits up to 2 s until the peer has taken every frame still in our tx rings: a sender that exits
 * at once would take the link down under frames not yet read (gen, replay).
 */
export async function drainTx(memif: Memif, signal: AbortSignal): Promise<void> {
  const until = performance.now() + 2000;
  while (memif.connected && !signal.aborted && performance.now() < until) {
    const d = memif.details();
    const pending = d.txQueues.some((t) =>
      d.role === 'slave' ? t.head !== t.tail : ((t.head - t.tail) & 0xffff) !== t.ringSize,
    );
    if (!pending) return;
    await pause(5, signal);
  }
}
