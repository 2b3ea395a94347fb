// Frames and an echo check for interop tests: every frame is unique (queue, sequence number,
// pattern), so a frame that comes back on the wrong queue, out of order, merged, cut or damaged
// fails the comparison with the bytes that were sent.
import assert from 'node:assert/strict';
import type { Memif } from '../../src/index.js';

const DST = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const SRC = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);

/** An Ethernet frame of `size` bytes (≥ 14), EtherType 0x88B5 (local experimental), unique by (queue, seq). */
export function frame(size: number, queue: number, seq: number): Buffer {
  const f = Buffer.alloc(size);
  DST.copy(f, 0);
  SRC.copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  for (let i = 14; i < size; i++) f[i] = (i * 31 + seq * 7 + queue * 101) & 0xff;
  if (size >= 20) {
    f.writeUInt16BE(queue, 14);
    f.writeUInt32BE(seq, 16);
  }
  return f;
}

/** What testpmd's macswap mode sends back: the two MAC addresses swapped. */
export function macswapped(f: Buffer): Buffer {
  const out = Buffer.from(f);
  f.copy(out, 0, 6, 12);
  f.copy(out, 6, 0, 6);
  return out;
}

export interface EchoCheck {
  /** Frame sizes sent on every tx queue, in this order. */
  sizes: number[];
  /** How the peer changes a frame. */
  expect: (sent: Buffer) => Buffer;
  /** Give up after this long (a bound against hanging, not a performance check). */
  boundMs?: number;
}

/**
 * Sends `sizes` frames on every tx queue and checks that exactly the expected frames come back,
 * in order, on the rx queue with the same index.
 */
export async function echoCheck(iface: Memif, c: EchoCheck): Promise<void> {
  const queues = Math.min(iface.txQueueCount, iface.rxQueueCount);
  const sent: Buffer[][] = [];
  const got: Buffer[][] = [];
  for (let q = 0; q < queues; q++) {
    sent.push(c.sizes.map((size, i) => frame(size, q, i)));
    got.push([]);
  }
  const done = Array<number>(queues).fill(0);
  const deadline = Date.now() + (c.boundMs ?? 20_000);
  const complete = () => got.every((g) => g.length >= c.sizes.length);
  while (!complete()) {
    if (Date.now() > deadline) {
      assert.fail(
        `echo incomplete: sent ${done.join('/')} of ${c.sizes.length}, got ${got.map((g) => g.length).join('/')}`,
      );
    }
    for (let q = 0; q < queues; q++) {
      if (done[q] < c.sizes.length) done[q] += iface.txBurst(q, sent[q].slice(done[q]));
      got[q].push(...iface.rxBurst(q));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  for (let q = 0; q < queues; q++) {
    assert.equal(got[q].length, c.sizes.length, `queue ${q}: as many frames back as sent`);
    for (let i = 0; i < c.sizes.length; i++) {
      const want = c.expect(sent[q][i]);
      if (!got[q][i].equals(want)) {
        assert.fail(
          `queue ${q} frame ${i}: got ${got[q][i].length} bytes, want ${want.length} (first difference at ${firstDiff(got[q][i], want)})`,
        );
      }
    }
  }
}

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Sizes from one byte short of a buffer to several buffers (chains), for a given buffer size. */
export function chainSizes(bufferSize: number): number[] {
  return [60, 64, 128, bufferSize - 1, bufferSize, bufferSize + 1, 2 * bufferSize + 17, 9000, 16_384, 65_535];
}
