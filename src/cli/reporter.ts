// Output of long runs: about once a second, the rates and totals of a sample — redrawn in place on
// one line when stdout is a TTY, one plain line each time when it is not, one JSON object per line
// with --json — and, at the end, the summary (text lines, or one JSON object with type "summary").
// --quiet prints the summary only. Rates count Ethernet frame bytes as they cross the memif (no
// preamble, FCS or inter-frame gap).

/** A snapshot of counters the reporter turns into rates. */
export interface ReporterSample {
  link: boolean;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Frames lost on our side: refused by a full ring, dropped, ignored — the command says which. */
  drops: number;
  /** Command-specific figures, printed as `key value` and copied into JSON reports. */
  extra?: Record<string, number | string>;
}

/** Where and how the reporter writes. */
export interface ReporterOptions {
  command: string;
  json: boolean;
  quiet: boolean;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  intervalMs?: number;
}

/** `n` packets per second, human-readable: "1.23 Mpps", "45.6 kpps", "12 pps". */
export function formatPps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} Mpps`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kpps`;
  return `${Math.round(n)} pps`;
}

/** `bytesPerS` as bits per second: "1.23 Gbit/s", "45.6 Mbit/s", "12.0 kbit/s". */
export function formatBits(bytesPerS: number): string {
  const b = bytesPerS * 8;
  if (b >= 1e9) return `${(b / 1e9).toFixed(2)} Gbit/s`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(1)} Mbit/s`;
  return `${(b / 1e3).toFixed(1)} kbit/s`;
}

/** Periodic reports and the final summary. */
export class Reporter {
  readonly #o: ReporterOptions;
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #live = false; // a status line is drawn and not yet ended
  #start = 0;
  #prevAt = 0;
  #prev: ReporterSample | undefined;

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#tty = options.out.isTTY === true && !options.json;
  }

  /** Reports `sample()` every interval until stop(); nothing with --quiet. */
  start(sample: () => ReporterSample): void {
    this.stop();
    this.#start = performance.now();
    this.#prevAt = this.#start;
    this.#prev = sample();
    if (this.#o.quiet) return;
    this.#timer = setInterval(() => this.#tick(sample()), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Stops the periodic reports and ends the live line. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.clearLine();
  }

  /** Ends the live status line so that other output starts on a line of its own. */
  clearLine(): void {
    if (this.#live) this.#o.out.write('\r\x1b[2K');
    this.#live = false;
  }

  /** The final summary: text lines, or with --json one object `{ type: 'summary', command, ...fields }`. */
  summary(fields: Record<string, unknown>, lines: string[]): void {
    this.stop();
    if (this.#o.json)
      this.#o.out.write(`${JSON.stringify({ type: 'summary', command: this.#o.command, ...fields })}\n`);
    else for (const line of lines) this.#o.out.write(`${line}\n`);
  }

  #tick(s: ReporterSample): void {
    const now = performance.now();
    const dt = (now - this.#prevAt) / 1000;
    const p = this.#prev ?? s;
    this.#prev = s;
    this.#prevAt = now;
    if (dt <= 0) return;
    const rxPps = (s.rxPackets - p.rxPackets) / dt;
    const txPps = (s.txPackets - p.txPackets) / dt;
    const rxBps = (s.rxBytes - p.rxBytes) / dt;
    const txBps = (s.txBytes - p.txBytes) / dt;
    if (this.#o.json) {
      const report = {
        type: 'report',
        command: this.#o.command,
        elapsedS: round3((now - this.#start) / 1000),
        link: s.link ? 'up' : 'down',
        rxPackets: s.rxPackets,
        rxBytes: s.rxBytes,
        txPackets: s.txPackets,
        txBytes: s.txBytes,
        drops: s.drops,
        rxPps: Math.round(rxPps),
        txPps: Math.round(txPps),
        rxBitsPerS: Math.round(rxBps * 8),
        txBitsPerS: Math.round(txBps * 8),
        ...s.extra,
      };
      this.#o.out.write(`${JSON.stringify(report)}\n`);
      return;
    }
    const extra = Object.entries(s.extra ?? {})
      .map(([k, v]) => `  ${k} ${v}`)
      .join('');
    const line =
      `link ${s.link ? 'up' : 'down'}  rx ${formatPps(rxPps)} ${formatBits(rxBps)} (${s.rxPackets})` +
      `  tx ${formatPps(txPps)} ${formatBits(txBps)} (${s.txPackets})  drops ${s.drops}${extra}`;
    if (this.#tty) {
      this.#o.out.write(`\r\x1b[2K${line}`);
      this.#live = true;
    } else {
      this.#o.out.write(`${line}\n`);
    }
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
