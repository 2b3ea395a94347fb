// MemifError and its families. Numeric codes keep the numbering of libmemif's error list as the
// govpp adapter exposes it (1 … 37, then 100 … 102), so users of the Go adapter recognise them;
// 38 and 39 are libmemif's later additions. Match on `code` or `name`, never on the message.
import { inspect } from 'node:util';

/** Every error code, by libmemif name. */
export const ErrorCodes = {
  MEMIF_ERR_SYSCALL: 1,
  MEMIF_ERR_CONNREFUSED: 2,
  MEMIF_ERR_ACCES: 3,
  MEMIF_ERR_NO_FILE: 4,
  MEMIF_ERR_FILE_LIMIT: 5,
  MEMIF_ERR_PROC_FILE_LIMIT: 6,
  MEMIF_ERR_ALREADY: 7,
  MEMIF_ERR_AGAIN: 8,
  MEMIF_ERR_BAD_FD: 9,
  MEMIF_ERR_NOMEM: 10,
  MEMIF_ERR_INVAL_ARG: 11,
  MEMIF_ERR_NOCONN: 12,
  MEMIF_ERR_CONN: 13,
  MEMIF_ERR_CB_FDUPDATE: 14,
  MEMIF_ERR_FILE_NOT_SOCK: 15,
  MEMIF_ERR_NO_SHMFD: 16,
  MEMIF_ERR_COOKIE: 17,
  MEMIF_ERR_NOBUF_RING: 18,
  MEMIF_ERR_NOBUF: 19,
  MEMIF_ERR_NOBUF_DET: 20,
  MEMIF_ERR_INT_WRITE: 21,
  MEMIF_ERR_MFMSG: 22,
  MEMIF_ERR_QID: 23,
  MEMIF_ERR_PROTO: 24,
  MEMIF_ERR_ID: 25,
  MEMIF_ERR_ACCSLAVE: 26,
  MEMIF_ERR_ALRCONN: 27,
  MEMIF_ERR_MODE: 28,
  MEMIF_ERR_SECRET: 29,
  MEMIF_ERR_NOSECRET: 30,
  MEMIF_ERR_MAXREG: 31,
  MEMIF_ERR_MAXRING: 32,
  MEMIF_ERR_NO_INTFD: 33,
  MEMIF_ERR_DISCONNECT: 34,
  MEMIF_ERR_DISCONNECTED: 35,
  MEMIF_ERR_UNKNOWN_MSG: 36,
  MEMIF_ERR_POLL_CANCEL: 37,
  MEMIF_ERR_MAX_RING: 38,
  MEMIF_ERR_PRIVHDR: 39,
  MEMIF_ERR_NOT_INIT: 100,
  MEMIF_ERR_ALREADY_INIT: 101,
  MEMIF_ERR_UNSUPPORTED: 102,
} as const;

/** The symbolic name of an error code, e.g. `'MEMIF_ERR_SECRET'`. */
export type ErrorName = keyof typeof ErrorCodes;

/** Default message of every code (libmemif's wording where it has one). */
const defaultMessages: Record<ErrorName, string> = {
  MEMIF_ERR_SYSCALL: 'system call failed',
  MEMIF_ERR_CONNREFUSED: 'connection refused',
  MEMIF_ERR_ACCES: 'permission denied',
  MEMIF_ERR_NO_FILE: 'no such file or directory',
  MEMIF_ERR_FILE_LIMIT: 'system limit on open files reached',
  MEMIF_ERR_PROC_FILE_LIMIT: 'process limit on open files reached',
  MEMIF_ERR_ALREADY: 'already in progress',
  MEMIF_ERR_AGAIN: 'resource temporarily unavailable',
  MEMIF_ERR_BAD_FD: 'bad file descriptor',
  MEMIF_ERR_NOMEM: 'out of memory',
  MEMIF_ERR_INVAL_ARG: 'invalid argument',
  MEMIF_ERR_NOCONN: 'interface is not connected',
  MEMIF_ERR_CONN: 'interface is already connected',
  MEMIF_ERR_CB_FDUPDATE: 'fd update callback failed',
  MEMIF_ERR_FILE_NOT_SOCK: 'socket path exists and is not a socket',
  MEMIF_ERR_NO_SHMFD: 'missing memory region fd',
  MEMIF_ERR_COOKIE: 'wrong cookie on ring',
  MEMIF_ERR_NOBUF_RING: 'ring buffer full',
  MEMIF_ERR_NOBUF: 'not enough memif buffers',
  MEMIF_ERR_NOBUF_DET: 'details need a larger buffer',
  MEMIF_ERR_INT_WRITE: 'interrupt write failed',
  MEMIF_ERR_MFMSG: 'malformed message received',
  MEMIF_ERR_QID: 'invalid queue id',
  MEMIF_ERR_PROTO: 'incompatible memif protocol version',
  MEMIF_ERR_ID: 'unmatched interface id',
  MEMIF_ERR_ACCSLAVE: 'slave cannot accept connection requests',
  MEMIF_ERR_ALRCONN: 'interface is already connected to a peer',
  MEMIF_ERR_MODE: 'mode mismatch',
  MEMIF_ERR_SECRET: 'incorrect secret',
  MEMIF_ERR_NOSECRET: 'secret required',
  MEMIF_ERR_MAXREG: 'too many regions',
  MEMIF_ERR_MAXRING: 'too many rings',
  MEMIF_ERR_NO_INTFD: 'missing ring interrupt fd',
  MEMIF_ERR_DISCONNECT: 'disconnect received',
  MEMIF_ERR_DISCONNECTED: 'peer interface disconnected',
  MEMIF_ERR_UNKNOWN_MSG: 'unknown message type',
  MEMIF_ERR_POLL_CANCEL: 'wait for packets was cancelled',
  MEMIF_ERR_MAX_RING: 'ring size too large',
  MEMIF_ERR_PRIVHDR: 'private headers not supported',
  MEMIF_ERR_NOT_INIT: 'memif-ts is not initialised',
  MEMIF_ERR_ALREADY_INIT: 'already initialised',
  MEMIF_ERR_UNSUPPORTED: 'not supported',
};

const codeToName = new Map<number, ErrorName>(Object.entries(ErrorCodes).map(([k, v]) => [v, k as ErrorName]));

/** The symbolic name of a numeric code, or undefined for an unknown code. */
export function errorName(code: number): ErrorName | undefined {
  return codeToName.get(code);
}

const brand = Symbol.for('memif-ts.error');

/** Base class of every error memif-ts throws or reports. */
export class MemifError extends Error {
  /** Numeric code, as in libmemif / govpp (`ErrorCodes`). */
  readonly code: number;
  /** Symbolic code, e.g. `'MEMIF_ERR_SECRET'`. */
  readonly errorName: ErrorName;

  constructor(name: ErrorName, message?: string, options?: { cause?: unknown }) {
    super(message ?? defaultMessages[name], options);
    this.code = ErrorCodes[name];
    this.errorName = name;
    this.name = new.target.name;
  }

  /** True for a MemifError from any loaded copy of memif-ts (checked by a Symbol.for brand). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return (
      this === MemifError &&
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true
    );
  }

  get [brand](): boolean {
    return true;
  }
}

/** A caller passed a bad option or argument. `cause`: what reading it threw, if it did. */
export class InvalidArgumentError extends MemifError {
  constructor(message: string, name: ErrorName = 'MEMIF_ERR_INVAL_ARG', options?: { cause?: unknown }) {
    super(name, message, options);
  }
}

const describeOptions = {
  depth: 1,
  breakLength: Number.POSITIVE_INFINITY,
  maxArrayLength: 4,
  maxStringLength: 40,
  getters: false,
  customInspect: false,
  showProxy: false,
} as const;

/**
 * A short description of any value for an error message. Never throws and runs no user code:
 * BigInt, Symbol, cycles, getters (not called), Proxies (their target is shown, no trap runs),
 * objects whose toString or inspect method throws — all are described, at most 80 characters.
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  let text: string;
  try {
    text = inspect(value, describeOptions);
  } catch {
    try {
      text = Object.prototype.toString.call(value);
    } catch {
      text = `a value of type ${typeof value}`;
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The peer sent something the protocol does not allow (malformed message, bad descriptor, …). */
export class ProtocolError extends MemifError {}

/** The peer refused us, or we refused the peer: secret, id, mode, version, or a DISCONNECT reason. */
export class PeerRefusedError extends MemifError {}

/** The call does not fit the interface's state (not connected, closed). */
export class StateError extends MemifError {}

const errnoToName: Record<string, ErrorName> = {
  ECONNREFUSED: 'MEMIF_ERR_CONNREFUSED',
  EACCES: 'MEMIF_ERR_ACCES',
  EPERM: 'MEMIF_ERR_ACCES',
  ENOENT: 'MEMIF_ERR_NO_FILE',
  ENFILE: 'MEMIF_ERR_FILE_LIMIT',
  EMFILE: 'MEMIF_ERR_PROC_FILE_LIMIT',
  EALREADY: 'MEMIF_ERR_ALREADY',
  EAGAIN: 'MEMIF_ERR_AGAIN',
  EBADF: 'MEMIF_ERR_BAD_FD',
  ENOMEM: 'MEMIF_ERR_NOMEM',
  ENOTSOCK: 'MEMIF_ERR_FILE_NOT_SOCK',
  EADDRINUSE: 'MEMIF_ERR_ALREADY',
  // A peer that hung up, seen by a send rather than a receive, is the same event.
  EPIPE: 'MEMIF_ERR_DISCONNECTED',
  ECONNRESET: 'MEMIF_ERR_DISCONNECTED',
};

/** A system call failed; `errno` and `syscall` say which and why. */
export class SystemError extends MemifError {
  /** errno value, e.g. 111. */
  readonly errno: number;
  /** errno name, e.g. `'ECONNREFUSED'`. */
  readonly syscallCode: string;
  /** The failing call, e.g. `'connect'`. */
  readonly syscall: string;

  constructor(syscall: string, syscallCode: string, errno: number, message: string) {
    super(errnoToName[syscallCode] ?? 'MEMIF_ERR_SYSCALL', message);
    this.syscall = syscall;
    this.syscallCode = syscallCode;
    this.errno = errno;
  }

  /** Wraps an error thrown by the native addon; other errors pass through unchanged. */
  static from(err: unknown): Error {
    if (err instanceof MemifError) return err;
    const e = err as { errno?: unknown; code?: unknown; syscall?: unknown; message?: unknown };
    if (err instanceof Error && typeof e.errno === 'number' && typeof e.syscall === 'string') {
      return new SystemError(e.syscall, String(e.code), e.errno, err.message);
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Reads `keys` of a caller's options object once each, inside a try: anything but a plain object,
 * or a property that throws when read, is an InvalidArgumentError (the throw as its `cause`).
 */
export function readFields<K extends string>(value: unknown, what: string, keys: readonly K[]): Record<K, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be an object; got ${describe(value)}`);
  }
  const out = {} as Record<K, unknown>;
  for (const k of keys) {
    try {
      out[k] = (value as Record<K, unknown>)[k];
    } catch (err) {
      throw new InvalidArgumentError(`${what}.${k} could not be read`, 'MEMIF_ERR_INVAL_ARG', { cause: err });
    }
  }
  return out;
}
