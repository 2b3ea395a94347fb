// Runs one subcommand: parses its command line (node:util parseArgs, strict), handles --help,
// opens the Memif of the shared options on request, turns SIGINT/SIGTERM into an abort signal,
// and afterwards closes everything it opened. Returns the exit status: 0 success, 1 failure,
// 2 bad usage (a one-line reason on stderr).
import { parseArgs } from 'node:util';
import { InvalidArgumentError, Memif, MemifError } from '../index.js';
import type { Command, Context } from './command.js';
import { commandHelp } from './help.js';
import { Reporter } from './reporter.js';
import { memifOptions, parseShared, SHARED_OPTIONS } from './shared.js';
import { UsageError } from './usage.js';

/** Where a command writes (the process's streams, unless a caller passes others). */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
}

/** Parses `args` for `cmd`, runs it and cleans up; resolves with the exit status. */
export async function runCommand(cmd: Command, args: string[], io: Io): Promise<number> {
  const fail = (err: unknown, status: number) => {
    const msg = err instanceof Error ? err.message : String(err);
    io.err.write(`memif ${cmd.name}: ${status === 2 ? '' : 'error: '}${msg.split('\n')[0]}\n`);
    return status;
  };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
    for (const [name, o] of Object.entries({ ...SHARED_OPTIONS, ...cmd.options })) {
      options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
    }
    ({ values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true }));
  } catch (err) {
    return fail(err, 2);
  }
  if (values.help) {
    io.out.write(commandHelp(cmd));
    return 0;
  }
  const want = cmd.positionals ?? { min: 0, max: 0, name: '' };
  if (positionals.length < want.min) return fail(new UsageError(`missing ${want.name}`), 2);
  if (positionals.length > want.max) return fail(new UsageError(`unexpected argument ${positionals[want.max]}`), 2);

  let shared: ReturnType<typeof parseShared>;
  try {
    shared = parseShared(values);
  } catch (err) {
    return fail(err, 2);
  }
  const reporter = new Reporter({ command: cmd.name, json: shared.json, quiet: shared.quiet, out: io.out });
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143); // a second signal: stop now
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const opened: Memif[] = [];
  let closing = false;
  const note = (line: string) => {
    if (shared.quiet || closing) return;
    reporter.clearLine();
    io.err.write(`${line}\n`);
  };

  const ctx: Context = {
    values,
    positionals,
    shared,
    signal: ac.signal,
    reporter,
    async open(overrides) {
      let memif: Memif;
      try {
        memif = await Memif.create({ ...memifOptions(shared), ...overrides });
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
        throw err;
      }
      opened.push(memif);
      memif.on('connect', () => note(`link up: ${describePeer(memif)}`));
      memif.on('disconnect', ({ reason }) => note(`link down: ${reason}`));
      memif.on('error', (err) => note(`${err.errorName}: ${err.message}`));
      const d = memif.details();
      if (!memif.connected) note(`waiting for the link: ${d.role} ${d.interfaceName} (id ${d.id}) on ${d.socketPath}`);
      return memif;
    },
    async waitForLink(memif, until = Number.POSITIVE_INFINITY) {
      if (ac.signal.aborted) return false;
      const left = until - performance.now();
      if (left <= 0) return false;
      const end = Number.isFinite(left) ? AbortSignal.timeout(Math.ceil(left)) : undefined;
      const signal = end === undefined ? ac.signal : AbortSignal.any([ac.signal, end]);
      const t = shared.connectTimeoutS;
      try {
        await memif.waitForConnect({ signal, ...(t === undefined ? {} : { timeoutMs: t * 1000 }) });
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        throw new MemifError('MEMIF_ERR_NOCONN', `the link did not come up within ${t} s`, { cause: err });
      }
    },
    report: (sample) => reporter.start(sample),
    print(line) {
      reporter.clearLine();
      io.out.write(`${line}\n`);
    },
    json(obj) {
      io.out.write(`${JSON.stringify(obj)}\n`);
    },
    note,
  };

  try {
    return (await cmd.run(ctx)) ?? 0;
  } catch (err) {
    return fail(err, err instanceof UsageError ? 2 : 1);
  } finally {
    closing = true;
    reporter.stop();
    await Promise.allSettled(opened.map((m) => m.close()));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function describePeer(m: Memif): string {
  const d = m.details();
  const peer = d.remoteName ? `${d.remoteName}${d.remoteInterfaceName ? ` ${d.remoteInterfaceName}` : ''}` : 'peer';
  return `${d.role} ${d.interfaceName} ↔ ${peer} on ${d.socketPath}, ${m.rxQueueCount} rx / ${m.txQueueCount} tx queues`;
}
