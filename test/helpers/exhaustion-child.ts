// The child process of test/hostile/fd-exhaustion.test.ts: a master (id 0, echoing what it
// receives) and a bystander pair (id 1) on one socket, driven by the parent over IPC. It can use
// up its fds (EMFILE) while the parent floods the socket with connections, and reports what the
// flood cost it: event-loop gaps, CPU time, log lines, bystander traffic, and fds left over.
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Memif } from '../../src/index.js';
import { Bystander, countingLogger } from './hostile.js';
import { LoopWatch } from './liveness.js';
import { newFds, settle, snapshot } from './resources.js';

export type ChildCommand = 'exhaust' | 'start' | 'stop' | 'free' | 'finish';

export interface FloodReport {
  cpuMs: number;
  wallMs: number;
  maxGapMs: number;
  ticks: number;
  /** Log lines about failed accepts during the flood. */
  acceptLogLines: number;
  /** Every loud (info and above) log line during the flood. */
  loudLines: number;
  bystanderOk: number;
  bystanderErrors: string[];
}

const socketPath = process.argv[2];
const logger = countingLogger();
const master = await Memif.create({ role: 'master', socketPath, id: 0, logger, rxMode: 'polling' });
const bystander = await Bystander.start(socketPath, logger);
const echo = setInterval(() => {
  if (!master.connected) return;
  const got = master.rxBurst(0);
  if (got.length > 0) master.txBurst(0, got);
}, 2);
await settle();
const baseline = snapshot();
const held: number[] = [];
let watch: LoopWatch | undefined;
let flood:
  | { cpu: NodeJS.CpuUsage; t0: number; lines: number; loud: number; ok: number; errors: string[]; on: boolean }
  | undefined;
let traffic: Promise<void> | undefined;

function acceptLines(): number {
  return logger.lines.filter((l) => l.message.startsWith('memif: accept failed')).length;
}

async function bystanderTraffic(f: NonNullable<typeof flood>): Promise<void> {
  while (f.on) {
    try {
      await bystander.check(`during the flood ${f.ok}`);
      f.ok++;
    } catch (err) {
      f.errors.push(String(err));
    }
    await sleep(20);
  }
}

async function run(cmd: ChildCommand): Promise<unknown> {
  switch (cmd) {
    case 'exhaust':
      for (;;) {
        try {
          held.push(openSync('/dev/null', 'r'));
        } catch (err) {
          return { held: held.length, code: (err as { code?: string }).code };
        }
      }
    case 'start':
      watch = new LoopWatch();
      flood = {
        cpu: process.cpuUsage(),
        t0: performance.now(),
        lines: acceptLines(),
        loud: logger.loud(),
        ok: 0,
        errors: [],
        on: true,
      };
      traffic = bystanderTraffic(flood);
      return {};
    case 'stop': {
      const f = flood as NonNullable<typeof flood>;
      const cpu = process.cpuUsage(f.cpu);
      const wallMs = performance.now() - f.t0;
      f.on = false;
      await traffic;
      const w = watch as LoopWatch;
      w.stop();
      const report: FloodReport = {
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs,
        maxGapMs: w.maxGapMs,
        ticks: w.ticks,
        acceptLogLines: acceptLines() - f.lines,
        loudLines: logger.loud() - f.loud,
        bystanderOk: f.ok,
        bystanderErrors: f.errors,
      };
      return report;
    }
    case 'free':
      for (const fd of held.splice(0)) closeSync(fd);
      return {};
    case 'finish': {
      while (master.connected) await sleep(2);
      await bystander.check('after the flood');
      for (let i = 0; i < 100 && newFds(baseline, snapshot()).length > 0; i++) await sleep(5);
      const after = snapshot();
      const result = {
        newFds: newFds(baseline, after),
        memfdMapsEqual: JSON.stringify(after.memfdMaps) === JSON.stringify(baseline.memfdMaps),
        addonMappings: [baseline.addonMappings, after.addonMappings],
      };
      clearInterval(echo);
      await bystander.close();
      await master.close();
      return result;
    }
  }
}

process.on('message', (cmd: ChildCommand) => {
  run(cmd).then(
    (r) => process.send?.({ cmd, ok: true, result: r }, () => cmd === 'finish' && process.disconnect()),
    (err) => process.send?.({ cmd, ok: false, error: String(err) }),
  );
});
process.send?.({ cmd: 'ready', ok: true });
