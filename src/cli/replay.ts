// memif replay: sends the frames of a pcap or pcapng file on queue 0, in order — at their recorded
// timing (optionally sped up or slowed down), at a fixed rate, or as fast as the ring takes them —
// once or in a loop. A frame the ring has no room for waits for room: none is dropped. A record no
// memif can carry (0 bytes, or more than a whole ring of buffers holds) is skipped and counted.
import { readFileSync } from 'node:fs';
import { setImmediate as immediate } from 'node:timers/promises';
import type { Memif } from '../index.js';
import type { Command, Context } from './command.js';
import { drainTx, pause } from './drive.js';
import { type CaptureRecord, LINKTYPE_ETHERNET, readCapture } from './pcap.js';
import { formatBits, formatPps } from './reporter.js';
import { parseIntOption, parseNumberOption, UsageError } from './usage.js';

const BATCH = 256;

export const replay: Command = {
  name: 'replay',
  summary: 'send the frames of a pcap or pcapng file (recorded timing, a rate, or top speed)',
  usage: 'FILE [--rate PPS | --speed X | --topspeed] [--loop N]',
  description: [
    'Frames go out on queue 0 in file order; by default at the intervals they were recorded with.',
    'A full ring makes replay wait for room: no frame is dropped. The link must be up to start. At the end',
    'replay waits up to 2 s for the peer to take what is still in the ring. A record of 0 bytes, or larger than',
    'a whole tx ring of buffers holds, is skipped (counted in the summary).',
  ],
  positionals: { min: 1, max: 1, name: 'FILE' },
  options: {
    rate: { type: 'string', value: 'PPS', description: 'send at PPS frames per second' },
    speed: { type: 'string', value: 'X', default: '1', description: 'recorded timing, X times as fast' },
    topspeed: { type: 'boolean', description: 'as fast as the ring takes them' },
    loop: { type: 'string', value: 'N', default: '1', description: 'send the file N times; 0 = until stopped' },
  },
  examples: ['memif replay vpp.pcapng --socket /run/vpp/memif.sock', 'memif replay big.pcap --topspeed --loop 0'],
  async run(ctx: Context) {
    const v = ctx.values;
    const given = ['rate', 'speed', 'topspeed'].filter((k) => v[k] !== undefined && v[k] !== false);
    if (given.length > 1) throw new UsageError(`--${given[0]} and --${given[1]} cannot be used together`);
    const rate = v.rate === undefined ? undefined : parseNumberOption(v.rate as string, '--rate', 1e9);
    const speed = v.speed === undefined ? 1 : parseNumberOption(v.speed as string, '--speed', 1e6);
    const loops = v.loop === undefined ? 1 : parseIntOption(v.loop as string, '--loop', 0, 2 ** 31 - 1);
    const path = ctx.positionals[0] as string;
    let records: CaptureRecord[];
    try {
      const file = readCapture(readFileSync(path));
      if (file.linkType !== LINKTYPE_ETHERNET && ctx.shared.mode === 'ethernet') {
        throw new Error(`link type ${file.linkType}, not Ethernet (1)`);
      }
      records = file.records;
    } catch (err) {
      throw new UsageError(`${path}: ${(err as Error).message}`);
    }
    // When frame i is due, in ms after the start of a pass.
    const t0 = records[0]?.timeNs ?? 0n;
    const due =
      v.topspeed === true
        ? () => 0
        : rate !== undefined
          ? (i: number) => (i * 1000) / rate
          : (i: number) => Number((records[i] as CaptureRecord).timeNs - t0) / 1e6 / speed;

    const memif = await ctx.open();
    const c = { txPackets: 0, txBytes: 0, passes: 0, skipped: 0 };
    ctx.report(() => ({ link: memif.connected, rxPackets: 0, rxBytes: 0, ...c, drops: 0 }));
    let started = performance.now();
    if (records.length > 0 && (await ctx.waitForLink(memif))) {
      started = performance.now();
      while ((loops === 0 || c.passes < loops) && !ctx.signal.aborted) {
        const sent = c.txPackets;
        if (!(await sendPass(memif, records, due, ctx, c))) break;
        c.passes++;
        // A pass that sent nothing (every record skipped) never waited for anything: without a
        // pause here, `--loop 0` would never let the event loop (SIGINT included) turn again.
        if (c.txPackets === sent) await pause(1, ctx.signal);
      }
    }
    const s = (performance.now() - started) / 1000;
    await drainTx(memif, ctx.signal);
    const skipped = c.skipped > 0 ? `, ${c.skipped} skipped (0 bytes, or larger than the ring holds)` : '';
    const fields = { file: path, packets: c.txPackets, bytes: c.txBytes, skipped: c.skipped, passes: c.passes };
    ctx.reporter.summary({ ...fields, seconds: round(s) }, [
      `replay: ${c.txPackets} frames (${c.txBytes} bytes) sent from ${path}${skipped}, ${c.passes} pass${c.passes === 1 ? '' : 'es'}, in ${s.toFixed(1)} s`,
      `average ${formatPps(c.txPackets / s)} ${formatBits(c.txBytes / s)}`,
    ]);
    return 0;
  },
};

/** One pass over the file; false if stopped (signal, or the link went down for good). */
async function sendPass(
  memif: Memif,
  records: CaptureRecord[],
  due: (i: number) => number,
  ctx: Context,
  c: { txPackets: number; txBytes: number; skipped: number },
): Promise<boolean> {
  const start = performance.now();
  const batch: Buffer[] = [];
  let max = largestFrame(memif);
  let i = 0;
  while (i < records.length) {
    if (ctx.signal.aborted) return false;
    if (!memif.connected) {
      if (!(await ctx.waitForLink(memif))) return false;
      max = largestFrame(memif); // another peer may offer other buffers
    }
    const now = performance.now() - start;
    const wait = due(i) - now;
    if (wait > 1) {
      await pause(Math.min(wait, 1000), ctx.signal);
      continue;
    }
    const first = (records[i] as CaptureRecord).data;
    if (first.length === 0 || first.length > max) {
      if (c.skipped++ === 0) {
        ctx.note(`replay: record ${i + 1} (${first.length} bytes) skipped: a frame must be 1 to ${max} bytes here`);
      }
      i++;
      continue;
    }
    batch.length = 0;
    for (let j = i; j < records.length && batch.length < BATCH && due(j) <= now + 1; j++) {
      const data = (records[j] as CaptureRecord).data;
      if (data.length === 0 || data.length > max) break; // skipped when its turn comes
      batch.push(data);
    }
    let sent = 0;
    try {
      sent = memif.txBurst(0, batch);
    } catch (err) {
      // The link went down under us (wait for it above), or came back with smaller rings (look again).
      if (memif.connected && largestFrame(memif) === max) throw err;
      max = largestFrame(memif);
      continue;
    }
    for (let k = 0; k < sent; k++) c.txBytes += (batch[k] as Buffer).length;
    c.txPackets += sent;
    i += sent;
    // Let the peer's interrupt, signals and reports in; a full ring gets a millisecond to drain.
    if (sent < batch.length) await pause(1, ctx.signal);
    else await immediate();
  }
  return true;
}

/** The largest frame the link carries: a whole tx ring of buffers (0 while it is down). */
function largestFrame(memif: Memif): number {
  const tx = memif.details().txQueues[0];
  return tx === undefined ? 0 : tx.ringSize * tx.bufferSize;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
