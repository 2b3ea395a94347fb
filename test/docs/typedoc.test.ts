// The API reference builds from the doc comments with every TypeDoc warning as an error: an
// export of src/index.ts without documentation (or a type it uses that is not exported, or a broken
// link) fails this test, so CI fails. A probe with one undocumented export shows the check bites.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const root = fileURLToPath(new URL('../../..', import.meta.url)); // out/test/docs → the package
const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [typedoc, ...args], { cwd: root, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code =
        err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, output: stripVTControlCharacters(`${stdout}${stderr}`) });
    });
  });
}

test('npm run docs: every export is documented, no TypeDoc warning', { timeout: 180_000 }, async () => {
  const r = await run(['--emit', 'none']);
  assert.equal(r.code, 0, r.output);
  assert.doesNotMatch(r.output, /\[warning\]|\[error\]/, r.output);
});

test('the check bites: an undocumented export fails the build', { timeout: 180_000 }, async () => {
  const dir = join(root, 'out', 'typedoc-probe');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'probe.ts'), '/** Documented. */\nexport const documented = 1;\nexport const bare = 2;\n');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { rootDir: '.' }, include: ['probe.ts'] }),
  );
  // The project's settings, with the probe as the only entry point.
  writeFileSync(
    join(dir, 'typedoc.config.mjs'),
    `import base from '../../typedoc.config.mjs';\nexport default { ...base, entryPoints: [${JSON.stringify(join(dir, 'probe.ts'))}], tsconfig: ${JSON.stringify(join(dir, 'tsconfig.json'))}, intentionallyNotDocumented: [], intentionallyNotExported: [] };\n`,
  );
  try {
    const r = await run(['--emit', 'none', '--options', join(dir, 'typedoc.config.mjs')]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /bare .*does not have any documentation/);
    assert.doesNotMatch(r.output, / documented .*does not have any documentation/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
