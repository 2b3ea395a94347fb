// memif responder: a tiny host on the memif — answers ARP requests and ICMP echo requests for its
// IPv4 address, and IPv6 neighbour solicitations and ICMPv6 echo requests for its IPv6 address
// (packet.respond), counting what it answered and what it ignored. Runs until SIGINT/SIGTERM.
import { packet } from '../index.js';
import { macOption, parseIPv4Prefix, parseIPv6Prefix } from './addr.js';
import type { Command, Context } from './command.js';
import { driveRx } from './drive.js';

export const responder: Command = {
  name: 'responder',
  summary: 'answer ARP and ping (ICMP echo) on IPv4, neighbour solicitation and ping on IPv6',
  usage: '[--ip A/len] [--ip6 A/len] [--mac M]',
  description: [
    'A host with one address per family: replies carry correct IPv4 and ICMP(v6) checksums.',
    'Counts replies by kind and frames it ignored. Runs until SIGINT/SIGTERM, then prints the counts.',
  ],
  options: {
    ip: { type: 'string', value: 'A/len', default: '192.168.1.1/24', description: 'our IPv4 address' },
    ip6: { type: 'string', value: 'A/len', description: 'our IPv6 address' },
    mac: { type: 'string', value: 'M', default: 'random 02:…', description: 'our MAC address' },
  },
  examples: [
    'memif responder --ip 192.168.1.1/24 --ip6 2001:db8::1/64',
    'memif responder --role master --socket /tmp/memif.sock --ip 10.0.0.1/24',
  ],
  async run(ctx: Context) {
    const ip = parseIPv4Prefix((ctx.values.ip as string | undefined) ?? '192.168.1.1/24', '--ip');
    const ip6 = typeof ctx.values.ip6 === 'string' ? parseIPv6Prefix(ctx.values.ip6, '--ip6') : undefined;
    const mac = macOption(ctx.values.mac);
    const config: packet.ResponderConfig = ip6 ? { mac, ip: ip.addr, ip6: ip6.addr } : { mac, ip: ip.addr };
    const memif = await ctx.open();
    const counts = { arp: 0, echo: 0, neighbor: 0, echo6: 0, ignored: 0, dropped: 0 };
    const c = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
    ctx.note(
      `responder ${packet.formatMac(mac)} ${ip.text}/${ip.prefixLength}${ip6 ? ` ${ip6.text}/${ip6.prefixLength}` : ''}`,
    );
    ctx.report(() => ({
      link: memif.connected,
      ...c,
      drops: counts.dropped,
      extra: { answered: counts.arp + counts.echo + counts.neighbor + counts.echo6, ignored: counts.ignored },
    }));
    const replies: Buffer[] = [];
    const driver = driveRx(memif, ctx.shared.rxMode, ctx.signal, (q) => {
      const frames = memif.rxBurst(q, 256);
      for (const f of frames) {
        c.rxPackets++;
        c.rxBytes += f.length;
        const reply = packet.respond(f, config);
        if (!reply) {
          counts.ignored++;
          continue;
        }
        const type = reply.readUInt16BE(12);
        if (type === packet.ETHERTYPE_ARP) counts.arp++;
        else if (type === packet.ETHERTYPE_IPV4) counts.echo++;
        else if (reply[54] === packet.ICMPV6_NEIGHBOR_ADVERTISEMENT) counts.neighbor++;
        else counts.echo6++;
        replies.push(reply);
      }
      if (replies.length > 0) {
        const sent = memif.txBurst(q % memif.txQueueCount, replies);
        for (let i = 0; i < sent; i++) c.txBytes += (replies[i] as Buffer).length;
        c.txPackets += sent;
        counts.dropped += replies.length - sent;
        replies.length = 0;
      }
      return frames.length === 256;
    });
    await driver.done;
    ctx.reporter.summary({ ...counts, ...c }, [
      `responder: answered ${counts.arp} ARP requests, ${counts.echo} echo requests, ${counts.neighbor} neighbour solicitations, ${counts.echo6} ICMPv6 echo requests; ignored ${counts.ignored} frames; ${counts.dropped} replies dropped (tx ring full)`,
    ]);
    return 0;
  },
};
