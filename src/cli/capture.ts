// memif capture: writes every frame received (all rx queues) to a pcap or pcapng file with
// nanosecond timestamps, which tshark, tcpdump and Wireshark read. `-w -` writes to stdout, live
// (`memif capture -w - | tshark -r -`); then the reports and the summary go to stderr.
import type { Command, Context } from './command.js';
import { driveRx, pause } from './drive.js';
import { RecordOutput } from './output.js';
import { type CaptureFormat, captureHeader, recordSize, writeRecord } from './pcap.js';
import { formatBits, formatPps, Reporter } from './reporter.js';
import { exclusive, parseChoice, parseIntOption, parseNumberOption, UsageError } from './usage.js';

const DEFAULT_SNAPLEN = 262144;

export const capture: Command = {
  name: 'capture',
  summary: 'write received frames to a pcap or pcapng file (tshark, Wireshark)',
  usage: '-w FILE [-c COUNT] [--duration S] [--snaplen N] [--format pcap|pcapng]',
  description: [
    'Frames from every rx queue, with nanosecond timestamps (pcap magic 0xa1b23c4d; pcapng with if_tsresol 9).',
    '-w - writes to stdout, for a live pipe into tshark; the reports then go to stderr.',
    'Stops after COUNT frames, after S seconds of link, or on SIGINT/SIGTERM; the file is complete either way.',
    'A pipe whose reader is slow holds frames back in the ring (the peer sees it full); one that is stuck gets 1 s after a signal, then the rest is dropped.',
  ],
  options: {
    write: { type: 'string', short: 'w', value: 'FILE', description: 'the capture file; - for stdout (required)' },
    count: { type: 'string', short: 'c', value: 'COUNT', default: 'no limit', description: 'stop after COUNT frames' },
    duration: { type: 'string', value: 'S', default: 'no limit', description: 'stop S seconds after the link came up' },
    snaplen: {
      type: 'string',
      value: 'N',
      default: String(DEFAULT_SNAPLEN),
      description: 'keep at most N bytes of each frame',
    },
    format: {
      type: 'string',
      value: 'pcap|pcapng',
      default: 'pcapng for *.pcapng, else pcap',
      description: 'file format',
    },
  },
  examples: [
    'memif capture --socket /run/vpp/memif.sock -w vpp.pcapng -c 1000',
    'memif capture --role master --socket @dpdk -w - | tshark -r -',
  ],
  async run(ctx: Context) {
    const v = ctx.values;
    const file = v.write as string | undefined;
    if (file === undefined || file === '') throw new UsageError('-w FILE is required (- for stdout)');
    exclusive(v, 'count', 'duration');
    const count =
      v.count === undefined ? Number.POSITIVE_INFINITY : parseIntOption(v.count as string, '-c', 1, 2 ** 53 - 1);
    const durationS = v.duration === undefined ? undefined : parseNumberOption(v.duration as string, '--duration', 2e6);
    const snaplen = parseIntOption(
      (v.snaplen as string | undefined) ?? String(DEFAULT_SNAPLEN),
      '--snaplen',
      1,
      2 ** 31 - 1,
    );
    const format: CaptureFormat =
      v.format === undefined
        ? file.endsWith('.pcapng')
          ? 'pcapng'
          : 'pcap'
        : parseChoice(v.format as string, '--format', ['pcap', 'pcapng'] as const);
    const toStdout = file === '-';
    // With -w -, stdout carries the file: reports and the summary go to stderr.
    const reporter = toStdout
      ? new Reporter({ command: 'capture', json: ctx.shared.json, quiet: ctx.shared.quiet, out: process.stderr })
      : ctx.reporter;
    let output: RecordOutput;
    try {
      output = new RecordOutput(file);
    } catch (err) {
      throw new UsageError(`-w ${file}: ${(err as Error).message}`);
    }
    const c = { rxPackets: 0, rxBytes: 0, written: 0 };
    try {
      output.write(captureHeader(format, snaplen));
      const memif = await ctx.open();
      // ns since the epoch = Date.now() at start, moved on by the monotonic clock.
      const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
      const started = performance.now();
      const sample = () => ({
        link: memif.connected,
        rxPackets: c.rxPackets,
        rxBytes: c.rxBytes,
        txPackets: 0,
        txBytes: 0,
        drops: 0,
      });
      if (!ctx.shared.quiet) reporter.start(sample);
      let driver: ReturnType<typeof driveRx> | undefined;
      // Set when the count is reached or the reader left; poll may run inside driveRx() itself
      // (frames already waiting), before `driver` is assigned.
      let stopped = false;
      const readerLeft = () => {
        if (stopped) return;
        ctx.note('capture: the reader of the output went away; stopping');
        stopped = true;
        driver?.stop();
      };
      // A pipe whose reader is behind: frames wait in the ring until it has caught up.
      output.listen(() => driver?.kick(), readerLeft);
      const poll = (q: number): boolean => {
        if (stopped || output.blocked) return false;
        const pkts = memif.rxBurst(q, 256);
        if (pkts.length === 0) return false;
        const now = base + process.hrtime.bigint();
        const n = Math.min(pkts.length, count - c.rxPackets);
        let size = 0;
        for (let i = 0; i < n; i++) size += recordSize(format, (pkts[i] as Buffer).length, snaplen);
        const out = Buffer.allocUnsafe(size);
        let o = 0;
        for (let i = 0; i < n; i++) {
          const p = pkts[i] as Buffer;
          o = writeRecord(format, out, o, p, now, snaplen);
          c.rxBytes += p.length;
        }
        // A pipe's errors (EPIPE: the reader left) arrive through output.listen; a file's are thrown.
        output.write(out);
        c.rxPackets += n;
        c.written += size;
        if (c.rxPackets >= count) {
          stopped = true;
          driver?.stop();
          return false;
        }
        return pkts.length === 256 && !output.blocked;
      };
      if (!(await ctx.waitForLink(memif))) return await finish();
      driver = driveRx(memif, ctx.shared.rxMode, ctx.signal, poll);
      if (stopped) driver.stop();
      if (durationS !== undefined) {
        const stopper = new AbortController();
        void pause(durationS * 1000, AbortSignal.any([ctx.signal, stopper.signal])).then(() => driver?.stop());
        await driver.done;
        stopper.abort();
      } else {
        await driver.done;
      }
      return await finish();

      /** Flushes the output, then prints the summary: what it says was written, was. */
      async function finish(): Promise<number> {
        const s = (performance.now() - started) / 1000;
        const dropped = await output.close(ctx.signal);
        const lost = dropped > 0 ? `; the last ${dropped} bytes, which the reader did not take, were dropped` : '';
        reporter.summary(
          {
            file,
            format,
            snaplen,
            packets: c.rxPackets,
            bytes: c.rxBytes,
            fileBytes: c.written,
            droppedBytes: dropped,
            seconds: Math.round(s * 1000) / 1000,
          },
          [
            `capture: ${c.rxPackets} frames (${c.rxBytes} bytes) written to ${toStdout ? 'stdout' : file} (${format}) in ${s.toFixed(1)} s${lost}`,
            `average ${formatPps(c.rxPackets / s)} ${formatBits(c.rxBytes / s)}`,
          ],
        );
        return 0;
      }
    } finally {
      await output.close(ctx.signal);
    }
  },
};
