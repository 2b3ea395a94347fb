// Bad usage of every subcommand: exit status 2 and a one-line reason on stderr, nothing on stdout;
// --help of each lists every option with its default and an example. Real processes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from './cli.js';

/** For each subcommand: command lines that are bad usage. */
const BAD: Record<string, string[][]> = {
  responder: [['--ip', '300.1.1.1/24'], ['--ip6', 'fe80::1::2'], ['--mac', 'zz'], ['--ip', '10.0.0.1/33'], ['extra']],
  echo: [['--macswap=yes'], ['--queues', '0'], ['--bogus']],
};

describe('memif: usage', () => {
  test('memif --help lists every subcommand; no command is bad usage', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const name of Object.keys(BAD)) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
    const none = await runCli([]);
    assert.equal(none.code, 2);
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^memif: unknown command "frobnicate"/);
  });

  for (const [name, cases] of Object.entries(BAD)) {
    test(`memif ${name}: bad usage exits 2 with one line on stderr; --help shows every option`, async () => {
      const shared = [
        ['--role', 'boss'],
        ['--ring', '15'],
        ['--rx-mode', 'sometimes'],
        ['--socket', ''],
        ['--secret', 'x'.repeat(24)],
        ['--connect-timeout', '-1'],
      ];
      for (const args of [...cases, ...shared]) {
        const r = await runCli([name, ...args, '--socket', '@memif-ts-usage-never-used', ...args]);
        assert.equal(r.code, 2, `memif ${name} ${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(`^memif ${name}: [^\\n]+\\n$`), `memif ${name} ${args.join(' ')}`);
      }
      const help = await runCli([name, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Options:/);
      assert.match(help.stdout, /--role master\|slave +master listens, slave connects \(default: slave\)/);
      assert.match(help.stdout, new RegExp(`\\$ memif ${name}`));
    });
  }
});
