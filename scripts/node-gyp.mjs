// Finds and runs the node-gyp that npm bundles, shared by build-native.mjs (the addon) and
// build-native-asan.mjs (its AddressSanitizer build). When Node's own headers are installed next to
// the running node (as with Debian's nodejs), they are used, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The path of node-gyp's bin/node-gyp.js, or undefined when there is none. */
export function findNodeGyp() {
  const prefix = dirname(dirname(process.execPath));
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const candidates = [
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(prefix, 'share', 'nodejs', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.unshift(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  return candidates.find((p) => existsSync(p));
}

/**
 * Runs `node-gyp <args>` in `cwd` (the folder holding the binding.gyp to build), with --nodedir
 * when Node's headers sit next to node. Returns node-gyp's exit status; exits with 1 if there is
 * no node-gyp.
 */
export function runNodeGyp(args, cwd = process.cwd()) {
  const prefix = dirname(dirname(process.execPath));
  const all = [...args];
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) all.push(`--nodedir=${prefix}`);
  const gyp = findNodeGyp();
  if (!gyp) {
    console.error('memif-ts: node-gyp not found; run "npm install" with the npm that ships with Node.');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [gyp, ...all], { stdio: 'inherit', cwd });
  return r.status ?? 1;
}
