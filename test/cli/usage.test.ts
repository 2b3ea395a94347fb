// Bad usage of every subcommand: exit status 2 and a one-line reason on stderr, nothing on stdout;
// --help of each lists every option with its default and an example. Real processes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from '../../src/cli/command.js';
import { echo } from '../../src/cli/echo.js';
import { gen } from '../../src/cli/gen.js';
import { ping } from '../../src/cli/ping.js';
import { responder } from '../../src/cli/responder.js';
import { SHARED_OPTIONS } from '../../src/cli/shared.js';
import { sink } from '../../src/cli/sink.js';
import { runCli } from './cli.js';

const COMMANDS: Record<string, Command> = { responder, ping, gen, sink, echo };

/** For each subcommand: the arguments it needs, and command lines that are bad usage. */
const BAD: Record<string, { base: string[]; cases: string[][] }> = {
  responder: {
    base: [],
    cases: [['--ip', '300.1.1.1/24'], ['--ip6', 'fe80::1::2'], ['--mac', 'zz'], ['--ip', '10.0.0.1/33'], ['extra']],
  },
  ping: {
    base: ['192.0.2.1'],
    cases: [
      ['-c', '0'],
      ['-i', 'often'],
      ['-s', '70000'],
      ['-W', '0'],
      ['192.0.2.2'],
      ['--ip', '192.0.2.300'],
      ['--mac', '02:00:00:00:00'],
      ['192.0.2.1/24'],
    ],
  },
  gen: {
    base: [],
    cases: [
      ['--size', '63'],
      ['--size', '64', '--imix'],
      ['--count', '5', '--duration', '1'],
      ['--rate', '0'],
      ['--burst', '257'],
      ['--udp', '1.2.3.4:5'],
      ['--udp', '1.2.3.4:70000,1.2.3.5:1'],
      ['--dst-mac', 'ff:ff'],
      ['--linger', '-1'],
    ],
  },
  sink: { base: [], cases: [['--count', '0'], ['--count', '1', '--duration', '1'], ['--duration', 'abc'], ['x']] },
  echo: { base: [], cases: [['--macswap=yes'], ['--queues', '0'], ['--bogus']] },
};

/** Bad shared options; the last is caught only by Memif.create. */
const SHARED = [
  ['--role', 'boss'],
  ['--ring', '15'],
  ['--rx-mode', 'sometimes'],
  ['--socket', ''],
  ['--secret', 'x'.repeat(24)],
  ['--connect-timeout', '-1'],
  ['--mode', 'tun'],
  ['--socket', `/tmp/${'x'.repeat(200)}`],
];

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

  for (const [name, { base, cases }] of Object.entries(BAD)) {
    test(`memif ${name}: bad usage exits 2 with one line on stderr; --help shows every option`, async () => {
      // The shared options are parsed by one function: all of them once, two for the others.
      const all = [...cases, ...(name === 'responder' ? SHARED : [SHARED[0] as string[], SHARED.at(-1) as string[]])];
      const runs = await Promise.all(
        all.map((args) => runCli([name, ...base, '--socket', '@memif-ts-usage-never-used', ...args])),
      );
      runs.forEach((r, i) => {
        const args = (all[i] as string[]).join(' ');
        assert.equal(r.code, 2, `memif ${name} ${args}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(`^memif ${name}: [^\\n]+\\n$`), `memif ${name} ${args}`);
      });
      if (base.length > 0) {
        const r = await runCli([name, '--socket', '@memif-ts-usage-never-used']);
        assert.equal(r.code, 2, `memif ${name} without its arguments`);
        assert.match(r.stderr, new RegExp(`^memif ${name}: missing `));
      }
      const help = await runCli([name, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Options:/);
      assert.match(help.stdout, /--role master\|slave +master listens, slave connects \(default: slave\)/);
      assert.match(help.stdout, new RegExp(`\\$ memif ${name}`));
      // Every option, its own and the shared ones, with its default.
      const options = { ...(COMMANDS[name] as Command).options, ...SHARED_OPTIONS };
      for (const [option, spec] of Object.entries(options)) {
        const re = new RegExp(`^ +(-\\w, )?--${option}\\b`);
        const line = help.stdout.split('\n').findIndex((l) => re.test(l));
        assert.ok(line >= 0, `--${option} is in the help of ${name}`);
        if (spec.type === 'string') {
          const text = help.stdout
            .split('\n')
            .slice(line, line + 2)
            .join(' ');
          assert.ok(text.includes(`(default: ${spec.default ?? 'none'})`), `--${option}'s default: ${text}`);
        }
      }
    });
  }
});
