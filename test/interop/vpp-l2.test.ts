// memif-ts against FD.io VPP, the peer most memif users attach to. One VPP for this file; each case
// puts two memif interfaces on a new VPP memif socket, cross-connects them at L2 (`set interface l2
// xconnect`), attaches two interfaces of ours of the other role, and sends frames both ways at
// once on every queue — 60 bytes up to 65,535 (chained over many buffers) — comparing every frame
// that comes out at the other end byte for byte with the one that went in. Then VPP's own counters
// (show interface, show memif rings, show errors) are compared with what we sent and details().
// Roles: VPP master ↔ our slave, our master ↔ VPP slave (zero-copy, its default, and
// no-zero-copy); filesystem and abstract sockets; 1, 2 and 4 queues each way (and unequal
// counts); rings of 2^8 … 2^12; buffers of 1024, 2048 and 9216 set on both ends. Also: a VPP
// master configured with other counts takes ours; our master refuses a VPP slave asking for more
// queues than it has; the same exchange through an L2 bridge domain.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Vpp, vppSkip } from '../../peers/vpp.js';
import { chainSizes } from '../helpers/interop.js';
import { type L2Pair, l2Exchange, openL2Pair, type PairCase, parseMemifRings } from '../helpers/vpp-l2.js';

const cases: PairCase[] = [
  { vpp: 'master' },
  { vpp: 'slave' },
  { vpp: 'master', abstract: true },
  { vpp: 'slave', abstract: true },
  { vpp: 'slave', noZeroCopy: true },
  { vpp: 'master', rxQueues: 2, txQueues: 2 },
  { vpp: 'slave', rxQueues: 2, txQueues: 2 },
  { vpp: 'master', rxQueues: 4, txQueues: 4 },
  { vpp: 'slave', rxQueues: 4, txQueues: 4 },
  { vpp: 'master', rxQueues: 1, txQueues: 4 },
  { vpp: 'slave', rxQueues: 4, txQueues: 2 },
  { vpp: 'master', ring: 8, buffer: 1024 },
  { vpp: 'slave', ring: 8, buffer: 1024 },
  { vpp: 'master', ring: 12, buffer: 9216 },
  { vpp: 'slave', ring: 12, buffer: 9216 },
  { vpp: 'slave', ring: 11, buffer: 9216, noZeroCopy: true },
  { vpp: 'master', ring: 9, buffer: 2048, rxQueues: 2, txQueues: 2, abstract: true },
  // A VPP master configured otherwise takes the slave's queue counts and ring size.
  { vpp: 'master', ring: 11, rxQueues: 2, txQueues: 4, vppExtra: 'rx-queues 1 tx-queues 1 ring-size 256' },
];

function title(c: PairCase): string {
  const vpp =
    c.vpp === 'master' ? 'VPP master ↔ our slave' : `our master ↔ VPP slave${c.noZeroCopy ? ' (no-zero-copy)' : ''}`;
  return `${vpp}, ${c.abstract ? 'abstract' : 'filesystem'} socket, queues rx ${c.rxQueues ?? 1} tx ${c.txQueues ?? 1}, ring 2^${c.ring ?? 10}, buffers ${c.buffer ?? 2048}${c.vppExtra ? ` (VPP: ${c.vppExtra})` : ''}`;
}

const sum = (xs: { packets: number; bytes: number }[]) =>
  xs.reduce((t, q) => ({ packets: t.packets + q.packets, bytes: t.bytes + q.bytes }), { packets: 0, bytes: 0 });

describe('interop with FD.io VPP: frames through VPP at L2 (cross-connect, bridge)', { skip: vppSkip() }, () => {
  let vpp: Vpp;
  before(async () => {
    vpp = await Vpp.start();
  });
  after(async () => {
    await vpp?.stop();
  });

  for (const c of cases) {
    test(title(c), { timeout: 60_000 }, async () => {
      let pair: L2Pair | undefined;
      try {
        await vpp.config('clear errors');
        pair = await openL2Pair(vpp, c);
        const { a, b, vppA, vppB } = pair;
        const ring = 1 << (c.ring ?? 10);
        const buffer = c.buffer ?? 2048;
        for (const m of [a, b]) {
          const d = m.details();
          assert.match(d.remoteName, /^VPP \d/);
          assert.equal(m.rxQueueCount, c.rxQueues ?? 1);
          assert.equal(m.txQueueCount, c.txQueues ?? 1);
          for (const q of [...d.rxQueues, ...d.txQueues]) assert.equal(q.ringSize, ring);
          if (c.vpp === 'slave') {
            // A zero-copy VPP slave exports its buffer memory as a second region.
            assert.equal(d.regions.length, c.noZeroCopy ? 1 : 2);
          }
        }
        assert.equal(a.details().remoteInterfaceName, vppA);
        const r = await l2Exchange(a, b, { sizes: chainSizes(buffer) });
        // VPP spread its transmissions over every queue we receive on.
        for (const [side, counts] of [
          ['a', r.aRx],
          ['b', r.bRx],
        ] as const) {
          assert.ok(
            counts.every((n) => n > 0),
            `${side}: frames on every rx queue (${counts.join('/')})`,
          );
        }
        // Our counters, VPP's interface counters and what was sent agree.
        for (const [m, name, out, back] of [
          [a, vppA, r.sent.a, r.sent.b],
          [b, vppB, r.sent.b, r.sent.a],
        ] as const) {
          const d = m.details();
          assert.deepEqual(sum(d.txQueues), out);
          assert.deepEqual(sum(d.rxQueues), back);
          assert.equal(
            d.rxQueues.reduce((t, q) => t + q.errors, 0),
            0,
          );
          const v = await vpp.interfaceCounters(name);
          assert.deepEqual(
            { rx: [v.rxPackets, v.rxBytes], tx: [v.txPackets, v.txBytes], other: v.other },
            { rx: [out.packets, out.bytes], tx: [back.packets, back.bytes], other: {} },
            `show interface ${name}`,
          );
          // show memif reads the same ring heads and tails as details().
          const rings = parseMemifRings(await vpp.cli(`show memif ${name}`));
          const s2m = c.vpp === 'master' ? d.txQueues : d.rxQueues;
          const m2s = c.vpp === 'master' ? d.rxQueues : d.txQueues;
          const ours: Record<string, { head: number; tail: number; size: number }> = {};
          for (const [kind, qs] of [
            ['S2M', s2m],
            ['M2S', m2s],
          ] as const) {
            for (const q of qs) ours[`${kind} ${q.queueId}`] = { head: q.head, tail: q.tail, size: q.ringSize };
          }
          assert.deepEqual(rings, ours, `show memif ${name} rings`);
        }
        // Nothing but the L2 nodes' packet counts in show errors.
        const errors = Object.entries(await vpp.errors()).filter(
          ([k]) => !/^l2-(input|output): L2 (input|output) packets$/.test(k),
        );
        assert.deepEqual(errors, [], 'show errors');
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await vpp.diagnostics()}`, { cause: err });
      } finally {
        await pair?.close();
      }
    });
  }
  test('our master refuses a VPP slave that asks for more queues than it has, and keeps serving', {
    timeout: 60_000,
  }, async (t) => {
    // A VPP of its own: the debug build sometimes aborts on this refusal (os_panic in
    // memif_conn_fd_write_ready, on the connection we closed; docs/interop.md), and that must not
    // take the other cases' VPP down.
    const own = await Vpp.start();
    let pair: L2Pair | undefined;
    try {
      // VPP's rx-queues are the rings we transmit on: 4 asked, our master has 2.
      pair = await openL2Pair(own, { vpp: 'slave', rxQueues: 2, txQueues: 2, vppExtra: 'rx-queues 4' }, false);
      const err = await pair.firstError(pair.a);
      assert.equal(err.errorName, 'MEMIF_ERR_MAXRING');
      assert.equal(pair.a.connected, false);
      assert.equal(pair.a.closed, false, 'our master still listens');
      const shown = await own.cli(`show memif ${pair.vppA}`).catch(async (e: Error) => {
        if (await own.diesWithin(2000)) return undefined;
        throw e;
      });
      if (shown !== undefined) {
        assert.doesNotMatch(shown, /flags [^\n]*\bconnected\b/);
      } else {
        t.diagnostic('VPP (debug build) aborted after our refusal: a known VPP fault, see docs/interop.md');
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await own.diagnostics()}`, { cause: err });
    } finally {
      await pair?.close();
      await own.stop();
    }
  });
  for (const role of ['master', 'slave'] as const) {
    test(`VPP ${role}: frames through a VPP L2 bridge domain instead of a cross-connect`, {
      timeout: 60_000,
    }, async () => {
      let pair: L2Pair | undefined;
      try {
        pair = await openL2Pair(vpp, { vpp: role, noXconnect: true, rxQueues: 2, txQueues: 2 });
        const bd = pair.socketId;
        await vpp.config(`set interface l2 bridge ${pair.vppA} ${bd}`, `set interface l2 bridge ${pair.vppB} ${bd}`);
        // Every destination is unknown to the bridge (ours are never sources): each frame is flooded
        // to the one other port, byte for byte.
        await l2Exchange(pair.a, pair.b, { sizes: chainSizes(2048) });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await vpp.diagnostics()}`, { cause: err });
      } finally {
        await pair?.close();
      }
    });
  }
});
