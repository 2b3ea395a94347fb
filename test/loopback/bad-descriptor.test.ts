// A slave that writes descriptors pointing outside the shared memory, or moves head too far:
// the master drops that connection with a reason (DISCONNECT to the peer, 'disconnect' event
// with MEMIF_ERR_MFMSG), reads nothing outside a mapping, and another interface on the same
// socket keeps passing traffic throughout; the event loop kept turning, and every fd and mapping
// of the bad connection is released.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { MsgType } from '../../src/constants.js';
import { type DisconnectInfo, Memif } from '../../src/index.js';
import type { Disconnect } from '../../src/wire/messages.js';
import { assertReleased } from '../helpers/hostile.js';
import { LoopWatch } from '../helpers/liveness.js';
import { type Resources, snapshot } from '../helpers/resources.js';
import { ScriptedSlave } from '../helpers/scripted-slave.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

async function roundTrip(master: Memif, slave: Memif, text: string): Promise<void> {
  const pkt = Buffer.from(text);
  assert.equal(slave.txBurst(0, [pkt]), 1);
  for (let i = 0; i < 1000; i++) {
    const got = master.rxBurst(0);
    if (got.length) {
      assert.deepEqual(got, [pkt]);
      return;
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.fail('packet did not arrive');
}

describe('descriptors from a bad slave', () => {
  let tmp: TempDir;
  let socketPath: string;
  let victim: Memif;
  let bystander: Memif;
  let goodSlave: Memif;
  before(async () => {
    tmp = tempDir();
    socketPath = tmp.socket();
    victim = await Memif.create({ role: 'master', socketPath, id: 0, log2RingSize: 4 });
    bystander = await Memif.create({ role: 'master', socketPath, id: 1 });
    goodSlave = await Memif.create({ role: 'slave', socketPath, id: 1 });
    await goodSlave.waitForConnect();
    victim.on('interrupt', (q) => victim.rxBurst(q));
  });
  after(async () => {
    await goodSlave.close();
    await bystander.close();
    await victim.close();
    tmp.remove();
  });
  let watch: LoopWatch;
  let baseline: Resources;
  beforeEach(() => {
    watch = new LoopWatch();
    baseline = snapshot();
  });
  afterEach(async (t) => {
    try {
      await watch.assertAlive(t.name);
    } finally {
      watch.stop();
    }
    await assertReleased(baseline, t.name);
  });

  const cases: [string, (s: ScriptedSlave) => void, RegExp][] = [
    [
      'offset + length past the end of the region',
      (s) => s.publishS2M(0, { offset: (s.layout?.regionSize ?? 0) - 10, length: 100 }, 1),
      /outside the shared memory/,
    ],
    ['a region index that does not exist', (s) => s.publishS2M(0, { region: 7, offset: 0, length: 64 }, 1), /region 7/],
    ['length 0xFFFFFFFF', (s) => s.publishS2M(0, { offset: 0, length: 0xffffffff }, 1), /outside the shared memory/],
    [
      'head moved by more than the ring size',
      (s) => s.publishS2M(0, { offset: 0, length: 64 }, 17),
      /moved more than 16/,
    ],
    [
      'a chain whose NEXT never ends (ring full)',
      (s) => {
        for (let k = 0; k < 16; k++)
          s.publishS2M(k, { flags: 1, offset: s.layout?.buffersOffset ?? 0, length: 8 }, k + 1);
      },
      /longer than the whole ring/,
    ],
  ];

  for (const [name, misbehave, reason] of cases) {
    test(name, { timeout: 20_000 }, async () => {
      const bad = new ScriptedSlave(socketPath);
      try {
        await bad.handshake({ id: 0, log2RingSize: 4 });
        await victim.waitForConnect();
        const down = once(victim, 'disconnect') as Promise<[DisconnectInfo]>;
        misbehave(bad);
        const [info] = await down;
        assert.equal(info.error.errorName, 'MEMIF_ERR_MFMSG');
        assert.match(info.reason, reason);
        // The peer was told why.
        const msg = (await bad.next()) as Disconnect | undefined;
        assert.equal(msg?.type, MsgType.DISCONNECT);
        assert.match(msg?.reason ?? '', reason);
        assert.equal(victim.connected, false);
        // The other interface on the socket still works.
        await roundTrip(bystander, goodSlave, `still here after: ${name}`);
      } finally {
        bad.close();
      }
    });
  }

  // A slave with 65,535-byte buffers has a region large enough for descriptors that are inside it
  // and still lies: longer than any memif buffer, or a chain of them larger than a burst may hold.
  // Both used to reach the copy API's allocation (a throw that left the ring wedged, or gigabytes).
  const big: [string, (s: ScriptedSlave) => void, RegExp][] = [
    [
      'a length inside the region but longer than any memif buffer',
      (s) => s.publishS2M(0, { offset: s.layout?.buffersOffset ?? 0, length: 0x7ff00 }, 1),
      /longer than any memif buffer \(65535\)/,
    ],
    [
      'a chain of 65,535-byte buffers larger than a burst may hold (16 MiB)',
      (s) => {
        const at = s.layout?.buffersOffset ?? 0;
        for (let k = 0; k < 300; k++)
          s.publishS2M(k, { flags: k < 299 ? 1 : 0, offset: at + k * 65535, length: 65535 }, 0);
        s.publishS2M(299, { offset: at + 299 * 65535, length: 65535 }, 300);
      },
      /a packet of 19660500 bytes, more than 16777216 accepted/,
    ],
  ];
  for (const [i, [name, misbehave, reason]] of big.entries()) {
    test(name, { timeout: 20_000 }, async () => {
      const path = tmp.socket(`big-${i}.sock`);
      const master = await Memif.create({ role: 'master', socketPath: path, log2RingSize: 9 });
      master.on('interrupt', (q) => master.rxBurst(q));
      const bad = new ScriptedSlave(path);
      try {
        await bad.handshake({ log2RingSize: 9, bufferSize: 65535 });
        await master.waitForConnect();
        const down = once(master, 'disconnect') as Promise<[DisconnectInfo]>;
        misbehave(bad);
        const [info] = await down;
        assert.equal(info.error.errorName, 'MEMIF_ERR_MFMSG');
        assert.match(info.reason, reason);
        assert.equal(master.details().faults, 1);
        assert.equal(master.connected, false);
        await roundTrip(bystander, goodSlave, `still here after: ${name}`);
      } finally {
        bad.close();
        await master.close();
      }
    });
  }

  test('the victim accepts a good slave again afterwards', { timeout: 20_000 }, async () => {
    const slave = await Memif.create({ role: 'slave', socketPath, id: 0, log2RingSize: 4 });
    try {
      await slave.waitForConnect();
      await victim.waitForConnect();
      victim.removeAllListeners('interrupt');
      await roundTrip(victim, slave, 'victim recovered');
    } finally {
      await slave.close();
    }
  });
});
