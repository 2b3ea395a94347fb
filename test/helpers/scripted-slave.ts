// A slave that does exactly what a test tells it, built on the addon and the wire codec rather
// than on Memif: it can finish a normal handshake and then write whatever it likes into the
// shared memory (bad descriptors, wild indices), or send any message it likes.
import { DESC_SIZE, MEMIF_VERSION, MsgType } from '../../src/constants.js';
import { native } from '../../src/native.js';
import { computeLayout, type Layout, ringOffset } from '../../src/shm/layout.js';
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
}

export class ScriptedSlave {
  readonly b = native();
  readonly fd: number;
  readonly #poller;
  readonly #inbox: Message[] = [];
  #wake: (() => void) | undefined;
  #hangup = false;
  region: Region | undefined;
  layout: Layout | undefined;
  s2m: Ring | undefined;
  m2s: Ring | undefined;
  readonly eventfds: number[] = [];

  constructor(socketPath: string) {
    this.fd = this.b.connect(socketPath, false);
    const rx = Buffer.alloc(256);
    const meta = new Int32Array(6);
    this.#poller = new this.b.Poller(this.fd, () => {
      for (;;) {
        const n = this.b.recv(this.fd, rx, meta);
        if (meta[0] >= 0) this.b.close(meta[0]);
        if (n < 0) break;
        if (n === 0) {
          this.#hangup = true;
          this.#poller.stop();
          break;
        }
        this.#inbox.push(decodeMessage(rx.subarray(0, n)));
      }
      this.#wake?.();
    });
    this.#poller.start(this.b.READABLE | this.b.DISCONNECT);
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

  async expect(type: number): Promise<Message> {
    const m = await this.next();
    if (m?.type !== type) throw new Error(`expected message ${type}, got ${m === undefined ? 'hang-up' : m.type}`);
    return m;
  }

  /** A correct handshake with one S2M and one M2S ring. */
  async handshake(o: ScriptedOptions = {}): Promise<void> {
    const log2 = o.log2RingSize ?? 4;
    await this.expect(MsgType.HELLO);
    const layout = computeLayout({
      numS2M: 1,
      numM2S: 1,
      log2RingSize: log2,
      bufferSize: o.bufferSize ?? 2048,
      cacheLineSize: 64,
    });
    this.layout = layout;
    this.region = Region.create(0, layout.regionSize, 'scripted');
    this.s2m = new Ring(this.region, ringOffset(layout, 'S2M', 0), log2, 64);
    this.m2s = new Ring(this.region, ringOffset(layout, 'M2S', 0), log2, 64);
    this.s2m.init();
    this.m2s.init();
    this.send(encodeInit({ version: MEMIF_VERSION, id: o.id ?? 0, mode: 0, secret: o.secret, name: 'scripted' }));
    await this.expect(MsgType.ACK);
    this.send(encodeAddRegion({ index: 0, size: BigInt(layout.regionSize) }), this.region.fd);
    await this.expect(MsgType.ACK);
    for (const type of ['S2M', 'M2S'] as const) {
      const efd = this.b.eventfdCreate();
      this.eventfds.push(efd);
      this.send(
        encodeAddRing({ ringType: type, index: 0, region: 0, offset: ringOffset(layout, type, 0), log2RingSize: log2 }),
        efd,
      );
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

  close(): void {
    this.#poller.close();
    this.b.close(this.fd);
    for (const fd of this.eventfds) this.b.close(fd);
    this.eventfds.length = 0;
    this.region?.close();
  }
}
