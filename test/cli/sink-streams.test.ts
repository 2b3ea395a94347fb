// memif sink's accounting of gen's streams, against frames this process builds with gen's own
// template and stamp (src/cli/gen-frame.ts) and sends in a chosen order: gaps are lost, late ones
// reordered, repeats duplicates, two runs and two queues four streams; and the one-way latency
// of frames stamped 2 s in the past (same CLOCK_MONOTONIC) is at least 2 s.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type GenAddresses, genTemplate, stamp } from '../../src/cli/gen-frame.js';
import { Memif, packet } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { startCli } from './cli.js';

const tmp = tempDir('memif-cli-streams-');
after(() => tmp.remove());

const ADDR: GenAddresses = {
  srcMac: packet.parseMac('02:00:00:00:00:01'),
  dstMac: packet.parseMac('02:00:00:00:00:02'),
  srcIp: packet.parseIPv4('198.18.0.1'),
  dstIp: packet.parseIPv4('198.18.0.2'),
  srcPort: 1024,
  dstPort: 1024,
};

/** Gen's frame number `seq` of run `runId` on `queue`, sent `agoNs` before now. */
function frame(runId: number, queue: number, seq: number, agoNs: bigint): Buffer {
  const t = genTemplate(ADDR, 100, queue, runId);
  const f = Buffer.from(t.bytes);
  const at = process.hrtime.bigint() - agoNs;
  stamp(f, 0, t.base, seq, Number(at >> 32n), Number(at & 0xffffffffn));
  assert.ok(packet.parseUdpFrame(f), 'a valid frame');
  return f;
}

test('sink: lost, reordered, duplicates per (run, queue) stream; latency from the send time', {
  timeout: 60_000,
}, async () => {
  const socketPath = tmp.socket('streams.sock');
  const peer = await Memif.create({ role: 'master', socketPath, rxQueues: 2, txQueues: 2 });
  const past = 2_000_000_000n; // 2 s
  // Run 7, queue 0: 0 1 3 2 4 4 7 → 5 and 6 lost, 2 reordered, 4 duplicated.
  const a = [0, 1, 3, 2, 4, 4, 7].map((s) => frame(7, 0, s, past));
  // Run 7, queue 1: 0 1 2 (clean). Run 8, queue 0: 10 11 (starts late: 0 … 9 lost), then 5 (late).
  const b = [0, 1, 2].map((s) => frame(7, 1, s, past));
  const c = [10, 11, 5].map((s) => frame(8, 0, s, past));
  const total = a.length + b.length + c.length;
  const sink = startCli([
    'sink',
    '--socket',
    socketPath,
    '--queues',
    '2',
    '--count',
    String(total),
    '--check',
    '--json',
  ]);
  try {
    await peer.waitForConnect({ timeoutMs: 20_000 });
    for (const [queue, frames] of [
      [0, a],
      [1, b],
      [0, c],
    ] as const) {
      let sent = 0;
      while (sent < frames.length) {
        sent += peer.txBurst(queue, frames.slice(sent));
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 50)); // one stream after the other, in this order
    }
    const exit = await sink.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const s = JSON.parse(exit.stdout.trim().split('\n').at(-1) as string) as {
      received: number;
      genFrames: number;
      badChecksums: number;
      streams: {
        runId: number;
        queue: number;
        received: number;
        next: number;
        lost: number;
        reordered: number;
        duplicates: number;
      }[];
      lost: number;
      reordered: number;
      duplicates: number;
      latencyUs: { p50: number; max: number };
    };
    assert.equal(s.received, total);
    assert.equal(s.genFrames, total);
    assert.equal(s.badChecksums, 0);
    const byKey = Object.fromEntries(s.streams.map((x) => [`${x.runId}/${x.queue}`, x]));
    assert.deepEqual(Object.keys(byKey).sort(), ['7/0', '7/1', '8/0']);
    const pick = (k: string) => {
      const x = byKey[k] as (typeof s.streams)[number];
      return [x.received, x.next, x.lost, x.reordered, x.duplicates];
    };
    assert.deepEqual(pick('7/0'), [6, 8, 2, 1, 1]);
    assert.deepEqual(pick('7/1'), [3, 3, 0, 0, 0]);
    assert.deepEqual(pick('8/0'), [3, 12, 9, 1, 0]);
    assert.deepEqual([s.lost, s.reordered, s.duplicates], [11, 2, 1]);
    // Stamped 2 s before they were sent: the histogram's buckets are within ~6 %.
    assert.ok(s.latencyUs.p50 >= 2_000_000 * 0.94, `p50 ${s.latencyUs.p50} µs`);
  } finally {
    await sink.stop();
    await peer.close();
  }
});
