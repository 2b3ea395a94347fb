// ControlChannel: one control connection (a SOCK_SEQPACKET fd) and its poller. Sends 128-byte
// messages with at most one fd, queueing while the socket is full; receives, decodes and hands
// each message to its owner with the fd that came with it. A received fd is owned by the handler
// of ADD_REGION/ADD_RING, and closed here on every other message. Knows no handshake rules.
import { MSG_SIZE, MsgType } from '../constants.js';
import { ProtocolError, SystemError } from '../errors.js';
import type { NativeBinding, NativePoller } from '../native.js';
import { decodeMessage, encodeDisconnect, type Message } from '../wire/messages.js';

/** What a channel tells its owner. */
export interface ChannelHandler {
  /** A decoded message; `fd` is -1 or an fd the handler now owns (ADD_REGION, ADD_RING only). */
  onMessage(msg: Message, fd: number): void;
  /** The channel is unusable: the peer hung up, sent garbage, or a syscall failed. */
  onClose(error: Error): void;
}

export class ControlChannel {
  #fd: number;
  readonly #binding: NativeBinding;
  readonly #poller: NativePoller;
  readonly #queue: { bytes: Buffer; fd: number }[] = [];
  readonly #rx = Buffer.alloc(MSG_SIZE + 1);
  readonly #meta = new Int32Array(3);
  #handler: ChannelHandler;

  constructor(fd: number, binding: NativeBinding, handler: ChannelHandler) {
    this.#fd = fd;
    this.#binding = binding;
    this.#handler = handler;
    this.#poller = new binding.Poller(fd, (status, events) => this.#onPoll(status, events));
    this.#poller.start(binding.READABLE | binding.DISCONNECT);
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  get fd(): number {
    return this.#fd;
  }

  /** Hands the channel to a new owner (a master's pending connection, once bound to an interface). */
  setHandler(handler: ChannelHandler): void {
    this.#handler = handler;
  }

  /**
   * Sends one message (and one fd, which stays ours). Queues while the socket buffer is full.
   * Never throws: if the peer is gone (EPIPE…), the channel closes and the handler hears of it
   * from a microtask, after the caller's current step.
   */
  send(bytes: Buffer, fd = -1): void {
    if (this.closed) return;
    if (this.#queue.length > 0) {
      this.#queue.push({ bytes, fd });
      return;
    }
    try {
      if (this.#trySend(bytes, fd)) return;
    } catch (err) {
      this.close();
      queueMicrotask(() => this.#handler.onClose(peerGone(err)));
      return;
    }
    this.#queue.push({ bytes, fd });
    this.#poller.start(this.#binding.READABLE | this.#binding.WRITABLE | this.#binding.DISCONNECT);
  }

  /** Sends DISCONNECT with a reason (best effort: queued messages are dropped first), then closes. */
  disconnect(reason: string): void {
    if (this.closed) return;
    this.#queue.length = 0;
    try {
      this.#binding.send(this.#fd, encodeDisconnect(reason), -1);
    } catch {
      // The peer may be gone already (EPIPE); DISCONNECT is only a courtesy (§6.5).
    }
    this.close();
  }

  /** Closes the socket without a word. Idempotent; no handler call follows. */
  close(): void {
    if (this.closed) return;
    this.#poller.close();
    this.#binding.close(this.#fd);
    this.#fd = -1;
    this.#queue.length = 0;
  }

  #trySend(bytes: Buffer, fd: number): boolean {
    const n = this.#binding.send(this.#fd, bytes, fd);
    return n >= 0;
  }

  #onPoll(status: number, events: number): void {
    if (this.closed) return;
    try {
      if (status < 0) throw new ProtocolError('MEMIF_ERR_DISCONNECTED', 'control socket error');
      if (events & this.#binding.WRITABLE) this.#flush();
      if (events & this.#binding.READABLE) this.#receive();
      if (!this.closed && events & this.#binding.DISCONNECT && !(events & this.#binding.READABLE)) {
        throw new ProtocolError('MEMIF_ERR_DISCONNECTED', 'peer hung up');
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  #flush(): void {
    while (this.#queue.length > 0) {
      const { bytes, fd } = this.#queue[0];
      if (!this.#trySend(bytes, fd)) return;
      this.#queue.shift();
    }
    this.#poller.start(this.#binding.READABLE | this.#binding.DISCONNECT);
  }

  /** Reads every pending message; stops when the socket is drained or the channel closed. */
  #receive(): void {
    const meta = this.#meta;
    while (!this.closed) {
      const n = this.#binding.recv(this.#fd, this.#rx, meta);
      if (n < 0) return;
      const fd = meta[0];
      if (meta[1] > 0 || meta[2] & 2) {
        if (fd >= 0) this.#binding.close(fd);
        throw new ProtocolError('MEMIF_ERR_MFMSG', 'a control message carried more than one fd');
      }
      if (n === 0) {
        if (fd >= 0) this.#binding.close(fd);
        throw new ProtocolError('MEMIF_ERR_DISCONNECTED', 'peer closed the control connection');
      }
      let msg: Message;
      try {
        if (meta[2] & 1) {
          throw new ProtocolError(
            'MEMIF_ERR_MFMSG',
            `control message longer than ${MSG_SIZE} bytes; every message is ${MSG_SIZE}`,
          );
        }
        msg = decodeMessage(this.#rx.subarray(0, n));
      } catch (err) {
        if (fd >= 0) this.#binding.close(fd);
        throw err;
      }
      let owned = fd;
      if (fd >= 0 && msg.type !== MsgType.ADD_REGION && msg.type !== MsgType.ADD_RING) {
        this.#binding.close(fd);
        owned = -1;
      }
      this.#handler.onMessage(msg, owned);
    }
  }

  /**
   * Ends the channel. A peer that broke the protocol (bad size, unknown type, extra fds) is told
   * why, since the socket still works; a peer that hung up or a failed syscall gets nothing.
   */
  #fail(err: unknown): void {
    const error = peerGone(err);
    const violation = error instanceof ProtocolError && error.errorName !== 'MEMIF_ERR_DISCONNECTED';
    if (violation) this.disconnect(error.message);
    else this.close();
    this.#handler.onClose(error);
  }
}

/** A send that fails because the peer already left reads like the hang-up a receive would see. */
function peerGone(err: unknown): Error {
  const code = (err as { code?: unknown })?.code;
  if (code === 'EPIPE' || code === 'ECONNRESET') {
    return new ProtocolError('MEMIF_ERR_DISCONNECTED', 'peer closed the control connection');
  }
  return SystemError.from(err);
}
