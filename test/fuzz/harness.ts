// Shared driver of the fuzz properties: seeds, run counts, time-bounded runs, the corpus, and a
// deterministic byte pattern for shared memory.
//
//   FUZZ_SEED=<int>     replay: every property of the run starts from this seed (printed on every run)
//   FUZZ_PATH=<path>    with FUZZ_SEED: replay exactly the counterexample fast-check reported
//   FUZZ_SECONDS=<n>    long run: each property runs until n seconds have passed (default: a fixed
//                       number of runs per property, a few seconds for the whole suite)
//   FUZZ_RUNS=<n>       override the default number of runs per property
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, not ${JSON.stringify(v)}`);
  return n;
}

const fixedSeed = envInt('FUZZ_SEED');
const replayPath = process.env.FUZZ_PATH || undefined;
const seconds = Number(process.env.FUZZ_SECONDS ?? 0) || 0;
const runsOverride = envInt('FUZZ_RUNS');

/** A 32-bit seed for one property: FUZZ_SEED when given, otherwise fresh. */
function seedFor(): number {
  return fixedSeed ?? (Math.random() * 0x1_0000_0000) | 0;
}

/**
 * Runs one property: `numRuns` times by default, or for FUZZ_SECONDS seconds. Prints the seed and
 * the number of runs as a test diagnostic; on failure throws fast-check's report (seed, path,
 * shrunk counterexample, the assertion that failed).
 */
export function fuzz<Ts extends [unknown, ...unknown[]]>(
  t: TestContext,
  name: string,
  property: fc.IProperty<Ts>,
  numRuns: number,
): void {
  const seed = seedFor();
  const params: fc.Parameters<Ts> = { seed, numRuns: runsOverride ?? numRuns, includeErrorInReport: true };
  if (replayPath !== undefined && fixedSeed !== undefined) params.path = replayPath;
  if (seconds > 0 && params.path === undefined) {
    params.numRuns = 1_000_000_000;
    params.plugins = [fc.interruptAfterTimeLimit(seconds * 1000) as fc.Plugin<Ts>];
  }
  const start = performance.now();
  const details = fc.check(property, params);
  const ms = Math.round(performance.now() - start);
  const line = `fuzz ${name}: seed=${seed} runs=${details.numRuns} ${ms} ms${details.interrupted ? ' (time limit)' : ''}`;
  t.diagnostic(line);
  if (process.env.FUZZ_VERBOSE) console.log(line);
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details) ?? 'property failed'}\nreplay: FUZZ_SEED=${seed}${
        details.counterexamplePath ? ` FUZZ_PATH=${details.counterexamplePath}` : ''
      } node --test --test-name-pattern=${JSON.stringify(t.name)} out/test/fuzz/<file>.test.js`,
    );
  }
}

/** The repository root (the first folder up from this file that holds package.json). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('package.json not found above the fuzz tests');
}

/** Entries of test/fuzz/corpus/<file> (read from the source tree: tsc does not copy JSON). */
export function loadCorpus<T>(file: string): T[] {
  const path = join(repoRoot(), 'test', 'fuzz', 'corpus', file);
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array`);
  return parsed as T[];
}

/** Deterministic pseudo-random bytes (xorshift32), so each position of shared memory is recognisable. */
export function pattern(size: number, salt: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (0x9e3779b9 ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** First index where a and b differ, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
