// Connection: the lifetime of one control connection, shared by both roles — handshake timeout,
// fd ownership of received messages, DISCONNECT handling, and teardown in one order: channel
// closed (with a reason when it still works), owner told, then every mapping and fd released.
// The role files (master.ts, slave.ts) hold the handshake rules.
import { MsgType } from '../constants.js';
import { MemifError, ProtocolError, SystemError } from '../errors.js';
import type { Logger } from '../log.js';
import type { NativeBinding } from '../native.js';
import type { Message } from '../wire/messages.js';
import { type ChannelHandler, ControlChannel } from './channel.js';
import { refusalFromReason, type SessionInfo, SessionResources } from './session.js';

/** Who hears about a connection's life: the interface it serves. */
export interface ConnectionOwner {
  onConnected(conn: Connection, info: SessionInfo): void;
  /** The connection is gone; `wasConnected` tells whether it had come up. Resources are released right after. */
  onDisconnected(conn: Connection, error: MemifError, wasConnected: boolean): void;
}

/** A refusal we send to the peer: `reason` goes into DISCONNECT (short, ≤ 95 bytes). */
export class Refusal extends ProtocolError {}

/**
 * What a peer may send while our user check (authorize) is pending, kept until it answers. A
 * legitimate peer sends nothing then: the handshake is lock-step (§6.2) — a slave waits for the
 * ACK of its INIT, a master for the slave's INIT after HELLO — and libmemif, VPP and DPDK all send
 * one message per message received. At most a DISCONNECT (it gives up) can come, so 8 messages
 * leave room for a peer that gets the order slightly wrong and is refused for it after the check
 * instead, and 2 fds cover one ADD_REGION and one ADD_RING sent too early. More is a flood: each
 * held message may pin an fd (≈ 20,000 fds in a second were seen), so the peer is refused.
 */
export const MAX_BACKLOG_MESSAGES = 8;
export const MAX_BACKLOG_FDS = 2;

export abstract class Connection implements ChannelHandler {
  protected readonly channel: ControlChannel;
  protected readonly resources: SessionResources;
  protected state: 'handshake' | 'connected' | 'closed' = 'handshake';
  protected owner: ConnectionOwner | undefined;
  /** Why the connection ended, once it has. */
  error: MemifError | undefined;
  /** The reason in plain words: ours (sent in DISCONNECT), the peer's, or what happened. */
  reason: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** While a user check runs (see gate()), messages wait here with their fds. */
  #backlog: { msg: Message; fd: number }[] | undefined;

  constructor(
    fd: number,
    protected readonly binding: NativeBinding,
    protected readonly logger: Logger,
    handshakeTimeoutMs: number,
  ) {
    this.resources = new SessionResources(binding);
    this.channel = new ControlChannel(fd, binding, this);
    this.restartHandshakeTimer(handshakeTimeoutMs);
  }

  /** (Re)starts the limit on the handshake's duration. */
  protected restartHandshakeTimer(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.fail(new Refusal('MEMIF_ERR_AGAIN', `handshake not finished within ${ms} ms`));
    }, ms);
    this.#timer.unref();
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** The peer process (SO_PEERCRED), or undefined if the socket cannot tell. */
  peerCredentials(): { pid: number; uid: number; gid: number } | undefined {
    if (this.channel.closed) return undefined;
    try {
      const [pid, uid, gid] = this.binding.peerCredentials(this.channel.fd);
      return { pid, uid, gid };
    } catch {
      return undefined;
    }
  }

  /** Role-specific handling of one message. Call `take()` to own the fd that came with it. */
  protected abstract handle(msg: Message, take: () => number): void;

  onMessage(msg: Message, fd: number): void {
    if (this.closed) {
      if (fd >= 0) this.binding.close(fd);
      return;
    }
    if (this.#backlog !== undefined) {
      this.#hold(msg, fd);
      return;
    }
    let owned = fd;
    const take = () => {
      const f = owned;
      owned = -1;
      return f;
    };
    try {
      if (msg.type === MsgType.DISCONNECT) {
        this.end(refusalFromReason(msg.reason), undefined, msg.reason || 'peer disconnected');
      } else {
        this.handle(msg, take);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      if (owned >= 0) this.binding.close(owned);
    }
  }

  onClose(error: Error): void {
    this.end(
      error instanceof MemifError ? error : new ProtocolError('MEMIF_ERR_DISCONNECTED', error.message),
      undefined,
    );
  }

  /** Ends the connection because of `err`, telling the peer why when the channel still works. */
  protected fail(err: unknown): void {
    const error = SystemError.from(err);
    const memifError = error instanceof MemifError ? error : new ProtocolError('MEMIF_ERR_SYSCALL', error.message);
    this.end(memifError, memifError.message);
  }

  /**
   * Runs a user check on the peer before the handshake goes on: `then` runs if it returns (or
   * resolves) true; otherwise the peer is refused. Messages that arrive while a promise is
   * pending wait, in order, and are handled after `then`.
   */
  protected gate(check: () => boolean | Promise<boolean>, refusal: Refusal, then: () => void): void {
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = check();
    } catch (err) {
      throw new Refusal(refusal.errorName, refusal.message, { cause: err });
    }
    if (verdict === true) {
      then();
      return;
    }
    if (verdict !== false && typeof (verdict as Promise<boolean>)?.then === 'function') {
      this.#backlog = [];
      (verdict as Promise<boolean>).then(
        (ok) => this.#resume(ok === true ? then : () => this.fail(refusal)),
        (err) => this.#resume(() => this.fail(new Refusal(refusal.errorName, refusal.message, { cause: err }))),
      );
      return;
    }
    throw refusal;
  }

  /** Keeps a message (and its fd) until the user check answers; refuses a peer that floods it. */
  #hold(msg: Message, fd: number): void {
    const backlog = this.#backlog as { msg: Message; fd: number }[];
    if (msg.type === MsgType.DISCONNECT) {
      // The peer gave up: no need to wait for the check.
      if (fd >= 0) this.binding.close(fd);
      this.end(refusalFromReason(msg.reason), undefined, msg.reason || 'peer disconnected');
      return;
    }
    let fds = fd >= 0 ? 1 : 0;
    for (const w of backlog) if (w.fd >= 0) fds++;
    if (backlog.length >= MAX_BACKLOG_MESSAGES || fds > MAX_BACKLOG_FDS) {
      if (fd >= 0) this.binding.close(fd);
      // end() closes every fd still held.
      this.fail(
        new Refusal(
          'MEMIF_ERR_MFMSG',
          `${backlog.length + 1} messages (${fds} fds) sent while authorization was pending; at most ${MAX_BACKLOG_MESSAGES} (${MAX_BACKLOG_FDS} fds)`,
        ),
      );
      return;
    }
    backlog.push({ msg, fd });
  }

  #resume(next: () => void): void {
    const waiting = this.#backlog ?? [];
    this.#backlog = undefined;
    if (this.closed) {
      for (const w of waiting) if (w.fd >= 0) this.binding.close(w.fd);
      return;
    }
    try {
      next();
    } catch (err) {
      this.fail(err);
    }
    for (const w of waiting) this.onMessage(w.msg, w.fd);
  }

  /** Called once the handshake is complete, by the role. */
  protected up(info: SessionInfo): void {
    clearTimeout(this.#timer);
    this.state = 'connected';
    this.owner?.onConnected(this, info);
  }

  /** Local teardown (close, a fault on a queue): sends DISCONNECT with `reason`. */
  disconnect(reason: string, error?: MemifError): void {
    this.end(error ?? new MemifError('MEMIF_ERR_DISCONNECTED', reason), reason);
  }

  /** The one teardown path. `reason` undefined: the peer is gone or said goodbye, send nothing. */
  protected end(error: MemifError, reason: string | undefined, peerReason?: string): void {
    if (this.closed) return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.error = error;
    this.reason = peerReason ?? reason ?? error.message;
    clearTimeout(this.#timer);
    for (const w of this.#backlog ?? []) if (w.fd >= 0) this.binding.close(w.fd);
    this.#backlog = undefined;
    if (reason !== undefined) this.channel.disconnect(reason);
    else this.channel.close();
    try {
      this.owner?.onDisconnected(this, error, wasConnected);
    } finally {
      this.resources.release();
      this.onEnded();
    }
  }

  /** Hook for the role after teardown (a master's listener forgets the connection). */
  protected onEnded(): void {}
}
