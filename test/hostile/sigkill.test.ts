// Death by SIGKILL in the middle of a burst: a memif-ts peer in a child process, running traffic,
// is killed while packets flow, in both roles. Our side reports a disconnect, checks every byte it
// got before, releases every fd and mapping, keeps running (its event loop kept turning, a bystander
// pair kept passing traffic), and then serves a new peer.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Memif } from '../../src/index.js';
import { ChildPeer } from '../helpers/child-peer.js';
import {
  assertQuietLog,
  assertReleased,
  Bystander,
  countingLogger,
  exchange,
  Reports,
  watchEachTest,
} from '../helpers/hostile.js';
import { type Resources, snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { type StreamSpec, streamPacket, streams } from '../helpers/traffic.js';

const T = { timeout: 30_000 };
const MAX_SIZE = 1500;
/** Packets received before the kill. */
const KILL_AFTER = 3000;

/**
 * Sends our stream and checks the peer's, packet by packet, until the link drops; kills the child
 * once `KILL_AFTER` packets came. Returns how many came and the indices of any that differed.
 */
async function pumpUntilDown(
  iface: Memif,
  child: ChildPeer,
  send: StreamSpec,
  expect: StreamSpec,
): Promise<{ received: number; sent: number; bad: number[] }> {
  let received = 0;
  let sent = 0;
  const bad: number[] = [];
  let killed = false;
  while (iface.connected) {
    for (const p of iface.rxBurst(0, 64)) {
      if (!p.equals(streamPacket(expect, received))) bad.push(received);
      received++;
    }
    const batch: Buffer[] = [];
    for (let i = 0; i < 32; i++) batch.push(streamPacket(send, sent + i));
    sent += iface.txBurst(0, batch);
    if (!killed && received >= KILL_AFTER) {
      killed = true;
      child.proc.kill('SIGKILL');
    }
    await tick();
  }
  return { received, sent, bad };
}

const logger = countingLogger();

/** What must hold once the killed peer is gone: intact packets before, one typed disconnect, nothing left, a quiet log. */
async function afterKill(
  r: { received: number; bad: number[] },
  reports: Reports,
  childClosed: Promise<unknown>,
  child: ChildPeer,
  before: Resources,
  mark: number,
  label: string,
): Promise<void> {
  assert.ok(r.received >= KILL_AFTER, `${r.received} received`);
  assert.deepEqual(r.bad, [], 'every packet before the kill arrived intact');
  const o = await reports.first();
  assert.equal(o.kind, 'disconnect');
  assert.equal(o.error.errorName, 'MEMIF_ERR_DISCONNECTED');
  await childClosed;
  assert.equal(child.proc.signalCode, 'SIGKILL');
  await assertReleased(before, label);
  assertQuietLog(logger, mark, 3, label);
}

describe('a peer killed by SIGKILL in the middle of a burst', () => {
  let tmp: TempDir;
  let bystander: Bystander;
  before(async () => {
    tmp = tempDir('memif-hostile-k-');
    bystander = await Bystander.start(tmp.socket('bystander.sock'), logger);
  });
  after(async () => {
    await bystander.close();
    tmp.remove();
  });
  // Through each attack: the loop kept turning and the bystander pair is untouched.
  watchEachTest(() => bystander);

  test('our master, the slave killed', T, async () => {
    const socketPath = tmp.socket('master.sock');
    const master = await Memif.create({ role: 'master', socketPath, id: 0, logger, rxMode: 'polling' });
    try {
      const reports = new Reports(master);
      const before = snapshot();
      const mark = logger.loud();
      const child = new ChildPeer({
        options: { role: 'slave', socketPath, id: 0 },
        script: 'traffic',
        count: 100_000_000,
        maxSize: MAX_SIZE,
        seed: 7,
      });
      const childClosed = once(child.proc, 'close');
      await master.waitForConnect();
      const s = streams(7, MAX_SIZE);
      const r = await pumpUntilDown(master, child, s.master, s.slave);
      await afterKill(r, reports, childClosed, child, before, mark, 'slave killed');
      // Still serving: a new slave connects and traffic passes.
      const slave = await Memif.create({ role: 'slave', socketPath, id: 0, logger, rxMode: 'polling' });
      try {
        await Promise.all([slave.waitForConnect(), master.waitForConnect()]);
        await exchange(master, slave, 'after a SIGKILL');
      } finally {
        await slave.close();
      }
    } finally {
      await master.close();
    }
  });

  test('our slave, the master killed', T, async () => {
    const socketPath = tmp.socket('slave.sock');
    const before = snapshot();
    const mark = logger.loud();
    const child = new ChildPeer({
      options: { role: 'master', socketPath, id: 0 },
      script: 'traffic',
      count: 100_000_000,
      maxSize: MAX_SIZE,
      seed: 9,
    });
    const childClosed = once(child.proc, 'close');
    const slave = await Memif.create({
      role: 'slave',
      socketPath,
      id: 0,
      logger,
      rxMode: 'polling',
      reconnectIntervalMs: 50,
    });
    try {
      const reports = new Reports(slave);
      await slave.waitForConnect();
      const s = streams(9, MAX_SIZE);
      const r = await pumpUntilDown(slave, child, s.slave, s.master);
      // The slave keeps retrying (the dead master's socket file is left behind) and holds nothing.
      await afterKill(r, reports, childClosed, child, before, mark, 'master killed');
      // A new master on the same path: the slave comes back by itself.
      const master = await Memif.create({ role: 'master', socketPath, id: 0, logger, rxMode: 'polling' });
      try {
        await Promise.all([slave.waitForConnect(), master.waitForConnect()]);
        await exchange(master, slave, 'after the master was killed');
      } finally {
        await master.close();
      }
    } finally {
      await slave.close();
    }
  });
});
