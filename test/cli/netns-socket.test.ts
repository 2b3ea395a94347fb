// The `netns` option: a control socket created inside another network namespace, the process
// staying in its own. A peer process runs inside a namespace the test makes (ip netns exec) on an
// abstract socket, which exists only in that namespace; our side reaches it only through `netns`.
// Bytes are compared both ways. A missing or wrong namespace is a typed error, with no fd left open.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Memif, type MemifOptions, SystemError } from '../../src/index.js';
import { addNetns, deleteNetns, netnsUnavailable, spawnInNetns, waitForLine } from '../helpers/netns.js';
import { newFds, settle, snapshot } from '../helpers/resources.js';
import { abstractName } from '../helpers/tmp.js';
import { receive } from '../helpers/traffic.js';
import { CLI, runCli } from './cli.js';

const T = { timeout: 30_000 };
const peerScript = fileURLToPath(new URL('../helpers/echo-peer.js', import.meta.url));
const skip = netnsUnavailable();

function frames(n: number, tag: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const b = Buffer.alloc(60 + ((i * 37) % 1400));
    for (let j = 0; j < b.length; j++) b[j] = (i * 7 + j * 13 + tag) & 0xff;
    return b;
  });
}

/** Sends frames through `m` to the echo peer and checks that the same bytes came back. */
async function echoCheck(m: Memif): Promise<void> {
  await m.waitForConnect({ timeoutMs: 10_000 });
  const sent = frames(64, 5);
  let queued = 0;
  while (queued < sent.length) queued += m.txBurst(0, sent.slice(queued));
  const got = await receive(m, 0, sent.length);
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i], `frame ${i}`);
}

function startPeer(ns: string, options: MemifOptions): ChildProcess {
  return spawnInNetns(ns, [process.execPath, peerScript, JSON.stringify(options)]);
}

async function stopPeer(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

describe('netns: control socket in another network namespace', { skip }, () => {
  let ns = '';
  before(() => {
    ns = addNetns();
  });
  after(() => deleteNetns(ns));

  test('slave with netns reaches a master listening on an abstract socket inside the namespace', T, async () => {
    const socketPath = abstractName('netns-m');
    const peer = startPeer(ns, { role: 'master', socketPath });
    try {
      await waitForLine(peer, /^ready$/);
      // From our own namespace the name does not exist: the connection only works through netns.
      const outside = await Memif.create({ role: 'slave', socketPath, reconnectIntervalMs: 50 });
      await assert.rejects(outside.waitForConnect({ timeoutMs: 300 }));
      await outside.close();
      const m = await Memif.create({ role: 'slave', socketPath, netns: ns });
      try {
        await echoCheck(m);
      } finally {
        await m.close();
      }
    } finally {
      await stopPeer(peer);
    }
  });

  test('master with netns (a path: /var/run/netns/NAME) is reached by a slave inside the namespace', T, async () => {
    const socketPath = abstractName('netns-s');
    // The same abstract name in our own namespace is another socket: both listen at once.
    const here = await Memif.create({ role: 'master', socketPath });
    const m = await Memif.create({ role: 'master', socketPath, netns: `/var/run/netns/${ns}` });
    const peer = startPeer(ns, { role: 'slave', socketPath, reconnectIntervalMs: 100 });
    try {
      await echoCheck(m);
      assert.equal(here.details().linkUp, false);
    } finally {
      await stopPeer(peer);
      await m.close();
      await here.close();
    }
  });

  test('the CLI: memif ping --netns reaches memif responder listening inside the namespace', T, async () => {
    const socket = abstractName('netns-cli');
    const resp = spawnInNetns(ns, [
      process.execPath,
      CLI,
      'responder',
      '--role',
      'master',
      '--socket',
      socket,
      '--ip',
      '10.66.0.1/24',
    ]);
    try {
      await waitForLine(resp, /./); // its first report: it listens
      const ping = await runCli([
        'ping',
        '10.66.0.1',
        '-c',
        '3',
        '-i',
        '0.1',
        '--ip',
        '10.66.0.2',
        '--socket',
        socket,
        '--netns',
        ns,
      ]);
      assert.equal(ping.code, 0, ping.stderr);
      assert.match(ping.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    } finally {
      await stopPeer(resp);
    }
  });

  test('a missing or wrong namespace is a typed error, and no fd stays open', T, async () => {
    // A FIFO: open() of one for reading used to wait for a writer, for ever, on the event loop.
    const fifo = join(mkdtempSync(join(tmpdir(), 'memif-netns-fifo-')), 'fifo');
    execFileSync('mkfifo', [fifo]);
    await settle();
    const before = snapshot();
    const cases: [string, RegExp, string][] = [
      ['memif-ts-no-such-ns', /no network namespace "memif-ts-no-such-ns"/, 'MEMIF_ERR_NO_FILE'],
      ['/proc/self/ns/uts', /is not a network namespace/, 'MEMIF_ERR_SYSCALL'],
      ['/etc/hostname', /is not a network namespace/, 'MEMIF_ERR_SYSCALL'],
      [fifo, /is not a network namespace/, 'MEMIF_ERR_SYSCALL'],
    ];
    for (const [netns, message, errorName] of cases) {
      for (const role of ['master', 'slave'] as const) {
        await assert.rejects(Memif.create({ role, socketPath: abstractName('netns-bad'), netns }), (e: unknown) => {
          assert.ok(e instanceof SystemError, `${role} ${netns}: ${String(e)}`);
          assert.match(e.message, message);
          assert.equal(e.errorName, errorName);
          return true;
        });
      }
    }
    await settle();
    assert.deepEqual(newFds(before, snapshot()), []);
    rmSync(dirname(fifo), { recursive: true, force: true });
  });
});
