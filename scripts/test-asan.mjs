// The hostile, fuzz and soak suites against the AddressSanitizer + UBSan build of the addon
// (npm run test:asan; .ci/run runs it after npm test). Expects the tests compiled (npm run build).
//
//   1. builds build-asan/ (scripts/build-native-asan.mjs) unless MEMIF_ASAN_NO_BUILD=1;
//   2. self-check: deliberate use-after-free, double free, heap overflow, use-after-unmap and signed
//      overflow, each in a child node under the same environment as the tests, must each kill that
//      child with a sanitizer report naming the error; a double free in a grandchild whose output is
//      discarded must leave its report in the logs; and node must load the ASan addon through
//      MEMIF_NATIVE_ADDON. Otherwise the run would prove nothing, so it fails;
//   3. each suite in one `node --test` with gcc's libasan preloaded into node and MEMIF_NATIVE_ADDON
//      pointing at the ASan addon. Every process the tests start inherits that environment, and every
//      sanitizer report, in whichever process, goes to a log file of its own (log_path): the run fails
//      if a suite fails or if any report was written, even by a child whose death a test expected.
//
// Environment: SOAK_CYCLES (default 2000), FUZZ_SECONDS / FUZZ_RUNS / FUZZ_SEED as for npm run
// fuzz, MEMIF_ASAN_SUITES (default "hostile fuzz soak").
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asanAddon, asanSelftest, buildAsan, root } from './build-native-asan.mjs';

/** Soak cycles under ASan when SOAK_CYCLES is not set: twice npm test's, about a minute here. */
const SOAK_CYCLES_DEFAULT = '2000';

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const say = (line) => console.log(`test:asan: ${line}`);

if (process.platform !== 'linux') {
  console.error('test:asan: Linux only');
  process.exit(1);
}

if (process.env.MEMIF_ASAN_NO_BUILD !== '1') {
  const status = buildAsan();
  if (status !== 0) {
    console.error(`test:asan: the ASan build failed (node-gyp exit ${status})`);
    process.exit(1);
  }
}
for (const f of [asanAddon, asanSelftest]) {
  if (!existsSync(f)) {
    console.error(`test:asan: ${f} is missing; run node scripts/build-native-asan.mjs`);
    process.exit(1);
  }
}
const hangGuard = join(root, 'out', 'test', 'helpers', 'hang-guard.js');
if (!existsSync(hangGuard)) {
  console.error('test:asan: out/test is missing; run npm run build first');
  process.exit(1);
}

const libasan = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
if (!libasan.startsWith('/') || !existsSync(libasan)) {
  console.error(`test:asan: gcc has no libasan.so (got ${JSON.stringify(libasan)}); install gcc`);
  process.exit(1);
}

const logRoot = mkdtempSync(join(tmpdir(), 'memif-asan-'));

/**
 * The environment of a sanitized node whose reports go to files under `logDir`. ASan options:
 *  - detect_leaks=0: V8 and Node leave memory allocated at exit by design;
 *  - abort_on_error=1: a report ends with abort(), so the process dies of SIGABRT;
 *  - handle_segv=2, handle_sigbus=2, allow_user_segv_handler=0: keep ASan's own SIGSEGV/SIGBUS
 *    handlers. Node resets every signal handler at start-up and installs its own SIGSEGV handler for
 *    WebAssembly's trap handler; a fault (say, a read of unmapped memory) would then kill node with
 *    a bare SIGSEGV and no stack. The price: a WebAssembly out-of-bounds access crashes instead of
 *    throwing a RangeError, which nothing here relies on;
 *  - log_path: one file per process that reports, so that a report in a child whose stderr a test
 *    swallowed (or whose death it expected) still fails the run.
 * UBSan (built with -fno-sanitize-recover=undefined): halt_on_error, abort, with a stack.
 */
function sanitizedEnv(logDir) {
  mkdirSync(logDir, { recursive: true });
  const preload = [libasan, process.env.LD_PRELOAD].filter(Boolean).join(' ');
  return {
    ...process.env,
    LD_PRELOAD: preload,
    MEMIF_NATIVE_ADDON: asanAddon,
    ASAN_OPTIONS: [
      'detect_leaks=0',
      'abort_on_error=1',
      'handle_segv=2',
      'handle_sigbus=2',
      'allow_user_segv_handler=0',
      'symbolize=1',
      `log_path=${join(logDir, 'asan')}`,
      process.env.ASAN_OPTIONS,
    ]
      .filter(Boolean)
      .join(':'),
    UBSAN_OPTIONS: [
      'halt_on_error=1',
      'abort_on_error=1',
      'print_stacktrace=1',
      `log_path=${join(logDir, 'ubsan')}`,
      process.env.UBSAN_OPTIONS,
    ]
      .filter(Boolean)
      .join(':'),
  };
}

/** The reports written under `logDir`: [file, text] pairs. */
function reports(logDir) {
  if (!existsSync(logDir)) return [];
  return readdirSync(logDir)
    .sort()
    .map((f) => [join(logDir, f), readFileSync(join(logDir, f), 'utf8')]);
}

const isFinding = (text) => /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(text);

// --- 2. the self-check -------------------------------------------------------------------------
say(`self-check (libasan ${libasan})`);
const selfChecks = [
  ['useAfterFree', /ERROR: AddressSanitizer: heap-use-after-free/],
  ['doubleFree', /ERROR: AddressSanitizer: attempting double-free/],
  ['heapOverflow', /ERROR: AddressSanitizer: heap-buffer-overflow/],
  ['useAfterUnmap', /ERROR: AddressSanitizer: SEGV on unknown address/],
  ['signedOverflow', /runtime error: signed integer overflow/],
];
let selfCheckFailed = false;
for (const [fn, expected] of selfChecks) {
  const logDir = join(logRoot, `self-check-${fn}`);
  const code = `require(${JSON.stringify(asanSelftest)}).${fn}(); console.log('survived');`;
  const r = spawnSync(process.execPath, ['-e', code], { env: sanitizedEnv(logDir), encoding: 'utf8' });
  const text = reports(logDir)
    .map(([, t]) => t)
    .join('\n');
  const died = r.signal === 'SIGABRT';
  const named = expected.test(text) && /asan-selftest\.c:\d+/.test(text);
  const ok = died && named && !r.stdout.includes('survived');
  if (!ok) selfCheckFailed = true;
  say(
    `self-check ${fn}: ${ok ? 'ok' : 'FAILED'} (child ${r.signal ?? `exit ${r.status}`}, ${
      named ? 'report names the error and the line' : 'no matching report'
    })`,
  );
  if (!ok) process.stderr.write(`${text}${r.stderr}`);
}
{
  // A report in a grandchild whose output is thrown away and whose death nobody checks (as a test's
  // child peer may be) must still be found: it is in the log files.
  const logDir = join(logRoot, 'self-check-grandchild');
  const grandchild = `require(${JSON.stringify(asanSelftest)}).doubleFree()`;
  const code = `require('node:child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' });`;
  const r = spawnSync(process.execPath, ['-e', code], { env: sanitizedEnv(logDir), encoding: 'utf8' });
  const found = reports(logDir).some(([, t]) => /ERROR: AddressSanitizer: attempting double-free/.test(t));
  const ok = r.status === 0 && found;
  if (!ok) selfCheckFailed = true;
  say(
    `self-check silent grandchild: ${ok ? 'ok' : 'FAILED'} (child exit ${r.status}, report ${found ? 'found' : 'missing'})`,
  );
}
{
  // The loader override: out/src/native.js must map the ASan addon, not build/Release's.
  const logDir = join(logRoot, 'self-check-loader');
  const nativeJs = join(root, 'out', 'src', 'native.js');
  const code = `const { native } = await import(${JSON.stringify(nativeJs)});
    native().mappingCount();
    const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
    console.log(maps.split('\\n').filter((l) => l.endsWith('memif_native.node')).map((l) => l.split(/\\s+/).pop()).join('\\n'));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: sanitizedEnv(logDir),
    encoding: 'utf8',
  });
  const loaded = new Set(r.stdout.trim().split('\n').filter(Boolean));
  const ok = r.status === 0 && loaded.size === 1 && loaded.has(asanAddon) && reports(logDir).length === 0;
  if (!ok) selfCheckFailed = true;
  say(`self-check MEMIF_NATIVE_ADDON: ${ok ? 'ok' : 'FAILED'} (loaded: ${[...loaded].join(', ') || 'nothing'})`);
  if (!ok) process.stderr.write(r.stderr);
}
if (selfCheckFailed) {
  console.error('test:asan: the self-check failed: the sanitizer would not catch these errors in the tests');
  process.exit(1);
}

// --- 3. the suites -----------------------------------------------------------------------------
const suites = (process.env.MEMIF_ASAN_SUITES || 'hostile fuzz soak').split(/\s+/).filter(Boolean);
const results = [];
for (const suite of suites) {
  const dir = join(root, 'out', 'test', suite);
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.test.js'))
        .sort()
        .map((f) => join(dir, f))
    : [];
  if (files.length === 0) {
    console.error(`test:asan: no tests in ${dir}`);
    results.push({ suite, status: 1, counts: {}, findings: [], seconds: 0 });
    continue;
  }
  const logDir = join(logRoot, suite);
  const env = sanitizedEnv(logDir);
  if (suite === 'soak' && !process.env.SOAK_CYCLES) env.SOAK_CYCLES = SOAK_CYCLES_DEFAULT;
  say(`${suite}: ${files.length} files${suite === 'soak' ? `, SOAK_CYCLES=${env.SOAK_CYCLES}` : ''} (${elapsed()})`);
  const t0 = performance.now();
  const args = ['--test', '--test-concurrency=1', '--test-reporter=tap', '--import', hangGuard, ...files];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
    process.stdout.write(chunk);
  });
  const [status, signal] = await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])));
  const counts = {};
  for (const m of out.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]] = Number(m[2]);
  const all = reports(logDir);
  const findings = all.filter(([, t]) => isFinding(t));
  for (const [file, text] of all) {
    process.stderr.write(
      `\ntest:asan: ${isFinding(text) ? 'SANITIZER REPORT' : 'sanitizer output'} ${file}\n${text}\n`,
    );
  }
  results.push({ suite, status: status ?? signal, counts, findings, seconds: (performance.now() - t0) / 1000 });
}

// --- summary -----------------------------------------------------------------------------------
say(`summary (${elapsed()}, reports in ${logRoot})`);
let failed = false;
for (const r of results) {
  const c = r.counts;
  const bad = r.status !== 0 || r.findings.length > 0 || !(c.tests > 0) || c.fail !== 0;
  if (bad) failed = true;
  say(
    `${r.suite}: tests ${c.tests ?? '?'} / pass ${c.pass ?? '?'} / fail ${c.fail ?? '?'} / todo ${c.todo ?? 0} / skipped ${
      c.skipped ?? 0
    }, sanitizer reports ${r.findings.length}, exit ${r.status}, ${r.seconds.toFixed(1)} s${bad ? '  <-- FAILED' : ''}`,
  );
}
if (failed) {
  console.error('test:asan: FAILED');
  process.exit(1);
}
rmSync(logRoot, { recursive: true, force: true });
say('ok');
