// The floor under the interrupt-mode round trip: two Node processes (this one on core 0, a child
// on core 1) waking each other through a pair of eventfds watched by uv_poll (the addon's Poller),
// with nothing else to do. memif-ts in interrupt mode does the same twice per round trip, plus a
// ring and an `interrupt` event; the target reads its p50 as a ratio of this one's.
import { fileURLToPath } from 'node:url';
import { type NativePoller, native } from '../src/native.js';
import { sleep, spawnPinned, withTimeout } from './procs.js';
import { type Again, CORE_CHILD, RTT_WARMUP, RTTS, SECTION, where } from './settings.js';
import type { Row } from './table.js';

const peerPath = fileURLToPath(new URL('./eventfd-peer.js', import.meta.url));

/** p50 / p99 / max of round-trip times (µs). */
export function rttStats(values: number[]): NonNullable<Row['rtt']> {
  const rtts = [...values].sort((a, b) => a - b);
  const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? Number.NaN;
  return { p50: q(0.5), p99: q(0.99), max: rtts[rtts.length - 1] ?? Number.NaN, n: rtts.length };
}

export async function eventfdFloorRow(again?: Again): Promise<Row> {
  const b = native();
  const toChild = b.eventfdCreate();
  const toUs = b.eventfdCreate();
  const { proc, cleanup } = spawnPinned(
    where.placement.pinned,
    CORE_CHILD,
    process.execPath,
    [peerPath],
    ['ignore', 'inherit', 'pipe', 'ipc', toChild, toUs],
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    proc.on('message', (m: { t: string; message?: string }) => {
      if (m.t === 'error') reject(new Error(m.message));
    });
    proc.once('exit', (code, signal) => reject(new Error(`eventfd-peer exited (${signal ?? code}) ${stderr.trim()}`)));
  });
  failed.catch(() => {});
  const rtts: number[] = [];
  let poller: NativePoller | undefined;
  try {
    const ready = new Promise<void>((resolve) =>
      proc.on('message', (m: { t: string }) => m.t === 'ready' && resolve()),
    );
    await withTimeout(Promise.race([ready, failed]), 10_000, 'eventfd-peer ready');
    const n = RTT_WARMUP + RTTS;
    const done = new Promise<void>((resolve, reject) => {
      let i = 0;
      let t0 = 0;
      const kick = () => {
        t0 = performance.now();
        const err = b.eventfdSignal(toChild);
        if (err !== 0) reject(new Error(`eventfd signal failed (errno ${err})`));
      };
      poller = new b.Poller(toUs, (status) => {
        if (status < 0 || b.eventfdDrain(toUs) < 0) return reject(new Error(`poll or drain failed (${status})`));
        const t1 = performance.now();
        if (i >= RTT_WARMUP) rtts.push((t1 - t0) * 1000);
        if (++i === n) resolve();
        else kick();
      });
      poller.start(b.READABLE);
      kick();
    });
    await withTimeout(Promise.race([done, failed]), 30_000, 'eventfd ping-pong');
  } finally {
    poller?.close();
    if (proc.connected) proc.send({ t: 'quit' });
    await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(2_000)]);
    cleanup();
    b.close(toChild);
    b.close(toUs);
  }
  return {
    id: `latency/eventfd-floor${again?.suffix ?? ''}`,
    section: SECTION.latency,
    scenario: `floor: eventfd ping-pong between two Node processes (uv_poll, nothing else)${again?.label ?? ''}`,
    rtt: rttStats(rtts),
    notes: `${rtts.length.toLocaleString('en-US')} round trips after ${RTT_WARMUP.toLocaleString('en-US')} unmeasured; the parent on core 0, a child on core 1, each waiting in its event loop`,
  };
}
