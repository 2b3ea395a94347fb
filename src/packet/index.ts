// Packet helpers (Ethernet, ARP, IPv4/ICMP, IPv6/ICMPv6 with neighbour discovery, UDP over IPv4,
// checksums, a tiny ARP/ICMP/NDP responder), exported as the `packet` namespace of memif-ts.
export * from './arp.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './icmp.js';
export * from './icmp6.js';
export * from './ipv6.js';
export * from './responder.js';
export * from './udp.js';
