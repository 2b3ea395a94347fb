// Public exports of memif-ts, and nothing else: reading this file is reading the public surface.
export {
  DEFAULT_BUFFER_SIZE,
  DEFAULT_LOG2_RING_SIZE,
  DEFAULT_RECONNECT_INTERVAL_MS,
  DEFAULT_SOCKET_PATH,
  MAX_LOG2_RING_SIZE,
  MAX_QUEUES,
  type Mode,
} from './constants.js';
export type { MemifDetails, QueueDetails } from './details.js';
export {
  ErrorCodes,
  type ErrorName,
  errorName,
  InvalidArgumentError,
  MemifError,
  PeerRefusedError,
  ProtocolError,
  StateError,
  SystemError,
} from './errors.js';
export {
  type ConnectFailedInfo,
  type DisconnectInfo,
  diagnosticsChannels,
  type MemifChannelMessage,
  type MemifEvents,
} from './events.js';
export { Memif } from './interface.js';
export { defaultLogger, type Logger } from './log.js';
export type { MemifOptions, MemifSettings, PeerCredentials } from './options.js';
/**
 * Packet helpers for the examples and tools: MAC and IPv4 addresses, the internet checksum, ARP and
 * ICMP echo frames, IPv6 (ICMPv6 echo, neighbour discovery) and UDP frames (build and parse), and
 * `respond()`, a tiny ARP, ICMP echo and IPv6 neighbour/echo responder.
 */
export * as packet from './packet/index.js';
export type { RxMode } from './queue/args.js';
export type { RxBurst } from './queue/rx-burst.js';
export type { TxBurst } from './queue/tx-burst.js';
export { type QueueHandle, WorkerQueue } from './queue/worker-queue.js';
export { createStream, MemifStream, type MemifStreamOptions } from './stream.js';
export type { ReceiveOptions, WaitForConnectOptions } from './waiters.js';
