// testpmd killed (SIGKILL) in the middle of traffic, in both roles: our side reports the
// disconnect with a reason, gives back every fd and mapping of that connection, and takes up a
// new testpmd on the same socket — our slave by reconnecting on its own, our master by accepting.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { PEER_WAIT_MS, TESTPMD_MISSING, Testpmd, testpmdAvailable } from '../../peers/testpmd.js';
import { type DisconnectInfo, Memif } from '../../src/index.js';
import { countingLogger } from '../helpers/hostile.js';
import { echoCheck, frame, macswapped } from '../helpers/interop.js';
import { newFds, type Resources, settle, snapshot } from '../helpers/resources.js';
import { tempDir } from '../helpers/tmp.js';

/** Frames sent and not yet back, at most: 256 frames of at most 3 buffers leave a 1,024-slot ring a quarter free. */
const IN_FLIGHT = 256;

/**
 * Keeps sending and reading frames until `stop` is set or the link drops. The frames are chains of
 * 1 to 3 buffers; the window keeps testpmd from ever transmitting a chain into a nearly full ring,
 * which DPDK 22.11 miscounts (test/interop/dpdk-faults.test.ts: as a client it overruns our S2M
 * ring, and our master rightly ends the connection before the kill this test is about).
 */
async function traffic(iface: Memif, state: { stop: boolean; sent: number; received: number }): Promise<void> {
  const burst = Array.from({ length: 64 }, (_, i) => frame(1000 + i * 50, 0, i));
  while (!state.stop && iface.connected) {
    if (state.sent - state.received + burst.length <= IN_FLIGHT) state.sent += iface.txBurst(0, burst);
    state.received += iface.rxBurst(0).length;
    await new Promise((r) => setImmediate(r));
  }
}

describe('interop with DPDK net_memif: the peer dies', { skip: testpmdAvailable() ? false : TESTPMD_MISSING }, () => {
  for (const our of ['slave', 'master'] as const) {
    test(`testpmd killed mid-traffic; our ${our} cleans up and takes a new testpmd`, { timeout: 90_000 }, async () => {
      const tmp = tempDir();
      const socketPath = tmp.socket();
      const pmdRole = our === 'slave' ? 'server' : 'client';
      // Our slave between two connections holds nothing; our master holds its listening socket.
      let base: Resources | undefined;
      if (our === 'slave') {
        await settle();
        base = snapshot();
      }
      let pmd: Testpmd | undefined;
      let iface: Memif | undefined;
      // Every disconnect and every line we log, for the failure message: a DPDK client does not
      // retry, so a link that drops before the kill would otherwise show up only as a wait that ends.
      const logger = countingLogger();
      const downs: string[] = [];
      try {
        if (our === 'slave') {
          pmd = await Testpmd.start({ role: pmdRole, socket: socketPath });
          iface = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 100, logger });
        } else {
          iface = await Memif.create({ role: 'master', socketPath, logger });
          await settle();
          base = snapshot();
          pmd = await Testpmd.start({ role: pmdRole, socket: socketPath });
        }
        iface.on('disconnect', (d: DisconnectInfo) => downs.push(d.reason));
        await iface.waitForConnect({ timeoutMs: PEER_WAIT_MS });
        const during = snapshot();
        assert.ok(during.addonMappings > (base?.addonMappings ?? 0), 'the connection maps shared memory');
        const state = { stop: false, sent: 0, received: 0 };
        const running = traffic(iface, state);
        for (let i = 0; i < 4000 && state.received < 1000 && iface.connected; i++) {
          await new Promise((r) => setTimeout(r, 5));
        }
        assert.ok(state.received > 0, `traffic flows before the kill (sent ${state.sent}, received ${state.received})`);
        assert.deepEqual(downs, [], 'the link stays up until the kill');
        const down = once(iface, 'disconnect', { signal: AbortSignal.timeout(PEER_WAIT_MS) }) as Promise<
          [DisconnectInfo]
        >;
        await pmd.kill();
        const [info] = await down;
        state.stop = true;
        await running;
        assert.match(info.reason, /closed|hung up/);
        assert.equal(info.error.errorName, 'MEMIF_ERR_DISCONNECTED');
        assert.equal(iface.connected, false);
        assert.ok(state.sent > 0 && state.received > 0);
        // Everything of the dead connection is released.
        await settle();
        const after = snapshot();
        assert.ok(base !== undefined);
        assert.deepEqual(newFds(base, after), []);
        assert.equal(after.addonMappings, base.addonMappings);
        assert.deepEqual(after.memfdMaps, base.memfdMaps);
        // A new testpmd on the same socket (a killed server leaves its socket file: the helper clears it).
        pmd = await Testpmd.start({ role: pmdRole, socket: socketPath });
        await iface.waitForConnect({ timeoutMs: PEER_WAIT_MS });
        await echoCheck(iface, { sizes: [60, 1500, 4000], expect: macswapped });
      } catch (err) {
        const ours = logger.lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields ?? {})}`);
        throw new Error(
          `${(err as Error).message}\n--- disconnects: ${JSON.stringify(downs)}\n--- our log ---\n${ours.slice(-30).join('\n')}\n--- testpmd output ---\n${pmd?.tail() ?? ''}`,
          { cause: err },
        );
      } finally {
        await pmd?.stop();
        await iface?.close();
        tmp.remove();
      }
    });
  }
});
