// close() gives back everything: the process's open fds and memfd mappings (read from
// /proc/self/fd and /proc/self/maps) return to what they were before create(), after traffic,
// after reconnects, and when the peer disappears first.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Memif } from '../../src/index.js';
import { newFds, type Resources, settle, snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { runTraffic, streams } from '../helpers/traffic.js';

async function baseline(): Promise<Resources> {
  await settle();
  return snapshot();
}

async function assertBack(before: Resources): Promise<void> {
  await settle();
  const now = snapshot();
  assert.deepEqual(newFds(before, now), [], 'no fd is left open');
  assert.equal(now.fds.size, before.fds.size, 'as many fds as before');
  assert.deepEqual(now.memfdMaps, before.memfdMaps, 'no memfd stays mapped');
  assert.equal(now.addonMappings, before.addonMappings, 'no mapping of the addon stays live');
}

describe('resources', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = tempDir();
    // Warm up once, so that lazily opened fds of Node itself are in every baseline.
    const m = await Memif.create({ role: 'master', socketPath: tmp.socket('warm.sock') });
    const s = await Memif.create({ role: 'slave', socketPath: tmp.socket('warm.sock') });
    await s.waitForConnect();
    await s.close();
    await m.close();
  });
  after(() => tmp.remove());

  test('connect, traffic on 4 queues, close: fds and mappings as before', { timeout: 60_000 }, async () => {
    const before = await baseline();
    const socketPath = tmp.socket('a.sock');
    const common = { socketPath, rxQueues: 4, txQueues: 4 };
    const master = await Memif.create({ role: 'master', ...common });
    const slave = await Memif.create({ role: 'slave', ...common });
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    const during = snapshot();
    // The slave's region is mapped twice (by each side) while connected.
    assert.ok(during.memfdMaps.length >= before.memfdMaps.length + 2);
    assert.ok(during.fds.size > before.fds.size);
    const s = streams(7, 3000);
    const [m, sl] = await Promise.all([
      runTraffic(master, { count: 5000, send: s.master, expect: s.slave, rxMode: 'interrupt' }),
      runTraffic(slave, { count: 5000, send: s.slave, expect: s.master, rxMode: 'interrupt' }),
    ]);
    assert.deepEqual([...m.mismatches, ...sl.mismatches], []);
    await slave.close();
    await master.close();
    await slave.close(); // idempotent
    await assertBack(before);
  });

  test('the master closes first and the slave retries; then the slave closes', { timeout: 60_000 }, async () => {
    const before = await baseline();
    const socketPath = tmp.socket('b.sock');
    const master = await Memif.create({ role: 'master', socketPath });
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 20 });
    await slave.waitForConnect();
    const down = once(slave, 'disconnect');
    await master.close();
    await down;
    // Let it fail a few connection attempts against the missing socket.
    await new Promise((r) => setTimeout(r, 100));
    await slave.close();
    await assertBack(before);
  });

  test('ten reconnect cycles leave nothing behind', { timeout: 60_000 }, async () => {
    const before = await baseline();
    const socketPath = tmp.socket('c.sock');
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 10 });
    for (let i = 0; i < 10; i++) {
      const master = await Memif.create({ role: 'master', socketPath });
      await Promise.all([slave.waitForConnect(), master.waitForConnect()]);
      const down = once(slave, 'disconnect');
      await master.close();
      await down;
    }
    await slave.close();
    await assertBack(before);
  });
});
