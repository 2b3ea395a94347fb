// jumbo-frames: frames larger than one buffer (like govpp's jumbo-frames example). With buffers of
// 2048 bytes, a frame of 51,200 bytes is chained over 25 descriptors; the default ring of 1024
// slots has room for it. The master (this process) sends frames from 64 bytes up to 51,200, the
// slave (a child process) echoes each one back, and the master checks every echo byte for byte.
// Run: npm run example:jumbo   or   node out/examples/jumbo-frames.js [--socket PATH]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Memif } from 'memif-ts';

const BUFFER_SIZE = 2048;
const SIZES = [64, 128, 256, 512, 1024, 2048, 2049, 4096, 8192, 16384, 32768, 51200];

const { values: args } = parseArgs({ options: { socket: { type: 'string' }, 'child-slave': { type: 'string' } } });
const role = args['child-slave'] ? 'slave' : 'master';
const log = (line: string) => console.log(`[${role}] ${line}`);

/** A frame of `size` bytes whose content depends on its size. */
function frame(size: number): Buffer {
  const f = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) f[i] = (i * 7 + size) & 0xff;
  return f;
}

/** Queues one frame on tx queue 0, waiting while the ring is full (txBurst never blocks). */
async function send(m: Memif, f: Buffer): Promise<void> {
  while (m.txBurst(0, [f]) === 0) await sleep(1);
}

/** Slave: echo every frame until the master leaves. */
async function echo(m: Memif): Promise<void> {
  m.once('disconnect', () => void m.close());
  let frames = 0;
  for await (const burst of m.receive(0)) {
    for (const f of burst) await send(m, f);
    frames += burst.length;
  }
  log(`echoed ${frames} frames; the master left`);
}

/** Master: send each size, wait for its echo, compare. */
async function sendAndCheck(m: Memif): Promise<void> {
  const rx = m.receive(0, { maxBurst: 1 });
  for (const size of SIZES) {
    const sent = frame(size);
    await send(m, sent);
    const { value } = await rx.next();
    const back = value?.[0];
    const ok = back?.equals(sent) === true;
    const buffers = Math.ceil(size / BUFFER_SIZE);
    const chain = buffers > 1 ? `, chained over ${buffers} buffers` : '';
    log(`${String(size).padStart(5)} bytes${chain}: ${ok ? 'echo ok' : 'MISMATCH'}`);
    if (!ok) throw new Error(`the echo of the ${size}-byte frame differs (got ${back?.length ?? 'nothing'} bytes)`);
  }
  await rx.return();
  log(`OK: ${SIZES.length} frames up to ${SIZES[SIZES.length - 1]} bytes echoed intact`);
}

async function run(socketPath: string): Promise<void> {
  const m = await Memif.create({ role, socketPath, bufferSize: BUFFER_SIZE, log2RingSize: 10 });
  const stop = () => void m.close().then(() => process.exit(130));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  m.on('error', (e) => log(`error: ${e.message}`));
  try {
    await m.waitForConnect();
    if (role === 'master') await sendAndCheck(m);
    else await echo(m);
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
  if (role === 'slave') {
    await run(args['child-slave'] as string);
  } else {
    const dir = args.socket ? undefined : mkdtempSync(join(tmpdir(), 'memif-jumbo-'));
    const socketPath = args.socket ?? join(dir as string, 'memif.sock');
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child-slave', socketPath], {
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
  }
} catch (err) {
  fail(err);
}
