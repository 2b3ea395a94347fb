// demo: a memif master and a memif slave, in two processes, exchange a few packets each way.
// The parent process is the master on a socket in a fresh temp folder; it starts itself again as a
// child (--child-slave PATH) which is the slave. Each side sends N text messages and one 5,000-byte
// packet (chained over 3 buffers of 2048), prints what it sent and received, and checks the content.
// Both close, and the parent reports the child's exit code. Gives up after 20 s.
// Run: npm run demo   or   node out/examples/demo.js [--socket PATH] [--count N]
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
const BYE = Buffer.from('bye: the master has everything');

const { values: args } = parseArgs({
  options: { socket: { type: 'string' }, count: { type: 'string', default: '5' }, 'child-slave': { type: 'string' } },
});
const count = Number(args.count);
const role: Role = args['child-slave'] ? 'slave' : 'master';
const log = (line: string) => console.log(`[${role}] ${line}`);

/** What `from` sends: `count` text messages, then 5,000 bytes of a pattern. */
function messages(from: Role): Buffer[] {
  const texts = Array.from({ length: count }, (_, i) => Buffer.from(`hello from ${from} #${i + 1}`));
  const big = Buffer.alloc(5000, 0);
  for (let i = 0; i < big.length; i++) big[i] = (i + (from === 'master' ? 1 : 2)) & 0xff;
  return [...texts, big];
}

const show = (p: Buffer) => (p.length <= 64 ? JSON.stringify(p.toString()) : `${p.length} bytes of pattern`);

/** Queues every packet on tx queue 0, waiting while the ring is full (txBurst never blocks). */
async function sendAll(m: Memif, packets: Buffer[]): Promise<void> {
  for (let done = 0; done < packets.length; ) {
    const n = m.txBurst(0, packets.slice(done));
    for (const p of packets.slice(done, done + n)) log(`sent     ${show(p)}`);
    done += n;
    if (done < packets.length) await sleep(1);
  }
}

/** Receives on rx queue 0 until `expected` has come, checking each packet byte for byte. */
async function receiveAll(m: Memif, expected: Buffer[]): Promise<void> {
  let got = 0;
  for await (const burst of m.receive(0)) {
    for (const p of burst) {
      if (got >= expected.length || !p.equals(expected[got])) throw new Error(`unexpected packet: ${show(p)}`);
      log(`received ${show(p)} ok`);
      got++;
    }
    if (got === expected.length) return;
  }
  throw new Error('interface closed before everything arrived');
}

async function run(socketPath: string): Promise<void> {
  const m = await Memif.create({ role, socketPath, bufferSize: 2048 });
  const stop = () => void m.close().then(() => process.exit(130));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  m.on('error', (e) => log(`error: ${e.message}`));
  try {
    await m.waitForConnect();
    log(`connected to "${m.details().remoteName}"`);
    const peer: Role = role === 'master' ? 'slave' : 'master';
    if (role === 'master') {
      // Read everything, then say bye; the slave closes once it has read the bye, and so do we.
      const gone = once(m, 'disconnect');
      await Promise.all([sendAll(m, messages(role)), receiveAll(m, messages(peer))]);
      await sendAll(m, [BYE]);
      await gone;
      log('slave left');
    } else {
      await Promise.all([sendAll(m, messages(role)), receiveAll(m, [...messages(peer), BYE])]);
    }
  } finally {
    await m.close();
  }
}

function fail(err: unknown): never {
  console.error(`[${role}] FAILED: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

setTimeout(() => fail(new Error('gave up after 20 s')), 20_000).unref();

try {
  if (!Number.isInteger(count) || count < 0) throw new Error(`--count must be a whole number; got ${args.count}`);
  if (role === 'slave') {
    await run(args['child-slave'] as string);
  } else {
    const dir = args.socket ? undefined : mkdtempSync(join(tmpdir(), 'memif-demo-'));
    const socketPath = args.socket ?? join(dir as string, 'memif.sock');
    log(`socket ${socketPath}`);
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [self, '--child-slave', socketPath, '--count', `${count}`], {
      stdio: 'inherit',
    });
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
    log(`demo OK: each side sent and verified ${count + 1} packets (${count} messages + one of 5000 bytes)`);
  }
} catch (err) {
  fail(err);
}
