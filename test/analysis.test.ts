import { describe, expect, it } from 'vitest';
import { computeStatistics, medianCiIndices, quantileSorted, downsample, MAX_KEPT_SAMPLES } from '../analysis/stats.js';
import { fitGrowth } from '../analysis/fit.js';
import { computeWarnings, offCpuCollects, warningText, measureClockResolutionNs } from '../analysis/warnings.js';
import { RtBudget, readRtLimits } from '../bench/rtbudget.js';
import { offCpuTotals } from '../analysis/report/summary.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../analysis/prng.js';
import { chi2q95, ratioSpread, meanMoves } from '../analysis/repro.js';
import { analyze, pairsFor, ratioSeed } from '../analysis/analyze.js';
import { checkTargets, formatTargets } from '../analysis/targets.js';
import { formatSummary } from '../analysis/report/summary.js';
import { bootstrapGroups, pairedNetRatio, pairedRatio, roundSlopes, spearman, withinBlockTrend } from '../analysis/paired.js';
import { roundOrder, runRounds, visits, type Cadence, type Unit } from '../bench/rounds.js';
import { cadenceOf, ExtraPool, floorGroups, RUN_DEFAULTS, targetMethods } from '../bench/run.js';
import { WidthGoal, type GoalUnit } from '../bench/goal.js';
import { CI_WIDTH_LIMIT, ciWidth, referenceScenario } from '../analysis/targets.js';
import type { Measurement, Samples } from '../bench/schema.js';
import { buildResults, FIXTURE_METHODS, gauss, type FixtureMethod } from './support/results-fixture.js';

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

  it('statistics of skewed samples are ordered and bracket the median', () => {
    const s = computeStatistics(lognormal(mulberry32(11), 50_000, 0.4, 60));
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
  it('gives slope 1 and O(n) for noisy linear data, slope 2 and O(n^2) for noisy quadratic data', () => {
    const rng = mulberry32(5);
    const sizes = [200, 400, 800, 1600];
    const noisy = (f: (n: number) => number) => sizes.map((n) => ({ n, medianNs: f(n) * Math.exp(0.03 * gauss(rng)) }));
    const fl = fitGrowth(noisy((n) => 1000 * n));
    const fq = fitGrowth(noisy((n) => 3 * n * n));
    expect(fl.ok && fq.ok).toBe(true);
    if (!fl.ok || !fq.ok) return;
    expect(fl.slope).toBeGreaterThan(0.9);
    expect(fl.slope).toBeLessThan(1.1);
    expect(['O(n)', 'O(n log n)']).toContain(fl.label);
    expect(fq.slope).toBeGreaterThan(1.9);
    expect(fq.slope).toBeLessThan(2.1);
    expect(fq.label).toBe('O(n^2)');
    expect(fl.r2).toBeGreaterThan(0.98);
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

});

/** samples of one unit: k per round, each cost x noise x factor(round) */
function unit(rng: () => number, rounds: number, k: number, cost: number, factor: (r: number) => number = () => 1, sigma = 0.03): Samples {
  const s: Samples = { ns: [], round: [], atMs: [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < k; i++) {
      s.ns.push(cost * factor(r) * Math.exp(sigma * gauss(rng)));
      s.round.push(r);
      s.atMs.push(r * 100 + i);
    }
  }
  return s;
}

describe('paired rounds', () => {
  it('the round scheduler visits every unit once per round, in an order that varies and repeats with the seed', () => {
    const keys = Array.from({ length: 12 }, (_, i) => `${i % 3}:m${i}`);
    const orders = Array.from({ length: 20 }, (_, r) => roundOrder(keys, 1, 'bench/all', r));
    for (const o of orders) expect([...o].sort()).toEqual([...keys].sort());
    expect(new Set(orders.map((o) => o.join(','))).size).toBe(20);
    // every unit goes first in some round: no fixed position
    expect(new Set(orders.map((o) => o[0])).size).toBeGreaterThan(6);
    expect(roundOrder(keys, 1, 'bench/all', 3)).toEqual(orders[3]);
    expect(roundOrder(keys, 2, 'bench/all', 3)).not.toEqual(orders[3]);
  });

  it('a method and its floor on one instance are visited back to back, in either order, the pair anywhere in the round', () => {
    const methods = ['procfs', 'floor-procfs', 'bpf-all', 'floor-walk', 'kcmp-tree', 'bpf-task-file', 'floor-empty-iter'];
    const groups = floorGroups([
      { name: 'procfs', floor: 'floor-procfs' },
      { name: 'floor-procfs' },
      { name: 'bpf-all', floor: 'floor-walk' },
      { name: 'floor-walk' },
      { name: 'kcmp-tree' },
      { name: 'bpf-task-file', floor: 'floor-empty-iter' },
      { name: 'floor-empty-iter' },
      { name: 'bpf-epoll', floor: 'floor-walk-epoll' }, // its floor is not in the run: no group
    ]);
    expect(groups.get('procfs')).toBe('floor-procfs');
    expect(groups.get('floor-walk')).toBe('floor-walk');
    expect(groups.has('kcmp-tree')).toBe(false);
    expect(groups.has('bpf-epoll')).toBe(false);
    const keys = [0, 1].flatMap((inst) => methods.map((m) => `${inst}:${m}`));
    const groupOf = (k: string) => {
      const [inst, m] = k.split(':') as [string, string];
      const g = groups.get(m);
      return g === undefined ? undefined : `${inst}:${g}`;
    };
    const orders = Array.from({ length: 40 }, (_, r) => roundOrder(keys, 1, 'bench/all', r, groupOf));
    const first = new Set<string>();
    const at = new Set<number>();
    for (const o of orders) {
      expect([...o].sort()).toEqual([...keys].sort());
      for (const [m, f] of [['procfs', 'floor-procfs'], ['bpf-all', 'floor-walk'], ['bpf-task-file', 'floor-empty-iter']] as const) {
        for (const inst of [0, 1]) {
          const i = o.indexOf(`${inst}:${m}`);
          const j = o.indexOf(`${inst}:${f}`);
          expect(Math.abs(i - j)).toBe(1);
          if (m === 'procfs' && inst === 0) {
            first.add(i < j ? m : f);
            at.add(Math.min(i, j));
          }
        }
      }
    }
    expect(first).toEqual(new Set(['procfs', 'floor-procfs']));
    expect(at.size).toBeGreaterThan(6);
    expect(roundOrder(keys, 1, 'bench/all', 5, groupOf)).toEqual(orders[5]);
  });

  it('cadences: fast units at the largest size in every round, slow ones of a target ratio in the core rounds, other slow ones and slow ones below it in the even core rounds; extra rounds until the budget', async () => {
    expect(cadenceOf({ estimateNs: 3e6, inst: { n: 10000 } }, 10000)).toBe('every');
    expect(cadenceOf({ estimateNs: 3e6, inst: { n: 10000 } }, 10000, false)).toBe('every');
    expect(cadenceOf({ estimateNs: 200e6, inst: { n: 10000 } }, 10000)).toBe('core');
    expect(cadenceOf({ estimateNs: 200e6, inst: { n: 10000 } }, 10000, true)).toBe('core');
    // a slow baseline with no target ratio (kcmp-tree): the even core rounds, at the largest size too
    expect(cadenceOf({ estimateNs: 200e6, inst: { n: 10000 } }, 10000, false)).toBe('even');
    expect(cadenceOf({ estimateNs: 200e6, inst: { n: 2500 } }, 10000, true)).toBe('even');
    const targeted = targetMethods([
      { name: 'procfs', floor: 'floor-procfs', floorLimit: 1.2 },
      { name: 'kcmp-tree' },
      { name: 'bpf-iter-all', floor: 'floor-x', floorLimit: 0 },
      { name: 'bpf-iter-epoll', floor: 'floor-y', floorLimit: 2, lane: 'patched-kernel' },
      { name: 'floor-procfs' },
    ]);
    expect([...targeted].sort()).toEqual(['floor-procfs', 'procfs']);
    // the extra rounds' time of a run: an even share of what is left, in turn
    const five = ['files', 'shared', 'epoll', 'io_uring', 'all'];
    const pool = new ExtraPool(15000, five);
    expect(pool.next('files')).toBe(3000);
    pool.spent('files', 1000); // a cheap scenario leaves 2000 ms to the later ones
    expect(pool.next('shared')).toBe(3500);
    pool.spent('shared', 3500);
    pool.spent('epoll', 3500);
    pool.spent('io_uring', 3500);
    expect(pool.next('all')).toBe(3500); // the last one: all that is left
    pool.spent('all', 9000);
    expect(pool.next('all')).toBe(0);
    // the reference scenario's reserve (40 % of 15000) is kept from the ones before it
    const ref = new ExtraPool(15000, five, 'all', 0.4);
    expect(ref.next('files')).toBe(1800); // (15000 - 6000) / 5
    ref.spent('files', 500);
    expect(ref.next('shared')).toBeCloseTo(2125); // (14500 - 6000) / 4
    ref.spent('shared', 2125);
    ref.spent('epoll', 2125);
    ref.spent('io_uring', 2125);
    expect(ref.next('all')).toBeCloseTo(8125); // all that is left: its reserve and the rest
    // a reference that runs first takes its reserve and an even share, the others the rest evenly
    const first = new ExtraPool(10000, ['all', 'files'], 'all', 0.4);
    expect(first.next('all')).toBe(7000); // 4000 + 6000 / 2
    first.spent('all', 7000);
    expect(first.next('files')).toBe(3000);
    // no reference in the run: no reserve
    expect(new ExtraPool(10000, ['files', 'epoll'], 'all', 0.4).next('files')).toBe(5000);
    expect(cadenceOf({ estimateNs: 3e6, inst: { n: 2500 } }, 10000)).toBe('core');
    expect(cadenceOf({ estimateNs: 50e6, inst: { n: 2500 } }, 10000)).toBe('even');
    expect(cadenceOf({ estimateNs: 3e6, inst: { n: 10000, variant: 'criu-compatible' } }, 10000)).toBe('core');
    expect(cadenceOf({ estimateNs: 20e6, inst: { n: 10000 } }, 10000)).toBe('core');
    let now = 0;
    const seen = new Map<string, number[]>();
    const mk = (key: string, cadence: Cadence | undefined, costMs: number): Unit => ({
      key,
      block: 1,
      ...(cadence ? { cadence } : {}),
      runBlock: async (round) => {
        (seen.get(key) ?? seen.set(key, []).get(key)!).push(round);
        now += costMs;
        return { ok: true, timesNs: [costMs * 1e6] };
      },
    });
    const units = [mk('0:fast', 'every', 10), mk('0:slow', 'core', 200), mk('1:slow', 'even', 100), mk('1:fast', 'core', 5), mk('2:gate', undefined, 10)];
    const rounds = await runRounds(units, { add: () => undefined, fail: () => undefined }, {
      scenario: 'all',
      scope: 'test',
      seed: 1,
      minRounds: 6,
      maxRounds: 40,
      budgetMs: 100, // extra rounds: 20 ms each (the two `every` units)
      clock: () => now,
    });
    const core = [0, 1, 2, 3, 4, 5];
    expect(seen.get('0:slow')).toEqual(core);
    expect(seen.get('1:fast')).toEqual(core);
    expect(seen.get('1:slow')).toEqual([0, 2, 4]);
    expect(seen.get('0:fast')).toEqual(seen.get('2:gate'));
    expect(rounds.length).toBe(11); // 6 core + 5 extra of 20 ms in a 100 ms budget
    expect(seen.get('0:fast')).toEqual(Array.from({ length: 11 }, (_, i) => i));
    for (const r of rounds.slice(6)) expect([...r.order].sort()).toEqual(['0:fast', '2:gate']);
    for (const i of core) expect(visits('even', i, 6)).toBe(i % 2 === 0);
    expect(visits('even', 6, 6)).toBe(false);
    expect(visits('every', 39, 6)).toBe(true);
  });

  it('extra rounds go to the target pairs whose CI is still wider than the goal, computed as the report computes it', async () => {
    const rng = mulberry32(5);
    let now = 0;
    const seen = new Map<string, number[]>();
    // per-round state of each pair's ratio (the host's, felt by the method alone), drawn once per round
    const state = new Map<string, number>();
    type FakeUnit = Unit & GoalUnit & { s: Samples };
    const mk = (id: number, name: string, opts: { cadence: Cadence; ns: number; scatter?: (round: number) => number; pair?: string }): FakeUnit => {
      const s: Samples = { ns: [], round: [], atMs: [] };
      const u: FakeUnit = {
        key: `${id}:${name}`,
        block: 1,
        cadence: opts.cadence,
        method: { name },
        inst: { id, n: 1000, replica: id },
        estimateNs: opts.ns,
        s,
        get samples() {
          return s;
        },
        runBlock: async (round) => {
          (seen.get(u.key) ?? seen.set(u.key, []).get(u.key)!).push(round);
          now += opts.ns / 1e6;
          let f = 1;
          if (opts.scatter && opts.pair) {
            const k = `${opts.pair}/${round}`;
            if (!state.has(k)) state.set(k, opts.scatter(round));
            f = state.get(k)!;
          }
          return { ok: true, timesNs: [opts.ns * f * Math.exp(0.002 * gauss(rng))] };
        },
      };
      return u;
    };
    const units: FakeUnit[] = [];
    for (const id of [0, 1]) {
      // a narrow pair (1 % scatter), a wide one (25 %), a rider (no target), a slow baseline
      units.push(mk(id, 'bpf-task-file', { cadence: 'every', ns: 3e6, scatter: () => Math.exp(0.01 * gauss(rng)), pair: 'tf' }));
      units.push(mk(id, 'floor-empty-iter', { cadence: 'every', ns: 2e6 }));
      units.push(mk(id, 'bpf-all', { cadence: 'every', ns: 5e6, scatter: () => Math.exp(0.25 * gauss(rng)), pair: 'all' }));
      units.push(mk(id, 'floor-walk', { cadence: 'every', ns: 3e6 }));
      units.push(mk(id, 'bpf-iter-all', { cadence: 'every', ns: 2e6 }));
    }
    // a slow pair on one instance, 1 % scatter but two slow rounds of six: looked at after every round
    units.push(mk(0, 'procfs', { cadence: 'core', ns: 200e6, scatter: (r) => (r === 1 ? 1.3 : r === 4 ? 0.8 : 1) * Math.exp(0.01 * gauss(rng)), pair: 'p' }));
    units.push(mk(0, 'floor-procfs', { cadence: 'core', ns: 198e6 }));
    units.push(mk(0, 'kcmp-tree', { cadence: 'even', ns: 280e6 }));
    // a slow pair that stays wide (25 % scatter): visited in slowExtra extra rounds, no more
    units.push(mk(0, 'procfs-parallel', { cadence: 'core', ns: 100e6, scatter: () => Math.exp(0.25 * gauss(rng)), pair: 'pp' }));
    units.push(mk(0, 'floor-procfs-parallel', { cadence: 'core', ns: 99e6 }));
    const GOAL = { scenario: 'all', largest: 1000, goal: 0.08, lookEvery: 4, slowNs: 20e6, slowExtra: 8, minRounds: 6 };
    const targets = [
      { name: 'procfs-parallel', floor: 'floor-procfs-parallel', floorLimit: 1.2 },
      { name: 'bpf-task-file', floor: 'floor-empty-iter', floorLimit: 2 },
      { name: 'bpf-all', floor: 'floor-walk', floorLimit: 2 },
      { name: 'procfs', floor: 'floor-procfs', floorLimit: 1.2 },
      { name: 'bpf-iter-all' },
      { name: 'kcmp-tree' },
      { name: 'floor-walk-epoll-missing', floor: 'nowhere', floorLimit: 2 },
    ];
    const goal = new WidthGoal(units, targets, GOAL);
    expect(goal.active).toBe(true);
    const rounds = await runRounds(units, { add: (key, round, at, ns) => {
      const u = units.find((x) => x.key === key)!;
      u.s.ns.push(ns);
      u.s.round.push(round);
      u.s.atMs.push(at);
    }, fail: () => undefined }, {
      scenario: 'all',
      scope: 'test',
      seed: 1,
      minRounds: 6,
      maxRounds: 30,
      budgetMs: 1e9,
      clock: () => now,
      extraKeys: (i) => goal.keys(i),
    });
    expect(rounds.length).toBe(30); // the wide pair never closes: maxRounds ends it
    goal.finish();
    const out = goal.outcomes();
    const tf = out.find((p) => p.method === 'bpf-task-file')!;
    const all = out.find((p) => p.method === 'bpf-all')!;
    const pf = out.find((p) => p.method === 'procfs')!;
    expect(out.map((p) => p.method).sort()).toEqual(['bpf-all', 'bpf-task-file', 'procfs', 'procfs-parallel']);
    const pp = out.find((p) => p.method === 'procfs-parallel')!;
    expect(pp.closedBefore).toBeUndefined();
    expect(pp.extraRounds).toBe(8);
    expect(seen.get('0:floor-procfs-parallel')).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(all.extraRounds).toBe(24);
    expect(tf.extraRounds).toBe(0);
    // the narrow pair closes at the first look, before any extra round
    expect(tf.closedBefore).toBe(6);
    expect(seen.get('0:bpf-task-file')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.get('1:floor-empty-iter')).toEqual([0, 1, 2, 3, 4, 5]);
    // the wide one is in every round, open to the end, wider than the goal
    expect(all.closedBefore).toBeUndefined();
    expect(all.widthPct!).toBeGreaterThan(8);
    expect(seen.get('1:bpf-all')!.length).toBe(30);
    // the slow pair is in the extra rounds until it is narrow, looked at after each one
    expect(pf.closedBefore).toBeGreaterThan(6);
    expect(pf.closedBefore).toBeLessThan(14);
    expect(pf.extraRounds).toBe(pf.closedBefore! - 6);
    expect(seen.get('0:procfs')).toEqual(Array.from({ length: pf.closedBefore! }, (_, i) => i));
    expect(pf.widthPct!).toBeLessThanOrEqual(8);
    // riders while a pair is open; the slow baseline in its even core rounds only
    expect(seen.get('0:bpf-iter-all')!.length).toBe(30);
    expect(seen.get('0:kcmp-tree')).toEqual([0, 2, 4]);
    for (const r of rounds.slice(6)) expect(r.order.every((k) => !k.endsWith(':bpf-task-file') && !k.endsWith(':kcmp-tree'))).toBe(true);
    // the widths the goal saw are the report's: pairsFor, ratioSeed, the same bootstrap on the same samples
    const byName = (name: string) => units.filter((u) => u.method.name === name).map((u) => ({ instance: u.inst.id, samples: u.s }));
    for (const p of [tf, pf, pp, all]) {
      const r = pairedRatio(pairsFor(byName(p.method), byName(p.floor)), { seed: ratioSeed('vs-floor', 'all', p.method, p.floor, 1000) });
      expect(Math.round(1000 * ciWidth({ ratio: r.ratio, ciLow: r.ciLow, ciHigh: r.ciHigh })) / 10).toBe(p.widthPct);
    }
    // once no fast pair is open, the rest of the budget is the slow pairs': a slow
    // wide pair with a narrow fast one gets every extra round up to maxRounds
    seen.clear();
    const slowOnly = units.filter((u) => ['procfs-parallel', 'floor-procfs-parallel', 'bpf-task-file', 'floor-empty-iter'].includes(u.method.name));
    for (const u of slowOnly) u.s.ns.length = u.s.round.length = u.s.atMs.length = 0;
    const later = new WidthGoal(slowOnly, targets, { ...GOAL, slowExtra: 2 });
    const r2 = await runRounds(slowOnly, { add: (key, round, at, ns) => {
      const u = slowOnly.find((x) => x.key === key)!;
      u.s.ns.push(ns);
      u.s.round.push(round);
      u.s.atMs.push(at);
    }, fail: () => undefined }, { scenario: 'all', scope: 'test2', seed: 1, minRounds: 6, maxRounds: 16, budgetMs: 1e9, clock: () => now, extraKeys: (i) => later.keys(i) });
    expect(r2.length).toBe(16);
    expect(later.outcomes().find((p) => p.method === 'procfs-parallel')!.extraRounds).toBe(10);
    expect(later.outcomes().find((p) => p.method === 'bpf-task-file')!.closedBefore).toBe(6);
    // every pair closed: the extra rounds end (an empty list)
    const done = new WidthGoal(units.filter((u) => u.method.name.includes('task-file') || u.method.name === 'floor-empty-iter'), targets, GOAL);
    expect(done.keys(6)).toEqual([]);
    // no target pair measured: the goal does not decide (the `every` units, as before)
    const none = new WidthGoal(units.filter((u) => u.method.name === 'bpf-iter-all'), targets, GOAL);
    expect(none.active).toBe(false);
    expect(none.keys(6)).toBeUndefined();
    // the goal sits below the target
    expect(RUN_DEFAULTS.ciGoal).toBeLessThan(CI_WIDTH_LIMIT);
  });

  it('stopping when the CI is narrow keeps its coverage (the goal\'s rule on seeded pairs, 6 to 64 rounds)', () => {
    const rng = mulberry32(7);
    for (const sigma of [0.06, 0.12]) {
      let covered = 0;
      let early = 0;
      const reps = 120;
      for (let r = 0; r < reps; r++) {
        const mkUnit = (id: number, name: string): GoalUnit => ({ key: `${id}:${name}`, method: { name }, inst: { id, n: 100, replica: id }, cadence: 'every', estimateNs: 1e6, samples: { ns: [], round: [], atMs: [] } });
        const units = [0, 1].flatMap((id) => [mkUnit(id, 'bpf-all'), mkUnit(id, 'floor-walk')]);
        const add = (round: number) => {
          for (const u of units) {
            // the true ratio is 1: the method's per-round state scatters sigma on the log scale
            u.samples.ns.push(1e6 * (u.method.name === 'bpf-all' ? Math.exp(sigma * gauss(rng)) : 1));
            u.samples.round.push(round);
            u.samples.atMs.push(round);
          }
        };
        for (let i = 0; i < 6; i++) add(i);
        const goal = new WidthGoal(units, [{ name: 'bpf-all', floor: 'floor-walk', floorLimit: 2 }], { scenario: `s${r}`, largest: 100, goal: 0.08, lookEvery: 4, slowNs: 20e6, slowExtra: 2, minRounds: 6, iterations: 300 });
        let i = 6;
        for (; i < 64; i++) {
          const k = goal.keys(i)!;
          if (!k.length) break;
          add(i);
        }
        if (i < 64) early++;
        const byName = (name: string) => units.filter((u) => u.method.name === name).map((u) => ({ instance: u.inst.id, samples: u.samples }));
        const v = pairedRatio(pairsFor(byName('bpf-all'), byName('floor-walk')), { iterations: 300, seed: ratioSeed('vs-floor', `s${r}`, 'bpf-all', 'floor-walk', 100) });
        if (v.ciLow <= 1 && v.ciHigh >= 1) covered++;
      }
      expect(early, `sigma ${sigma}`).toBeGreaterThan(reps / 2); // the rule did stop most of them
      // (600 repetitions at the bench's 2000 bootstrap iterations, sigma 0.12: 97.3 %, 558 stopped
      // early at 38 rounds on average; here 120 at 300 iterations, enough to catch a rule that steers)
      expect(covered / reps, `sigma ${sigma}`).toBeGreaterThan(0.9);
    }
  });

  it('the report computes a vs-floor ratio with pairsFor and ratioSeed (what the extra rounds\' goal looks at)', () => {
    const r = buildResults({ seed: 3 });
    const an = analyze(r);
    const row = an.ratios.find((x) => x.kind === 'vs-floor' && x.scenario === 'all' && x.n === 512)!;
    expect(row).toBeDefined();
    const of = (name: string) => r.measurements.filter((m): m is Extract<Measurement, { state: 'verified' }> => m.state === 'verified' && m.scenario === 'all' && m.n === 512 && m.method === name).sort((a, b) => a.replica - b.replica);
    const again = pairedRatio(pairsFor(of(row.method), of(row.reference)), { seed: ratioSeed('vs-floor', 'all', row.method, row.reference, 512) });
    expect(again).toEqual(row.value);
  });

  it('a floor slowed 1.3x halfway through a run: independent windows get the ratio wrong, paired rounds get it right', () => {
    const rng = mulberry32(21);
    const R = 16;
    // true ratio method / floor = 1.2; the machine slows 1.3x from round 8 on
    const slow = (r: number) => (r >= R / 2 ? 1.3 : 1);
    const method = unit(rng, R, 4, 1.2e6, slow);
    const floor = unit(rng, R, 4, 1.0e6, slow);
    // sequential measurement (the old way): the method's window is the first
    // half, the floor's the second, each median over its own window
    const med = (xs: number[]) => computeStatistics(xs).medianNs;
    const first = method.ns.filter((_, i) => method.round[i]! < R / 2);
    const second = floor.ns.filter((_, i) => floor.round[i]! >= R / 2);
    const independent = med(first) / med(second);
    expect(independent).toBeLessThan(1.0); // 1.2 / 1.3: "faster than its floor"
    const paired = pairedRatio([{ num: method, den: floor }], { seed: 1 });
    expect(paired.ratio).toBeGreaterThan(1.17);
    expect(paired.ratio).toBeLessThan(1.23);
    expect(paired.ciLow).toBeLessThan(1.2);
    expect(paired.ciHigh).toBeGreaterThan(1.2);
    expect(paired.ciHigh - paired.ciLow).toBeLessThan(0.05);
  });

  it('the paired CI resamples instances, then rounds: spread between instances widens it', () => {
    const rng = mulberry32(8);
    const same = [1.0, 1.0].map((p) => ({ num: unit(rng, 12, 3, 2e6 * p), den: unit(rng, 12, 3, 1e6) }));
    const apart = [0.85, 1.15].map((p) => ({ num: unit(rng, 12, 3, 2e6 * p), den: unit(rng, 12, 3, 1e6) }));
    const a = pairedRatio(same, { seed: 3 });
    const b = pairedRatio(apart, { seed: 3 });
    expect(a.instances).toBe(2);
    expect(a.rounds).toBe(24);
    expect(b.perInstance[0]).toBeLessThan(b.perInstance[1]!);
    expect(b.ciHigh - b.ciLow).toBeGreaterThan(3 * (a.ciHigh - a.ciLow));
    // deterministic: the same data and seed give the same interval
    expect(pairedRatio(apart, { seed: 3 })).toEqual(b);
  });

  it('the paired CI covers the true ratio in about 95 % of seeded repetitions', () => {
    const rng = mulberry32(99);
    let covered = 0;
    const reps = 200;
    for (let i = 0; i < reps; i++) {
      const r = pairedRatio([{ num: unit(rng, 10, 3, 1.5e6, undefined, 0.1), den: unit(rng, 10, 3, 1e6, undefined, 0.1) }], { seed: i, iterations: 400 });
      if (r.ciLow <= 1.5 && r.ciHigh >= 1.5) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.85);
    expect(covered / reps).toBeLessThanOrEqual(1);
  });

  it('with two instances and few rounds the paired CI is not too narrow (what repro\'s "beyond the runs\' CIs" leans on)', () => {
    const rng = mulberry32(11);
    for (const rounds of [6, 12]) {
      let covered = 0;
      const reps = 300;
      for (let i = 0; i < reps; i++) {
        // per-round log ratios scattering 12 % on two instances, true value 0
        const groups = [0, 1].map(() => Array.from({ length: rounds }, () => 0.12 * gauss(rng)));
        const iv = bootstrapGroups(groups, { iterations: 500, seed: i });
        if (iv.ciLow <= 0 && iv.ciHigh >= 0) covered++;
      }
      expect(covered / reps, `${rounds} rounds`).toBeGreaterThan(0.93);
    }
  });

  it('growth from per-round fits is immune to drift over the run; a growth fit over sequential sizes is not', () => {
    const rng = mulberry32(12);
    const sizes = [1250, 2500, 5000, 10000];
    // linear work; the machine slows steadily, 3x over the run
    const R = 12;
    const drift = (r: number) => 1 + (2 * r) / (R - 1);
    const points = sizes.map((n) => ({ n, samples: unit(rng, R, 3, 200 * n, drift) }));
    const series = roundSlopes(points);
    expect(series.values.length).toBe(R);
    const slope = bootstrapGroups([series.values]).value;
    expect(slope).toBeGreaterThan(0.97);
    expect(slope).toBeLessThan(1.03);
    // the same drift with sizes measured one after another (size i in rounds of its own window)
    const seq = sizes.map((n, i) => ({ n, medianNs: 200 * n * drift(((i + 0.5) * R) / sizes.length) }));
    const f = fitGrowth(seq);
    expect(f.ok && f.slope).toBeGreaterThan(1.3);
  });

  it('rank correlation finds a trend inside blocks and none in shuffled noise', () => {
    expect(spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])).toBeCloseTo(1, 10);
    expect(spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])).toBeCloseTo(-1, 10);
    const rng = mulberry32(2);
    const warm: Samples = { ns: [], round: [], atMs: [] };
    const flat: Samples = { ns: [], round: [], atMs: [] };
    for (let r = 0; r < 20; r++) {
      for (let i = 0; i < 8; i++) {
        warm.ns.push(1e6 * (1.5 - 0.1 * i) * Math.exp(0.01 * gauss(rng)));
        flat.ns.push(1e6 * Math.exp(0.05 * gauss(rng)));
        for (const s of [warm, flat]) {
          s.round.push(r);
          s.atMs.push(r * 10 + i);
        }
      }
    }
    expect(withinBlockTrend(warm).rho).toBeLessThan(-0.9);
    // 160 points of noise: |rho| has a standard deviation of about 0.08
    expect(Math.abs(withinBlockTrend(flat).rho)).toBeLessThan(0.3);
  });
});

describe('sanity of paired ratios', () => {
  it('a method measured faster than its own floor is suspect, never a met target', () => {
    // bpf-all costs less than its floor here: impossible, so a measurement artefact
    const methods = FIXTURE_METHODS.map((m) => (m.method === 'floor-walk' ? { ...m, cost: (n: number) => 2 * (80_000 + 260 * n) } : m));
    const r = buildResults({ scenarios: ['all'], methods });
    const an = analyze(r);
    const row = an.ratios.find((x) => x.kind === 'vs-floor' && x.method === 'bpf-all' && x.n === 512)!;
    expect(row.value.ciHigh).toBeLessThan(0.9);
    expect(row.flags).toEqual(['suspect']);
    expect(row.why).toMatch(/subset of its method's work/);
    const t = checkTargets(r, an).find((x) => x.name === 'bpf-all / floor-walk')!;
    expect(t.verdict).toBe('suspect');
  });

  it('a median below 0.9 whose CI reaches above it is unsure: never met, flagged in the summary', () => {
    // floor-walk costs 1.15x bpf-all (ratio ~0.87) under heavy noise: the CI is too wide to call it an
    // artefact, the median too low to be a result (seen: 0.80x, CI 0.66-1.01, printed "met")
    const methods = FIXTURE_METHODS.map((m) => (m.method === 'floor-walk' ? { ...m, cost: (n: number) => 1.15 * (80_000 + 260 * n) } : m));
    const r = buildResults({ scenarios: ['all'], methods, noise: 0.25, rounds: 4, seed: 5 });
    const an = analyze(r);
    const row = an.ratios.find((x) => x.kind === 'vs-floor' && x.method === 'bpf-all' && x.n === 512)!;
    expect(row.value.ratio).toBeLessThan(0.9);
    expect(row.value.ciHigh).toBeGreaterThanOrEqual(0.9);
    expect(row.flags).toEqual(['unsure']);
    expect(row.why).toMatch(/too noisy to call an artefact/);
    const t = checkTargets(r, an).find((x) => x.name === 'bpf-all / floor-walk')!;
    expect(t.verdict).toBe('unsure');
    expect(formatTargets([t]).join('\n')).toMatch(/UNSURE/);
    const text = formatSummary(r, an);
    expect(text).toMatch(/bpf-all \/ floor-walk\s+0\.8\dx [\d.]+-[\d.]+ UNSURE/);
    expect(text).not.toMatch(/bpf-all \/ floor-walk\s+0\.\d+x [\d.]+-[\d.]+ <= \d+ met/);
  });

  it('a floor measured slower than a floor that includes it breaks the chain', () => {
    const methods = FIXTURE_METHODS.map((m) => (m.method === 'floor-empty-iter' ? { ...m, cost: (n: number) => 3 * (60_000 + 160 * n) } : m));
    const an = analyze(buildResults({ scenarios: ['all'], methods }));
    const row = an.ratios.find((x) => x.kind === 'chain' && x.method === 'floor-walk' && x.reference === 'floor-empty-iter' && x.n === 512)!;
    expect(row.flags).toEqual(['chain-break']);
    const healthy = analyze(buildResults({ scenarios: ['all'] }));
    expect(healthy.ratios.filter((x) => x.flags.length)).toEqual([]);
  });

  it('a target is met only when its whole CI is within the limit', () => {
    const r = buildResults({ scenarios: ['all'] });
    const t = checkTargets(r).find((x) => x.name === 'bpf-all / floor-walk')!;
    expect(t.value).toBeGreaterThan(1.3);
    expect(t.value).toBeLessThan(1.7);
    expect(t.verdict).toBe('met');
    // the same data judged against a limit inside the CI
    const strict = { ...r, methods: r.methods.map((d) => (d.name === 'bpf-all' ? { ...d, floorLimit: t.ciLow! + 0.001 } : d)) };
    expect(checkTargets(strict).find((x) => x.name === 'bpf-all / floor-walk')!.verdict).toBe('missed');
  });

  it('the targets are judged on the run\'s reference scenario when it measured it, else on the one with the most descriptors', () => {
    const r = buildResults({ scenarios: ['files', 'all'] });
    const on = (x: typeof r) => checkTargets(x).find((t) => t.name === 'bpf-task-file / floor-empty-iter')!.detail.split(' ')[0];
    // the fixture's instances hold N + 3 descriptors in both: the tie goes to the config's order
    expect(on(r)).toBe('files');
    expect(on({ ...r, config: { ...r.config, reference: 'all' } })).toBe('all');
    // a reference the run did not measure: the descriptors decide
    expect(on({ ...r, config: { ...r.config, reference: 'epoll' } })).toBe('files');
    expect(referenceScenario({ ...r, config: { ...r.config, reference: 'all' } })).toBe('all');
  });

  it('speedups and floor ratios come from the descriptors, paired per round, with the replicas', () => {
    const r = buildResults({ scenarios: ['files'], sizes: [128, 512], replicas: 2 });
    const an = analyze(r);
    const sp = an.ratios.find((x) => x.kind === 'speedup' && x.method === 'bpf-task-file' && x.reference === 'procfs' && x.n === 512)!;
    expect(sp.value.ratio).toBeGreaterThan(40);
    expect(sp.value.instances).toBe(2);
    const expect512 = (12_000 * 512) / (60_000 + 150 * 512);
    expect(sp.value.ciLow).toBeLessThan(expect512 * 1.02);
    expect(sp.value.ciHigh).toBeGreaterThan(expect512 * 0.96);
    expect(an.ratios.some((x) => x.reference === 'kcmp-tree' && x.kind === 'speedup')).toBe(true);
    // kcmp-tree names no speedup reference and no floor: no row of its own
    expect(an.ratios.some((x) => x.method === 'kcmp-tree')).toBe(false);
  });
});

describe('the kernel lane: real iterators against the emulation of the same work', () => {
  // the emulation's pass = its floor (visiting every descriptor) + the walk of
  // one kind of item; the real iterators do only the walk, attached to the
  // instances found in open()
  const floorCost = (n: number) => 50_000 + 100 * n;
  const lane: FixtureMethod[] = [
    { method: 'floor-empty-iter', family: 'floor', cost: floorCost },
    { method: 'bpf-epoll', family: 'bpf', cost: (n) => floorCost(n) + 200 * n },
    { method: 'bpf-io-uring', family: 'bpf', cost: (n) => floorCost(n) + 100 * n },
    { method: 'bpf-iter-epoll', family: 'bpf', lane: 'patched-kernel', cost: (n) => 50 * n, emulation: { method: 'bpf-epoll', floor: 'floor-empty-iter' } },
    { method: 'bpf-iter-io-uring-file', family: 'bpf', lane: 'patched-kernel', cost: (n) => 30 * n, emulation: { method: 'bpf-io-uring', floor: 'floor-empty-iter', with: ['bpf-iter-io-uring-buf'] } },
    { method: 'bpf-iter-io-uring-buf', family: 'bpf', lane: 'patched-kernel', cost: (n) => 20 * n },
  ];

  it('per round, (real + with) / (emulation - floor): the same-kind work, not the whole pass', () => {
    const an = analyze(buildResults({ scenarios: ['all'], methods: lane }));
    const ep = an.ratios.find((r) => r.kind === 'vs-emulation' && r.method === 'bpf-iter-epoll' && r.n === 512)!;
    expect(ep).toMatchObject({ reference: 'bpf-epoll', minus: 'floor-empty-iter', flags: [] });
    expect(ep.with).toBeUndefined();
    // 50 n / 200 n, within the noise; the whole pass would say 50 n / (50k + 300 n) = 0.14
    expect(ep.value.ciLow).toBeLessThan(0.25);
    expect(ep.value.ciHigh).toBeGreaterThan(0.25);
    expect(ep.value.ciHigh - ep.value.ciLow).toBeLessThan(0.03);
    expect(ep.value.instances).toBe(2);
    const ur = an.ratios.find((r) => r.kind === 'vs-emulation' && r.method === 'bpf-iter-io-uring-file' && r.n === 512)!;
    expect(ur).toMatchObject({ reference: 'bpf-io-uring', minus: 'floor-empty-iter', with: ['bpf-iter-io-uring-buf'] });
    // (30 n + 20 n) / 100 n
    expect(ur.value.ratio).toBeGreaterThan(0.47);
    expect(ur.value.ratio).toBeLessThan(0.53);
    // the partner names no emulation: no row of its own
    expect(an.ratios.some((r) => r.method === 'bpf-iter-io-uring-buf')).toBe(false);
    // every size gets its row
    expect(an.ratios.filter((r) => r.kind === 'vs-emulation' && r.method === 'bpf-iter-epoll').map((r) => r.n).sort((a, b) => a - b)).toEqual([64, 128, 256, 512]);
  });

  it('pairs by round: a machine that slows halfway through moves every part alike and not the ratio', () => {
    const half = { factor: 1.4, from: 6 };
    const an = analyze(buildResults({ scenarios: ['all'], methods: lane, slow: Object.fromEntries(lane.map((m) => [m.method, half])) }));
    const ep = an.ratios.find((r) => r.kind === 'vs-emulation' && r.method === 'bpf-iter-epoll' && r.n === 512)!;
    expect(ep.value.ratio).toBeGreaterThan(0.24);
    expect(ep.value.ratio).toBeLessThan(0.26);
  });

  it('leaves out a round whose emulation measured no slower than its floor, and calls the row suspect', () => {
    const an = analyze(buildResults({ scenarios: ['all'], methods: lane, rounds: 12, slow: { 'floor-empty-iter': { factor: 10, from: 9 } } }));
    const ep = an.ratios.find((r) => r.kind === 'vs-emulation' && r.method === 'bpf-iter-epoll' && r.n === 512)!;
    // rounds 9-11 of both instances have no same-kind work left to compare
    expect(ep.value.rounds).toBe(2 * 9);
    expect(ep.flags).toEqual(['suspect']);
    expect(ep.why).toMatch(/in 6 round\(s\) bpf-epoll measured no slower than floor-empty-iter/);
    // the rounds kept still give the ratio
    expect(ep.value.ratio).toBeGreaterThan(0.24);
    expect(ep.value.ratio).toBeLessThan(0.26);
  });

  it('pairedNetRatio: adds the parts and subtracts the floor per round, not per median', () => {
    // round r: parts 1 + 1, den 10 + r, minus r: 2 / 10 in every round
    const s = (f: (r: number) => number): Samples => ({ ns: [0, 1, 2, 3].map(f), round: [0, 1, 2, 3], atMs: [0, 1, 2, 3] });
    const v = pairedNetRatio([{ nums: [s(() => 1), s(() => 1)], den: s((r) => 10 + 100 * r), minus: s((r) => 100 * r) }], { seed: 1, iterations: 200 });
    expect(v.ratio).toBeCloseTo(0.2, 12);
    expect(v.ciLow).toBeCloseTo(0.2, 12);
    expect(v.ciHigh).toBeCloseTo(0.2, 12);
    expect(v).toMatchObject({ rounds: 4, instances: 1, dropped: 0 });
    // without a floor it is the plain paired ratio of the sum
    const w = pairedNetRatio([{ nums: [s(() => 3)], den: s(() => 6) }], { seed: 1, iterations: 200 });
    expect(w.ratio).toBeCloseTo(0.5, 12);
    // a part missing in a round: that round is not compared
    const gap: Samples = { ns: [1, 1, 1], round: [0, 1, 3], atMs: [0, 1, 3] };
    expect(pairedNetRatio([{ nums: [gap], den: s(() => 4) }], { seed: 1, iterations: 50 }).rounds).toBe(3);
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

describe("RT throttling's budget for the timed blocks", () => {
  const MS = 1e6;
  const limits = { periodNs: 1000 * MS, runtimeNs: 950 * MS };

  it('waits only when the last period holds too much FIFO time for the next block', () => {
    const b = new RtBudget(limits, 0.9); // cap 855 ms
    expect(b.waitNs(200 * MS, 0)).toBe(0);
    b.record(0, 400 * MS);
    b.record(420 * MS, 820 * MS);
    // a 200 ms block at 830: (t + 200 - 1000, t] must hold <= 655 ms of FIFO time:
    // the window's start has to pass 145 ms into the first span: t = 145 + 1000 - 200
    expect(b.waitNs(200 * MS, 830 * MS)).toBeCloseTo(945 * MS - 830 * MS, -3);
    // a 10 ms block fits now (810 ms in its window); asking records nothing
    expect(b.waitNs(10 * MS, 830 * MS)).toBe(0);
    expect(b.waitNs(200 * MS, 830 * MS)).toBeGreaterThan(0);
    // a block longer than the cap waits for a period without FIFO time
    expect(b.waitNs(900 * MS, 830 * MS)).toBeCloseTo(1820 * MS - 830 * MS, -3);
    // an unlimited runtime: never
    expect(new RtBudget(undefined).waitNs(900 * MS, 0)).toBe(0);
  });

  it('keeps every window of one period under the cap over a long seeded run of blocks', async () => {
    const rng = mulberry32(42);
    const b = new RtBudget(limits, 0.95);
    let now = 0;
    const spans: [number, number][] = [];
    const clock = () => now;
    const sleep = async (ms: number) => {
      now += ms * MS;
    };
    for (let i = 0; i < 3000; i++) {
      // blocks of 1-300 ms, each as long as expected or up to 10 % shorter, JS gaps of 0-2 ms
      const expected = (1 + rng() * 299) * MS;
      await b.reserve(expected, clock, sleep);
      const start = now;
      now += expected * (0.9 + 0.1 * rng());
      b.record(start, now);
      spans.push([start, now]);
      now += rng() * 2 * MS;
    }
    // the FIFO time in every window (w, w + P] with w at a span's end (the worst windows start there)
    let worst = 0;
    for (let i = 0; i < spans.length; i++) {
      const w0 = spans[i]![1];
      let used = 0;
      for (let j = i + 1; j < spans.length && spans[j]![0] < w0 + limits.periodNs; j++) used += Math.min(spans[j]![1], w0 + limits.periodNs) - spans[j]![0];
      worst = Math.max(worst, used);
    }
    expect(worst).toBeLessThanOrEqual(0.95 * limits.runtimeNs + 1);
    expect(worst).toBeGreaterThan(0.85 * limits.runtimeNs); // and it does not wait more than it must
    expect(b.waits).toBeGreaterThan(0);
    expect(b.waitedNs).toBeGreaterThan(0);
  });

  it('runs a block under the budget: waits first, records the block as FIFO time, returns its value', async () => {
    const b = new RtBudget(limits, 0.9); // cap 855 ms
    let now = 0;
    const clock = () => now;
    const sleep = async (ms: number) => {
      now += ms * MS;
    };
    const first = await b.run(800 * MS, () => ((now += 800 * MS), 'a'), clock, sleep);
    expect(first).toEqual({ value: 'a', waitedNs: 0 });
    // its 800 ms are recorded: the next 200 ms block waits until its window holds <= 655 ms of them
    const second = await b.run(200 * MS, async () => ((now += 200 * MS), 'b'), clock, sleep);
    expect(second.value).toBe('b');
    expect(second.waitedNs).toBeCloseTo(945 * MS - 800 * MS, -6);
    expect(b.waits).toBe(1);
    // and a block that throws is still recorded: 850 ms of it leave no room for 100 more
    const c = new RtBudget(limits, 0.9);
    const failing = () => {
      now += 850 * MS;
      throw new Error('x');
    };
    await expect(c.run(850 * MS, failing, clock, sleep)).rejects.toThrow('x');
    expect(c.waitNs(100 * MS, now)).toBeGreaterThan(0);
  });

  it("reads the kernel's limit, and none when the runtime is unlimited", () => {
    const dir = mkdtempSync(join(tmpdir(), 'iterbench-rt-'));
    writeFileSync(join(dir, 'sched_rt_period_us'), '1000000\n');
    writeFileSync(join(dir, 'sched_rt_runtime_us'), '950000\n');
    expect(readRtLimits(dir)).toEqual({ periodNs: 1e9, runtimeNs: 950e6 });
    writeFileSync(join(dir, 'sched_rt_runtime_us'), '-1\n');
    expect(readRtLimits(dir)).toBeUndefined();
    expect(readRtLimits(join(dir, 'none'))).toBeUndefined();
  });
});

describe('time off the CPU inside timed collects', () => {
  it('counts the collects that lost over 2 % of their time, warns past 10 % of them, and totals a run', () => {
    const ns = Array(20).fill(200e6);
    const none: Samples = { ns, round: ns.map((_, i) => i), atMs: ns.map((_, i) => i), offCpuNs: ns.map(() => 0) };
    expect(offCpuCollects(none)).toBe(0);
    // RT throttling's 48 ms stop in 2 of 20 collects: counted, not yet a warning (10 %)
    const two: Samples = { ...none, offCpuNs: ns.map((_, i) => (i % 10 === 4 ? 48e6 : 1e5)) };
    expect(offCpuCollects(two)).toBe(2);
    const three: Samples = { ...none, offCpuNs: ns.map((_, i) => (i % 7 === 4 ? 48e6 : 0)) };
    expect(offCpuCollects(three)).toBe(3);
    // 3.9 ms of 200 is under 2 %: not counted
    expect(offCpuCollects({ ...none, offCpuNs: ns.map(() => 3.9e6) })).toBe(0);
    const unmeasured: Samples = { ns, round: [], atMs: [] };
    expect(offCpuCollects(unmeasured)).toBe(0);
    const m = (samples: Samples) => ({ state: 'verified', samples }) as unknown as Measurement;
    expect(offCpuTotals({ measurements: [m(two), m(three), m({ ns, round: [], atMs: [] })] })).toEqual({ timed: 40, hit: 5, maxNs: 48e6 });
    expect(warningText('off-cpu')).toMatch(/RT throttling/);
  });
});

describe('reproducibility', () => {
  it('gives the coefficient of variation of every paired ratio over several runs, and mean moves between sets', () => {
    const runs = [1, 2, 3].map((seed) => buildResults({ scenarios: ['files'], sizes: [128, 512], seed }));
    const spread = ratioSpread(runs);
    const s = spread.find((x) => x.kind === 'speedup' && x.method === 'bpf-task-file' && x.reference === 'procfs')!;
    expect(s.values.length).toBe(3);
    expect(s.n).toBe(512);
    const mean = s.values.reduce((a, b) => a + b, 0) / 3;
    expect(s.mean).toBeCloseTo(mean, 10);
    const sd = Math.sqrt(s.values.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    expect(s.cv).toBeCloseTo(sd / mean, 10);
    expect(s.cv).toBeLessThan(0.05);
    expect(spread.some((x) => x.kind === 'vs-floor')).toBe(true);
    // three runs of one machine: they differ as much as their own CIs say
    expect(s.withinCv).toBeGreaterThan(0);
    expect(s.beyondCi).toBe(false);
    // a machine whose BPF walk speed changed between runs: runs apart beyond their CIs
    const moved = [1, 1.2, 0.85].map((f, i) => buildResults({ scenarios: ['files'], sizes: [128, 512], seed: 10 + i, slow: { 'bpf-task-file': f } }));
    const m = ratioSpread(moved).find((x) => x.kind === 'speedup' && x.method === 'bpf-task-file' && x.reference === 'procfs')!;
    expect(m.cv).toBeGreaterThan(0.1);
    expect(m.withinCv).toBeLessThan(0.03);
    expect(m.beyondCi).toBe(true);
    expect(chi2q95(4)).toBe(9.488);
    expect(chi2q95(30)).toBeCloseTo(43.773, 1);
    const busy = [4, 5, 6].map((seed) => buildResults({ scenarios: ['files'], sizes: [128, 512], seed, slow: { 'bpf-task-file': 1.25 } }));
    const moves = meanMoves(spread, ratioSpread(busy));
    const mv = moves.find((x) => x.kind === 'speedup' && x.method === 'bpf-task-file' && x.reference === 'procfs')!;
    expect(mv.move).toBeLessThan(-0.15);
    expect(Math.abs(moves.find((x) => x.kind === 'vs-floor' && x.method === 'procfs')!.move)).toBeLessThan(0.05);
  });
});
