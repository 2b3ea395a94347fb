// memif gen → memif sink as two real processes on a temporary socket: every frame gen says it sent
// arrives, in sequence, with correct IPv4 and UDP checksums (sink --check), in both roles, on two
// queues, with frames chained over several buffers, paced by --rate; and the periodic reports
// (plain lines when stdout is not a TTY, JSON lines with --json).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { CLI, type Exit, startCli } from './cli.js';

const tmp = tempDir('memif-cli-gen-');
after(() => tmp.remove());

interface GenSummary {
  type: string;
  sent: number;
  bytes: number;
  refused: number;
  queues: number;
  runId: number;
  perQueue: number[];
}
interface SinkSummary {
  type: string;
  received: number;
  bytes: number;
  genFrames: number;
  lost: number;
  reordered: number;
  duplicates: number;
  badChecksums: number;
  streams: { runId: number; queue: number; received: number; next: number; lost: number }[];
  latencyUs: { p50: number; p90: number; p99: number; max: number };
}

function lastJson<T>(e: Exit): T {
  const lines = e.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as T;
}

/** Runs sink (first, as it may be the master) and gen; returns both summaries. */
async function genToSink(opts: {
  genRole: 'master' | 'slave';
  count: number;
  gen: string[];
  sink?: string[];
  common?: string[];
}) {
  const socket = tmp.socket(`gs-${Math.random().toString(36).slice(2)}.sock`);
  const link = ['--socket', socket, '--connect-timeout', '20', '--json', ...(opts.common ?? [])];
  const sinkRole = opts.genRole === 'master' ? 'slave' : 'master';
  const genArgs = ['gen', '--role', opts.genRole, '--count', String(opts.count), ...opts.gen, ...link];
  const sinkArgs = [
    'sink',
    '--role',
    sinkRole,
    '--count',
    String(opts.count),
    '--check',
    ...(opts.sink ?? []),
    ...link,
  ];
  const first = startCli(opts.genRole === 'master' ? genArgs : sinkArgs);
  await new Promise((r) => setTimeout(r, 300)); // the master listens (a slave would retry anyway)
  const second = startCli(opts.genRole === 'master' ? sinkArgs : genArgs);
  const [a, b] = await Promise.all([first.exited, second.exited]);
  const [genExit, sinkExit] = opts.genRole === 'master' ? [a, b] : [b, a];
  assert.equal(genExit.code, 0, genExit.stderr);
  assert.equal(sinkExit.code, 0, sinkExit.stderr);
  return { gen: lastJson<GenSummary>(genExit), sink: lastJson<SinkSummary>(sinkExit) };
}

function assertIntact(gen: GenSummary, sink: SinkSummary, count: number, queues: number): void {
  assert.equal(gen.type, 'summary');
  assert.equal(gen.sent, count);
  assert.equal(gen.queues, queues);
  assert.equal(sink.received, count);
  assert.equal(sink.genFrames, count);
  assert.equal(sink.bytes, gen.bytes);
  assert.equal(sink.badChecksums, 0);
  assert.deepEqual([sink.lost, sink.reordered, sink.duplicates], [0, 0, 0]);
  assert.equal(sink.streams.length, queues);
  for (const s of sink.streams) {
    assert.equal(s.runId, gen.runId);
    assert.equal(s.received, gen.perQueue[s.queue], `queue ${s.queue}`);
    assert.equal(s.next, gen.perQueue[s.queue], `queue ${s.queue}: sequence 0 … n − 1`);
  }
  assert.ok(sink.latencyUs.p50 <= sink.latencyUs.p90 && sink.latencyUs.p90 <= sink.latencyUs.p99);
}

describe('memif gen → memif sink', () => {
  test('gen slave → sink master, 64-byte frames, flat out', { timeout: 60_000 }, async () => {
    const { gen, sink } = await genToSink({ genRole: 'slave', count: 20_000, gen: ['--size', '64'] });
    assertIntact(gen, sink, 20_000, 1);
    assert.equal(sink.bytes, 20_000 * 64);
  });

  test('gen master → sink slave, 3000-byte frames chained over 2048-byte buffers', { timeout: 60_000 }, async () => {
    const { gen, sink } = await genToSink({ genRole: 'master', count: 5_000, gen: ['--size', '3000'] });
    assertIntact(gen, sink, 5_000, 1);
    assert.equal(sink.bytes, 5_000 * 3000);
  });

  test('gen master sends exactly --count when the slave offers bigger buffers than --buffer-size', {
    timeout: 60_000,
  }, async () => {
    // gen assumes 2048-byte buffers, so a 3000-byte frame needs 2 of them and it asks for 2 per
    // frame; the slave's 4096-byte buffers hold one frame each, and gen used to fill every granted
    // buffer with a frame: 20 sent for --count 10, "-10 refused".
    const { gen, sink } = await genToSink({
      genRole: 'master',
      count: 10,
      gen: ['--size', '3000'],
      sink: ['--buffer-size', '4096'],
    });
    assertIntact(gen, sink, 10, 1);
    assert.equal(gen.refused, 0);
  });

  test('sink --count stops at exactly N when frames already wait as it starts reading', {
    timeout: 60_000,
  }, async () => {
    // gen (master, first) fills the ring the moment the slave connects; sink then reaches its
    // count inside its first poll, which runs before driveRx() has returned.
    const socket = tmp.socket(`gs-${Math.random().toString(36).slice(2)}.sock`);
    const link = ['--socket', socket, '--connect-timeout', '20', '--json'];
    const gen = startCli(['gen', '--role', 'master', '--count', '10', '--linger', '60', ...link]);
    await new Promise((r) => setTimeout(r, 300)); // the master listens (a slave would retry anyway)
    const sink = startCli(['sink', '--role', 'slave', '--count', '5', ...link]);
    const sinkExit = await sink.exited;
    await gen.stop();
    assert.equal(sinkExit.code, 0, sinkExit.stderr);
    const summary = lastJson<SinkSummary>(sinkExit);
    assert.equal(summary.type, 'summary');
    assert.equal(summary.received, 5); // --count N counts exactly N frames, the rest of a burst is dropped
    assert.equal(summary.genFrames, 5);
  });

  test('2 queues, IMIX, both roles', { timeout: 60_000 }, async () => {
    for (const genRole of ['slave', 'master'] as const) {
      const { gen, sink } = await genToSink({ genRole, count: 12_000, gen: ['--imix'], common: ['--queues', '2'] });
      assertIntact(gen, sink, 12_000, 2);
      assert.ok((gen.perQueue[0] as number) > 0 && (gen.perQueue[1] as number) > 0, 'both queues carried frames');
      // IMIX: each queue cycles through 64, 594 and 1518-byte frames, 7:4:1, in this order.
      const cycle = [64, 594, 64, 1518, 64, 594, 64, 64, 594, 64, 594, 64];
      const bytes = gen.perQueue.reduce((sum, n) => {
        for (let i = 0; i < n; i++) sum += cycle[i % cycle.length] as number;
        return sum;
      }, 0);
      assert.equal(sink.bytes, bytes);
    }
  });

  test('gen --duration ends on time when its peer has left: it does not wait for a link that never returns', {
    timeout: 60_000,
  }, async () => {
    const socket = tmp.socket(`gd-${Math.random().toString(36).slice(2)}.sock`);
    const link = ['--socket', socket, '--connect-timeout', '20', '--json'];
    // sink (master) takes 50 frames and exits; gen (slave) is left with no master for the rest of
    // its 4 s. Before the fix it waited for the link past its duration, for ever.
    const sink = startCli(['sink', '--role', 'master', '--count', '50', ...link]);
    await new Promise((r) => setTimeout(r, 300));
    const gen = startCli(['gen', '--role', 'slave', '--rate', '200', '--duration', '4', ...link]);
    const sinkExit = await sink.exited;
    assert.equal(sinkExit.code, 0, sinkExit.stderr);
    assert.equal(lastJson<SinkSummary>(sinkExit).received, 50);
    const genExit = await gen.exited; // the test's timeout fails it if gen waits for ever
    assert.equal(genExit.code, 0, genExit.stderr);
    const summary = lastJson<GenSummary>(genExit);
    assert.equal(summary.type, 'summary');
    assert.ok(summary.sent >= 50, `gen sent ${summary.sent}`);
  });

  test('paced: --rate with --count sends exactly the count; polling receiver', { timeout: 60_000 }, async () => {
    const { gen, sink } = await genToSink({
      genRole: 'slave',
      count: 1_500,
      gen: ['--rate', '5000', '--udp', '10.1.1.1:5000,10.1.1.2:6000', '--burst', '8'],
      common: ['--rx-mode', 'polling'],
    });
    assertIntact(gen, sink, 1_500, 1);
  });

  test('reports: plain lines when stdout is not a TTY, JSON lines with --json, summary last', {
    timeout: 60_000,
  }, async () => {
    const socket = tmp.socket('reports.sock');
    const link = ['--socket', socket, '--connect-timeout', '20'];
    const sink = startCli(['sink', '--role', 'master', '--json', ...link]);
    await new Promise((r) => setTimeout(r, 300));
    const gen = startCli(['gen', '--rate', '2000', '--duration', '3', ...link]);
    const genExit = await gen.exited;
    const sinkExit = await sink.stop('SIGINT');
    assert.equal(genExit.code, 0, genExit.stderr);
    assert.equal(sinkExit.code, 0, sinkExit.stderr);
    const plain = genExit.stdout.trim().split('\n');
    assert.ok(plain.length >= 2, genExit.stdout);
    for (const line of plain.slice(0, -1)) {
      assert.match(line, /^link (up|down) {2}rx \S+ \S+ \S+ \S+ \(\d+\) {2}tx \S+ \S+ \S+ \S+ \(\d+\) {2}drops \d+$/);
    }
    assert.match(plain.at(-1) as string, /^gen: sent (\d+) frames/);
    const sent = Number(/^gen: sent (\d+) frames/.exec(plain.at(-1) as string)?.[1]);
    const objects = sinkExit.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const reports = objects.slice(0, -1);
    assert.ok(reports.length >= 1, sinkExit.stdout);
    for (const r of reports) assert.equal(r.type, 'report');
    for (let i = 1; i < reports.length; i++) {
      assert.ok((reports[i]?.rxPackets as number) >= (reports[i - 1]?.rxPackets as number));
    }
    const summary = objects.at(-1) as unknown as SinkSummary;
    assert.equal(summary.type, 'summary');
    assert.equal(summary.received, sent, 'SIGINT: the sink summarises everything gen sent');
    assert.equal(summary.lost, 0);
  });

  const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
  test('on a TTY: one status line redrawn in place, cleared before the summary', {
    timeout: 60_000,
    skip: hasScript ? false : 'no `script` (util-linux) to give the command a terminal',
  }, async () => {
    const socket = tmp.socket('tty.sock');
    const sink = startCli(['sink', '--role', 'master', '--socket', socket, '-q']);
    await new Promise((r) => setTimeout(r, 300));
    const typescript = `${tmp.dir}/typescript`;
    const command = [process.execPath, CLI, 'gen', '--socket', socket, '--rate', '1000', '--duration', '2.5'].join(' ');
    const script = spawn('script', ['-qfc', command, typescript], { stdio: 'ignore' });
    const code = await new Promise((r) => script.on('close', r));
    await sink.stop();
    assert.equal(code, 0);
    const out = readFileSync(typescript, 'utf8');
    const clear = `\r${String.fromCharCode(27)}\\[2K`; // carriage return, erase the line
    const status = out.match(new RegExp(`${clear}link up {2}rx [^\\r\\n]+`, 'g')) ?? [];
    assert.ok(status.length >= 1, JSON.stringify(out));
    // Redrawn in place: no newline between status lines; the summary starts on a cleared line.
    assert.match(out, new RegExp(`${clear}gen: sent \\d+ frames`));
    assert.doesNotMatch(out, /drops \d+\r?\n/);
  });
});
