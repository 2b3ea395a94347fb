// memif ping: resolves the target's MAC (ARP for IPv4, neighbour solicitation for IPv6), sends
// ICMP(v6) echo requests and prints what came back in the format of iputils ping, ending with
// its summary (transmitted, received, loss, rtt min/avg/max/mdev). Meanwhile it answers ARP and
// neighbour solicitations for its own address, so that the peer can reach it back. Exit status 0
// if any reply came, 1 otherwise.
import { packet } from '../index.js';
import { macOption, type Prefixed, parseIPv4Prefix, parseIPv6Prefix } from './addr.js';
import type { Command, Context } from './command.js';
import { driveRx, pause } from './drive.js';
import { parseIntOption, parseNumberOption, UsageError } from './usage.js';

export const ping: Command = {
  name: 'ping',
  summary: 'ping an IPv4 or IPv6 address over the memif, in the format of iputils ping',
  usage: 'IP [-c COUNT] [-i INTERVAL] [-s SIZE] [-W TIMEOUT] [--ip A] [--ip6 A] [--mac M]',
  positionals: { min: 1, max: 1, name: 'the address to ping (IPv4 or IPv6)' },
  description: [
    'Resolves the MAC with ARP (IPv4) or neighbour solicitation (IPv6), then sends one echo request',
    'per interval. Our own address, unless given, is the target with its last byte set to 1 (2 when the',
    "target's last byte is 1); ARP and neighbour solicitations for it are answered. Exit status 0 if",
    'any reply came, 1 otherwise.',
  ],
  options: {
    count: {
      type: 'string',
      short: 'c',
      value: 'COUNT',
      default: 'until SIGINT',
      description: 'stop after COUNT requests',
    },
    interval: { type: 'string', short: 'i', value: 'INTERVAL', default: '1', description: 'seconds between requests' },
    size: { type: 'string', short: 's', value: 'SIZE', default: '56', description: 'echo data bytes' },
    timeout: {
      type: 'string',
      short: 'W',
      value: 'TIMEOUT',
      default: '2',
      description: 'seconds to wait for a reply (and for the address to resolve)',
    },
    ip: { type: 'string', value: 'A', description: 'our IPv4 address (default: derived from the target)' },
    ip6: { type: 'string', value: 'A', description: 'our IPv6 address (default: derived from the target)' },
    mac: { type: 'string', value: 'M', default: 'random 02:…', description: 'our MAC address' },
  },
  examples: [
    'memif ping 192.168.1.1 -c 3',
    'memif ping 2001:db8::1 -c 5 -i 0.2 --role master --socket /tmp/memif.sock',
  ],
  run: runPing,
};

async function runPing(ctx: Context): Promise<number> {
  const v = ctx.values;
  const target = ctx.positionals[0] as string;
  const v6 = target.includes(':');
  const dst: Prefixed = v6 ? parseIPv6Prefix(target, 'IP') : parseIPv4Prefix(target, 'IP');
  if (target.includes('/')) throw new UsageError(`IP must be an address without /len; got ${JSON.stringify(target)}`);
  const count = v.count === undefined ? undefined : parseIntOption(v.count as string, '-c', 1, Number.MAX_SAFE_INTEGER);
  const intervalS = parseNumberOption((v.interval as string | undefined) ?? '1', '-i', 86400);
  const size = parseIntOption((v.size as string | undefined) ?? '56', '-s', 0, v6 ? 65_527 : 65_507);
  const timeoutS = parseNumberOption((v.timeout as string | undefined) ?? '2', '-W', 86400);
  const srcOption = v6 ? v.ip6 : v.ip;
  const src: Prefixed =
    typeof srcOption === 'string'
      ? v6
        ? parseIPv6Prefix(srcOption, '--ip6')
        : parseIPv4Prefix(srcOption, '--ip')
      : derived(dst, v6);
  const mac = macOption(v.mac);
  const memif = await ctx.open();
  await ctx.waitForLink(memif); // false when stopped first: the summary is printed all the same

  const id = process.pid & 0xffff;
  const me: packet.ResponderConfig = v6 ? { mac, ip: Buffer.alloc(4), ip6: src.addr } : { mac, ip: src.addr };
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i + 8) & 0xff;
  const sentAt = new Map<number, bigint>();
  const rtts: number[] = [];
  let peerMac: Buffer | undefined;
  let onResolved: (() => void) | undefined;
  let transmitted = 0;
  let received = 0;
  let errors = 0;
  let duplicates = 0;
  const ipHeader = v6 ? 40 : 20;
  const header = v6
    ? `PING ${dst.text}(${dst.text}) from ${src.text} memif: ${size} data bytes`
    : `PING ${dst.text} (${dst.text}) from ${src.text} memif: ${size}(${size + 8 + ipHeader}) bytes of data.`;
  if (!ctx.shared.json) ctx.print(header);

  const send = (frames: Buffer[]) => {
    if (memif.connected) memif.txBurst(0, frames);
  };
  const driver = driveRx(memif, ctx.shared.rxMode, ctx.signal, (q) => {
    const frames = memif.rxBurst(q, 256);
    const now = process.hrtime.bigint();
    const replies: Buffer[] = [];
    for (const f of frames) {
      // Frames of the other family are not answered (the IPv6 mode has no IPv4 address).
      const answer =
        (f.length >= 14 && f.readUInt16BE(12) === packet.ETHERTYPE_IPV6) === v6 ? packet.respond(f, me) : undefined;
      if (answer) {
        replies.push(answer);
        continue;
      }
      if (!peerMac) {
        const resolved = resolvedMac(f, dst.addr, v6);
        if (resolved) {
          peerMac = resolved;
          onResolved?.();
        }
      }
      const echo = v6 ? packet.parseIcmp6Echo(f) : packet.parseIcmpEcho(f);
      if (!echo || echo.id !== id || !echo.srcIp.equals(dst.addr)) continue;
      if (echo.type !== (v6 ? packet.ICMPV6_ECHO_REPLY : packet.ICMP_ECHO_REPLY)) continue;
      const t0 = sentAt.get(echo.seq);
      if (t0 === undefined) {
        duplicates++;
        continue;
      }
      const ms = Number(now - t0) / 1e6;
      if (ms > timeoutS * 1000) continue; // too late: counted lost, as iputils does
      sentAt.delete(echo.seq);
      received++;
      rtts.push(ms);
      const ttl = v6 ? (echo as packet.Icmp6Echo).hopLimit : f[22];
      const bytes = 8 + echo.payload.length;
      const wrong = echo.payload.equals(payload) ? '' : ' (wrong data)';
      if (ctx.shared.json) ctx.json({ type: 'reply', from: dst.text, seq: echo.seq, ttl, bytes, timeMs: round3(ms) });
      else if (!ctx.shared.quiet) {
        ctx.print(`${bytes} bytes from ${dst.text}: icmp_seq=${echo.seq} ttl=${ttl} time=${fmtMs(ms)} ms${wrong}`);
      }
    }
    if (replies.length > 0) send(replies);
    return frames.length === 256;
  });

  const solicit = () =>
    send([
      v6
        ? packet.buildNeighborSolicitation({ srcMac: mac, srcIp: src.addr, targetIp: dst.addr })
        : packet.buildArpRequest({ senderMac: mac, senderIp: src.addr, targetIp: dst.addr }),
    ]);
  const resolve = async (maxS: number) => {
    const until = performance.now() + maxS * 1000;
    while (!peerMac && !ctx.signal.aborted && performance.now() < until) {
      solicit();
      const resolved = new Promise<void>((r) => {
        onResolved = r;
      });
      await Promise.race([resolved, pause(Math.min(500, until - performance.now()), ctx.signal)]);
      onResolved = undefined;
    }
  };

  const started = performance.now();
  let lastSend = started;
  await resolve(timeoutS);
  for (let seq = 1; count === undefined || seq <= count; seq++) {
    if (ctx.signal.aborted) break;
    const s16 = seq & 0xffff;
    lastSend = performance.now();
    transmitted++;
    if (!peerMac) {
      errors++;
      if (!ctx.shared.quiet && !ctx.shared.json)
        ctx.print(`From ${src.text} icmp_seq=${s16} Destination Host Unreachable`);
      void resolve(Math.min(intervalS, timeoutS));
    } else {
      const opts = { srcMac: mac, dstMac: peerMac, srcIp: src.addr, dstIp: dst.addr, id, seq: s16, payload };
      sentAt.set(s16, process.hrtime.bigint());
      send([v6 ? packet.buildIcmp6EchoRequest(opts) : packet.buildIcmpEchoRequest(opts)]);
    }
    if (count !== undefined && seq === count) break;
    await pause(intervalS * 1000, ctx.signal);
  }
  // Wait for the replies still due, up to the timeout.
  const deadline = performance.now() + timeoutS * 1000;
  while (!ctx.signal.aborted && sentAt.size > 0 && performance.now() < deadline && received + errors < transmitted) {
    await pause(Math.min(10, deadline - performance.now()), ctx.signal);
  }
  driver.stop();

  const timeMs = Math.round(lastSend - started);
  const lossPct = transmitted === 0 ? 0 : ((transmitted - received) * 100) / transmitted;
  const loss = `${Number(lossPct.toPrecision(6))}%`;
  const errs = errors > 0 ? `, +${errors} errors` : '';
  const dups = duplicates > 0 ? `, +${duplicates} duplicates` : '';
  const min = rtts.length ? Math.min(...rtts) : 0;
  const max = rtts.length ? Math.max(...rtts) : 0;
  const avg = rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : 0;
  const mdev = rtts.length ? Math.sqrt(Math.max(0, rtts.reduce((a, b) => a + b * b, 0) / rtts.length - avg * avg)) : 0;
  const lines = [
    '',
    `--- ${dst.text} ping statistics ---`,
    `${transmitted} packets transmitted, ${received} received${dups}${errs}, ${loss} packet loss, time ${timeMs}ms`,
  ];
  if (rtts.length) lines.push(`rtt min/avg/max/mdev = ${fmtMs(min)}/${fmtMs(avg)}/${fmtMs(max)}/${fmtMs(mdev)} ms`);
  ctx.reporter.summary(
    {
      target: dst.text,
      transmitted,
      received,
      errors,
      duplicates,
      lossPercent: lossPct,
      timeMs,
      ...(rtts.length ? { rttMs: { min: round3(min), avg: round3(avg), max: round3(max), mdev: round3(mdev) } } : {}),
    },
    lines,
  );
  return received > 0 ? 0 : 1;
}

/** The MAC `frame` says `target` has: an ARP reply/request from it, or a neighbour advertisement for it. */
function resolvedMac(frame: Buffer, target: Buffer, v6: boolean): Buffer | undefined {
  if (!v6) {
    const arp = packet.parseArp(frame);
    return arp?.senderIp.equals(target) ? arp.senderMac : undefined;
  }
  const nd = packet.parseNeighborMessage(frame);
  if (!nd || nd.type !== packet.ICMPV6_NEIGHBOR_ADVERTISEMENT || !nd.targetIp.equals(target)) return undefined;
  return nd.linkLayerAddress ?? nd.ethSrc;
}

/** The target with its last byte set to 1, or 2 if it ends in 1. */
function derived(dst: Prefixed, v6: boolean): Prefixed {
  const addr = Buffer.from(dst.addr);
  addr[addr.length - 1] = addr[addr.length - 1] === 1 ? 2 : 1;
  return { addr, prefixLength: dst.prefixLength, text: v6 ? packet.formatIPv6(addr) : packet.formatIPv4(addr) };
}

/** iputils' rtt format: three decimals below 100 ms, fewer above. */
function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(ms >= 1000 ? 0 : 1) : ms.toFixed(3);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
