// The text of `memif --help` and `memif NAME --help`: every option with its placeholder, default
// and description, the shared options, and examples.
import type { Command, OptionSpec } from './command.js';
import { SHARED_OPTIONS } from './shared.js';

/** `memif --help`. */
export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'memif — poke at any memif link (VPP, DPDK, libmemif, memif-ts) from the command line',
    '',
    'Usage: memif COMMAND [options]        memif COMMAND --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options every command takes:',
    ...optionLines(SHARED_OPTIONS),
    '',
    'Exit status: 0 success, 1 failure, 2 bad usage. SIGINT/SIGTERM stop a command cleanly (summary printed).',
    '',
    'Examples:',
    ...commands.map((c) => `  $ ${c.examples[0]}`),
    '',
  ].join('\n');
}

/** `memif NAME --help`. */
export function commandHelp(c: Command): string {
  return [
    `memif ${c.name} — ${c.summary}`,
    '',
    `Usage: memif ${c.name} ${c.usage}`.trimEnd(),
    ...(c.description ? ['', ...c.description] : []),
    '',
    'Options:',
    ...optionLines(c.options),
    '',
    'Shared options:',
    ...optionLines(SHARED_OPTIONS),
    '',
    'Examples:',
    ...c.examples.map((e) => `  $ ${e}`),
    '',
  ].join('\n');
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const heads = Object.entries(options).map(([name, o]) => {
    const short = o.short ? `-${o.short}, ` : '    ';
    return `  ${short}--${name}${o.value ? ` ${o.value}` : ''}`;
  });
  const width = Math.min(36, Math.max(...heads.map((h) => h.length)) + 2);
  return Object.values(options).map((o, i) => {
    const head = heads[i] as string;
    const def = o.type === 'boolean' ? '' : ` (default: ${o.default ?? 'none'})`;
    const text = `${o.description}${def}`;
    return head.length + 1 >= width ? `${head}\n${' '.repeat(width)}${text}` : `${head.padEnd(width)}${text}`;
  });
}
