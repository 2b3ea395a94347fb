// Docs that run: every fenced TypeScript/JavaScript block of README.md, the other top-level *.md
// files and docs/*.md is compiled (the project's strict settings, against the package's own types:
// `import … from 'memif-ts'` resolves to this package's dist/ by its name) and run in a child
// process, with a real memif-ts peer when its info string asks for one (`peer=master`). Socket paths in a block are replaced by
// temporary ones. A block runs until its top level completes (interfaces it leaves open do not
// keep it alive) and must exit 0. Blocks in other languages (sh, text, none) are not run, but one
// that holds memif-ts code is an error: mark it ts, or ts no-run with a reason. See markdown.ts.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { Memif } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { type CodeBlock, codeBlocks, looksLikeCode, RUN_LANGUAGES, socketPaths } from './markdown.js';

const root = fileURLToPath(new URL('../../..', import.meta.url)); // out/test/docs → the package
const blocksDir = join(root, 'out', 'doc-blocks');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const RUN_LIMIT_MS = 60_000;

/** Every Markdown file of the package's top folder (README.md first) and of docs/, relative to it. */
function markdownFiles(): string[] {
  const md = (dir: string) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => (dir === '.' ? f : `${dir}/${f}`));
  return ['README.md', ...md('.').filter((f) => f !== 'README.md'), ...md('docs')];
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (what `import 'memif-ts'` loads) unless it is newer than every file of src/. */
function ensureDist(): void {
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.d.ts')).mtimeMs;
  } catch {
    // not built
  }
  if (built < newestMtime(join(root, 'src'))) {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}

interface Prepared {
  md: string;
  block: CodeBlock;
  /** Module path relative to blocksDir, as written. */
  source: string;
  /** The compiled module, absolute. */
  output: string;
  /** Original socket path → the temporary one. */
  sockets: Map<string, string>;
  /** First line of the block's code in the Markdown file. */
  firstLine: number;
}

function slug(md: string): string {
  return md
    .replace(/\.md$/, '')
    .replace(/[^\w]+/g, '-')
    .toLowerCase();
}

describe('code blocks of the *.md files and docs/*.md', () => {
  let tmp: TempDir;
  const prepared: Prepared[] = [];
  const diagnostics = new Map<string, string[]>();
  const files = markdownFiles();

  before(() => {
    tmp = tempDir('memif-ts-docs-');
    ensureDist();
    rmSync(blocksDir, { recursive: true, force: true });
    for (const md of files) {
      const dir = join(blocksDir, slug(md));
      mkdirSync(dir, { recursive: true });
      for (const block of codeBlocks(readFileSync(join(root, md), 'utf8'))) {
        if (!RUN_LANGUAGES.has(block.lang) || block.noRun !== undefined) continue;
        const js = block.lang !== 'ts' && block.lang !== 'typescript';
        const name = block.file ?? `line-${block.line}.${js ? 'mjs' : 'ts'}`;
        const sockets = new Map<string, string>();
        let code = block.code;
        for (const [k, p] of socketPaths(code).entries()) {
          const temp = p.startsWith('@')
            ? `@memif-ts-docs-${process.pid}-${Math.random().toString(36).slice(2)}`
            : join(tmp.dir, `${slug(md)}-${block.line}-${k}.sock`);
          sockets.set(p, temp);
          code = code.replaceAll(`'${p}'`, `'${temp}'`).replaceAll(`"${p}"`, `"${temp}"`);
        }
        writeFileSync(join(dir, name), `${code}\n`);
        const out = name.replace(/\.ts$/, '.js');
        prepared.push({
          md,
          block,
          source: join(slug(md), name),
          output: join(blocksDir, 'build', slug(md), out),
          sockets,
          firstLine: block.line + 1,
        });
      }
    }
    // The project's compiler settings (strict), except that a snippet may declare what it does not use.
    writeFileSync(
      join(blocksDir, 'tsconfig.json'),
      JSON.stringify({
        extends: relative(blocksDir, join(root, 'tsconfig.json')),
        compilerOptions: {
          rootDir: '.',
          outDir: 'build',
          noUnusedLocals: false,
          noUnusedParameters: false,
          declaration: false,
          sourceMap: false,
          allowJs: true,
          checkJs: true,
        },
        include: ['**/*.ts', '**/*.mjs'],
        exclude: ['build'],
      }),
    );
    writeFileSync(
      join(blocksDir, 'runner.mjs'),
      [
        '// Imports one compiled block; exits once its top level has completed (and what it started',
        '// in the same turns has run), whatever it leaves open.',
        "import { pathToFileURL } from 'node:url';",
        'await import(pathToFileURL(process.argv[2]).href);',
        'for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));',
        'process.exit(process.exitCode ?? 0);',
        '',
      ].join('\n'),
    );
    // Every file's syntactic and semantic diagnostics (tsc stops at syntax errors, which would
    // hide the type errors of every other block).
    const config = ts.getParsedCommandLineOfConfigFile(
      join(blocksDir, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
      },
    );
    assert.ok(config !== undefined);
    const program = ts.createProgram(config.fileNames, config.options);
    const all = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    for (const f of program.getRootFileNames()) {
      const sf = program.getSourceFile(f);
      all.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
    }
    all.push(...program.emit().diagnostics);
    for (const d of all) {
      const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      const file = d.file ? relative(blocksDir, d.file.fileName) : '';
      const p = prepared.find((x) => x.source === file);
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const where = p && pos ? `${p.md}:${p.firstLine + pos.line}:${pos.character + 1}` : file || 'tsconfig';
      const key = p ? p.source : '';
      diagnostics.set(key, [...(diagnostics.get(key) ?? []), `${where} TS${d.code}: ${text}`]);
    }
  });
  after(() => tmp?.remove());

  for (const md of files) {
    describe(md, () => {
      const blocks = codeBlocks(readFileSync(join(root, md), 'utf8'));

      test('every block is marked: code runs, or says why not', () => {
        assert.deepEqual(diagnostics.get('') ?? [], [], 'no diagnostic outside the blocks');
        const wrong: string[] = [];
        for (const b of blocks) {
          if (b.problem !== undefined) wrong.push(`${md}:${b.line}: ${b.problem}`);
          else if (!RUN_LANGUAGES.has(b.lang) && looksLikeCode(b)) {
            wrong.push(`${md}:${b.line}: memif-ts code in a \`\`\`${b.lang} block: mark it ts (or ts no-run: why)`);
          }
        }
        assert.deepEqual(wrong, []);
      });

      for (const b of blocks.filter((x) => RUN_LANGUAGES.has(x.lang))) {
        const what = [b.lang, b.file && `file=${b.file}`, b.peer && `peer=${b.peer}`, b.noRun !== undefined && 'no-run']
          .filter(Boolean)
          .join(' ');
        const run = b.noRun === undefined && b.file === undefined;
        const verb = b.noRun !== undefined ? `is not run: ${b.noRun}` : run ? 'compiles and runs' : 'compiles';
        test(`${md}:${b.line} (${what}) ${verb}`, { timeout: RUN_LIMIT_MS * 2 }, async () => {
          if (b.noRun !== undefined) return;
          const p = prepared.find((x) => x.md === md && x.block.line === b.line) as Prepared;
          assert.deepEqual(diagnostics.get(p.source) ?? [], [], 'compiles under the strict settings');
          if (!run) return;
          let peer: Memif | undefined;
          if (b.peer !== undefined) {
            const socketPath = [...p.sockets.values()][0];
            assert.ok(socketPath !== undefined, 'a block with a peer uses a socketPath');
            peer = await echoPeer(b.peer, socketPath, b.queues ?? 1);
          }
          try {
            const r = await runBlock(p.output);
            assert.equal(
              r.code,
              0,
              `exit code ${r.code} ${r.signal ?? ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
            );
          } finally {
            await peer?.close();
          }
        });
      }
    });
  }
});

/** A memif-ts interface that sends back on queue q every packet it receives on queue q. */
async function echoPeer(role: 'master' | 'slave', socketPath: string, queues: number): Promise<Memif> {
  const peer = await Memif.create({ role, socketPath, rxQueues: queues, txQueues: queues });
  peer.on('error', () => {}); // the block's interface may be refused or leave: not the test's failure
  peer.on('interrupt', (q) => {
    const packets = peer.rxBurst(q);
    if (packets.length > 0) peer.txBurst(Math.min(q, peer.txQueueCount - 1), packets);
  });
  return peer;
}

function runBlock(
  file: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(blocksDir, 'runner.mjs'), file],
      { cwd: blocksDir, timeout: RUN_LIMIT_MS, killSignal: 'SIGKILL', encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
