// Compares two `npm run bench -- --json FILE` reports (say, two commits) row by row: rates,
// round trips and target ratios side by side with the change. Rows are matched by their id.
// node out/bench/compare.js BEFORE.json AFTER.json
import { readFileSync } from 'node:fs';
import type { Report, Row } from './table.js';

function load(path: string): Report {
  return JSON.parse(readFileSync(path, 'utf8')) as Report;
}

/** The figure a row is judged by: its rate, or the p50 round trip for latency rows. */
function figure(r: Row | undefined): { value: number; unit: string } | undefined {
  if (!r || r.error) return undefined;
  if (r.mpps !== undefined) return { value: r.mpps, unit: 'Mpps' };
  if (r.rtt) return { value: r.rtt.p50, unit: 'µs p50' };
  return undefined;
}

function main(): number {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) {
    console.error('usage: node out/bench/compare.js BEFORE.json AFTER.json');
    return 2;
  }
  const before = load(a);
  const after = load(b);
  console.log(`before: ${before.meta.commit}, ${before.meta.date}, ${before.meta.mode}`);
  console.log(`after:  ${after.meta.commit}, ${after.meta.date}, ${after.meta.mode}`);
  if (before.meta.cpu !== after.meta.cpu) console.log(`CPUs differ: ${before.meta.cpu} / ${after.meta.cpu}`);
  console.log('');
  const out: string[][] = [['row', 'before', 'after', 'change']];
  const ids = [...new Set([...before.rows.map((r) => r.id), ...after.rows.map((r) => r.id)])];
  for (const id of ids) {
    const x = figure(before.rows.find((r) => r.id === id));
    const y = figure(after.rows.find((r) => r.id === id));
    const change = x && y && x.value > 0 ? `${((y.value / x.value - 1) * 100).toFixed(1)} %` : '';
    const unit = x?.unit ?? y?.unit ?? '';
    out.push([id, x ? `${x.value.toFixed(2)} ${unit}` : '–', y ? `${y.value.toFixed(2)} ${unit}` : '–', change]);
  }
  for (const t of after.targets) {
    const old = before.targets.find((u) => u.label === t.label);
    const v = (x: number | undefined, met: boolean | undefined) =>
      x === undefined ? '–' : `${x.toFixed(2)} ${met ? 'met' : 'missed'}`;
    out.push([`target: ${t.label} (${t.want})`, v(old?.value, old?.met), v(t.value, t.met), '']);
  }
  const widths = out[0].map((_, c) => Math.max(...out.map((row) => [...row[c]].length)));
  for (const [i, row] of out.entries()) {
    console.log(
      `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`,
    );
    if (i === 0)
      console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  }
  return 0;
}

process.exitCode = main();
