// Master side of one connection (§6.4): HELLO at once, then INIT (version, id, mode, secret),
// ADD_REGION (mapped at once, fd required, index in order), ADD_RING (ring inside its region),
// CONNECT (cookies), CONNECTED. Every refusal names its reason in a DISCONNECT. Until INIT binds
// it to an interface, the connection belongs to the listener.
import { timingSafeEqual } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import {
  InterfaceMode,
  MAX_LOG2_RING_SIZE,
  MAX_REGION_INDEX,
  MEMIF_COOKIE,
  MEMIF_VERSION,
  MsgType,
  SECRET_FIELD_SIZE,
} from '../constants.js';
import type { Logger } from '../log.js';
import type { NativeBinding } from '../native.js';
import type { ResolvedOptions } from '../options.js';
import { ringInRegion } from '../shm/descriptor.js';
import { MAX_REGION_SIZE, Region } from '../shm/region.js';
import { Ring, ringBytes } from '../shm/ring.js';
import {
  type AddRegion,
  type AddRing,
  encodeAck,
  encodeConnected,
  type Init,
  type Message,
  messageNames,
} from '../wire/messages.js';
import { Connection, type ConnectionOwner, Refusal } from './connection.js';
import { eventfdProblem } from './interrupt-fd.js';
import { ringTypes } from './session.js';

/** The options a master's socket and handshake need (the listener's included). */
export const MASTER_FIELDS = [
  'id',
  'socketPath',
  'socketMode',
  'socketOwner',
  'instanceName',
  'interfaceName',
  'mode',
  'secret',
  'authorize',
  'rxQueues',
  'txQueues',
  'bufferSize',
  'cacheLineSize',
  'allowUnsealedRegions',
  'handshakeTimeoutMs',
  'logger',
  'netns',
] as const;
export type MasterConfig = Pick<ResolvedOptions, (typeof MASTER_FIELDS)[number]>;

/** A master interface as its listener sees it (an adapter the interface keeps private). */
export interface MasterEndpoint extends ConnectionOwner {
  readonly config: MasterConfig;
  /** True while a slave is attached (handshaking or connected). */
  busy(): boolean;
  /** Binds an accepted connection that sent a valid INIT for this interface. */
  attach(conn: MasterConnection): void;
}

/** The listener's side of a pending connection. */
export interface MasterDirectory {
  lookup(id: number): MasterEndpoint | undefined;
  /** INIT bound the connection to an interface: it no longer counts as pending. */
  bound(conn: MasterConnection): void;
  forget(conn: MasterConnection): void;
}

/** Constant-time comparison of two secrets as NUL-terminated strings in a 24-byte field. */
export function secretsEqual(expected: Buffer, received: Buffer): boolean {
  const a = Buffer.alloc(SECRET_FIELD_SIZE);
  const b = Buffer.alloc(SECRET_FIELD_SIZE);
  expected.copy(a, 0, 0, SECRET_FIELD_SIZE);
  received.copy(b, 0, 0, SECRET_FIELD_SIZE);
  return timingSafeEqual(a, b);
}

export class MasterConnection extends Connection {
  #endpoint: MasterEndpoint | undefined;
  #remoteName = '';

  constructor(
    fd: number,
    private readonly directory: MasterDirectory,
    binding: NativeBinding,
    logger: Logger,
    handshakeTimeoutMs: number,
  ) {
    super(fd, binding, logger, handshakeTimeoutMs);
  }

  /** Sends HELLO (right after accept). */
  hello(bytes: Buffer): void {
    this.channel.send(bytes);
  }

  /** True once a failure of this connection concerns an interface (which reports it itself). */
  get claimed(): boolean {
    return this.owner !== undefined;
  }

  protected handle(msg: Message, take: () => number): void {
    const bound = this.#endpoint !== undefined;
    if (this.state !== 'handshake') {
      // After CONNECTED only DISCONNECT (handled by Connection) is legal.
    } else if (!bound && msg.type === MsgType.INIT) {
      this.#onInit(msg);
      return;
    } else if (bound && msg.type === MsgType.ADD_REGION) {
      this.#onAddRegion(msg, take());
      return;
    } else if (bound && msg.type === MsgType.ADD_RING) {
      this.#onAddRing(msg, take());
      return;
    } else if (bound && msg.type === MsgType.CONNECT) {
      this.#onConnect(msg.ifName);
      return;
    }
    throw new Refusal('MEMIF_ERR_MFMSG', `unexpected message ${messageNames[msg.type]}`);
  }

  #onInit(init: Init): void {
    if (init.version !== MEMIF_VERSION) {
      throw new Refusal('MEMIF_ERR_PROTO', `incompatible protocol version 0x${init.version.toString(16)}`);
    }
    const ep = this.directory.lookup(init.id);
    if (ep === undefined) throw new Refusal('MEMIF_ERR_ID', `unmatched interface id ${init.id}`);
    // Every refusal names the id the slave asked for (in DISCONNECT too: the well-known words
    // come first, so peers that map reason texts to codes still recognise them).
    const forId = ` (interface id ${init.id})`;
    if (ep.busy()) throw new Refusal('MEMIF_ERR_ALRCONN', `already connected${forId}`);
    const o = ep.config;
    if (init.mode !== InterfaceMode[o.mode]) {
      this.#refuseFor(
        ep,
        new Refusal('MEMIF_ERR_MODE', `mode mismatch: interface is ${o.mode}, peer asked ${init.mode}${forId}`),
      );
    }
    if (o.secret !== undefined) {
      if (init.secret.length === 0) this.#refuseFor(ep, new Refusal('MEMIF_ERR_NOSECRET', `secret required${forId}`));
      if (!secretsEqual(o.secret, init.secret))
        this.#refuseFor(ep, new Refusal('MEMIF_ERR_SECRET', `incorrect secret${forId}`));
    }
    const bind = () => {
      // A check that took a while may have let another slave in first.
      if (ep.busy()) this.#refuseFor(ep, new Refusal('MEMIF_ERR_ALRCONN', `already connected${forId}`));
      this.#endpoint = ep;
      this.#remoteName = init.name;
      this.owner = ep;
      ep.attach(this);
      this.directory.bound(this);
      // From here the interface's own limit applies to the rest of the handshake.
      this.restartHandshakeTimer(ep.config.handshakeTimeoutMs);
      this.channel.send(encodeAck());
    };
    const authorize = o.authorize;
    if (authorize === undefined) {
      bind();
      return;
    }
    this.owner = ep;
    const creds = this.peerCredentials() ?? { pid: -1, uid: -1, gid: -1 };
    this.gate(
      () => authorize({ ...creds, id: init.id, name: init.name }),
      new Refusal('MEMIF_ERR_ACCES', `not authorized${forId}`),
      bind,
    );
  }

  /** A refusal that concerns an existing interface is reported to it as well. */
  #refuseFor(ep: MasterEndpoint, refusal: Refusal): never {
    this.owner = ep;
    throw refusal;
  }

  #onAddRegion(msg: AddRegion, fd: number): void {
    const regions = this.resources.regions;
    if (fd < 0) throw new Refusal('MEMIF_ERR_NO_SHMFD', 'missing memory region fd');
    if (msg.index !== regions.length) {
      this.binding.close(fd);
      throw new Refusal('MEMIF_ERR_MAXREG', `unexpected region index ${msg.index}`);
    }
    if (msg.index > MAX_REGION_INDEX) {
      this.binding.close(fd);
      throw new Refusal('MEMIF_ERR_MAXREG', 'too many regions');
    }
    if (msg.size === 0n || msg.size > BigInt(MAX_REGION_SIZE)) {
      this.binding.close(fd);
      throw new Refusal(
        'MEMIF_ERR_MFMSG',
        `invalid region size ${msg.size} (this runtime maps at most ${MAX_REGION_SIZE} bytes per region)`,
      );
    }
    const sealed = this.binding.sealShrink(fd);
    if (sealed !== 0 && !(this.#endpoint as MasterEndpoint).config.allowUnsealedRegions) {
      this.binding.close(fd);
      const what =
        sealed === osConstants.errno.EOPNOTSUPP
          ? 'is on hugetlbfs, whose holes cannot be sealed'
          : 'cannot be sealed against shrinking';
      throw new Refusal(
        'MEMIF_ERR_NO_SHMFD',
        `region ${msg.index} ${what} (set allowUnsealedRegions to trust this peer)`,
      );
    }
    let region: Region;
    try {
      region = Region.adopt(msg.index, fd, Number(msg.size), this.binding);
    } catch (err) {
      throw new Refusal('MEMIF_ERR_SYSCALL', `cannot map region ${msg.index}: ${(err as Error).message}`);
    }
    regions.push(region);
    this.channel.send(encodeAck());
  }

  #onAddRing(msg: AddRing, eventfd: number): void {
    const ep = this.#endpoint as MasterEndpoint;
    const res = this.resources;
    const rings = msg.ringType === 'S2M' ? res.s2m : res.m2s;
    const limit = msg.ringType === ringTypes('master').rx ? ep.config.rxQueues : ep.config.txQueues;
    const refuse = (name: ConstructorParameters<typeof Refusal>[0], reason: string): never => {
      this.binding.close(eventfd);
      throw new Refusal(name, reason);
    };
    if (eventfd < 0) throw new Refusal('MEMIF_ERR_NO_INTFD', 'missing ring interrupt fd');
    const problem = eventfdProblem(eventfd);
    if (problem !== undefined) refuse('MEMIF_ERR_NO_INTFD', problem);
    if (msg.privateHdrSize !== 0) refuse('MEMIF_ERR_PRIVHDR', 'private headers not supported');
    if (msg.index !== rings.length) refuse('MEMIF_ERR_MAXRING', `unexpected ring index ${msg.index}`);
    if (msg.index >= limit) refuse('MEMIF_ERR_MAXRING', `too many rings: ${msg.ringType} ${msg.index} >= ${limit}`);
    if (msg.log2RingSize > MAX_LOG2_RING_SIZE)
      refuse('MEMIF_ERR_MAX_RING', `ring size 2^${msg.log2RingSize} too large`);
    if (msg.region >= res.regions.length) refuse('MEMIF_ERR_MFMSG', `ring in unknown region ${msg.region}`);
    const region = res.regions[msg.region];
    const cl = ep.config.cacheLineSize;
    if (!ringInRegion(region, msg.offset, ringBytes(cl, msg.log2RingSize))) {
      refuse('MEMIF_ERR_MFMSG', `ring at offset ${msg.offset} does not fit in region ${msg.region}`);
    }
    const ring = new Ring(region, msg.offset, msg.log2RingSize, cl);
    rings.push({ type: msg.ringType, index: msg.index, ring, eventfd });
    this.channel.send(encodeAck());
  }

  #onConnect(remoteInterfaceName: string): void {
    const ep = this.#endpoint as MasterEndpoint;
    const res = this.resources;
    if (res.s2m.length === 0 || res.m2s.length === 0) {
      throw new Refusal('MEMIF_ERR_MAXRING', 'a connection needs at least one ring each way');
    }
    for (const r of [...res.s2m, ...res.m2s]) {
      if (r.ring.cookie !== MEMIF_COOKIE)
        throw new Refusal('MEMIF_ERR_COOKIE', `wrong cookie on ${r.type} ring ${r.index}`);
    }
    this.channel.send(encodeConnected(ep.config.interfaceName));
    this.up({
      memory: res.memory,
      regions: res.regions,
      s2m: res.s2m,
      m2s: res.m2s,
      buffersOffset: () => 0,
      bufferSize: ep.config.bufferSize,
      remoteName: this.#remoteName,
      remoteInterfaceName,
    });
  }

  protected override onEnded(): void {
    this.directory.forget(this);
  }
}
