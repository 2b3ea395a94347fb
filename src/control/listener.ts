// MasterListener: one listening socket per path in this process, shared by every master interface
// on it and told apart by id. Handles abstract names ('@name'), stale socket files (probe, unlink
// only if nobody answers), HELLO on accept, and pending connections until INIT binds them.
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { MAX_LOG2_RING_SIZE, MAX_QUEUES, MAX_REGION_INDEX, MEMIF_VERSION } from '../constants.js';
import { InvalidArgumentError, MemifError, StateError, SystemError } from '../errors.js';
import { type Logger, LogLimiter } from '../log.js';
import { type NativeBinding, type NativePoller, native, sys } from '../native.js';
import { encodeHello } from '../wire/messages.js';
import { MasterConnection, type MasterDirectory, type MasterEndpoint } from './master.js';
import { openControlSocket } from './netns.js';

/** A socket path split into what the kernel needs. */
export interface SocketAddress {
  name: string;
  abstract: boolean;
}

/** '@name' is the abstract name 'name'; anything else is a filesystem path. */
export function parseSocketPath(socketPath: string): SocketAddress {
  return socketPath.startsWith('@')
    ? { name: socketPath.slice(1), abstract: true }
    : { name: socketPath, abstract: false };
}

/** Listening sockets of this process by listenerKey: abstract names are per network namespace. */
const listeners = new Map<string, MasterListener>();

function listenerKey(socketPath: string, netns: string | undefined): string {
  return netns === undefined ? socketPath : `${netns}\0${socketPath}`;
}

/** Connections accepted and not yet through INIT, per socket; more are closed at once. */
export const MAX_PENDING_CONNECTIONS = 32;

/**
 * When accept() fails (out of fds: EMFILE/ENFILE, or memory), the connection stays in the
 * kernel's backlog and the socket stays readable, so polling again would fail again at once — a
 * busy loop (about 50,000 failures a second at 90 % CPU). Instead the listener stops polling and
 * tries again after 50 ms, doubling up to 1 s while it keeps failing; the first accept that
 * works resets the delay.
 */
export const ACCEPT_RETRY_MIN_MS = 50;
export const ACCEPT_RETRY_MAX_MS = 1000;

export class MasterListener implements MasterDirectory {
  readonly #endpoints = new Map<number, MasterEndpoint>();
  readonly #pending = new Set<MasterConnection>();
  readonly #binding: NativeBinding;
  readonly #poller: NativePoller;
  readonly #address: SocketAddress;
  readonly #netns: string | undefined;
  #fd: number;
  #hello: Buffer;
  readonly #logLimit = new LogLimiter();
  /** Delay of the next accept retry (0: accept works), and its timer while polling is paused. */
  #acceptDelay = 0;
  #acceptTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly socketPath: string,
    first: MasterEndpoint,
    private readonly logger: Logger,
    binding: NativeBinding,
  ) {
    this.#binding = binding;
    this.#address = parseSocketPath(socketPath);
    const o = first.config;
    this.#netns = o.netns;
    this.#fd = this.#address.abstract
      ? openControlSocket({ ...this.#address, netns: o.netns }, binding, { backlog: 5, mode: 0 })
      : sys(() => listenOnFile(this.#address.name, o.socketMode, o.socketOwner, o.netns, binding));
    this.#hello = encodeHello({
      name: o.instanceName,
      minVersion: MEMIF_VERSION,
      maxVersion: MEMIF_VERSION,
      maxRegion: MAX_REGION_INDEX,
      maxM2SRing: MAX_QUEUES - 1,
      maxS2MRing: MAX_QUEUES - 1,
      maxLog2RingSize: MAX_LOG2_RING_SIZE,
    });
    this.#poller = new binding.Poller(this.#fd, () => this.#accept());
    this.#poller.start(binding.READABLE);
  }

  /** Registers a master interface on its socket, opening the socket if this is its first interface. */
  static register(endpoint: MasterEndpoint): MasterListener {
    const path = endpoint.config.socketPath;
    let l = listeners.get(listenerKey(path, endpoint.config.netns));
    if (l === undefined) {
      l = new MasterListener(path, endpoint, endpoint.config.logger, native());
      listeners.set(listenerKey(path, endpoint.config.netns), l);
    } else if (l.#endpoints.has(endpoint.config.id)) {
      throw new InvalidArgumentError(
        `interface id ${endpoint.config.id} is already used by a master on ${path}`,
        'MEMIF_ERR_ALREADY_INIT',
      );
    } else {
      l.#checkSameSocketOptions(endpoint);
    }
    l.#endpoints.set(endpoint.config.id, endpoint);
    return l;
  }

  /**
   * The socket's own settings come from its first interface: its file's mode and owner, and the
   * instance name its HELLO carries. A later master on the same path that asks for others would
   * silently not get them: refused, naming the difference.
   */
  #checkSameSocketOptions(endpoint: MasterEndpoint): void {
    const first = this.#endpoints.values().next().value as MasterEndpoint;
    const a = first.config;
    const b = endpoint.config;
    const owner = (o: { uid: number; gid: number } | undefined) => (o ? `${o.uid}:${o.gid}` : 'unchanged');
    const diffs: string[] = [];
    if (a.socketMode !== b.socketMode) {
      diffs.push(`socketMode 0o${b.socketMode.toString(8)} (the socket has 0o${a.socketMode.toString(8)})`);
    }
    if (owner(a.socketOwner) !== owner(b.socketOwner)) {
      diffs.push(`socketOwner ${owner(b.socketOwner)} (the socket has ${owner(a.socketOwner)})`);
    }
    if (a.instanceName !== b.instanceName) {
      diffs.push(`instanceName ${JSON.stringify(b.instanceName)} (its HELLO says ${JSON.stringify(a.instanceName)})`);
    }
    if (diffs.length > 0) {
      throw new InvalidArgumentError(
        `a master already listens on ${this.socketPath} with other socket options: ${diffs.join(', ')}`,
      );
    }
  }

  /** Removes an interface; the socket closes (and its file goes) with the last one. */
  unregister(endpoint: MasterEndpoint): void {
    if (this.#endpoints.get(endpoint.config.id) !== endpoint) return;
    this.#endpoints.delete(endpoint.config.id);
    if (this.#endpoints.size > 0) return;
    listeners.delete(listenerKey(this.socketPath, this.#netns));
    for (const c of [...this.#pending]) c.disconnect('interface deleted');
    clearTimeout(this.#acceptTimer);
    this.#acceptTimer = undefined;
    this.#poller.close();
    this.#binding.close(this.#fd);
    this.#fd = -1;
    if (!this.#address.abstract) {
      try {
        unlinkSync(this.#address.name);
      } catch {
        // Already gone: nothing to clean.
      }
    }
  }

  lookup(id: number): MasterEndpoint | undefined {
    return this.#endpoints.get(id);
  }

  bound(conn: MasterConnection): void {
    this.#pending.delete(conn);
  }

  forget(conn: MasterConnection): void {
    this.#pending.delete(conn);
    // A refusal that concerns an interface (wrong secret, mode) is reported by that interface.
    if (conn.error !== undefined && !conn.claimed) {
      const held = this.#logLimit.admit(conn.error.errorName);
      if (held !== undefined) {
        this.logger.info('memif: connection refused before binding', {
          socket: this.socketPath,
          reason: conn.error.message,
          ...(held > 0 ? { alikeNotLogged: held } : {}),
        });
      }
    }
  }

  #accept(): void {
    for (;;) {
      let fd: number;
      try {
        fd = this.#binding.accept(this.#fd);
      } catch (err) {
        this.#acceptFailed(err);
        return;
      }
      if (fd < 0) return;
      this.#acceptDelay = 0;
      if (this.#pending.size >= MAX_PENDING_CONNECTIONS) {
        // Too many peers that have not said INIT yet: a flood, not slaves. Drop this one.
        this.#binding.close(fd);
        const held = this.#logLimit.admit('pending-limit');
        if (held !== undefined) {
          this.logger.warn('memif: too many pending connections; closing new ones', {
            socket: this.socketPath,
            limit: MAX_PENDING_CONNECTIONS,
            ...(held > 0 ? { alikeNotLogged: held } : {}),
          });
        }
        continue;
      }
      // Before INIT names the interface, the shortest limit of the socket's interfaces applies.
      let timeoutMs = Number.POSITIVE_INFINITY;
      for (const ep of this.#endpoints.values()) timeoutMs = Math.min(timeoutMs, ep.config.handshakeTimeoutMs);
      const conn = new MasterConnection(fd, this, this.#binding, this.logger, timeoutMs);
      this.#pending.add(conn);
      conn.hello(this.#hello);
    }
  }

  /** Pauses accepting for a while (see ACCEPT_RETRY_MIN_MS), logging at most once per 10 s. */
  #acceptFailed(err: unknown): void {
    this.#acceptDelay =
      this.#acceptDelay === 0 ? ACCEPT_RETRY_MIN_MS : Math.min(this.#acceptDelay * 2, ACCEPT_RETRY_MAX_MS);
    const held = this.#logLimit.admit('accept-failed');
    if (held !== undefined) {
      this.logger.warn('memif: accept failed; retrying later', {
        socket: this.socketPath,
        error: SystemError.from(err).message,
        retryInMs: this.#acceptDelay,
        ...(held > 0 ? { alikeNotLogged: held } : {}),
      });
    }
    this.#poller.stop();
    this.#acceptTimer = setTimeout(() => {
      this.#acceptTimer = undefined;
      if (this.#fd < 0) return;
      this.#poller.start(this.#binding.READABLE);
      this.#accept();
    }, this.#acceptDelay);
  }
}

/**
 * Listens on a socket file with no moment in which others could connect before its mode and
 * owner are set: it is bound inside a private (0700) folder next to `path`, given its mode and
 * owner there, and renamed into place. When that longer path would not fit in sun_path, it is
 * bound in place with the mode set before bind (fchmod), and only the owner is changed after.
 */
function listenOnFile(
  path: string,
  mode: number,
  owner: { uid: number; gid: number } | undefined,
  netns: string | undefined,
  binding: NativeBinding,
): number {
  prepareSocketFile(path, binding);
  const privateDir = join(dirname(path), '.memif-XXXXXX');
  if (Buffer.byteLength(join(privateDir, 's')) > 107) {
    const fd = openControlSocket({ name: path, abstract: false, netns }, binding, { backlog: 5, mode });
    if (owner !== undefined) chownSync(path, owner.uid, owner.gid);
    return fd;
  }
  const dir = mkdtempSync(privateDir.slice(0, -6));
  const temp = join(dir, 's');
  let fd = -1;
  try {
    fd = openControlSocket({ name: temp, abstract: false, netns }, binding, { backlog: 5, mode: 0 });
    if (mode !== 0) chmodSync(temp, mode);
    if (owner !== undefined) chownSync(temp, owner.uid, owner.gid);
    renameSync(temp, path);
    return fd;
  } catch (err) {
    if (fd >= 0) binding.close(fd);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Creates `dir` and its missing parents, one level at a time. (Node 20's recursive mkdirSync
 * spins forever on some impossible paths, such as a folder under /proc.)
 */
function ensureFolder(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, 0o755);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Makes room for a listening socket file: creates the parent folder if needed; removes a stale
 * socket that nobody listens on; refuses a live socket or a file that is not a socket.
 */
function prepareSocketFile(path: string, binding: NativeBinding): void {
  ensureFolder(dirname(path));
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new MemifError('MEMIF_ERR_FILE_NOT_SOCK', `${path} exists and is not a socket`);
  let probe = -1;
  try {
    probe = binding.connect(path, false);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') {
      unlinkSync(path);
      return;
    }
    // EAGAIN: a listener whose backlog is full is still a listener.
    if (code !== 'EAGAIN') throw SystemError.from(err);
  }
  if (probe >= 0) binding.close(probe);
  throw new StateError('MEMIF_ERR_ALREADY', `${path} has an active listener (another process serves it)`);
}
