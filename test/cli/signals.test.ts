// Every subcommand stopped by SIGINT or SIGTERM while it waits for a peer that never comes: it
// prints its summary and exits with its status (ping: 1, no reply; the others 0), the socket
// file of a master is removed. Real processes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { startCli } from './cli.js';

const tmp = tempDir('memif-cli-signals-');
after(() => tmp.remove());

const CASES: { args: string[]; summary: RegExp; code: number }[] = [
  { args: ['responder'], summary: /^responder: answered 0 ARP requests/m, code: 0 },
  { args: ['ping', '192.0.2.1', '-c', '3'], summary: /^0 packets transmitted, 0 received/m, code: 1 },
  { args: ['gen', '--count', '10'], summary: /^gen: sent 0 frames/m, code: 0 },
  { args: ['sink'], summary: /^sink: received 0 frames/m, code: 0 },
  { args: ['echo'], summary: /^echo: 0 frames received/m, code: 0 },
];

describe('memif SUB stopped by a signal before any peer came', () => {
  for (const [i, c] of CASES.entries()) {
    const signal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
    const role = i % 2 === 0 ? 'master' : 'slave';
    test(`memif ${c.args[0]} (${role}), ${signal}: summary, exit ${c.code}`, { timeout: 30_000 }, async () => {
      const socket = tmp.socket(`${c.args[0]}.sock`);
      const p = startCli([...c.args, '--role', role, '--socket', socket]);
      await p.waitFor(/^waiting for the link: /);
      if (role === 'master') assert.ok(existsSync(socket), 'the master listens');
      const exit = await p.stop(signal);
      assert.equal(exit.signal, null, 'exited by itself, not killed by the signal');
      assert.equal(exit.code, c.code, exit.stderr);
      assert.match(exit.stdout, c.summary);
      assert.ok(!existsSync(socket), 'the socket file is gone');
    });
  }
});
