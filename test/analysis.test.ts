import { describe, expect, it } from 'vitest';
import { computeStatistics, medianCiIndices, quantileSorted, downsample, MAX_KEPT_SAMPLES } from '../analysis/stats.js';
import { fitGrowth, fitAll } from '../analysis/fit.js';
import { ratioOfMedians, computeRatios, floorOf } from '../analysis/speedup.js';
import { computeWarnings, warningText, measureClockResolutionNs } from '../analysis/warnings.js';
import { mulberry32 } from '../analysis/prng.js';
import { ratioSpread } from '../analysis/repro.js';
import { buildResults, sampleNs, work } from './support/results-fixture.js';

/** seeded log-normal draws with a given median */
function lognormal(rng: () => number, medianNs: number, sigma: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const u1 = Math.max(rng(), 1e-12);
    const u2 = rng();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    out.push(medianNs * Math.exp(sigma * z));
  }
  return out;
}

describe('statistics', () => {
  it('median, quartiles, mean, sd and MAD match a hand computation', () => {
    const s = computeStatistics([9, 1, 8, 2, 7, 3, 6, 4, 5]);
    expect(s.medianNs).toBe(5);
    expect(s.p25Ns).toBe(3);
    expect(s.p75Ns).toBe(7);
    expect(s.meanNs).toBe(5);
    expect(s.minNs).toBe(1);
    expect(s.maxNs).toBe(9);
    // |x - 5| sorted: 0 1 1 2 2 3 3 4 4 -> median 2
    expect(s.madNs).toBe(2);
    expect(s.sdNs).toBeCloseTo(Math.sqrt(60 / 8), 12);
    expect(s.samples).toBe(9);
    expect(s.outliers).toBe(0);
  });

  it('quartiles of an even count interpolate between order statistics', () => {
    const s = computeStatistics([4, 1, 3, 2]);
    expect(s.medianNs).toBe(2.5);
    expect(s.p25Ns).toBe(1.75);
    expect(s.p75Ns).toBe(3.25);
    expect(quantileSorted([10], 0.9)).toBe(10);
  });

  it('counts samples beyond 3 scaled MADs from the median as outliers', () => {
    // median 11, MAD 1 -> limit 3 x 1.4826 = 4.45: 16 and 100 are outliers, 15 is not
    const s = computeStatistics([10, 11, 12, 10, 11, 12, 10, 11, 12, 11, 15, 16, 100]);
    expect(s.medianNs).toBe(11);
    expect(s.madNs).toBe(1);
    expect(s.outliers).toBe(2);
  });

  it('the median CI uses the binomial order statistics (x(40), x(61) for 100 samples)', () => {
    expect(medianCiIndices(100)).toEqual([39, 60]);
    const s = computeStatistics(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(s.ciLowNs).toBe(40);
    expect(s.ciHighNs).toBe(61);
    // too few samples for 95 %: the whole range
    expect(medianCiIndices(5)).toEqual([0, 4]);
  });

  it('the median CI covers the true median about 95 % of the time', () => {
    const rng = mulberry32(42);
    let covered = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const s = computeStatistics(lognormal(rng, 1000, 0.5, 60), { keepSamples: 0 });
      if (s.ciLowNs <= 1000 && 1000 <= s.ciHighNs) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.92);
    expect(covered / trials).toBeLessThan(0.995);
  });

  it('keeps at most 500 raw samples, spread over the run', () => {
    const raw = Array.from({ length: 1234 }, (_, i) => i);
    const s = computeStatistics(raw);
    expect(s.samplesNs!.length).toBe(MAX_KEPT_SAMPLES);
    expect(s.samplesNs![0]).toBe(0);
    expect(s.samplesNs![499]).toBeGreaterThan(1200);
    expect(downsample([1, 2, 3], 10)).toEqual([1, 2, 3]);
    expect(computeStatistics([1, 2, 3], { keepSamples: 0 }).samplesNs).toBeUndefined();
  });

  it('statistics of real stat() timings are ordered and bracket the median', () => {
    const s = computeStatistics(sampleNs(() => work(200), 60));
    expect(s.minNs).toBeLessThanOrEqual(s.p25Ns);
    expect(s.p25Ns).toBeLessThanOrEqual(s.medianNs);
    expect(s.medianNs).toBeLessThanOrEqual(s.p75Ns);
    expect(s.p75Ns).toBeLessThanOrEqual(s.maxNs);
    expect(s.ciLowNs).toBeLessThanOrEqual(s.medianNs);
    expect(s.ciHighNs).toBeGreaterThanOrEqual(s.medianNs);
    expect(s.medianNs).toBeGreaterThan(0);
  });

  it('rejects empty and non-finite samples', () => {
    expect(() => computeStatistics([])).toThrow(/no samples/);
    expect(() => computeStatistics([1, NaN])).toThrow(/not finite/);
  });
});

describe('growth fit', () => {
  it('gives slope 1 and O(n) for real linear work, slope 2 and O(n^2) for real quadratic work', () => {
    const sizes = [200, 400, 800, 1600];
    // CPU time (getrusage, us): on a loaded 2-CPU machine a long loop is
    // preempted more often than a short one, and wall time would bend the slope.
    // Sizes interleaved round by round, so a change of load hits every size alike.
    const cpuNs = (fn: () => void) => {
      const a = process.cpuUsage();
      fn();
      const d = process.cpuUsage(a);
      return (d.user + d.system) * 1000;
    };
    const sweep = (calls: (n: number) => number, rounds: number) => {
      const samples = sizes.map(() => [] as number[]);
      for (let r = 0; r < rounds; r++) sizes.forEach((n, i) => samples[i]!.push(cpuNs(() => work(calls(n)))));
      return sizes.map((n, i) => ({ n, medianNs: computeStatistics(samples[i]!).medianNs }));
    };
    work(2000);
    const linear = sweep((n) => n, 21);
    const quadratic = sweep((n) => (n * n) / 400, 11);
    const fl = fitGrowth(linear);
    const fq = fitGrowth(quadratic);
    expect(fl.ok && fq.ok).toBe(true);
    if (!fl.ok || !fq.ok) return;
    expect(fl.slope).toBeGreaterThan(0.8);
    expect(fl.slope).toBeLessThan(1.2);
    // over an 8x range n and n log n differ by an exponent of ~0.14: either label is honest
    expect(['O(n)', 'O(n log n)']).toContain(fl.label);
    expect(fq.slope).toBeGreaterThan(1.75);
    expect(fq.slope).toBeLessThan(2.25);
    expect(fq.label).toBe('O(n^2)');
    expect(fq.slope - fl.slope).toBeGreaterThan(0.7);
    expect(fl.r2).toBeGreaterThan(0.95);
  });

  it('reports the exact exponent, r² 1 and no label for n^1.5', () => {
    const f = fitGrowth([100, 1000, 10000].map((n) => ({ n, medianNs: 5 * n ** 1.5 })));
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    expect(f.slope).toBeCloseTo(1.5, 10);
    expect(f.r2).toBeCloseTo(1, 10);
    expect(f.slopeSe).toBeCloseTo(0, 8);
    expect(f.label).toBeUndefined();
    expect(f.labelWhy).toMatch(/not within/);
  });

  it('labels n log n only when it fits better than n and n^2', () => {
    const sizes = [100, 300, 1000, 3000, 10000];
    const f = fitGrowth(sizes.map((n) => ({ n, medianNs: 40 * n * Math.log(n) })));
    expect(f.ok && f.label).toBe('O(n log n)');
    const g = fitGrowth(sizes.map((n) => ({ n, medianNs: 40 * n })));
    expect(g.ok && g.label).toBe('O(n)');
  });

  it('needs three sizes and says so', () => {
    const f = fitGrowth([{ n: 10, medianNs: 1 }, { n: 20, medianNs: 2 }, { n: 20, medianNs: 2.1 }]);
    expect(f.ok).toBe(false);
    if (f.ok) return;
    expect(f.reason).toMatch(/2 size\(s\) measured, a fit needs 3/);
  });

  it('fits every (scenario, method) of a real results file and counts extrapolated points', () => {
    const r = buildResults({ scenarios: ['files'], sizes: [64, 128, 256, 512], samples: 9 });
    const fits = fitAll(r);
    expect(fits.length).toBe(r.config.methods.length);
    const pw = fits.find((f) => f.method === 'kcmp-pairwise')!.fit;
    const pf = fits.find((f) => f.method === 'procfs')!.fit;
    expect(pw.ok && pf.ok).toBe(true);
    if (!pw.ok || !pf.ok) return;
    expect(pw.extrapolatedPoints).toBe(1);
    expect(pw.slope).toBeGreaterThan(pf.slope + 0.5);
  });
});

describe('speedup', () => {
  it('the bootstrap CI of a ratio of medians contains the true ratio', () => {
    const rng = mulberry32(7);
    const ref = computeStatistics(lognormal(rng, 3000, 0.2, 200));
    const fast = computeStatistics(lognormal(rng, 1000, 0.2, 200));
    const r = ratioOfMedians(ref, fast);
    expect(r.ci).toBe('bootstrap');
    expect(r.ciLow).toBeLessThan(3);
    expect(r.ciHigh).toBeGreaterThan(3);
    expect(r.ciLow).toBeLessThanOrEqual(r.ratio);
    expect(r.ciHigh).toBeGreaterThanOrEqual(r.ratio);
    // not a vacuous interval
    expect(r.ciHigh / r.ciLow).toBeLessThan(1.3);
  });

  it('covers the true ratio in most repetitions and is deterministic', () => {
    const rng = mulberry32(99);
    let covered = 0;
    for (let t = 0; t < 40; t++) {
      const a = computeStatistics(lognormal(rng, 5000, 0.3, 80));
      const b = computeStatistics(lognormal(rng, 1000, 0.3, 80));
      const r = ratioOfMedians(a, b, { iterations: 500 });
      if (r.ciLow <= 5 && 5 <= r.ciHigh) covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(34);
    const a = computeStatistics(lognormal(mulberry32(1), 2000, 0.3, 50));
    const b = computeStatistics(lognormal(mulberry32(2), 1000, 0.3, 50));
    expect(ratioOfMedians(a, b)).toEqual(ratioOfMedians(a, b));
  });

  it('falls back to the medians\' own CIs without raw samples', () => {
    const a = computeStatistics(Array.from({ length: 100 }, (_, i) => 2000 + i), { keepSamples: 0 });
    const b = computeStatistics(Array.from({ length: 100 }, (_, i) => 1000 + i), { keepSamples: 0 });
    const r = ratioOfMedians(a, b);
    expect(r.ci).toBe('median-ci');
    expect(r.ciLow).toBeLessThan(r.ratio);
    expect(r.ciHigh).toBeGreaterThan(r.ratio);
  });

  it('speedups over procfs and kcmp-tree and floor ratios come out of real results', () => {
    const r = buildResults({ scenarios: ['files'], sizes: [128, 512], samples: 15 });
    const rows = computeRatios(r, { onlyLargestN: true, iterations: 300 });
    const sp = rows.find((x) => x.method === 'bpf-task-file' && x.reference === 'procfs')!;
    // bpf-task-file does n/8 + 4 stat() calls, procfs n: about 7x at n = 512
    expect(sp.kind).toBe('speedup');
    expect(sp.value.ratio).toBeGreaterThan(3);
    expect(sp.value.ratio).toBeLessThan(16);
    expect(rows.some((x) => x.method === 'bpf-task-file' && x.reference === 'kcmp-tree')).toBe(true);
    const fl = rows.find((x) => x.method === 'bpf-all' && x.kind === 'vs-floor')!;
    expect(fl.reference).toBe('floor-walk');
    expect(fl.value.ratio).toBeGreaterThan(1);
    expect(rows.every((x) => x.n === 512)).toBe(true);
    expect(floorOf('procfs')).toBe('floor-procfs');
    expect(floorOf('bpf-task-file')).toBe('floor-empty-iter');
    expect(floorOf('kcmp-tree')).toBeUndefined();
  });
});

describe('warnings', () => {
  it('flags noisy, outliers, timer-coarse, few-samples and overhead-high from the numbers', () => {
    const rng = mulberry32(3);
    const noisy = computeStatistics(lognormal(rng, 10000, 0.5, 100));
    expect(computeWarnings(noisy)).toContain('noisy');
    const quiet = computeStatistics(lognormal(rng, 10000, 0.01, 100));
    expect(computeWarnings(quiet, { requestedSamples: 100, overheadNs: 10 })).toEqual([]);
    const spiky = computeStatistics([...Array(80).fill(1000), ...Array(20).fill(5000)].map((x, i) => x + (i % 7)));
    expect(computeWarnings(spiky)).toContain('outliers');
    expect(computeWarnings(quiet, { clockResolutionNs: 1000 })).toContain('timer-coarse');
    expect(computeWarnings(quiet, { requestedSamples: 500 })).toContain('few-samples');
    expect(computeWarnings(quiet, { overheadNs: 500 })).toContain('overhead-high');
    expect(computeWarnings(quiet, { extrapolated: true })).toContain('extrapolated');
  });

  it('the printed sentence carries the figure and a hint', () => {
    const rng = mulberry32(4);
    const noisy = computeStatistics(lognormal(rng, 10000, 0.5, 100));
    const t = warningText('noisy', noisy);
    expect(t).toMatch(/^noisy: robust CV \d+(\.\d)? %/);
    expect(t).toMatch(/raise --budget/);
    const flat = computeStatistics(Array(100).fill(10000));
    expect(warningText('overhead-high', flat, { overheadNs: 500 })).toMatch(/5\.0 % of the median/);
    expect(warningText('extrapolated')).toMatch(/estimate/);
  });

  it('measures a positive clock resolution', () => {
    const r = measureClockResolutionNs(200);
    expect(r).toBeGreaterThan(0);
    expect(r).toBeLessThan(1e6);
  });
});

describe('reproducibility', () => {
  it('gives the coefficient of variation of each speedup over several runs', () => {
    const runs = [1, 2, 3].map(() => buildResults({ scenarios: ['files'], sizes: [128, 512], samples: 9 }));
    const spread = ratioSpread(runs, { kind: 'speedup' });
    const s = spread.find((x) => x.method === 'bpf-task-file' && x.reference === 'procfs')!;
    expect(s.values.length).toBe(3);
    expect(s.n).toBe(512);
    const mean = s.values.reduce((a, b) => a + b, 0) / 3;
    expect(s.mean).toBeCloseTo(mean, 10);
    const sd = Math.sqrt(s.values.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    expect(s.cv).toBeCloseTo(sd / mean, 10);
    expect(spread.every((x) => x.kind === 'speedup')).toBe(true);
  });
});
