// memif bridge as a real process. To TAP, in a network namespace this file makes (every address
// and packet stays inside it): the kernel's own ping reaches `memif responder` through
// `memif bridge --tap`, and a kernel UDP socket receives what `memif gen` sent. Between two
// memifs: frames from each master here arrive byte for byte at the other. Errors: a TAP name that
// is not a TAP, a missing namespace, no CAP_NET_ADMIN, no /dev/net/tun, a TAP deleted under the
// bridge (exit 1, one line), bad usage (exit 2, one line).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Memif } from '../../src/index.js';
import { addNetns, deleteNetns, spawnInNetns, tapUnavailable, waitForLine } from '../helpers/netns.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { receive } from '../helpers/traffic.js';
import { testFrames } from './capture-kit.js';
import { CLI, type CliProcess, runCli, startCli } from './cli.js';

const T = { timeout: 40_000 };

function ipIn(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** Starts `memif bridge --tap NAME --tap-netns NS` (slave on `socket`) and gives the TAP `addr`. */
async function tapBridge(socket: string, tap: string, ns: string, addr: string): Promise<CliProcess> {
  const br = startCli(['bridge', '--socket', socket, '--tap', tap, '--tap-netns', ns]);
  await br.waitFor(new RegExp(`tap ${tap} is up in network namespace`));
  ipIn(ns, 'addr', 'add', addr, 'dev', tap);
  return br;
}

describe('memif bridge', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir('memif-bridge-');
  });
  after(() => tmp.remove());

  describe('to a TAP in a network namespace', { skip: tapUnavailable() }, () => {
    let ns = '';
    before(() => {
      ns = addNetns();
    });
    after(() => deleteNetns(ns));

    test("the kernel's ping reaches memif responder through the TAP", T, async () => {
      const socket = tmp.socket('resp.sock');
      const resp = startCli(['responder', '--role', 'master', '--socket', socket, '--ip', '10.77.0.1/24']);
      const br = await tapBridge(socket, 'mtping', ns, '10.77.0.2/24');
      try {
        await br.waitFor(/^link up: /);
        const out = execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '5', '10.77.0.1'], {
          encoding: 'utf8',
        });
        assert.match(out, /3 packets transmitted, 3 received, 0% packet loss/);
        assert.equal(out.match(/bytes from 10\.77\.0\.1: icmp_seq=\d/g)?.length, 3);
      } finally {
        const b = await br.stop();
        const r = await resp.stop();
        assert.equal(b.code, 0, b.stderr);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /answered \d+ ARP requests, 3 echo requests/);
        assert.match(b.stdout, /bridge: memif → tap mtping: [1-9]\d* frames/);
      }
      // The TAP went with the bridge.
      assert.doesNotMatch(ipIn(ns, 'link'), /mtping/);
    });

    test('a kernel UDP socket in the namespace receives what memif gen sent', T, async () => {
      const socket = tmp.socket('gen.sock');
      // The receiver: prints "ready", then each datagram's payload as hex, one per line.
      const py = [
        'import socket, sys',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
        "s.bind(('10.78.0.2', 5000))",
        's.settimeout(15)',
        "print('ready', flush=True)",
        'for _ in range(50):',
        '    print(s.recv(65535).hex(), flush=True)',
      ].join('\n');
      const br = await tapBridge(socket, 'mtudp', ns, '10.78.0.2/24');
      const rx = spawnInNetns(ns, ['python3', '-c', py]);
      let lines = '';
      rx.stdout?.on('data', (d: Buffer) => {
        lines += d.toString();
      });
      const rxExit = new Promise<number | null>((r) => rx.on('close', r));
      try {
        await waitForLine(rx, /^ready$/);
        const mac = (JSON.parse(ipIn(ns, '-j', 'link', 'show', 'mtudp')) as { address: string }[])[0]?.address;
        assert.ok(mac);
        const gen = await runCli([
          'gen',
          '--role',
          'master',
          '--socket',
          socket,
          '--count',
          '50',
          '--rate',
          '500',
          '--size',
          '100',
          '--dst-mac',
          mac,
          '--udp',
          '10.78.0.1:1024,10.78.0.2:5000',
        ]);
        assert.equal(gen.code, 0, gen.stderr);
        assert.equal(await rxExit, 0, lines);
        const payloads = lines
          .trim()
          .split('\n')
          .slice(1)
          .map((h) => Buffer.from(h, 'hex'));
        assert.equal(payloads.length, 50);
        const seqs = new Set<bigint>();
        for (const p of payloads) {
          assert.equal(p.length, 100 - 42);
          assert.equal(p.readUInt32BE(0), 0x6d67656e, 'gen tag "mgen"');
          seqs.add(p.readBigUInt64BE(6));
          for (let i = 22; i < p.length; i++) assert.equal(p[i], i & 0xff, `payload byte ${i}`);
        }
        assert.deepEqual(
          [...seqs].sort((a, b) => Number(a - b)),
          Array.from({ length: 50 }, (_, i) => BigInt(i)),
        );
      } finally {
        if (rx.exitCode === null) rx.kill();
        await br.stop();
      }
    });

    test(
      'a TAP name that is no TAP, a missing namespace, a TAP deleted under the bridge: exit 1 and one line',
      T,
      async () => {
        const notTap = await runCli(['bridge', '--socket', tmp.socket('x.sock'), '--tap', 'lo', '--tap-netns', ns]);
        assert.equal(notTap.code, 1, notTap.stderr);
        assert.match(notTap.stderr, /"lo" exists and is not a TAP device/);
        assert.equal(notTap.stderr.trim().split('\n').length, 1);
        const noNs = await runCli(['bridge', '--tap', 'mtx', '--tap-netns', 'memif-ts-no-such-ns']);
        assert.equal(noNs.code, 1, noNs.stderr);
        assert.match(noNs.stderr, /no network namespace "memif-ts-no-such-ns"/);
        // Without CAP_NET_ADMIN (dropped from the bounding set before exec), and without /dev/net/tun
        // (a private mount namespace with an empty /dev/net): each said in one line.
        const noCap = spawnSync(
          'setpriv',
          ['--bounding-set', '-net_admin', process.execPath, CLI, 'bridge', '--tap', 'mtcap'],
          {
            encoding: 'utf8',
          },
        );
        assert.equal(noCap.status, 1, noCap.stderr);
        assert.match(noCap.stderr, /^memif bridge: error: creating or attaching TAP "mtcap" needs CAP_NET_ADMIN/);
        const script = 'mount -t tmpfs none /dev/net && exec "$0" "$1" bridge --tap mttun';
        const noTun = spawnSync('unshare', ['-m', 'sh', '-c', script, process.execPath, CLI], { encoding: 'utf8' });
        assert.equal(noTun.status, 1, noTun.stderr);
        assert.match(noTun.stderr, /^memif bridge: error: \/dev\/net\/tun is missing: load the tun module/);
        assert.equal(noTun.stderr.trim().split('\n').length, 1);
        // A TAP deleted under a running bridge ends it: exit 1, one line naming it.
        const br = startCli(['bridge', '--socket', tmp.socket('gone.sock'), '--tap', 'mtgone', '--tap-netns', ns]);
        await br.waitFor(/tap mtgone is up/);
        ipIn(ns, 'link', 'del', 'mtgone');
        const gone = await br.exited;
        assert.equal(gone.code, 1, gone.stderr);
        assert.match(gone.stderr, /TAP mtgone is gone \(the device was deleted\)/);
      },
    );
  });

  test('--to-socket: frames cross both ways between two memifs, byte for byte', T, async () => {
    const a = await Memif.create({ role: 'master', socketPath: tmp.socket('a.sock') });
    const b = await Memif.create({ role: 'master', socketPath: tmp.socket('b.sock') });
    const br = startCli(['bridge', '--socket', tmp.socket('a.sock'), '--to-socket', tmp.socket('b.sock')]);
    try {
      await a.waitForConnect({ timeoutMs: 15_000 });
      await b.waitForConnect({ timeoutMs: 15_000 });
      // Our masters are up once CONNECT came; the bridge's side only when CONNECTED reached it, and
      // it drops what it cannot forward yet: wait for both of its links.
      for (let i = 0; i < 1500 && (br.stderr.match(/link up/g)?.length ?? 0) < 2; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(br.stderr.match(/link up/g)?.length, 2, `the bridge's two links are up:\n${br.stderr}`);
      const ab = testFrames(200, 1);
      const ba = testFrames(200, 2);
      for (const [from, to, frames] of [
        [a, b, ab],
        [b, a, ba],
      ] as const) {
        let i = 0;
        const got: Buffer[] = [];
        while (i < frames.length) {
          i += from.txBurst(0, frames.slice(i, i + 32));
          got.push(...to.rxBurst(0));
          await new Promise((r) => setImmediate(r));
        }
        got.push(...(await receive(to, 0, frames.length - got.length)));
        assert.deepEqual(got, frames);
      }
      const exit = await br.stop();
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(exit.stdout, /: 200 frames .*: 200 frames .*; 0 dropped/);
    } finally {
      await br.stop();
      await a.close();
      await b.close();
    }
  });

  test('bad usage: exit status 2 and a one-line reason', T, async () => {
    const cases: [string[], RegExp][] = [
      [['bridge'], /give one of --tap NAME or --to-socket PATH/],
      [['bridge', '--tap', 'a', '--to-socket', '/x'], /give one of/],
      [['bridge', '--tap', 'a-very-long-name-indeed'], /--tap must be an interface name of 1-15 bytes/],
      [['bridge', '--tap', 'a', '--to-role', 'master'], /--to-role goes with --to-socket/],
      [['bridge', '--to-socket', '/x', '--tap-netns', 'n'], /--tap-netns goes with --tap/],
      [['bridge', '--to-socket', '/x', '--to-role', 'boss'], /--to-role must be master or slave/],
      [['bridge', '--to-socket', '/x', '--to-id', '-1'], /--to-id/],
    ];
    for (const [args, re] of cases) {
      const exit = await runCli(args, 10_000);
      assert.equal(exit.code, 2, `${args.join(' ')}: ${exit.stderr}`);
      assert.match(exit.stderr, re);
      assert.equal(exit.stderr.trim().split('\n').length, 1, exit.stderr);
    }
  });
});
