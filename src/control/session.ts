// Session: what one connection has once its handshake is done — regions, rings and their eventfds,
// the peer's names — and the release of all of it, exactly once. Shared by both roles.
import type { RingType } from '../constants.js';
import { type ErrorName, PeerRefusedError } from '../errors.js';
import type { NativeBinding } from '../native.js';
import { SharedMemory } from '../shm/memory.js';
import type { Region } from '../shm/region.js';
import type { Ring } from '../shm/ring.js';

/**
 * The ring type a role receives on and the one it transmits on: a master receives S2M and
 * transmits M2S, a slave the other way round. The one place this is written.
 */
export function ringTypes(role: 'master' | 'slave'): { rx: RingType; tx: RingType } {
  return role === 'master' ? { rx: 'S2M', tx: 'M2S' } : { rx: 'M2S', tx: 'S2M' };
}

/** One ring of a session and the eventfd that signals it. */
export interface SessionRing {
  type: RingType;
  index: number;
  ring: Ring;
  eventfd: number;
}

/** What the interface learns when its connection comes up. */
export interface SessionInfo {
  /** The regions and who holds them (bursts keep them mapped past a disconnect). */
  memory: SharedMemory;
  regions: readonly Region[];
  /** S2M rings by index. */
  s2m: readonly SessionRing[];
  /** M2S rings by index. */
  m2s: readonly SessionRing[];
  /** Slave: where each ring's buffers start in region 0 (by type and index). */
  buffersOffset(type: RingType, index: number): number;
  bufferSize: number;
  remoteName: string;
  remoteInterfaceName: string;
}

/** Owns the regions and eventfds gathered during a handshake. */
export class SessionResources {
  readonly memory = new SharedMemory();
  readonly s2m: SessionRing[] = [];
  readonly m2s: SessionRing[] = [];
  #released = false;

  constructor(private readonly binding: NativeBinding) {}

  get regions(): Region[] {
    return this.memory.regions;
  }

  /**
   * Closes every fd and lets go of the memory, which is unmapped now, or when the last zero-copy
   * burst over it is given back. Idempotent.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const r of this.s2m) this.binding.close(r.eventfd);
    for (const r of this.m2s) this.binding.close(r.eventfd);
    this.s2m.length = 0;
    this.m2s.length = 0;
    for (const region of this.regions) region.closeFd();
    this.memory.drop();
  }
}

const reasonCodes: [RegExp, ErrorName][] = [
  [/incorrect secret|secret mismatch|invalid secret/i, 'MEMIF_ERR_SECRET'],
  [/secret required/i, 'MEMIF_ERR_NOSECRET'],
  [/id not found|unmatched interface id|unknown interface|invalid interface id/i, 'MEMIF_ERR_ID'],
  [/already connected/i, 'MEMIF_ERR_ALRCONN'],
  [/mode/i, 'MEMIF_ERR_MODE'],
  [/version/i, 'MEMIF_ERR_PROTO'],
  [/not authori[sz]ed|permission denied/i, 'MEMIF_ERR_ACCES'],
];

/**
 * The error for a DISCONNECT the peer sent. Reason strings are informational (§5.8); the well-known
 * ones of VPP, libmemif, DPDK, gomemif and memif-ts get their own code, the rest MEMIF_ERR_DISCONNECT.
 */
export function refusalFromReason(reason: string): PeerRefusedError {
  const hit = reasonCodes.find(([re]) => re.test(reason));
  return new PeerRefusedError(
    hit?.[1] ?? 'MEMIF_ERR_DISCONNECT',
    `peer disconnected: ${reason || '(no reason given)'}`,
  );
}
