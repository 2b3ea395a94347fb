// The benchmark's plan and targets (bench/plan.ts, bench/targets.ts), without measuring anything:
// every 2-queue row is measured between two measurements of its 1-queue row, every row a ratio
// target reads exists in a full run, and a target reads the row it names (by id, not position).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { plan } from '../../bench/plan.js';
import type { Row } from '../../bench/table.js';
import { targets } from '../../bench/targets.js';
import { testpmdAvailable } from '../../peers/testpmd.js';

const base = (id: string) => id.split('#')[0];

describe('bench plan and targets', () => {
  const steps = plan(); // a full run: this process has no --quick

  test('each 2-queue row (one thread) sits between two measurements of its 1-queue row, no other memif-ts row between', () => {
    const twoQ = steps.filter((s) => /\/2q$/.test(s.id));
    assert.equal(twoQ.length, 18);
    for (const s of twoQ) {
      const i = steps.indexOf(s);
      const one = s.id.replace(/\/2q$/, '/1q');
      // Before it: the last measurement of its 1-queue row, with nothing but other rows measured
      // again (around the rows next to it) in between.
      const k = steps
        .slice(0, i)
        .map((x) => base(x.id))
        .lastIndexOf(one);
      assert.ok(k >= 0, `no measurement of ${one} before ${s.id}`);
      const between = steps.slice(k + 1, i).filter((x) => !x.id.includes('#'));
      assert.deepEqual(
        between.map((x) => x.id),
        [],
        `between ${one} and ${s.id}`,
      );
      assert.equal(base(steps[i + 1].id), one, `after ${s.id}: ${steps[i + 1].id}`);
      assert.equal(s.ratio?.ref, one);
    }
  });

  test('the interrupt round trip sits between two measurements of the eventfd floor', () => {
    const i = steps.findIndex((s) => s.id === 'latency/interrupt');
    assert.equal(base(steps[i - 1].id), 'latency/eventfd-floor');
    assert.equal(base(steps[i + 1].id), 'latency/eventfd-floor');
  });

  test('with every row of a full run measured, every target has a value', (t) => {
    if (!testpmdAvailable()) {
      t.skip('dpdk-testpmd is not installed: its rows are not planned');
      return;
    }
    // A rate for every step, in run order; latency rows get round trips.
    const rows: Row[] = steps.map((s, seq) => ({
      id: s.id,
      section: s.section,
      scenario: s.label,
      seq,
      ...(s.id.startsWith('latency/') ? { rtt: { p50: 10, p99: 20, max: 30, n: 1 } } : { mpps: 1, gbps: 1 }),
    }));
    // The ratios the rows carry, as report.ts sets them: here every reference reads 1.
    for (const r of rows) {
      const s = steps.find((x) => x.id === r.id);
      if (s?.ratio) r.ratio = { value: 1, of: s.ratio.of, ref: s.ratio.ref, spread: 0 };
    }
    const out = targets(rows, 100);
    const unmeasured = out.filter((x) => x.value === undefined && !x.label.includes('heap'));
    assert.deepEqual(
      unmeasured.map((x) => x.label),
      [],
    );
  });

  test('a target reads its own row: a different rate in that row alone moves that target alone', () => {
    const rows: Row[] = [
      { id: 'tp/tp-to-tp', section: '', scenario: '', mpps: 10, seq: 0 },
      {
        id: 'memif/s2m/zc/64/1q',
        section: '',
        scenario: '',
        mpps: 7,
        seq: 1,
        ratio: { value: 0.7, of: 'x', ref: 'tp/tp-to-tp' },
      },
      {
        id: 'memif/m2s/zc/64/1q',
        section: '',
        scenario: '',
        mpps: 5,
        seq: 2,
        ratio: { value: 0.5, of: 'x', ref: 'tp/tp-to-tp' },
      },
    ];
    const out = targets(rows, 100);
    const s2m = out.find((x) => x.label.startsWith('zero-copy 64 B one-way, slave → master'));
    const m2s = out.find((x) => x.label.startsWith('zero-copy 64 B one-way, master → slave'));
    assert.equal(s2m?.value, 0.7);
    assert.equal(s2m?.met, true);
    assert.equal(m2s?.value, 0.5);
    assert.equal(m2s?.met, false);
  });
});
