/**
 * Samples into Statistics (bench/types.ts).
 *
 * - quantiles by linear interpolation between order statistics (R type 7,
 *   numpy's default), so p25/median/p75 match a hand computation;
 * - MAD = median(|x - median|), unscaled; outliers are samples farther than
 *   3 scaled MADs (1.4826 x MAD, the normal-consistent scale) from the median
 *   (hyperfine src/outlier_detection.rs uses the same modified z-score idea);
 * - the 95 % CI of the median from order statistics: the distribution-free
 *   binomial interval [x(l), x(u)] with P(l <= rank of the true median < u)
 *   >= 95 %. No randomness, so it is deterministic by construction.
 */
import type { Statistics } from '../bench/schema.js';

/** normal-consistent scale of the MAD */
export const MAD_SCALE = 1.4826;
/** samples beyond this many scaled MADs from the median are outliers */
export const OUTLIER_MADS = 3;
/** samplesNs kept in Statistics, at most */
export const MAX_KEPT_SAMPLES = 500;

export interface StatisticsOptions {
  /** confidence level of the median's interval (default 0.95) */
  confidence?: number;
  /** how many raw samples to keep in samplesNs (default 500; 0 = none) */
  keepSamples?: number;
}

/** quantile q in [0, 1] of an ascending array, linear interpolation (type 7) */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0]!;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

/** log of the binomial pmf, n trials, p = 1/2 */
function logBinomHalf(n: number, k: number, lgam: (x: number) => number): number {
  return lgam(n + 1) - lgam(k + 1) - lgam(n - k + 1) - n * Math.LN2;
}

/** ln(Gamma(x)) for x > 0 (Lanczos, |error| < 1e-13 here) */
export function lnGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * 0-based indices [lo, hi] of the order statistics bounding the median's
 * distribution-free confidence interval. For n < 6 no pair reaches 95 %;
 * the interval is then [min, max] (its coverage is 1 - 2^(1-n)).
 */
export function medianCiIndices(n: number, confidence = 0.95): [number, number] {
  if (n <= 0) return [0, 0];
  const alpha = (1 - confidence) / 2;
  // largest k such that P(X <= k - 1) <= alpha, X ~ Bin(n, 1/2): interval [x(k), x(n-k+1)] 1-based
  let cdf = 0;
  let k = 0;
  for (let j = 0; j <= n; j++) {
    const p = Math.exp(logBinomHalf(n, j, lnGamma));
    if (cdf + p > alpha) break;
    cdf += p;
    k = j + 1;
  }
  // k = number of order statistics excluded at each end
  const lo = Math.max(0, k - 1);
  const hi = Math.min(n - 1, n - k);
  if (k === 0) return [0, n - 1];
  return [lo, hi];
}

/** evenly strided subsample of at most max values, in the original order */
export function downsample(values: readonly number[], max: number): number[] {
  if (max <= 0) return [];
  if (values.length <= max) return [...values];
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(values[Math.floor((i * values.length) / max)]!);
  return out;
}

export function computeStatistics(samplesNs: readonly number[], opts: StatisticsOptions = {}): Statistics {
  const n = samplesNs.length;
  if (n === 0) throw new RangeError('computeStatistics: no samples');
  for (const s of samplesNs) {
    if (!Number.isFinite(s)) throw new RangeError(`computeStatistics: sample ${s} is not finite`);
  }
  const sorted = [...samplesNs].sort((a, b) => a - b);
  const med = quantileSorted(sorted, 0.5);
  let sum = 0;
  for (const s of sorted) sum += s;
  const mean = sum / n;
  let ss = 0;
  for (const s of sorted) ss += (s - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const dev = sorted.map((s) => Math.abs(s - med)).sort((a, b) => a - b);
  const mad = quantileSorted(dev, 0.5);
  const limit = OUTLIER_MADS * MAD_SCALE * mad;
  // with MAD 0 (over half the samples identical) any differing sample is an outlier
  const outliers = sorted.filter((s) => Math.abs(s - med) > limit).length;
  const [lo, hi] = medianCiIndices(n, opts.confidence ?? 0.95);
  const keep = opts.keepSamples ?? MAX_KEPT_SAMPLES;
  const stats: Statistics = {
    medianNs: med,
    p25Ns: quantileSorted(sorted, 0.25),
    p75Ns: quantileSorted(sorted, 0.75),
    meanNs: mean,
    minNs: sorted[0]!,
    maxNs: sorted[n - 1]!,
    sdNs: sd,
    madNs: mad,
    samples: n,
    outliers,
    ciLowNs: Math.min(sorted[lo]!, med),
    ciHighNs: Math.max(sorted[hi]!, med),
  };
  if (keep > 0) stats.samplesNs = downsample(samplesNs, keep);
  return stats;
}

/** coefficient of variation (sd / mean) */
export function cv(stats: Statistics): number {
  return stats.meanNs > 0 ? stats.sdNs / stats.meanNs : 0;
}

/** robust coefficient of variation (scaled MAD / median) */
export function robustCv(stats: Statistics): number {
  return stats.medianNs > 0 ? (MAD_SCALE * stats.madNs) / stats.medianNs : 0;
}

/** median of the resampled values, from an ascending array and a resample's counts */
export function bootstrapMedianSorted(sorted: readonly number[], rng: () => number, counts: Uint32Array): number {
  const n = sorted.length;
  counts.fill(0, 0, n);
  for (let i = 0; i < n; i++) counts[Math.floor(rng() * n)]! += 1;
  // ranks (0-based) of the middle element(s) in the resample
  const r1 = (n - 1) >> 1;
  const r2 = n >> 1;
  let seen = 0;
  let v1 = NaN;
  for (let i = 0; i < n; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    if (Number.isNaN(v1) && seen + c > r1) v1 = sorted[i]!;
    if (seen + c > r2) return (v1 + sorted[i]!) / 2;
    seen += c;
  }
  return v1;
}
