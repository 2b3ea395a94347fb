// Access control: the socket file's mode and owner (set before anyone can connect), the authorize
// callback on the peer's credentials in both roles (sync and async), and a region that could be
// shrunk under us (not sealable) refused unless the user trusts the peer.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ftruncateSync, openSync, readdirSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { MEMIF_VERSION, MsgType } from '../../src/constants.js';
import { Memif, type MemifError } from '../../src/index.js';
import type { PeerCredentials } from '../../src/options.js';
import { computeLayout, ringOffset } from '../../src/shm/layout.js';
import { Region } from '../../src/shm/region.js';
import { Ring } from '../../src/shm/ring.js';
import { type Disconnect, encodeAddRegion, encodeInit } from '../../src/wire/messages.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;

describe('access control', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.remove());

  for (const mode of [0o600, 0o660, 0o777]) {
    test(`socketMode ${mode.toString(8)} is the socket file's mode, and no private folder is left`, async () => {
      const socketPath = tmp.socket(`mode-${mode.toString(8)}.sock`);
      const m = await Memif.create({ role: 'master', socketPath, socketMode: mode });
      try {
        const st = statSync(socketPath);
        assert.ok(st.isSocket());
        assert.equal(st.mode & 0o777, mode);
        assert.deepEqual(
          readdirSync(tmp.dir).filter((f) => f.startsWith('.memif-')),
          [],
        );
        // And it works.
        const s = await Memif.create({ role: 'slave', socketPath });
        await s.waitForConnect();
        await s.close();
      } finally {
        await m.close();
      }
    });
  }

  test('socketOwner sets the socket file owner', { skip: isRoot ? false : 'needs root to chown' }, async () => {
    const socketPath = tmp.socket('owner.sock');
    const m = await Memif.create({
      role: 'master',
      socketPath,
      socketOwner: { uid: 4321, gid: 4322 },
      socketMode: 0o660,
    });
    try {
      const st = statSync(socketPath);
      assert.equal(st.uid, 4321);
      assert.equal(st.gid, 4322);
      assert.equal(st.mode & 0o777, 0o660);
    } finally {
      await m.close();
    }
  });

  test('a master authorize() sees the slave process and can refuse it', { timeout: 20_000 }, async () => {
    const socketPath = tmp.socket('auth-master.sock');
    const seen: PeerCredentials[] = [];
    let allow = false;
    const m = await Memif.create({
      role: 'master',
      socketPath,
      id: 3,
      authorize: (peer) => {
        seen.push(peer);
        return allow;
      },
    });
    const masterErrors: MemifError[] = [];
    m.on('error', (e) => masterErrors.push(e));
    const s = await Memif.create({
      role: 'slave',
      socketPath,
      id: 3,
      instanceName: 'who-am-i',
      reconnectIntervalMs: 20,
    });
    try {
      const [err] = (await once(s, 'error')) as [MemifError];
      assert.equal(err.errorName, 'MEMIF_ERR_ACCES');
      assert.match(err.message, /not authorized/);
      assert.equal(masterErrors[0]?.errorName, 'MEMIF_ERR_ACCES');
      assert.equal(seen[0].pid, process.pid);
      assert.equal(seen[0].uid, process.getuid?.());
      assert.equal(seen[0].gid, process.getgid?.());
      assert.equal(seen[0].id, 3);
      assert.equal(seen[0].name, 'who-am-i');
      assert.equal(m.connected, false);
      allow = true; // the slave retries by itself and now gets in
      await s.waitForConnect();
      assert.equal(m.details().peerCredentials?.pid, process.pid);
    } finally {
      await s.close();
      await m.close();
    }
  });

  test('an async authorize() holds the handshake until it resolves', { timeout: 20_000 }, async () => {
    const socketPath = tmp.socket('auth-async.sock');
    let release: (ok: boolean) => void = () => {};
    const m = await Memif.create({
      role: 'master',
      socketPath,
      authorize: () =>
        new Promise<boolean>((resolve) => {
          release = resolve;
        }),
    });
    const s = await Memif.create({ role: 'slave', socketPath });
    try {
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(s.connected, false, 'nothing goes on while the check is pending');
      release(true);
      await s.waitForConnect();
      assert.equal(s.txBurst(0, [Buffer.from('allowed')]), 1);
    } finally {
      await s.close();
      await m.close();
    }
  });

  test('a slave authorize() can refuse a master (rejecting counts as no)', { timeout: 20_000 }, async () => {
    const socketPath = tmp.socket('auth-slave.sock');
    const m = await Memif.create({ role: 'master', socketPath, instanceName: 'impostor' });
    const s = await Memif.create({
      role: 'slave',
      socketPath,
      reconnectIntervalMs: 20,
      authorize: async (peer) => {
        if (peer.name === 'impostor') throw new Error('not our VPP');
        return true;
      },
    });
    try {
      const [err] = (await once(s, 'error')) as [MemifError];
      assert.equal(err.errorName, 'MEMIF_ERR_ACCES');
      assert.equal(s.connected, false);
      assert.equal(m.connected, false);
    } finally {
      await s.close();
      await m.close();
    }
  });

  for (const trusted of [false, true]) {
    test(`a region that cannot be sealed (a plain file) is ${trusted ? 'accepted when trusted' : 'refused'}`, {
      timeout: 20_000,
    }, async () => {
      const socketPath = tmp.socket(`unsealed-${trusted}.sock`);
      const m = await Memif.create({ role: 'master', socketPath, log2RingSize: 4, allowUnsealedRegions: trusted });
      const bad = new ScriptedSlave(socketPath);
      const file = tmp.socket(`region-${trusted}.bin`);
      const layout = computeLayout({ numS2M: 1, numM2S: 1, log2RingSize: 4, bufferSize: 2048, cacheLineSize: 64 });
      const fd = openSync(file, 'w+');
      ftruncateSync(fd, layout.regionSize);
      const region = Region.adopt(0, fd, layout.regionSize);
      try {
        new Ring(region, ringOffset(layout, 'S2M', 0), 4, 64).init();
        new Ring(region, ringOffset(layout, 'M2S', 0), 4, 64).init();
        await bad.expect(MsgType.HELLO);
        bad.send(encodeInit({ version: MEMIF_VERSION, id: 0, mode: 0, name: 'file-region' }));
        await bad.expect(MsgType.ACK);
        bad.send(encodeAddRegion({ index: 0, size: BigInt(layout.regionSize) }), region.fd);
        const answer = await bad.next();
        if (trusted) {
          assert.equal(answer?.type, MsgType.ACK);
        } else {
          assert.equal(answer?.type, MsgType.DISCONNECT);
          assert.match((answer as Disconnect).reason, /cannot be sealed/);
        }
      } finally {
        bad.close();
        region.close();
        await m.close();
      }
    });
  }
});
