/**
 * The task dimension: a task sweep (`--tasks-sweep`) starts every size once
 * per K tasks, all instances measured in the same rounds. Per (scenario,
 * method, N) this gives time vs K at constant N:
 *
 * - times per K (as for sizes: median over rounds, geometric mean over
 *   instances, bootstrap CI);
 * - ratios per K, paired by round (speedups, method / floor);
 * - the growth in K: median over rounds of the per-round log-log slope of
 *   time vs K (0: the tasks cost nothing, 1: time proportional to K);
 * - the cost per task: median over rounds of the per-round least-squares
 *   slope of time (ns) on K, at constant N (what one more task of the tree
 *   adds, its share of the N descriptors moving with it);
 * - crossovers: where one method's speedup over another (a paired ratio)
 *   goes through 1 as K grows, by log-log interpolation between the two K
 *   whose ratios lie on either side.
 *
 * Pure: same results, same figures (seeded bootstraps).
 */
import type { MethodDescriptor, ResultsFile, Samples, Verified } from '../bench/schema.js';
import type { Scenario } from '../bench/manifest.js';
import { blockMedians, bootstrapGroups, pairedRatio, pooledTime, roundSlopes, slopeInterval, type PairedRatio } from './paired.js';
import { seedFrom } from './prng.js';

export interface TaskTimeRow {
  scenario: Scenario;
  method: string;
  n: number;
  /** the --tasks of the instances */
  k: number;
  /** tasks and descriptors of the (first) instance */
  tasks: number;
  fds: number;
  medianNs: number;
  ciLowNs: number;
  ciHighNs: number;
  perInstanceNs: number[];
  rounds: number;
  extrapolated: boolean;
}

export interface TaskRatioRow {
  scenario: Scenario;
  n: number;
  k: number;
  method: string;
  reference: string;
  kind: 'speedup' | 'vs-floor';
  /** speedup: reference / method (> 1: method faster); vs-floor: method / floor */
  value: PairedRatio;
  extrapolated: boolean;
}

export interface TaskSlopeRow {
  scenario: Scenario;
  method: string;
  n: number;
  /** log-log slope of time vs K: median over rounds, with its CI */
  slope: number;
  ciLow: number;
  ciHigh: number;
  rounds: number;
  ks: number[];
  extrapolated: boolean;
}

export interface PerTaskRow {
  scenario: Scenario;
  method: string;
  n: number;
  /** ns per added task at constant N: median over rounds of the least-squares slope of time on K */
  nsPerTask: number;
  ciLow: number;
  ciHigh: number;
  rounds: number;
  ks: number[];
  extrapolated: boolean;
}

export interface CrossoverRow {
  scenario: Scenario;
  n: number;
  method: string;
  reference: string;
  /** the K measured, and the speedup (reference / method) at each */
  ks: number[];
  ratios: number[];
  ciLow: number[];
  ciHigh: number[];
  /** where the speedup passes through 1 (log-log interpolation), when it does */
  crossK?: number;
  /** method faster at every K, slower at every K, or the lead changes */
  verdict: 'faster' | 'slower' | 'crosses';
}

export interface TaskAnalysis {
  times: TaskTimeRow[];
  ratios: TaskRatioRow[];
  slopes: TaskSlopeRow[];
  perTask: PerTaskRow[];
  crossovers: CrossoverRow[];
}

export const EMPTY_TASKS: TaskAnalysis = { times: [], ratios: [], slopes: [], perTask: [], crossovers: [] };

const key4 = (s: string, m: string, n: number, k: number) => `${s}\0${m}\0${n}\0${k}`;

/** verified measurements of task sweeps grouped by (scenario, method, n, k), replicas in order */
function groupTasks(results: ResultsFile): Map<string, Verified[]> {
  const out = new Map<string, Verified[]>();
  for (const m of results.measurements) {
    if (m.state !== 'verified' || m.k === undefined || m.variant) continue;
    const key = key4(m.scenario, m.method, m.n, m.k);
    const l = out.get(key) ?? [];
    l.push(m);
    out.set(key, l);
  }
  for (const l of out.values()) l.sort((a, b) => a.replica - b.replica);
  return out;
}

/** pairs of samples for num/den on the same instances (else the first replica), as analyze.ts pairs them */
function pairsFor(num: Verified[], den: Verified[]): { num: Samples; den: Samples }[] {
  const ids = [...new Set([...num, ...den].map((m) => m.instance))].sort((a, b) => a - b);
  const pairs: { num: Samples; den: Samples }[] = [];
  for (const id of ids) {
    const a = num.find((m) => m.instance === id) ?? num[0];
    const b = den.find((m) => m.instance === id) ?? den[0];
    if (a && b) pairs.push({ num: a.samples, den: b.samples });
  }
  return pairs;
}

/**
 * Per round: the least-squares slope of the block median (ns) on x over the
 * points measured in that round (replicas of one x averaged). One value per
 * round with at least `minPoints` distinct x.
 */
export function roundLinearSlopes(points: readonly { x: number; samples: Samples }[], minPoints = 2): { rounds: number[]; values: number[] } {
  const byRound = new Map<number, Map<number, number[]>>();
  for (const p of points) {
    for (const [r, v] of blockMedians(p.samples)) {
      if (!(v > 0)) continue;
      let xs = byRound.get(r);
      if (!xs) byRound.set(r, (xs = new Map()));
      const l = xs.get(p.x) ?? [];
      l.push(v);
      xs.set(p.x, l);
    }
  }
  const rounds: number[] = [];
  const values: number[] = [];
  for (const [r, xs] of [...byRound].sort((a, b) => a[0] - b[0])) {
    if (xs.size < minPoints) continue;
    const px = [...xs.keys()];
    const py = px.map((x) => xs.get(x)!.reduce((a, b) => a + b, 0) / xs.get(x)!.length);
    const mx = px.reduce((a, b) => a + b, 0) / px.length;
    const my = py.reduce((a, b) => a + b, 0) / py.length;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < px.length; i++) {
      sxx += (px[i]! - mx) ** 2;
      sxy += (px[i]! - mx) * (py[i]! - my);
    }
    if (sxx === 0) continue;
    rounds.push(r);
    values.push(sxy / sxx);
  }
  return { rounds, values };
}

/** where log(ratio) crosses 0 between consecutive K (log-log interpolation), or undefined */
export function crossingK(ks: readonly number[], ratios: readonly number[]): number | undefined {
  for (let i = 0; i + 1 < ks.length; i++) {
    const a = Math.log(ratios[i]!);
    const b = Math.log(ratios[i + 1]!);
    if (a === 0) return ks[i];
    if ((a < 0 && b > 0) || (a > 0 && b < 0)) {
      const t = a / (a - b);
      return Math.exp(Math.log(ks[i]!) + t * (Math.log(ks[i + 1]!) - Math.log(ks[i]!)));
    }
  }
  if (ratios.length && Math.log(ratios[ratios.length - 1]!) === 0) return ks[ks.length - 1];
  return undefined;
}

export function analyzeTasks(results: ResultsFile, opts: { iterations?: number } = {}): TaskAnalysis {
  const groups = groupTasks(results);
  if (groups.size === 0) return { times: [], ratios: [], slopes: [], perTask: [], crossovers: [] };
  const iterations = opts.iterations ?? 2000;
  const desc = new Map<string, MethodDescriptor>(results.methods.map((m) => [m.name, m]));
  const times: TaskTimeRow[] = [];
  const ratios: TaskRatioRow[] = [];
  const slopes: TaskSlopeRow[] = [];
  const perTask: PerTaskRow[] = [];
  const crossovers: CrossoverRow[] = [];

  for (const [key, ms] of groups) {
    const [scenario, method, n, k] = key.split('\0') as [Scenario, string, string, string];
    const t = pooledTime(ms.map((m) => m.samples), { iterations, seed: seedFrom(`task-time/${key}`) });
    times.push({
      scenario,
      method,
      n: Number(n),
      k: Number(k),
      tasks: ms[0]!.tasks,
      fds: ms[0]!.fds,
      medianNs: t.value,
      ciLowNs: t.ciLow,
      ciHighNs: t.ciHigh,
      perInstanceNs: t.perInstance,
      rounds: new Set(ms.flatMap((m) => m.samples.round)).size,
      extrapolated: ms.some((m) => m.extrapolated),
    });
  }
  times.sort((a, b) => a.scenario.localeCompare(b.scenario) || a.n - b.n || a.k - b.k);

  // ratios per K
  for (const [key, ms] of groups) {
    const [scenario, method, nText, kText] = key.split('\0') as [Scenario, string, string, string];
    const n = Number(nText);
    const k = Number(kText);
    const d = desc.get(method);
    if (!d) continue;
    const refs: [string, 'speedup' | 'vs-floor'][] = d.speedupOver.map((r) => [r, 'speedup']);
    if (d.floor) refs.push([d.floor, 'vs-floor']);
    for (const [ref, kind] of refs) {
      const other = groups.get(key4(scenario, ref, n, k));
      if (!other) continue;
      const pairs = kind === 'speedup' ? pairsFor(other, ms) : pairsFor(ms, other);
      const value = pairedRatio(pairs, { iterations, seed: seedFrom(`task-${kind}/${scenario}/${method}/${ref}/${n}/${k}`) });
      if (!(value.rounds > 0)) continue;
      ratios.push({ scenario, n, k, method, reference: ref, kind, value, extrapolated: ms.some((m) => m.extrapolated) || other.some((m) => m.extrapolated) });
    }
  }

  // growth in K and cost per task, per (scenario, method, n)
  const series = new Map<string, { k: number; ms: Verified[] }[]>();
  for (const [key, ms] of groups) {
    const [scenario, method, n, k] = key.split('\0');
    const sk = `${scenario}\0${method}\0${n}`;
    const l = series.get(sk) ?? [];
    l.push({ k: Number(k), ms });
    series.set(sk, l);
  }
  for (const [sk, pts] of series) {
    const [scenario, method, nText] = sk.split('\0') as [Scenario, string, string];
    const ks = pts.map((p) => p.k).sort((a, b) => a - b);
    const extrapolated = pts.some((p) => p.ms.some((m) => m.extrapolated));
    const flat = pts.flatMap((p) => p.ms.map((m) => ({ k: p.k, samples: m.samples })));
    if (ks.length >= 2) {
      const lin = roundLinearSlopes(flat.map((p) => ({ x: p.k, samples: p.samples })));
      if (lin.values.length) {
        const iv = bootstrapGroups([lin.values], { iterations, seed: seedFrom(`per-task/${sk}`) });
        perTask.push({ scenario, method, n: Number(nText), nsPerTask: iv.value, ciLow: iv.ciLow, ciHigh: iv.ciHigh, rounds: lin.values.length, ks, extrapolated });
      }
    }
    if (ks.length >= 3) {
      const s = roundSlopes(flat.map((p) => ({ n: p.k, samples: p.samples })));
      if (s.values.length) {
        const iv = slopeInterval(s, { iterations, seed: seedFrom(`task-slope/${sk}`) });
        slopes.push({ scenario, method, n: Number(nText), slope: iv.value, ciLow: iv.ciLow, ciHigh: iv.ciHigh, rounds: iv.rounds, ks, extrapolated });
      }
    }
  }

  // crossovers of every speedup over K
  const bySeries = new Map<string, TaskRatioRow[]>();
  for (const r of ratios) {
    if (r.kind !== 'speedup') continue;
    const sk = `${r.scenario}\0${r.n}\0${r.method}\0${r.reference}`;
    const l = bySeries.get(sk) ?? [];
    l.push(r);
    bySeries.set(sk, l);
  }
  for (const rows of bySeries.values()) {
    if (rows.length < 2) continue;
    rows.sort((a, b) => a.k - b.k);
    const ks = rows.map((r) => r.k);
    const rs = rows.map((r) => r.value.ratio);
    const crossK = crossingK(ks, rs);
    const verdict: CrossoverRow['verdict'] = crossK !== undefined ? 'crosses' : rs[0]! > 1 ? 'faster' : 'slower';
    crossovers.push({
      scenario: rows[0]!.scenario,
      n: rows[0]!.n,
      method: rows[0]!.method,
      reference: rows[0]!.reference,
      ks,
      ratios: rs,
      ciLow: rows.map((r) => r.value.ciLow),
      ciHigh: rows.map((r) => r.value.ciHigh),
      ...(crossK !== undefined ? { crossK } : {}),
      verdict,
    });
  }
  return { times, ratios, slopes, perTask, crossovers };
}
