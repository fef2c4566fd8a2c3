/**
 * Ratios of medians with a 95 % confidence interval.
 *
 * ratio = median(numerator) / median(denominator). For a speedup of method M
 * over a reference R, pass R as numerator (time of R / time of M: > 1 means M
 * is faster). For "times the floor", pass M as numerator.
 *
 * The CI is a percentile bootstrap over both sample sets (each resampled with
 * replacement, independently) with a seeded PRNG, so the same inputs give the
 * same interval. Without raw samples it falls back to combining the medians'
 * own intervals on the log scale (half-widths added in quadrature).
 */
import type { Measurement, ResultsFile, Statistics } from '../bench/types.js';
import type { Scenario } from '../bench/manifest.js';
import { bootstrapMedianSorted } from './stats.js';
import { mulberry32, seedFrom } from './prng.js';

export interface Ratio {
  ratio: number;
  ciLow: number;
  ciHigh: number;
  /** how the CI was computed */
  ci: 'bootstrap' | 'median-ci';
}

export interface RatioOptions {
  /** bootstrap resamples (default 2000) */
  iterations?: number;
  /** PRNG seed (default: fixed) */
  seed?: number;
  confidence?: number;
}

export const DEFAULT_BOOTSTRAP = 2000;

/*
 * The harness rewrites the reports after every measurement and most ratios
 * have not changed since the last write: remember them (keyed by the
 * statistics that identify a sample set, the seed and the iterations).
 */
const memo = new Map<string, Ratio>();
const MEMO_MAX = 20000;

function statsKey(s: Statistics): string {
  return `${s.medianNs},${s.samples},${s.ciLowNs},${s.ciHighNs},${s.meanNs},${s.samplesNs?.length ?? 0}`;
}

export function ratioOfMedians(num: Statistics, den: Statistics, opts: RatioOptions = {}): Ratio {
  const key = `${statsKey(num)}|${statsKey(den)}|${opts.iterations ?? DEFAULT_BOOTSTRAP}|${opts.seed ?? 0x5eed}|${opts.confidence ?? 0.95}`;
  const hit = memo.get(key);
  if (hit) return { ...hit };
  const r = computeRatio(num, den, opts);
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, r);
  return { ...r };
}

function computeRatio(num: Statistics, den: Statistics, opts: RatioOptions): Ratio {
  const ratio = num.medianNs / den.medianNs;
  const conf = opts.confidence ?? 0.95;
  const a = num.samplesNs;
  const b = den.samplesNs;
  if (a && b && a.length > 1 && b.length > 1) {
    const iters = opts.iterations ?? DEFAULT_BOOTSTRAP;
    const rng = mulberry32(opts.seed ?? 0x5eed);
    const sa = [...a].sort((x, y) => x - y);
    const sb = [...b].sort((x, y) => x - y);
    const ca = new Uint32Array(sa.length);
    const cb = new Uint32Array(sb.length);
    const rs = new Float64Array(iters);
    for (let i = 0; i < iters; i++) {
      rs[i] = bootstrapMedianSorted(sa, rng, ca) / bootstrapMedianSorted(sb, rng, cb);
    }
    rs.sort();
    const lo = rs[Math.floor(((1 - conf) / 2) * (iters - 1))]!;
    const hi = rs[Math.ceil((1 - (1 - conf) / 2) * (iters - 1))]!;
    return { ratio, ciLow: Math.min(lo, ratio), ciHigh: Math.max(hi, ratio), ci: 'bootstrap' };
  }
  const hw = (s: Statistics) =>
    s.ciLowNs > 0 ? (Math.log(s.ciHighNs) - Math.log(s.ciLowNs)) / 2 : Infinity;
  const h = Math.sqrt(hw(num) ** 2 + hw(den) ** 2);
  return { ratio, ciLow: ratio * Math.exp(-h), ciHigh: ratio * Math.exp(h), ci: 'median-ci' };
}

/** true when an interval lies entirely above (or below) another */
export function ciSeparated(a: { ciLow: number; ciHigh: number }, b: { ciLow: number; ciHigh: number }): boolean {
  return a.ciLow > b.ciHigh || b.ciLow > a.ciHigh;
}

/** The floor a method is compared with (its cost without the work the floor leaves out). */
export function floorOf(method: string): string | undefined {
  if (method === 'procfs') return 'floor-procfs';
  if (method === 'bpf-task-file') return 'floor-empty-iter';
  if (method === 'bpf-epoll') return 'floor-walk-epoll';
  if (method === 'bpf-io-uring') return 'floor-walk-io-uring';
  if (method === 'bpf-all') return 'floor-walk';
  if (method.startsWith('bpf-')) return 'floor-empty-iter';
  return undefined;
}

/** references a BPF method's speedup is reported against */
export const SPEEDUP_REFERENCES = ['procfs', 'kcmp-tree'] as const;

export type RatioKind = 'speedup' | 'vs-floor';

export interface RatioRow {
  scenario: Scenario;
  n: number;
  method: string;
  /** procfs, kcmp-tree (speedup) or a floor (vs-floor) */
  reference: string;
  kind: RatioKind;
  /** speedup: reference / method (> 1 = method faster); vs-floor: method / floor */
  value: Ratio;
  /** either side extrapolated */
  extrapolated: boolean;
}

type Verified = Extract<Measurement, { state: 'verified' }>;

export function verifiedIndex(results: ResultsFile): Map<string, Verified> {
  const idx = new Map<string, Verified>();
  for (const m of results.measurements) {
    if (m.state === 'verified') idx.set(key(m.scenario, m.method, m.n), m);
  }
  return idx;
}

export function key(scenario: string, method: string, n: number): string {
  return `${scenario}\0${method}\0${n}`;
}

export function isBpfMethod(m: { family: string; method: string }): boolean {
  return m.family === 'bpf';
}

/**
 * Every speedup (each BPF method over procfs and kcmp-tree) and every
 * method-to-floor ratio the results allow, at each (scenario, n).
 */
export function computeRatios(results: ResultsFile, opts: RatioOptions & { onlyLargestN?: boolean } = {}): RatioRow[] {
  const idx = verifiedIndex(results);
  const rows: RatioRow[] = [];
  const largest = new Map<Scenario, number>();
  for (const m of idx.values()) largest.set(m.scenario, Math.max(largest.get(m.scenario) ?? 0, m.n));
  for (const m of idx.values()) {
    if (opts.onlyLargestN && largest.get(m.scenario) !== m.n) continue;
    const pairs: { ref: string; kind: RatioKind }[] = [];
    if (isBpfMethod(m)) for (const r of SPEEDUP_REFERENCES) pairs.push({ ref: r, kind: 'speedup' });
    const fl = m.family === 'floor' ? undefined : floorOf(m.method);
    if (fl) pairs.push({ ref: fl, kind: 'vs-floor' });
    for (const { ref, kind } of pairs) {
      const r = idx.get(key(m.scenario, ref, m.n));
      if (!r) continue;
      const seed = (opts.seed ?? 0) ^ seedFrom(`${m.scenario}/${m.method}/${ref}/${m.n}`);
      const value =
        kind === 'speedup' ? ratioOfMedians(r.stats, m.stats, { ...opts, seed }) : ratioOfMedians(m.stats, r.stats, { ...opts, seed });
      rows.push({ scenario: m.scenario, n: m.n, method: m.method, reference: ref, kind, value, extrapolated: m.extrapolated || r.extrapolated });
    }
  }
  return rows;
}
