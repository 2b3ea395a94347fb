// Secrets against DPDK testpmd, in both roles: a matching secret connects and passes frames; a
// wrong one is refused with MEMIF_ERR_SECRET on our side, and the process goes on working (a
// loopback pair in the same process passes traffic, and our master accepts a right client after).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { PEER_WAIT_MS, TESTPMD_MISSING, Testpmd, testpmdAvailable } from '../../peers/testpmd.js';
import { Memif, type MemifError } from '../../src/index.js';
import { echoCheck, macswapped } from '../helpers/interop.js';
import { tempDir } from '../helpers/tmp.js';

async function firstError(iface: Memif): Promise<MemifError> {
  const [err] = (await once(iface, 'error', { signal: AbortSignal.timeout(PEER_WAIT_MS) })) as [MemifError];
  return err;
}

/** A master and a slave of this process on another socket still exchange a frame. */
async function loopbackStillWorks(socketPath: string): Promise<void> {
  const m = await Memif.create({ role: 'master', socketPath });
  const s = await Memif.create({ role: 'slave', socketPath });
  try {
    await s.waitForConnect({ timeoutMs: PEER_WAIT_MS });
    await m.waitForConnect({ timeoutMs: PEER_WAIT_MS });
    const f = Buffer.from('the process keeps running');
    assert.equal(s.txBurst(0, [f]), 1);
    let got: Buffer[] = [];
    for (let i = 0; i < 1000 && got.length === 0; i++) {
      got = m.rxBurst(0);
      if (got.length === 0) await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(got, [f]);
  } finally {
    await s.close();
    await m.close();
  }
}

describe('interop with DPDK net_memif: secrets', { skip: testpmdAvailable() ? false : TESTPMD_MISSING }, () => {
  test('our slave and a testpmd server with the same secret', { timeout: 60_000 }, async () => {
    const tmp = tempDir();
    const pmd = await Testpmd.start({ role: 'server', socket: tmp.socket(), secret: 'open-sesame' });
    const s = await Memif.create({
      role: 'slave',
      socketPath: tmp.socket(),
      secret: 'open-sesame',
      reconnectIntervalMs: 100,
    });
    try {
      await s.waitForConnect({ timeoutMs: PEER_WAIT_MS });
      await echoCheck(s, { sizes: [60, 1500, 5000], expect: macswapped });
    } finally {
      await pmd.stop();
      await s.close();
      tmp.remove();
    }
  });

  test('our master and a testpmd client with the same secret', { timeout: 60_000 }, async () => {
    const tmp = tempDir();
    const m = await Memif.create({ role: 'master', socketPath: tmp.socket(), secret: 'open-sesame' });
    const pmd = await Testpmd.start({ role: 'client', socket: tmp.socket(), secret: 'open-sesame' });
    try {
      await m.waitForConnect({ timeoutMs: PEER_WAIT_MS });
      await echoCheck(m, { sizes: [60, 1500, 5000], expect: macswapped });
    } finally {
      await pmd.stop();
      await m.close();
      tmp.remove();
    }
  });

  test('our slave with a wrong secret is refused by a testpmd server', { timeout: 60_000 }, async () => {
    const tmp = tempDir();
    const pmd = await Testpmd.start({ role: 'server', socket: tmp.socket(), secret: 'right' });
    const s = await Memif.create({
      role: 'slave',
      socketPath: tmp.socket(),
      secret: 'wrong',
      reconnectIntervalMs: 100,
    });
    try {
      const err = await firstError(s);
      assert.equal(err.errorName, 'MEMIF_ERR_SECRET');
      assert.equal(err.code, 29);
      assert.match(err.message, /incorrect secret/i);
      assert.equal(s.connected, false);
      assert.ok(pmd.running, 'testpmd is unharmed');
      await loopbackStillWorks(tmp.socket('loop.sock'));
    } finally {
      await s.close();
      await pmd.stop();
      tmp.remove();
    }
  });

  test('our master refuses a testpmd client with a wrong secret, then accepts a right one', {
    timeout: 60_000,
  }, async () => {
    const tmp = tempDir();
    const m = await Memif.create({ role: 'master', socketPath: tmp.socket(), secret: 'right' });
    const refused = firstError(m);
    const bad = await Testpmd.start({ role: 'client', socket: tmp.socket(), secret: 'wrong' });
    let good: Testpmd | undefined;
    try {
      const err = await refused;
      assert.equal(err.errorName, 'MEMIF_ERR_SECRET');
      assert.equal(m.connected, false);
      await loopbackStillWorks(tmp.socket('loop.sock'));
      good = await Testpmd.start({ role: 'client', socket: tmp.socket(), secret: 'right' });
      await m.waitForConnect({ timeoutMs: PEER_WAIT_MS });
      await echoCheck(m, { sizes: [60, 3000], expect: macswapped });
    } finally {
      await good?.stop();
      await bad.stop();
      await m.close();
      tmp.remove();
    }
  });
});
