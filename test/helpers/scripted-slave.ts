// A slave that does exactly what a test tells it, built on the addon and the wire codec rather
// than on Memif: it can finish a normal handshake and then write whatever it likes into the
// shared memory (bad descriptors, wild indices), or send any message it likes.
import { DESC_SIZE, MEMIF_VERSION, MsgType, type RingType } from '../../src/constants.js';
import { native } from '../../src/native.js';
import { bufferOffset, computeLayout, type Layout, ringOffset } from '../../src/shm/layout.js';
import { Region } from '../../src/shm/region.js';
import { Ring } from '../../src/shm/ring.js';
import {
  decodeMessage,
  encodeAddRegion,
  encodeAddRing,
  encodeConnect,
  encodeInit,
  type Message,
} from '../../src/wire/messages.js';

export interface ScriptedOptions {
  id?: number;
  secret?: string;
  log2RingSize?: number;
  bufferSize?: number;
  /** INIT mode byte (default 0, ethernet). */
  mode?: number;
  /** INIT version (default 0x0200). */
  version?: number;
  /**
   * An fd to use as region 0 instead of a fresh sealed memfd (a plain file, an unsealed memfd…).
   * It must be at least the layout's region size; the slave maps it and owns it from then on.
   */
  regionFd?: number;
  /** Interrupt fds to send instead of fresh eventfds (the slave owns and closes them from then on). */
  eventfds?: { S2M?: number; M2S?: number };
}

/** What a non-blocking send did. */
export type SendResult = 'sent' | 'full' | 'closed';

export class ScriptedSlave {
  readonly b = native();
  readonly fd: number;
  readonly #poller;
  readonly #inbox: Message[] = [];
  #wake: (() => void) | undefined;
  #hangup = false;
  #closed = false;
  region: Region | undefined;
  layout: Layout | undefined;
  s2m: Ring | undefined;
  m2s: Ring | undefined;
  readonly eventfds: number[] = [];
  /** Raw messages the master sent that did not decode (should stay empty). */
  readonly garbage: Buffer[] = [];
  /** Our S2M head, as sendS2M() publishes it. */
  s2mHead = 0;

  constructor(socketPath: string) {
    this.fd = this.b.connect(socketPath, false);
    const rx = Buffer.alloc(256);
    const meta = new Int32Array(3);
    this.#poller = new this.b.Poller(this.fd, () => {
      for (;;) {
        let n: number;
        try {
          n = this.b.recv(this.fd, rx, meta);
        } catch {
          n = 0; // ECONNRESET: the master is gone
        }
        if (meta[0] >= 0) this.b.close(meta[0]);
        if (n < 0) break;
        if (n === 0) {
          this.#hangup = true;
          this.#poller.stop();
          break;
        }
        try {
          this.#inbox.push(decodeMessage(rx.subarray(0, n)));
        } catch {
          this.garbage.push(Buffer.from(rx.subarray(0, n)));
        }
      }
      this.#wake?.();
    });
    this.#poller.start(this.b.READABLE | this.b.DISCONNECT);
  }

  /** True once the master closed the connection (and every message before it was read). */
  get hungUp(): boolean {
    return this.#hangup && this.#inbox.length === 0;
  }

  /** The next message, or undefined once the master hung up. */
  async next(): Promise<Message | undefined> {
    while (this.#inbox.length === 0) {
      if (this.#hangup) return undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
    return this.#inbox.shift();
  }

  send(bytes: Buffer, fd = -1): void {
    this.b.send(this.fd, bytes, fd);
  }

  /** Sends without throwing: 'full' when the socket buffer is full, 'closed' when the master is gone. */
  trySend(bytes: Uint8Array, fd = -1): SendResult {
    try {
      return this.b.send(this.fd, bytes, fd) < 0 ? 'full' : 'sent';
    } catch {
      return 'closed';
    }
  }

  async expect(type: number): Promise<Message> {
    const m = await this.next();
    if (m?.type !== type) throw new Error(`expected message ${type}, got ${m === undefined ? 'hang-up' : m.type}`);
    return m;
  }

  /** Creates the layout, region 0 and both rings (cookie, zero indices), without sending anything. */
  prepare(o: ScriptedOptions = {}): Layout {
    const log2 = o.log2RingSize ?? 4;
    const layout = computeLayout({
      numS2M: 1,
      numM2S: 1,
      log2RingSize: log2,
      bufferSize: o.bufferSize ?? 2048,
      cacheLineSize: 64,
    });
    this.layout = layout;
    this.region =
      o.regionFd === undefined
        ? Region.create(0, layout.regionSize, 'scripted')
        : Region.adopt(0, o.regionFd, layout.regionSize);
    this.s2m = new Ring(this.region, ringOffset(layout, 'S2M', 0), log2, 64);
    this.m2s = new Ring(this.region, ringOffset(layout, 'M2S', 0), log2, 64);
    this.s2m.init();
    this.m2s.init();
    return layout;
  }

  /** INIT as handshake() sends it. */
  initMessage(o: ScriptedOptions = {}): Buffer {
    return encodeInit({
      version: o.version ?? MEMIF_VERSION,
      id: o.id ?? 0,
      mode: o.mode ?? 0,
      secret: o.secret,
      name: 'scripted',
    });
  }

  /** ADD_REGION for region 0 as prepared. */
  regionMessage(): Buffer {
    return encodeAddRegion({ index: 0, size: BigInt((this.layout as Layout).regionSize) });
  }

  /** ADD_RING for ring 0 of `type` as prepared. */
  ringMessage(type: RingType): Buffer {
    const layout = this.layout as Layout;
    return encodeAddRing({
      ringType: type,
      index: 0,
      region: 0,
      offset: ringOffset(layout, type, 0),
      log2RingSize: layout.log2RingSize,
    });
  }

  /** A new eventfd, owned (and closed) by this slave. */
  newEventfd(): number {
    const efd = this.b.eventfdCreate();
    this.eventfds.push(efd);
    return efd;
  }

  /** A correct handshake with one S2M and one M2S ring. */
  async handshake(o: ScriptedOptions = {}): Promise<void> {
    await this.expect(MsgType.HELLO);
    this.prepare(o);
    const region = this.region as Region;
    this.send(this.initMessage(o));
    await this.expect(MsgType.ACK);
    this.send(this.regionMessage(), region.fd);
    await this.expect(MsgType.ACK);
    for (const type of ['S2M', 'M2S'] as const) {
      const given = o.eventfds?.[type];
      if (given !== undefined) this.eventfds.push(given);
      this.send(this.ringMessage(type), given ?? this.newEventfd());
      await this.expect(MsgType.ACK);
    }
    this.send(encodeConnect('scripted0'));
    await this.expect(MsgType.CONNECTED);
  }

  /** Writes S2M descriptor `slot` as given and publishes head = `head`, then kicks the master. */
  publishS2M(
    slot: number,
    desc: { flags?: number; region?: number; offset: number; length: number },
    head: number,
  ): void {
    const ring = this.s2m as Ring;
    const d16 = ring.desc16 + slot * (DESC_SIZE / 2);
    const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
    ring.u16[d16] = desc.flags ?? 0;
    ring.u16[d16 + 1] = desc.region ?? 0;
    ring.u32[d32 + 1] = desc.length;
    ring.u32[d32 + 2] = desc.offset;
    Atomics.store(ring.u16, ring.headIndex, head);
    this.b.eventfdSignal(this.eventfds[0]);
  }

  /**
   * Sends packets the correct way: each into our own S2M buffer of its slot (one fragment each,
   * at most bufferSize bytes), then publishes head and kicks the master.
   */
  sendS2M(packets: readonly Uint8Array[]): void {
    const ring = this.s2m as Ring;
    const layout = this.layout as Layout;
    const bytes = (this.region as Region).bytes;
    let head = this.s2mHead;
    for (const p of packets) {
      const slot = head & ring.mask;
      const at = bufferOffset(layout, 'S2M', 0, slot);
      bytes.set(p, at);
      const d16 = ring.desc16 + slot * (DESC_SIZE / 2);
      const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
      ring.u16[d16] = 0;
      ring.u16[d16 + 1] = 0;
      ring.u32[d32 + 1] = p.length;
      ring.u32[d32 + 2] = at;
      head = (head + 1) & 0xffff;
    }
    this.s2mHead = head;
    Atomics.store(ring.u16, ring.headIndex, head);
    this.b.eventfdSignal(this.eventfds[0]);
  }

  /** Writes M2S descriptor `slot` (a buffer offered to the master) and publishes head = `head`. */
  offerM2S(slot: number, desc: { region?: number; offset: number; length: number }, head: number): void {
    const ring = this.m2s as Ring;
    const d16 = ring.desc16 + slot * (DESC_SIZE / 2);
    const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
    ring.u16[d16] = 0;
    ring.u16[d16 + 1] = desc.region ?? 0;
    ring.u32[d32 + 1] = desc.length;
    ring.u32[d32 + 2] = desc.offset;
    Atomics.store(ring.u16, ring.headIndex, head);
  }

  /** Offers `count` correct M2S buffers (slots 0 …) to the master, as a slave does after CONNECTED. */
  offerGoodM2S(count: number): void {
    const layout = this.layout as Layout;
    for (let slot = 0; slot < count; slot++) {
      this.offerM2S(slot, { offset: bufferOffset(layout, 'M2S', 0, slot), length: layout.bufferSize }, slot + 1);
    }
  }

  /** Packets the master wrote on M2S, from descriptor `from` up to its tail. */
  readM2S(from = 0): Buffer[] {
    const ring = this.m2s as Ring;
    const bytes = (this.region as Region).bytes;
    const tail = Atomics.load(ring.u16, ring.tailIndex);
    const out: Buffer[] = [];
    for (let i = from; i !== tail; i = (i + 1) & 0xffff) {
      const slot = i & ring.mask;
      const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
      const len = ring.u32[d32 + 1];
      const off = ring.u32[d32 + 2];
      out.push(Buffer.from(bytes.subarray(off, off + len)));
    }
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.close();
    this.b.close(this.fd);
    for (const fd of this.eventfds) this.b.close(fd);
    this.eventfds.length = 0;
    this.region?.close();
  }
}
