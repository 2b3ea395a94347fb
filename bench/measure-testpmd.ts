// The rows with dpdk-testpmd (peers/testpmd.ts): testpmd → testpmd one-way, memif-ts → testpmd and
// testpmd → memif-ts, and echo with a testpmd client against a testpmd or a memif-ts reflector.
// testpmd's forwarding lcore goes on an explicit core; memif-ts runs in a child (peer.ts).
import { Testpmd } from '../peers/testpmd.js';
import { Peer } from './peer.js';
import { sleep, withTimeout } from './procs.js';
import { type Again, gbps, MEASURE_MS, mppsOf, peerOptions, SECTION, socketPath, WARM_MS, work } from './settings.js';
import type { Row } from './table.js';
import type { Api } from './workloads.js';

/** testpmd's life bound in a row, ms. */
export const TP_MAX_MS = 40_000;

/**
 * Starts an interactive testpmd as the benchmark runs it (2,048-byte buffers, 1,024-slot rings,
 * life bounded to TP_MAX_MS) with its forwarding lcore on `forwardCore` and its main lcore on the other core.
 */
export function benchTestpmd(
  role: 'server' | 'client',
  socket: string,
  forwardMode: 'rxonly' | 'txonly' | 'io',
  forwardCore: number,
  txpkts?: number,
): Promise<Testpmd> {
  return Testpmd.start({
    role,
    socket,
    forwardMode,
    bsize: 2048,
    rsize: 10,
    interactive: true,
    ...(forwardMode === 'io' ? { loop: true } : {}),
    ...(txpkts ? { txpkts } : {}),
    forwardCore,
    mainCore: forwardCore === 0 ? 1 : 0,
    maxRunMs: TP_MAX_MS,
  });
}

/** After the warm-up, the RX-packets rate of `t` (show port stats) over the measured window, in Mpps. */
async function windowRate(t: Testpmd): Promise<number> {
  await sleep(WARM_MS);
  const a = await t.portStats();
  await sleep(MEASURE_MS);
  const b = await t.portStats();
  return (b.rx - a.rx) / (b.at - a.at) / 1000;
}

/** testpmd client txonly (forwarding core 0) → testpmd server rxonly (forwarding core 1). */
export async function tpToTp(again?: Again): Promise<Row> {
  const socket = socketPath('tp');
  const server = await benchTestpmd('server', socket, 'rxonly', 1);
  let client: Testpmd | undefined;
  try {
    await server.startForwarding();
    client = await benchTestpmd('client', socket, 'txonly', 0);
    await client.linkUp();
    await client.startForwarding();
    const mpps = await windowRate(server);
    const sent = (await client.stopForwarding()).txPackets;
    await sleep(50);
    const got = (await server.stopForwarding()).rxPackets;
    return {
      id: `tp/tp-to-tp${again?.suffix ?? ''}`,
      section: SECTION.tpOneWay,
      scenario: `testpmd txonly (client) → testpmd rxonly (server)${again?.label ?? ''}`,
      api: 'DPDK',
      size: 64,
      queues: 1,
      mpps,
      gbps: gbps(mpps, 64),
      lost: sent - got,
      notes: 'rate: the server’s RX-packets (show port stats) over the window; lost: forward statistics',
    };
  } finally {
    await client?.stop();
    await server.stop();
  }
}

/** memif-ts slave (child, core 1) → testpmd server rxonly (forwarding core 0). */
export async function memifToTp(api: Api): Promise<Row> {
  const socket = socketPath('tp');
  const server = await benchTestpmd('server', socket, 'rxonly', 0);
  let peer: Peer | undefined;
  try {
    await server.startForwarding();
    peer = new Peer(
      { role: 'slave', socket, queues: 1, rxMode: 'polling', work: work({ kind: 'send', api }) },
      peerOptions(),
    );
    await withTimeout(peer.ready, 10_000, 'memif-ts slave connect');
    await server.linkUp();
    peer.send({ t: 'go' });
    const mpps = await windowRate(server);
    peer.send({ t: 'stop' });
    const r = await withTimeout(peer.result, 10_000, 'memif-ts result');
    await sleep(50);
    const fwd = await server.stopForwarding();
    return {
      id: `tp/memif-to-tp/${api}`,
      section: SECTION.tpOneWay,
      scenario: 'memif-ts (slave) → testpmd rxonly (server)',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size: 64,
      queues: 1,
      mpps,
      gbps: gbps(mpps, 64),
      lost: r.counters.tx - fwd.rxPackets,
      heap: { slave: r.result.heap },
      notes: `rate: testpmd’s RX-packets over the window; memif-ts sent ${mppsOf(r.result).toFixed(2)} Mpps in its own; lost: memif-ts tx (details()) − testpmd’s forward RX-packets`,
    };
  } finally {
    await peer?.close();
    await server.stop();
  }
}

/** testpmd client txonly (forwarding core 0) → memif-ts master (child, core 1). */
export async function tpToMemif(api: Api): Promise<Row> {
  const socket = socketPath('tp');
  const peer = new Peer(
    {
      role: 'master',
      socket,
      queues: 1,
      rxMode: 'polling',
      work: work({ kind: 'receive', api, check: false }),
    },
    peerOptions(),
  );
  let client: Testpmd | undefined;
  try {
    await withTimeout(peer.listening, 10_000, 'memif-ts master listen');
    client = await benchTestpmd('client', socket, 'txonly', 0);
    await withTimeout(peer.ready, 10_000, 'memif-ts master connect');
    peer.send({ t: 'go' });
    await client.startForwarding();
    await sleep(WARM_MS + MEASURE_MS);
    const sent = (await client.stopForwarding()).txPackets;
    peer.send({ t: 'stop' });
    const r = await withTimeout(peer.result, 10_000, 'memif-ts result');
    const mpps = mppsOf(r.result);
    return {
      id: `tp/tp-to-memif/${api}`,
      section: SECTION.tpOneWay,
      scenario: 'testpmd txonly (client) → memif-ts (master)',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size: 64,
      queues: 1,
      mpps,
      gbps: gbps(mpps, 64),
      lost: sent - r.counters.rx,
      heap: { master: r.result.heap },
      notes: 'rate: memif-ts’s count over its window; lost: testpmd’s forward TX-packets − memif-ts rx (details())',
    };
  } finally {
    await client?.stop();
    await peer.close();
  }
}

/** An io-mode testpmd client (forwarding core 0) with 512 packets in flight, against `reflector`. */
async function echoWithTpClient(
  socket: string,
  ready: () => Promise<void>,
): Promise<{ mpps: number; client: Testpmd }> {
  const client = await benchTestpmd('client', socket, 'io', 0);
  try {
    await client.linkUp();
    await ready();
    // A first start/stop runs the client's rx path once, which offers its M2S buffers; otherwise the
    // echo of the first burst can find no buffer and be dropped (see peers.md).
    await client.startForwarding();
    await sleep(100);
    await client.stopForwarding();
    await client.startForwarding(16);
    const mpps = await windowRate(client);
    await client.stopForwarding();
    return { mpps, client };
  } catch (err) {
    await client.stop();
    throw err;
  }
}

/** testpmd client io ↔ testpmd server io --port-topology=loop (forwarding core 1). */
export async function tpEcho(again?: Again): Promise<Row> {
  const socket = socketPath('tp');
  const server = await benchTestpmd('server', socket, 'io', 1);
  let client: Testpmd | undefined;
  try {
    await server.startForwarding();
    const r = await echoWithTpClient(socket, async () => {});
    client = r.client;
    await server.stopForwarding();
    return {
      id: `tp/echo-tp${again?.suffix ?? ''}`,
      section: SECTION.tpEcho,
      scenario: `echo peer: testpmd server io (forwarding core 1)${again?.label ?? ''}`,
      api: 'DPDK',
      size: 64,
      queues: 1,
      mpps: r.mpps,
      gbps: gbps(r.mpps, 64),
      notes: 'rate: the client’s RX-packets (show port stats) over the window',
    };
  } finally {
    await client?.stop();
    await server.stop();
  }
}

/** testpmd client io ↔ memif-ts master reflector (child, core 1). */
export async function memifEchoPeer(api: Api): Promise<Row> {
  const socket = socketPath('tp');
  const peer = new Peer(
    { role: 'master', socket, queues: 1, rxMode: 'polling', work: work({ kind: 'reflect', api }) },
    peerOptions(),
  );
  let client: Testpmd | undefined;
  try {
    await withTimeout(peer.listening, 10_000, 'memif-ts master listen');
    const r = await echoWithTpClient(socket, async () => {
      await withTimeout(peer.ready, 10_000, 'memif-ts master connect');
      peer.send({ t: 'go' });
    });
    client = r.client;
    peer.send({ t: 'stop' });
    const res = await withTimeout(peer.result, 10_000, 'memif-ts result');
    return {
      id: `tp/echo-memif/${api}`,
      section: SECTION.tpEcho,
      scenario: 'echo peer: memif-ts master (core 1)',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size: 64,
      queues: 1,
      mpps: r.mpps,
      gbps: gbps(r.mpps, 64),
      heap: { master: res.result.heap },
      notes: `rate: the client’s RX-packets over the window; memif-ts echoed ${res.counters.tx.toLocaleString('en-US')}`,
    };
  } finally {
    await client?.stop();
    await peer.close();
  }
}
