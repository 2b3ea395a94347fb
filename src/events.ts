// What a Memif tells the world: its events (typed for EventEmitter), and the diagnostics channels
// (node:diagnostics_channel) an application can subscribe to for every interface at once, e.g.
// to feed a metrics system without polling details(). Names here are public API.
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ConnectFailedInfo } from './control/dialer.js';
import type { MemifError } from './errors.js';
import type { Memif } from './interface.js';

/** What a `disconnect` event carries. */
export interface DisconnectInfo {
  /** Human-readable reason (ours or the peer's). */
  reason: string;
  /** The same as an error, with its code (`MEMIF_ERR_DISCONNECT` for the peer's DISCONNECT, …). */
  error: MemifError;
}

export type { ConnectFailedInfo } from './control/dialer.js';

/** Events of a Memif. */
export interface MemifEvents {
  /**
   * The link is up: queues can be used. A master's first txBurst may still return 0 for a moment:
   * it can only fill buffers once the slave has offered them (right after CONNECTED).
   */
  connect: [];
  /** The link went down; a slave retries by itself until closed. */
  disconnect: [info: DisconnectInfo];
  /** Slave: a connection attempt failed (no master, wrong path, permissions), rate-limited. */
  connectFailed: [info: ConnectFailedInfo];
  /** The peer signalled queue `queueId` (interrupt mode): call rxBurst(queueId). */
  interrupt: [queueId: number];
  /** A handshake failed or a peer misbehaved. Without a listener these go to the logger instead. */
  error: [error: MemifError];
  /** close() has released everything. */
  close: [];
}

/** Names of the diagnostics channels memif-ts publishes on (`diagnostics_channel.subscribe(name, fn)`). */
export const diagnosticsChannels = {
  /** A link came up. Message: `{ memif, id, role }`. */
  linkUp: 'memif:link-up',
  /** A link that was up went down. Message: `{ memif, id, role, reason, error }`. */
  linkDown: 'memif:link-down',
  /**
   * A handshake ended before the link came up: a peer we refused (wrong secret, mode, authorize),
   * or a peer that refused us. Message: `{ memif, id, role, reason, error }`.
   */
  refused: 'memif:refused',
  /** A queue stopped trusting the peer (bad ring state or descriptor); the link is ended. Message: `{ memif, id, role, reason, error }`. */
  fault: 'memif:fault',
  /** Slave: a connection attempt failed (every one, not rate-limited). Message: `{ memif, id, role, reason, error }`. */
  connectFailed: 'memif:connect-failed',
} as const;

/** What every diagnostics channel of memif-ts publishes. */
export interface MemifChannelMessage {
  /** The interface it happened to. */
  memif: Memif;
  /** The interface id. */
  id: number;
  /** Its role. */
  role: 'master' | 'slave';
  /** Why (all but `memif:link-up`). */
  reason?: string;
  /** The same as a typed error (all but `memif:link-up`). */
  error?: MemifError;
}

const published = {
  linkUp: diagnosticsChannel.channel(diagnosticsChannels.linkUp),
  linkDown: diagnosticsChannel.channel(diagnosticsChannels.linkDown),
  refused: diagnosticsChannel.channel(diagnosticsChannels.refused),
  fault: diagnosticsChannel.channel(diagnosticsChannels.fault),
  connectFailed: diagnosticsChannel.channel(diagnosticsChannels.connectFailed),
};

/**
 * Publishes on one channel, if anyone subscribed. A subscriber that throws is Node's business
 * (it reports the exception on process.nextTick): nothing of ours is skipped.
 */
export function publish(which: keyof typeof diagnosticsChannels, message: MemifChannelMessage): void {
  const ch = published[which];
  if (ch.hasSubscribers) ch.publish(message);
}
