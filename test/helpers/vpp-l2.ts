// Traffic through VPP between two memif interfaces of ours: VPP cross-connects (L2 xconnect) or
// forwards between them, and every frame that comes out at the other end is compared byte for byte
// with the frame that went in. Each frame is unique by (direction, queue, sequence number); its
// source MAC varies with the sequence number, so VPP's tx hash (hash-eth-l34) spreads the frames
// over every tx queue placed on its thread.
import assert from 'node:assert/strict';
import { VPP_WAIT_MS, type Vpp } from '../../peers/vpp.js';
import { Memif, type MemifError } from '../../src/index.js';
import { frame } from './interop.js';

/** A frame of `size` bytes (≥ 21) from side `tag` (1 or 2): queue at 14, sequence number at 16, tag at 20. */
export function l2Frame(size: number, tag: number, queue: number, seq: number): Buffer {
  const f = frame(size, queue, seq);
  f[9] = tag;
  f[10] = (queue * 101 + seq * 13) & 0xff;
  f[11] = (seq * 37 + queue * 7) & 0xff;
  f[20] = tag;
  return f;
}

const keyOf = (f: Buffer) => `${f[20]}/${f.readUInt16BE(14)}/${f.readUInt32BE(16)}`;

export interface L2Options {
  /** Frame sizes sent on every tx queue of both sides, in this order. */
  sizes: number[];
  /** Read only when the interface signals (its 'interrupt' events), instead of polling every queue. */
  interrupts?: boolean;
  /** Only a → b (b sends nothing). */
  oneWay?: boolean;
  /** Give up after this long (a bound against hanging, not a performance check). */
  boundMs?: number;
}

export interface L2Result {
  /** Frames received on each rx queue of a and of b. */
  aRx: number[];
  bRx: number[];
  /** The length of every frame received, per rx queue of a and of b. */
  aRxSizes: number[][];
  bRxSizes: number[][];
  /** Frames and bytes each side sent. */
  sent: { a: { packets: number; bytes: number }; b: { packets: number; bytes: number } };
}

/**
 * Sends `sizes` on every tx queue of `a` (to `b`) and of `b` (to `a`) at once, and checks that each
 * frame arrives exactly once, byte for byte, in order among the frames of its queue that came out
 * on the same rx queue.
 */
export async function l2Exchange(a: Memif, b: Memif, o: L2Options): Promise<L2Result> {
  const sides = o.oneWay
    ? ([[a, b, 1]] as const)
    : ([
        [a, b, 1],
        [b, a, 2],
      ] as const);
  const expected = new Map<string, Buffer>();
  const pending: { iface: Memif; queue: number; frames: Buffer[]; done: number }[] = [];
  const sent = { a: { packets: 0, bytes: 0 }, b: { packets: 0, bytes: 0 } };
  for (const [from, , tag] of sides) {
    for (let q = 0; q < from.txQueueCount; q++) {
      const frames = o.sizes.map((size, i) => l2Frame(size, tag, q, i));
      for (const f of frames) expected.set(keyOf(f), f);
      pending.push({ iface: from, queue: q, frames, done: 0 });
      const s = tag === 1 ? sent.a : sent.b;
      s.packets += frames.length;
      s.bytes += frames.reduce((x, f) => x + f.length, 0);
    }
  }
  const total = expected.size;
  const seen = new Set<string>();
  const rxCounts = new Map<Memif, number[]>([
    [a, Array<number>(a.rxQueueCount).fill(0)],
    [b, Array<number>(b.rxQueueCount).fill(0)],
  ]);
  const rxSizes = new Map<Memif, number[][]>([
    [a, Array.from({ length: a.rxQueueCount }, () => [])],
    [b, Array.from({ length: b.rxQueueCount }, () => [])],
  ]);
  /** Per receiving interface and rx queue: the last sequence number seen per (tag, queue). */
  const lastSeq = new Map<string, number>();
  const problems: string[] = [];
  const take = (iface: Memif, q: number) => {
    for (;;) {
      const got = iface.rxBurst(q);
      if (got.length === 0) return;
      (rxCounts.get(iface) as number[])[q] += got.length;
      for (const f of got) {
        (rxSizes.get(iface) as number[][])[q].push(f.length);
        if (f.length < 21) {
          problems.push(`a ${f.length}-byte frame that we never sent`);
          continue;
        }
        const key = keyOf(f);
        const want = expected.get(key);
        const wantTag = iface === b ? 1 : 2;
        if (!want || want[20] !== wantTag) {
          problems.push(`unknown frame ${key} (${f.length} bytes) on rx queue ${q}`);
          continue;
        }
        if (seen.has(key)) problems.push(`frame ${key} arrived twice`);
        seen.add(key);
        if (!f.equals(want)) {
          problems.push(
            `frame ${key}: got ${f.length} bytes, want ${want.length}, first difference at ${firstDiff(f, want)}`,
          );
        }
        const stream = `${wantTag}/${q}/${f.readUInt16BE(14)}`;
        const seq = f.readUInt32BE(16);
        if ((lastSeq.get(stream) ?? -1) >= seq) problems.push(`frame ${key} out of order on rx queue ${q}`);
        lastSeq.set(stream, seq);
      }
    }
  };
  const listeners: [Memif, (q: number) => void][] = [];
  if (o.interrupts) {
    for (const iface of [a, b]) {
      const l = (q: number) => take(iface, q);
      iface.on('interrupt', l);
      listeners.push([iface, l]);
    }
  }
  try {
    const deadline = Date.now() + (o.boundMs ?? VPP_WAIT_MS);
    while (seen.size < total && problems.length === 0) {
      if (Date.now() > deadline) break;
      for (const p of pending) {
        if (p.done < p.frames.length) p.done += p.iface.txBurst(p.queue, p.frames.slice(p.done));
      }
      if (!o.interrupts) {
        for (const iface of [a, b]) for (let q = 0; q < iface.rxQueueCount; q++) take(iface, q);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    for (const [iface, l] of listeners) iface.off('interrupt', l);
  }
  const result = {
    aRx: rxCounts.get(a) as number[],
    bRx: rxCounts.get(b) as number[],
    aRxSizes: rxSizes.get(a) as number[][],
    bRxSizes: rxSizes.get(b) as number[][],
    sent,
  };
  if (problems.length > 0) assert.fail(problems.slice(0, 10).join('\n'));
  if (seen.size < total) {
    const queued = pending.map((p) => `${p.done}/${p.frames.length}`).join(' ');
    assert.fail(
      `through VPP: ${seen.size} of ${total} frames arrived (queued per tx queue: ${queued}; received per rx queue: a ${result.aRx.join('/')}, b ${result.bRx.join('/')})`,
    );
  }
  return result;
}

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * Waits until VPP shows `name` connected (`show memif`). When we are the master, our side is up as
 * soon as we send CONNECTED, and VPP (the slave) brings its link up only when it has read it:
 * frames sent in between are dropped by VPP ("interface is down").
 */
export async function vppConnected(vpp: Vpp, name: string, ms = VPP_WAIT_MS): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const out = await vpp.cli(`show memif ${name}`);
    const hw = await vpp.cli(`show hardware-interfaces ${name}`);
    if (/flags [^\n]*\bconnected\b/.test(out) && new RegExp(`^${name}\\s+\\d+\\s+up\\b`, 'm').test(hw)) return out;
    if (Date.now() > deadline) throw new Error(`VPP's ${name} not connected within ${ms} ms:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Places every tx queue of VPP's interface `name` on its main thread (VPP then hashes over all of them). */
export async function vppSpreadTx(vpp: Vpp, name: string, queues: number): Promise<void> {
  for (let q = 1; q < queues; q++) await vpp.config(`set interface tx-queue ${name} queue ${q} threads 0`);
}

/** One ring as `show memif NAME` shows it. */
export interface VppRing {
  size: number;
  head: number;
  tail: number;
  /** The ring's flags word (bit 0: MASK_INT, set by the ring's consumer when it polls). */
  flags: number;
  /**
   * VPP's interrupt count for the ring: on a ring VPP receives on, the signals it read from the
   * peer; on a ring it transmits on, the signals it sent.
   */
  interrupts: number;
}

/** What `show memif NAME` says of one connected interface. */
export interface VppMemif {
  bufferSize: number;
  regions: { index: number; size: number }[];
  /** By ring: 'S2M 0', 'M2S 1', … */
  rings: Record<string, VppRing>;
}

/** Parses the buffer size, regions and rings out of `show memif NAME`. */
export function parseMemif(text: string): VppMemif {
  const bufferSize = Number(/\bbuffer-size (\d+)/.exec(text)?.[1] ?? Number.NaN);
  const regions: { index: number; size: number }[] = [];
  for (const m of text.matchAll(/^\s*region (\d+) size (\d+)/gm)) {
    regions.push({ index: Number(m[1]), size: Number(m[2]) });
  }
  const rings: Record<string, VppRing> = {};
  const re =
    /(slave-to-master|master-to-slave) ring (\d+):\s*\n\s*region \d+ offset \d+ ring-size (\d+)[^\n]*\n\s*head (\d+) tail (\d+) flags 0x([0-9a-f]+) interrupts (\d+)/g;
  for (const m of text.matchAll(re)) {
    rings[`${m[1] === 'slave-to-master' ? 'S2M' : 'M2S'} ${m[2]}`] = {
      size: Number(m[3]),
      head: Number(m[4]),
      tail: Number(m[5]),
      flags: Number.parseInt(m[6], 16),
      interrupts: Number(m[7]),
    };
  }
  return { bufferSize, regions, rings };
}

/**
 * `show errors` without the L2 nodes' packet counts (VPP lists every frame through a cross-connect
 * or bridge as "l2-input: L2 input packets" and "l2-output: L2 output packets", severity error):
 * what is left are real errors, which our traffic must not cause.
 */
export async function vppErrorsBesidesL2(vpp: Vpp): Promise<[string, number][]> {
  return Object.entries(await vpp.errors()).filter(([k]) => !/^l2-(input|output): L2 (input|output) packets$/.test(k));
}

export interface PairCase {
  /** VPP's role; ours is the other one. */
  vpp: 'master' | 'slave';
  abstract?: boolean;
  /** Queues we receive on / transmit on (VPP's tx-queues / rx-queues). Default 1. */
  rxQueues?: number;
  txQueues?: number;
  /** log2 ring size, on both ends. Default 10. */
  ring?: number;
  /** Buffer size, on both ends. Default 2048. */
  buffer?: number;
  /** A VPP slave without zero-copy (`no-zero-copy`). */
  noZeroCopy?: boolean;
  secret?: string;
  /** Our secret when it should differ from VPP's. */
  ourSecret?: string;
  mode?: 'ethernet' | 'ip';
  /** Our rx mode. */
  rxMode?: 'interrupt' | 'polling';
  /** Extra words for VPP's `create interface memif`. */
  vppExtra?: string;
  /** Do not cross-connect (ip mode: VPP routes instead). */
  noXconnect?: boolean;
  /** Leave VPP's tx queues as placed (only queue 0 on its one thread) instead of spreading them. */
  noSpread?: boolean;
}

/** Two interfaces of ours (a, b) attached to two memif interfaces of one VPP (vppA, vppB). */
export interface L2Pair {
  a: Memif;
  b: Memif;
  vppA: string;
  vppB: string;
  socketId: number;
  /** Our socketPath. */
  path: string;
  /** The first 'error' event of `m` since it was created (recorded from the start: a refusal can come at once). */
  firstError(m: Memif, ms?: number): Promise<MemifError>;
  close(): Promise<void>;
}

let sockets = 0;

/**
 * Creates a memif socket on VPP and two interfaces on it (ids 0 and 1), cross-connected at L2 and
 * up, and our two interfaces of the other role on the same socket. Resolves when both links are
 * up on both ends, with VPP's tx queues spread over its thread. Our masters listen before VPP's
 * slaves are created; our slaves retry until VPP's masters listen.
 */
export async function openL2Pair(vpp: Vpp, c: PairCase, connect = true): Promise<L2Pair> {
  const id = 10 + sockets++;
  const name = `memif-ts-vpp-${process.pid}-${id}`;
  const vppFile = c.abstract ? `abstract:${name}` : vpp.path(`${name}.sock`);
  const path = c.abstract ? `@${name}` : vppFile;
  const rx = c.rxQueues ?? 1;
  const tx = c.txQueues ?? 1;
  const ring = c.ring ?? 10;
  const buffer = c.buffer ?? 2048;
  const ours = c.vpp === 'master' ? 'slave' : 'master';
  const opened: Memif[] = [];
  const errors = new Map<Memif, MemifError[]>();
  const firstError = async (m: Memif, ms = VPP_WAIT_MS) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = errors.get(m)?.[0];
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`no error event within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const vppA = `memif${id}/0`;
  const vppB = `memif${id}/1`;
  const close = async () => {
    for (const m of opened) await m.close();
    if (!vpp.running) return;
    try {
      for (const n of [vppA, vppB]) await vpp.cli(`delete interface memif ${n}`);
      await vpp.cli(`delete memif socket id ${id}`);
    } catch (err) {
      // The debug build's abort in the queue-refusal case (docs/interop.md) fails vppctl before
      // VPP's process is seen to exit.
      if (!(await vpp.diesWithin(2000))) throw err;
    }
  };
  try {
    const open = async (ifId: number) => {
      const m = await Memif.create({
        role: ours,
        socketPath: path,
        id: ifId,
        rxQueues: rx,
        txQueues: tx,
        log2RingSize: ring,
        bufferSize: buffer,
        reconnectIntervalMs: 100,
        ...((c.ourSecret ?? c.secret) ? { secret: c.ourSecret ?? c.secret } : {}),
        ...(c.mode ? { mode: c.mode } : {}),
        ...(c.rxMode ? { rxMode: c.rxMode } : {}),
      });
      opened.push(m);
      errors.set(m, []);
      m.on('error', (e: MemifError) => errors.get(m)?.push(e));
      return m;
    };
    let a: Memif | undefined;
    let b: Memif | undefined;
    if (ours === 'master') {
      a = await open(0);
      b = await open(1);
    }
    const words = [
      c.vpp,
      `rx-queues ${tx}`,
      `tx-queues ${rx}`,
      `ring-size ${1 << ring}`,
      `buffer-size ${buffer}`,
      ...(c.secret ? [`secret ${c.secret}`] : []),
      ...(c.mode === 'ip' ? ['mode ip'] : []),
      ...(c.noZeroCopy ? ['no-zero-copy'] : []),
      ...(c.vppExtra ? [c.vppExtra] : []),
    ].join(' ');
    await vpp.config(
      `create memif socket id ${id} filename ${vppFile}`,
      `create interface memif socket-id ${id} id 0 ${words}`,
      `create interface memif socket-id ${id} id 1 ${words}`,
    );
    if (!c.noXconnect) {
      await vpp.config(`set interface l2 xconnect ${vppA} ${vppB}`, `set interface l2 xconnect ${vppB} ${vppA}`);
    }
    await vpp.config(`set interface state ${vppA} up`, `set interface state ${vppB} up`);
    if (ours === 'slave') {
      a = await open(0);
      b = await open(1);
    }
    const pair = { a: a as Memif, b: b as Memif, vppA, vppB, socketId: id, path, close, firstError };
    if (connect) {
      for (const m of [pair.a, pair.b]) await m.waitForConnect({ timeoutMs: VPP_WAIT_MS });
      for (const n of [vppA, vppB]) await vppConnected(vpp, n);
      if (!c.noSpread) for (const n of [vppA, vppB]) await vppSpreadTx(vpp, n, rx);
    }
    return pair;
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
