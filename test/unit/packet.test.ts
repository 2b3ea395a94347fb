// Unit tests of src/packet: the Internet checksum, address text forms, ARP and ICMP echo frames,
// and the responder, checked against known real bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import { ARP_FRAME_SIZE, buildArpReply, buildArpRequest, parseArp } from '../../src/packet/arp.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import {
  ETH_HEADER_SIZE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  formatIPv4,
  formatMac,
  parseIPv4,
  parseMac,
} from '../../src/packet/ethernet.js';
import { buildIcmpEchoReply, buildIcmpEchoRequest, parseIcmpEcho } from '../../src/packet/icmp.js';
import { respond } from '../../src/packet/responder.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const HOST_MAC = parseMac('02:00:00:00:00:01');
const HOST_IP = parseIPv4('192.168.1.10');
const MY_MAC = parseMac('02:00:00:00:00:02');
const MY_IP = parseIPv4('192.168.1.1');
const CONFIG = { mac: MY_MAC, ip: MY_IP };
const WINDOWS_PAYLOAD = Buffer.from('abcdefghijklmnopqrstuvwabcdefghi');

/** Offsets of the IP header and ICMP message of an Ethernet/IPv4 frame. */
function layout(frame: Uint8Array): { ip: number; icmp: number; end: number } {
  const ip = ETH_HEADER_SIZE;
  const icmp = ip + (frame[ip] & 0x0f) * 4;
  const end = ip + ((frame[ip + 2] << 8) | frame[ip + 3]);
  return { ip, icmp, end };
}

/** Insert `options` (multiple of 4 bytes) after the 20-byte IP header and fix IHL, length and checksums. */
function withIpOptions(frame: Buffer, options: Buffer): Buffer {
  const out = Buffer.concat([frame.subarray(0, 34), options, frame.subarray(34)]);
  out[14] = 0x40 | ((20 + options.length) / 4);
  out.writeUInt16BE(out.readUInt16BE(16) + options.length, 16);
  out.writeUInt16BE(0, 24);
  out.writeUInt16BE(internetChecksum(out, 14, 34 + options.length), 24);
  return out;
}

// ---------------------------------------------------------------- checksum

test('internetChecksum: RFC 1071 §3 example gives 0x220d', () => {
  assert.equal(internetChecksum(hex('0001 f203 f4f5 f6f7')), 0x220d);
});

test('internetChecksum: known IPv4 header checksum 0xb861, and 0 over the intact header', () => {
  const header = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  assert.equal(internetChecksum(header), 0);
  const zeroed = Buffer.from(header);
  zeroed.writeUInt16BE(0, 10);
  assert.equal(internetChecksum(zeroed), 0xb861);
});

test('internetChecksum: odd length pads with zero; start/end select a range', () => {
  assert.equal(internetChecksum(hex('0001 f203 f4f5 f6')), internetChecksum(hex('0001 f203 f4f5 f600')));
  const framed = Buffer.concat([hex('dead'), hex('0001 f203 f4f5 f6f7'), hex('beef')]);
  assert.equal(internetChecksum(framed, 2, 10), 0x220d);
  assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
  assert.equal(internetChecksum(hex('ff')), 0x00ff);
});

// ---------------------------------------------------------------- ethernet

test('MAC and IPv4 text forms round-trip', () => {
  assert.deepEqual(parseMac('AA:bb:0c:dd:ee:FF'), hex('aabb0cddeeff'));
  assert.equal(formatMac(hex('aabb0cddeeff')), 'aa:bb:0c:dd:ee:ff');
  assert.equal(formatMac(hex('00 aabb0cddeeff'), 1), 'aa:bb:0c:dd:ee:ff');
  assert.deepEqual(parseIPv4('192.0.2.255'), hex('c00002ff'));
  assert.deepEqual(parseIPv4('0.0.0.0'), hex('00000000'));
  assert.equal(formatIPv4(hex('c00002ff')), '192.0.2.255');
  assert.equal(formatIPv4(hex('0000 c0a80001'), 2), '192.168.0.1');
  assert.equal(ETHERTYPE_IPV4, 0x0800);
  assert.equal(ETHERTYPE_ARP, 0x0806);
  assert.equal(ETH_HEADER_SIZE, 14);
});

test('parseMac and parseIPv4 throw InvalidArgumentError on bad input', () => {
  const badMacs = [
    '',
    'aa:bb:cc:dd:ee',
    'aa:bb:cc:dd:ee:ff:00',
    'aa-bb-cc-dd-ee-ff',
    'gg:bb:cc:dd:ee:ff',
    'a:b:c:d:e:f',
  ];
  for (const bad of badMacs) {
    assert.throws(() => parseMac(bad), InvalidArgumentError, bad);
  }
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', '01.2.3.4', 'a.b.c.d', ' 1.2.3.4']) {
    assert.throws(() => parseIPv4(bad), InvalidArgumentError, bad);
  }
  assert.throws(() => parseMac('nope'), /invalid MAC address "nope"/);
  assert.throws(() => parseIPv4('nope'), /invalid IPv4 address "nope"/);
  assert.throws(() => formatMac(hex('aabbcc')), InvalidArgumentError);
  assert.throws(() => formatIPv4(hex('c0a800'), 0), InvalidArgumentError);
});

// ---------------------------------------------------------------- ARP

const ARP_REQUEST_BYTES = hex(`
  ffffffffffff 020000000001 0806
  0001 0800 06 04 0001
  020000000001 c0a8010a
  000000000000 c0a80101`);

const ARP_REPLY_BYTES = hex(`
  020000000001 020000000002 0806
  0001 0800 06 04 0002
  020000000002 c0a80101
  020000000001 c0a8010a`);

test('buildArpRequest produces the exact 42-byte broadcast frame', () => {
  const req = buildArpRequest({ senderMac: HOST_MAC, senderIp: HOST_IP, targetIp: MY_IP });
  assert.equal(req.length, 42);
  assert.equal(ARP_FRAME_SIZE, 42);
  assert.deepEqual(req, ARP_REQUEST_BYTES);
});

test('parseArp reads the fields', () => {
  const arp = parseArp(ARP_REQUEST_BYTES);
  assert.ok(arp);
  assert.equal(arp.op, 1);
  assert.equal(formatMac(arp.senderMac), '02:00:00:00:00:01');
  assert.equal(formatIPv4(arp.senderIp), '192.168.1.10');
  assert.equal(formatMac(arp.targetMac), '00:00:00:00:00:00');
  assert.equal(formatIPv4(arp.targetIp), '192.168.1.1');
});

test('parseArp returns copies that survive reuse of the frame buffer', () => {
  const frame = Buffer.from(ARP_REQUEST_BYTES);
  const arp = parseArp(frame);
  frame.fill(0);
  assert.equal(formatIPv4(arp?.targetIp ?? Buffer.alloc(4)), '192.168.1.1');
});

test('buildArpReply matches the expected reply byte by byte', () => {
  const reply = buildArpReply(ARP_REQUEST_BYTES, MY_MAC);
  assert.deepEqual(reply, ARP_REPLY_BYTES);
  for (let i = 0; i < ARP_REPLY_BYTES.length; i++) assert.equal(reply[i], ARP_REPLY_BYTES[i], `byte ${i}`);
});

test('buildArpReply drops Ethernet padding of a 60-byte request; works on a Uint8Array view', () => {
  const padded = Buffer.concat([ARP_REQUEST_BYTES, Buffer.alloc(18)]);
  assert.deepEqual(buildArpReply(padded, MY_MAC), ARP_REPLY_BYTES);
  const backing = new Uint8Array(100);
  backing.set(ARP_REQUEST_BYTES, 7);
  const view = new Uint8Array(backing.buffer, 7, 42);
  assert.deepEqual(buildArpReply(view, new Uint8Array(MY_MAC)), ARP_REPLY_BYTES);
});

test('buildArpReply throws on a frame that is not an ARP request', () => {
  assert.throws(() => buildArpReply(ARP_REPLY_BYTES, MY_MAC), InvalidArgumentError);
  assert.throws(() => buildArpReply(ARP_REQUEST_BYTES.subarray(0, 41), MY_MAC), InvalidArgumentError);
});

test('parseArp: truncated, wrong ethertype, wrong hardware/protocol → undefined', () => {
  assert.equal(parseArp(ARP_REQUEST_BYTES.subarray(0, 41)), undefined);
  assert.equal(parseArp(new Uint8Array(0)), undefined);
  const cases: Array<[number, number]> = [
    [12, 0x08], // ethertype 0x0808
    [15, 0x06], // htype 6 (IEEE 802)
    [16, 0x86], // ptype 0x8600
    [18, 8], // hlen
    [19, 16], // plen
  ];
  for (const [offset, value] of cases) {
    const f = Buffer.from(ARP_REQUEST_BYTES);
    f[offset] = value;
    if (offset === 12) f[13] = 0x08;
    assert.equal(parseArp(f), undefined, `offset ${offset}`);
  }
});

// ---------------------------------------------------------------- ICMP

function echoRequest(payload: Buffer = WINDOWS_PAYLOAD, dstIp: Buffer = MY_IP): Buffer {
  return buildIcmpEchoRequest({ srcMac: HOST_MAC, dstMac: MY_MAC, srcIp: HOST_IP, dstIp, id: 1, seq: 1, payload });
}

test('buildIcmpEchoRequest: layout and checksums (Windows ping id 1 seq 1 → ICMP checksum 0x4d5a)', () => {
  const f = echoRequest();
  assert.equal(f.length, 14 + 20 + 8 + 32);
  assert.deepEqual(f.subarray(0, 14), hex('020000000002 020000000001 0800'));
  const { ip, icmp, end } = layout(f);
  assert.equal(f[ip], 0x45);
  assert.equal(f.readUInt16BE(ip + 2), 60);
  assert.equal(f[ip + 8], 64);
  assert.equal(f[ip + 9], 1);
  assert.deepEqual(f.subarray(ip + 12, ip + 20), hex('c0a8010a c0a80101'));
  assert.equal(internetChecksum(f, ip, icmp), 0);
  assert.deepEqual(f.subarray(icmp, icmp + 8), hex('08 00 4d5a 0001 0001'));
  assert.equal(internetChecksum(f, icmp, end), 0);
  assert.deepEqual(f.subarray(icmp + 8), WINDOWS_PAYLOAD);
});

test('buildIcmpEchoRequest: odd payload and empty payload still checksum to 0', () => {
  for (const payload of [Buffer.from('abc'), Buffer.alloc(0)]) {
    const f = echoRequest(payload);
    const { ip, icmp, end } = layout(f);
    assert.equal(internetChecksum(f, ip, icmp), 0);
    assert.equal(internetChecksum(f, icmp, end), 0);
  }
  assert.throws(
    () => buildIcmpEchoRequest({ srcMac: HOST_MAC, dstMac: MY_MAC, srcIp: HOST_IP, dstIp: MY_IP, id: 70000, seq: 1 }),
    InvalidArgumentError,
  );
});

test('parseIcmpEcho reads a request', () => {
  const e = parseIcmpEcho(echoRequest());
  assert.ok(e);
  assert.equal(e.type, 8);
  assert.equal(e.code, 0);
  assert.equal(e.id, 1);
  assert.equal(e.seq, 1);
  assert.equal(formatIPv4(e.srcIp), '192.168.1.10');
  assert.equal(formatIPv4(e.dstIp), '192.168.1.1');
  assert.deepEqual(e.payload, WINDOWS_PAYLOAD);
});

function assertValidReply(req: Buffer, reply: Buffer | undefined): asserts reply is Buffer {
  assert.ok(reply, 'expected a reply');
  const rq = layout(req);
  const rp = layout(reply);
  assert.equal(reply.length, rp.end);
  // Ethernet: destination is the requester, source is us.
  assert.deepEqual(reply.subarray(0, 6), req.subarray(6, 12));
  assert.deepEqual(reply.subarray(6, 12), MY_MAC);
  assert.equal(reply.readUInt16BE(12), ETHERTYPE_IPV4);
  // IPv4: swapped addresses, valid checksum, same header length and total length.
  assert.equal(reply[rp.ip], req[rq.ip]);
  assert.equal(reply.readUInt16BE(rp.ip + 2), req.readUInt16BE(rq.ip + 2));
  assert.deepEqual(reply.subarray(rp.ip + 12, rp.ip + 16), req.subarray(rq.ip + 16, rq.ip + 20));
  assert.deepEqual(reply.subarray(rp.ip + 16, rp.ip + 20), req.subarray(rq.ip + 12, rq.ip + 16));
  assert.equal(reply[rp.ip + 9], 1);
  assert.equal(internetChecksum(reply, rp.ip, rp.icmp), 0);
  // ICMP: type 0 code 0, valid checksum, same id/seq/payload.
  assert.equal(reply[rp.icmp], 0);
  assert.equal(reply[rp.icmp + 1], 0);
  assert.equal(internetChecksum(reply, rp.icmp, rp.end), 0);
  assert.deepEqual(reply.subarray(rp.icmp + 4, rp.end), req.subarray(rq.icmp + 4, rq.end));
  const parsed = parseIcmpEcho(reply);
  const original = parseIcmpEcho(req);
  assert.ok(parsed && original);
  assert.equal(parsed.type, 0);
  assert.equal(parsed.id, original.id);
  assert.equal(parsed.seq, original.seq);
  assert.deepEqual(parsed.payload, original.payload);
}

test('buildIcmpEchoReply: swapped addresses, checksums verify, same payload', () => {
  const req = echoRequest();
  const reply = buildIcmpEchoReply(req, MY_MAC);
  assertValidReply(req, reply);
  // Type 8 → 0 changes the ICMP checksum by exactly 0x0800 (RFC 1624 incremental update).
  assert.equal(reply.readUInt16BE(36), 0x4d5a + 0x0800);
});

test('buildIcmpEchoReply: odd-length payload, and Ethernet padding dropped', () => {
  const odd = echoRequest(Buffer.from('hello'));
  assertValidReply(odd, buildIcmpEchoReply(odd, MY_MAC));
  const small = echoRequest(Buffer.alloc(0));
  const padded = Buffer.concat([small, Buffer.alloc(60 - small.length, 0xee)]);
  const reply = buildIcmpEchoReply(padded, MY_MAC);
  assertValidReply(small, reply);
  assert.equal(reply.length, small.length);
});

test('buildIcmpEchoReply: IHL=6 request (one 4-byte IP option) is honoured', () => {
  // One NOP-padded option word: 01 01 01 00 (NOP NOP NOP EOL).
  const req = withIpOptions(echoRequest(), hex('01010100'));
  assert.equal(req[14], 0x46);
  assert.equal(internetChecksum(req, 14, 38), 0);
  const e = parseIcmpEcho(req);
  assert.ok(e);
  assert.equal(e.id, 1);
  assert.deepEqual(e.payload, WINDOWS_PAYLOAD);
  const reply = buildIcmpEchoReply(req, MY_MAC);
  assertValidReply(req, reply);
  assert.equal(reply[14], 0x46);
  assert.deepEqual(reply.subarray(34, 38), hex('01010100'));
  assert.equal(reply[38], 0);
  assert.deepEqual(reply.subarray(46), WINDOWS_PAYLOAD);
});

test('buildIcmpEchoReply: not an echo request → undefined', () => {
  const req = echoRequest();
  const reply = buildIcmpEchoReply(req, MY_MAC);
  assert.ok(reply);
  assert.equal(buildIcmpEchoReply(reply, MY_MAC), undefined, 'an echo reply is not answered');
  const code1 = Buffer.from(req);
  code1[35] = 1;
  assert.equal(buildIcmpEchoReply(code1, MY_MAC), undefined);
  assert.throws(() => buildIcmpEchoReply(req, MY_MAC.subarray(0, 5)), InvalidArgumentError, 'our MAC is the caller’s');
});

test('parseIcmpEcho: truncated and malformed frames → undefined', () => {
  const req = echoRequest();
  const mutate = (offset: number, value: number): Buffer => {
    const f = Buffer.from(req);
    f[offset] = value;
    return f;
  };
  const bad: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['ethernet only', req.subarray(0, 14)],
    ['truncated IP header', req.subarray(0, 30)],
    ['truncated ICMP (total length beyond frame)', req.subarray(0, req.length - 1)],
    ['ethertype ARP', Buffer.concat([req.subarray(0, 12), hex('0806'), req.subarray(14)])],
    ['ethertype IPv6', Buffer.concat([req.subarray(0, 12), hex('86dd'), req.subarray(14)])],
    ['version 6', mutate(14, 0x65)],
    ['IHL 4', mutate(14, 0x44)],
    ['IHL 15 beyond total length', mutate(14, 0x4f)],
    ['total length too small for ICMP echo', mutate(17, 27)],
    ['protocol UDP', mutate(23, 17)],
    ['more-fragments flag', mutate(20, 0x60)],
    ['fragment offset', mutate(21, 0x01)],
    ['ICMP type 3', mutate(34, 3)],
    ['garbage', Buffer.alloc(64, 0xa5)],
    ['zeros', Buffer.alloc(64)],
  ];
  for (const [name, frame] of bad) {
    assert.equal(parseIcmpEcho(frame), undefined, name);
    assert.equal(buildIcmpEchoReply(frame, MY_MAC), undefined, name);
    assert.equal(respond(frame, CONFIG), undefined, name);
  }
});

// ---------------------------------------------------------------- responder

test('respond answers an ARP request for our IP with the exact reply', () => {
  assert.deepEqual(respond(ARP_REQUEST_BYTES, CONFIG), ARP_REPLY_BYTES);
});

test('respond answers an echo request to our IP', () => {
  const req = echoRequest();
  assertValidReply(req, respond(req, CONFIG));
  const withOptions = withIpOptions(req, hex('01010100'));
  assertValidReply(withOptions, respond(withOptions, CONFIG));
});

test('respond: wrong target IP, replies, other traffic, garbage → undefined', () => {
  const otherIp = parseIPv4('192.168.1.99');
  const arpForOther = buildArpRequest({ senderMac: HOST_MAC, senderIp: HOST_IP, targetIp: otherIp });
  assert.equal(respond(arpForOther, CONFIG), undefined);
  assert.equal(respond(ARP_REPLY_BYTES, CONFIG), undefined);
  assert.equal(respond(echoRequest(WINDOWS_PAYLOAD, otherIp), CONFIG), undefined);
  const reply = buildIcmpEchoReply(echoRequest(), MY_MAC);
  assert.ok(reply);
  assert.equal(respond(reply, { mac: HOST_MAC, ip: MY_IP }), undefined, 'echo reply is not answered');
  assert.equal(respond(new Uint8Array(0), CONFIG), undefined);
  assert.equal(respond(ARP_REQUEST_BYTES.subarray(0, 20), CONFIG), undefined);
  assert.equal(respond(Buffer.alloc(1500, 0xff), CONFIG), undefined);
  assert.throws(() => respond(ARP_REQUEST_BYTES, { mac: MY_MAC.subarray(0, 3), ip: MY_IP }), InvalidArgumentError);
  for (let len = 0; len < ARP_REQUEST_BYTES.length; len++) {
    assert.equal(respond(ARP_REQUEST_BYTES.subarray(0, len), CONFIG), undefined, `ARP cut at ${len}`);
  }
  const req = echoRequest();
  for (let len = 0; len < req.length; len++) {
    assert.equal(respond(req.subarray(0, len), CONFIG), undefined, `echo cut at ${len}`);
  }
});
