/**
 * The first collect of a block vs the ones after it, from finished runs'
 * results.json (nothing is measured here). Each block follows other units'
 * blocks, so its first collect finds the caches full of their data. When a
 * unit's block holds several collects (small N) its median is a warm one;
 * when it holds one (large N) the median is that cold first collect, which
 * bends a growth fit upwards. Runs made since the warm-up collect
 * (bench/measure.ts warmupBelowNs) have no cold samples left to show.
 *
 *   node --import tsx bench/experiments/firstofblock.ts results/<run>/ [...] [--scenario all]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultsFile } from '../schema.js';

const args = process.argv.slice(2);
const si = args.indexOf('--scenario');
const scenario = si >= 0 ? args[si + 1] : 'all';
const dirs = args.filter((a, i) => a !== '--scenario' && args[i - 1] !== '--scenario');
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const ms = (ns: number) => (Number.isFinite(ns) ? (ns / 1e6).toFixed(3) : '-');
for (const dir of dirs) {
  const r = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
  console.log(`== ${dir}`);
  for (const m of r.measurements) {
    if (m.state !== 'verified' || m.scenario !== scenario || m.replica > 0) continue;
    const byRound = new Map<number, [number, number][]>();
    m.samples.ns.forEach((ns, i) => {
      const k = m.samples.round[i]!;
      const l = byRound.get(k) ?? [];
      l.push([m.samples.atMs[i]!, ns]);
      byRound.set(k, l);
    });
    const first: number[] = [];
    const rest: number[] = [];
    for (const l of byRound.values()) {
      l.sort((a, b) => a[0] - b[0]);
      first.push(l[0]![1]);
      for (const x of l.slice(1)) rest.push(x[1]);
    }
    console.log(
      `  ${m.method.padEnd(20)} n=${String(m.n).padEnd(6)} block ${String(m.block).padEnd(2)} warm-up ${m.warmup ?? 0}  ` +
        `first ${ms(med(first))}  after it ${ms(med(rest))}  first/after ${(med(first) / med(rest)).toFixed(3)}  median ${ms(m.stats.medianNs)}`,
    );
  }
}
