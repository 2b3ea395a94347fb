// The README's file tree ("How it is built") and docs/architecture.md against the files: every
// file under src/ and native/ is in the tree and named in the architecture, and every file the
// tree names exists. A file added, moved or removed without the docs following fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from out/test/unit/). */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every file under `dir` (relative to the repository, '/'-separated). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const p = join(abs, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(REPO, p).split('\\').join('/'));
    }
  };
  walk(join(REPO, dir));
  return out.sort();
}

/**
 * The files the README's tree names. The tree is the first fenced block after "## How it is built":
 * one entry a line, indented two spaces a level, a folder ending in '/', a file with an extension,
 * then its description; a line that starts with neither continues the description above it.
 */
export function treeFiles(readme: string): string[] {
  const at = readme.indexOf('## How it is built');
  assert.ok(at >= 0, 'README.md has a "## How it is built" section');
  const block = /```\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, 'the section has a fenced file tree');
  const folders: string[] = [];
  const files: string[] = [];
  for (const line of block[1].split('\n')) {
    const m = /^( *)(\S+)/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 2;
    const name = m[2];
    const isFolder = /^[\w.-]+\/$/.test(name);
    const isFile = /^[\w-]+(\.[\w-]+)+$/.test(name);
    if ((!isFolder && !isFile) || !Number.isInteger(depth) || depth > folders.length) continue;
    folders.length = depth;
    if (isFolder) folders.push(name.slice(0, -1));
    else files.push([...folders, name].join('/'));
  }
  return files.sort();
}

describe("README's file tree", () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const named = treeFiles(readme);
  const actual = [...filesUnder('src'), ...filesUnder('native')].sort();

  test('names every file under src/ and native/', () => {
    const missing = actual.filter((f) => !named.includes(f));
    assert.deepEqual(missing, [], `files missing from README.md's tree: ${missing.join(', ')}`);
  });

  test('names no file that does not exist', () => {
    const stale = named.filter((f) => !actual.includes(f));
    assert.deepEqual(stale, [], `README.md's tree names files that do not exist: ${stale.join(', ')}`);
  });

  test('the parser reads folders, files and continuation lines', () => {
    const sample = [
      '## How it is built',
      '',
      '```',
      'top/',
      '  a.ts       one',
      '  sub/',
      '    b.cc     two, described',
      '             over two lines',
      '  c.h        three',
      'd.ts         four',
      '```',
    ].join('\n');
    assert.deepEqual(treeFiles(sample), ['d.ts', 'top/a.ts', 'top/c.h', 'top/sub/b.cc']);
  });
});

/**
 * Whether docs/architecture.md names `file` (a path under src/ or native/): as written there, src/
 * files relative to src/ (`control/dialer.ts`, `interface.ts`), native ones with their folder
 * (`native/poller.cc`); not as part of a longer path (`index.ts` is not `packet/index.ts`).
 */
export function namesFile(doc: string, file: string): boolean {
  const name = file.startsWith('src/') ? file.slice(4) : file;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w/.-])${escaped}(?![\\w-])`).test(doc);
}

describe('docs/architecture.md', () => {
  const doc = readFileSync(join(REPO, 'docs/architecture.md'), 'utf8');
  const actual = [...filesUnder('src'), ...filesUnder('native')].sort();

  test('names every file under src/ and native/', () => {
    const missing = actual.filter((f) => !namesFile(doc, f));
    assert.deepEqual(missing, [], `files docs/architecture.md does not name: ${missing.join(', ')}`);
  });

  test('a file is named by its own path, not inside another one', () => {
    assert.equal(namesFile('see `packet/index.ts`', 'src/index.ts'), false);
    assert.equal(namesFile('see `index.ts` and `packet/index.ts`', 'src/index.ts'), true);
    assert.equal(namesFile('`control/dialer.ts`', 'src/control/dialer.ts'), true);
    assert.equal(namesFile('`dialer.ts`', 'src/control/dialer.ts'), false);
    assert.equal(namesFile('`native/poller.cc`', 'native/poller.cc'), true);
  });
});
