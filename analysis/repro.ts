/**
 * Reproducibility of the speedups over several runs (issue 4's target: the
 * coefficient of variation of each speedup over 5 consecutive runs <= 5 %).
 */
import type { ResultsFile } from '../bench/types.js';
import { computeRatios, type RatioKind } from './speedup.js';

export interface Spread {
  scenario: string;
  method: string;
  reference: string;
  kind: RatioKind;
  n: number;
  /** one value per run that had this ratio, in run order */
  values: number[];
  mean: number;
  /** sd / mean (sample sd), 0 for fewer than 2 values */
  cv: number;
}

/** speedups (and floor ratios) at each scenario's largest N, across runs */
export function ratioSpread(runs: readonly ResultsFile[], opts: { kind?: RatioKind } = {}): Spread[] {
  const by = new Map<string, Spread>();
  for (const run of runs) {
    for (const r of computeRatios(run, { onlyLargestN: true, iterations: 200 })) {
      if (opts.kind && r.kind !== opts.kind) continue;
      const key = `${r.scenario}\0${r.method}\0${r.reference}\0${r.n}`;
      let s = by.get(key);
      if (!s) {
        s = { scenario: r.scenario, method: r.method, reference: r.reference, kind: r.kind, n: r.n, values: [], mean: 0, cv: 0 };
        by.set(key, s);
      }
      s.values.push(r.value.ratio);
    }
  }
  for (const s of by.values()) {
    const k = s.values.length;
    s.mean = s.values.reduce((a, b) => a + b, 0) / k;
    const sd = k > 1 ? Math.sqrt(s.values.reduce((a, b) => a + (b - s.mean) ** 2, 0) / (k - 1)) : 0;
    s.cv = s.mean > 0 ? sd / s.mean : 0;
  }
  return [...by.values()];
}
