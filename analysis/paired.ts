/**
 * Paired statistics over rounds: the numbers every ratio, time and growth
 * slope the suite prints are made of.
 *
 * A run measures every (instance, method) once per round, in a fresh random
 * order. So two methods' blocks in the same round saw the same machine
 * within a second or two: their ratio in that round is free of the drift
 * between rounds (Bulej et al., "Duet Benchmarking", ICPE 2020; Abedi and
 * Brecht, ICPE 2017). A ratio is the median over rounds of the per-round
 * ratios of block medians, per instance; instances are combined by the
 * geometric mean; its 95 % CI is a two-level percentile bootstrap that
 * resamples instances, then rounds within each (Kalibera and Jones, ISMM
 * 2013: resample where the variance is). Seeded: the same data give the
 * same interval.
 */
import type { Samples } from '../bench/schema.js';
import { mulberry32, type Rng } from './prng.js';
import { quantileSorted } from './stats.js';

export const DEFAULT_ITERATIONS = 2000;

/** One per-round value per round, for one instance. */
export interface RoundSeries {
  rounds: number[];
  values: number[];
}

/** median of each round's samples (a block), by round */
export function blockMedians(s: Samples): Map<number, number> {
  const by = new Map<number, number[]>();
  for (let i = 0; i < s.ns.length; i++) {
    const r = s.round[i]!;
    let l = by.get(r);
    if (!l) by.set(r, (l = []));
    l.push(s.ns[i]!);
  }
  const out = new Map<number, number>();
  for (const [r, l] of by) out.set(r, quantileSorted(l.sort((a, b) => a - b), 0.5));
  return out;
}

/** log(num / den) of block medians, per round both were measured in */
export function pairedLogRatios(num: Samples, den: Samples): RoundSeries {
  const a = blockMedians(num);
  const b = blockMedians(den);
  const rounds: number[] = [];
  const values: number[] = [];
  for (const [r, x] of [...a].sort((p, q) => p[0] - q[0])) {
    const y = b.get(r);
    if (y === undefined || !(x > 0) || !(y > 0)) continue;
    rounds.push(r);
    values.push(Math.log(x / y));
  }
  return { rounds, values };
}

/** log of the block medians, per round */
export function logBlockSeries(s: Samples): RoundSeries {
  const m = [...blockMedians(s)].sort((p, q) => p[0] - q[0]).filter(([, v]) => v > 0);
  return { rounds: m.map(([r]) => r), values: m.map(([, v]) => Math.log(v)) };
}

function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

/** the estimator: mean over instances of the median over rounds */
function estimate(groups: readonly (readonly number[])[]): number {
  let s = 0;
  for (const g of groups) s += median(g);
  return s / groups.length;
}

export interface Interval {
  /** point estimate */
  value: number;
  ciLow: number;
  ciHigh: number;
}

/**
 * Two-level percentile bootstrap of `estimate` (mean over groups of the
 * median within each) on log-scale values; returns the interval on the log
 * scale. Groups with no values are ignored; no group at all gives NaN.
 */
export function bootstrapGroups(
  groups: readonly (readonly number[])[],
  opts: { iterations?: number; seed?: number; confidence?: number } = {},
): Interval {
  const gs = groups.filter((g) => g.length > 0);
  if (gs.length === 0) return { value: NaN, ciLow: NaN, ciHigh: NaN };
  const value = estimate(gs);
  const total = gs.reduce((a, g) => a + g.length, 0);
  if (total < 2) return { value, ciLow: value, ciHigh: value };
  const iters = opts.iterations ?? DEFAULT_ITERATIONS;
  const conf = opts.confidence ?? 0.95;
  const rng = mulberry32(opts.seed ?? 0x5eed);
  const est = new Float64Array(iters);
  // the estimate of each resample, computed in one scratch array (the same
  // draws, in the same order, and the same median as estimate(); a run's
  // analysis makes some hundred of these intervals, after every scenario)
  const buf = new Float64Array(Math.max(...gs.map((g) => g.length)));
  const pick: (readonly number[])[] = new Array(gs.length);
  for (let i = 0; i < iters; i++) {
    // instances with replacement (only when there are several), then rounds
    for (let j = 0; j < gs.length; j++) pick[j] = gs.length > 1 ? gs[Math.floor(rng() * gs.length)]! : gs[j]!;
    let sum = 0;
    for (const g of pick) {
      for (let k = 0; k < g.length; k++) buf[k] = g[Math.floor(rng() * g.length)]!;
      sum += quantileSorted(buf.subarray(0, g.length).sort(), 0.5);
    }
    est[i] = sum / gs.length;
  }
  est.sort();
  const lo = est[Math.floor(((1 - conf) / 2) * (iters - 1))]!;
  const hi = est[Math.ceil((1 - (1 - conf) / 2) * (iters - 1))]!;
  return { value, ciLow: Math.min(lo, value), ciHigh: Math.max(hi, value) };
}

export interface PairedRatio {
  /** geometric mean over instances of the median over rounds of num/den */
  ratio: number;
  ciLow: number;
  ciHigh: number;
  /** rounds that had both, summed over instances */
  rounds: number;
  instances: number;
  /** the ratio on each instance (median over its rounds) */
  perInstance: number[];
}

/**
 * num / den, paired by round, on each instance given (one pair of sample
 * sets per instance), combined over instances.
 */
export function pairedRatio(
  pairs: readonly { num: Samples; den: Samples }[],
  opts: { iterations?: number; seed?: number } = {},
): PairedRatio {
  const series = pairs.map((p) => pairedLogRatios(p.num, p.den).values).filter((v) => v.length > 0);
  const iv = bootstrapGroups(series, opts);
  return {
    ratio: Math.exp(iv.value),
    ciLow: Math.exp(iv.ciLow),
    ciHigh: Math.exp(iv.ciHigh),
    rounds: series.reduce((a, s) => a + s.length, 0),
    instances: series.length,
    perInstance: series.map((s) => Math.exp(median(s))),
  };
}

/**
 * (sum of nums) / (den - minus), paired by round, on each instance given: a
 * part of a method's work timed apart (den's time less that of `minus`, a
 * subset of den's work) against the methods that do that part (nums, their
 * times added). Per round: the block medians of that round; a round where
 * den's block is no slower than minus's has no such part to compare and is
 * left out (`dropped` counts them). Combined over instances and bootstrapped
 * like pairedRatio.
 */
export function pairedNetRatio(
  sets: readonly { nums: readonly Samples[]; den: Samples; minus?: Samples }[],
  opts: { iterations?: number; seed?: number } = {},
): PairedRatio & { dropped: number } {
  let dropped = 0;
  const series: number[][] = [];
  for (const set of sets) {
    const nums = set.nums.map(blockMedians);
    const den = blockMedians(set.den);
    const minus = set.minus ? blockMedians(set.minus) : undefined;
    const values: number[] = [];
    for (const [r, d] of [...den].sort((a, b) => a[0] - b[0])) {
      const m = minus ? minus.get(r) : 0;
      const parts = nums.map((x) => x.get(r));
      if (m === undefined || parts.some((x) => x === undefined || !(x > 0))) continue;
      const net = d - m;
      if (!(net > 0)) {
        dropped++;
        continue;
      }
      values.push(Math.log(parts.reduce((a: number, b) => a + b!, 0) / net));
    }
    if (values.length) series.push(values);
  }
  const iv = bootstrapGroups(series, opts);
  return {
    ratio: Math.exp(iv.value),
    ciLow: Math.exp(iv.ciLow),
    ciHigh: Math.exp(iv.ciHigh),
    rounds: series.reduce((a, s) => a + s.length, 0),
    instances: series.length,
    perInstance: series.map((s) => Math.exp(median(s))),
    dropped,
  };
}

/** A method's time: geometric mean over instances of the median block median, with its CI. */
export function pooledTime(sets: readonly Samples[], opts: { iterations?: number; seed?: number } = {}): Interval & { perInstance: number[] } {
  const series = sets.map((s) => logBlockSeries(s).values).filter((v) => v.length > 0);
  const iv = bootstrapGroups(series, opts);
  return {
    value: Math.exp(iv.value),
    ciLow: Math.exp(iv.ciLow),
    ciHigh: Math.exp(iv.ciHigh),
    perInstance: series.map((s) => Math.exp(median(s))),
  };
}

/**
 * Growth slope per round: least squares of log(block median) on log(n) over
 * the sizes measured in that round (replicas of one size averaged on the log
 * scale). Every size of a round was measured within seconds, so drift over
 * the run cannot bend the slope. Returns one slope per round that had at
 * least `minSizes` sizes.
 */
export function roundSlopes(points: readonly { n: number; samples: Samples }[], minSizes = 3): RoundSeries {
  const byRound = new Map<number, Map<number, number[]>>();
  for (const p of points) {
    for (const [r, v] of blockMedians(p.samples)) {
      if (!(v > 0)) continue;
      let sizes = byRound.get(r);
      if (!sizes) byRound.set(r, (sizes = new Map()));
      const l = sizes.get(p.n) ?? [];
      l.push(Math.log(v));
      sizes.set(p.n, l);
    }
  }
  const rounds: number[] = [];
  const values: number[] = [];
  for (const [r, sizes] of [...byRound].sort((a, b) => a[0] - b[0])) {
    if (sizes.size < minSizes) continue;
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [n, l] of sizes) {
      xs.push(Math.log(n));
      ys.push(l.reduce((a, b) => a + b, 0) / l.length);
    }
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < xs.length; i++) {
      sxx += (xs[i]! - mx) ** 2;
      sxy += (xs[i]! - mx) * (ys[i]! - my);
    }
    if (sxx === 0) continue;
    rounds.push(r);
    values.push(sxy / sxx);
  }
  return { rounds, values };
}

/** median of the per-round slopes with a bootstrap CI over rounds */
export function slopeInterval(series: RoundSeries, opts: { iterations?: number; seed?: number } = {}): Interval & { rounds: number } {
  const iv = bootstrapGroups([series.values], opts);
  return { ...iv, rounds: series.values.length };
}

/** ranks (average ranks for ties), 1-based */
function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]![1]] = r;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation of x and y (0 when undefined: fewer than 3 points or no spread) */
export function spearman(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  if (n < 3) return 0;
  const rx = ranks(x.slice(0, n));
  const ry = ranks(y.slice(0, n));
  const mx = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - mx);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - mx) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/**
 * Within-block trend: the rank correlation of a sample's position in its
 * block with its time, over all blocks of at least 3 samples (each block's
 * times ranked within the block, so slow and fast rounds do not mix).
 */
export function withinBlockTrend(s: Samples): { rho: number; blocks: number } {
  const byRound = new Map<number, number[]>();
  for (let i = 0; i < s.ns.length; i++) {
    const l = byRound.get(s.round[i]!) ?? [];
    l.push(s.ns[i]!);
    byRound.set(s.round[i]!, l);
  }
  const pos: number[] = [];
  const rank: number[] = [];
  let blocks = 0;
  for (const l of byRound.values()) {
    if (l.length < 3) continue;
    blocks++;
    const r = ranks(l);
    l.forEach((_, i) => {
      pos.push(i / (l.length - 1));
      rank.push((r[i]! - 1) / (l.length - 1));
    });
  }
  return { rho: blocks ? spearman(pos, rank) : 0, blocks };
}

/** Drift over rounds: the rank correlation of the round index with the block median. */
export function roundDrift(s: Samples): { rho: number; rounds: number } {
  const b = [...blockMedians(s)].sort((p, q) => p[0] - q[0]);
  return { rho: spearman(b.map(([r]) => r), b.map(([, v]) => v)), rounds: b.length };
}
