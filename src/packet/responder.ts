// A minimal host stack for one IPv4 address: answers ARP requests and ICMP echo requests aimed at
// it, ignores everything else. Never throws on what it receives; returns the frame to send, if any.
import { isUint8Array } from 'node:util/types';
import { checkSize, readFields } from './args.js';
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

/**
 * Reply to an ARP request for `config.ip` or an ICMP echo request to `config.ip`; otherwise
 * undefined. Throws InvalidArgumentError if `config` is not `{ mac: 6 bytes, ip: 4 bytes }`.
 */
export function respond(frame: Uint8Array, config: ResponderConfig): Buffer | undefined {
  const { mac, ip } = readFields(config, 'config', ['mac', 'ip']);
  checkSize(mac, 6, 'config.mac');
  checkSize(ip, 4, 'config.ip');
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
  return undefined;
}
