// A peer that sends anything: random bytes of every length (chained over several buffers too),
// truncated and corrupted frames that look like gen's or like ARP/ICMP/NDP. memif sink and memif
// responder are real processes; they must count every frame, answer nothing they should not,
// keep answering what they should (a real ping after the garbage), and exit 0 with their summary.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { GEN_MAGIC } from '../../src/cli/gen-frame.js';
import { Memif, packet } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { startCli } from './cli.js';

const tmp = tempDir('memif-cli-garbage-');
after(() => tmp.remove());

/** Frames that are not what anyone expects, some of them almost. */
function garbage(n: number): Buffer[] {
  const mac = Buffer.from([2, 0, 0, 0, 0, 9]);
  const ip = packet.parseIPv4('192.168.9.2');
  const near = [
    packet.buildArpRequest({ senderMac: mac, senderIp: ip, targetIp: packet.parseIPv4('192.168.9.1') }),
    packet.buildIcmpEchoRequest({
      srcMac: mac,
      dstMac: mac,
      srcIp: ip,
      dstIp: packet.parseIPv4('192.168.9.1'),
      id: 1,
      seq: 1,
    }),
    packet.buildNeighborSolicitation({
      srcMac: mac,
      srcIp: packet.parseIPv6('fe80::9'),
      targetIp: packet.parseIPv6('2001:db8:9::1'),
    }),
    packet.buildUdpFrame({
      srcMac: mac,
      dstMac: mac,
      srcIp: ip,
      dstIp: ip,
      srcPort: 1,
      dstPort: 2,
      payload: Buffer.alloc(40),
    }),
  ];
  near[3]?.writeUInt32BE(GEN_MAGIC, 42);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    if (kind === 0) out.push(randomBytes(randomInt(1, i % 50 === 0 ? 5000 : 200)));
    else {
      // A near-miss: cut short or with a byte changed.
      const f = Buffer.from(near[i % near.length] as Buffer);
      if (kind === 1) out.push(f.subarray(0, randomInt(1, f.length)));
      else {
        f[randomInt(12, f.length)] ^= 1 << randomInt(8);
        out.push(f);
      }
    }
  }
  return out;
}

async function sendAll(m: Memif, frames: Buffer[]): Promise<void> {
  let sent = 0;
  const until = Date.now() + 20_000;
  while (sent < frames.length) {
    assert.ok(Date.now() < until, `only ${sent} of ${frames.length} frames were taken`);
    sent += m.txBurst(0, frames.slice(sent, sent + 64));
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('memif sink and responder under garbage', () => {
  test('sink counts every frame, follows no stream, exits 0', { timeout: 60_000 }, async () => {
    const socketPath = tmp.socket('sink.sock');
    const peer = await Memif.create({ role: 'master', socketPath });
    const frames = garbage(3000);
    const sink = startCli(['sink', '--socket', socketPath, '--count', String(frames.length), '--check', '--json']);
    try {
      await peer.waitForConnect({ timeoutMs: 20_000 });
      await sendAll(peer, frames);
      const exit = await sink.exited;
      assert.equal(exit.code, 0, exit.stderr);
      const s = JSON.parse(exit.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
      assert.equal(s.received, frames.length);
      assert.equal(
        s.bytes,
        frames.reduce((a, f) => a + f.length, 0),
      );
      assert.equal(s.genFrames, 0);
      assert.deepEqual(s.streams, []);
    } finally {
      await sink.stop();
      await peer.close();
    }
  });

  test('responder answers none of it, then still answers a real ping', { timeout: 60_000 }, async () => {
    const socketPath = tmp.socket('responder.sock');
    const peer = await Memif.create({ role: 'master', socketPath });
    const responder = startCli([
      'responder',
      '--socket',
      socketPath,
      '--ip',
      '192.168.9.1/24',
      '--ip6',
      '2001:db8:9::1/64',
    ]);
    try {
      await peer.waitForConnect({ timeoutMs: 20_000 });
      const frames = garbage(3000).filter(
        (f) =>
          packet.respond(f, {
            mac: Buffer.alloc(6),
            ip: packet.parseIPv4('192.168.9.1'),
            ip6: packet.parseIPv6('2001:db8:9::1'),
          }) === undefined,
      );
      await sendAll(peer, frames);
      const mac = Buffer.from([2, 0, 0, 0, 0, 9]);
      const srcIp = packet.parseIPv4('192.168.9.2');
      await sendAll(peer, [
        packet.buildArpRequest({ senderMac: mac, senderIp: srcIp, targetIp: packet.parseIPv4('192.168.9.1') }),
      ]);
      let reply: Buffer | undefined;
      const until = Date.now() + 20_000;
      while (!reply && Date.now() < until) {
        reply = peer.rxBurst(0).find((f) => packet.parseArp(f)?.op === packet.ARP_OP_REPLY);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(reply, 'the ARP request after the garbage was answered');
      const exit = await responder.stop();
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(
        exit.stdout,
        new RegExp(
          `^responder: answered 1 ARP requests, 0 echo requests, 0 neighbour solicitations, 0 ICMPv6 echo requests; ignored ${frames.length} frames`,
          'm',
        ),
      );
    } finally {
      await responder.stop();
      await peer.close();
    }
  });
});
