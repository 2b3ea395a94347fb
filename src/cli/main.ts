#!/usr/bin/env node
// The `memif` command: the registry of subcommands (one file each under src/cli/), `memif --help`,
// `memif --version`, and the dispatch to runCommand. Built only on the public API of memif-ts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bridge } from './bridge.js';
import { capture } from './capture.js';
import type { Command } from './command.js';
import { echo } from './echo.js';
import { gen } from './gen.js';
import { commandHelp, mainHelp } from './help.js';
import { ping } from './ping.js';
import { replay } from './replay.js';
import { responder } from './responder.js';
import { type Io, runCommand } from './run.js';
import { sink } from './sink.js';

/** Every subcommand, in the order `memif --help` lists them. */
export const COMMANDS: readonly Command[] = [responder, ping, gen, sink, echo, capture, replay, bridge];

async function main(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err.write(mainHelp(COMMANDS));
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.out.write(mainHelp(COMMANDS));
    return 0;
  }
  if (first === '--version' || first === '-V') {
    io.out.write(`memif (memif-ts) ${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    const cmd = COMMANDS.find((c) => c.name === rest[0]);
    io.out.write(cmd ? commandHelp(cmd) : mainHelp(COMMANDS));
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) {
    io.err.write(
      `memif: unknown command ${JSON.stringify(first)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}\n`,
    );
    return 2;
  }
  return runCommand(cmd, rest, io);
}

/** The version of the package this file belongs to. */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) {
      const pkg = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'memif-ts') return pkg.version ?? 'unknown';
    }
  }
  return 'unknown';
}

// A reader that went away (`memif … | head`) ends the command, not with a stack trace. A command
// that writes its own data to stdout (capture -w -) listens for its errors too, and ends itself
// with its summary on stderr.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (process.stdout.listenerCount('error') > 1) return;
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const status = await main(process.argv.slice(2), { out: process.stdout, err: process.stderr });
process.exitCode = status;
// Everything is closed by now; anything still holding the loop open must not hold the exit.
setTimeout(() => process.exit(status), 2000).unref();
