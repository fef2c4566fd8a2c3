/**
 * Growth of a method's cost with the size of the workload.
 *
 * Least squares of log(medianNs) on log(n) over the sweep: the slope is the
 * exponent (1 = linear, 2 = quadratic), reported with its standard error and
 * r². A label follows the number, never replaces it: it is given only when the
 * slope is within LABEL_TOLERANCE of the model's exponent and that model
 * explains the points best among n, n log n and n² (one free constant each).
 */

export interface SweepPoint {
  n: number;
  medianNs: number;
  extrapolated?: boolean;
}

export type GrowthLabel = 'O(1)' | 'O(n)' | 'O(n log n)' | 'O(n^2)';

export interface GrowthFit {
  ok: true;
  /** exponent: d log(time) / d log(n) */
  slope: number;
  /** standard error of the slope (0 when the points lie on a line exactly) */
  slopeSe: number;
  /** ln(time in ns) at n = 1 */
  intercept: number;
  /** coefficient of determination of the log-log fit */
  r2: number;
  /** distinct sizes used */
  sizes: number[];
  /** points whose time was extrapolated */
  extrapolatedPoints: number;
  /** closest simple model, or undefined when none fits (then say `n^<slope>`) */
  label?: GrowthLabel;
  /** one line: why that label, or why none */
  labelWhy: string;
}

export interface NoFit {
  ok: false;
  reason: string;
  sizes: number[];
}

export const MIN_SIZES = 3;
/** slope within this of a model's exponent to earn its label */
export const LABEL_TOLERANCE = 0.25;

/** two-sided 97.5 % quantile of Student's t for df = 1..30, then normal */
export function tQuantile975(df: number): number {
  const t = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16,
    2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052,
    2.048, 2.045, 2.042,
  ];
  if (df < 1) return Infinity;
  return df <= 30 ? t[df - 1]! : 1.96;
}

/** residual sum of squares of log(t) = c + log(g(n)), c free */
function rssFixed(xs: number[], ys: number[], g: (n: number) => number): number {
  const r = xs.map((n, i) => ys[i]! - Math.log(g(n)));
  const c = r.reduce((a, b) => a + b, 0) / r.length;
  return r.reduce((a, b) => a + (b - c) ** 2, 0);
}

export function fitGrowth(points: readonly SweepPoint[]): GrowthFit | NoFit {
  // one point per size: if a size repeats, keep the median of its medians
  const bySize = new Map<number, SweepPoint[]>();
  for (const p of points) {
    if (!(p.n > 0) || !(p.medianNs > 0)) continue;
    const list = bySize.get(p.n) ?? [];
    list.push(p);
    bySize.set(p.n, list);
  }
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  if (sizes.length < MIN_SIZES) {
    return { ok: false, reason: `${sizes.length} size(s) measured, a fit needs ${MIN_SIZES}`, sizes };
  }
  const xsN = sizes;
  const ysT = sizes.map((n) => {
    const meds = bySize.get(n)!.map((p) => p.medianNs).sort((a, b) => a - b);
    return meds[(meds.length - 1) >> 1]!;
  });
  const extrapolatedPoints = sizes.filter((n) => bySize.get(n)!.some((p) => p.extrapolated)).length;
  const x = xsN.map(Math.log);
  const y = ysT.map(Math.log);
  const k = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / k;
  const my = y.reduce((a, b) => a + b, 0) / k;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < k; i++) {
    sxx += (x[i]! - mx) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
    syy += (y[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let rss = 0;
  for (let i = 0; i < k; i++) rss += (y[i]! - intercept - slope * x[i]!) ** 2;
  const r2 = syy > 0 ? 1 - rss / syy : 1;
  const slopeSe = k > 2 ? Math.sqrt(rss / (k - 2) / sxx) : 0;

  const models: { label: GrowthLabel; exponent: number; g: (n: number) => number }[] = [
    { label: 'O(1)', exponent: 0, g: () => 1 },
    { label: 'O(n)', exponent: 1, g: (n) => n },
    // effective exponent of n log n over the sweep: 1 + 1/mean(ln n)
    { label: 'O(n log n)', exponent: 1 + 1 / mx, g: (n) => n * Math.log(n) },
    { label: 'O(n^2)', exponent: 2, g: (n) => n * n },
  ];
  const scored = models
    .map((m) => ({ ...m, rss: rssFixed(xsN, y, m.g) }))
    .sort((a, b) => a.rss - b.rss);
  const best = scored[0]!;
  let label: GrowthLabel | undefined;
  let labelWhy: string;
  if (Math.abs(slope - best.exponent) <= LABEL_TOLERANCE) {
    label = best.label;
    labelWhy = `slope ${slope.toFixed(2)} is closest to ${best.label} (exponent ${best.exponent.toFixed(2)}), which fits best`;
  } else {
    labelWhy = `slope ${slope.toFixed(2)} is not within ${LABEL_TOLERANCE} of O(1), O(n), O(n log n) or O(n^2)`;
  }
  const fit: GrowthFit = { ok: true, slope, slopeSe, intercept, r2, sizes, extrapolatedPoints, labelWhy };
  if (label) fit.label = label;
  return fit;
}

/** "1.02 ± 0.03 (O(n))" or "1.47 ± 0.20" */
export function formatFit(fit: GrowthFit | NoFit, withLabel = true): string {
  if (!fit.ok) return 'n/a';
  const num = `${fit.slope.toFixed(2)}`;
  return withLabel && fit.label ? `${num} ${fit.label}` : num;
}
