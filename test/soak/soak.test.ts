// Soak: connect/disconnect cycles with peers that die at random moments, then a check that open
// fds, memfd mappings, the addon's mapping count and the heap are back at their baseline.
//
// Two lanes run side by side, each cycle being one peer's life:
//   lane A — our long-lived master on socket A, visited one peer at a time by
//     - a raw ScriptedSlave closed at a random handshake step (before INIT, after INIT, with the
//       region or a ring in flight or acked, after CONNECT, connected, connected with packets in
//       flight both ways, or after a compared exchange),
//     - a Memif slave of this process closed during its handshake, right after connecting, after a
//       compared exchange, or while traffic flows both ways,
//     - a few Memif slaves in child processes killed with SIGKILL at random delays (before they
//       connect, just after, or after an echo with packets in flight);
//   lane B — our long-lived slave on socket B (reconnectIntervalMs 5), whose master (a Memif of
//     this process) is closed at a random moment — before the slave calls, mid-handshake, once
//     connected, after a compared exchange, or while traffic flows — and re-created.
// Random choices come from a seeded PRNG (SOAK_SEED to replay; the seed is printed). Every packet
// received anywhere is checked for corruption; exchanges compare bytes with what was sent.
//
// Environment: SOAK_CYCLES (default 1000), SOAK_SEED, SOAK_CHILD_KILLS (default cycles / 50,
// between 2 and 100), SOAK_HEAP_MB (bound on heap growth; default 1 KB per
// cycle, at least 2 MB).
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Memif, type MemifError } from '../../src/index.js';
import { ChildPeer } from '../helpers/child-peer.js';
import { newFds, settle, snapshot } from '../helpers/resources.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { tempDir } from '../helpers/tmp.js';
import {
  exchange,
  handshakeUntil,
  Inbox,
  makePacket,
  offerM2S,
  Pump,
  prng,
  publishS2M,
  type Rng,
  readFirstM2S,
  SCRIPTED_STOPS,
  type ScriptedStop,
  sendOne,
  waitUntil,
} from './soak-kit.js';

function envInt(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer; got ${raw}`);
  return v;
}

const CYCLES = Math.max(2, envInt('SOAK_CYCLES', 1000));
const SEED = envInt('SOAK_SEED', randomInt(0, 2 ** 31 - 1)) >>> 0;
const CHILD_KILLS = Math.min(envInt('SOAK_CHILD_KILLS', Math.min(100, Math.max(2, Math.round(CYCLES / 50)))), CYCLES);
/**
 * Bound on heapUsed growth (after GC) from the baseline to the end: 1 KB per cycle, at least 2 MB
 * (20 MB for 20,000 cycles). A flat 20 MB would let a leak of a few KB per cycle pass the default
 * 1,000-cycle run. SOAK_HEAP_MB overrides it.
 */
const HEAP_BOUND = envInt('SOAK_HEAP_MB', 0) * 1024 * 1024 || Math.max(2 * 1024 * 1024, CYCLES * 1024);
/** Cycles between two quiet points, where resources are sampled (the trend shows a leak early). */
const ROUND = 100;
/** Long enough that no handshake timer cleans up what a hang-up should have. */
const HANDSHAKE_TIMEOUT_MS = 60_000;

type VisitorMode = 'during' | 'after' | 'exchange' | 'traffic';
type ChildVariant = 'early' | 'connected' | 'echo-burst';
type LaneAKind =
  | { type: 'scripted'; stop: ScriptedStop }
  | { type: 'memif'; mode: VisitorMode }
  | { type: 'child'; variant: ChildVariant };
type LaneBMode = 'immediate' | 'ms' | 'handshake' | 'connected' | 'exchange' | 'traffic';

const LANE_A_WEIGHTS: (readonly [LaneAKind, number])[] = [
  ...SCRIPTED_STOPS.map((stop) => [{ type: 'scripted', stop }, 1] as const),
  [{ type: 'memif', mode: 'during' }, 4],
  [{ type: 'memif', mode: 'after' }, 3],
  [{ type: 'memif', mode: 'exchange' }, 3],
  [{ type: 'memif', mode: 'traffic' }, 3],
];
const LANE_B_WEIGHTS: (readonly [LaneBMode, number])[] = [
  ['immediate', 1],
  ['ms', 2],
  ['handshake', 3],
  ['connected', 2],
  ['exchange', 2],
  ['traffic', 2],
];
const CHILD_VARIANTS: ChildVariant[] = ['early', 'connected', 'echo-burst'];

const describeA = (k: LaneAKind) =>
  k.type === 'scripted' ? `scripted:${k.stop}` : k.type === 'memif' ? `memif:${k.mode}` : `child:${k.variant}`;

/** A gc() even without --expose-gc on the command line (npm test runs plain `node --test`). */
function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const MB = 1024 * 1024;
const mb = (n: number) => `${(n / MB).toFixed(2)} MB`;

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

const show = (m: Map<string, number>) =>
  [...m.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

test(`soak: ${CYCLES} connect/disconnect cycles with peers dying at random moments leave no fd, mapping or heap behind`, {
  timeout: Math.max(300_000, CYCLES * 150),
}, async (t) => {
  const say = (line: string) => t.diagnostic(line);
  // Diagnostics show with the result; a long soak also reports its progress as it goes.
  const progress = (line: string) => {
    say(line);
    if (CYCLES > 1000) console.error(`soak: ${line}`);
  };
  say(
    `seed ${SEED} (replay: SOAK_SEED=${SEED}), ${CYCLES} cycles, ${CHILD_KILLS} of them child processes killed with SIGKILL`,
  );
  const gc = gcFunction();
  const heapNow = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await settle();
    }
    return process.memoryUsage();
  };

  const tmp = tempDir('memif-soak-');
  const sockA = tmp.socket('a.sock');
  const sockB = tmp.socket('b.sock');
  const problems: string[] = [];
  const scenarios = new Map<string, number>();
  const errorNames = new Map<string, number>();
  const stats = { masterUp: 0, masterDown: 0, slaveUp: 0, slaveDown: 0, exchanges: 0, pumped: 0 };
  const errorSamples = new Map<string, string>();
  const countErrors = (who: string) => (e: MemifError) => {
    const key = `${who}:${e.errorName}`;
    bump(errorNames, key);
    if (!errorSamples.has(key)) errorSamples.set(key, e.message);
  };
  const check = () => {
    if (problems.length > 0) throw new Error(`packet or queue problems:\n  ${problems.join('\n  ')}`);
  };

  let M: Memif | undefined;
  let S: Memif | undefined;
  try {
    // ---- pre-warm: lazily opened fds of Node itself (child_process signal pipe, …) ----
    {
      const warm = tmp.socket('warm.sock');
      const wm = await Memif.create({ role: 'master', socketPath: warm });
      const ws = await Memif.create({ role: 'slave', socketPath: warm, reconnectIntervalMs: 5 });
      const wmIn = new Inbox(wm, 'warm master', problems);
      const wsIn = new Inbox(ws, 'warm slave', problems);
      await waitUntil(() => wm.connected && ws.connected, 'warm-up link');
      await exchange(wm, wmIn, ws, wsIn, prng(SEED), 'warm-up');
      await ws.close();
      await waitUntil(() => wm.details().state === 'down', 'warm master free');
      const child = new ChildPeer({ options: { role: 'slave', socketPath: warm }, script: 'echo' });
      const closed = once(child.proc, 'close');
      await child.waitFor('connect');
      await child.kill();
      await closed;
      await wm.close();
      wmIn.detach();
      wsIn.detach();
    }
    await settle();
    await sleep(20);
    await settle();
    const empty = snapshot();

    // ---- the long-lived interfaces ----
    const master = await Memif.create({
      role: 'master',
      socketPath: sockA,
      instanceName: 'soak-master-a',
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    });
    M = master;
    const slave = await Memif.create({
      role: 'slave',
      socketPath: sockB,
      instanceName: 'soak-slave-b',
      reconnectIntervalMs: 5,
      log2RingSize: 6,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    });
    S = slave;
    master.on('connect', () => stats.masterUp++);
    master.on('disconnect', () => stats.masterDown++);
    master.on('error', countErrors('masterA'));
    slave.on('connect', () => stats.slaveUp++);
    slave.on('disconnect', () => stats.slaveDown++);
    slave.on('error', countErrors('slaveB'));
    const mIn = new Inbox(master, 'our master (A)', problems);
    const sIn = new Inbox(slave, 'our slave (B)', problems);
    const events = ['connect', 'disconnect', 'error', 'interrupt', 'close'] as const;
    const listeners = (m: Memif) => events.map((e) => `${e}:${m.listenerCount(e)}`).join(' ');

    // ---- lane A: peers visiting our master ----
    const scripted = async (stop: ScriptedStop, rng: Rng) => {
      const s = new ScriptedSlave(sockA);
      try {
        await handshakeUntil(s, stop, rng.int(2, 6));
        if (stop === 'burst') {
          offerM2S(s);
          const n = Math.min(s.s2m?.size ?? 1, rng.int(1, 16));
          publishS2M(
            s,
            Array.from({ length: n }, (_, k) => makePacket(k, rng.int(8, 2048))),
          );
          master.txBurst(
            0,
            Array.from({ length: rng.int(1, 8) }, (_, k) => makePacket(k, rng.int(8, 2048))),
          );
          for (let k = rng.int(0, 2); k > 0; k--) await tick();
        } else if (stop === 'exchange') {
          const up = makePacket(rng.int(0, 0x7fffffff), rng.int(8, 2048));
          mIn.await(up);
          publishS2M(s, [up]);
          await waitUntil(() => mIn.matched, 'scripted packet to reach our master');
          mIn.expect = undefined;
          offerM2S(s);
          const down = makePacket(rng.int(0, 0x7fffffff), rng.int(8, 2048));
          await sendOne(master, down, 'our master -> scripted');
          const got = readFirstM2S(s);
          assert.ok(got?.equals(down), `scripted slave read ${got?.length} bytes, not the ${down.length} sent`);
          stats.exchanges++;
        }
      } finally {
        s.close();
      }
    };

    const visitor = async (mode: VisitorMode, rng: Rng) => {
      const v = await Memif.create({
        role: 'slave',
        socketPath: sockA,
        instanceName: 'soak-visitor',
        reconnectIntervalMs: 5,
        log2RingSize: rng.int(3, 8),
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      });
      v.on('error', countErrors('visitor'));
      const vIn = new Inbox(v, 'visitor slave', problems);
      const pumps: Pump[] = [];
      try {
        if (mode === 'during') {
          if (rng.next() < 0.5) for (let k = rng.int(0, 10); k > 0; k--) await tick();
          else await sleep(rng.int(0, 3));
        } else {
          await waitUntil(() => v.connected && master.connected, 'visitor link up');
          if (mode === 'exchange') {
            await exchange(master, mIn, v, vIn, rng, 'our master <-> visitor');
            stats.exchanges++;
          } else if (mode === 'traffic') {
            pumps.push(new Pump(master, rng, problems, 'pump master A'), new Pump(v, rng, problems, 'pump visitor'));
            await sleep(rng.int(1, 15));
          }
        }
      } finally {
        await v.close(); // while the pumps still run
        for (const p of pumps) {
          await p.stop();
          stats.pumped += p.sent;
        }
        vIn.detach();
      }
    };

    const childVisitor = async (variant: ChildVariant, rng: Rng) => {
      const child = new ChildPeer({
        options: {
          role: 'slave',
          socketPath: sockA,
          instanceName: 'soak-child',
          reconnectIntervalMs: 20,
          log2RingSize: 6,
        },
        script: 'echo',
      });
      const closed = once(child.proc, 'close');
      try {
        if (variant === 'early') {
          await sleep(rng.int(0, 250));
        } else {
          await child.waitFor('connect');
          await waitUntil(() => master.connected, 'our master to see the child');
          if (variant === 'echo-burst') {
            const pkt = makePacket(rng.int(0, 0x7fffffff), rng.int(8, 5000));
            mIn.await(pkt);
            await sendOne(master, pkt, 'our master -> child');
            await waitUntil(() => mIn.matched, 'the child to echo');
            mIn.expect = undefined;
            stats.exchanges++;
            master.txBurst(
              0,
              Array.from({ length: 16 }, (_, k) => makePacket(k, rng.int(8, 3000))),
            );
          } else {
            await sleep(rng.int(0, 5));
          }
        }
      } finally {
        await child.kill();
        await closed;
      }
    };

    const rngA = prng(SEED ^ 0x0a0a0a0a);
    const laneA = async (kind: LaneAKind, label: string) => {
      bump(scenarios, describeA(kind));
      await waitUntil(() => master.details().state === 'down', 'our master to drop the previous peer');
      try {
        if (kind.type === 'scripted') await scripted(kind.stop, rngA);
        else if (kind.type === 'memif') await visitor(kind.mode, rngA);
        else await childVisitor(kind.variant, rngA);
        check();
      } catch (err) {
        throw new Error(`${label} (${describeA(kind)}), seed ${SEED}: ${(err as Error).message}`, { cause: err });
      }
    };

    // ---- lane B: our slave, its master closed at random moments and re-created ----
    const rngB = prng(SEED ^ 0x0b0b0b0b);
    const laneB = async (mode: LaneBMode, label: string) => {
      bump(scenarios, `master-b:${mode}`);
      const rng = rngB;
      try {
        const b = await Memif.create({
          role: 'master',
          socketPath: sockB,
          instanceName: 'soak-master-b',
          handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
        });
        b.on('error', countErrors('masterB'));
        const bIn = new Inbox(b, 'master B', problems);
        const pumps: Pump[] = [];
        try {
          switch (mode) {
            case 'immediate':
              break;
            case 'ms':
              await sleep(rng.int(0, 12));
              break;
            case 'handshake':
              // INIT has bound the slave; close somewhere in ADD_REGION … CONNECT (or just after).
              await waitUntil(() => b.details().state !== 'down', 'our slave to call');
              for (let k = rng.int(0, 6); k > 0; k--) await tick();
              break;
            case 'connected':
              await waitUntil(() => b.connected && slave.connected, 'link B up');
              break;
            case 'exchange':
              await waitUntil(() => b.connected && slave.connected, 'link B up');
              await exchange(b, bIn, slave, sIn, rng, 'master B <-> our slave');
              stats.exchanges++;
              break;
            case 'traffic':
              await waitUntil(() => b.connected && slave.connected, 'link B up');
              pumps.push(new Pump(b, rng, problems, 'pump master B'), new Pump(slave, rng, problems, 'pump slave B'));
              await sleep(rng.int(1, 20));
              break;
          }
        } finally {
          await b.close(); // while the pumps still run
          for (const p of pumps) {
            await p.stop();
            stats.pumped += p.sent;
          }
          bIn.detach();
        }
        await waitUntil(() => !slave.connected, 'our slave to see its master go');
        check();
      } catch (err) {
        throw new Error(`${label} (master-b:${mode}), seed ${SEED}: ${(err as Error).message}`, { cause: err });
      }
    };

    /** No per-cycle peer left: our master idle (listening), our slave between attempts. */
    const quiesce = async () => {
      await waitUntil(() => master.details().state === 'down' && !slave.connected, 'quiet point');
      await settle();
      await sleep(20);
      await settle();
    };

    // ---- warm-up: every scenario once (twice for lane B), not counted ----
    for (const stop of SCRIPTED_STOPS) await laneA({ type: 'scripted', stop }, 'warm-up');
    for (const mode of ['during', 'after', 'exchange', 'traffic'] as const)
      await laneA({ type: 'memif', mode }, 'warm-up');
    await laneA({ type: 'child', variant: 'echo-burst' }, 'warm-up');
    for (const [mode] of [...LANE_B_WEIGHTS, ...LANE_B_WEIGHTS]) await laneB(mode, 'warm-up');
    scenarios.clear();
    await quiesce();
    const base = snapshot();
    const heapBase = await heapNow();
    const listenersBase = [listeners(master), listeners(slave)];
    say(
      `baseline: ${base.fds.size} fds, ${base.memfdMaps.length} memfd maps, ${base.addonMappings} addon mappings, heapUsed ${mb(heapBase.heapUsed)} (rss ${mb(heapBase.rss)}, external ${mb(heapBase.external)})`,
    );

    // ---- the soak ----
    const nA = Math.ceil(CYCLES / 2);
    const nB = CYCLES - nA;
    const isChild = (i: number) => Math.floor(((i + 1) * CHILD_KILLS) / nA) > Math.floor((i * CHILD_KILLS) / nA);
    let doneA = 0;
    let doneB = 0;
    const rounds = Math.ceil(CYCLES / ROUND);
    const every = Math.max(1, Math.ceil(rounds / 20));
    const started = Date.now();
    for (let r = 0; r < rounds; r++) {
      const endA = Math.round((nA * (r + 1)) / rounds);
      const endB = Math.round((nB * (r + 1)) / rounds);
      const results = await Promise.allSettled([
        (async () => {
          for (; doneA < endA; doneA++) {
            const kind: LaneAKind = isChild(doneA)
              ? { type: 'child', variant: CHILD_VARIANTS[Math.floor(rngA.next() * CHILD_VARIANTS.length)] }
              : rngA.weighted(LANE_A_WEIGHTS);
            await laneA(kind, `lane A cycle ${doneA}`);
          }
        })(),
        (async () => {
          for (; doneB < endB; doneB++) await laneB(rngB.weighted(LANE_B_WEIGHTS), `lane B cycle ${doneB}`);
        })(),
      ]);
      for (const res of results) if (res.status === 'rejected') throw res.reason;
      await quiesce();
      if ((r + 1) % every === 0 || r === rounds - 1) {
        const s = snapshot();
        const h = await heapNow();
        const extra = newFds(base, s);
        progress(
          `after ${doneA + doneB} cycles (${((Date.now() - started) / 1000).toFixed(1)} s): ${s.fds.size} fds (${extra.length} new), ${s.memfdMaps.length} memfd maps, ${s.addonMappings} addon mappings, heapUsed ${mb(h.heapUsed)}`,
        );
      }
    }
    const seconds = (Date.now() - started) / 1000;

    // ---- back at the baseline? (our master listening, our slave retrying, no peer) ----
    await quiesce();
    const afterSoak = snapshot();
    const heapAfter = await heapNow();
    const listenersAfter = [listeners(master), listeners(slave)];
    const growth = heapAfter.heapUsed - heapBase.heapUsed;
    say(
      `${doneA + doneB} cycles (lane A ${doneA}, lane B ${doneB}) in ${seconds.toFixed(1)} s; links up: our master ${stats.masterUp}, our slave ${stats.slaveUp}; disconnect events: ${stats.masterDown} / ${stats.slaveDown}; ${stats.exchanges} compared exchanges; ${stats.pumped} packets pumped; packets received: master A ${mIn.received}, slave B ${sIn.received}`,
    );
    say(`scenarios: ${show(scenarios)}`);
    say(`error events: ${show(errorNames) || 'none'}`);
    for (const [key, message] of errorSamples) say(`  e.g. ${key}: ${message}`);
    say(
      `fds ${base.fds.size} -> ${afterSoak.fds.size}; memfd maps ${base.memfdMaps.length} -> ${afterSoak.memfdMaps.length}; addon mappings ${base.addonMappings} -> ${afterSoak.addonMappings}; heapUsed ${mb(heapBase.heapUsed)} -> ${mb(heapAfter.heapUsed)} (${growth >= 0 ? '+' : ''}${mb(growth)}, bound ${mb(HEAP_BOUND)}); rss ${mb(heapBase.rss)} -> ${mb(heapAfter.rss)}; external ${mb(heapBase.external)} -> ${mb(heapAfter.external)}`,
    );
    const leakedFds = newFds(base, afterSoak);
    const goneFds = newFds(afterSoak, base);
    if (leakedFds.length > 0) say(`fds left open: ${leakedFds.slice(0, 40).join(', ')}`);
    if (goneFds.length > 0) say(`fds of the baseline now closed or changed: ${goneFds.slice(0, 40).join(', ')}`);
    const extraMaps = afterSoak.memfdMaps.filter((l) => !base.memfdMaps.includes(l));
    if (extraMaps.length > 0) say(`memfd maps left: ${extraMaps.slice(0, 20).join(' | ')}`);

    // ---- close the long-lived interfaces: back to before they existed ----
    await slave.close();
    await master.close();
    mIn.detach();
    sIn.detach();
    await settle();
    await sleep(20);
    await settle();
    const end = snapshot();
    say(
      `after closing both: fds ${empty.fds.size} -> ${end.fds.size}; memfd maps ${empty.memfdMaps.length} -> ${end.memfdMaps.length}; addon mappings ${empty.addonMappings} -> ${end.addonMappings}`,
    );
    const leakedAtEnd = newFds(empty, end);
    if (leakedAtEnd.length > 0) say(`fds left open after close: ${leakedAtEnd.slice(0, 40).join(', ')}`);

    assert.equal(doneA + doneB, CYCLES, 'every cycle ran');
    assert.ok(stats.masterUp > 0 && stats.slaveUp > 0, 'links came up in both lanes');
    assert.ok(stats.exchanges > 0, 'packets were exchanged and compared');
    assert.deepEqual(leakedFds, [], 'no fd is left open after the soak');
    assert.equal(afterSoak.fds.size, base.fds.size, 'as many fds as at the baseline');
    assert.deepEqual(afterSoak.memfdMaps, base.memfdMaps, 'no memfd stays mapped');
    assert.equal(afterSoak.addonMappings, base.addonMappings, 'no mapping of the addon stays live');
    assert.deepEqual(listenersAfter, listenersBase, 'no event listener piles up on our interfaces');
    assert.ok(
      growth < HEAP_BOUND,
      `heapUsed after GC grew by ${mb(growth)} over ${CYCLES} cycles (bound ${mb(HEAP_BOUND)}); a steady climb in the 'after N cycles' lines is a leak`,
    );
    assert.deepEqual(leakedAtEnd, [], 'no fd is left open once both interfaces are closed');
    assert.deepEqual(end.memfdMaps, empty.memfdMaps, 'no memfd mapped once both interfaces are closed');
    assert.equal(end.addonMappings, empty.addonMappings, 'no addon mapping once both interfaces are closed');
    assert.equal(existsSync(sockA), false, 'socket file A removed');
    assert.equal(existsSync(sockB), false, 'socket file B removed');
  } finally {
    await S?.close();
    await M?.close();
    tmp.remove();
  }
});
