/**
 * benchmark.json in the form github-action-benchmark reads with
 * `tool: 'customSmallerIsBetter'`: an array of { name, unit, value, range,
 * extra }, so the figures can be charted across commits. At each
 * scenario's largest N: every method's time (ms) and every paired ratio as
 * a time ratio where smaller is better (method / floor; method / reference
 * for speedups, the inverse of the speedup printed elsewhere).
 */
import { join } from 'node:path';
import type { ResultsFile } from '../../bench/schema.js';
import { largestN, type Analysis } from '../analyze.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';

export const BENCHMARK_FILE = 'benchmark.json';

export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

const r4 = (x: number) => Number(x.toPrecision(4));

export function toBenchmarkJson(results: ResultsFile, an: Analysis): BenchmarkEntry[] {
  const nMax = largestN(results);
  const out: BenchmarkEntry[] = [];
  for (const t of an.times) {
    if (nMax.get(t.scenario) !== t.n) continue;
    out.push({
      name: `${t.scenario}/${t.method} @N=${t.n}`,
      unit: 'ms',
      value: r4(t.medianNs / 1e6),
      range: `${r4(t.ciLowNs / 1e6)}-${r4(t.ciHighNs / 1e6)}`,
      extra: `${t.rounds} rounds${t.extrapolated ? ', extrapolated' : ''}`,
    });
  }
  for (const r of an.ratios) {
    if (nMax.get(r.scenario) !== r.n) continue;
    const inv = r.kind === 'speedup';
    const v = inv ? 1 / r.value.ratio : r.value.ratio;
    const lo = inv ? 1 / r.value.ciHigh : r.value.ciLow;
    const hi = inv ? 1 / r.value.ciLow : r.value.ciHigh;
    out.push({
      name: `${r.scenario}/${r.method} / ${r.reference} @N=${r.n}`,
      unit: 'time ratio',
      value: r4(v),
      range: `${r4(lo)}-${r4(hi)}`,
      extra: `${r.kind}, paired over ${r.value.rounds} rounds${r.flags.length ? `; ${r.flags.join(', ')}` : ''}`,
    });
  }
  // the task dimension: time at each K, and the cost per task
  for (const t of an.tasks.times) {
    out.push({
      name: `${t.scenario}/${t.method} @N=${t.n} K=${t.k}`,
      unit: 'ms',
      value: r4(t.medianNs / 1e6),
      range: `${r4(t.ciLowNs / 1e6)}-${r4(t.ciHighNs / 1e6)}`,
      extra: `${t.tasks} tasks, ${t.rounds} rounds${t.extrapolated ? ', extrapolated' : ''}`,
    });
  }
  for (const p of an.tasks.perTask) {
    out.push({
      name: `${p.scenario}/${p.method} per task @N=${p.n}`,
      unit: 'us per task',
      value: r4(p.nsPerTask / 1e3),
      range: `${r4(p.ciLow / 1e3)}-${r4(p.ciHigh / 1e3)}`,
      extra: `least squares of time on K = ${p.ks.join(',')}, per round; ${p.rounds} rounds${p.extrapolated ? ', extrapolated' : ''}`,
    });
  }
  return out;
}

export const benchmarkExporter: Exporter = {
  name: 'benchmark',
  async write(results: ResultsFile, dir: string, ctx) {
    await writeFileAtomic(join(dir, BENCHMARK_FILE), `${JSON.stringify(toBenchmarkJson(results, ctx.analysis()), null, 2)}\n`);
  },
};
