// Across two processes, in both role combinations: the handshake with and without a secret, a
// wrong secret refused with MEMIF_ERR_SECRET on both ends, and a slave that reconnects by itself
// after its master (another process) closes, or is killed, and comes back on the same socket.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { type DisconnectInfo, Memif, type MemifError } from '../../src/index.js';
import { ChildPeer } from '../helpers/child-peer.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

/** Sends `text` and waits for the child's echo; compares the bytes. */
async function echo(iface: Memif, text: string): Promise<void> {
  const pkt = Buffer.from(text);
  for (let i = 0; i < 2000; i++) {
    if (iface.txBurst(0, [pkt]) === 1) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  for (let i = 0; i < 5000; i++) {
    const got = iface.rxBurst(0);
    if (got.length > 0) {
      assert.deepEqual(got, [pkt]);
      return;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.fail(`no echo of "${text}"`);
}

describe('handshake and reconnect across processes', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const ourRole of ['master', 'slave'] as const) {
    const peerRole = ourRole === 'master' ? 'slave' : 'master';
    for (const secret of [undefined, 'sesame']) {
      test(`we are ${ourRole}, ${secret ? 'with' : 'without'} a secret: connect and echo`, {
        timeout: 30_000,
      }, async () => {
        const socketPath = tmp.socket(`hs-${ourRole}-${secret ?? 'none'}.sock`);
        let child: ChildPeer | undefined;
        const peer = () =>
          new ChildPeer({ options: { role: peerRole, socketPath, secret, reconnectIntervalMs: 50 }, script: 'echo' });
        if (peerRole === 'master') child = peer();
        const iface = await Memif.create({ role: ourRole, socketPath, secret, reconnectIntervalMs: 50 });
        try {
          child ??= peer();
          await iface.waitForConnect();
          await child.waitFor('connect');
          await echo(iface, `hello across processes (${secret ?? 'no secret'})`);
        } finally {
          const code = child?.stop() ?? Promise.resolve(0);
          await iface.close();
          assert.equal(await code, 0);
        }
      });
    }

    test(`we are ${ourRole}: a wrong secret is refused on both ends`, { timeout: 30_000 }, async () => {
      const socketPath = tmp.socket(`bad-${ourRole}.sock`);
      const ours = ourRole === 'master' ? 'right-secret' : 'wrong-secret';
      const theirs = ourRole === 'master' ? 'wrong-secret' : 'right-secret';
      let child: ChildPeer | undefined;
      const peer = () =>
        new ChildPeer({
          options: { role: peerRole, socketPath, secret: theirs, reconnectIntervalMs: 50 },
          script: 'echo',
        });
      if (peerRole === 'master') child = peer();
      const iface = await Memif.create({ role: ourRole, socketPath, secret: ours, reconnectIntervalMs: 50 });
      const errors: MemifError[] = [];
      iface.on('error', (e) => errors.push(e));
      try {
        child ??= peer();
        const refused = await child.waitFor('error');
        assert.equal(refused.errorName, 'MEMIF_ERR_SECRET');
        while (errors.length === 0) await once(iface, 'error');
        assert.equal(errors[0].errorName, 'MEMIF_ERR_SECRET');
        assert.equal(errors[0].code, 29);
        assert.equal(iface.connected, false);
        assert.equal(child.events.filter((e) => e.event === 'connect').length, 0);
      } finally {
        const code = child?.stop() ?? Promise.resolve(0);
        await iface.close();
        assert.equal(await code, 0);
      }
    });
  }

  test('our slave reconnects after its master process closes, and after it is killed', {
    timeout: 60_000,
  }, async () => {
    const socketPath = tmp.socket('comeback.sock');
    const slave = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 50 });
    try {
      for (const ending of ['close', 'SIGKILL', 'close'] as const) {
        const master = new ChildPeer({ options: { role: 'master', socketPath }, script: 'echo' });
        await slave.waitForConnect();
        await echo(slave, `before ${ending}`);
        const down = once(slave, 'disconnect') as Promise<[DisconnectInfo]>;
        if (ending === 'close') assert.equal(await master.stop(), 0);
        else await master.kill(); // leaves a stale socket file for the next master to clear
        const [info] = await down;
        assert.match(info.reason, ending === 'close' ? /interface deleted/ : /closed|hung up/);
        assert.equal(slave.connected, false);
      }
    } finally {
      await slave.close();
    }
  });

  test('a slave process reconnects to our master after we close and come back', { timeout: 60_000 }, async () => {
    const socketPath = tmp.socket('our-comeback.sock');
    let master = await Memif.create({ role: 'master', socketPath });
    const child = new ChildPeer({ options: { role: 'slave', socketPath, reconnectIntervalMs: 50 }, script: 'echo' });
    try {
      for (let round = 0; round < 3; round++) {
        await master.waitForConnect();
        await echo(master, `round ${round}`);
        await master.close();
        await child.waitFor('disconnect', round);
        master = await Memif.create({ role: 'master', socketPath });
      }
    } finally {
      const code = child.stop();
      await master.close();
      assert.equal(await code, 0);
    }
  });
});
