// memif capture as a real process: a master in this process sends known frames (chained ones
// included), the command writes them, and tshark reads the file back — frame count, lengths and
// every byte equal what was sent — as pcap, as pcapng, and live through `-w - | tshark -r -`.
// Then testpmd txonly → capture. Bad usage: exit status 2 and a one-line reason.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TESTPMD_MISSING, Testpmd, testpmdAvailable } from '../../peers/testpmd.js';
import { Memif } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { testFrames, tsharkFrames } from './capture-kit.js';
import { CLI, runCli, startCli } from './cli.js';

const T = { timeout: 40_000 };

function tsharkMissing(): string | undefined {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'tshark is not installed (apt-get install -y tshark; .ci/run installs it)';
  }
}

/** A master here; resolves once `connect` came. */
async function master(socketPath: string): Promise<Memif> {
  return Memif.create({ role: 'master', socketPath });
}

async function send(m: Memif, frames: Buffer[]): Promise<void> {
  await m.waitForConnect({ timeoutMs: 15_000 });
  let i = 0;
  while (i < frames.length) {
    i += m.txBurst(0, frames.slice(i, i + 64));
    await new Promise((r) => setImmediate(r));
  }
}

describe('memif capture', { skip: tsharkMissing() }, () => {
  let tmp: TempDir;
  /** A FIFO in the test's folder. */
  const fifo = (name: string): string => {
    const path = join(tmp.dir, name);
    execFileSync('mkfifo', [path]);
    return path;
  };
  before(() => {
    tmp = tempDir('memif-capture-');
  });
  after(() => tmp.remove());

  for (const format of ['pcap', 'pcapng'] as const) {
    test(`-w FILE (${format}): tshark reads the frames sent, byte for byte`, T, async () => {
      const socket = tmp.socket(`${format}.sock`);
      const file = join(tmp.dir, `c.${format}`);
      const m = await master(socket);
      try {
        const frames = testFrames(300, format.length);
        const cap = startCli(['capture', '--socket', socket, '-w', file, '-c', '300', '--format', format]);
        await send(m, frames);
        const exit = await cap.exited;
        assert.equal(exit.code, 0, exit.stderr);
        assert.match(exit.stdout, /capture: 300 frames/);
        const got = tsharkFrames(['-r', file]);
        assert.equal(got.length, frames.length);
        for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], frames[i], `frame ${i}`);
      } finally {
        await m.close();
      }
    });
  }

  test('-w - | tshark -r -: live, the reports on stderr', T, async () => {
    const socket = tmp.socket('pipe.sock');
    const piped = join(tmp.dir, 'piped.pcapng');
    const m = await master(socket);
    try {
      const frames = testFrames(200, 9);
      // A shell pipeline, as a user types it (tshark refuses a socket, what node's stdio 'pipe' is, as -r -).
      const script = 'set -o pipefail; "$1" "$2" capture --socket "$3" -w - -c 200 | tshark -r - -w "$4"';
      const sh = spawn('bash', ['-c', script, 'bash', process.execPath, CLI, socket, piped], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true, // its own process group: killed as one if it outlives the test
      });
      let stderr = '';
      sh.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((r) => sh.on('close', r));
      try {
        await send(m, frames);
        const bound = setTimeout(() => process.kill(-(sh.pid as number), 'SIGKILL'), 25_000);
        const status = await exited;
        clearTimeout(bound);
        assert.equal(status, 0, stderr);
      } finally {
        if (sh.exitCode === null && sh.signalCode === null) process.kill(-(sh.pid as number), 'SIGKILL');
      }
      assert.match(stderr, /capture: 200 frames .* to stdout/);
      assert.deepEqual(tsharkFrames(['-r', piped]), frames);
    } finally {
      await m.close();
    }
  });

  test(
    '-w - | head -c 2000: the reader leaving (EPIPE) ends the capture by itself, with its summary on stderr',
    T,
    async () => {
      const socket = tmp.socket('head.sock');
      const m = await master(socket);
      try {
        const script = 'set -o pipefail; "$1" "$2" capture --socket "$3" -w - | head -c 2000 > /dev/null';
        const sh = spawn('bash', ['-c', script, 'bash', process.execPath, CLI, socket], {
          stdio: ['ignore', 'ignore', 'pipe'],
          detached: true,
        });
        let stderr = '';
        sh.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        const exited = new Promise<number | null>((r) => sh.on('close', r));
        let status: number | null | undefined;
        void exited.then((s) => {
          status = s;
        });
        try {
          await m.waitForConnect({ timeoutMs: 15_000 });
          const frames = testFrames(64, 5);
          for (let i = 0; i < 20_000 && status === undefined && m.connected; i++) {
            m.txBurst(0, frames);
            await new Promise((r) => setTimeout(r, 2));
          }
          assert.equal(await exited, 0, stderr);
        } finally {
          if (sh.exitCode === null && sh.signalCode === null) process.kill(-(sh.pid as number), 'SIGKILL');
        }
        assert.match(stderr, /capture: the reader of the output went away; stopping/);
        assert.match(stderr, /capture: \d+ frames .* to stdout/);
      } finally {
        await m.close();
      }
    },
  );

  test('-w - to a reader that stops: frames wait in our ring (the peer sees it full), none is lost, and a stuck reader does not hold off SIGINT', {
    timeout: 60_000,
  }, async () => {
    const socket = tmp.socket('slow.sock');
    const m = await master(socket);
    const frames = testFrames(3000, 13);
    try {
      // Slow reader: stdout is not read until our ring has been full for a while.
      const slow = startCli(['capture', '--socket', socket, '-w', '-', '-c', String(frames.length)]);
      slow.child.stdout?.pause();
      const chunks: Buffer[] = [];
      slow.child.stdout?.setEncoding('latin1');
      await m.waitForConnect({ timeoutMs: 15_000 });
      let sent = 0;
      for (let i = 0; i < 4000 && (m.details().txQueues[0].ringFull ?? 0) < 100; i++) {
        sent += m.txBurst(0, frames.slice(sent, sent + 64));
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok((m.details().txQueues[0].ringFull ?? 0) >= 100, 'the capture stopped reading: our ring filled');
      assert.ok(sent < frames.length, `the reader held the capture back (sent ${sent} of ${frames.length})`);
      slow.child.stdout?.removeAllListeners('data');
      slow.child.stdout?.on('data', (d: string) => chunks.push(Buffer.from(d, 'latin1')));
      slow.child.stdout?.resume();
      await send(m, frames.slice(sent));
      const exit = await slow.stop('SIGCONT', 30_000);
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(exit.stderr, new RegExp(`capture: ${frames.length} frames`));
      assert.doesNotMatch(exit.stderr, /dropped/, 'a slow reader took everything before the summary');
      const file = join(tmp.dir, 'slow.pcap');
      writeFileSync(file, Buffer.concat(chunks));
      assert.deepEqual(tsharkFrames(['-r', file]), frames, 'every frame, in order, byte for byte');

      // Stuck reader: never read; SIGINT ends the capture anyway, by itself (not SIGKILL).
      const stuck = startCli(['capture', '--socket', socket, '-w', '-']);
      stuck.child.stdout?.pause();
      await stuck.waitFor(/link up/);
      const before = m.details().txQueues[0].ringFull ?? 0;
      for (let i = 0, k = 0; i < 4000 && (m.details().txQueues[0].ringFull ?? 0) < before + 100; i++) {
        k = (k + m.txBurst(0, frames.slice(k % 2000, (k % 2000) + 64))) % 2000;
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok((m.details().txQueues[0].ringFull ?? 0) >= before + 100, 'the stuck reader filled our ring');
      const ended = await stuck.stop('SIGINT', 20_000);
      assert.equal(ended.signal, null, `exited by itself, not killed: ${ended.stderr}`);
      assert.equal(ended.code, 0, ended.stderr);
      // The summary comes after the flush, and says what the stuck reader never took.
      assert.match(
        ended.stderr,
        /capture: \d+ frames .* to stdout .*; the last \d+ bytes, which the reader did not take, were dropped/,
      );
    } finally {
      await m.close();
    }
  });

  test('testpmd txonly → capture: the count asked, 64-byte frames', {
    ...T,
    skip: testpmdAvailable() ? false : TESTPMD_MISSING,
  }, async () => {
    const socket = tmp.socket('pmd.sock');
    const file = join(tmp.dir, 'pmd.pcapng');
    const pmd = await Testpmd.start({ role: 'server', socket, forwardMode: 'txonly' });
    try {
      const exit = await runCli(['capture', '--socket', socket, '-w', file, '-c', '1000'], 30_000);
      assert.equal(exit.code, 0, exit.stderr);
      const got = tsharkFrames(['-r', file]);
      assert.equal(got.length, 1000);
      for (const f of got) {
        assert.equal(f.length, 64);
        assert.equal(f.readUInt16BE(12), 0x0800, 'IPv4');
      }
    } finally {
      await pmd.stop();
    }
  });

  test('-w FIFO: written like a pipe, every frame through a reader on the other end', T, async () => {
    const socket = tmp.socket('fifo.sock');
    const path = fifo('frames.fifo');
    const out = join(tmp.dir, 'from-fifo.pcap');
    const m = await master(socket);
    // The reader first (a FIFO is opened for writing only once it has one).
    const outFd = openSync(out, 'w');
    const reader = spawn('cat', [path], { stdio: ['ignore', outFd, 'ignore'] });
    closeSync(outFd);
    const read = new Promise<number | null>((r) => reader.on('close', r));
    try {
      const frames = testFrames(300, 21);
      // A reader blocked in open() already counts as the FIFO's reader: cat waits there for a writer.
      const opened = () => {
        try {
          return readFileSync(`/proc/${reader.pid}/wchan`, 'utf8') === 'wait_for_partner';
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 1000 && !opened(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(opened(), 'cat is waiting in open() for a writer');
      const cap = startCli(['capture', '--socket', socket, '-w', path, '-c', String(frames.length)]);
      await send(m, frames);
      const exit = await cap.stop('SIGCONT', 20_000);
      assert.equal(exit.code, 0, exit.stderr);
      assert.equal(await read, 0);
      assert.deepEqual(tsharkFrames(['-r', out]), frames);
    } finally {
      if (reader.exitCode === null) reader.kill('SIGKILL');
      await m.close();
    }
  });

  test('bad usage: exit status 2 and a one-line reason', T, async () => {
    const cases: [string[], RegExp][] = [
      [['capture'], /-w FILE is required/],
      [['capture', '-w', join(tmp.dir, 'x'), '-c', '0'], /-c must be an integer/],
      [['capture', '-w', join(tmp.dir, 'x'), '--format', 'erf'], /--format must be pcap or pcapng/],
      [['capture', '-w', join(tmp.dir, 'x'), '-c', '1', '--duration', '1'], /cannot be used together/],
      [['capture', '-w', '/nonexistent/dir/x.pcap'], /-w \/nonexistent/],
      [['capture', '-w', 'x', '--snaplen', 'big'], /--snaplen must be/],
      // A FIFO nobody reads: refused at once instead of open() waiting for a reader.
      [['capture', '-w', fifo('unread.fifo')], /-w .*unread\.fifo: ENXIO/],
    ];
    for (const [args, re] of cases) {
      const exit = await runCli(args, 10_000);
      assert.equal(exit.code, 2, `${args.join(' ')}: ${exit.stderr}`);
      assert.match(exit.stderr, re);
      assert.equal(exit.stderr.trim().split('\n').length, 1, exit.stderr);
    }
  });
});
