// raw-data: raw byte payloads on several queues between a memif master and slave (like govpp's
// raw-data example). For a few rounds each side sends one payload on every queue; the receiver
// prints per queue what came and checks it byte for byte. Gives up after 30 s.
// One command (master here, slave in a child process, socket in a temp folder):
//   npm run example:raw-data   or   node out/examples/raw-data.js [--queues N] [--rounds N]
// Two terminals (same --queues on both; default socket /tmp/memif-raw-data.sock):
//   node out/examples/raw-data.js master [--socket PATH] [--queues N]
//   node out/examples/raw-data.js slave  [--socket PATH] [--queues N]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Memif } from 'memif-ts';

type Role = 'master' | 'slave';
const BYE = Buffer.from('bye');

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    socket: { type: 'string' },
    queues: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const queues = Number(args.queues);
const rounds = Number(args.rounds);
const given = positionals[0] as Role | undefined;
const role: Role = given ?? 'master';
const log = (line: string) => console.log(`[${role}] ${line}`);

/** The payload `from` sends on `queue` in `round`: 3 header bytes (sender, round, queue), then a pattern. */
function payload(from: Role, round: number, queue: number): Buffer {
  const p = Buffer.alloc(32 + 100 * queue + round);
  p[0] = from === 'master' ? 0x4d : 0x53; // 'M' or 'S'
  p[1] = round;
  p[2] = queue;
  for (let i = 3; i < p.length; i++) p[i] = (i * 31 + round * 7 + queue) & 0xff;
  return p;
}

const hex = (p: Buffer) => `${p.subarray(0, 8).toString('hex').replace(/../g, '$& ')}…`;

/** Queues one packet on tx queue `q`, waiting while the ring is full (txBurst never blocks). */
async function send(m: Memif, q: number, p: Buffer): Promise<void> {
  while (m.txBurst(q, [p]) === 0) await sleep(1);
}

/** Receives on rx queue `q` until every expected packet has come, checking each one. */
async function receiveQueue(m: Memif, q: number, expected: Buffer[]): Promise<void> {
  let got = 0;
  for await (const burst of m.receive(q)) {
    for (const p of burst) {
      if (got >= expected.length || !p.equals(expected[got])) throw new Error(`queue ${q}: unexpected ${hex(p)}`);
      const what = p.equals(BYE) ? '"bye"' : `round ${p[1]}, ${p.length} bytes ${hex(p)}`;
      log(`queue ${q} received ${what} ok`);
      got++;
    }
    if (got === expected.length) return;
  }
  throw new Error('interface closed before everything arrived');
}

async function run(socketPath: string): Promise<void> {
  const m = await Memif.create({ role, socketPath, rxQueues: queues, txQueues: queues });
  const stop = () => void m.close().then(() => process.exit(130));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  m.on('error', (e) => log(`error: ${e.message}`));
  try {
    log(`waiting for the ${role === 'master' ? 'slave' : 'master'} on ${socketPath}`);
    await m.waitForConnect();
    log(`connected: ${m.rxQueueCount} rx and ${m.txQueueCount} tx queues`);
    if (m.rxQueueCount !== queues || m.txQueueCount !== queues) throw new Error('the peer uses another --queues');
    const peer: Role = role === 'master' ? 'slave' : 'master';
    const receivers = Array.from({ length: queues }, (_, q) => {
      const expected = Array.from({ length: rounds }, (_, r) => payload(peer, r + 1, q));
      // The master says bye on queue 0 once it has everything; the slave closes after reading it.
      if (role === 'slave' && q === 0) expected.push(BYE);
      return receiveQueue(m, q, expected);
    });
    const sender = (async () => {
      for (let r = 1; r <= rounds; r++) {
        for (let q = 0; q < queues; q++) await send(m, q, payload(role, r, q));
        log(`round ${r}: sent one payload on each of ${queues} queues`);
        await sleep(50);
      }
    })();
    await Promise.all([sender, ...receivers]);
    if (role === 'master') {
      const gone = once(m, 'disconnect');
      await send(m, 0, BYE);
      await gone;
      log('slave left');
    }
    log(`OK: ${rounds} rounds on ${queues} queues verified`);
  } finally {
    await m.close();
  }
}

function fail(err: unknown): never {
  console.error(`[${role}] FAILED: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

setTimeout(() => fail(new Error('gave up after 30 s')), 30_000).unref();

try {
  if (given !== undefined && given !== 'master' && given !== 'slave') throw new Error('role must be master or slave');
  if (!Number.isInteger(queues) || queues < 1 || queues > 255) throw new Error('--queues must be from 1 to 255');
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 255) throw new Error('--rounds must be from 1 to 255');
  if (given !== undefined) {
    await run(args.socket ?? join(tmpdir(), 'memif-raw-data.sock'));
  } else {
    // No role: be the master here and start the slave as a child process.
    const dir = args.socket ? undefined : mkdtempSync(join(tmpdir(), 'memif-raw-data-'));
    const socketPath = args.socket ?? join(dir as string, 'memif.sock');
    const self = fileURLToPath(import.meta.url);
    const child = spawn(
      process.execPath,
      [self, 'slave', '--socket', socketPath, '--queues', `${queues}`, '--rounds', `${rounds}`],
      {
        stdio: 'inherit',
      },
    );
    process.on('exit', () => {
      child.kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    const exited = once(child, 'exit');
    child.once('exit', (code, signal) => {
      if (code !== 0) fail(new Error(`the slave process failed (exit code ${code ?? signal})`));
    });
    await run(socketPath);
    await exited;
  }
  process.exitCode = 0;
} catch (err) {
  fail(err);
}
