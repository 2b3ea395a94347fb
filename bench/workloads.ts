// What one side of a benchmark scenario does (WorkSpec), what it reports (WorkResult), how the
// parent steers it while it runs (Control), and the constants of the packet loops. The loops
// themselves are in loops.ts, their clock, yield and measured window in probe.ts, the frames in frames.ts.
import type { Memif } from 'memif-ts';
import type { HeapStat } from './probe.js';

export type Api = 'copy' | 'zc';
export type RxMode = 'polling' | 'interrupt';

/** What one side of a scenario does. */
export interface WorkSpec {
  kind: 'send' | 'receive' | 'initiate' | 'reflect' | 'ping' | 'pong';
  api: Api;
  /** Frame size in bytes (send, initiate; receive checks it). */
  size: number;
  /** Queues used, 0 … queues-1. */
  queues: number;
  /** Not measured at the start (JIT, rings filling). */
  warmMs: number;
  /** send / initiate: stop after warmMs + measureMs; 0 = run until Control.stop. */
  measureMs: number;
  /** initiate: packets in flight per queue. */
  window: number;
  /** receive: check size and sequence numbers (false for testpmd's frames). */
  check: boolean;
  /** ping: round trips measured, after `warmup` unmeasured ones. */
  count: number;
  warmup: number;
  /** The slave's buffer size (both ends' buffers): how many buffers a frame takes. */
  bufferSize: number;
  /** Each queue driven by its own worker thread (handOff / WorkerQueue; workers.ts), not by the main thread. */
  workers?: boolean;
}

/**
 * What the one-way and echo loops use of an interface: a Memif, or one queue of a WorkerQueue
 * pair seen through the same calls (queue-worker.ts).
 */
export type Port = Pick<Memif, 'txAlloc' | 'txBurst' | 'rxBurst' | 'rxBurstZeroCopy' | 'connected'>;

/** Set from outside (IPC or the parent's own logic) while a loop runs. */
export class Control {
  stop = false;
  /** receive: packets the sender sent on each queue; the receiver ends once it has them all. */
  totals: number[] | undefined;
}

export interface WorkResult {
  /** Packets counted in the measured window and its length (ms): the rate. */
  packets: number;
  ms: number;
  /** Per queue: packets sent (send, initiate) or received (receive, reflect) in all. */
  perQueue: number[];
  /** Packets that arrived in order with the right size (receive, initiate). */
  verified: number;
  /** Packets with a wrong size or an unexpected sequence number. */
  errors: number;
  /** initiate: packets sent and never seen back. */
  lost: number;
  heap: HeapStat;
  /** ping: round-trip times in µs. */
  rtts?: number[];
}

/** Bursts of packets per call. */
export const BURST = 256;
/** Non-empty bursts of a busy loop between two yields to the event loop. */
export const SPIN = 64;
/**
 * Empty polls that also end a round (≈ 0.2–0.4 ms): an idle poller yields less often, because every
 * yield allocates (a promise and an Immediate) and would be counted as heap growth.
 */
export const IDLE_POLLS = 4096;
/** Where the sequence number sits in a frame (after the Ethernet header, 4-aligned). */
export const SEQ_AT = 16;
/** The buffer size both ends use by default (memif-ts's and DPDK's default). */
export const BUFFER_SIZE = 2048;
/** The buffer size of the jumbo rows: a 9,000-byte frame in one buffer, as VPP and DPDK set up jumbo frames. */
export const JUMBO_BUFFER_SIZE = 9216;
