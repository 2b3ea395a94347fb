// Builds the native addon (build/Release/memif_native.node) with the node-gyp that npm bundles
// (see node-gyp.mjs).
import { runNodeGyp } from './node-gyp.mjs';

if (process.platform !== 'linux') {
  console.error('memif-ts: memif works on Linux only (memfd, eventfd, SOCK_SEQPACKET); nothing was built.');
  process.exit(0);
}
process.exit(runNodeGyp(['rebuild']));
