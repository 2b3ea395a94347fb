// A minimal host stack for one IPv4 address: answers ARP requests and ICMP echo requests aimed at
// it, ignores everything else. Never throws on what it receives; returns the frame to send, if any.
import { ARP_OP_REQUEST, buildArpReply, parseArp } from './arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from './ethernet.js';
import { buildIcmpEchoReply, ICMP_ECHO_REQUEST, parseIcmpEcho } from './icmp.js';

/** The address the responder answers for. */
export interface ResponderConfig {
  /** Our MAC, 6 bytes. */
  mac: Uint8Array;
  /** Our IPv4 address, 4 bytes. */
  ip: Uint8Array;
}

/** Reply to an ARP request for `config.ip` or an ICMP echo request to `config.ip`; otherwise undefined. */
export function respond(frame: Uint8Array, config: ResponderConfig): Buffer | undefined {
  if (!(frame instanceof Uint8Array) || frame.length < 14) return undefined;
  const { mac, ip } = config;
  if (!(mac instanceof Uint8Array) || mac.length !== 6 || !(ip instanceof Uint8Array) || ip.length !== 4) {
    return undefined;
  }
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
  return undefined;
}
