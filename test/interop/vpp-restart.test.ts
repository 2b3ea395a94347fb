// Restarts against FD.io VPP. VPP killed (SIGKILL) in the middle of traffic: our side reports the
// disconnect, gives back every fd and mapping of the connection, and takes up a new VPP on the same
// socket — our slaves by reconnecting on their own, our masters by accepting VPP's slaves. Our
// process killed (SIGKILL) instead: VPP takes up the new process by itself — a VPP master accepts
// it, a VPP slave reconnects to it. Frames are compared byte for byte before and after.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { VPP_WAIT_MS, Vpp, vppSkip } from '../../peers/vpp.js';
import { type DisconnectInfo, Memif } from '../../src/index.js';
import { ChildPeer } from '../helpers/child-peer.js';
import { echoCheck } from '../helpers/interop.js';
import { newFds, type Resources, settle, snapshot } from '../helpers/resources.js';
import { tempDir } from '../helpers/tmp.js';
import { l2Exchange, l2Frame, vppConnected } from '../helpers/vpp-l2.js';

/**
 * Two VPP memif interfaces, memif1/0 on socket file `f1` and memif2/0 on `f2` (the same file is
 * fine), cross-connected at L2 and up.
 */
async function configure(vpp: Vpp, role: 'master' | 'slave', f1: string, f2: string, secondId = 0): Promise<void> {
  await vpp.config(
    `create memif socket id 1 filename ${f1}`,
    `create interface memif socket-id 1 id 0 ${role}`,
    ...(f2 === f1 ? [] : [`create memif socket id 2 filename ${f2}`]),
    `create interface memif socket-id ${f2 === f1 ? 1 : 2} id ${secondId} ${role}`,
  );
  const second = `memif${f2 === f1 ? 1 : 2}/${secondId}`;
  await vpp.config(
    `set interface l2 xconnect memif1/0 ${second}`,
    `set interface l2 xconnect ${second} memif1/0`,
    'set interface state memif1/0 up',
    `set interface state ${second} up`,
  );
}

/** Sends frames a → b until `state.stop`, checking each one b receives against what a sent. */
async function flow(a: Memif, b: Memif, state: { stop: boolean; sent: number; received: number; bad: number }) {
  let seq = 0;
  let last = -1;
  while (!state.stop && a.connected && b.connected) {
    const burst = Array.from({ length: 32 }, (_, i) => l2Frame(200 + ((seq + i) % 64) * 61, 1, 0, seq + i));
    const n = a.txBurst(0, burst);
    seq += n;
    state.sent += n;
    for (const f of b.rxBurst(0)) {
      const s = f.readUInt32BE(16);
      if (s <= last || !f.equals(l2Frame(f.length, 1, 0, s))) state.bad++;
      last = s;
      state.received++;
    }
    await new Promise((r) => setImmediate(r));
  }
}

describe('interop with FD.io VPP: restarts', { skip: vppSkip() }, () => {
  for (const vppRole of ['master', 'slave'] as const) {
    const ours = vppRole === 'master' ? 'slave' : 'master';
    test(`VPP ${vppRole} killed mid-traffic: our ${ours}s clean up and take up a new VPP`, {
      timeout: 90_000,
    }, async () => {
      const tmp = tempDir();
      const sock = tmp.socket('vpp.sock');
      let vpp: Vpp | undefined;
      const ifaces: Memif[] = [];
      const create = async (id: number) => {
        const m = await Memif.create({ role: ours, socketPath: sock, id, reconnectIntervalMs: 100 });
        ifaces.push(m);
        return m;
      };
      let base: Resources | undefined;
      try {
        if (ours === 'master') {
          await create(0);
          await create(1);
          await settle();
          base = snapshot();
        }
        vpp = await Vpp.start();
        await configure(vpp, vppRole, sock, sock, 1);
        if (ours === 'slave') {
          await settle();
          base = snapshot();
          await create(0);
          await create(1);
        }
        const [a, b] = ifaces;
        for (const m of ifaces) await m.waitForConnect({ timeoutMs: VPP_WAIT_MS });
        for (const n of ['memif1/0', 'memif1/1']) await vppConnected(vpp, n);
        const downs = ifaces.map((m) => once(m, 'disconnect', { signal: AbortSignal.timeout(VPP_WAIT_MS) })) as Promise<
          [DisconnectInfo]
        >[];
        const state = { stop: false, sent: 0, received: 0, bad: 0 };
        const running = flow(a, b, state);
        for (let i = 0; i < 4000 && state.received < 2000 && a.connected; i++) {
          await new Promise((r) => setTimeout(r, 5));
        }
        assert.ok(state.received > 0, `traffic flows before the kill (sent ${state.sent}, received ${state.received})`);
        await vpp.kill();
        // A killed VPP master leaves its socket file behind.
        if (vppRole === 'master') assert.ok(existsSync(sock), 'the socket file is still there');
        for (const down of downs) {
          const [info] = await down;
          assert.match(info.reason, /closed|hung up/);
          assert.equal(info.error.errorName, 'MEMIF_ERR_DISCONNECTED');
        }
        state.stop = true;
        await running;
        assert.equal(state.bad, 0, `every frame that arrived before the kill was intact (${state.received})`);
        // Everything of the dead connections is released.
        await settle();
        const now = snapshot();
        assert.ok(base !== undefined);
        assert.deepEqual(newFds(base, now), []);
        assert.equal(now.addonMappings, base.addonMappings);
        assert.deepEqual(now.memfdMaps, base.memfdMaps);
        await vpp.stop();
        // A new VPP on the same socket file (the killed master left it behind: VPP replaces it).
        vpp = await Vpp.start();
        await configure(vpp, vppRole, sock, sock, 1);
        for (const m of ifaces) await m.waitForConnect({ timeoutMs: VPP_WAIT_MS });
        for (const n of ['memif1/0', 'memif1/1']) await vppConnected(vpp, n);
        await l2Exchange(a, b, { sizes: [60, 1500, 2049, 9000] });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${(await vpp?.diagnostics()) ?? ''}`, { cause: err });
      } finally {
        for (const m of ifaces) await m.close();
        await vpp?.stop();
        tmp.remove();
      }
    });

    test(`our ${ours} process killed: VPP ${vppRole} takes up the new one by itself`, { timeout: 90_000 }, async () => {
      const tmp = tempDir();
      const mine = tmp.socket('mine.sock');
      const theirs = tmp.socket('child.sock');
      const spec = {
        options: { role: ours, socketPath: theirs, id: 0, reconnectIntervalMs: 100 },
        script: 'echo',
      } as const;
      let vpp: Vpp | undefined;
      let a: Memif | undefined;
      let child: ChildPeer | undefined;
      const downs: string[] = [];
      try {
        if (ours === 'master') {
          a = await Memif.create({ role: ours, socketPath: mine, id: 0 });
          child = new ChildPeer(spec);
        }
        vpp = await Vpp.start();
        await configure(vpp, vppRole, mine, theirs);
        if (ours === 'slave') {
          a = await Memif.create({ role: ours, socketPath: mine, id: 0, reconnectIntervalMs: 100 });
          child = new ChildPeer(spec);
        }
        assert.ok(a && child);
        a.on('disconnect', (d: DisconnectInfo) => downs.push(d.reason));
        await a.waitForConnect({ timeoutMs: VPP_WAIT_MS });
        await child.waitFor('connect');
        for (const n of ['memif1/0', 'memif2/0']) await vppConnected(vpp, n);
        // a → VPP → the child, which sends each frame back → VPP → a: the same bytes.
        const sizes = [60, 1500, 2049, 9000];
        await echoCheck(a, { sizes, expect: (f) => f });
        await child.kill();
        const deadline = Date.now() + VPP_WAIT_MS;
        while (/flags [^\n]*\bconnected\b/.test(await vpp.cli('show memif memif2/0'))) {
          assert.ok(Date.now() < deadline, 'VPP noticed that our process died');
          await new Promise((r) => setTimeout(r, 50));
        }
        child = new ChildPeer(spec);
        await child.waitFor('connect');
        await vppConnected(vpp, 'memif2/0');
        await echoCheck(a, { sizes, expect: (f) => f });
        assert.deepEqual(downs, [], 'our other interface stayed up');
        assert.ok(vpp.running);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${(await vpp?.diagnostics()) ?? ''}`, { cause: err });
      } finally {
        await child?.stop();
        await a?.close();
        await vpp?.stop();
        tmp.remove();
      }
    });
  }
});
