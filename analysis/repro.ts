/**
 * Reproducibility over runs: the coefficient of variation of every paired
 * ratio at each scenario's largest N across several runs of the same command
 * (target: CV <= 5 % over 5 consecutive runs), and how far each ratio's mean
 * moved between two sets of runs (e.g. a quiet machine and a busy one).
 */
import type { ResultsFile } from '../bench/schema.js';
import { analyze, largestN, type RatioKind } from './analyze.js';
import { quantileSorted } from './stats.js';

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
  /** runs where this ratio was flagged (suspect, chain-break) */
  flagged: number;
  /**
   * a run's own uncertainty as a CV: the median over runs of its 95 % CI's
   * width on the log scale over 2 x 1.96 (the standard error the CI implies)
   */
  withinCv: number;
  /**
   * the runs differ more than their own CIs allow: cv beyond withinCv x
   * sqrt(chi2(0.95, k-1) / (k-1)) (a sample sd of k runs that each carry
   * that error exceeds it so far in 5 % of sets); the machine changed
   * between runs, which more rounds in a run cannot fix
   */
  beyondCi: boolean;
}

export const CV_TARGET = 0.05;

export const MEAN_MOVE_TARGET = 0.1;

/** chi-square's 95 % points for 1-10 degrees of freedom (the table) */
const CHI2_95 = [3.841, 5.991, 7.815, 9.488, 11.07, 12.592, 14.067, 15.507, 16.919, 18.307];

/** chi-square's 95 % point for df degrees of freedom (the table to 10, then Wilson-Hilferty: within 0.1 %) */
export function chi2q95(df: number): number {
  if (df >= 1 && df <= 10 && Number.isInteger(df)) return CHI2_95[df - 1]!;
  const z = 1.6448536269514722;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** every paired ratio at each scenario's largest N, across runs */
export function ratioSpread(runs: readonly ResultsFile[], opts: { kind?: RatioKind } = {}): Spread[] {
  const by = new Map<string, Spread>();
  const ses = new Map<Spread, number[]>();
  for (const run of runs) {
    const nMax = largestN(run);
    for (const r of analyze(run, { iterations: 200 }).ratios) {
      if (nMax.get(r.scenario) !== r.n) continue;
      if (opts.kind && r.kind !== opts.kind) continue;
      const key = `${r.scenario}\0${r.kind}\0${r.method}\0${r.reference}\0${r.n}`;
      let s = by.get(key);
      if (!s) {
        s = { scenario: r.scenario, method: r.method, reference: r.reference, kind: r.kind, n: r.n, values: [], mean: 0, cv: 0, flagged: 0, withinCv: 0, beyondCi: false };
        by.set(key, s);
        ses.set(s, []);
      }
      s.values.push(r.value.ratio);
      if (r.value.ciLow > 0 && r.value.ciHigh > 0) ses.get(s)!.push(Math.log(r.value.ciHigh / r.value.ciLow) / (2 * 1.959963984540054));
      if (r.flags.length) s.flagged++;
    }
  }
  for (const s of by.values()) {
    const k = s.values.length;
    s.mean = s.values.reduce((a, b) => a + b, 0) / k;
    const sd = k > 1 ? Math.sqrt(s.values.reduce((a, b) => a + (b - s.mean) ** 2, 0) / (k - 1)) : 0;
    s.cv = s.mean > 0 ? sd / s.mean : 0;
    const se = [...ses.get(s)!].sort((a, b) => a - b);
    s.withinCv = se.length ? quantileSorted(se, 0.5) : 0;
    s.beyondCi = k > 1 && s.cv > s.withinCv * Math.sqrt(chi2q95(k - 1) / (k - 1));
  }
  return [...by.values()].sort((a, b) => `${a.scenario} ${a.kind} ${a.method} ${a.reference}`.localeCompare(`${b.scenario} ${b.kind} ${b.method} ${b.reference}`));
}

export interface MeanMove {
  scenario: string;
  kind: RatioKind;
  method: string;
  reference: string;
  meanA: number;
  meanB: number;
  /** meanB / meanA - 1 */
  move: number;
}

/** how far each ratio's mean moved from set A to set B */
export function meanMoves(a: readonly Spread[], b: readonly Spread[]): MeanMove[] {
  const out: MeanMove[] = [];
  for (const x of a) {
    const y = b.find((s) => s.scenario === x.scenario && s.kind === x.kind && s.method === x.method && s.reference === x.reference && s.n === x.n);
    if (!y) continue;
    out.push({ scenario: x.scenario, kind: x.kind, method: x.method, reference: x.reference, meanA: x.mean, meanB: y.mean, move: y.mean / x.mean - 1 });
  }
  return out;
}
