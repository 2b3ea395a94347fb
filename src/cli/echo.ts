// memif echo: sends every received frame back on its queue, shared memory to shared memory with
// the zero-copy API (rxBurstZeroCopy → txAlloc → pushFrom → commit), optionally swapping the
// Ethernet source and destination MACs: testpmd's io and macswap forwarding modes.
import type { Command, Context } from './command.js';
import { driveRx } from './drive.js';
import { formatBits, formatPps } from './reporter.js';

export const echo: Command = {
  name: 'echo',
  summary: 'send every received frame back on its queue (testpmd io / macswap)',
  usage: '[--macswap]',
  description: [
    'Frames go back on the queue they came in on (queue q % tx queues), moved with the zero-copy API.',
    'A frame the tx ring has no room for is dropped and counted. Runs until SIGINT/SIGTERM.',
  ],
  options: {
    macswap: { type: 'boolean', description: 'swap the Ethernet source and destination MACs of each frame' },
  },
  examples: [
    'memif echo --role master --socket /tmp/memif.sock --macswap',
    'memif echo --socket /run/vpp/memif.sock --queues 2',
  ],
  async run(ctx: Context) {
    const macswap = ctx.values.macswap === true;
    const memif = await ctx.open();
    const c = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };
    const started = performance.now();
    ctx.report(() => ({ link: memif.connected, ...c }));
    const driver = driveRx(memif, ctx.shared.rxMode, ctx.signal, (q) => {
      const rx = memif.rxBurstZeroCopy(q, 256);
      const n = rx.count;
      if (n === 0) {
        rx.release();
        return false;
      }
      let bytes = 0;
      const lengths = rx.packetLength;
      for (let i = 0; i < n; i++) bytes += lengths[i];
      c.rxPackets += n;
      c.rxBytes += bytes;
      const tx = memif.txAlloc(q % memif.txQueueCount, rx.first[n]);
      tx.pushFrom(rx);
      if (macswap) {
        const more = tx.bufMore;
        for (let i = 0; i < tx.used; i++) {
          if ((i > 0 && more[i - 1]) || tx.bufLength[i] < 12) continue; // only the first buffer of a packet
          const b = tx.bytes(tx.bufRegion[i]);
          const o = tx.bufOffset[i];
          for (let k = 0; k < 6; k++) {
            const t = b[o + k];
            b[o + k] = b[o + 6 + k];
            b[o + 6 + k] = t;
          }
        }
      }
      const sent = tx.commit();
      let sentBytes = 0;
      for (let i = 0; i < sent; i++) sentBytes += lengths[i];
      c.txPackets += sent;
      c.txBytes += sentBytes;
      c.drops += n - sent;
      rx.release();
      return n === 256;
    });
    await driver.done;
    const s = (performance.now() - started) / 1000;
    ctx.reporter.summary({ seconds: round(s), ...c }, [
      `echo: ${c.rxPackets} frames received (${c.rxBytes} bytes), ${c.txPackets} sent back (${c.txBytes} bytes), ${c.drops} dropped (tx ring full) in ${s.toFixed(1)} s`,
      `average ${formatPps(c.rxPackets / s)} ${formatBits(c.rxBytes / s)}`,
    ]);
    return 0;
  },
};

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
