// The options every subcommand shares: where the memif is (--role, --socket, --id, --secret,
// --netns), how it is shaped (--mode, --queues, --buffer-size, --ring, --rx-mode) and how the
// command talks (--json, --quiet). Parsed into SharedOptions and then into MemifOptions.
import {
  DEFAULT_BUFFER_SIZE,
  DEFAULT_LOG2_RING_SIZE,
  DEFAULT_SOCKET_PATH,
  MAX_LOG2_RING_SIZE,
  MAX_QUEUES,
  type MemifOptions,
  type Mode,
} from '../index.js';
import type { CommandValues, OptionSpec } from './command.js';
import { parseChoice, parseIntOption, parseNumberOption, UsageError } from './usage.js';

const MODES: readonly Mode[] = ['ethernet', 'ip', 'punt-inject'];

/** The shared options as the help lists them (parseArgs specs plus defaults and descriptions). */
export const SHARED_OPTIONS: Record<string, OptionSpec> = {
  role: { type: 'string', value: 'master|slave', default: 'slave', description: 'master listens, slave connects' },
  socket: {
    type: 'string',
    value: 'PATH|@name',
    default: DEFAULT_SOCKET_PATH,
    description: 'control socket; @name is an abstract socket (DPDK, VPP abstract:name)',
  },
  id: { type: 'string', value: 'N', default: '0', description: 'interface id on the socket' },
  secret: { type: 'string', value: 'S', description: 'shared secret, 1-23 bytes' },
  mode: { type: 'string', value: 'ethernet|ip|punt-inject', default: 'ethernet', description: 'interface mode' },
  queues: { type: 'string', value: 'N', default: '1', description: `rx and tx queues, 1-${MAX_QUEUES}` },
  'buffer-size': {
    type: 'string',
    value: 'BYTES',
    default: String(DEFAULT_BUFFER_SIZE),
    description: 'bytes per buffer (never negotiated: the same as the peer)',
  },
  ring: {
    type: 'string',
    value: 'LOG2',
    default: String(DEFAULT_LOG2_RING_SIZE),
    description: `slots per ring as log2, 1-${MAX_LOG2_RING_SIZE}`,
  },
  'rx-mode': { type: 'string', value: 'interrupt|polling', default: 'interrupt', description: 'receive mode' },
  netns: {
    type: 'string',
    value: 'NAME|PATH',
    description: 'create the control socket in this network namespace (/var/run/netns/NAME or /proc/PID/ns/net)',
  },
  'connect-timeout': {
    type: 'string',
    value: 'S',
    default: 'wait forever',
    description: 'fail (exit 1) when the link is not up within S seconds',
  },
  json: { type: 'boolean', description: 'one JSON object per line: periodic reports, then a summary' },
  quiet: { type: 'boolean', short: 'q', description: 'print the summary only' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
};

/** The shared options, checked. */
export interface SharedOptions {
  role: 'master' | 'slave';
  socketPath: string;
  id: number;
  secret: string | undefined;
  mode: Mode;
  queues: number;
  bufferSize: number;
  log2RingSize: number;
  rxMode: 'interrupt' | 'polling';
  netns: string | undefined;
  connectTimeoutS: number | undefined;
  json: boolean;
  quiet: boolean;
}

/** Checks the shared options; throws UsageError naming the option. */
export function parseShared(v: CommandValues): SharedOptions {
  const str = (name: string): string | undefined => v[name] as string | undefined;
  const secret = str('secret');
  if (secret !== undefined && (secret.length < 1 || Buffer.byteLength(secret) > 23)) {
    throw new UsageError(`--secret must be 1-23 bytes; got ${Buffer.byteLength(secret)}`);
  }
  const socketPath = str('socket') ?? DEFAULT_SOCKET_PATH;
  if (socketPath === '' || socketPath === '@') throw new UsageError('--socket must not be empty');
  const netns = str('netns');
  if (netns === '') throw new UsageError('--netns must not be empty');
  const timeout = str('connect-timeout');
  return {
    role: parseChoice(str('role') ?? 'slave', '--role', ['master', 'slave'] as const),
    socketPath,
    id: parseIntOption(str('id') ?? '0', '--id', 0, 0xffffffff),
    secret,
    mode: parseChoice(str('mode') ?? 'ethernet', '--mode', MODES),
    queues: parseIntOption(str('queues') ?? '1', '--queues', 1, MAX_QUEUES),
    bufferSize: parseIntOption(str('buffer-size') ?? String(DEFAULT_BUFFER_SIZE), '--buffer-size', 1, 0xffff),
    log2RingSize: parseIntOption(str('ring') ?? String(DEFAULT_LOG2_RING_SIZE), '--ring', 1, MAX_LOG2_RING_SIZE),
    rxMode: parseChoice(str('rx-mode') ?? 'interrupt', '--rx-mode', ['interrupt', 'polling'] as const),
    netns,
    connectTimeoutS: timeout === undefined ? undefined : parseNumberOption(timeout, '--connect-timeout', 2_000_000),
    json: v.json === true,
    quiet: v.quiet === true,
  };
}

/** The MemifOptions of the shared options. `netns` is passed only when given. */
export function memifOptions(s: SharedOptions): MemifOptions {
  const o: MemifOptions & { netns?: string } = {
    role: s.role,
    socketPath: s.socketPath,
    id: s.id,
    mode: s.mode,
    rxQueues: s.queues,
    txQueues: s.queues,
    bufferSize: s.bufferSize,
    log2RingSize: s.log2RingSize,
    rxMode: s.rxMode,
    instanceName: 'memif-ts cli',
  };
  if (s.secret !== undefined) o.secret = s.secret;
  if (s.netns !== undefined) o.netns = s.netns;
  return o;
}
