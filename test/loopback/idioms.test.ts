// Node idioms on a real pair in one process: receive() ends when its AbortSignal aborts (waiting or
// between bursts), `await using` closes an interface and gives back every fd and mapping, and
// events.on(memif, 'interrupt') iterates interrupts.
import assert from 'node:assert/strict';
import { on } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, Memif } from '../../src/index.js';
import { newFds, settle, snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const packets = [Buffer.from('one'), Buffer.alloc(5000, 0x5a), Buffer.from('three')];

describe('Node idioms', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  test('receive({ signal }): abort while waiting ends the loop; abort between bursts too', {
    timeout: 60_000,
  }, async () => {
    const master = await Memif.create({ role: 'master', socketPath: tmp.socket('abort.sock') });
    const slave = await Memif.create({ role: 'slave', socketPath: tmp.socket('abort.sock') });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      assert.throws(() => master.receive(0, { signal: 'soon' as never }), InvalidArgumentError);
      const ac = new AbortController();
      const got: Buffer[] = [];
      const loop = (async () => {
        for await (const burst of master.receive(0, { signal: ac.signal })) {
          got.push(...burst);
          if (got.length === packets.length) ac.abort(); // ends after this burst
        }
        return 'ended';
      })();
      assert.equal(slave.txBurst(0, packets), packets.length);
      assert.equal(await loop, 'ended');
      assert.deepEqual(got, packets);

      // Nothing arrives: the loop is waiting when the signal aborts.
      const idle = new AbortController();
      const waiting = (async () => {
        let bursts = 0;
        for await (const _ of master.receive(0, { signal: idle.signal })) bursts++;
        return bursts;
      })();
      await new Promise((resolve) => setImmediate(resolve));
      idle.abort();
      assert.equal(await waiting, 0);
      // An aborted signal: no iteration at all, and the packets stay for the next reader.
      slave.txBurst(0, [Buffer.from('stays')]);
      for await (const _ of master.receive(0, { signal: AbortSignal.abort() })) assert.fail('no burst');
      const next = master.receive(0);
      assert.deepEqual((await next.next()).value, [Buffer.from('stays')]);
      await next.return();
    } finally {
      await slave.close();
      await master.close();
    }
  });

  test('await using closes both ends when the block is left; fds and mappings as before', {
    timeout: 60_000,
  }, async () => {
    // Warm-up: Node's own lazily opened fds are in the baseline.
    {
      await using m = await Memif.create({ role: 'master', socketPath: tmp.socket('warm.sock') });
      await using s = await Memif.create({ role: 'slave', socketPath: tmp.socket('warm.sock') });
      await s.waitForConnect();
      assert.ok(m.connected);
    }
    await settle();
    const before = snapshot();
    let kept: Memif[] = [];
    await assert.rejects(async () => {
      await using m = await Memif.create({ role: 'master', socketPath: tmp.socket('using.sock') });
      await using s = await Memif.create({ role: 'slave', socketPath: tmp.socket('using.sock') });
      kept = [m, s];
      await Promise.all([m.waitForConnect(), s.waitForConnect()]);
      assert.equal(s.txBurst(0, packets), packets.length);
      const got: Buffer[] = [];
      for await (const burst of m.receive(0)) {
        got.push(...burst);
        if (got.length === packets.length) break;
      }
      assert.deepEqual(got, packets);
      throw new Error('leaving the block by a throw');
    }, /leaving the block/);
    assert.ok(kept.length === 2 && kept.every((x) => x.closed), 'both closed');
    await settle();
    const now = snapshot();
    assert.deepEqual(newFds(before, now), [], 'no fd is left open');
    assert.deepEqual(now.memfdMaps, before.memfdMaps, 'no memfd stays mapped');
    assert.equal(now.addonMappings, before.addonMappings);
  });

  test("events.on(memif, 'interrupt') iterates the interrupts of the rx queues", { timeout: 60_000 }, async () => {
    await using master = await Memif.create({ role: 'master', socketPath: tmp.socket('on.sock') });
    await using slave = await Memif.create({ role: 'slave', socketPath: tmp.socket('on.sock') });
    await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
    const ac = new AbortController();
    const got: Buffer[] = [];
    slave.txBurst(0, packets);
    await assert.rejects(
      async () => {
        for await (const [queueId] of on(master, 'interrupt', { signal: ac.signal })) {
          got.push(...master.rxBurst(queueId as number));
          if (got.length === packets.length) ac.abort();
        }
      },
      { name: 'AbortError' },
    );
    assert.deepEqual(got, packets);
  });
});
