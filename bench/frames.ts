// The frames of the benchmark: numbered frames of a given size, sent through the zero-copy API
// (ZcSender: written in place in the shared buffers) or the copy API (CopySender), and checked on
// arrival (Checker: size and sequence number, read in place on the zero-copy path).
import type { RxBurst } from 'memif-ts';
import { type Api, BURST, type Port, SEQ_AT, type WorkSpec } from './workloads.js';

/** A frame of `size` bytes: Ethernet header (local experimental EtherType 0x88B5) and a pattern. */
export function frame(size: number): Buffer {
  const f = Buffer.alloc(size);
  Buffer.from([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5]).copy(f);
  for (let i = 14; i < size; i++) f[i] = (i * 31) & 0xff;
  return f;
}

/** A placeholder before the first region is known. */
const NO_WORDS = new Uint32Array(0);

/** A Uint32Array over a region's mapping, made once per mapping. */
class U32Cache {
  #bytes: Uint8Array | undefined;
  #u32: Uint32Array = new Uint32Array(0);

  get(bytes: Uint8Array): Uint32Array {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    }
    return this.#u32;
  }
}

/**
 * Zero-copy transmit of numbered frames: takes buffers with txAlloc, appends each whole frame with
 * push() (chained over several buffers when larger than one; consecutive buffers in one copy),
 * writes its sequence number in place and commits.
 */
export class ZcSender {
  readonly #frame: Buffer;
  readonly #u32 = new U32Cache();
  readonly segs: number;

  constructor(
    readonly size: number,
    bufferSize: number,
  ) {
    this.#frame = frame(size);
    this.segs = Math.ceil(size / bufferSize);
  }

  /** Sends up to `max` frames numbered from `seq` on queue `q`; returns how many were committed. */
  send(m: Port, q: number, max: number, seq: number): number {
    const tb = m.txAlloc(q, Math.min(BURST, max * this.segs));
    const f = this.#frame;
    let p = 0;
    let r = -1;
    let words: Uint32Array = NO_WORDS;
    while (p < max) {
      const i = tb.used;
      if (!tb.push(f)) break;
      if (tb.bufRegion[i] !== r) {
        r = tb.bufRegion[i];
        words = this.#u32.get(tb.bytes(r));
      }
      words[(tb.bufOffset[i] + SEQ_AT) >>> 2] = (seq + p) >>> 0;
      p++;
    }
    if (p === 0) {
      tb.abort();
      return 0;
    }
    return tb.commit();
  }
}

/** Copy-API transmit of numbered frames: a burst of Buffers, renumbered after each partial send. */
export class CopySender {
  readonly #packets: Buffer[];
  #numbered = -1;

  constructor(size: number) {
    this.#packets = Array.from({ length: BURST }, () => frame(size));
  }

  send(m: Port, q: number, max: number, seq: number): number {
    const count = Math.min(max, BURST);
    if (this.#numbered !== seq) {
      for (let k = 0; k < BURST; k++) this.#packets[k].writeUInt32LE((seq + k) >>> 0, SEQ_AT);
      this.#numbered = seq;
    }
    return m.txBurst(q, this.#packets, count);
  }
}

interface Sender {
  send(m: Port, q: number, max: number, seq: number): number;
}

export function sender(s: WorkSpec): Sender {
  return s.api === 'zc' ? new ZcSender(s.size, s.bufferSize) : new CopySender(s.size);
}

/** Counts and checks received frames of one queue. */
export class Checker {
  expect = 0;
  verified = 0;
  errors = 0;
  readonly #u32 = new U32Cache();

  constructor(
    readonly size: number,
    readonly check: boolean,
  ) {}

  /** Zero-copy: reads length and sequence number in place, then releases. Returns the count. */
  zc(rb: RxBurst): number {
    const n = rb.count;
    // Bulk access (checked once per burst): length and first segment of each packet.
    const length = rb.packetLength;
    const first = rb.first;
    const region = rb.segRegion;
    const offset = rb.segOffset;
    if (this.check && n > 0) {
      // The region's words, looked up again only when a packet is in another region.
      let r = region[first[0]];
      let words = this.#u32.get(rb.bytes(r));
      for (let k = 0; k < n; k++) {
        const s = first[k];
        if (region[s] !== r) {
          r = region[s];
          words = this.#u32.get(rb.bytes(r));
        }
        const seq = words[(offset[s] + SEQ_AT) >>> 2];
        if (length[k] === this.size && seq === this.expect) this.verified++;
        else this.errors++;
        this.expect = (seq + 1) >>> 0;
      }
    } else {
      for (let k = 0; k < n; k++) if (length[k] > 0) this.verified++;
    }
    rb.release();
    return n;
  }

  copy(packets: Buffer[]): number {
    const n = packets.length;
    if (this.check) {
      for (let k = 0; k < n; k++) {
        const p = packets[k];
        const seq = p.readUInt32LE(SEQ_AT);
        if (p.length === this.size && seq === this.expect) this.verified++;
        else this.errors++;
        this.expect = (seq + 1) >>> 0;
      }
    } else {
      this.verified += n;
    }
    return n;
  }
}

export function receiveOnce(m: Port, api: Api, q: number, c: Checker, max = BURST): number {
  return api === 'zc' ? c.zc(m.rxBurstZeroCopy(q, max)) : c.copy(m.rxBurst(q, max));
}
