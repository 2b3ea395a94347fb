// Native asynchronous consumers of a view into shared memory, as an application would use them on a
// zero-copy burst: zlib deflate and gzip (thread pool, reading the view in place), fs.writeFile of
// the view to a temp file (thread pool write(2) from the view), and WebCrypto SHA-256. start() hands
// every view to all of them at once; check() awaits them and compares what came out with the bytes
// the peer sent (inflated, gunzipped, read back, hashed). blockThreadPool() holds every thread of
// the pool in a read of an empty FIFO, so that consumers started meanwhile wait in the queue and
// run only after what the test does next (a peer killed, a connection torn down).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, webcrypto } from 'node:crypto';
import { closeSync, openSync, read, unlinkSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflate, gunzipSync, gzip, inflateSync } from 'node:zlib';

const deflateP = promisify(deflate);
const gzipP = promisify(gzip);

export interface Consumed {
  deflated: Promise<Buffer>;
  gzipped: Promise<Buffer>;
  written: Promise<Buffer>;
  digest: Promise<Buffer>;
}

/** Starts every consumer on every view (nothing awaited here). Files go to `dir`, named by `tag`. */
export function startConsumers(views: readonly Uint8Array[], dir: string, tag: string): Consumed[] {
  return views.map((v, i) => {
    const file = join(dir, `${tag}-${i}.bin`);
    return {
      deflated: deflateP(v),
      gzipped: gzipP(v),
      written: writeFile(file, v).then(() => readFile(file)),
      digest: webcrypto.subtle.digest('SHA-256', v).then((d) => Buffer.from(d)),
    };
  });
}

/** What each consumer produced, decoded back to the bytes it was given. */
export async function consumedBytes(
  c: Consumed,
): Promise<{ inflated: Buffer; gunzipped: Buffer; written: Buffer; digest: Buffer }> {
  const [deflated, gzipped, written, digest] = await Promise.all([c.deflated, c.gzipped, c.written, c.digest]);
  return { inflated: inflateSync(deflated), gunzipped: gunzipSync(gzipped), written, digest };
}

/** Awaits every consumer and compares its output with `expected[i]`, byte for byte. */
export async function checkConsumers(
  started: readonly Consumed[],
  expected: readonly Uint8Array[],
  label: string,
): Promise<void> {
  assert.equal(started.length, expected.length);
  for (const [i, c] of started.entries()) {
    const want = Buffer.from(expected[i]);
    const got = await consumedBytes(c);
    assert.ok(got.inflated.equals(want), `${label}: packet ${i} deflated then inflated`);
    assert.ok(got.gunzipped.equals(want), `${label}: packet ${i} gzipped then gunzipped`);
    assert.ok(got.written.equals(want), `${label}: packet ${i} written to a file and read back`);
    assert.ok(got.digest.equals(createHash('sha256').update(want).digest()), `${label}: packet ${i} SHA-256`);
  }
}

/**
 * Occupies every libuv thread-pool thread (UV_THREADPOOL_SIZE, 4 by default) with a blocking read
 * of a FIFO in `dir`; unblock() feeds them and waits until they are done. Work queued in between
 * (zlib, fs, crypto) starts only after unblock(). Call unblock() in a finally.
 */
export function blockThreadPool(dir: string): { unblock(): Promise<void> } {
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const fifo = join(dir, `pool-${process.pid}-${Math.random().toString(36).slice(2)}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const fd = openSync(fifo, 'r+'); // O_RDWR: opens at once, and keeps a writer so reads block
  const reads = Array.from(
    { length: threads },
    () => new Promise<void>((resolve) => read(fd, Buffer.alloc(1), 0, 1, null, () => resolve())),
  );
  let done: Promise<void> | undefined;
  return {
    unblock: () => {
      done ??= (async () => {
        writeSync(fd, Buffer.alloc(threads));
        await Promise.all(reads);
        closeSync(fd);
        unlinkSync(fifo);
      })();
      return done;
    },
  };
}
