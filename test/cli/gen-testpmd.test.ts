// memif gen → DPDK testpmd in rxonly mode, in both roles: testpmd's own RX-packets count equals
// what gen says it sent (gen waits for testpmd to take every frame before it exits). Skipped, with
// the install command, where dpdk-testpmd is missing.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PEER_WAIT_MS, TESTPMD_MISSING, Testpmd, testpmdAvailable } from '../../peers/testpmd.js';
import { tempDir } from '../helpers/tmp.js';
import { startCli } from './cli.js';

const tmp = tempDir('memif-cli-pmd-');
after(() => tmp.remove());

describe('memif gen → testpmd rxonly', { skip: testpmdAvailable() ? false : TESTPMD_MISSING }, () => {
  for (const genRole of ['slave', 'master'] as const) {
    test(`gen ${genRole}: testpmd's RX-packets equal gen's count`, { timeout: 90_000 }, async () => {
      const socket = tmp.socket(`pmd-${genRole}.sock`);
      const count = 100_000;
      // --linger: gen stays connected until testpmd's counters are read (testpmd 22.11 as server
      // tends to crash when its client leaves while it forwards; peers.md).
      const args = ['gen', '--role', genRole, '--socket', socket, '--count', String(count), '--json', '--linger', '60'];
      const timeout = ['--connect-timeout', String(PEER_WAIT_MS / 1000)];
      const pmdRole = genRole === 'slave' ? 'server' : 'client';
      // A testpmd client connects once, at start: our master must listen first.
      const gen = genRole === 'master' ? startCli([...args, ...timeout]) : undefined;
      if (gen) await new Promise((r) => setTimeout(r, 500));
      const pmd = await Testpmd.start({
        role: pmdRole,
        socket,
        forwardMode: 'rxonly',
        interactive: true,
      });
      try {
        // Forwarding before gen sends (testpmd runs with --no-flush-rx: frames that wait are kept).
        await pmd.startForwarding();
        const g = gen ?? startCli([...args, ...timeout]);
        await g.waitFor(/^gen: done, \d+ frames sent/, 60_000);
        const stats = await pmd.stopForwarding();
        const exit = await g.stop('SIGINT');
        assert.equal(exit.code, 0, exit.stderr);
        const summary = JSON.parse(exit.stdout.trim().split('\n').at(-1) as string) as { sent: number; bytes: number };
        assert.equal(summary.sent, count);
        assert.equal(summary.bytes, count * 64);
        assert.equal(stats.rxPackets, count);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- testpmd output ---\n${pmd.tail()}`, { cause: err });
      } finally {
        await pmd.stop();
        await gen?.stop();
      }
    });
  }
});
