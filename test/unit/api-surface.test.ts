// The published types against the API reference: builds the declarations as `npm run build` does
// (tsconfig.json, stripInternal), reads every export of index.d.ts and the public members of each
// exported class and interface with the TypeScript compiler API, and compares them with the index
// at the end of docs/api.md — both ways. An internal member that leaks into the .d.ts, a new
// export nobody documented, or a documented name that is gone fails here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Public member names of a class or interface declaration (private, #private and constructors left out). */
function declaredMembers(decl: ts.ClassDeclaration | ts.InterfaceDeclaration): string[] {
  const out: string[] = [];
  for (const m of decl.members) {
    if (ts.isConstructorDeclaration(m) || m.name === undefined || ts.isPrivateIdentifier(m.name)) continue;
    // A member keyed by a symbol the package does not export (the error brand) cannot be named by users.
    if (ts.isComputedPropertyName(m.name)) continue;
    const mods = ts.canHaveModifiers(m) ? (ts.getModifiers(m) ?? []) : [];
    if (mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) {
      continue;
    }
    out.push(m.name.getText());
  }
  return out;
}

/**
 * The exported surface of a declaration entry point: `name` for every export, `name.member` for
 * the public members of exported classes and interfaces (inherited ones of an interface included,
 * those of a class's base class not: EventEmitter's are Node's), `ns.name` for a namespace's
 * exports (their members not listed).
 */
export function exportedSurface(entry: string): string[] {
  const program = ts.createProgram([entry], { strict: true, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  assert.ok(source, `${entry} was built`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `${entry} is a module`);
  const out = new Set<string>();
  const visit = (symbol: ts.Symbol, prefix: string) => {
    const name = prefix + symbol.getName();
    out.add(name);
    // A namespace's exports are listed by name only (packet: its helpers, documented with it).
    if (prefix !== '') return;
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    for (const decl of target.declarations ?? []) {
      if (ts.isSourceFile(decl) || ts.isModuleDeclaration(decl)) {
        for (const e of checker.getExportsOfModule(target)) visit(e, `${name}.`);
        return;
      }
    }
    const decl = target.declarations?.[0];
    if (decl !== undefined && ts.isClassDeclaration(decl)) {
      for (const m of declaredMembers(decl)) out.add(`${name}.${m}`);
    } else if (decl !== undefined && (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl))) {
      const type = checker.getDeclaredTypeOfSymbol(target);
      // Object types only: unions of literals (Mode, ErrorName) and functions have no members to list.
      if (type.flags & ts.TypeFlags.Object && type.getCallSignatures().length === 0) {
        for (const p of checker.getPropertiesOfType(type)) out.add(`${name}.${p.getName()}`);
      }
    }
  };
  for (const e of checker.getExportsOfModule(moduleSymbol)) visit(e, '');
  return [...out].sort();
}

/**
 * The names docs/api.md's "## Index" lists: one line per export, `Name: member, member, …`, the
 * members optional; a line `packet: a, b` lists a namespace's exports.
 */
export function documentedSurface(apiMd: string): string[] {
  const at = apiMd.indexOf('\n## Index');
  assert.ok(at >= 0, 'docs/api.md has an "## Index" section');
  const block = /```\n([\s\S]*?)```/.exec(apiMd.slice(at));
  assert.ok(block, 'the index is a fenced block');
  const out = new Set<string>();
  for (const line of block[1].split('\n')) {
    const m = /^([\w$]+)(?::\s*(.*))?$/.exec(line.trim());
    if (!m) continue;
    out.add(m[1]);
    for (const member of (m[2] ?? '').split(',')) {
      const t = member.trim();
      if (t !== '') out.add(`${m[1]}.${t}`);
    }
  }
  return [...out].sort();
}

describe("the package's types against docs/api.md", () => {
  let dir = '';
  let actual: string[] = [];
  const apiMd = readFileSync(join(REPO, 'docs/api.md'), 'utf8');
  const documented = documentedSurface(apiMd);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'memif-dts-'));
    execFileSync(process.execPath, [TSC, '-p', join(REPO, 'tsconfig.json'), '--emitDeclarationOnly', '--outDir', dir], {
      stdio: 'pipe',
    });
    actual = exportedSurface(join(dir, 'index.d.ts'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every export and public member is in the index of docs/api.md', () => {
    const missing = actual.filter((n) => !documented.includes(n));
    assert.deepEqual(missing, [], `undocumented in docs/api.md: ${missing.join(', ')}`);
  });

  test('everything the index names is exported', () => {
    const stale = documented.filter((n) => !actual.includes(n));
    assert.deepEqual(stale, [], `docs/api.md names what the package does not export: ${stale.join(', ')}`);
  });

  test('every export and every class member is described in the text above the index, not only listed', () => {
    const text = apiMd.slice(0, apiMd.indexOf('\n## Index'));
    // Code blocks count whole; then the inline code spans of what is left.
    const blocks: string[] = [];
    const prose = text.replace(/```[^\n]*\n([\s\S]*?)```/g, (_, code: string) => {
      blocks.push(code);
      return '';
    });
    const spans = [...blocks, ...[...prose.matchAll(/`([^`]+)`/g)].map((m) => m[1])].join('\n');
    const word = (w: string) => new RegExp(`(^|[^\\w$])${w.replace(/\$/g, '\\$')}([^\\w$]|$)`, 'm');
    const notDescribed = actual.filter((n) => {
      const [owner, member] = n.split('.');
      // Fields of interfaces are described by their type's comment and tables; classes' members one by one.
      if (member !== undefined && owner !== 'packet' && !DESCRIBED_ONE_BY_ONE.includes(owner)) return false;
      return !word(member ?? owner).test(spans);
    });
    assert.deepEqual(notDescribed, [], `named in the index but not described: ${notDescribed.join(', ')}`);
  });

  test('internals stay out: the adapter members and the bursts’ internal methods', () => {
    for (const leaked of [
      'Memif.busy',
      'Memif.attach',
      'Memif.onConnected',
      'Memif.onDisconnected',
      'RxBurst.gather',
      'RxBurst.open',
      'TxBurst.grant',
      'TxBurst.open',
      'MemifSettings.secret',
    ]) {
      assert.ok(!actual.includes(leaked), `${leaked} is in the published types`);
    }
  });

  test('the index parser reads exports, members and namespaces', () => {
    const sample = ['# x', '', '## Index', '', '```', 'Memif: create, close', 'Mode', 'packet: respond', '```'].join(
      '\n',
    );
    assert.deepEqual(documentedSurface(sample), [
      'Memif',
      'Memif.close',
      'Memif.create',
      'Mode',
      'packet',
      'packet.respond',
    ]);
  });
});

/** Classes whose members the text must describe one by one (the rest are interfaces and types). */
const DESCRIBED_ONE_BY_ONE = ['Memif', 'RxBurst', 'TxBurst', 'WorkerQueue'];
