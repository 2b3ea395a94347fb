// throughput: packets per second between two memif-ts processes — 1 queue, copy mode, one way at a
// time: slave → master, then master → slave. The parent is the master, a child process the slave.
// Every packet carries a sequence number in its first 4 bytes; the receiver (rx mode 'polling', a
// tight loop that yields to the event loop now and then) counts the packets that arrive in order.
// memif never drops (txBurst takes fewer when the ring is full), so loss must be 0.
// Run: npm run bench   or   node out/bench/throughput.js [--seconds 5] [--size 64] [--burst 256]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Memif } from 'memif-ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    size: { type: 'string', default: '64' },
    burst: { type: 'string', default: '256' },
    child: { type: 'string' }, // internal: 'send' or 'receive', with --socket
    socket: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const size = Number(args.size);
const burst = Number(args.burst);
/** Bursts between two yields to the event loop. */
const SPIN = 64;

interface RxResult {
  received: number;
  verified: number;
  /** Packets with a wrong size or an unexpected sequence number (lost, reordered or damaged). */
  errors: number;
  /** From the first burst to the last, in ms. */
  ms: number;
}

/** Sends numbered packets for `seconds`; returns how many were queued. */
async function sendFor(m: Memif): Promise<number> {
  const packets = Array.from({ length: burst }, () => Buffer.alloc(size));
  let seq = 0;
  let numbered = -1; // packets[k] holds seq numbered + k
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < SPIN; i++) {
      if (numbered !== seq) {
        for (let k = 0; k < burst; k++) packets[k].writeUInt32LE((seq + k) >>> 0, 0);
        numbered = seq;
      }
      seq += m.txBurst(0, packets);
    }
    await yieldToLoop();
  }
  return seq;
}

/** Receives and checks packets until `total()` is known and reached. */
async function receiveUntil(m: Memif, total: () => number | undefined): Promise<RxResult> {
  const r: RxResult = { received: 0, verified: 0, errors: 0, ms: 0 };
  let expect = 0;
  let first = 0;
  for (;;) {
    for (let i = 0; i < SPIN; i++) {
      const packets = m.rxBurst(0, burst);
      if (packets.length === 0) continue;
      const now = performance.now();
      if (r.received === 0) first = now;
      r.ms = now - first;
      for (const p of packets) {
        const seq = p.readUInt32LE(0);
        if (p.length === size && seq === expect) r.verified++;
        else r.errors++;
        expect = (seq + 1) >>> 0;
      }
      r.received += packets.length;
    }
    const t = total();
    if (t !== undefined && r.received >= t) return r;
    await yieldToLoop();
  }
}

function report(direction: string, sent: number, r: RxResult): boolean {
  const pps = (r.received / r.ms) * 1000;
  const lost = sent - r.verified;
  const n = (x: number) => x.toLocaleString('en-US');
  console.log(
    `${direction}: ${(pps / 1e6).toFixed(2)} Mpps, ${((pps * size * 8) / 1e9).toFixed(2)} Gbit/s ` +
      `(${n(r.received)} packets in ${(r.ms / 1000).toFixed(2)} s; ${n(r.verified)} of ${n(sent)} verified in order, ` +
      `${n(lost)} lost or out of order)`,
  );
  return lost === 0 && r.errors === 0 && r.received === sent;
}

/** The child: the slave, sending or receiving as the parent asked, talking to it over IPC. */
async function child(m: Memif, role: string): Promise<void> {
  await m.waitForConnect();
  if (role === 'send') {
    const sent = await sendFor(m);
    process.send?.({ sent });
    await once(process, 'message'); // the parent has read everything: now we may close
  } else {
    let total: number | undefined;
    process.once('message', (msg: { sent: number }) => {
      total = msg.sent;
    });
    process.send?.(await receiveUntil(m, () => total));
  }
}

/** The parent: the master, against one child per direction. */
async function parent(m: Memif, socketPath: string): Promise<boolean> {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  console.log(
    `memif-ts throughput: ${size}-byte packets, burst ${burst}, 1 queue, copy mode, ${seconds} s per direction`,
  );
  console.log(`Node ${process.version}, CPU ${cpu ?? 'unknown'}, ${availableParallelism()} cores`);
  let ok = true;
  for (const role of ['send', 'receive']) {
    const childArgs = [
      '--child',
      role,
      '--socket',
      socketPath,
      '--seconds',
      `${seconds}`,
      '--size',
      `${size}`,
      '--burst',
      `${burst}`,
    ];
    const c: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), ...childArgs], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    const exited = once(c, 'exit');
    c.once('exit', (code) => {
      if (code !== 0) fail(new Error(`the slave process failed (exit code ${code})`));
    });
    await m.waitForConnect();
    const gone = once(m, 'disconnect');
    if (role === 'send') {
      let total: number | undefined;
      c.once('message', (msg: { sent: number }) => {
        total = msg.sent;
      });
      const r = await receiveUntil(m, () => total);
      c.send('done');
      ok = report('slave → master', total as number, r) && ok;
    } else {
      const sent = await sendFor(m);
      c.send({ sent });
      const [r] = (await once(c, 'message')) as [RxResult];
      ok = report('master → slave', sent, r) && ok;
    }
    await Promise.all([exited, gone]);
  }
  return ok;
}

function fail(err: unknown): never {
  console.error(`throughput: FAILED: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

try {
  if (!(seconds > 0)) throw new Error('--seconds must be positive');
  if (!Number.isInteger(size) || size < 4 || size > 65535) throw new Error('--size must be from 4 to 65535');
  if (!Number.isInteger(burst) || burst < 1 || burst > 1024) throw new Error('--burst must be from 1 to 1024');
  setTimeout(() => fail(new Error('took too long')), (2 * seconds + 30) * 1000).unref();
  const role = args.child ? 'slave' : 'master';
  const dir = args.child ? undefined : mkdtempSync(join(tmpdir(), 'memif-bench-'));
  const socketPath = args.socket ?? join(dir as string, 'memif.sock');
  if (dir) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  // 'polling': the receiver asks the sender not to signal, and polls in its loop.
  const m = await Memif.create({ role, socketPath, rxMode: 'polling' });
  const stop = () => void m.close().then(() => process.exit(130));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  m.on('error', (e) => console.error(`[${role}] error: ${e.message}`));
  let ok = true;
  try {
    if (args.child) await child(m, args.child);
    else ok = await parent(m, socketPath);
  } finally {
    await m.close();
    process.disconnect?.();
  }
  if (!ok) fail(new Error('packets were lost, reordered or damaged'));
} catch (err) {
  fail(err);
}
