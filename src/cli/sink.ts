// memif sink: receives on every rx queue and counts, with the zero-copy API; reports rates. For
// frames of `memif gen` (tag in gen-frame.ts) it also follows each (run, queue) stream: loss (gaps
// in the sequence), reordering, duplicates, and one-way latency from gen's send time — both ends
// read CLOCK_MONOTONIC, which on Linux is one clock for every process of the host.
import { packet } from '../index.js';
import type { Command, Context } from './command.js';
import { driveRx } from './drive.js';
import { GEN_MAGIC, GEN_MIN_SIZE, TAG } from './gen-frame.js';
import { LatencyHistogram } from './histogram.js';
import { formatBits, formatPps } from './reporter.js';
import { exclusive, parseIntOption, parseNumberOption } from './usage.js';

/** Gaps remembered per stream; beyond, missing frames are counted lost at once. */
const MAX_MISSING = 1 << 20;

interface Stream {
  next: number;
  missing: Set<number>;
  lostForgotten: number;
  received: number;
  reordered: number;
  duplicates: number;
}

export const sink: Command = {
  name: 'sink',
  summary: "receive and count; with gen's frames: loss, reordering, duplicates, one-way latency",
  usage: '[--count N | --duration S] [--check]',
  description: [
    'Counts frames and bytes on every rx queue. Frames from `memif gen` are followed per run and',
    'queue: lost = gaps in the sequence (frames lost after the last one received cannot be seen),',
    'reordered = arrived after a later one, duplicates = seen twice. One-way latency = arrival time',
    "minus gen's send time: both read CLOCK_MONOTONIC (process.hrtime), one system-wide clock on a",
    'Linux host, so gen and sink must run on the same host (and not in different time namespaces).',
  ],
  options: {
    count: { type: 'string', value: 'N', default: 'until SIGINT', description: 'stop after N frames' },
    duration: { type: 'string', value: 'S', default: 'until SIGINT', description: 'stop after S seconds' },
    check: { type: 'boolean', description: "verify the IPv4 and UDP checksums of gen's frames (slower)" },
  },
  examples: [
    'memif sink --duration 10',
    'memif sink --role master --socket /tmp/memif.sock --count 1000000 --queues 2 --json',
  ],
  run: runSink,
};

async function runSink(ctx: Context): Promise<number> {
  const v = ctx.values;
  exclusive(v, 'count', 'duration');
  const count = v.count === undefined ? undefined : parseIntOption(v.count as string, '--count', 1, 2 ** 53 - 1);
  const durationS = v.duration === undefined ? undefined : parseNumberOption(v.duration as string, '--duration', 1e7);
  const check = v.check === true;
  const memif = await ctx.open();
  await ctx.waitForLink(memif); // false when stopped first: the summary is printed all the same

  const c = { rxPackets: 0, rxBytes: 0, tagged: 0, badChecksums: 0 };
  const streams = new Map<number, Stream>();
  const latency = new LatencyHistogram();
  const totals = () => {
    let lost = 0;
    let reordered = 0;
    let duplicates = 0;
    for (const s of streams.values()) {
      lost += s.missing.size + s.lostForgotten;
      reordered += s.reordered;
      duplicates += s.duplicates;
    }
    return { lost, reordered, duplicates };
  };
  ctx.report(() => {
    const t = totals();
    return {
      link: memif.connected,
      rxPackets: c.rxPackets,
      rxBytes: c.rxBytes,
      txPackets: 0,
      txBytes: 0,
      drops: t.lost,
      extra: { reordered: t.reordered, duplicates: t.duplicates, p50us: round1(latency.percentile(50) / 1000) },
    };
  });

  let stream: Stream | undefined;
  let streamKey = -1;
  const started = performance.now();
  let first = 0;
  let last = 0;
  let driver: ReturnType<typeof driveRx> | undefined;
  // Set when the count is reached; poll may run inside driveRx() itself (frames already waiting),
  // before `driver` is assigned.
  let stopped = false;
  driver = driveRx(memif, ctx.shared.rxMode, ctx.signal, (q) => {
    if (stopped) return false;
    const rx = memif.rxBurstZeroCopy(q, 256);
    const n = rx.count;
    if (n === 0) {
      rx.release();
      return false;
    }
    const now = process.hrtime.bigint();
    const nowHi = Number(now >> 32n);
    const nowLo = Number(now & 0xffffffffn);
    if (first === 0) first = performance.now();
    last = performance.now();
    const lengths = rx.packetLength;
    const firsts = rx.first;
    const segRegion = rx.segRegion;
    const segOffset = rx.segOffset;
    const segLength = rx.segLength;
    let region = -1;
    let view: Uint8Array | undefined;
    const m = count === undefined ? n : Math.min(n, count - c.rxPackets);
    for (let i = 0; i < m; i++) {
      const len = lengths[i];
      c.rxBytes += len;
      if (len < GEN_MIN_SIZE) continue;
      let b: Uint8Array;
      let o: number;
      const f = firsts[i];
      if (firsts[i + 1] - f === 1 && segLength[f] >= GEN_MIN_SIZE) {
        if (segRegion[f] !== region || view === undefined) {
          region = segRegion[f];
          view = rx.bytes(region);
        }
        b = view;
        o = segOffset[f];
      } else {
        b = rx.view(i);
        o = 0;
      }
      // Ethernet/IPv4 (IHL 5)/UDP with gen's magic.
      if (b[o + 12] !== 0x08 || b[o + 13] !== 0 || b[o + 14] !== 0x45 || b[o + 23] !== 17) continue;
      if (u32(b, o + TAG.magic) !== GEN_MAGIC) continue;
      if (check && !packet.parseUdpFrame(rx.view(i))) {
        c.badChecksums++;
        continue;
      }
      c.tagged++;
      const key =
        (((b[o + TAG.ipId] << 8) | b[o + TAG.ipId + 1]) << 16) | (b[o + TAG.queue] << 8) | b[o + TAG.queue + 1];
      if (key !== streamKey || stream === undefined) {
        streamKey = key;
        stream = streams.get(key);
        if (!stream) {
          stream = { next: 0, missing: new Set(), lostForgotten: 0, received: 0, reordered: 0, duplicates: 0 };
          streams.set(key, stream);
        }
      }
      const seq = u32(b, o + TAG.seq) * 0x100000000 + u32(b, o + TAG.seq + 4);
      const s = stream;
      if (seq === s.next) {
        s.next++;
      } else if (seq > s.next) {
        const gap = seq - s.next;
        if (s.missing.size + gap <= MAX_MISSING) for (let k = s.next; k < seq; k++) s.missing.add(k);
        else s.lostForgotten += gap;
        s.next = seq + 1;
      } else if (s.missing.delete(seq)) {
        s.reordered++;
      } else {
        s.duplicates++;
        continue;
      }
      s.received++;
      // One-way latency in ns: now − send time, as two 32-bit halves (no BigInt per frame).
      const ns = (nowHi - u32(b, o + TAG.time)) * 0x100000000 + (nowLo - u32(b, o + TAG.time + 4));
      latency.add(ns);
    }
    c.rxPackets += m;
    rx.release();
    if (count !== undefined && c.rxPackets >= count) {
      stopped = true;
      driver?.stop();
      return false;
    }
    return n === 256;
  });
  if (stopped) driver.stop();
  const timer = durationS === undefined ? undefined : setTimeout(() => driver?.stop(), durationS * 1000);
  await driver.done;
  if (timer) clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const active = first === 0 ? 0 : Math.max((last - first) / 1000, 1e-6);
  const per = (n: number) => (active > 0 ? n / active : 0); // per second while traffic flowed
  const t = totals();
  const pct = (p: number) => round1(latency.percentile(p) / 1000);
  const lat =
    latency.count > 0 ? { p50: pct(50), p90: pct(90), p99: pct(99), max: round1(latency.max / 1000) } : undefined;
  const lines = [
    `sink: received ${c.rxPackets} frames (${c.rxBytes} bytes) in ${seconds.toFixed(3)} s; while traffic flowed (${active.toFixed(3)} s): ${formatPps(per(c.rxPackets))}, ${formatBits(per(c.rxBytes))}`,
  ];
  if (c.tagged > 0 || c.badChecksums > 0) {
    lines.push(
      `gen frames: ${c.tagged} in ${streams.size} stream${streams.size === 1 ? '' : 's'}; lost ${t.lost}, reordered ${t.reordered}, duplicates ${t.duplicates}${check ? `, bad checksums ${c.badChecksums}` : ''}`,
    );
  }
  if (lat) lines.push(`one-way latency µs: p50 ${lat.p50}  p90 ${lat.p90}  p99 ${lat.p99}  max ${lat.max}`);
  ctx.reporter.summary(
    {
      received: c.rxPackets,
      bytes: c.rxBytes,
      seconds: Math.round(seconds * 1000) / 1000,
      activeSeconds: Math.round(active * 1000) / 1000,
      mpps: Math.round((per(c.rxPackets) / 1e6) * 1e4) / 1e4,
      gbps: Math.round((per(c.rxBytes * 8) / 1e9) * 1e4) / 1e4,
      genFrames: c.tagged,
      streams: [...streams.entries()].map(([k, s]) => ({
        runId: k >>> 16,
        queue: k & 0xffff,
        received: s.received,
        next: s.next,
        lost: s.missing.size + s.lostForgotten,
        reordered: s.reordered,
        duplicates: s.duplicates,
      })),
      lost: t.lost,
      reordered: t.reordered,
      duplicates: t.duplicates,
      ...(check ? { badChecksums: c.badChecksums } : {}),
      ...(lat ? { latencyUs: lat } : {}),
    },
    lines,
  );
  return 0;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
