// The copy API's ownership rule (docs/api.md, rxBurst): the Buffers of a burst are views into one
// block allocated for that burst; they keep their bytes however the ring, later bursts and the
// connection go on, and each packet's view holds its own bytes only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Memif } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Packet k of round `round`: `size` bytes of a pattern that differs per round and per packet. */
function pkt(round: number, k: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (round * 131 + k * 17 + i) & 0xff;
  return b;
}

async function exchange(tx: Memif, rx: Memif, sent: Buffer[]): Promise<Buffer[]> {
  let queued = 0;
  const got: Buffer[] = [];
  for (let i = 0; i < 10_000 && got.length < sent.length; i++) {
    if (queued < sent.length) queued += tx.txBurst(0, sent.slice(queued));
    got.push(...rx.rxBurst(0));
    if (got.length < sent.length) await tick();
  }
  return got;
}

test('rxBurst Buffers keep their bytes while the ring is reused lap after lap, and after close', {
  timeout: 30_000,
}, async () => {
  const tmp = tempDir();
  const socketPath = tmp.socket();
  // 8 slots of 256 bytes: single-buffer packets and chains, many laps of the ring.
  const opts = { socketPath, log2RingSize: 3, bufferSize: 256, rxMode: 'polling' } as const;
  const master = await Memif.create({ role: 'master', ...opts });
  const slave = await Memif.create({ role: 'slave', ...opts });
  try {
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    for (const [tx, rx] of [
      [slave, master],
      [master, slave],
    ] as const) {
      const kept: { sent: Buffer[]; got: Buffer[] }[] = [];
      for (let round = 0; round < 20; round++) {
        const sent = [pkt(round, 0, 100), pkt(round, 1, 256), pkt(round, 2, 600), pkt(round, 3, 1)];
        const got = await exchange(tx, rx, sent);
        assert.deepEqual(got, sent, `round ${round}`);
        kept.push({ sent, got });
      }
      // Every earlier burst still holds what arrived then, though its slots were rewritten since.
      for (const [round, { sent, got }] of kept.entries()) assert.deepEqual(got, sent, `kept round ${round}`);
      // A packet's view covers its own bytes only: filling one leaves its burst neighbours alone.
      const { sent, got } = kept[kept.length - 1];
      got[1].fill(0xee);
      assert.deepEqual(got[0], sent[0]);
      assert.deepEqual(got[2], sent[2]);
      assert.ok(got.every((b) => Buffer.isBuffer(b)));
    }
    const last = await exchange(slave, master, [pkt(99, 0, 300)]);
    await slave.close();
    await master.close();
    // The mappings are gone; the copies are not.
    assert.deepEqual(last, [pkt(99, 0, 300)]);
  } finally {
    await slave.close();
    await master.close();
    tmp.remove();
  }
});
