// Options of an interface: the public type with documented defaults, and the one place that checks
// them (gate 1: every bad option is an InvalidArgumentError naming the option, value and rule).
import {
  DEFAULT_BUFFER_SIZE,
  DEFAULT_CACHE_LINE_SIZE,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_INSTANCE_NAME,
  DEFAULT_LOG2_RING_SIZE,
  DEFAULT_RECONNECT_INTERVAL_MS,
  DEFAULT_SOCKET_PATH,
  InterfaceMode,
  MAX_BUFFER_SIZE,
  MAX_LOG2_RING_SIZE,
  MAX_QUEUES,
  type Mode,
  NAME_FIELD_SIZE,
  SECRET_FIELD_SIZE,
} from './constants.js';
import { describe, InvalidArgumentError } from './errors.js';
import { defaultLogger, guardLogger, type Logger, logLevels } from './log.js';
import type { RxMode } from './queue/rx.js';
import { computeLayout } from './shm/layout.js';

/** Options of `Memif.create()`. Only `role` is required. */
export interface MemifOptions {
  /** 'master' listens and maps the peer's memory; 'slave' connects and allocates the memory. */
  role: 'master' | 'slave';
  /** Control socket. A leading '@' names an abstract socket (no file). Default '/run/vpp/memif.sock'. */
  socketPath?: string;
  /** Interface id, told apart from other interfaces on the same socket. Default 0. */
  id?: number;
  /** Our interface name, sent in CONNECT / CONNECTED (at most 31 bytes). Default 'memif<id>'. */
  interfaceName?: string;
  /** Our instance name, sent in HELLO / INIT (at most 31 bytes). Default 'memif-ts'. */
  instanceName?: string;
  /** Shared secret, 1 to 23 bytes of UTF-8 (the 24-byte field keeps a NUL). Default: none. */
  secret?: string;
  /** Interface mode. Default 'ethernet'. */
  mode?: Mode;
  /** Queues we receive on (1–255). Default 1. */
  rxQueues?: number;
  /** Queues we transmit on (1–255). Default 1. */
  txQueues?: number;
  /** Bytes per buffer (slave: what it allocates; master: what it reports). Up to 65535. Default 2048. */
  bufferSize?: number;
  /** Ring size as log2, 1–14. Default 10 (1024 slots). */
  log2RingSize?: number;
  /** How queues learn of arrivals: 'interrupt' (eventfd) or 'polling'. Default 'interrupt'. */
  rxMode?: RxMode;
  /** Slave: delay between connection attempts, in ms. Default 1000. */
  reconnectIntervalMs?: number;
  /** A handshake that takes longer than this is dropped, in ms. Default 5000. */
  handshakeTimeoutMs?: number;
  /** Cache-line size of the ring header layout: 64 (x86_64) or 128 (VPP on aarch64). Default 64. */
  cacheLineSize?: 64 | 128;
  /** Master: permission bits of the socket file it creates (e.g. 0o660). Default 0: as the umask gives. */
  socketMode?: number;
  /** Master: owner of the socket file it creates (like DPDK's owner-uid/owner-gid). Default: the process's. */
  socketOwner?: {
    /** Owner user id of the socket file (default: the process's). */
    uid?: number;
    /** Owner group id of the socket file (default: the process's). */
    gid?: number;
  };
  /**
   * Master: accept regions that cannot be sealed against shrinking, and hugetlbfs regions. Default
   * false: such a region is refused, because a peer that truncated it (or punched a hole in a
   * hugetlbfs one) after we mapped it would crash this process (SIGBUS). DPDK's zero-copy clients
   * and hugepage-backed regions (VPP zero-copy slaves) need it.
   */
  allowUnsealedRegions?: boolean;
  /**
   * Called with the peer's process credentials (SO_PEERCRED) before the handshake goes on: a master
   * calls it on INIT, a slave on HELLO. Return (or resolve) false to refuse the peer.
   */
  authorize?: (peer: PeerCredentials) => boolean | Promise<boolean>;
  /** Where log lines go. Default: util.debuglog('memif') (NODE_DEBUG=memif). */
  logger?: Logger;
  /**
   * Network namespace of the control socket (listening or connecting, abstract or path): a name,
   * meaning /var/run/netns/NAME (as `ip netns add NAME` makes), or an absolute path such as
   * /proc/PID/ns/net. Only the socket is created there; the process stays where it is. Needs
   * CAP_SYS_ADMIN. Abstract names live per network namespace. Default: the process's own.
   */
  netns?: string;
}

/** Who is at the other end of a control connection, and what it asked for. */
export interface PeerCredentials {
  /** The peer's process id. */
  pid: number;
  /** The peer's user id. */
  uid: number;
  /** The peer's group id. */
  gid: number;
  /** Interface id (the slave's INIT on a master; ours on a slave). */
  id: number;
  /** The peer's instance name (INIT or HELLO). */
  name: string;
}

/**
 * The options an interface runs with, every default applied (`memif.options`, frozen). The secret,
 * `authorize` and the logger are left out: they are the application's, not something to show.
 */
export interface MemifSettings {
  /** `MemifOptions.role`. */
  readonly role: 'master' | 'slave';
  /** `MemifOptions.socketPath`, or its default. */
  readonly socketPath: string;
  /** `MemifOptions.id`, or its default. */
  readonly id: number;
  /** `MemifOptions.interfaceName`, or its default. */
  readonly interfaceName: string;
  /** `MemifOptions.instanceName`, or its default. */
  readonly instanceName: string;
  /** `MemifOptions.mode`, or its default. */
  readonly mode: Mode;
  /** `MemifOptions.rxQueues`, or its default. */
  readonly rxQueues: number;
  /** `MemifOptions.txQueues`, or its default. */
  readonly txQueues: number;
  /** `MemifOptions.bufferSize`, or its default. */
  readonly bufferSize: number;
  /** `MemifOptions.log2RingSize`, or its default. */
  readonly log2RingSize: number;
  /** `MemifOptions.rxMode`, or its default. */
  readonly rxMode: RxMode;
  /** `MemifOptions.reconnectIntervalMs`, or its default. */
  readonly reconnectIntervalMs: number;
  /** `MemifOptions.handshakeTimeoutMs`, or its default. */
  readonly handshakeTimeoutMs: number;
  /** `MemifOptions.cacheLineSize`, or its default. */
  readonly cacheLineSize: number;
  /** `MemifOptions.socketMode` (0: as the umask leaves it), or its default. */
  readonly socketMode: number;
  /** `MemifOptions.socketOwner` (`undefined`: the process's; uid or gid -1: left as the process's). */
  readonly socketOwner:
    | {
        /** Owner user id of the socket file. */
        readonly uid: number;
        /** Owner group id of the socket file. */
        readonly gid: number;
      }
    | undefined;
  /** `MemifOptions.allowUnsealedRegions`, or its default. */
  readonly allowUnsealedRegions: boolean;
  /** `MemifOptions.netns` as given (a namespace name or an absolute path); undefined: ours. */
  readonly netns: string | undefined;
}

/** Options after checks, with every default applied. */
export interface ResolvedOptions extends MemifSettings {
  /** `MemifOptions.secret` (as bytes), or its default. */
  secret: Buffer | undefined;
  /** `MemifOptions.authorize`, or its default. */
  authorize: ((peer: PeerCredentials) => boolean | Promise<boolean>) | undefined;
  /** `MemifOptions.logger`, or its default. */
  logger: Logger;
}

/** The public view of resolved options: frozen, without the secret, authorize and logger. */
export function settingsOf(o: ResolvedOptions): MemifSettings {
  const { secret: _secret, authorize: _authorize, logger: _logger, socketOwner, ...rest } = o;
  return Object.freeze({ ...rest, socketOwner: socketOwner && Object.freeze({ ...socketOwner }) });
}

/** The few fields of the resolved options that one part of control/ needs. */
export function pick<K extends keyof ResolvedOptions>(
  o: ResolvedOptions,
  keys: readonly K[],
): Pick<ResolvedOptions, K> {
  const out = {} as Pick<ResolvedOptions, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

/** Every option Memif.create() takes, by name (anything else is refused, with a hint). */
export const OPTION_NAMES = [
  'role',
  'socketPath',
  'id',
  'interfaceName',
  'instanceName',
  'secret',
  'mode',
  'rxQueues',
  'txQueues',
  'bufferSize',
  'log2RingSize',
  'rxMode',
  'reconnectIntervalMs',
  'handshakeTimeoutMs',
  'cacheLineSize',
  'socketMode',
  'socketOwner',
  'allowUnsealedRegions',
  'authorize',
  'logger',
  'netns',
] as const;

const known = new Set<string>(OPTION_NAMES);

const hints: Record<string, string> = {
  ringSize: "use 'log2RingSize' (e.g. 10 for 1024 slots)",
  bufSize: "use 'bufferSize'",
  socket: "use 'socketPath'",
  socketFilename: "use 'socketPath'",
  numRxQueues: "use 'rxQueues'",
  numTxQueues: "use 'txQueues'",
  isMaster: "use role: 'master' or role: 'slave'",
  name: "use 'interfaceName' or 'instanceName'",
  appName: "use 'instanceName'",
  server: "use role: 'master'",
  client: "use role: 'slave'",
};

function fail(message: string, cause?: unknown): never {
  throw new InvalidArgumentError(message, 'MEMIF_ERR_INVAL_ARG', cause === undefined ? undefined : { cause });
}

function int(o: Record<string, unknown>, key: string, def: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`option '${key}' must be an integer from ${min} to ${max}; got ${describe(v)}`);
  }
  return v;
}

function name(o: Record<string, unknown>, key: string, def: string): string {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || Buffer.byteLength(v) > NAME_FIELD_SIZE - 1) {
    fail(`option '${key}' must be a string of at most ${NAME_FIELD_SIZE - 1} bytes; got ${describe(v)}`);
  }
  return v;
}

function oneOf<T extends string>(
  o: Record<string, unknown>,
  key: string,
  def: T | undefined,
  allowed: readonly T[],
): T {
  const v = o[key];
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(`option '${key}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${describe(v)}`);
  }
  return v as T;
}

/**
 * Reads every option exactly once, each inside a try, into a plain record: a getter that throws
 * (or a Proxy) becomes an InvalidArgumentError with the exception as `cause`, and a getter cannot
 * answer one thing to the check and another to the use.
 */
function snapshot(options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(`options must be an object; got ${describe(options)}`);
  }
  let keys: string[];
  try {
    keys = Object.keys(options);
  } catch (err) {
    fail('options could not be read (listing its keys threw)', err);
  }
  for (const key of keys) {
    if (!known.has(key)) {
      const hint = hints[key];
      fail(`unknown option '${key.slice(0, 60)}'${hint ? `: ${hint}` : ''}`);
    }
  }
  const o: Record<string, unknown> = Object.create(null);
  for (const key of known) {
    try {
      o[key] = (options as Record<string, unknown>)[key];
    } catch (err) {
      fail(`option '${key}' could not be read`, err);
    }
  }
  return o;
}

/** Reads the logger's four methods once, each inside a try; the result can never throw. */
function readLogger(value: unknown): Logger {
  if (typeof value !== 'object' || value === null) fail(`option 'logger' must be an object; got ${describe(value)}`);
  const methods = {} as Logger;
  for (const m of logLevels) {
    let f: unknown;
    try {
      f = (value as Record<string, unknown>)[m];
    } catch (err) {
      fail(`option 'logger' could not be read (its ${m}() method)`, err);
    }
    if (typeof f !== 'function') fail(`option 'logger' must have a ${m}() method; got ${describe(f)}`);
    methods[m] = f as Logger['debug'];
  }
  return guardLogger(value, methods);
}

/** Checks `options` and applies the defaults. Throws InvalidArgumentError on the first bad option. */
export function resolveOptions(options: MemifOptions): ResolvedOptions {
  const o = snapshot(options);
  const role = oneOf(o, 'role', undefined, ['master', 'slave'] as const);
  const socketPath = o.socketPath === undefined ? DEFAULT_SOCKET_PATH : o.socketPath;
  if (typeof socketPath !== 'string' || socketPath.length === 0 || socketPath === '@') {
    fail(
      `option 'socketPath' must be a non-empty path, or '@name' for an abstract socket; got ${describe(socketPath)}`,
    );
  }
  const pathBytes = Buffer.byteLength(socketPath.startsWith('@') ? socketPath.slice(1) : socketPath);
  if (pathBytes > 107 || socketPath.includes('\0')) {
    fail(`option 'socketPath' must be at most 107 bytes with no NUL (sun_path); got ${pathBytes} bytes`);
  }
  const id = int(o, 'id', 0, 0, 0xffffffff);
  let secret: Buffer | undefined;
  if (o.secret !== undefined) {
    if (typeof o.secret !== 'string' || o.secret.length === 0 || o.secret.includes('\0')) {
      fail(
        `option 'secret' must be a non-empty string without NUL; got ${typeof o.secret === 'string' ? 'a string' : describe(o.secret)}`,
      );
    }
    secret = Buffer.from(o.secret, 'utf8');
    if (secret.length > SECRET_FIELD_SIZE - 1) {
      fail(
        `option 'secret' must be at most ${SECRET_FIELD_SIZE - 1} bytes (the ${SECRET_FIELD_SIZE}-byte field keeps a NUL, which libmemif and DPDK need); got ${secret.length}`,
      );
    }
  }
  const cacheLineSize = int(o, 'cacheLineSize', DEFAULT_CACHE_LINE_SIZE, 64, 128);
  if (cacheLineSize !== 64 && cacheLineSize !== 128)
    fail(`option 'cacheLineSize' must be 64 or 128; got ${cacheLineSize}`);
  const logger = o.logger === undefined ? defaultLogger : readLogger(o.logger);
  let socketOwner: ResolvedOptions['socketOwner'];
  if (o.socketOwner !== undefined) {
    const so = o.socketOwner;
    const rule = "option 'socketOwner' must be { uid?, gid? } with ids from 0 to 2^32 - 1";
    if (typeof so !== 'object' || so === null || Array.isArray(so)) fail(`${rule}; got ${describe(so)}`);
    let uid: unknown;
    let gid: unknown;
    try {
      uid = (so as { uid?: unknown }).uid;
      gid = (so as { gid?: unknown }).gid;
    } catch (err) {
      fail(`option 'socketOwner' could not be read`, err);
    }
    const id = (v: unknown) =>
      v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32);
    if (!id(uid) || !id(gid)) fail(`${rule}; got { uid: ${describe(uid)}, gid: ${describe(gid)} }`);
    socketOwner = { uid: (uid as number | undefined) ?? -1, gid: (gid as number | undefined) ?? -1 };
  }
  if (o.authorize !== undefined && typeof o.authorize !== 'function') {
    fail(`option 'authorize' must be a function; got ${describe(o.authorize)}`);
  }
  if (o.allowUnsealedRegions !== undefined && typeof o.allowUnsealedRegions !== 'boolean') {
    fail(`option 'allowUnsealedRegions' must be a boolean; got ${describe(o.allowUnsealedRegions)}`);
  }
  const netns = o.netns;
  if (netns !== undefined) {
    const ok =
      typeof netns === 'string' &&
      netns.length > 0 &&
      Buffer.byteLength(netns) < 4096 &&
      !netns.includes('\0') &&
      (netns.startsWith('/') || (!netns.includes('/') && netns !== '.' && netns !== '..'));
    if (!ok) {
      fail(
        `option 'netns' must be a namespace name (a file in /var/run/netns, no '/') or an absolute path such as /proc/PID/ns/net; got ${describe(netns)}`,
      );
    }
  }
  const r: ResolvedOptions = {
    role,
    socketPath,
    id,
    interfaceName: name(o, 'interfaceName', `memif${id}`),
    instanceName: name(o, 'instanceName', DEFAULT_INSTANCE_NAME),
    secret,
    mode: oneOf(o, 'mode', 'ethernet', Object.keys(InterfaceMode) as Mode[]),
    rxQueues: int(o, 'rxQueues', 1, 1, MAX_QUEUES),
    txQueues: int(o, 'txQueues', 1, 1, MAX_QUEUES),
    bufferSize: int(o, 'bufferSize', DEFAULT_BUFFER_SIZE, 1, MAX_BUFFER_SIZE),
    log2RingSize: int(o, 'log2RingSize', DEFAULT_LOG2_RING_SIZE, 1, MAX_LOG2_RING_SIZE),
    rxMode: oneOf(o, 'rxMode', 'interrupt', ['interrupt', 'polling'] as const),
    reconnectIntervalMs: int(o, 'reconnectIntervalMs', DEFAULT_RECONNECT_INTERVAL_MS, 1, 2 ** 31 - 1),
    handshakeTimeoutMs: int(o, 'handshakeTimeoutMs', DEFAULT_HANDSHAKE_TIMEOUT_MS, 1, 2 ** 31 - 1),
    cacheLineSize,
    socketMode: int(o, 'socketMode', 0, 0, 0o7777),
    socketOwner,
    allowUnsealedRegions: o.allowUnsealedRegions === true,
    authorize: o.authorize as ResolvedOptions['authorize'],
    logger,
    netns: netns as string | undefined,
  };
  if (role === 'slave') {
    // Every buffer offset is a u32 (§4): the slave's whole region must stay below 4 GiB.
    const l = computeLayout({
      numS2M: r.txQueues,
      numM2S: r.rxQueues,
      log2RingSize: r.log2RingSize,
      bufferSize: r.bufferSize,
      cacheLineSize,
    });
    if (l.regionSize > 0xffffffff) {
      fail(
        `queues × ring size × buffer size need ${l.regionSize} bytes of shared memory; descriptors address at most 4 GiB (reduce rxQueues, txQueues, log2RingSize or bufferSize)`,
      );
    }
  }
  return r;
}
