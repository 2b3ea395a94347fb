// A minimal host stack for one IPv4 and/or one IPv6 address: answers ARP requests and ICMP echo
// requests aimed at the IPv4 address, neighbour solicitations and ICMPv6 echo requests aimed at the
// IPv6 address, ignores everything else. Never throws on what it receives; returns the frame to
// send, if any.
import { isUint8Array } from 'node:util/types';
import { checkSize, readFields } from './args.js';
import { ARP_OP_REQUEST, buildArpReply, parseArp } from './arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from './ethernet.js';
import { buildIcmpEchoReply, ICMP_ECHO_REQUEST, parseIcmpEcho } from './icmp.js';
import { buildIcmp6EchoReply, buildNeighborAdvertisement, ICMPV6_NEIGHBOR_SOLICITATION } from './icmp6.js';
import { ETHERTYPE_IPV6, IPPROTO_ICMPV6 } from './ipv6.js';

/** The addresses the responder answers for. */
export interface ResponderConfig {
  /** Our MAC, 6 bytes. */
  mac: Uint8Array;
  /** Our IPv4 address, 4 bytes. */
  ip: Uint8Array;
  /** Our IPv6 address, 16 bytes (optional: without it IPv6 is ignored). */
  ip6?: Uint8Array;
}

/**
 * Reply to an ARP request for `config.ip`, an ICMP echo request to `config.ip`, a neighbour
 * solicitation for `config.ip6` or an ICMPv6 echo request to `config.ip6`; otherwise undefined.
 * Throws InvalidArgumentError if `config` is not `{ mac: 6 bytes, ip: 4 bytes, ip6?: 16 bytes }`.
 */
export function respond(frame: Uint8Array, config: ResponderConfig): Buffer | undefined {
  const { mac, ip, ip6 } = readFields(config, 'config', ['mac', 'ip', 'ip6']);
  checkSize(mac, 6, 'config.mac');
  checkSize(ip, 4, 'config.ip');
  if (ip6 !== undefined) checkSize(ip6, 16, 'config.ip6');
  if (!isUint8Array(frame) || frame.length < 14) return undefined;
  const etherType = (frame[12] << 8) | frame[13];
  if (etherType === ETHERTYPE_ARP) {
    const arp = parseArp(frame);
    if (!arp || arp.op !== ARP_OP_REQUEST || !arp.targetIp.equals(ip)) return undefined;
    return buildArpReply(frame, mac);
  }
  if (etherType === ETHERTYPE_IPV4) {
    const echo = parseIcmpEcho(frame);
    if (!echo || echo.type !== ICMP_ECHO_REQUEST || !echo.dstIp.equals(ip)) return undefined;
    return buildIcmpEchoReply(frame, mac);
  }
  if (etherType === ETHERTYPE_IPV6 && ip6 !== undefined && frame.length >= 55 && frame[20] === IPPROTO_ICMPV6) {
    if (frame[54] === ICMPV6_NEIGHBOR_SOLICITATION) return buildNeighborAdvertisement(frame, mac, ip6);
    // Only echo requests to our own address (not to multicast groups).
    if (!Buffer.from(frame.buffer, frame.byteOffset + 38, 16).equals(ip6)) return undefined;
    return buildIcmp6EchoReply(frame, mac, ip6);
  }
  return undefined;
}
