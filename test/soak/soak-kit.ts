// Pieces of the connect/disconnect soak (soak.test.ts): a seeded PRNG, self-checking packets, an
// inbox that drains a Memif on interrupts and checks every packet, a traffic pump, a bounded wait,
// and a raw slave (helpers/scripted-slave.ts) driven one handshake step at a time so that it can
// be dropped after any of them.
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { DESC_FLAG_NEXT, MEMIF_VERSION, MsgType } from '../../src/constants.js';
import type { Memif } from '../../src/index.js';
import { bufferOffset, computeLayout, ringOffset } from '../../src/shm/layout.js';
import { Region } from '../../src/shm/region.js';
import { Ring } from '../../src/shm/ring.js';
import { encodeAddRegion, encodeAddRing, encodeConnect, encodeInit } from '../../src/wire/messages.js';
import type { ScriptedSlave } from '../helpers/scripted-slave.js';

// ---- seeded randomness ----

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** One of `items`, by weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    weighted<T>(items: readonly (readonly [T, number])[]): T {
      const total = items.reduce((s, [, w]) => s + w, 0);
      let x = next() * total;
      for (const [item, w] of items) {
        x -= w;
        if (x < 0) return item;
      }
      return items[items.length - 1][0];
    },
  };
}

// ---- packets that can be checked on their own ----

/** `len` (≥ 8) bytes: seq u32, len u32, then a pattern derived from seq. */
export function makePacket(seq: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32LE(seq >>> 0, 0);
  b.writeUInt32LE(len, 4);
  for (let i = 8; i < len; i++) b[i] = (Math.imul(seq, 31) + i * 7) & 0xff;
  return b;
}

/** Why `b` is not a packet makePacket() could have made, or undefined if it is one. */
export function packetDefect(b: Buffer): string | undefined {
  if (b.length < 8) return `${b.length}-byte packet`;
  const seq = b.readUInt32LE(0);
  const len = b.readUInt32LE(4);
  if (len !== b.length) return `packet ${seq} says ${len} bytes, has ${b.length}`;
  for (let i = 8; i < len; i++) {
    if (b[i] !== ((Math.imul(seq, 31) + i * 7) & 0xff)) return `packet ${seq} (${len} bytes): wrong byte at ${i}`;
  }
  return undefined;
}

// ---- receiving ----

/**
 * Drains every interrupt of `iface`, checks each packet, and notes whether `expect` arrived.
 * Anything that goes wrong (a corrupt packet, rxBurst throwing) goes to `problems`.
 */
export class Inbox {
  received = 0;
  expect: Buffer | undefined;
  matched = false;
  readonly #iface: Memif;
  readonly #onInterrupt: (q: number) => void;

  constructor(
    iface: Memif,
    readonly name: string,
    private readonly problems: string[],
  ) {
    this.#iface = iface;
    this.#onInterrupt = (q) => this.drain(q);
    iface.on('interrupt', this.#onInterrupt);
  }

  /** Waits for `pkt` from now on. */
  await(pkt: Buffer): void {
    this.expect = pkt;
    this.matched = false;
  }

  drain(q: number): void {
    const iface = this.#iface;
    try {
      while (iface.connected) {
        const got = iface.rxBurst(q);
        if (got.length === 0) break;
        for (const p of got) {
          this.received++;
          const defect = packetDefect(p);
          if (defect !== undefined && this.problems.length < 20) this.problems.push(`${this.name}: ${defect}`);
          if (this.expect?.equals(p)) this.matched = true;
        }
      }
    } catch (err) {
      if (this.problems.length < 20) this.problems.push(`${this.name}: rxBurst threw ${(err as Error).stack}`);
    }
  }

  detach(): void {
    this.#iface.off('interrupt', this.#onInterrupt);
  }
}

// ---- waiting and sending ----

/**
 * Waits until `cond()` holds. The limit only guards against a hang (a stuck wait fails the soak
 * with `what`); nothing here measures or asserts time.
 */
export async function waitUntil(cond: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let i = 0; !cond(); i++) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (${limitMs} ms)`);
    if (i < 200) await tick();
    else await sleep(1);
  }
}

/** Queues `pkt` on queue 0 of `tx`, retrying while the ring has no room (a master waits for buffers). */
export async function sendOne(tx: Memif, pkt: Buffer, what: string): Promise<void> {
  await waitUntil(() => {
    if (!tx.connected) throw new Error(`${what}: link went down before the packet was queued`);
    return tx.txBurst(0, [pkt]) === 1;
  }, `${what}: room to send`);
}

/** One packet each way between two connected interfaces, compared byte for byte. */
export async function exchange(
  a: Memif,
  aIn: Inbox,
  b: Memif,
  bIn: Inbox,
  rng: Rng,
  what: string,
  maxSize = 5000,
): Promise<void> {
  for (const [tx, rx] of [
    [a, bIn],
    [b, aIn],
  ] as const) {
    const pkt = makePacket(rng.int(0, 0x7fffffff), rng.int(8, maxSize));
    rx.await(pkt);
    await sendOne(tx, pkt, what);
    await waitUntil(() => {
      if (!rx.matched && !(a.connected && b.connected))
        throw new Error(`${what}: link went down before the packet arrived`);
      return rx.matched;
    }, `${what}: ${pkt.length}-byte packet to reach ${rx.name}`);
    rx.expect = undefined;
  }
}

/** Sends bursts of checkable packets on queue 0 on every turn of the event loop until stopped. */
export class Pump {
  sent = 0;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(iface: Memif, rng: Rng, problems: string[], what: string) {
    const burst = Array.from({ length: 16 }, (_, i) => makePacket(rng.int(0, 0x7fffffff) + i, rng.int(8, 3000)));
    this.#done = (async () => {
      while (!this.#stopped) {
        try {
          if (iface.connected) this.sent += iface.txBurst(0, burst);
        } catch (err) {
          problems.push(`${what}: txBurst threw ${(err as Error).stack}`);
          return;
        }
        await tick();
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

// ---- a raw slave, one handshake step at a time ----

/** Where a scripted slave stops (and is closed). 'burst' and 'exchange' go on after CONNECTED. */
export const SCRIPTED_STOPS = [
  'socket', // connected the socket, read nothing
  'hello', // read HELLO, sent nothing
  'init-sent',
  'init-acked',
  'region-sent', // the memfd is in flight
  'region-acked', // the master has mapped it
  'ring-sent', // S2M ring and its eventfd in flight
  'ring-acked',
  'rings-acked', // both rings in place
  'connect-sent',
  'connected',
  'burst', // connected, packets in flight both ways when it dies
  'exchange', // connected, one packet each way compared, then dies
] as const;
export type ScriptedStop = (typeof SCRIPTED_STOPS)[number];

/**
 * Does the slave's side of a handshake (one S2M and one M2S ring, interface id 0) until `stop`.
 * Everything it allocates hangs off `s`, so that s.close() releases it at any step.
 */
export async function handshakeUntil(s: ScriptedSlave, stop: ScriptedStop, log2RingSize: number): Promise<void> {
  if (stop === 'socket') return;
  await s.expect(MsgType.HELLO);
  if (stop === 'hello') return;
  const layout = computeLayout({ numS2M: 1, numM2S: 1, log2RingSize, bufferSize: 2048, cacheLineSize: 64 });
  s.layout = layout;
  s.region = Region.create(0, layout.regionSize, 'soak-scripted');
  s.s2m = new Ring(s.region, ringOffset(layout, 'S2M', 0), log2RingSize, 64);
  s.m2s = new Ring(s.region, ringOffset(layout, 'M2S', 0), log2RingSize, 64);
  s.s2m.init();
  s.m2s.init();
  s.send(encodeInit({ version: MEMIF_VERSION, id: 0, mode: 0, name: 'soak-scripted' }));
  if (stop === 'init-sent') return;
  await s.expect(MsgType.ACK);
  if (stop === 'init-acked') return;
  s.send(encodeAddRegion({ index: 0, size: BigInt(layout.regionSize) }), s.region.fd);
  if (stop === 'region-sent') return;
  await s.expect(MsgType.ACK);
  if (stop === 'region-acked') return;
  for (const type of ['S2M', 'M2S'] as const) {
    const efd = s.b.eventfdCreate();
    s.eventfds.push(efd);
    s.send(
      encodeAddRing({ ringType: type, index: 0, region: 0, offset: ringOffset(layout, type, 0), log2RingSize }),
      efd,
    );
    if (type === 'S2M' && stop === 'ring-sent') return;
    await s.expect(MsgType.ACK);
    if (type === 'S2M' && stop === 'ring-acked') return;
  }
  if (stop === 'rings-acked') return;
  s.send(encodeConnect('soak-scripted0'));
  if (stop === 'connect-sent') return;
  await s.expect(MsgType.CONNECTED);
}

/** Publishes `pkts` (each ≤ 2048 bytes, at most a ring's worth) on the S2M ring and kicks the master. */
export function publishS2M(s: ScriptedSlave, pkts: readonly Buffer[]): void {
  const layout = s.layout;
  const region = s.region;
  if (layout === undefined || region === undefined) throw new Error('scripted slave has no region');
  pkts.forEach((p, slot) => {
    const offset = bufferOffset(layout, 'S2M', 0, slot);
    region.bytes.set(p, offset);
    s.publishS2M(slot, { offset, length: p.length }, slot + 1);
  });
}

/** Offers every M2S slot to the master as an empty 2048-byte buffer. */
export function offerM2S(s: ScriptedSlave): void {
  const ring = s.m2s;
  const layout = s.layout;
  if (ring === undefined || layout === undefined) throw new Error('scripted slave has no M2S ring');
  for (let slot = 0; slot < ring.size; slot++) {
    const d16 = ring.desc16 + slot * 8;
    const d32 = ring.desc32 + slot * 4;
    ring.u16[d16] = 0;
    ring.u16[d16 + 1] = 0;
    ring.u32[d32 + 1] = layout.bufferSize;
    ring.u32[d32 + 2] = bufferOffset(layout, 'M2S', 0, slot);
    ring.u32[d32 + 3] = 0;
  }
  Atomics.store(ring.u16, ring.headIndex, ring.size);
}

/** The packet the master put first on the M2S ring, or undefined if it has not published one. */
export function readFirstM2S(s: ScriptedSlave): Buffer | undefined {
  const ring = s.m2s;
  const region = s.region;
  if (ring === undefined || region === undefined) throw new Error('scripted slave has no M2S ring');
  const tail = Atomics.load(ring.u16, ring.tailIndex);
  if (tail === 0) return undefined;
  const parts: Buffer[] = [];
  for (let slot = 0; slot < tail; slot++) {
    const flags = ring.u16[ring.desc16 + slot * 8];
    const length = ring.u32[ring.desc32 + slot * 4 + 1];
    const offset = ring.u32[ring.desc32 + slot * 4 + 2];
    parts.push(Buffer.from(region.bytes.subarray(offset, offset + length)));
    if ((flags & DESC_FLAG_NEXT) === 0) return Buffer.concat(parts);
  }
  return undefined;
}
