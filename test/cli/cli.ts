// Runs the built `memif` command (out/src/cli/main.js) as a real process: collects its stdout and
// stderr, waits for a line to appear (bounded), stops it with a signal and reports its exit
// status. Every process started here is killed by pid when the test file ends, if still running.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The built command. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

const live = new Set<ChildProcess>();
after(() => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `memif` command. */
export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Resolves with the first stdout/stderr line matching `re`; rejects after `timeoutMs` or if the process exits first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (SIGINT by default) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

/** Starts `memif ...args`. */
export function startCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of waiters) w();
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    poke();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    poke();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      live.delete(child);
      poke();
      resolve({ code, signal, stdout, stderr });
    });
  });
  const proc: CliProcess = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = `${stdout}\n${stderr}`.split('\n').find((l) => re.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          } else if (!live.has(child)) {
            done();
            reject(new Error(`memif ${args.join(' ')} exited before printing ${re}:\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`memif ${args.join(' ')} did not print ${re} within ${timeoutMs} ms:\n${stdout}\n${stderr}`),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGINT', timeoutMs = 10_000) {
      if (live.has(child)) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
  return proc;
}

/** Runs `memif ...args` to its end (SIGKILL after `timeoutMs`). */
export async function runCli(args: string[], timeoutMs = 30_000): Promise<Exit> {
  const p = startCli(args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  return exit;
}
