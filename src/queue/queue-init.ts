// What a queue is built from once its connection is up: one ring of the session and what the
// burst loops need around it. Shared by RxQueue and TxQueue.
import type { NativeBinding } from '../native.js';
import type { SharedMemory } from '../shm/memory.js';
import type { Region } from '../shm/region.js';
import type { Ring } from '../shm/ring.js';

export interface QueueInit {
  id: number;
  role: 'master' | 'slave';
  ring: Ring;
  /** The connection's memory: zero-copy bursts hold it while they are live. */
  memory: SharedMemory;
  /** Every region of the connection, by index (a master checks descriptors against them). */
  regions: readonly Region[];
  /** Buffer size in bytes (a slave's own buffers; the capacity it offers on M2S). */
  bufferSize: number;
  /** Slave: offset in region 0 of this ring's buffer for slot 0; slot k is k * bufferSize further. */
  buffersOffset: number;
  /** The ring's eventfd: signalled by the producer, watched by the consumer. */
  eventfd: number;
  binding: NativeBinding;
  /**
   * Told once, when the queue stops trusting the peer's ring or eventfd (`fault` says why). May be
   * called in the middle of a burst: defer any teardown.
   */
  onFault?: (reason: string) => void;
  /** Where a queue taken over from another thread resumes: its private index(es). */
  resume?: { last: number; head: number };
}
