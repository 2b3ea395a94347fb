// Packet helpers (Ethernet, ARP, IPv4/ICMP, checksum, a tiny ARP + ICMP echo responder), exported
// as the `packet` namespace of memif-ts.
export * from './arp.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './icmp.js';
export * from './ipv6.js';
export * from './responder.js';
