// Builds the native addon with the node-gyp that npm bundles. When Node's own headers are installed
// next to the running node (as with Debian's nodejs), they are used, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux') {
  console.error('memif-ts: memif works on Linux only (memfd, eventfd, SOCK_SEQPACKET); nothing was built.');
  process.exit(0);
}
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  const candidates = [
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(prefix, 'share', 'nodejs', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.unshift(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  gyp = candidates.find((p) => existsSync(p));
}
if (!gyp) {
  console.error('memif-ts: node-gyp not found; run "npm install" with the npm that ships with Node.');
  process.exit(1);
}
const r = spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
