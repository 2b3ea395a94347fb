// Floods and exhaustion (issue 8, class 8): a master process out of fds while a peer floods its
// socket with connections. accept() fails with EMFILE and the connection stays in the backlog, so
// the listener used to retry at once, forever: about 50,000 "accept failed" lines a second at
// 90 % CPU. Now it pauses accepting (50 ms, doubling to 1 s) and logs once per 10 s. The master
// runs in a child process (test/helpers/exhaustion-child.ts) so that this test runner keeps its
// fds; the child opens /dev/null until EMFILE, the parent floods, the child reports its event
// loop's largest gap, its CPU time and its log lines, its bystander pair keeps passing traffic;
// then the child frees its fds and a slave from this process connects and passes bytes.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Memif } from '../../src/index.js';
import { native } from '../../src/native.js';
import type { ChildCommand, FloodReport } from '../helpers/exhaustion-child.js';
import { assertReleased, countingLogger, packet, receiveSome } from '../helpers/hostile.js';
import { LoopWatch } from '../helpers/liveness.js';
import { snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const script = fileURLToPath(new URL('../helpers/exhaustion-child.js', import.meta.url));
/** How long the parent floods (wall time; nothing is asserted on time). */
const FLOOD_MS = 1500;

interface Reply {
  cmd: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

class Child {
  readonly proc: ChildProcess;
  readonly #replies: Reply[] = [];
  #wake: (() => void) | undefined;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(socketPath: string) {
    this.proc = fork(script, [socketPath], { execArgv: [], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.proc.on('message', (m: Reply) => {
      this.#replies.push(m);
      this.#wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code) => {
        this.#wake?.();
        resolve(code);
      }),
    );
  }

  async reply(cmd: string): Promise<unknown> {
    for (;;) {
      const r = this.#replies.shift();
      if (r !== undefined) {
        assert.equal(r.cmd, cmd);
        assert.ok(r.ok, `child failed '${cmd}': ${r.error}\n${this.stderr}`);
        return r.result;
      }
      if (this.proc.exitCode !== null) throw new Error(`child exited (${this.proc.exitCode}): ${this.stderr}`);
      await new Promise<void>((w) => {
        this.#wake = w;
      });
    }
  }

  ask(cmd: ChildCommand): Promise<unknown> {
    this.proc.send(cmd);
    return this.reply(cmd);
  }
}

describe('a master out of fds, flooded with connections', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir('memif-exhaust-');
  });
  after(() => tmp.remove());

  test('backs off, logs little, keeps its loop and bystander, and recovers', { timeout: 60_000 }, async (t) => {
    const socketPath = tmp.socket();
    const child = new Child(socketPath);
    const b = native();
    const logger = countingLogger();
    let slave: Memif | undefined;
    try {
      await child.reply('ready');
      const baseline = snapshot();
      const watch = new LoopWatch();
      const exhausted = (await child.ask('exhaust')) as { held: number; code: string };
      assert.equal(exhausted.code, 'EMFILE', 'the child ran out of fds');
      await child.ask('start');
      let attempts = 0;
      let connected = 0;
      const end = performance.now() + FLOOD_MS;
      while (performance.now() < end) {
        attempts++;
        try {
          b.close(b.connect(socketPath, false));
          connected++;
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code !== 'EAGAIN' && code !== 'ECONNREFUSED') throw err;
        }
        if (attempts % 50 === 0) await sleep(1);
      }
      const r = (await child.ask('stop')) as FloodReport;
      const figures = `${attempts} connects tried (${connected} into the backlog) in ${Math.round(r.wallMs)} ms; child: CPU ${Math.round(r.cpuMs)} ms, largest loop gap ${Math.round(r.maxGapMs)} ms, ${r.acceptLogLines} "accept failed" lines, bystander ${r.bystanderOk} exchanges`;
      t.diagnostic(figures);
      assert.ok(connected > 0, `the flood reached the backlog: ${figures}`);
      assert.ok(r.ticks > 0 && r.maxGapMs < 1000, `the child's event loop kept turning: ${figures}`);
      assert.ok(r.acceptLogLines >= 1 && r.acceptLogLines <= 2, `few log lines: ${figures}`);
      assert.ok(r.loudLines <= 4, `few log lines: ${figures}`);
      assert.ok(r.cpuMs < 0.5 * r.wallMs, `CPU stayed low: ${figures}`);
      assert.ok(r.bystanderOk > 0, `the bystander passed traffic: ${figures}`);
      assert.deepEqual(r.bystanderErrors, []);

      // fds back: the listener's next retry takes the (dead) backlog, and a slave gets in.
      await child.ask('free');
      slave = await Memif.create({
        role: 'slave',
        socketPath,
        id: 0,
        logger,
        rxMode: 'polling',
        reconnectIntervalMs: 20,
      });
      await slave.waitForConnect();
      for (let i = 0; i < 3; i++) {
        const p = packet(`after exhaustion ${i}`, 64 + i * 100);
        assert.equal(slave.txBurst(0, [p]), 1);
        assert.deepEqual(await receiveSome(slave), [p], 'the master echoed the bytes');
      }
      await slave.close();
      slave = undefined;
      const fin = (await child.ask('finish')) as {
        newFds: string[];
        memfdMapsEqual: boolean;
        addonMappings: [number, number];
      };
      assert.deepEqual(fin.newFds, [], "the child's fds are back to its baseline");
      assert.equal(fin.memfdMapsEqual, true);
      assert.equal(fin.addonMappings[1], fin.addonMappings[0]);
      assert.equal(await child.exited, 0);
      await watch.assertAlive('the flood (parent)');
      await assertReleased(baseline, 'the flood (parent)');
    } finally {
      await slave?.close();
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
      await child.exited;
    }
  });
});
