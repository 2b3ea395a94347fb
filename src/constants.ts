// Protocol numbers and limits of memif 2.0, and the documented defaults of memif-ts.
// Section numbers (§) refer to memif-protocol.md, the wire reference this project follows.

/** Stored at offset 0 of every ring header (§4). */
export const MEMIF_COOKIE = 0x03e31f20;
/** Protocol version 2.0 as a u16: (major << 8) | minor (§4). */
export const MEMIF_VERSION = 0x0200;
/** Every control message is exactly this long (§3.1). */
export const MSG_SIZE = 128;
/** A ring descriptor is 16 bytes (§7.4). */
export const DESC_SIZE = 16;
/** Largest log2 ring size anyone accepts (§4). */
export const MAX_LOG2_RING_SIZE = 14;
/** Highest region index we accept or use (§4: HELLO max_region). */
export const MAX_REGION_INDEX = 255;
/** Most queues per direction (§4). */
export const MAX_QUEUES = 255;
/**
 * The largest buffer any memif peer uses: libmemif, DPDK and VPP keep buffer sizes in 16 bits, and
 * so does our `bufferSize`. A descriptor longer than this is a peer's lie, not a packet.
 */
export const MAX_BUFFER_SIZE = 65535;
/**
 * The most bytes one rx burst takes out of the ring (whole packets; a burst stops before the packet
 * that would pass it), and so the largest packet accepted: it bounds what one copy-API burst
 * allocates, whatever a peer's descriptors claim.
 */
export const MAX_RX_BURST_BYTES = 16 * 1024 * 1024;
/** Size of the secret field, including its terminating NUL (§5.4). */
export const SECRET_FIELD_SIZE = 24;
/** Size of name and if_name fields, including the NUL (§5.3, §5.7). */
export const NAME_FIELD_SIZE = 32;
/** Size of the DISCONNECT reason field, including the NUL (§5.8). */
export const REASON_FIELD_SIZE = 96;

/** Message types (§5.1). */
export const MsgType = {
  NONE: 0,
  ACK: 1,
  HELLO: 2,
  INIT: 3,
  ADD_REGION: 4,
  ADD_RING: 5,
  CONNECT: 6,
  CONNECTED: 7,
  DISCONNECT: 8,
} as const;

/** ADD_RING flag bit 0: the ring carries slave → master packets (§5.6). */
export const ADD_RING_FLAG_S2M = 1;
/** Ring header flag bit 0: "do not interrupt me" (§7.3, §9). */
export const RING_FLAG_MASK_INT = 1;
/** Descriptor flag bit 0: the packet continues in the next slot (§7.4). */
export const DESC_FLAG_NEXT = 1;

/** Interface modes, as carried in INIT (§10). */
export const InterfaceMode = { ethernet: 0, ip: 1, 'punt-inject': 2 } as const;
/** An interface mode by name. */
export type Mode = keyof typeof InterfaceMode;

/** Direction of a ring, by the protocol's names (§1). S2M: slave → master; M2S: master → slave. */
export type RingType = 'S2M' | 'M2S';

/** Default socket, as VPP and libmemif use it (§3.2). */
export const DEFAULT_SOCKET_PATH = '/run/vpp/memif.sock';
/** Default buffer size in bytes (§4). */
export const DEFAULT_BUFFER_SIZE = 2048;
/** Default ring size, as log2 (§4): 1024 descriptors. */
export const DEFAULT_LOG2_RING_SIZE = 10;
/** Default cache-line size the ring header is laid out with (§7.3): 64 on x86_64. */
export const DEFAULT_CACHE_LINE_SIZE = 64;
/** Default delay between a slave's connection attempts, in ms (§6.7 recommends 1–3 s). */
export const DEFAULT_RECONNECT_INTERVAL_MS = 1000;
/** Default limit on a handshake's duration, in ms (§6.2: none upstream; we add one). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** Instance name sent in HELLO and INIT when none is given. */
export const DEFAULT_INSTANCE_NAME = 'memif-ts';
