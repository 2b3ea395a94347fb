// memif responder ↔ memif ping as two real processes on a temporary socket, in both role
// combinations, IPv4 and IPv6: every request answered, the iputils-format reply lines and summary
// parsed and checked, the responder's own counts checked after SIGINT/SIGTERM. And a ping nobody
// answers: exit status 1, 100% loss.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { runCli, startCli } from './cli.js';

const tmp = tempDir('memif-cli-ping-');
after(() => tmp.remove());

interface Summary {
  transmitted: number;
  received: number;
  loss: string;
  rtt?: { min: number; avg: number; max: number; mdev: number };
}

/** The summary lines of iputils ping. */
function parseSummary(out: string, target: string): Summary {
  const lines = out.split('\n');
  const head = lines.indexOf(`--- ${target} ping statistics ---`);
  assert.ok(head >= 0, `no statistics header in:\n${out}`);
  const m = /^(\d+) packets transmitted, (\d+) received(?:, \+\d+ \w+)*, ([\d.]+%) packet loss, time \d+ms$/.exec(
    lines[head + 1] ?? '',
  );
  assert.ok(m, `bad summary line: ${lines[head + 1]}`);
  const r = /^rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms$/.exec(lines[head + 2] ?? '');
  return {
    transmitted: Number(m[1]),
    received: Number(m[2]),
    loss: m[3] as string,
    ...(r ? { rtt: { min: Number(r[1]), avg: Number(r[2]), max: Number(r[3]), mdev: Number(r[4]) } } : {}),
  };
}

const CASES = [
  { family: 'IPv4', target: '192.168.7.1', responderArgs: ['--ip', '192.168.7.1/24'], size: 56, wire: 64 },
  {
    family: 'IPv6',
    target: '2001:db8:7::1',
    responderArgs: ['--ip', '192.168.7.1/24', '--ip6', '2001:db8:7::1/64'],
    size: 1000,
    wire: 1008,
  },
];

describe('memif responder ↔ memif ping', () => {
  for (const c of CASES) {
    for (const responderRole of ['master', 'slave'] as const) {
      const pingRole = responderRole === 'master' ? 'slave' : 'master';
      test(`${c.family}: responder ${responderRole}, ping ${pingRole}`, { timeout: 60_000 }, async () => {
        const socket = tmp.socket(`${c.family}-${responderRole}.sock`);
        const link = ['--socket', socket, '--connect-timeout', '20'];
        // The master first, so that the slave finds it at once.
        const responder = startCli(['responder', '--role', responderRole, ...link, ...c.responderArgs]);
        if (responderRole === 'master') await responder.waitFor(/^responder /);
        const ping = await runCli([
          'ping',
          c.target,
          '-c',
          '3',
          '-i',
          '0.1',
          '-s',
          String(c.size),
          '-W',
          '5',
          '--role',
          pingRole,
          ...link,
        ]);
        const stop = await responder.stop(responderRole === 'master' ? 'SIGINT' : 'SIGTERM');

        assert.equal(ping.code, 0, ping.stdout + ping.stderr);
        const header = c.family === 'IPv4' ? `PING ${c.target} (${c.target}) ` : `PING ${c.target}(${c.target}) `;
        assert.ok(ping.stdout.startsWith(header), ping.stdout);
        for (let seq = 1; seq <= 3; seq++) {
          assert.match(
            ping.stdout,
            new RegExp(`^${c.wire} bytes from ${c.target}: icmp_seq=${seq} ttl=64 time=\\d+\\.\\d+ ms$`, 'm'),
          );
        }
        assert.doesNotMatch(ping.stdout, /wrong data/);
        const s = parseSummary(ping.stdout, c.target);
        assert.equal(s.transmitted, 3);
        assert.equal(s.received, 3);
        assert.equal(s.loss, '0%');
        assert.ok(s.rtt, 'an rtt line');
        assert.ok(s.rtt.min <= s.rtt.avg && s.rtt.avg <= s.rtt.max && s.rtt.mdev >= 0, JSON.stringify(s.rtt));

        assert.equal(stop.code, 0, stop.stderr);
        const counts =
          /answered (\d+) ARP requests, (\d+) echo requests, (\d+) neighbour solicitations, (\d+) ICMPv6 echo requests/.exec(
            stop.stdout,
          );
        assert.ok(counts, stop.stdout);
        const [arp, echo, ns, echo6] = counts.slice(1).map(Number);
        if (c.family === 'IPv4') assert.deepEqual([arp, echo, ns, echo6], [1, 3, 0, 0]);
        else assert.deepEqual([arp, echo, ns, echo6], [0, 0, 1, 3]);
      });
    }
  }

  test('nobody answers: Destination Host Unreachable, 100% loss, exit status 1; --json summary', {
    timeout: 60_000,
  }, async () => {
    const socket = tmp.socket('silent.sock');
    const responder = startCli(['responder', '--role', 'master', '--socket', socket, '--ip', '10.9.9.1/24']);
    await responder.waitFor(/^responder /);
    const ping = await runCli([
      'ping',
      '10.9.9.9',
      '-c',
      '2',
      '-i',
      '0.1',
      '-W',
      '0.3',
      '--socket',
      socket,
      '--connect-timeout',
      '20',
    ]);
    const json = await runCli([
      'ping',
      '10.9.9.1',
      '-c',
      '2',
      '-i',
      '0.1',
      '--socket',
      socket,
      '--json',
      '--connect-timeout',
      '20',
    ]);
    await responder.stop();
    assert.equal(ping.code, 1, ping.stderr);
    assert.match(ping.stdout, /^From 10\.9\.9\.1 icmp_seq=1 Destination Host Unreachable$/m);
    const s = parseSummary(ping.stdout, '10.9.9.9');
    assert.deepEqual([s.transmitted, s.received, s.loss, s.rtt], [2, 0, '100%', undefined]);
    assert.equal(json.code, 0, json.stderr);
    const objects = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      objects.map((o) => [o.type, o.seq]),
      [
        ['reply', 1],
        ['reply', 2],
        ['summary', undefined],
      ],
    );
    const summary = objects[2] as { transmitted: number; received: number; rttMs: { min: number } };
    assert.equal(summary.transmitted, 2);
    assert.equal(summary.received, 2);
    assert.ok(summary.rttMs.min >= 0);
  });
});
