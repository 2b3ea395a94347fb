// What details() reports: the interface (names, link state, connection counters and the last
// failures) and each queue (ring state and counters), and how one queue is turned into that.
import type { Mode } from './constants.js';
import { ringTypes } from './control/session.js';
import type { MemifError } from './errors.js';
import type { Link } from './link.js';
import type { ResolvedOptions } from './options.js';
import type { RxMode } from './queue/args.js';
import type { RxQueue } from './queue/rx.js';
import type { TxQueue } from './queue/tx.js';

/** Counters and ring state of one queue, from `details()`. */
export interface QueueDetails {
  /** The queue's id (its index among the rx or tx queues). */
  queueId: number;
  /** Ring direction in protocol terms: S2M (slave → master) or M2S. */
  ringType: 'S2M' | 'M2S';
  /** Slots in the ring. */
  ringSize: number;
  /** Bytes per buffer. */
  bufferSize: number;
  /** The ring's head index (written by the producer; 16 bits, wrapping). */
  head: number;
  /** The ring's tail index (written by the consumer; 16 bits, wrapping). */
  tail: number;
  /** Packets moved on this queue (this connection). */
  packets: number;
  /** Bytes moved on this queue (this connection). */
  bytes: number;
  /**
   * Dropped packets and refused descriptors on this queue: emptyFragments + oversized + each time
   * the peer's ring state was found bad (which ends the connection, and with it these counters).
   * Not ringFull: those packets stay with the caller.
   */
  errors: number;
  /** Rx queues only: packets dropped because one of their fragments was empty (0 bytes). */
  emptyFragments?: number;
  /**
   * Tx queues only: packets `txBurst` could not queue because the ring had no free buffers (left to
   * the caller, who may retry: a packet refused twice counts twice).
   */
  ringFull?: number;
  /** Tx queues only: packets dropped because even a whole ring of the peer's buffers could not hold them. */
  oversized?: number;
  /** Rx queues only. */
  rxMode?: RxMode;
}

/** Everything `details()` reports about an interface. */
export interface MemifDetails {
  /** Our role. */
  role: 'master' | 'slave';
  /** The interface id. */
  id: number;
  /** The control socket (`@name` for an abstract one). */
  socketPath: string;
  /** The interface mode. */
  mode: Mode;
  /** Our interface name. */
  interfaceName: string;
  /** Our instance (application) name. */
  instanceName: string;
  /**
   * The peer's instance name; '' when down. A slave reads it from HELLO, which a master sends
   * before it knows the interface id: with memif-ts that is the instanceName of the first master
   * interface created on that socket (libmemif and VPP also name the socket, not the interface).
   */
  remoteName: string;
  /** The peer's interface name (from CONNECT or CONNECTED); '' when down. */
  remoteInterfaceName: string;
  /** True while connected. */
  linkUp: boolean;
  /**
   * 'down' (no peer: listening or between attempts), 'handshake' (a peer is attached: a slave that
   * sent a valid INIT to our master, or our slave's connection before CONNECTED), or 'up'.
   */
  state: 'down' | 'handshake' | 'up';
  /** Why the last connection ended, if one did. */
  lastDisconnectReason: string | undefined;
  /** Links that came up since create(). */
  connects: number;
  /** Links that went down since create(). */
  disconnects: number;
  /**
   * Queue faults since create(): a queue that stopped trusting the peer (a descriptor outside the
   * regions, a bad ring index, a misbehaving eventfd). Each one ends its connection, and the queues'
   * counters go with it, so faults are counted here, per interface; the reason is
   * `lastDisconnectReason`.
   */
  faults: number;
  /** Slave: connection attempts made since create() (each connect() call). 0 on a master. */
  connectAttempts: number;
  /**
   * Slave: why the last attempt failed (a SystemError with the errno for connect(), or the
   * handshake's refusal), until a link comes up; then undefined.
   */
  lastConnectError: MemifError | undefined;
  /** Process credentials of the peer, from the control socket (SO_PEERCRED), while connected. */
  peerCredentials:
    | {
        /** Process id. */
        pid: number;
        /** User id. */
        uid: number;
        /** Group id. */
        gid: number;
      }
    | undefined;
  /** The shared memory regions of the connection; empty when down. */
  regions: {
    /** Region index. */
    index: number;
    /** Bytes. */
    size: number;
  }[];
  /** Our rx queues (the connection's; empty when down). */
  rxQueues: QueueDetails[];
  /** Our tx queues (the connection's; empty when down). */
  txQueues: QueueDetails[];
}

/** One queue as details() shows it. */
export function queueDetails(q: RxQueue | TxQueue, ringType: 'S2M' | 'M2S'): QueueDetails {
  return {
    queueId: q.id,
    ringType,
    ringSize: q.ring.size,
    bufferSize: q.bufferSize,
    head: q.ring.loadHead(),
    tail: q.ring.loadTail(),
    packets: q.packets,
    bytes: q.bytes,
    errors: q.errors,
    ...('mode' in q
      ? { emptyFragments: q.emptyFragments, rxMode: q.mode }
      : { ringFull: q.ringFull, oversized: q.oversized }),
  };
}

/** What details() needs besides the options and the link. */
export interface DetailsState {
  /** A connection exists (handshaking, or up when `link` is there). */
  handshaking: boolean;
  reports: {
    connects: number;
    disconnects: number;
    faults: number;
    lastDisconnectReason: string | undefined;
    lastConnectError: MemifError | undefined;
  };
  connectAttempts: number;
  peerCredentials: MemifDetails['peerCredentials'];
}

/** The whole of details(): the interface, then each queue of the current link. */
export function interfaceDetails(o: ResolvedOptions, link: Link | undefined, s: DetailsState): MemifDetails {
  const types = ringTypes(o.role);
  return {
    role: o.role,
    id: o.id,
    socketPath: o.socketPath,
    mode: o.mode,
    interfaceName: o.interfaceName,
    instanceName: o.instanceName,
    remoteName: link?.info.remoteName ?? '',
    remoteInterfaceName: link?.info.remoteInterfaceName ?? '',
    linkUp: link !== undefined,
    state: link !== undefined ? 'up' : s.handshaking ? 'handshake' : 'down',
    lastDisconnectReason: s.reports.lastDisconnectReason,
    connects: s.reports.connects,
    disconnects: s.reports.disconnects,
    faults: s.reports.faults,
    connectAttempts: s.connectAttempts,
    lastConnectError: s.reports.lastConnectError,
    peerCredentials: link ? s.peerCredentials : undefined,
    regions: (link?.info.regions ?? []).map((r) => ({ index: r.index, size: r.size })),
    rxQueues: (link?.rx ?? []).map((q) => queueDetails(q, types.rx)),
    txQueues: (link?.tx ?? []).map((q) => queueDetails(q, types.tx)),
  };
}
