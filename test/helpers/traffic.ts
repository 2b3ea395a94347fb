// Deterministic traffic for byte-exact checks without keeping packets around: packet i of a
// stream is a slice of a shared random pool, at an offset and with a length both derived from
// (stream seed, i). Packet i goes to queue i % queues. The receiver rebuilds what it expects.
import { setImmediate as tick } from 'node:timers/promises';
import type { Memif } from '../../src/index.js';

const POOL_SIZE = 1 << 20;

function hash32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

let pool: Buffer | undefined;
function randomPool(): Buffer {
  if (pool === undefined) {
    pool = Buffer.allocUnsafe(POOL_SIZE);
    let s = 0x9e3779b9;
    for (let i = 0; i < POOL_SIZE; i += 4) {
      s = hash32(s + i);
      pool.writeUInt32LE(s, i);
    }
  }
  return pool;
}

export interface StreamSpec {
  seed: number;
  minSize: number;
  maxSize: number;
}

/** Packet `i` of a stream (a view into the pool; do not modify). */
export function streamPacket(spec: StreamSpec, i: number): Buffer {
  const p = randomPool();
  const h = hash32(spec.seed ^ Math.imul(i + 1, 0x9e3779b1));
  const len = spec.minSize + (h % (spec.maxSize - spec.minSize + 1));
  const off = hash32(h ^ 0x5bd1e995) % (POOL_SIZE - len);
  return p.subarray(off, off + len);
}

export interface TrafficOptions {
  /** Packets to send, and to expect from the peer. */
  count: number;
  /** Our stream and the peer's. */
  send: StreamSpec;
  expect: StreamSpec;
  /** 'interrupt': read a queue only after its interrupt event. 'polling': read every queue. */
  rxMode: 'interrupt' | 'polling';
  burst?: number;
}

export interface TrafficResult {
  sent: number;
  received: number;
  /** Descriptions of the first mismatches (empty when every byte matched). */
  mismatches: string[];
  bytesReceived: number;
  interrupts: number;
}

/**
 * Sends `count` packets of our stream spread over all tx queues while receiving and checking the
 * peer's `count` packets on all rx queues, byte for byte and in order per queue.
 */
export async function runTraffic(iface: Memif, opts: TrafficOptions): Promise<TrafficResult> {
  const txQ = iface.txQueueCount;
  const rxQ = iface.rxQueueCount;
  const burst = opts.burst ?? 64;
  const nextTx = Array.from({ length: txQ }, (_, q) => q);
  const nextRx = Array.from({ length: rxQ }, (_, q) => q);
  const signalled = new Set<number>();
  const r: TrafficResult = { sent: 0, received: 0, mismatches: [], bytesReceived: 0, interrupts: 0 };
  const onInterrupt = (q: number) => {
    r.interrupts++;
    signalled.add(q);
  };
  iface.on('interrupt', onInterrupt);
  const batch: Buffer[] = [];
  try {
    while (r.sent < opts.count || r.received < opts.count) {
      if (!iface.connected) throw new Error(`link went down after ${r.sent} sent, ${r.received} received`);
      let progress = false;
      for (let q = 0; q < txQ && r.sent < opts.count; q++) {
        batch.length = 0;
        for (let i = nextTx[q]; i < opts.count && batch.length < burst; i += txQ)
          batch.push(streamPacket(opts.send, i));
        if (batch.length === 0) continue;
        const n = iface.txBurst(q, batch);
        nextTx[q] += n * txQ;
        r.sent += n;
        if (n > 0) progress = true;
      }
      for (let q = 0; q < rxQ; q++) {
        if (opts.rxMode === 'interrupt' && !signalled.has(q)) continue;
        const got = iface.rxBurst(q, burst);
        if (got.length === 0) {
          signalled.delete(q);
          continue;
        }
        progress = true;
        for (const pkt of got) {
          const i = nextRx[q];
          const want = i < opts.count ? streamPacket(opts.expect, i) : undefined;
          if (want === undefined || !pkt.equals(want)) {
            if (r.mismatches.length < 10) {
              r.mismatches.push(`queue ${q} packet ${i}: got ${pkt.length} bytes, want ${want?.length ?? 'nothing'}`);
            }
          }
          nextRx[q] += rxQ;
          r.received++;
          r.bytesReceived += pkt.length;
        }
      }
      if (!progress) await tick();
    }
  } finally {
    iface.off('interrupt', onInterrupt);
  }
  return r;
}

/** Streams used by the two roles, so that a packet read back from our own ring cannot pass. */
export function streams(seed: number, maxSize: number, minSize = 1): { master: StreamSpec; slave: StreamSpec } {
  return {
    master: { seed: seed ^ 0x6d617374, minSize, maxSize },
    slave: { seed: seed ^ 0x736c6176, minSize, maxSize },
  };
}

/** Reads queue `q` of `rx` until `count` packets came (the test timeout bounds the wait). */
export async function receive(rx: Memif, q: number, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  while (got.length < count) {
    got.push(...rx.rxBurst(q));
    if (got.length < count) await tick();
  }
  return got;
}
