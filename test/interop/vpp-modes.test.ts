// memif-ts against FD.io VPP: secrets (matching, wrong, missing), interrupt and polling on both
// sides (`set interface rx-mode`), VPP's ping answered by our ARP/ICMP responder (also 8,000-byte
// chained pings), and `mode ip` (no Ethernet header): VPP routes IPv4 between two ip-mode
// interfaces of ours and pings our ip-mode responder. One VPP for this file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { VPP_WAIT_MS, Vpp, vppSkip } from '../../peers/vpp.js';
import { type Memif, packet } from '../../src/index.js';
import {
  type L2Pair,
  l2Exchange,
  openL2Pair,
  type PairCase,
  parseMemif,
  vppErrorsBesidesL2,
} from '../helpers/vpp-l2.js';

const { internetChecksum, respond, parseIPv4, parseMac } = packet;

let vpp: Vpp;

/** Runs `body` with a pair; on failure adds VPP's diagnostics; always closes the pair. */
async function withPair(c: PairCase, body: (p: L2Pair) => Promise<void>, connect = true): Promise<void> {
  let pair: L2Pair | undefined;
  try {
    pair = await openL2Pair(vpp, c, connect);
    await body(pair);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await vpp.diagnostics()}`, { cause: err });
  } finally {
    await pair?.close();
  }
}

const SIZES = [60, 1500, 2049, 9000];

/** `ping …` on VPP: how many were sent and received. */
async function ping(target: string, extra: string): Promise<{ sent: number; received: number; text: string }> {
  const text = await vpp.cli(`ping ${target} ${extra}`);
  const m = /(\d+) sent, (\d+) received/.exec(text);
  if (!m) throw new Error(`no ping statistics in:\n${text}`);
  return { sent: Number(m[1]), received: Number(m[2]), text };
}

/**
 * Answers ARP and ICMP echo for `ip` (in ip mode: echo only, on raw IPv4 packets) on every rx queue,
 * as the interface signals, and checks every request: IPv4 header and ICMP checksums valid over the
 * whole packet (so every byte of a chained one arrived as VPP wrote it).
 */
function responder(iface: Memif, ip: string, ipMode: boolean) {
  const mac = parseMac('02:00:00:00:00:aa');
  const config = { mac, ip: parseIPv4(ip) };
  const seen = { requests: 0, replies: 0, bad: 0, largest: 0 };
  const fakeEth = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
  const onInterrupt = (q: number) => {
    for (const f of iface.rxBurst(q)) {
      const eth = ipMode ? Buffer.concat([fakeEth, f]) : f;
      if (eth.readUInt16BE(12) === 0x0800) {
        seen.requests++;
        seen.largest = Math.max(seen.largest, f.length);
        const ihl = (eth[14] & 0x0f) * 4;
        const total = eth.readUInt16BE(16);
        if (internetChecksum(eth, 14, 14 + ihl) !== 0 || internetChecksum(eth, 14 + ihl, 14 + total) !== 0) seen.bad++;
      }
      const reply = respond(eth, config);
      if (!reply) continue;
      const out = ipMode ? reply.subarray(14) : reply;
      if (iface.txBurst(q % iface.txQueueCount, [out]) === 1 && reply.readUInt16BE(12) === 0x0800) seen.replies++;
    }
  };
  iface.on('interrupt', onInterrupt);
  return { seen, stop: () => iface.off('interrupt', onInterrupt) };
}

describe('interop with FD.io VPP: secrets, rx modes, ping, ip mode', { skip: vppSkip() }, () => {
  before(async () => {
    vpp = await Vpp.start();
  });
  after(async () => {
    await vpp?.stop();
  });

  for (const role of ['master', 'slave'] as const) {
    const ours = role === 'master' ? 'our slave' : 'our master';
    test(`secret: VPP ${role} and ${ours} with the same secret`, { timeout: 60_000 }, async () => {
      await withPair({ vpp: role, secret: 'open-sesame' }, async ({ a, b }) => {
        await l2Exchange(a, b, { sizes: SIZES });
      });
    });

    test(`secret: VPP ${role} and ${ours} with different secrets are refused; both keep running`, {
      timeout: 60_000,
    }, async () => {
      await withPair(
        { vpp: role, secret: 'right', ourSecret: 'wrong' },
        async ({ a, b, vppA, firstError }) => {
          const err = await firstError(a);
          assert.equal(err.errorName, 'MEMIF_ERR_SECRET');
          assert.match(err.message, /incorrect secret/);
          assert.equal(a.connected, false);
          assert.equal(b.connected, false);
          assert.ok(vpp.running, 'VPP keeps running');
          const shown = await vpp.cli(`show memif ${vppA}`);
          assert.doesNotMatch(shown, /flags [^\n]*\bconnected\b/);
          if (role === 'master') assert.match(shown, /local-disc-reason "incorrect secret"/);
          // Both processes still work: a right pair on the same VPP passes traffic.
          await withPair({ vpp: role, secret: 'right' }, async (p) => {
            await l2Exchange(p.a, p.b, { sizes: [60, 3000] });
          });
        },
        false,
      );
    });
  }

  test('secret: a VPP master with a secret refuses our slave without one (MEMIF_ERR_NOSECRET)', {
    timeout: 60_000,
  }, async () => {
    let pair: L2Pair | undefined;
    try {
      pair = await openL2Pair(vpp, { vpp: 'master', vppExtra: 'secret right' }, false);
      const err = await pair.firstError(pair.a);
      assert.equal(err.errorName, 'MEMIF_ERR_NOSECRET');
      assert.match(err.message, /secret required/);
      assert.equal(pair.a.connected, false);
    } finally {
      await pair?.close();
    }
  });

  test('secret: a VPP master without a secret accepts our slave that sends one (VPP checks only its own)', {
    timeout: 60_000,
  }, async () => {
    await withPair({ vpp: 'master', ourSecret: 'unasked' }, async ({ a, b }) => {
      await l2Exchange(a, b, { sizes: [60, 3000] });
    });
  });

  for (const role of ['master', 'slave'] as const) {
    for (const theirs of ['interrupt', 'polling'] as const) {
      for (const mine of ['interrupt', 'polling'] as const) {
        test(`rx modes: VPP ${role} ${theirs}, ours (${role === 'master' ? 'slave' : 'master'}) ${mine}`, {
          timeout: 60_000,
        }, async () => {
          await withPair({ vpp: role, rxQueues: 2, txQueues: 2, rxMode: mine }, async ({ a, b, vppA, vppB }) => {
            // VPP's rx queues poll until told otherwise.
            const before = await vpp.cli('show interface rx-placement');
            for (const n of [vppA, vppB]) {
              for (const q of [0, 1]) assert.match(before, new RegExp(`${n} queue ${q} \\(polling\\)`));
            }
            for (const n of [vppA, vppB]) await vpp.config(`set interface rx-mode ${n} ${theirs}`);
            const placement = await vpp.cli('show interface rx-placement');
            for (const n of [vppA, vppB]) {
              for (const q of [0, 1]) {
                assert.match(placement, new RegExp(`${n} queue ${q} \\(${theirs}\\)`), `VPP ${n} queue ${q}`);
              }
            }
            for (const m of [a, b]) for (const q of m.details().rxQueues) assert.equal(q.rxMode, mine);
            await vpp.config('clear errors');
            // Ours in interrupt mode reads only when signalled: VPP signals us. VPP in interrupt
            // mode reads only when we signal it.
            await l2Exchange(a, b, { sizes: SIZES, interrupts: mine === 'interrupt' });
            // Interrupt masking, as VPP's rings show it: a polling consumer sets MASK_INT (flags bit
            // 0) on the rings it receives on, and the producer then never signals: VPP counted no
            // signal from us on its rx rings when it polled, and sent none on ours when we polled.
            const vppRx = role === 'master' ? 'S2M' : 'M2S';
            for (const n of [vppA, vppB]) {
              const { rings } = parseMemif(await vpp.cli(`show memif ${n}`));
              assert.equal(Object.keys(rings).length, 4, `show memif ${n}: 4 rings`);
              const signals = { vpp: 0, ours: 0 };
              for (const [k, r] of Object.entries(rings)) {
                const vppReceives = k.startsWith(vppRx);
                const polls = (vppReceives ? theirs : mine) === 'polling';
                assert.equal(r.flags & 1, polls ? 1 : 0, `${n} ${k}: MASK_INT iff its consumer polls`);
                if (polls) assert.equal(r.interrupts, 0, `${n} ${k}: no signal to a polling consumer`);
                signals[vppReceives ? 'vpp' : 'ours'] += r.interrupts;
              }
              if (theirs === 'interrupt') assert.ok(signals.vpp > 0, `${n}: we signalled VPP`);
              if (mine === 'interrupt') assert.ok(signals.ours > 0, `${n}: VPP signalled us`);
            }
            assert.deepEqual(await vppErrorsBesidesL2(vpp), [], 'show errors');
          });
        });
      }
    }
  }

  for (const role of ['master', 'slave'] as const) {
    test(`ping: VPP ${role} pings our responder (ARP, then 64- and 8,000-byte chained echoes)`, {
      timeout: 60_000,
    }, async () => {
      await withPair({ vpp: role, noXconnect: true }, async ({ a, vppA }) => {
        await vpp.config(`set interface ip address ${vppA} 192.168.77.2/24`);
        const r = responder(a, '192.168.77.1', false);
        try {
          await ping('192.168.77.1', 'repeat 1 interval 0.1'); // resolves ARP (VPP drops this one while it does)
          const small = await ping('192.168.77.1', 'repeat 5 interval 0.02');
          assert.equal(small.received, 5, small.text);
          const big = await ping('192.168.77.1', 'size 8000 repeat 3 interval 0.02');
          assert.equal(big.received, 3, big.text);
          assert.equal(r.seen.bad, 0, 'every request intact');
          assert.ok(r.seen.largest >= 8000 + 28 + 14, `the 8,000-byte echo arrived whole (${r.seen.largest})`);
          assert.equal(r.seen.replies, r.seen.requests);
          const arp = await vpp.cli('show ip neighbors');
          assert.match(arp, /192\.168\.77\.1\s+D?\s*02:00:00:00:00:aa/);
        } finally {
          r.stop();
        }
      });
    });
  }

  for (const role of ['master', 'slave'] as const) {
    test(`mode ip: VPP ${role} routes IPv4 between two ip-mode interfaces of ours, and pings us`, {
      timeout: 60_000,
    }, async () => {
      await withPair({ vpp: role, mode: 'ip', noXconnect: true }, async ({ a, b, vppA, vppB }) => {
        assert.equal(a.details().mode, 'ip');
        await vpp.config(
          `set interface ip address ${vppA} 10.77.1.1/24`,
          `set interface ip address ${vppB} 10.77.2.1/24`,
        );
        // a (10.77.1.2) ↔ b (10.77.2.2) through VPP's ip4 lookup: each packet comes out with TTL − 1
        // and the header checksum updated, every other byte as sent.
        const packets = (from: string, to: string, tag: number) =>
          [28, 100, 1500, 2049, 4000, 8972].map((len, i) => {
            const p = Buffer.alloc(len);
            p[0] = 0x45;
            p.writeUInt16BE(len, 2);
            p.writeUInt16BE(tag * 100 + i, 4);
            p[8] = 64;
            p[9] = 17; // UDP, checksum 0 (none)
            parseIPv4(from).copy(p, 12);
            parseIPv4(to).copy(p, 16);
            p.writeUInt16BE(internetChecksum(p, 0, 20), 10);
            p.writeUInt16BE(4000 + i, 20);
            p.writeUInt16BE(5000 + tag, 22);
            p.writeUInt16BE(len - 20, 24);
            for (let k = 28; k < len; k++) p[k] = (k * 7 + i + tag) & 0xff;
            return p;
          });
        const routed = (p: Buffer) => {
          const q = Buffer.from(p);
          q[8]--;
          q.writeUInt16BE(0, 10);
          q.writeUInt16BE(internetChecksum(q, 0, 20), 10);
          return q;
        };
        await vpp.config('clear errors');
        const ab = packets('10.77.1.2', '10.77.2.2', 1);
        const ba = packets('10.77.2.2', '10.77.1.2', 2);
        const got = new Map<Memif, Buffer[]>([
          [a, []],
          [b, []],
        ]);
        const todo: [Memif, Buffer[]][] = [
          [a, ab],
          [b, ba],
        ];
        const deadline = Date.now() + VPP_WAIT_MS;
        while ((got.get(a)?.length ?? 0) < ba.length || (got.get(b)?.length ?? 0) < ab.length) {
          if (Date.now() > deadline) break;
          for (const t of todo) if (t[1].length > 0) t[1] = t[1].slice(t[0].txBurst(0, t[1]));
          for (const m of [a, b]) got.get(m)?.push(...m.rxBurst(0));
          await new Promise((r) => setTimeout(r, 1));
        }
        assert.deepEqual(got.get(b), ab.map(routed), 'a → b routed by VPP, byte for byte');
        assert.deepEqual(got.get(a), ba.map(routed), 'b → a routed by VPP, byte for byte');
        assert.deepEqual(await vpp.errors(), {}, 'show errors: nothing for routed traffic');
        // VPP pings our ip-mode responder at 10.77.1.2 (no ARP on an ip-mode interface).
        const r = responder(a, '10.77.1.2', true);
        try {
          const small = await ping('10.77.1.2', 'repeat 5 interval 0.02');
          assert.equal(small.received, 5, small.text);
          const big = await ping('10.77.1.2', 'size 8000 repeat 2 interval 0.02');
          assert.equal(big.received, 2, big.text);
          assert.equal(r.seen.bad, 0);
        } finally {
          r.stop();
        }
      });
    });
  }
});
