// memif bridge: moves frames both ways between the memif of the shared options and either a Linux
// TAP device (--tap; the kernel's network stack on the other side, one read or write per frame)
// or a second memif (--to-socket; shared memory to shared memory with the zero-copy API).
// A frame with nowhere to go (link down, ring or device queue full) is dropped and counted.
import type { Memif, MemifOptions } from '../index.js';
import type { Command, Context } from './command.js';
import { driveRx } from './drive.js';
import { formatBits, formatPps } from './reporter.js';
import { TAP_MAX_FRAME, Tap } from './tap.js';
import { parseChoice, parseIntOption, UsageError } from './usage.js';

const BURST = 256;

interface Counts {
  /** memif → the other side. */
  rxPackets: number;
  rxBytes: number;
  /** the other side → memif. */
  txPackets: number;
  txBytes: number;
  drops: number;
}

export const bridge: Command = {
  name: 'bridge',
  summary: 'move frames both ways between the memif and a TAP device or a second memif',
  usage: '--tap NAME [--tap-netns NS] | --to-socket PATH [--to-role R] [--to-id N] [--to-secret S]',
  description: [
    '--tap: the TAP NAME is created if missing (or attached to) and brought up, in network namespace NS',
    'with --tap-netns; give it an address there and the kernel talks through the memif. Needs /dev/net/tun',
    'and CAP_NET_ADMIN. --to-socket: a second memif with the same shape (--queues, --buffer-size, --ring,',
    '--mode) on another socket; frames cross with the zero-copy API. Runs until SIGINT/SIGTERM.',
  ],
  options: {
    tap: { type: 'string', value: 'NAME', description: 'TAP device (at most 15 bytes)' },
    'tap-netns': { type: 'string', value: 'NS', description: 'network namespace of the TAP (name or path)' },
    'to-socket': { type: 'string', value: 'PATH|@name', description: 'control socket of the second memif' },
    'to-role': { type: 'string', value: 'master|slave', default: 'slave', description: 'role of the second memif' },
    'to-id': { type: 'string', value: 'N', default: '0', description: 'interface id of the second memif' },
    'to-secret': { type: 'string', value: 'S', description: 'secret of the second memif' },
    'to-netns': { type: 'string', value: 'NS', description: 'network namespace of the second socket' },
  },
  examples: [
    'memif bridge --socket /run/vpp/memif.sock --tap vpp0 --tap-netns blue',
    'memif bridge --role master --socket @a --to-socket @b --to-role master',
  ],
  async run(ctx: Context) {
    const v = ctx.values;
    const tap = v.tap as string | undefined;
    const toSocket = v['to-socket'] as string | undefined;
    if ((tap === undefined) === (toSocket === undefined))
      throw new UsageError('give one of --tap NAME or --to-socket PATH');
    if (tap !== undefined) {
      for (const o of ['to-role', 'to-id', 'to-secret', 'to-netns']) {
        if (v[o] !== undefined) throw new UsageError(`--${o} goes with --to-socket, not --tap`);
      }
      if (tap === '' || Buffer.byteLength(tap) > 15 || tap.includes('/')) {
        throw new UsageError(`--tap must be an interface name of 1-15 bytes without '/'; got ${JSON.stringify(tap)}`);
      }
      if (v['tap-netns'] === '') throw new UsageError('--tap-netns must not be empty');
      return bridgeTap(ctx, tap, v['tap-netns'] as string | undefined);
    }
    if (v['tap-netns'] !== undefined) throw new UsageError('--tap-netns goes with --tap');
    if (toSocket === '' || toSocket === '@') throw new UsageError('--to-socket must not be empty');
    const role = parseChoice((v['to-role'] as string | undefined) ?? 'slave', '--to-role', [
      'master',
      'slave',
    ] as const);
    const id = parseIntOption((v['to-id'] as string | undefined) ?? '0', '--to-id', 0, 0xffffffff);
    // The second memif: the shared options' shape, its own place and secret (none unless given).
    const options: Partial<MemifOptions> = {
      socketPath: toSocket as string,
      role,
      id,
      interfaceName: `memif${id}`,
      secret: v['to-secret'] as string | undefined,
      netns: v['to-netns'] as string | undefined,
    };
    return bridgeMemif(ctx, options);
  },
};

async function bridgeTap(ctx: Context, name: string, netns: string | undefined): Promise<number> {
  const tap = Tap.open(name, netns);
  try {
    ctx.note(`tap ${tap.name} is up${netns ? ` in network namespace ${netns}` : ''}`);
    const memif = await ctx.open();
    const c: Counts = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };
    ctx.report(() => ({ link: memif.connected, ...c }));
    const started = performance.now();
    // TAP → memif: every frame waiting, in bursts; each frame read into its own slot of one pool.
    const pool = Buffer.allocUnsafe(BURST * TAP_MAX_FRAME);
    const frames: Buffer[] = [];
    // A TAP that fails (deleted under us: EBADFD, EIO) ends the bridge with that error (exit 1).
    let failure: unknown;
    let driver: ReturnType<typeof driveRx> | undefined;
    const fail = (err: unknown) => {
      failure ??= err;
      driver?.stop();
    };
    const tapToMemif = () => {
      for (;;) {
        frames.length = 0;
        while (frames.length < BURST) {
          const slot = pool.subarray(frames.length * TAP_MAX_FRAME, (frames.length + 1) * TAP_MAX_FRAME);
          const n = tap.read(slot);
          if (n < 0) break;
          frames.push(slot.subarray(0, n));
        }
        if (frames.length === 0) return;
        let sent = 0;
        if (memif.connected) {
          try {
            sent = memif.txBurst(0, frames);
          } catch {
            sent = 0; // the link went down under us
          }
        }
        for (let i = 0; i < sent; i++) c.txBytes += (frames[i] as Buffer).length;
        c.txPackets += sent;
        c.drops += frames.length - sent;
        if (frames.length < BURST) return;
      }
    };
    tap.watch(() => {
      if (failure !== undefined) return;
      try {
        tapToMemif();
      } catch (err) {
        fail(err);
      }
    });
    // memif → TAP: one write per frame.
    driver = driveRx(memif, ctx.shared.rxMode, ctx.signal, (q) => {
      if (failure !== undefined) return false;
      const pkts = memif.rxBurst(q, BURST);
      for (const p of pkts) {
        let written = false;
        try {
          written = tap.write(p);
        } catch (err) {
          fail(err);
          return false;
        }
        if (written) {
          c.rxPackets++;
          c.rxBytes += p.length;
        } else {
          c.drops++;
        }
      }
      return pkts.length === BURST;
    });
    if (failure !== undefined) driver.stop();
    await driver.done;
    summary(ctx, c, 'memif', `tap ${tap.name}`, started);
    if (failure !== undefined) throw failure;
    return 0;
  } finally {
    tap.close();
  }
}

async function bridgeMemif(ctx: Context, options: Partial<MemifOptions>): Promise<number> {
  const a = await ctx.open();
  // Closed by the framework, like `a`; its link events are noted like a's.
  const b = await ctx.open(options);
  const c: Counts = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };
  ctx.report(() => ({ link: a.connected && b.connected, ...c }));
  const started = performance.now();
  const forward = (src: Memif, dst: Memif, toB: boolean) => (q: number) => {
    const rx = src.rxBurstZeroCopy(q, BURST);
    const n = rx.count;
    if (n === 0) {
      rx.release();
      return false;
    }
    let sent = 0;
    if (dst.connected) {
      const tx = dst.txAlloc(q % dst.txQueueCount, rx.first[n]);
      tx.pushFrom(rx);
      sent = tx.commit();
    }
    let bytes = 0;
    for (let i = 0; i < sent; i++) bytes += rx.packetLength[i] as number;
    rx.release();
    if (toB) {
      c.rxPackets += sent;
      c.rxBytes += bytes;
    } else {
      c.txPackets += sent;
      c.txBytes += bytes;
    }
    c.drops += n - sent;
    return n === BURST;
  };
  const ab = driveRx(a, ctx.shared.rxMode, ctx.signal, forward(a, b, true));
  const ba = driveRx(b, ctx.shared.rxMode, ctx.signal, forward(b, a, false));
  await Promise.all([ab.done, ba.done]);
  summary(ctx, c, 'memif', `second memif ${options.socketPath}`, started);
  return 0;
}

function summary(ctx: Context, c: Counts, here: string, there: string, started: number): void {
  const s = (performance.now() - started) / 1000;
  ctx.reporter.summary(
    {
      toOther: { packets: c.rxPackets, bytes: c.rxBytes },
      toMemif: { packets: c.txPackets, bytes: c.txBytes },
      drops: c.drops,
      seconds: Math.round(s * 1000) / 1000,
    },
    [
      `bridge: ${here} → ${there}: ${c.rxPackets} frames (${c.rxBytes} bytes); ${there} → ${here}: ${c.txPackets} frames (${c.txBytes} bytes); ${c.drops} dropped, in ${s.toFixed(1)} s`,
      `average ${formatPps((c.rxPackets + c.txPackets) / s)} ${formatBits((c.rxBytes + c.txBytes) / s)}`,
    ],
  );
}
