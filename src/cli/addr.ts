// Addresses on the command line: "A/len" for our IPv4 and IPv6 addresses, MACs, and the random
// locally administered MAC a command uses when none is given.
import { randomBytes } from 'node:crypto';
import { packet } from '../index.js';
import { parseWith, UsageError } from './usage.js';

/** An address with its prefix length. */
export interface Prefixed {
  addr: Buffer;
  prefixLength: number;
  text: string;
}

/** "192.168.1.1/24" (or without /len: /32) for `option`. */
export function parseIPv4Prefix(raw: string, option: string): Prefixed {
  const [a = '', len] = raw.split('/', 2);
  const addr = parseWith(packet.parseIPv4, a, option);
  return { addr, prefixLength: prefixLength(len, 32, option), text: a };
}

/** "2001:db8::1/64" (or without /len: /128) for `option`. */
export function parseIPv6Prefix(raw: string, option: string): Prefixed {
  const [a = '', len] = raw.split('/', 2);
  const addr = parseWith(packet.parseIPv6, a, option);
  return { addr, prefixLength: prefixLength(len, 128, option), text: packet.formatIPv6(addr) };
}

/** --mac, or a random locally administered unicast MAC (02:xx:…). */
export function macOption(raw: string | boolean | undefined, option = '--mac'): Buffer {
  if (typeof raw === 'string') return parseWith(packet.parseMac, raw, option);
  const mac = randomBytes(6);
  mac[0] = 0x02;
  return mac;
}

function prefixLength(len: string | undefined, max: number, option: string): number {
  if (len === undefined) return max;
  const n = /^\d{1,3}$/.test(len) ? Number(len) : Number.NaN;
  if (!(n >= 0 && n <= max))
    throw new UsageError(`${option}: prefix length must be 0 … ${max}; got ${JSON.stringify(len)}`);
  return n;
}
