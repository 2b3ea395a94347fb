// The stage for attacks on our master: one socket with a bystander pair (master id 1 + slave id 1)
// and, per attack, a fresh victim master (its own id) and any number of hostile ScriptedSlaves.
// After each attack it checks what every attack must leave intact: no fd or mapping of the bad
// connections left, few log lines, the event loop kept turning, and the bystander still passing
// traffic.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MsgType } from '../../src/constants.js';
import { Memif, MemifError, type MemifOptions } from '../../src/index.js';
import type { Disconnect } from '../../src/wire/messages.js';
import {
  assertQuietLog,
  assertReleased,
  Bystander,
  type CountingLogger,
  countingLogger,
  drainOnInterrupt,
  Reports,
  until,
} from './hostile.js';
import { LoopWatch } from './liveness.js';
import { newFds, settle, snapshot } from './resources.js';
import { ScriptedSlave } from './scripted-slave.js';
import { type TempDir, tempDir } from './tmp.js';

/** What an attack body gets. */
export interface Attack {
  victim: Memif;
  id: number;
  reports: Reports;
  /** Packets the victim read on its interrupts. */
  received: Buffer[];
  logger: CountingLogger;
  /** logger.loud() when the attack began. */
  mark: number;
  socketPath: string;
  /** A new hostile slave connected to the socket (closed after the attack). */
  slave(): ScriptedSlave;
}

export interface AttackOptions {
  victim?: Partial<MemifOptions>;
  /** Loud log lines allowed per hostile connection (default 3). */
  logPerConnection?: number;
  /** Extra hostile connections made outside attack.slave() (for the log budget). */
  extraConnections?: number;
  /** Loud log lines allowed for the whole attack (instead of per connection). */
  maxLog?: number;
  /** false: no 'error' / 'disconnect' listener on the victim, so its failures go to the logger. */
  listen?: boolean;
}

export class MasterArena {
  readonly tmp: TempDir;
  readonly socketPath: string;
  readonly logger = countingLogger();
  bystander: Bystander | undefined;
  #nextId = 100;
  /** Victims and hostile slaves of attacks still running (closed by stop() if a test timed out). */
  readonly #live = new Set<{ close(): unknown }>();

  constructor() {
    this.tmp = tempDir('memif-hostile-');
    this.socketPath = this.tmp.socket();
  }

  /** Opens the socket with the bystander's master (its options apply to the listener). */
  async start(bystanderMaster: Partial<MemifOptions> = {}): Promise<this> {
    this.bystander = await Bystander.start(this.socketPath, this.logger, bystanderMaster);
    return this;
  }

  async stop(): Promise<void> {
    for (const x of this.#live) await x.close();
    await this.bystander?.close();
    this.tmp.remove();
  }

  /** Runs one attack on a fresh victim and checks the aftermath. */
  async attack(label: string, opts: AttackOptions, body: (a: Attack) => Promise<void>): Promise<void> {
    const id = this.#nextId++;
    const victim = await Memif.create({
      role: 'master',
      socketPath: this.socketPath,
      id,
      logger: this.logger,
      log2RingSize: 4,
      ...opts.victim,
    });
    this.#live.add(victim);
    const reports = new Reports(opts.listen === false ? undefined : victim);
    const received = drainOnInterrupt(victim);
    const slaves: ScriptedSlave[] = [];
    const before = snapshot();
    const mark = this.logger.loud();
    const loop = new LoopWatch();
    try {
      await body({
        victim,
        id,
        reports,
        received,
        logger: this.logger,
        mark,
        socketPath: this.socketPath,
        slave: () => {
          const s = new ScriptedSlave(this.socketPath);
          slaves.push(s);
          this.#live.add(s);
          return s;
        },
      });
      for (const s of slaves) s.close();
      // The victim hears the hang-ups on its next poll (a few loop turns at most).
      await until(() => victim.details().state === 'down');
      for (let i = 0; i < 100 && newFds(before, snapshot()).length > 0; i++) {
        await settle();
        await sleep(1);
      }
      await loop.assertAlive(label);
      await assertReleased(before, label);
      assertQuietLog(
        this.logger,
        mark,
        opts.maxLog ?? (opts.logPerConnection ?? 3) * Math.max(1, slaves.length + (opts.extraConnections ?? 0)),
        label,
      );
      await this.bystander?.check(label);
    } finally {
      loop.stop();
      for (const s of slaves) {
        s.close();
        this.#live.delete(s);
      }
      await victim.close();
      this.#live.delete(victim);
      // Let the listener see every hang-up now, not during the next attack (after a failure).
      await settle();
    }
  }
}

/**
 * The victim reported `errorName` (one of them, when given a list) as an 'error' event, and the
 * peer got a DISCONNECT saying why.
 */
export async function refused(
  a: Attack,
  s: ScriptedSlave,
  errorName: string | string[],
  reason: RegExp,
): Promise<void> {
  const o = await a.reports.first();
  assert.ok(o.error instanceof MemifError, 'a typed MemifError');
  assert.equal(o.kind, 'error');
  if (Array.isArray(errorName))
    assert.ok(errorName.includes(o.error.errorName), `${o.error.errorName} in ${errorName}`);
  else assert.equal(o.error.errorName, errorName);
  assert.match(o.reason, reason);
  await toldAndDropped(s, reason);
  assert.equal(a.reports.all.length, 1, `one report, got ${a.reports.all.map((r) => r.reason).join('; ')}`);
}

/**
 * A connection refused before INIT bound it to an interface: no interface is concerned, so the
 * peer's DISCONNECT tells (and the listener's log line, unless its rate limit held it back).
 */
export async function refusedUnbound(a: Attack, s: ScriptedSlave, reason: RegExp): Promise<void> {
  await toldAndDropped(s, reason);
  const lines = a.logger.lines.filter((l) => l.message === 'memif: connection refused before binding');
  const mine = lines.filter((l) => reason.test(String(l.fields?.reason)));
  assert.ok(mine.length <= 1, `at most one log line for one refusal: ${JSON.stringify(mine)}`);
  for (const l of mine) assert.equal(l.level, 'info');
  assert.deepEqual(a.reports.all, [], 'no interface was blamed');
}

/** The peer got DISCONNECT with a reason matching `reason`, then the connection closed. */
export async function toldAndDropped(s: ScriptedSlave, reason: RegExp): Promise<void> {
  const msg = (await s.next()) as Disconnect | undefined;
  assert.equal(msg?.type, 8, 'DISCONNECT');
  assert.match(msg?.reason ?? '', reason);
  assert.equal(await s.next(), undefined, 'then the master hangs up');
  assert.deepEqual(s.garbage, []);
}

/** HELLO read, INIT sent for the victim and ACKed (the slave's region and rings are prepared). */
export async function bound(a: Attack, s: ScriptedSlave): Promise<void> {
  await s.expect(MsgType.HELLO);
  s.prepare();
  s.send(s.initMessage({ id: a.id }));
  await s.expect(MsgType.ACK);
}

/** Bound, and region 0 sent and ACKed. */
export async function withRegion(a: Attack, s: ScriptedSlave): Promise<void> {
  await bound(a, s);
  s.send(s.regionMessage(), s.region?.fd);
  await s.expect(MsgType.ACK);
}

/** With region 0 and both rings ACKed: only CONNECT is missing. */
export async function withRings(a: Attack, s: ScriptedSlave): Promise<void> {
  await withRegion(a, s);
  for (const type of ['S2M', 'M2S'] as const) {
    s.send(s.ringMessage(type), s.newEventfd());
    await s.expect(MsgType.ACK);
  }
}
