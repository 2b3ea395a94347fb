// The hang guard that every test process loads (test/helpers/hang-guard.ts): a file whose test
// timed out and left the event loop busy ends with a failure instead of hanging the run, and a
// file that ends normally keeps every result.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const guard = fileURLToPath(new URL('../helpers/hang-guard.js', import.meta.url));

/** Runs `node --test --test-reporter=tap --import guard file` (TAP: Node 23+ defaults to spec) and collects its exit code and output (bounded at 60 s). */
function runWithGuard(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // A run of its own, not a subtest of this one: without the runner's marker in the environment.
    const env: NodeJS.ProcessEnv = { ...process.env, MEMIF_TEST_HANG_GUARD_MS: '3000' };
    delete env.NODE_TEST_CONTEXT;
    const p = spawn(process.execPath, ['--test', '--test-reporter=tap', '--import', guard, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const bound = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`the guarded run did not end:\n${out}`));
    }, 60_000);
    p.on('exit', (code) => {
      clearTimeout(bound);
      resolve({ code, out });
    });
  });
}

test('a test that times out and leaves a handle open: the file ends, failed, with its results', {
  timeout: 90_000,
}, async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'stuck.test.mjs');
    writeFileSync(
      file,
      `import { test } from 'node:test';
test('fine', () => {});
test('stuck', { timeout: 200 }, async () => { setInterval(() => {}, 1000); await new Promise(() => {}); });
`,
    );
    const { code, out } = await runWithGuard(file);
    assert.notEqual(code, 0, out);
    assert.match(out, /ok 1 - fine/);
    assert.match(out, /not ok 2 - stuck/);
    assert.match(out, /test timed out after 200ms/);
  } finally {
    tmp.remove();
  }
});

test('a file that ends by itself keeps all of its results and its exit code', { timeout: 90_000 }, async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'many.test.mjs');
    writeFileSync(
      file,
      `import { describe, test } from 'node:test';
describe('many', () => { for (let i = 0; i < 200; i++) test('t' + i, () => {}); });
`,
    );
    const { code, out } = await runWithGuard(file);
    assert.equal(code, 0, out);
    assert.match(out, /# tests 200/);
    assert.match(out, /# pass 200/);
    assert.doesNotMatch(out, /hang guard/);
  } finally {
    tmp.remove();
  }
});
