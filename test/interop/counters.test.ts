// Counting against DPDK testpmd's own totals, in both roles. testpmd txonly → us for a while:
// every frame is its 64-byte UDP template, intact (valid IPv4 checksum, identical bytes), and our
// details() count exactly the TX-packets testpmd reports. Us → testpmd rxonly: testpmd's
// RX-packets equal what txBurst queued and what details() counted.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PEER_WAIT_MS, TESTPMD_MISSING, Testpmd, testpmdAvailable } from '../../peers/testpmd.js';
import { Memif } from '../../src/index.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import { frame } from '../helpers/interop.js';
import { tempDir } from '../helpers/tmp.js';

const tick = () => new Promise((r) => setImmediate(r));

async function connectTo(our: 'slave' | 'master', socketPath: string, forwardMode: 'txonly' | 'rxonly') {
  const pmdRole = our === 'slave' ? 'server' : 'client';
  const opts = { socketPath, rxMode: 'polling' as const, reconnectIntervalMs: 100 };
  if (our === 'slave') {
    const pmd = await Testpmd.start({ role: pmdRole, socket: socketPath, forwardMode, interactive: true });
    const iface = await Memif.create({ role: 'slave', ...opts });
    return { pmd, iface };
  }
  const iface = await Memif.create({ role: 'master', ...opts });
  const pmd = await Testpmd.start({ role: pmdRole, socket: socketPath, forwardMode, interactive: true });
  return { pmd, iface };
}

/** Until the peer has taken everything we queued on tx queue 0. */
async function txDrained(iface: Memif): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    const q = iface.details().txQueues[0];
    const inFlight =
      iface.options.role === 'slave' ? (q.head - q.tail) & 0xffff : q.ringSize - ((q.head - q.tail) & 0xffff);
    if (inFlight === 0) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.fail('the peer never drained our tx ring');
}

describe('interop with DPDK net_memif: counters', { skip: testpmdAvailable() ? false : TESTPMD_MISSING }, () => {
  for (const our of ['slave', 'master'] as const) {
    test(`testpmd txonly → our ${our}: intact frames, counts equal testpmd's TX-packets`, {
      timeout: 60_000,
    }, async () => {
      const tmp = tempDir();
      const { pmd, iface } = await connectTo(our, tmp.socket(), 'txonly');
      try {
        await iface.waitForConnect({ timeoutMs: PEER_WAIT_MS });
        let received = 0;
        let malformed = 0;
        let template: Buffer | undefined;
        const drain = () => {
          for (;;) {
            const burst = iface.rxBurst(0);
            if (burst.length === 0) return;
            for (const f of burst) {
              received++;
              template ??= f;
              const ok =
                f.length === 64 &&
                f.readUInt16BE(12) === 0x0800 &&
                f[14] === 0x45 &&
                f[23] === 17 &&
                internetChecksum(f, 14, 34) === 0 &&
                f.equals(template);
              if (!ok) malformed++;
            }
          }
        };
        await pmd.startForwarding();
        const until = Date.now() + 1500;
        while (Date.now() < until) {
          drain();
          await tick();
        }
        const stats = await pmd.stopForwarding();
        for (let i = 0; i < 50; i++) {
          drain();
          await tick();
        }
        assert.ok(stats.txPackets > 10_000, `testpmd sent something (${stats.txPackets})`);
        assert.equal(malformed, 0);
        assert.equal(received, stats.txPackets);
        assert.equal(iface.details().rxQueues[0].packets, stats.txPackets);
        assert.equal(iface.details().rxQueues[0].bytes, stats.txPackets * 64);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- testpmd output ---\n${pmd.tail()}`, { cause: err });
      } finally {
        await pmd.stop();
        await iface.close();
        tmp.remove();
      }
    });

    test(`our ${our} → testpmd rxonly: testpmd's RX-packets equal what we queued`, { timeout: 60_000 }, async () => {
      const tmp = tempDir();
      const { pmd, iface } = await connectTo(our, tmp.socket(), 'rxonly');
      const total = 200_000;
      try {
        await iface.waitForConnect({ timeoutMs: PEER_WAIT_MS });
        await pmd.startForwarding();
        const burst = Array.from({ length: 256 }, (_, i) => frame(64, 0, i));
        let sent = 0;
        while (sent < total) {
          const n = iface.txBurst(0, burst, Math.min(burst.length, total - sent));
          sent += n;
          if (n === 0) await tick();
        }
        await txDrained(iface);
        const stats = await pmd.stopForwarding();
        assert.equal(stats.rxPackets, total);
        assert.equal(iface.details().txQueues[0].packets, total);
        assert.equal(iface.details().txQueues[0].bytes, total * 64);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- testpmd output ---\n${pmd.tail()}`, { cause: err });
      } finally {
        await pmd.stop();
        await iface.close();
        tmp.remove();
      }
    });
  }
});
