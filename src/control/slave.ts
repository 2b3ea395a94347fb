// Slave side of one connection (§6.3): waits for HELLO, negotiates, creates the region, rings and
// eventfds, sends INIT / ADD_REGION / ADD_RING… / CONNECT lock-step (one per ACK), and comes up
// on CONNECTED. The memory is fresh for every connection and released with it.
import { InterfaceMode, MEMIF_COOKIE, MEMIF_VERSION, MsgType, type RingType } from '../constants.js';
import { PeerRefusedError, ProtocolError } from '../errors.js';
import { type NativeBinding, sys } from '../native.js';
import type { ResolvedOptions } from '../options.js';
import { Desc16, Desc32 } from '../shm/descriptor.js';
import { bufferOffset, computeLayout, type Layout, ringOffset } from '../shm/layout.js';
import { Region } from '../shm/region.js';
import { Ring } from '../shm/ring.js';
import {
  encodeAddRegion,
  encodeAddRing,
  encodeConnect,
  encodeInit,
  type Hello,
  type Message,
  messageNames,
} from '../wire/messages.js';
import { Connection, type ConnectionOwner, Refusal } from './connection.js';

/** The options a slave's handshake needs. */
export const SLAVE_FIELDS = [
  'id',
  'instanceName',
  'interfaceName',
  'mode',
  'secret',
  'authorize',
  'rxQueues',
  'txQueues',
  'log2RingSize',
  'bufferSize',
  'cacheLineSize',
  'handshakeTimeoutMs',
  'logger',
] as const;
export type SlaveConfig = Pick<ResolvedOptions, (typeof SLAVE_FIELDS)[number]>;

/** What HELLO let us use (§6.3 step 2). */
export interface SlaveNegotiated {
  numS2M: number;
  numM2S: number;
  log2RingSize: number;
}

/** min(ours, theirs) for queues and ring size; refuses a HELLO without version 2.0. */
export function negotiate(
  hello: Hello,
  options: Pick<ResolvedOptions, 'rxQueues' | 'txQueues' | 'log2RingSize'>,
): SlaveNegotiated {
  if (hello.minVersion > MEMIF_VERSION || hello.maxVersion < MEMIF_VERSION) {
    throw new Refusal(
      'MEMIF_ERR_PROTO',
      `incompatible protocol version: master speaks 0x${hello.minVersion.toString(16)}-0x${hello.maxVersion.toString(16)}`,
    );
  }
  return {
    numS2M: Math.min(options.txQueues, hello.maxS2MRing + 1),
    numM2S: Math.min(options.rxQueues, hello.maxM2SRing + 1),
    log2RingSize: Math.min(options.log2RingSize, hello.maxLog2RingSize),
  };
}

export class SlaveConnection extends Connection {
  #pending: { bytes: Buffer; fd: number }[] = [];
  #sentConnect = false;
  /** HELLO was taken (even while a user check on the master is pending). */
  #started = false;
  #layout: Layout | undefined;
  #remoteName = '';

  constructor(
    fd: number,
    private readonly options: SlaveConfig,
    owner: ConnectionOwner,
    binding: NativeBinding,
  ) {
    super(fd, binding, options.logger, options.handshakeTimeoutMs);
    this.owner = owner;
  }

  protected handle(msg: Message, _take: () => number): void {
    const started = this.#started || this.#layout !== undefined;
    if (this.state !== 'handshake') {
      // After CONNECTED only DISCONNECT (handled by Connection) is legal.
    } else if (!started && msg.type === MsgType.HELLO) {
      this.#onHello(msg);
      return;
    } else if (started && msg.type === MsgType.ACK) {
      this.#sendNext();
      return;
    } else if (msg.type === MsgType.CONNECTED && this.#sentConnect && this.#pending.length === 0) {
      this.#onConnected(msg.ifName);
      return;
    }
    throw new Refusal('MEMIF_ERR_MFMSG', `unexpected message ${messageNames[msg.type]}`);
  }

  #onHello(hello: Hello): void {
    const o = this.options;
    const n = negotiate(hello, o);
    const authorize = o.authorize;
    if (authorize === undefined) {
      this.#begin(hello, n);
      return;
    }
    const creds = this.peerCredentials() ?? { pid: -1, uid: -1, gid: -1 };
    this.#started = true;
    this.gate(
      () => authorize({ ...creds, id: o.id, name: hello.name }),
      new Refusal('MEMIF_ERR_ACCES', 'not authorized'),
      () => this.#begin(hello, n),
    );
  }

  /** Creates the memory and starts the lock-step sequence (§6.3 step 2). */
  #begin(hello: Hello, n: SlaveNegotiated): void {
    const o = this.options;
    if (n.numS2M < 1 || n.numM2S < 1) {
      throw new PeerRefusedError('MEMIF_ERR_MAXRING', 'master accepts no rings in one direction');
    }
    this.#remoteName = hello.name;
    const layout = computeLayout({
      numS2M: n.numS2M,
      numM2S: n.numM2S,
      log2RingSize: n.log2RingSize,
      bufferSize: o.bufferSize,
      cacheLineSize: o.cacheLineSize,
    });
    this.#layout = layout;
    const res = this.resources;
    const region = Region.create(0, layout.regionSize, `memif-ts/${o.id}`, this.binding);
    res.regions.push(region);
    const send = (bytes: Buffer, fd = -1) => this.#pending.push({ bytes, fd });
    send(
      encodeInit({
        version: MEMIF_VERSION,
        id: o.id,
        mode: InterfaceMode[o.mode],
        secret: o.secret,
        name: o.instanceName,
      }),
    );
    send(encodeAddRegion({ index: 0, size: BigInt(layout.regionSize) }), region.fd);
    for (const type of ['S2M', 'M2S'] as RingType[]) {
      const count = type === 'S2M' ? n.numS2M : n.numM2S;
      for (let i = 0; i < count; i++) {
        const offset = ringOffset(layout, type, i);
        const ring = new Ring(region, offset, n.log2RingSize, o.cacheLineSize);
        ring.init();
        prefill(ring, layout, type, i);
        const eventfd = sys(() => this.binding.eventfdCreate());
        (type === 'S2M' ? res.s2m : res.m2s).push({ type, index: i, ring, eventfd });
        send(encodeAddRing({ ringType: type, index: i, region: 0, offset, log2RingSize: n.log2RingSize }), eventfd);
      }
    }
    send(encodeConnect(o.interfaceName));
    this.#sendNext();
  }

  /** Lock-step: one queued message per ACK (§6.2). */
  #sendNext(): void {
    const next = this.#pending.shift();
    if (next === undefined) return;
    if (next.bytes.readUInt16LE(0) === MsgType.CONNECT) this.#sentConnect = true;
    this.channel.send(next.bytes, next.fd);
  }

  #onConnected(remoteInterfaceName: string): void {
    const layout = this.#layout as Layout;
    const res = this.resources;
    for (const r of [...res.s2m, ...res.m2s]) {
      if (r.ring.cookie !== MEMIF_COOKIE)
        throw new ProtocolError('MEMIF_ERR_COOKIE', `wrong cookie on ${r.type} ring ${r.index}`);
    }
    this.up({
      memory: res.memory,
      regions: res.regions,
      s2m: res.s2m,
      m2s: res.m2s,
      buffersOffset: (type, index) => bufferOffset(layout, type, index, 0),
      bufferSize: this.options.bufferSize,
      remoteName: this.#remoteName,
      remoteInterfaceName,
    });
  }
}

/** Initial descriptors as §7.5 lays them out: our buffer for each slot, full capacity, no flags. */
function prefill(ring: Ring, layout: Layout, type: RingType, index: number): void {
  for (let slot = 0; slot < ring.size; slot++) {
    const d16 = ring.desc16 + slot * Desc16.STRIDE;
    const d32 = ring.desc32 + slot * Desc32.STRIDE;
    ring.u16[d16 + Desc16.FLAGS] = 0;
    ring.u16[d16 + Desc16.REGION] = 0;
    ring.u32[d32 + Desc32.LENGTH] = layout.bufferSize;
    ring.u32[d32 + Desc32.OFFSET] = bufferOffset(layout, type, index, slot);
    ring.u32[d32 + Desc32.METADATA] = 0;
  }
}
