// icmp-responder: answers ARP requests and ICMP echo requests (ping) for one IPv4 address, like
// govpp's icmp-responder. A server: it runs until Ctrl-C. As a slave (the default) it retries until
// a master listens on the socket, and reconnects when the master goes away.
//   node out/examples/icmp-responder.js [--socket /run/vpp/memif.sock] [--role slave|master]
//        [--ip 192.168.1.1] [--mac 02:fe:00:00:00:01] [--id 0]
// Self-test in one command: a peer in a child process (the opposite role, same socket; default a
// temp folder) sends an ARP request and 3 pings and checks the replies; then both exit 0.
//   node out/examples/icmp-responder.js --self-test [--socket /tmp/x/responder.sock]
// Against VPP (VPP is the master, this program the slave; run both as root):
//   vpp# create memif socket id 1 filename /run/vpp/memif.sock
//   vpp# create interface memif socket-id 1 id 0 master
//   vpp# set int state memif1/0 up
//   vpp# set int ip address memif1/0 192.168.1.2/24
//   $ node out/examples/icmp-responder.js
//   vpp# ping 192.168.1.1
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Memif, packet } from 'memif-ts';

const { values: args } = parseArgs({
  options: {
    socket: { type: 'string' },
    role: { type: 'string', default: 'slave' },
    ip: { type: 'string', default: '192.168.1.1' },
    mac: { type: 'string', default: '02:fe:00:00:00:01' },
    id: { type: 'string', default: '0' },
    'self-test': { type: 'boolean', default: false },
    'self-test-peer': { type: 'boolean', default: false },
  },
});
const peerMode = args['self-test-peer'];
const log = (line: string) => console.log(`[${peerMode ? 'self-test' : 'responder'}] ${line}`);

function fail(err: unknown): never {
  console.error(`[${peerMode ? 'self-test' : 'responder'}] FAILED: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

/** Answers every ARP / ICMP echo request for `me` on queue 0, until the interface is closed. */
async function serve(m: Memif, me: packet.ResponderConfig): Promise<void> {
  const count = { arp: 0, echo: 0, ignored: 0, dropped: 0 };
  let last = '';
  let lastPrint = 0;
  let timer: NodeJS.Timeout | undefined;
  const totals = () =>
    `${count.arp} ARP replies, ${count.echo} echo replies, ${count.ignored} frames ignored, ${count.dropped} dropped`;
  // At most one line per second: the latest reply and the totals so far.
  const print = () => {
    timer = undefined;
    lastPrint = Date.now();
    log(`${last} (${totals()})`);
  };
  const note = (what: string) => {
    last = what;
    const wait = lastPrint + 1000 - Date.now();
    if (wait <= 0) print();
    else timer ??= setTimeout(print, wait);
  };
  for await (const burst of m.receive(0)) {
    const replies: Buffer[] = [];
    for (const frame of burst) {
      const reply = packet.respond(frame, me);
      if (reply === undefined) {
        count.ignored++;
        continue;
      }
      replies.push(reply);
      const arp = packet.parseArp(reply);
      const echo = packet.parseIcmpEcho(reply);
      if (arp) {
        count.arp++;
        note(
          `ARP reply to ${packet.formatIPv4(arp.targetIp)}: ${packet.formatIPv4(me.ip)} is at ${packet.formatMac(me.mac)}`,
        );
      } else if (echo) {
        count.echo++;
        note(`echo reply to ${packet.formatIPv4(echo.dstIp)} id ${echo.id} seq ${echo.seq}`);
      }
    }
    // txBurst never blocks: replies that do not fit in the ring are dropped, as a NIC would.
    if (replies.length > 0) count.dropped += replies.length - m.txBurst(0, replies);
  }
  clearTimeout(timer);
  log(`closed (${totals()})`);
}

/** The self-test peer: ARP for the responder's IP, then 3 pings; every reply is checked. */
async function selfTest(m: Memif, them: packet.ResponderConfig): Promise<void> {
  const mac = packet.parseMac('02:fe:00:00:00:02');
  const ip = packet.parseIPv4('192.168.1.2');
  const rx = m.receive(0);
  const inbox: Buffer[] = [];
  const ask = async (request: Buffer): Promise<Buffer> => {
    // A master may have to wait a moment until the slave offers its first buffers.
    while (m.txBurst(0, [request]) === 0) await sleep(1);
    while (inbox.length === 0) {
      const r = await rx.next();
      if (r.done) throw new Error('interface closed');
      inbox.push(...r.value);
    }
    return inbox.shift() as Buffer;
  };
  await m.waitForConnect();
  const arp = packet.parseArp(await ask(packet.buildArpRequest({ senderMac: mac, senderIp: ip, targetIp: them.ip })));
  const fromThem = arp?.senderMac.equals(them.mac) && arp.senderIp.equals(them.ip);
  if (arp?.op !== packet.ARP_OP_REPLY || !fromThem || !arp.targetMac.equals(mac)) {
    throw new Error('no valid ARP reply');
  }
  log(`ARP reply ok: ${packet.formatIPv4(arp.senderIp)} is at ${packet.formatMac(arp.senderMac)}`);
  for (let seq = 1; seq <= 3; seq++) {
    const payload = Buffer.from(`memif-ts self-test ping #${seq}`);
    const request = packet.buildIcmpEchoRequest({
      srcMac: mac,
      dstMac: arp.senderMac,
      srcIp: ip,
      dstIp: them.ip,
      id: 0x4d54,
      seq,
      payload,
    });
    const t0 = performance.now();
    const reply = await ask(request);
    const ms = (performance.now() - t0).toFixed(3);
    const echo = packet.parseIcmpEcho(reply);
    const icmp = 14 + (reply[14] & 0x0f) * 4;
    const checksumsOk =
      packet.internetChecksum(reply, 14, icmp) === 0 &&
      packet.internetChecksum(reply, icmp, 14 + reply.readUInt16BE(16)) === 0;
    const ok =
      echo?.type === packet.ICMP_ECHO_REPLY &&
      echo.id === 0x4d54 &&
      echo.seq === seq &&
      echo.payload.equals(payload) &&
      echo.srcIp.equals(them.ip) &&
      echo.dstIp.equals(ip);
    if (!ok || !checksumsOk) throw new Error(`bad echo reply #${seq} (checksums ${checksumsOk ? 'ok' : 'wrong'})`);
    log(
      `echo reply ok: from ${packet.formatIPv4(echo.srcIp)} seq=${seq} ${payload.length} bytes, checksums valid, ${ms} ms`,
    );
  }
  await rx.return();
}

try {
  const me: packet.ResponderConfig = { mac: packet.parseMac(args.mac), ip: packet.parseIPv4(args.ip) };
  const id = Number(args.id);
  if (args.role !== 'slave' && args.role !== 'master') throw new Error('--role must be slave or master');
  const role = args.role;
  // --self-test without --socket: a fresh temp folder, so a running VPP is not disturbed.
  const dir = args['self-test'] && !args.socket ? mkdtempSync(join(tmpdir(), 'memif-responder-')) : undefined;
  const socketPath = args.socket ?? (dir ? join(dir, 'memif.sock') : '/run/vpp/memif.sock');
  if (dir) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

  const m = await Memif.create({ role, socketPath, id });
  const stop = () => void m.close();
  process.once('SIGINT', stop).once('SIGTERM', stop);
  m.on('connect', () => log(`connected to "${m.details().remoteName}" (${m.details().remoteInterfaceName})`));
  m.on('disconnect', ({ reason }) => log(`link down: ${reason}`));
  m.on('error', (e) => log(`error: ${e.message}`));

  if (peerMode) {
    setTimeout(() => fail(new Error('gave up after 20 s')), 20_000).unref();
    await selfTest(m, me);
    await m.close();
  } else {
    log(`${role} on ${socketPath} id ${id}: answering ARP and ping for ${args.ip} (${args.mac})`);
    const serving = serve(m, me);
    if (args['self-test']) {
      setTimeout(() => fail(new Error('gave up after 20 s')), 20_000).unref();
      const peerRole = role === 'slave' ? 'master' : 'slave';
      const self = fileURLToPath(import.meta.url);
      const peerArgs = ['--self-test-peer', '--role', peerRole, '--socket', socketPath, '--id', `${id}`];
      const child = spawn(process.execPath, [self, ...peerArgs, '--ip', args.ip, '--mac', args.mac], {
        stdio: 'inherit',
      });
      process.on('exit', () => child.kill());
      const [code] = await once(child, 'exit');
      await m.close();
      await serving;
      if (code !== 0) throw new Error(`the self-test peer failed (exit code ${code})`);
      log('self-test OK');
    } else {
      await serving;
    }
  }
} catch (err) {
  fail(err);
}
