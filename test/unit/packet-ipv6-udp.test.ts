// Unit tests of the IPv6, ICMPv6 (echo, neighbour discovery) and UDP helpers of src/packet, and of
// the responder's IPv6 side. The expected frames are byte-exact; each was decoded by tshark 4
// (`tshark -V -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE`), which found every
// checksum correct and every field as the test names it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseIPv4, parseMac } from '../../src/packet/ethernet.js';
import {
  buildIcmp6EchoReply,
  buildIcmp6EchoRequest,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  ICMPV6_ECHO_REPLY,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  parseIcmp6Echo,
  parseNeighborMessage,
  solicitedNodeAddress,
} from '../../src/packet/icmp6.js';
import { formatIPv6, ipv6PseudoChecksum, parseIPv6 } from '../../src/packet/ipv6.js';
import { respond } from '../../src/packet/responder.js';
import { buildUdpFrame, parseUdpFrame, UDP_PAYLOAD_OFFSET } from '../../src/packet/udp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const MAC_A = parseMac('02:00:00:00:00:0a');
const MAC_B = parseMac('02:00:00:00:00:0b');
const IP6_A = parseIPv6('2001:db8::a');
const IP6_B = parseIPv6('2001:db8::b');
const V4 = parseIPv4('192.0.2.99');

// NS from 2001:db8::a (02:..:0a) for 2001:db8::b: to ff02::1:ff00:b / 33:33:ff:00:00:0b, hop limit
// 255, source link-layer option; tshark: checksum 0x1c03 [correct].
const NS = hex(`3333ff00000b 02000000000a 86dd
  60000000 0020 3a ff 20010db800000000000000000000000a ff0200000000000000000001ff00000b
  87 00 1c03 00000000 20010db800000000000000000000000b 01 01 02000000000a`);
// Its answer: solicited + override, target link-layer option; tshark: checksum 0x8a4d [correct].
const NA = hex(`02000000000a 02000000000b 86dd
  60000000 0020 3a ff 20010db800000000000000000000000b 20010db800000000000000000000000a
  88 00 8a4d 60000000 20010db800000000000000000000000b 02 01 02000000000b`);
// Echo request id 0x1234 seq 1, payload "abcdefgh"; tshark: checksum 0x8063 [correct].
const ECHO6 = hex(`02000000000b 02000000000a 86dd
  60000000 0010 3a 40 20010db800000000000000000000000a 20010db800000000000000000000000b
  80 00 8063 1234 0001 6162636465666768`);
// Its reply; tshark: checksum 0x7f63 [correct].
const ECHO6_REPLY = hex(`02000000000a 02000000000b 86dd
  60000000 0010 3a 40 20010db800000000000000000000000b 20010db800000000000000000000000a
  81 00 7f63 1234 0001 6162636465666768`);
// UDP 192.0.2.1:1024 → 192.0.2.2:9, IP id 0x4242, DF, TTL 64, "hello, udp!"; tshark: IPv4
// header checksum 0x7480 [correct], UDP checksum 0x8dd7 [correct].
const UDP = hex(`02000000000b 02000000000a 0800
  45 00 0027 4242 4000 40 11 7480 c0000201 c0000202
  0400 0009 0013 8dd7 68656c6c6f2c2075647021`);

test('IPv6 text forms: parse RFC 4291 forms, format RFC 5952', () => {
  const cases: [string, string][] = [
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['ff02::1:ff00:b', 'ff02::1:ff00:b'],
  ];
  for (const [text, canonical] of cases) assert.equal(formatIPv6(parseIPv6(text)), canonical, text);
  assert.deepEqual(parseIPv6('2001:db8::a'), hex('20010db800000000000000000000000a'));
  for (const bad of [
    '',
    ':',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    'g::1',
    '12345::',
    '::1.2.3.256',
    '::01.2.3.4',
    1,
  ]) {
    assert.throws(() => parseIPv6(bad as string), InvalidArgumentError, String(bad));
  }
  assert.throws(() => formatIPv6(Buffer.alloc(15)), InvalidArgumentError);
});

test('neighbour solicitation: the exact frame; solicited-node address', () => {
  assert.deepEqual(solicitedNodeAddress(IP6_B), parseIPv6('ff02::1:ff00:b'));
  assert.deepEqual(buildNeighborSolicitation({ srcMac: MAC_A, srcIp: IP6_A, targetIp: IP6_B }), NS);
  const ns = parseNeighborMessage(NS);
  assert.ok(ns);
  assert.equal(ns.type, ICMPV6_NEIGHBOR_SOLICITATION);
  assert.deepEqual(ns.targetIp, IP6_B);
  assert.deepEqual(ns.linkLayerAddress, MAC_A);
});

test('neighbour advertisement: the exact answer; parsed flags and link-layer address', () => {
  assert.deepEqual(buildNeighborAdvertisement(NS, MAC_B, IP6_B), NA);
  assert.deepEqual(respond(NS, { mac: MAC_B, ip: V4, ip6: IP6_B }), NA);
  const na = parseNeighborMessage(NA);
  assert.ok(na);
  assert.equal(na.type, ICMPV6_NEIGHBOR_ADVERTISEMENT);
  assert.equal(na.flags, 0x60);
  assert.deepEqual(na.linkLayerAddress, MAC_B);
  // For another address, or broken: no answer.
  assert.equal(buildNeighborAdvertisement(NS, MAC_B, IP6_A), undefined);
  for (const [at, value, why] of [
    [21, 64, 'hop limit not 255'],
    [55, 1, 'code not 0'],
    [57, 0x04, 'bad checksum'],
    [79, 0, 'option of length 0'],
  ] as const) {
    const bad = Buffer.from(NS);
    bad[at] = value;
    assert.equal(respond(bad, { mac: MAC_B, ip: V4, ip6: IP6_B }), undefined, why);
  }
  for (let len = 0; len < NS.length; len++) assert.equal(parseNeighborMessage(NS.subarray(0, len)), undefined);
});

test('ICMPv6 echo: the exact request and reply; the responder answers only its address', () => {
  const req = buildIcmp6EchoRequest({
    srcMac: MAC_A,
    dstMac: MAC_B,
    srcIp: IP6_A,
    dstIp: IP6_B,
    id: 0x1234,
    seq: 1,
    payload: Buffer.from('abcdefgh'),
  });
  assert.deepEqual(req, ECHO6);
  assert.deepEqual(buildIcmp6EchoReply(ECHO6, MAC_B), ECHO6_REPLY);
  assert.deepEqual(respond(ECHO6, { mac: MAC_B, ip: V4, ip6: IP6_B }), ECHO6_REPLY);
  const r = parseIcmp6Echo(ECHO6_REPLY);
  assert.ok(r);
  assert.equal(r.type, ICMPV6_ECHO_REPLY);
  assert.equal(r.seq, 1);
  assert.deepEqual(r.payload, Buffer.from('abcdefgh'));
  assert.equal(respond(ECHO6, { mac: MAC_B, ip: V4, ip6: IP6_A }), undefined, 'not our address');
  assert.equal(respond(ECHO6, { mac: MAC_B, ip: parseIPv4('192.0.2.1') }), undefined, 'no IPv6 address');
  assert.equal(respond(ECHO6_REPLY, { mac: MAC_A, ip: V4, ip6: IP6_A }), undefined, 'a reply is not answered');
  const corrupt = Buffer.from(ECHO6);
  corrupt[ECHO6.length - 1] ^= 1;
  assert.equal(parseIcmp6Echo(corrupt), undefined, 'bad checksum');
  assert.equal(respond(corrupt, { mac: MAC_B, ip: V4, ip6: IP6_B }), undefined);
  // Padding after the IPv6 payload is dropped from the reply.
  assert.deepEqual(respond(Buffer.concat([ECHO6, Buffer.alloc(6)]), { mac: MAC_B, ip: V4, ip6: IP6_B }), ECHO6_REPLY);
  for (let len = 0; len < ECHO6.length; len++) assert.equal(parseIcmp6Echo(ECHO6.subarray(0, len)), undefined);
  // The pseudo-header checksum over the intact message is 0.
  assert.equal(ipv6PseudoChecksum(IP6_A, IP6_B, 58, ECHO6, 54, ECHO6.length), 0);
});

test('respond: a config needs its IPv4 address; bad addresses are InvalidArgumentError', () => {
  assert.throws(
    () => respond(NS, { mac: MAC_B, ip6: IP6_B } as unknown as { mac: Buffer; ip: Buffer }),
    InvalidArgumentError,
  );
  assert.throws(() => respond(NS, { mac: MAC_B, ip: V4, ip6: IP6_B.subarray(0, 4) }), InvalidArgumentError);
  assert.throws(
    () => buildNeighborSolicitation({ srcMac: MAC_A, srcIp: IP6_A, targetIp: Buffer.alloc(4) }),
    InvalidArgumentError,
  );
  assert.throws(
    () => buildIcmp6EchoRequest({ srcMac: MAC_A, dstMac: MAC_B, srcIp: IP6_A, dstIp: IP6_B, id: -1, seq: 0 }),
    InvalidArgumentError,
  );
});

test('UDP over IPv4: the exact frame, parsed back; bad checksums and truncation refused', () => {
  const f = buildUdpFrame({
    srcMac: MAC_A,
    dstMac: MAC_B,
    srcIp: parseIPv4('192.0.2.1'),
    dstIp: parseIPv4('192.0.2.2'),
    srcPort: 1024,
    dstPort: 9,
    payload: Buffer.from('hello, udp!'),
    ipId: 0x4242,
  });
  assert.deepEqual(f, UDP);
  const d = parseUdpFrame(UDP);
  assert.ok(d);
  assert.equal(d.srcPort, 1024);
  assert.equal(d.dstPort, 9);
  assert.equal(d.ipId, 0x4242);
  assert.equal(d.payloadOffset, UDP_PAYLOAD_OFFSET);
  assert.deepEqual(d.payload, Buffer.from('hello, udp!'));
  for (const at of [24, 40, UDP.length - 1]) {
    const bad = Buffer.from(UDP);
    bad[at] ^= 0x10;
    assert.equal(parseUdpFrame(bad), undefined, `byte ${at} changed`);
  }
  const noSum = Buffer.from(UDP);
  noSum.writeUInt16BE(0, 40);
  assert.ok(parseUdpFrame(noSum), 'UDP checksum 0 means none');
  for (let len = 0; len < UDP.length; len++) assert.equal(parseUdpFrame(UDP.subarray(0, len)), undefined);
  assert.throws(
    () => buildUdpFrame({ srcMac: MAC_A, dstMac: MAC_B, srcIp: IP6_A, dstIp: IP6_B, srcPort: 1, dstPort: 2 }),
    InvalidArgumentError,
  );
  assert.throws(
    () =>
      buildUdpFrame({
        srcMac: MAC_A,
        dstMac: MAC_B,
        srcIp: Buffer.alloc(4),
        dstIp: Buffer.alloc(4),
        srcPort: 1,
        dstPort: 2,
        ttl: 0,
      }),
    InvalidArgumentError,
  );
});

test('the new parsers never throw on what arrives; the builders refuse bad options with InvalidArgumentError', () => {
  const junk: unknown[] = [
    undefined,
    null,
    1,
    'frame',
    {},
    [],
    Symbol('x'),
    new Uint8Array(0),
    Buffer.alloc(2000, 0xff),
  ];
  const mac = MAC_B;
  for (const j of junk) {
    const f = j as Uint8Array;
    assert.equal(parseIcmp6Echo(f), undefined);
    assert.equal(parseNeighborMessage(f), undefined);
    assert.equal(parseUdpFrame(f), undefined);
    assert.equal(buildIcmp6EchoReply(f, mac), undefined);
    assert.equal(buildNeighborAdvertisement(f, mac, IP6_B), undefined);
    assert.equal(respond(f, { mac, ip: V4, ip6: IP6_B }), undefined);
  }
  const throwing = {
    get srcMac(): Uint8Array {
      throw new Error('getter');
    },
  };
  for (const bad of [undefined, null, 1, {}, [], throwing]) {
    const o = bad as never;
    assert.throws(() => buildIcmp6EchoRequest(o), InvalidArgumentError);
    assert.throws(() => buildNeighborSolicitation(o), InvalidArgumentError);
    assert.throws(() => buildUdpFrame(o), InvalidArgumentError);
  }
  assert.throws(() => buildNeighborAdvertisement(NS, Buffer.alloc(5), IP6_B), InvalidArgumentError);
  assert.throws(() => buildIcmp6EchoReply(ECHO6, mac, Buffer.alloc(4)), InvalidArgumentError);
  assert.throws(() => solicitedNodeAddress(Buffer.alloc(4)), InvalidArgumentError);
});
