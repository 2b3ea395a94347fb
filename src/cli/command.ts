// What a subcommand is: its name, summary, options (with defaults and descriptions, which the help
// prints), examples and run(ctx). The context hands it the parsed shared options, a way to open
// the Memif they describe, the abort signal of SIGINT/SIGTERM, a reporter and the output streams.
import type { Memif, MemifOptions } from '../index.js';
import type { Reporter, ReporterSample } from './reporter.js';
import type { SharedOptions } from './shared.js';

/** One option of a subcommand, as node:util parseArgs takes it plus what the help prints. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-letter alias (`-c`). */
  short?: string;
  /** The value's placeholder in the help (`COUNT`, `PPS`). */
  value?: string;
  /** The default, as the help prints it ('none' when omitted). The command applies it itself. */
  default?: string;
  description: string;
}

/** A subcommand: one file under src/cli/ exports one. */
export interface Command {
  name: string;
  /** One line for `memif --help`. */
  summary: string;
  /** What follows `memif NAME` in the usage line, e.g. `IP [-c COUNT]`. */
  usage: string;
  /** Paragraphs printed after the usage line in `memif NAME --help`. */
  description?: string[];
  options: Record<string, OptionSpec>;
  /** How many positional arguments the command takes (default 0). */
  positionals?: { min: number; max: number; name: string };
  /** Command lines the help shows (without the leading `$ `). */
  examples: string[];
  /** Runs until done or `ctx.signal` aborts; resolves with the exit status (0 when undefined). */
  run(ctx: Context): Promise<number | undefined>;
}

/** The values parseArgs produced for a command's own options. */
export type CommandValues = Record<string, string | boolean | undefined>;

/** What run() gets. */
export interface Context {
  /** The command's own options, as given (strings and booleans; defaults not applied). */
  values: CommandValues;
  positionals: string[];
  shared: SharedOptions;
  /** Aborted by SIGINT or SIGTERM: stop, then return (the summary is printed and everything closed). */
  signal: AbortSignal;
  /**
   * Creates the Memif the shared options describe, with `overrides` on top (a second interface:
   * another socketPath, id or role), closed by the framework after run(). Options the library
   * refuses become a usage error (exit status 2).
   */
  open(overrides?: Partial<MemifOptions>): Promise<Memif>;
  /**
   * Waits until `memif` is connected; false if aborted first, or if `until` (a `performance.now()`
   * time, e.g. the end of a --duration) comes first. Fails (exit 1) after `--connect-timeout`
   * seconds if that was given.
   */
  waitForLink(memif: Memif, until?: number): Promise<boolean>;
  /** The periodic reporter (live line on a TTY, plain lines otherwise, JSON lines with --json). */
  reporter: Reporter;
  /** Starts periodic reports of `sample()` (every second), unless --quiet. */
  report(sample: () => ReporterSample): void;
  /** A line on stdout (unless --json; see `json`). */
  print(line: string): void;
  /** One JSON object as one line on stdout (with --json). */
  json(obj: Record<string, unknown>): void;
  /** A note on stderr (link up/down, warnings), unless --quiet. */
  note(line: string): void;
}
