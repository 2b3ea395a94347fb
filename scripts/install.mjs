// npm's install step for memif-ts.
//
// - In a git clone (there is a .git), or with --build-from-source (npm_config_build_from_source):
//   builds the addon from source into build/Release (build-native.mjs), as always.
// - In the installed package: loads the prebuilt addon for this platform that node-gyp-build finds
//   in prebuilds/ (linux-x64 and linux-arm64, glibc; scripts/prebuild.mjs made them at npm pack).
//   If it loads, nothing is compiled: no compiler is needed. If there is none for this platform, or
//   it does not load (say, a C library older than the one it was built against), it builds from
//   source instead, which needs python3, make and g++.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function buildFromSource(why) {
  console.log(`memif-ts: building the native addon from source (${why})`);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { stdio: 'inherit', cwd: root });
  process.exit(r.status ?? 1);
}

if (process.platform !== 'linux') {
  console.error('memif-ts: memif works on Linux only (memfd, eventfd, SOCK_SEQPACKET); nothing was built.');
  process.exit(0);
}
if (existsSync(join(root, '.git'))) buildFromSource('a git checkout');
if (process.env.npm_config_build_from_source === 'true') buildFromSource('--build-from-source');

const require = createRequire(import.meta.url);
let prebuild;
try {
  // PREBUILDS_ONLY: a stale build/Release must not stand in for the prebuild.
  process.env.PREBUILDS_ONLY = '1';
  prebuild = require('node-gyp-build').resolve(root);
} catch {
  buildFromSource(`no prebuilt addon for linux-${process.arch}`);
}
try {
  const addon = require(prebuild);
  if (typeof addon.memfdCreate !== 'function') throw new Error('it does not export memfdCreate');
} catch (err) {
  buildFromSource(`the prebuilt ${relative(root, prebuild)} does not load: ${err.message.split('\n')[0]}`);
}
console.log(`memif-ts: using the prebuilt ${relative(root, prebuild)}`);
