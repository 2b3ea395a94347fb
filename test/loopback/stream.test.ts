// createStream: a master and a slave in one process, packets through stream.pipeline, every packet
// compared byte for byte and in order with what was sent. A consumer that stops proves the
// backpressure: the rx ring fills, the sender's writes wait, and nothing is lost. Disconnect
// destroys the stream with an error; close() ends it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { createStream, InvalidArgumentError, Memif, StateError } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

/** Packet `i`: its index in the first 4 bytes, then bytes that depend on it; 1 … maxSize bytes. */
function packetOf(i: number, maxSize: number): Buffer {
  const size = 4 + ((i * 7919) % (maxSize - 3));
  const b = Buffer.alloc(size);
  b.writeUInt32LE(i, 0);
  for (let k = 4; k < size; k++) b[k] = (i + k * 31) & 0xff;
  return b;
}

async function pair(tmp: TempDir, name: string, extra: Record<string, unknown> = {}): Promise<[Memif, Memif]> {
  const common = { socketPath: tmp.socket(name), bufferSize: 2048, log2RingSize: 6, ...extra };
  const master = await Memif.create({ role: 'master', ...common });
  const slave = await Memif.create({ role: 'slave', ...common });
  await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
  return [master, slave];
}

describe('createStream', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('a consumer that stops: the ring fills, writes wait, then every packet arrives in order', {
    timeout: 120_000,
  }, async () => {
    const [master, slave] = await pair(tmp, 'slow.sock');
    const COUNT = 5000;
    const ringSize = 64;
    try {
      const tx = createStream(slave, { readable: false });
      const rx = createStream(master, { queueId: 0, readableHighWaterMark: 8 });
      let generated = 0;
      async function* source() {
        for (let i = 0; i < COUNT; i++) {
          generated = i + 1;
          yield packetOf(i, 2000); // one buffer each: a full ring is exactly ringSize packets
        }
      }
      const got: Buffer[] = [];
      let fullSeen = false;
      let stalledAt = -1;
      const sink = new Writable({
        objectMode: true,
        highWaterMark: 1,
        write(chunk: Buffer, _enc, cb) {
          got.push(chunk);
          if (got.length !== 100) {
            // slow: one packet per turn of the event loop
            setImmediate(cb);
            return;
          }
          // Stop here until the sender has filled the master's rx ring.
          const wait = async () => {
            for (;;) {
              const q = master.details().rxQueues[0];
              if (((q.head - q.tail) & 0xffff) === ringSize) break;
              await tick();
            }
            fullSeen = true;
            stalledAt = generated;
            // Let the sender try (and fail) a few more times while the ring is full.
            for (let k = 0; k < 50; k++) await tick();
            assert.equal(generated, stalledAt, 'the source is not read while the ring is full');
            assert.ok(rx.readableLength <= 8, `reading stopped at the high-water mark (${rx.readableLength})`);
            cb();
          };
          wait().catch(cb);
        },
      });
      const sent = pipeline(Readable.from(source()), tx);
      const received = (async () => {
        let n = 0;
        for await (const p of rx) {
          await new Promise<void>((resolve, reject) => {
            if (sink.write(p)) resolve();
            else sink.once('drain', resolve).once('error', reject);
          });
          if (++n === COUNT) break;
        }
      })();
      await Promise.all([sent, received]);
      while (got.length < COUNT) await tick();
      assert.ok(fullSeen, 'the rx ring filled');
      assert.ok(stalledAt < COUNT, `the sender was held back (${stalledAt} of ${COUNT} generated)`);
      assert.equal(got.length, COUNT);
      for (let i = 0; i < COUNT; i++) assert.deepEqual(got[i], packetOf(i, 2000), `packet ${i}`);
      assert.equal(master.details().rxQueues[0].errors, 0);
      assert.equal(slave.details().txQueues[0].packets, COUNT);
      assert.ok(tx.destroyed && rx.destroyed, 'both streams are done (and left their interfaces)');
      assert.equal(slave.listenerCount('disconnect') + master.listenerCount('disconnect'), 0);
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('a reflector over every queue is pipeline(stream, stream); chains come back equal; close() ends it', {
    timeout: 120_000,
  }, async () => {
    const [master, slave] = await pair(tmp, 'echo.sock', { rxQueues: 2, txQueues: 2 });
    const COUNT = 3000;
    try {
      // Every packet the master gets, on either queue, goes back on its tx queue 0.
      const reflector = createStream(master);
      const reflected = pipeline(reflector, reflector);
      const s = createStream(slave, { queueId: 0 });
      const sent = pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < COUNT; i++) yield packetOf(i, 9000); // up to 5 buffers each
          })(),
        ),
        s,
        { end: false },
      );
      const got: Buffer[] = [];
      const read = (async () => {
        for await (const p of s) {
          got.push(p);
          if (got.length === COUNT) break;
        }
      })();
      await Promise.all([sent, read]);
      assert.equal(got.length, COUNT);
      for (let i = 0; i < COUNT; i++) assert.deepEqual(got[i], packetOf(i, 9000), `packet ${i}`);
      // close() of the master ends the reflector's readable side; the pipeline then finishes.
      await master.close();
      await reflected;
      assert.ok(reflector.writableFinished && reflector.readableEnded);
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('the link going down destroys the stream with MEMIF_ERR_NOCONN; a pending write fails', {
    timeout: 60_000,
  }, async () => {
    const [master, slave] = await pair(tmp, 'down.sock');
    try {
      const s = createStream(slave);
      // Fill the ring (nobody reads on the master), so a write is left waiting.
      const writeDone: Promise<Error | null | undefined>[] = [];
      for (let i = 0; i < 200; i++) {
        writeDone.push(new Promise((resolve) => s.write(packetOf(i, 100), (err) => resolve(err))));
      }
      for (;;) {
        const q = slave.details().txQueues[0];
        if (((q.head - q.tail) & 0xffff) === 64) break;
        await tick();
      }
      const failed = once(s, 'error');
      await master.close();
      const [err] = await failed;
      assert.ok(err instanceof StateError);
      assert.equal(err.errorName, 'MEMIF_ERR_NOCONN');
      assert.ok(s.destroyed);
      const results = await Promise.all(writeDone);
      const failedWrites = results.filter((r) => r instanceof Error).length;
      assert.ok(failedWrites > 0 && failedWrites < 200, `${failedWrites} of 200 writes failed`);
      assert.equal(slave.listenerCount('interrupt'), 0, 'the stream left the interface');
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('close() of its interface ends the readable side; later writes fail', { timeout: 60_000 }, async () => {
    const [master, slave] = await pair(tmp, 'close.sock');
    try {
      const s = createStream(master);
      slave.txBurst(0, [Buffer.from('last words')]);
      const got: Buffer[] = [];
      s.on('data', (p: Buffer) => got.push(p));
      const ended = once(s, 'end');
      while (got.length < 1) await tick();
      await master.close();
      await ended; // no error
      assert.deepEqual(got, [Buffer.from('last words')]);
      const err = await new Promise<Error | null | undefined>((resolve) => {
        s.on('error', () => {});
        s.write(Buffer.from('x'), resolve);
      });
      assert.ok(err instanceof StateError);
      assert.throws(() => createStream(master), StateError);
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('bad options and bad packets are InvalidArgumentErrors', { timeout: 60_000 }, async () => {
    const [master, slave] = await pair(tmp, 'bad.sock');
    try {
      assert.throws(() => createStream(slave, { queueId: 1 }), InvalidArgumentError);
      assert.throws(() => createStream(slave, { readableHighWaterMark: 0 }), InvalidArgumentError);
      assert.throws(() => createStream(slave, { retryMs: 1.5 }), InvalidArgumentError);
      assert.throws(() => createStream(slave, null as never), InvalidArgumentError);
      const s = createStream(slave);
      const failed = once(s, 'error');
      s.write('not a packet' as never);
      const [err] = await failed;
      assert.ok(err instanceof InvalidArgumentError);
      assert.ok(slave.connected, 'the interface is not affected');
    } finally {
      await slave.close();
      await master.close();
    }
  });
  test('a stream per queue, 16 queues: no MaxListenersExceededWarning; destroyed streams give the limit back', {
    timeout: 60_000,
  }, async () => {
    const [master, slave] = await pair(tmp, 'many.sock', { rxQueues: 16, txQueues: 16 });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const before = slave.getMaxListeners();
      const streams = Array.from({ length: 16 }, (_, q) => createStream(slave, { queueId: q }));
      const peers = Array.from({ length: 16 }, (_, q) => createStream(master, { queueId: q }));
      assert.equal(slave.getMaxListeners(), before + 16);
      // Each queue carries its own packet, and it arrives on its own stream.
      for (let q = 0; q < 16; q++) peers[q]?.write(packetOf(q, 64));
      const got = await Promise.all(streams.map(async (s) => (await once(s, 'data'))[0] as Buffer));
      for (const [q, b] of got.entries()) assert.deepEqual(b, packetOf(q, 64));
      for (const s of [...streams, ...peers]) s.destroy();
      await tick();
      assert.equal(slave.getMaxListeners(), before);
      assert.equal(slave.listenerCount('interrupt'), 0);
      assert.deepEqual(
        warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      await slave.close();
      await master.close();
    }
  });
});
