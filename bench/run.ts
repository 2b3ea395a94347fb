// npm run bench: memif-ts measured in one run and printed as one table — memif-ts ↔ memif-ts
// (one-way, echo; copy and zero-copy API; 64 / 1,500 / 9,000 B; 1–2 queues), memif-ts ↔ testpmd beside
// testpmd ↔ testpmd, memif-ts → VPP → memif-ts beside testpmd → VPP → testpmd, round-trip latency,
// heap and GCs, a memcpy reference, and the targets.
// node out/bench/run.js [--quick] [--json FILE] [--repeat N (median of N)] [--only REGEX] [--verbose]
// This file runs the plan (plan.ts) step by step under the time bounds; the rows are measured in
// measure-memif.ts, measure-testpmd.ts and vpp.ts, read together in report.ts, formatted in table.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepStale, testpmdAvailable } from '../peers/testpmd.js';
import { plan } from './plan.js';
import { calibrate, objectBytes } from './probe.js';
import {
  cleanupAll,
  cpuTicks,
  installExitHandlers,
  machineInfo,
  onCleanup,
  othersPercent,
  pinSelf,
  stealPercent,
  withTimeout,
} from './procs.js';
import { addRatios, driftWarnings, median } from './report.js';
import {
  BOUND_MS,
  CORE_CHILD,
  CORE_PARENT,
  JSON_PATH,
  MEASURE_MS,
  progress,
  QUICK,
  REPEAT,
  ROW_MS,
  RTTS,
  VERBOSE,
  WARM_MS,
  where,
} from './settings.js';
import { formatReport, type Report, type Row } from './table.js';
import { targets } from './targets.js';

/** A fresh folder for the sockets, removed on cleanup. */
function freshTmp(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'memif-bench-'));
  where.tmp = tmp;
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
}

async function main(): Promise<number> {
  installExitHandlers();
  const t0 = Date.now();
  const meta = machineInfo();
  where.placement = pinSelf(CORE_PARENT);
  const placement = where.placement;
  sweepStale();
  freshTmp();
  await calibrate();
  const oneObject = objectBytes();
  const rows: Row[] = [];
  const steps = plan();
  const flags = process.argv.slice(2).join(' ');
  const placementText =
    (placement.pinned
      ? `parent (memif-ts master, orchestrator) on core ${CORE_PARENT}; memif-ts child processes on core ${CORE_CHILD} (taskset); testpmd forwarding lcore on core 0 against memif-ts, on cores 0 (client) and 1 (server) for testpmd ↔ testpmd`
      : `memif-ts processes NOT PINNED (${placement.reason}); testpmd lcores as with pinning`) +
    (testpmdAvailable() ? '' : '; dpdk-testpmd NOT FOUND: testpmd rows left out (apt-get install dpdk-dev)');
  const runStart = cpuTicks();
  const loadStart = loadavg()[0];
  const report = (): Report => ({
    meta: {
      ...meta,
      mode: QUICK ? 'quick' : 'full',
      flags,
      placement: placementText,
      windows:
        `${WARM_MS} ms warm-up + ${MEASURE_MS} ms measured per row; ${RTTS.toLocaleString('en-US')} round trips` +
        (REPEAT > 1 ? `; every row measured ${REPEAT} times, median kept` : ''),
      durationSec: (Date.now() - t0) / 1000,
      steal: stealPercent(runStart, cpuTicks()),
      others: othersPercent(runStart, cpuTicks()),
      load: [loadStart, loadavg()[0]],
      warnings: driftWarnings(rows),
    },
    rows,
    targets: targets(rows, oneObject),
  });
  const finish = (aborted?: string): number => {
    if (process.stderr.isTTY && !VERBOSE) process.stderr.write('\r\x1b[K');
    addRatios(rows, steps);
    const rep = report();
    console.log(formatReport(rep));
    if (aborted) console.log(`\nABORTED: ${aborted}`);
    if (JSON_PATH) writeFileSync(JSON_PATH, `${JSON.stringify({ ...rep, aborted }, null, 2)}\n`);
    const failed = rows.filter((r) => r.error).length;
    return aborted || failed > 0 ? 1 : 0;
  };
  const bound = setTimeout(() => {
    cleanupAll();
    process.exit(finish(`the run exceeded its bound of ${BOUND_MS / 1000} s; children and testpmd killed`));
  }, BOUND_MS);
  bound.unref();

  for (const [i, step] of steps.entries()) {
    const n = `${i + 1}/${steps.length}`;
    progress(`[${n}] ${step.label} …`);
    const ticks = cpuTicks();
    let row: Row;
    try {
      const runs: Row[] = [];
      for (let k = 0; k < REPEAT; k++) runs.push(await withTimeout(Promise.resolve(step.run()), ROW_MS, step.label));
      row = median(runs);
      const end = cpuTicks();
      row.steal = stealPercent(ticks, end);
      row.others = othersPercent(ticks, end);
      if (row.steal >= 1) row.notes = `${row.notes ? `${row.notes}; ` : ''}CPU steal ${row.steal.toFixed(0)} %`;
      progress(
        `[${n}] ${step.label}: ${row.mpps?.toFixed(2) ?? ''} Mpps ${row.rtt ? `p50 ${row.rtt.p50.toFixed(1)} µs` : ''}`,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      progress(`[${n}] ${step.label}: FAILED ${message}`);
      if (VERBOSE && err instanceof Error) console.error(err.message);
      row = { id: step.id, section: step.section, scenario: step.label, error: message };
      cleanupAll(); // whatever the row left running
      freshTmp();
    }
    row.order = step.order;
    row.seq = i;
    rows.push(row);
  }
  clearTimeout(bound);
  return finish();
}

main().then(
  (code) => {
    cleanupAll();
    process.exit(code);
  },
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
    cleanupAll();
    process.exit(1);
  },
);
