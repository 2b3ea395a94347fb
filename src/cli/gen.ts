// memif gen: a traffic generator of valid Ethernet/IPv4/UDP frames, each tagged with its queue,
// a sequence number and its send time (gen-frame.ts), on every tx queue, as fast as the rings
// take them or paced to a rate; written in place with the zero-copy API (txAlloc → commit).
// Reports Mpps, Gbit/s and the frames a full ring refused.

import { randomInt } from 'node:crypto';
import { packet } from '../index.js';
import { macOption } from './addr.js';
import type { Command, Context } from './command.js';
import { drainTx, pause } from './drive.js';
import { GEN_MIN_SIZE, type GenAddresses, type GenTemplate, genTemplate, parseFlow, stamp } from './gen-frame.js';
import { formatBits, formatPps } from './reporter.js';
import { exclusive, parseIntOption, parseNumberOption, parseWith, UsageError } from './usage.js';

/** Simple IMIX: 64, 594 and 1518-byte frames, 7:4:1. */
const IMIX = [64, 594, 64, 1518, 64, 594, 64, 64, 594, 64, 594, 64];

export const gen: Command = {
  name: 'gen',
  summary: 'generate Ethernet/IPv4/UDP frames with sequence numbers and timestamps, on every queue',
  usage:
    '[--size N | --imix] [--rate PPS] [--count N | --duration S] [--burst N] [--dst-mac M] [--udp SRC:PORT→DST:PORT]',
  description: [
    'Valid frames (IPv4 and UDP checksums right); the UDP payload starts with a tag (queue, sequence',
    'number, send time from CLOCK_MONOTONIC) that `memif sink` reads for loss, reordering, duplicates',
    'and one-way latency. Flat out by default: a burst the ring cannot take whole is cut and the rest',
    'counted as refused, and a full ring is waited on; with --rate, frames fall due at that rate over all',
    'queues, and those a full ring refuses are counted, not retried. Frames larger than a buffer are',
    'chained. At the end gen waits up to 2 s for the peer to take what is still in the rings.',
  ],
  options: {
    size: { type: 'string', value: 'N', default: '64', description: `frame bytes (no FCS), ${GEN_MIN_SIZE}-65535` },
    imix: { type: 'boolean', description: 'simple IMIX: 64, 594, 1518-byte frames, 7:4:1' },
    rate: {
      type: 'string',
      value: 'PPS',
      default: 'as fast as possible',
      description: 'frames per second, all queues',
    },
    count: { type: 'string', value: 'N', default: 'until SIGINT', description: 'frames to send, all queues' },
    duration: { type: 'string', value: 'S', default: 'until SIGINT', description: 'seconds to send for' },
    burst: { type: 'string', value: 'N', default: '256', description: 'frames per burst, 1-256' },
    linger: {
      type: 'string',
      value: 'S',
      default: '0',
      description: 'when done, keep the link up S more seconds (or until SIGINT), e.g. for the peer to read counters',
    },
    mac: { type: 'string', value: 'M', default: 'random 02:…', description: 'source MAC' },
    'dst-mac': { type: 'string', value: 'M', default: 'ff:ff:ff:ff:ff:ff', description: 'destination MAC' },
    udp: {
      type: 'string',
      value: 'SRC:PORT→DST:PORT',
      default: '198.18.0.1:1024→198.18.0.2:1024',
      description: 'addresses and ports (also SRC:PORT,DST:PORT)',
    },
  },
  examples: [
    'memif gen --size 1500 --duration 10',
    'memif gen --role master --socket /tmp/memif.sock --rate 100000 --count 1000000 --queues 2',
    'memif gen --imix --udp 10.0.0.1:5000,10.0.0.2:5001 --dst-mac 02:fe:00:00:00:01',
  ],
  run: runGen,
};

async function runGen(ctx: Context): Promise<number> {
  const v = ctx.values;
  exclusive(v, 'size', 'imix');
  exclusive(v, 'count', 'duration');
  const sizes = v.imix
    ? IMIX
    : [parseIntOption((v.size as string | undefined) ?? '64', '--size', GEN_MIN_SIZE, 65_535)];
  const rate = v.rate === undefined ? undefined : parseNumberOption(v.rate as string, '--rate', 1e9);
  const count = v.count === undefined ? undefined : parseIntOption(v.count as string, '--count', 1, 2 ** 53 - 1);
  const durationS = v.duration === undefined ? undefined : parseNumberOption(v.duration as string, '--duration', 1e7);
  const burst = parseIntOption((v.burst as string | undefined) ?? '256', '--burst', 1, 256);
  const lingerS = parseNumberOption((v.linger as string | undefined) ?? '0', '--linger', 1e7, true);
  const flowText = (v.udp as string | undefined) ?? '198.18.0.1:1024→198.18.0.2:1024';
  const flow = parseFlow(flowText);
  if (!flow)
    throw new UsageError(`--udp must be SRC:PORT→DST:PORT (or SRC:PORT,DST:PORT); got ${JSON.stringify(flowText)}`);
  const addresses: GenAddresses = {
    srcMac: macOption(v.mac),
    dstMac: macOption((v['dst-mac'] as string | undefined) ?? 'ff:ff:ff:ff:ff:ff', '--dst-mac'),
    srcIp: parseWith(packet.parseIPv4, flow.srcIp, '--udp'),
    dstIp: parseWith(packet.parseIPv4, flow.dstIp, '--udp'),
    srcPort: parseIntOption(flow.srcPort, '--udp port', 0, 65_535),
    dstPort: parseIntOption(flow.dstPort, '--udp port', 0, 65_535),
  };
  const runId = randomInt(0x10000);
  const memif = await ctx.open();
  await ctx.waitForLink(memif); // false when stopped first: the summary is printed all the same

  const queues = memif.txQueueCount;
  const templates: GenTemplate[][] = [];
  for (let q = 0; q < queues; q++) templates.push(sizes.map((s) => genTemplate(addresses, s, q, runId)));
  const seqs = new Array<number>(queues).fill(0);
  const pattern = new Array<number>(queues).fill(0);
  const c = { txPackets: 0, txBytes: 0, refused: 0 };
  ctx.report(() => ({
    link: memif.connected,
    rxPackets: 0,
    rxBytes: 0,
    txPackets: c.txPackets,
    txBytes: c.txBytes,
    drops: c.refused,
  }));

  // Buffers a frame needs (as master, the slave's buffers are assumed to be --buffer-size).
  const segments = Math.ceil(Math.max(...sizes) / ctx.shared.bufferSize);
  /** Offers `want` frames to queue q; returns how many went. */
  const sendBurst = (q: number, want: number): number => {
    const tx = memif.txAlloc(q, want * segments);
    const t = process.hrtime.bigint();
    const timeHi = Number(t >> 32n);
    const timeLo = Number(t & 0xffffffffn);
    const tpl = templates[q] as GenTemplate[];
    let p = pattern[q] as number;
    let seq = seqs[q] as number;
    let n = 0;
    let bytes = 0;
    const cap = tx.bufCapacity;
    const regions = tx.bufRegion;
    const offsets = tx.bufOffset;
    let region = -1;
    let b: Uint8Array | undefined;
    // up to want × segments buffers were granted; when frames fit one buffer each (a slave offering
    // buffers bigger than --buffer-size), only `want` of them may be filled.
    const room = Math.min(tx.count, want);
    for (; n < room; n++) {
      const { bytes: frame, base } = tpl[p] as GenTemplate;
      const len = frame.length;
      if (len > cap[n]) break; // a chain: the slow path below
      if (regions[n] !== region || b === undefined) {
        region = regions[n];
        b = tx.bytes(region);
      }
      const o = offsets[n];
      b.set(frame, o);
      stamp(b, o, base, seq++, timeHi, timeLo);
      tx.bufLength[n] = len;
      bytes += len;
      if (++p === tpl.length) p = 0;
    }
    let sent: number;
    if (n === room || n > 0) {
      sent = tx.commit(n);
    } else {
      // The first frame does not fit one buffer: push whole frames, chained over buffers.
      for (; n < want; n++) {
        const { bytes: frame, base } = tpl[p] as GenTemplate;
        stamp(frame, 0, base, seq, timeHi, timeLo);
        if (!tx.push(frame)) break;
        seq++;
        bytes += frame.length;
        if (++p === tpl.length) p = 0;
      }
      sent = tx.commit();
    }
    pattern[q] = p;
    seqs[q] = seq;
    c.txPackets += sent;
    c.txBytes += bytes;
    // Flat out, a ring with no room at all is waited on, not refused.
    if (sent > 0 || rate !== undefined) c.refused += Math.max(0, want - sent);
    return sent;
  };

  const started = performance.now();
  const endAt = durationS === undefined ? Number.POSITIVE_INFINITY : started + durationS * 1000;
  let offered = 0;
  let q = 0;
  const left = () => (count === undefined ? burst : Math.min(burst, count - c.txPackets));
  const done = () => ctx.signal.aborted || performance.now() >= endAt || (count !== undefined && c.txPackets >= count);
  while (!done()) {
    if (!memif.connected) {
      if (!(await ctx.waitForLink(memif, endAt))) break;
      continue;
    }
    const sliceEnd = performance.now() + 5;
    try {
      if (rate === undefined) {
        // Flat out: bursts round the queues for 5 ms, then let the event loop turn.
        let idle = 0;
        while (performance.now() < sliceEnd && !done() && idle < queues) {
          idle = sendBurst(q, left()) === 0 ? idle + 1 : 0;
          if (++q === queues) q = 0;
        }
        await new Promise<void>((r) => setImmediate(r));
      } else {
        const due = Math.floor(((performance.now() - started) * rate) / 1000) - offered;
        let todo = count === undefined ? due : Math.min(due, count - c.txPackets);
        while (todo > 0 && performance.now() < sliceEnd) {
          const want = Math.min(todo, left());
          if (want <= 0) break;
          offered += want;
          todo -= want;
          sendBurst(q, want);
          if (++q === queues) q = 0;
        }
        if (todo > 0) offered += todo; // behind the rate: what could not even be offered is refused
        if (todo > 0) c.refused += todo;
        await pause(Math.max(1, Math.min(10, 1000 / rate)), ctx.signal);
      }
    } catch (err) {
      if (memif.connected) throw err;
    }
  }
  const seconds = Math.max((performance.now() - started) / 1000, 1e-9);
  await drainTx(memif, ctx.signal);
  if (lingerS > 0) {
    ctx.note(`gen: done, ${c.txPackets} frames sent; the link stays up for ${lingerS} s`);
    await pause(lingerS * 1000, ctx.signal);
  }
  const mpps = c.txPackets / seconds / 1e6;
  const gbps = (c.txBytes * 8) / seconds / 1e9;
  ctx.reporter.summary(
    {
      sent: c.txPackets,
      bytes: c.txBytes,
      refused: c.refused,
      seconds: Math.round(seconds * 1000) / 1000,
      mpps: Math.round(mpps * 1e4) / 1e4,
      gbps: Math.round(gbps * 1e4) / 1e4,
      queues,
      sizes: v.imix ? 'imix' : sizes[0],
      runId,
      perQueue: seqs,
    },
    [
      `gen: sent ${c.txPackets} frames (${c.txBytes} bytes) on ${queues} queue${queues > 1 ? 's' : ''} in ${seconds.toFixed(3)} s: ${formatPps(c.txPackets / seconds)}, ${formatBits(c.txBytes / seconds)}; ${c.refused} refused (tx ring full); run id ${runId}`,
    ],
  );
  return 0;
}
