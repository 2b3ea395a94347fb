// A master that misbehaves on purpose, built on the addon and the wire codec rather than on Memif:
// it listens on a path, accepts, and each connection follows what the test tells it (any HELLO or
// garbage, ACK or silence, CONNECTED, then wild writes into the slave's shared memory). Every fd it
// receives is closed when the connection closes; regions it mapped are unmapped.
import { existsSync, unlinkSync } from 'node:fs';
import {
  DESC_SIZE,
  MAX_LOG2_RING_SIZE,
  MEMIF_COOKIE,
  MEMIF_VERSION,
  MSG_SIZE,
  MsgType,
  type RingType,
} from '../../src/constants.js';
import { type NativePoller, native } from '../../src/native.js';
import { Region } from '../../src/shm/region.js';
import { Ring } from '../../src/shm/ring.js';
import {
  type AddRegion,
  type AddRing,
  decodeMessage,
  encodeAck,
  encodeConnected,
  encodeHello,
  type Hello,
  type Init,
  type Message,
} from '../../src/wire/messages.js';

/** One message as the hostile master received it. */
export interface Received {
  /** The decoded message (undefined if it did not decode). */
  msg: Message | undefined;
  /** Its bytes as received. */
  bytes: Buffer;
  /** The fd that came with it, or -1. Owned by the connection (closed by close()). */
  fd: number;
}

/** What a non-blocking send did. */
export type SendResult = 'sent' | 'full' | 'closed';

/** A correct HELLO, with any field overridden. */
export function helloBytes(o: Partial<Omit<Hello, 'type'>> = {}): Buffer {
  return encodeHello({
    name: 'hostile',
    minVersion: MEMIF_VERSION,
    maxVersion: MEMIF_VERSION,
    maxRegion: 255,
    maxM2SRing: 254,
    maxS2MRing: 254,
    maxLog2RingSize: MAX_LOG2_RING_SIZE,
    ...o,
  });
}

/** One accepted connection. */
export class HostileConn {
  readonly b = native();
  readonly fd: number;
  readonly #poller: NativePoller;
  readonly #inbox: Received[] = [];
  /** Every message received so far, in order. */
  readonly log: Received[] = [];
  #wake: (() => void) | undefined;
  #hangup = false;
  #closed = false;
  /** fds received and not handed to a Region (closed by close()). */
  readonly fds: number[] = [];
  init: Init | undefined;
  readonly regionMsgs: AddRegion[] = [];
  readonly ringMsgs: AddRing[] = [];
  readonly regions: Region[] = [];
  readonly rings: { msg: AddRing; eventfd: number; ring: Ring | undefined }[] = [];

  constructor(fd: number) {
    this.fd = fd;
    const rx = Buffer.alloc(MSG_SIZE * 2);
    const meta = new Int32Array(3);
    this.#poller = new this.b.Poller(fd, () => {
      for (;;) {
        let n: number;
        try {
          n = this.b.recv(this.fd, rx, meta);
        } catch {
          n = 0;
        }
        if (meta[0] >= 0) this.fds.push(meta[0]);
        if (n < 0) break;
        if (n === 0) {
          this.#hangup = true;
          this.#poller.stop();
          break;
        }
        const bytes = Buffer.from(rx.subarray(0, n));
        let msg: Message | undefined;
        try {
          msg = decodeMessage(bytes);
        } catch {
          msg = undefined;
        }
        const r = { msg, bytes, fd: meta[0] };
        this.#inbox.push(r);
        this.log.push(r);
      }
      this.#wake?.();
    });
    this.#poller.start(this.b.READABLE | this.b.DISCONNECT);
  }

  /** True once the slave closed the connection and every message before it was read. */
  get hungUp(): boolean {
    return this.#hangup && this.#inbox.length === 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next message, or undefined once the slave hung up. */
  async next(): Promise<Received | undefined> {
    while (this.#inbox.length === 0) {
      if (this.#hangup || this.#closed) return undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
    return this.#inbox.shift();
  }

  /** The next message, which must be of `type`. */
  async expect(type: number): Promise<Received> {
    const r = await this.next();
    if (r?.msg?.type !== type) {
      throw new Error(`hostile master expected message ${type}, got ${r === undefined ? 'hang-up' : r.msg?.type}`);
    }
    return r;
  }

  /** Sends without throwing. */
  send(bytes: Uint8Array, fd = -1): SendResult {
    if (this.#closed) return 'closed';
    try {
      return this.b.send(this.fd, bytes, fd) < 0 ? 'full' : 'sent';
    } catch {
      return 'closed';
    }
  }

  sendHello(o: Partial<Omit<Hello, 'type'>> = {}): SendResult {
    return this.send(helloBytes(o));
  }

  ack(): SendResult {
    return this.send(encodeAck());
  }

  /** Reads INIT, records it and ACKs it. */
  async takeInit(): Promise<Init> {
    const r = await this.expect(MsgType.INIT);
    this.init = r.msg as Init;
    this.ack();
    return this.init;
  }

  /** Reads ADD_REGION, maps its fd (now owned by the Region) and ACKs it. */
  async takeRegion(): Promise<AddRegion> {
    const r = await this.expect(MsgType.ADD_REGION);
    this.#adoptRegion(r);
    this.ack();
    return r.msg as AddRegion;
  }

  /** Reads ADD_RING, records it and ACKs it. */
  async takeRing(): Promise<AddRing> {
    const r = await this.expect(MsgType.ADD_RING);
    this.#addRing(r);
    this.ack();
    return r.msg as AddRing;
  }

  /**
   * A correct master handshake: HELLO (with overrides), ACK to INIT, every ADD_REGION and
   * ADD_RING, and CONNECTED once CONNECT comes. The rings are then mapped for writing.
   */
  async handshake(hello: Partial<Omit<Hello, 'type'>> = {}): Promise<void> {
    this.sendHello(hello);
    await this.takeInit();
    for (;;) {
      const r = await this.next();
      if (r === undefined) throw new Error('hostile master: the slave hung up during the handshake');
      const type = r.msg?.type;
      if (type === MsgType.ADD_REGION) {
        this.#adoptRegion(r);
        this.ack();
      } else if (type === MsgType.ADD_RING) {
        this.#addRing(r);
        this.ack();
      } else if (type === MsgType.CONNECT) {
        this.mapRings();
        this.send(encodeConnected('hostile0'));
        return;
      } else {
        throw new Error(`hostile master: unexpected message ${type} during the handshake`);
      }
    }
  }

  #adoptRegion(r: Received): void {
    const msg = r.msg as AddRegion;
    this.regionMsgs.push(msg);
    if (r.fd < 0) return;
    const at = this.fds.indexOf(r.fd);
    if (at >= 0) this.fds.splice(at, 1);
    this.regions.push(Region.adopt(msg.index, r.fd, Number(msg.size)));
  }

  #addRing(r: Received): void {
    const msg = r.msg as AddRing;
    this.ringMsgs.push(msg);
    this.rings.push({ msg, eventfd: r.fd, ring: undefined });
  }

  /** Views every announced ring in its region (64-byte cache lines). */
  mapRings(): void {
    for (const r of this.rings) {
      const region = this.regions[r.msg.region];
      if (region !== undefined && r.ring === undefined) r.ring = new Ring(region, r.msg.offset, r.msg.log2RingSize, 64);
    }
  }

  /** True when every mapped ring carries the memif cookie. */
  cookiesOk(): boolean {
    return this.rings.length > 0 && this.rings.every((r) => r.ring?.cookie === MEMIF_COOKIE);
  }

  /** Ring `index` of `type` (mapped by handshake()). */
  ring(type: RingType, index = 0): { ring: Ring; eventfd: number } {
    const r = this.rings.find((x) => x.msg.ringType === type && x.msg.index === index);
    if (r?.ring === undefined) throw new Error(`hostile master: no ${type} ring ${index}`);
    return { ring: r.ring, eventfd: r.eventfd };
  }

  /** Signals the eventfd of ring `index` of `type` (an M2S kick wakes the slave's rx queue). */
  kick(type: RingType, index = 0): void {
    this.b.eventfdSignal(this.ring(type, index).eventfd);
  }

  /** Writes the flags and length of M2S descriptor `slot` (region and offset stay as offered). */
  fillM2S(slot: number, desc: { flags?: number; length: number; region?: number; offset?: number }): void {
    const { ring } = this.ring('M2S');
    const d16 = ring.desc16 + slot * (DESC_SIZE / 2);
    const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
    ring.u16[d16] = desc.flags ?? 0;
    if (desc.region !== undefined) ring.u16[d16 + 1] = desc.region;
    ring.u32[d32 + 1] = desc.length;
    if (desc.offset !== undefined) ring.u32[d32 + 2] = desc.offset;
  }

  /** Where the slave offered M2S descriptor `slot`: its region, offset and capacity. */
  offeredM2S(slot: number): { region: number; offset: number; length: number } {
    const { ring } = this.ring('M2S');
    const d16 = ring.desc16 + slot * (DESC_SIZE / 2);
    const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
    return { region: ring.u16[d16 + 1], offset: ring.u32[d32 + 2], length: ring.u32[d32 + 1] };
  }

  /**
   * Transmits packets the correct way into the buffers the slave offered on M2S (one slot each),
   * publishes tail and kicks the slave. Returns how many fitted.
   */
  sendM2S(packets: readonly Uint8Array[]): number {
    const { ring } = this.ring('M2S');
    const head = Atomics.load(ring.u16, ring.headIndex);
    let tail = Atomics.load(ring.u16, ring.tailIndex);
    let n = 0;
    for (const p of packets) {
      if (tail === head) break;
      const slot = tail & ring.mask;
      const offered = this.offeredM2S(slot);
      if (p.length > offered.length) break;
      this.regions[offered.region].bytes.set(p, offered.offset);
      this.fillM2S(slot, { length: p.length });
      tail = (tail + 1) & 0xffff;
      n++;
    }
    Atomics.store(ring.u16, ring.tailIndex, tail);
    this.kick('M2S');
    return n;
  }

  /** Reads what the slave published on S2M (one fragment per packet) and advances tail. */
  readS2M(): Buffer[] {
    const { ring } = this.ring('S2M');
    const head = Atomics.load(ring.u16, ring.headIndex);
    let tail = Atomics.load(ring.u16, ring.tailIndex);
    const out: Buffer[] = [];
    while (tail !== head) {
      const slot = tail & ring.mask;
      const d16 = ring.desc16 + slot * (DESC_SIZE / 2);
      const d32 = ring.desc32 + slot * (DESC_SIZE / 4);
      const region = this.regions[ring.u16[d16 + 1]];
      const len = ring.u32[d32 + 1];
      const off = ring.u32[d32 + 2];
      out.push(Buffer.from(region.bytes.subarray(off, off + len)));
      tail = (tail + 1) & 0xffff;
    }
    Atomics.store(ring.u16, ring.tailIndex, tail);
    return out;
  }

  /** Stores `value` into the tail of ring 0 of `type` (the master's index). */
  setTail(type: RingType, value: number): void {
    const { ring } = this.ring(type);
    Atomics.store(ring.u16, ring.tailIndex, value & 0xffff);
  }

  /** Hangs up: closes the socket and everything received. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.close();
    this.b.close(this.fd);
    for (const fd of this.fds) this.b.close(fd);
    this.fds.length = 0;
    for (const r of this.regions) r.close();
    this.regions.length = 0;
    this.#wake?.();
  }
}

/** A listening hostile master on a filesystem path. */
export class HostileMaster {
  readonly b = native();
  readonly fd: number;
  readonly #poller: NativePoller;
  /** Every connection accepted so far. */
  readonly conns: HostileConn[] = [];
  #taken = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(readonly socketPath: string) {
    if (existsSync(socketPath)) unlinkSync(socketPath);
    this.fd = this.b.listen(socketPath, false, 16, 0);
    this.#poller = new this.b.Poller(this.fd, () => {
      for (;;) {
        const c = this.b.accept(this.fd);
        if (c < 0) break;
        this.conns.push(new HostileConn(c));
      }
      this.#wake?.();
    });
    this.#poller.start(this.b.READABLE);
  }

  /** The next connection not yet handed out (waits for one). */
  async accept(): Promise<HostileConn> {
    while (this.#taken >= this.conns.length) {
      if (this.#closed) throw new Error('hostile master closed');
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
    return this.conns[this.#taken++];
  }

  /** Stops listening, hangs up every connection and removes the socket file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.close();
    this.b.close(this.fd);
    for (const c of this.conns) c.close();
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
    this.#wake?.();
  }
}
