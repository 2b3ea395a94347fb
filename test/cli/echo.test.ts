// memif echo as a real process, with a memif-ts peer in this process that sends frames (64 bytes
// to chains over three buffers, on two queues) and compares the bytes that come back: unchanged,
// or with the MACs swapped under --macswap; in both roles. Then gen → echo: the echo's summary
// counts what gen sent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Memif } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli, startCli } from './cli.js';

const tmp = tempDir('memif-cli-echo-');
after(() => tmp.remove());

const SIZES = [64, 60, 1500, 2048, 2049, 5000, 9000];

function swapMacs(f: Buffer): Buffer {
  const out = Buffer.from(f);
  f.copy(out, 0, 6, 12);
  f.copy(out, 6, 0, 6);
  return out;
}

/** Sends `frames` on `queue` and collects as many back. */
async function roundTrip(m: Memif, queue: number, frames: Buffer[]): Promise<Buffer[]> {
  let sent = 0;
  const got: Buffer[] = [];
  const until = Date.now() + 20_000;
  while (got.length < frames.length) {
    if (Date.now() > until) assert.fail(`only ${got.length} of ${frames.length} frames came back on queue ${queue}`);
    if (sent < frames.length) sent += m.txBurst(queue, frames.slice(sent));
    got.push(...m.rxBurst(queue));
    await new Promise((r) => setTimeout(r, 1));
  }
  return got;
}

describe('memif echo', () => {
  for (const echoRole of ['slave', 'master'] as const) {
    for (const macswap of [false, true]) {
      test(`echo ${echoRole}${macswap ? ' --macswap' : ''}: every frame back on its queue, bytes compared`, {
        timeout: 60_000,
      }, async () => {
        const socketPath = tmp.socket(`echo-${echoRole}-${macswap}.sock`);
        const peerRole = echoRole === 'slave' ? 'master' : 'slave';
        let peer: Memif | undefined;
        if (peerRole === 'master') peer = await Memif.create({ role: 'master', socketPath, rxQueues: 2, txQueues: 2 });
        const args = ['echo', '--role', echoRole, '--socket', socketPath, '--queues', '2', '--rx-mode', 'polling'];
        const echo = startCli(macswap ? [...args, '--macswap'] : args);
        try {
          peer ??= await Memif.create({
            role: 'slave',
            socketPath,
            rxQueues: 2,
            txQueues: 2,
            reconnectIntervalMs: 100,
          });
          await peer.waitForConnect({ timeoutMs: 20_000 });
          for (const queue of [0, 1]) {
            const frames = SIZES.map((n) => randomBytes(n));
            const back = await roundTrip(peer, queue, frames);
            const want = macswap ? frames.map(swapMacs) : frames;
            assert.deepEqual(back, want, `queue ${queue}`);
          }
        } finally {
          await peer?.close();
        }
        const exit = await echo.stop();
        assert.equal(exit.code, 0, exit.stderr);
        const n = SIZES.length * 2;
        const bytes = SIZES.reduce((a, b) => a + b, 0) * 2;
        assert.match(
          exit.stdout,
          new RegExp(
            `^echo: ${n} frames received \\(${bytes} bytes\\), ${n} sent back \\(${bytes} bytes\\), 0 dropped`,
            'm',
          ),
        );
      });
    }
  }

  test('gen → echo: the echo counts every frame gen sent', { timeout: 60_000 }, async () => {
    const socket = tmp.socket('gen-echo.sock');
    const echo = startCli(['echo', '--role', 'master', '--socket', socket, '--json']);
    await new Promise((r) => setTimeout(r, 300));
    const gen = await runCli([
      'gen',
      '--socket',
      socket,
      '--count',
      '10000',
      '--size',
      '128',
      '--json',
      '--connect-timeout',
      '20',
    ]);
    assert.equal(gen.code, 0, gen.stderr);
    const exit = await echo.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    const summary = JSON.parse(exit.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
    assert.equal(summary.rxPackets, 10_000);
    assert.equal(summary.rxBytes, 10_000 * 128);
    // gen does not read its rx ring: the echo's sends stop when that ring is full.
    assert.equal(summary.txPackets + summary.drops, 10_000);
  });
});
