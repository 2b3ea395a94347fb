// Shared checks of the hostile-peer suite: a counting logger, a bystander pair of interfaces that
// must keep passing traffic during every attack, the first error/disconnect of an interface, and
// the check that an attack left no fd or mapping behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach } from 'node:test';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { type Logger, Memif, type MemifError, type MemifOptions } from '../../src/index.js';
import { LoopWatch } from './liveness.js';
import { newFds, type Resources, settle, snapshot } from './resources.js';

/** A logger that records every line. */
export interface CountingLogger extends Logger {
  lines: { level: string; message: string; fields: Record<string, unknown> | undefined }[];
  /** Lines at info, warn or error level so far. */
  loud(): number;
  /** The loud lines after the first `mark` of them, as "level message reason" strings (for messages). */
  loudSince(mark: number): string[];
}

export function countingLogger(): CountingLogger {
  const lines: CountingLogger['lines'] = [];
  const rec = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  const loudLines = () => lines.filter((l) => l.level !== 'debug');
  return {
    lines,
    debug: rec('debug'),
    info: rec('info'),
    warn: rec('warn'),
    error: rec('error'),
    loud: () => loudLines().length,
    loudSince: (mark) =>
      loudLines()
        .slice(mark)
        .map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields ?? {})}`),
  };
}

/** Distinct, recognisable packet bytes for `tag`. */
export function packet(tag: string, len = 100): Buffer {
  const b = Buffer.alloc(len);
  const t = Buffer.from(tag);
  for (let k = 0; k < len; k++) b[k] = (t[k % t.length] ^ (k * 7)) & 0xff;
  t.copy(b, 0, 0, Math.min(t.length, len));
  return b;
}

/** Reads queue 0 of `rx` until something comes (the test's timeout bounds the wait). */
export async function receiveSome(rx: Memif): Promise<Buffer[]> {
  for (;;) {
    const got = rx.rxBurst(0);
    if (got.length > 0) return got;
    await tick();
  }
}

/** One packet each way between a connected master and slave, compared byte for byte. */
export async function exchange(master: Memif, slave: Memif, tag: string): Promise<void> {
  const up = packet(`s2m ${tag}`, 60 + (tag.length % 50));
  const down = packet(`m2s ${tag}`, 70 + (tag.length % 40));
  assert.equal(slave.txBurst(0, [up]), 1, `bystander slave could not send (${tag})`);
  assert.deepEqual(await receiveSome(master), [up]);
  assert.equal(master.txBurst(0, [down]), 1, `bystander master could not send (${tag})`);
  assert.deepEqual(await receiveSome(slave), [down]);
}

/** A master id 1 and a slave id 1 on one socket: the interfaces an attack must not disturb. */
export class Bystander {
  private constructor(
    readonly master: Memif,
    readonly slave: Memif,
  ) {}

  /** Creates the pair (the master first, so it opens the socket with these options) and connects it. */
  static async start(socketPath: string, logger: Logger, master: Partial<MemifOptions> = {}): Promise<Bystander> {
    const m = await Memif.create({ role: 'master', socketPath, id: 1, logger, rxMode: 'polling', ...master });
    const s = await Memif.create({ role: 'slave', socketPath, id: 1, logger, rxMode: 'polling' });
    await Promise.all([m.waitForConnect(), s.waitForConnect()]);
    return new Bystander(m, s);
  }

  /** Still connected, and one packet each way arrives intact. */
  async check(tag: string): Promise<void> {
    assert.equal(this.master.connected, true, `bystander master went down (${tag})`);
    assert.equal(this.slave.connected, true, `bystander slave went down (${tag})`);
    await exchange(this.master, this.slave, tag);
  }

  async close(): Promise<void> {
    await this.slave.close();
    await this.master.close();
  }
}

/**
 * For every test of the enclosing suite: a LoopWatch from its start, and after it, that the event
 * loop kept turning and the bystander pair (created in the suite's before()) is untouched.
 */
export function watchEachTest(bystander: () => Bystander): void {
  let watch: LoopWatch;
  beforeEach(() => {
    watch = new LoopWatch();
  });
  afterEach(async (t) => {
    try {
      await watch.assertAlive(t.name);
    } finally {
      watch.stop();
    }
    await bystander().check(t.name);
  });
}

/** What an interface reported. */
export interface Outcome {
  kind: 'error' | 'disconnect';
  error: MemifError;
  reason: string;
}

/** Records every 'error' and 'disconnect' of `m`; `first()` waits for the first one. */
export class Reports {
  readonly all: Outcome[] = [];
  #wake: (() => void) | undefined;

  /** `m` undefined: records nothing (the interface's failures then go to its logger). */
  constructor(m: Memif | undefined) {
    if (m === undefined) return;
    m.on('error', (error) => this.#add({ kind: 'error', error, reason: error.message }));
    m.on('disconnect', (d) => this.#add({ kind: 'disconnect', error: d.error, reason: d.reason }));
  }

  #add(o: Outcome): void {
    this.all.push(o);
    this.#wake?.();
  }

  /** The `n`-th report (0-based), once it comes. */
  async nth(n: number): Promise<Outcome> {
    while (this.all.length <= n) {
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
    return this.all[n];
  }

  first(): Promise<Outcome> {
    return this.nth(0);
  }
}

/** Reads every queue of `m` on each interrupt (so that faults in what the peer wrote are found). */
export function drainOnInterrupt(m: Memif, into: Buffer[] = []): Buffer[] {
  m.on('interrupt', (q) => {
    if (!m.connected) return;
    into.push(...m.rxBurst(q));
  });
  return into;
}

/** Asserts that nothing opened or mapped since `before` is still held. */
export async function assertReleased(before: Resources, label: string): Promise<void> {
  await settle();
  const after = snapshot();
  assert.deepEqual(newFds(before, after), [], `fds left open after: ${label}`);
  assert.deepEqual(after.memfdMaps, before.memfdMaps, `memfd mappings left after: ${label}`);
  assert.equal(after.addonMappings, before.addonMappings, `addon mappings left after: ${label}`);
}

/** Loud log lines since `mark` must be at most `max`. */
export function assertQuietLog(logger: CountingLogger, mark: number, max: number, label: string): void {
  const lines = logger.loudSince(mark);
  assert.ok(lines.length <= max, `${lines.length} log lines (max ${max}) for ${label}:\n${lines.join('\n')}`);
}

/** Resolves when `cond()` holds, checking every few ms (the test's timeout bounds the wait). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(2);
}

/** Runs python3 with `code`; resolves with its exit code and output. */
export function python(code: string, args: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('python3', ['-c', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, out, err }));
  });
}

let pythonOk: boolean | undefined;
/** True when python3 with socket.send_fds and os.memfd_create can be run here. */
export async function havePython(): Promise<boolean> {
  if (pythonOk === undefined) {
    try {
      const r = await python('import socket, os; socket.send_fds; os.memfd_create; print("ok")');
      pythonOk = r.code === 0 && r.out.trim() === 'ok';
    } catch {
      pythonOk = false;
    }
  }
  return pythonOk;
}
