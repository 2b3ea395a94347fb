// Throughput through FD.io VPP: a sender attached to one VPP memif interface, an L2 cross-connect
// in VPP, a receiver attached to another. Two rows per frame size, on the same set-up: memif-ts →
// VPP → memif-ts (zero-copy API, two memif-peer children) and testpmd txonly → VPP → testpmd
// rxonly (two net_memif clients). Both are measured the same way — what VPP's memif driver delivered
// into the receiver's ring over the window — so their ratio is what memif-ts costs against DPDK with VPP in
// the middle. VPP (from peers/vpp.ts: built once per machine) runs its main thread on core 0
// (startup.conf.in: cpu main-core 0), polling; senders and receivers run on core 1.
import type { Testpmd } from '../peers/testpmd.js';
import { Vpp, vppSkip } from '../peers/vpp.js';
import { benchTestpmd } from './measure-testpmd.js';
import { Peer, type PeerOptions } from './peer.js';
import { sleep, withTimeout } from './procs.js';
import type { Row } from './table.js';
import type { Api, WorkSpec } from './workloads.js';

export { vppSkip };

/** What a row needs from settings.ts. */
export interface VppBenchContext {
  warmMs: number;
  measureMs: number;
  section: string;
  peerOptions: () => PeerOptions;
  work: (w: Partial<WorkSpec> & Pick<WorkSpec, 'kind'>) => WorkSpec;
  /** Core of the senders' and receivers' busy loops. */
  core: number;
}

const gbps = (mpps: number, size: number) => (mpps * 1e6 * size * 8) / 1e9;

/** A fresh VPP with memif2/0 (socket in.sock) cross-connected to memif3/0 (out.sock), both masters. */
async function xconnect(): Promise<{ vpp: Vpp; inSock: string; outSock: string }> {
  const vpp = await Vpp.start({ maxRunMs: 60_000 });
  try {
    const inSock = vpp.path('in.sock');
    const outSock = vpp.path('out.sock');
    await vpp.config(
      `create memif socket id 2 filename ${inSock}`,
      `create memif socket id 3 filename ${outSock}`,
      'create interface memif socket-id 2 id 0 master',
      'create interface memif socket-id 3 id 0 master',
      'set interface l2 xconnect memif2/0 memif3/0',
      'set interface l2 xconnect memif3/0 memif2/0',
      'set interface state memif2/0 up',
      'set interface state memif3/0 up',
    );
    return { vpp, inSock, outSock };
  } catch (err) {
    await vpp.stop();
    throw err;
  }
}

/** Waits until VPP shows both interfaces connected. */
async function linked(vpp: Vpp): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const a = await vpp.cli('show memif memif2/0');
    const b = await vpp.cli('show memif memif3/0');
    const up = (s: string) => /flags [^\n]*\bconnected\b/.test(s);
    if (up(a) && up(b)) return;
    if (Date.now() > deadline) throw new Error(`VPP: links not up within 10 s\n${a}\n${b}`);
    await sleep(20);
  }
}

/**
 * What VPP's memif driver really put into the receiver's rings on memif3/0 (`show hardware`:
 * "packets sent" per ring; the interface's tx counter also counts frames then dropped for want of a
 * free slot, which the driver counts as "no tx slot"), and when that was read (performance.now()).
 */
async function delivered(vpp: Vpp): Promise<{ sent: number; noSlot: number; at: number }> {
  const t0 = performance.now();
  const text = await vpp.cli('show hardware-interfaces memif3/0');
  const at = (t0 + performance.now()) / 2;
  const total = (re: RegExp) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  return { sent: total(/packets sent:\s*(\d+)/g), noSlot: total(/\bno tx slot:\s*(\d+)/g), at };
}

/** After the warm-up: what VPP delivered to the receiver over the measured window, in Mpps. */
async function vppWindowRate(vpp: Vpp, c: VppBenchContext): Promise<{ mpps: number }> {
  await sleep(c.warmMs);
  const a = await delivered(vpp);
  await sleep(c.measureMs);
  const b = await delivered(vpp);
  return { mpps: (b.sent - a.sent) / (b.at - a.at) / 1000 };
}

/** VPP's counters of the path, for the notes. */
async function pathCounters(vpp: Vpp): Promise<string> {
  const i = await vpp.interfaceCounters('memif2/0');
  const d = await delivered(vpp);
  return `VPP took in ${i.rxPackets.toLocaleString('en-US')}, delivered ${d.sent.toLocaleString('en-US')}, found no free slot for ${d.noSlot.toLocaleString('en-US')}`;
}

/** testpmd client txonly (forwarding core `c.core`) → VPP → testpmd client rxonly (the same core). */
export async function tpThroughVpp(c: VppBenchContext, size: number): Promise<Row> {
  const { vpp, inSock, outSock } = await xconnect();
  let tx: Testpmd | undefined;
  let rx: Testpmd | undefined;
  try {
    rx = await benchTestpmd('client', outSock, 'rxonly', c.core);
    tx = await benchTestpmd('client', inSock, 'txonly', c.core, size);
    await rx.linkUp();
    await tx.linkUp();
    await linked(vpp);
    await rx.startForwarding();
    await tx.startForwarding();
    const { mpps } = await vppWindowRate(vpp, c);
    const sent = (await tx.stopForwarding()).txPackets;
    await sleep(100);
    const got = (await rx.stopForwarding()).rxPackets;
    const p = await pathCounters(vpp);
    return {
      id: `vpp/tp/${size}`,
      section: c.section,
      scenario: 'testpmd txonly → VPP L2 xconnect → testpmd rxonly',
      api: 'DPDK',
      size,
      queues: 1,
      mpps,
      gbps: gbps(mpps, size),
      lost: sent - got,
      notes: `rate: packets VPP delivered into the receiver's ring over the window (show hardware); testpmd sent ${sent.toLocaleString('en-US')}, ${p}; lost: testpmd TX − testpmd RX`,
    };
  } finally {
    await tx?.stop();
    await rx?.stop();
    await vpp.stop();
  }
}

/** memif-ts slave sender (child, core `c.core`) → VPP → memif-ts slave receiver (child, the same core). */
export async function memifThroughVpp(c: VppBenchContext, size: number, api: Api): Promise<Row> {
  const { vpp, inSock, outSock } = await xconnect();
  let tx: Peer | undefined;
  let rx: Peer | undefined;
  try {
    rx = new Peer(
      {
        role: 'slave',
        socket: outSock,
        queues: 1,
        rxMode: 'polling',
        work: c.work({ kind: 'receive', api, size, check: false }),
      },
      c.peerOptions(),
    );
    tx = new Peer(
      { role: 'slave', socket: inSock, queues: 1, rxMode: 'polling', work: c.work({ kind: 'send', api, size }) },
      c.peerOptions(),
    );
    await withTimeout(Promise.all([rx.ready, tx.ready]), 10_000, 'memif-ts slaves connect to VPP');
    await linked(vpp);
    rx.send({ t: 'go' });
    tx.send({ t: 'go' });
    const { mpps } = await vppWindowRate(vpp, c);
    tx.send({ t: 'stop' });
    const sent = await withTimeout(tx.result, 10_000, 'memif-ts sender result');
    await sleep(100);
    rx.send({ t: 'stop' });
    const got = await withTimeout(rx.result, 10_000, 'memif-ts receiver result');
    const p = await pathCounters(vpp);
    return {
      id: `vpp/memif/${api}/${size}`,
      section: c.section,
      scenario: 'memif-ts → VPP L2 xconnect → memif-ts',
      api: api === 'zc' ? 'zero-copy' : 'copy',
      size,
      queues: 1,
      mpps,
      gbps: gbps(mpps, size),
      lost: sent.counters.tx - got.counters.rx,
      heap: { slave: sent.result.heap },
      notes: `rate: packets VPP delivered into the receiver's ring over the window (show hardware); memif-ts sent ${sent.counters.tx.toLocaleString('en-US')}, ${p}; lost: memif-ts tx − memif-ts rx (details())`,
    };
  } finally {
    await tx?.close();
    await rx?.close();
    await vpp.stop();
  }
}
