/**
 * A results file into the figures every report prints: per (scenario,
 * method, N) the time with its CI, per round paired ratios (speedups,
 * method/floor, subset chains), growth slopes from per-round fits, and the
 * sanity flags that keep a physically impossible figure from being printed
 * as a result. Pure: same results, same figures (seeded bootstraps).
 *
 * What a method is compared with comes from its descriptor in the results
 * (floor, speedupOver, subsetOf), never from its name.
 *
 * A task sweep (--tasks-sweep) has instances at several K per size: the
 * figures over N (times, ratios, slopes and every report made of them) are
 * those at the largest K (the size view), and the task dimension gets its
 * own figures (`tasks`, analysis/tasks.ts).
 */
import type { MethodDescriptor, ResultsFile, RoundInfo, Samples, Verified } from '../bench/schema.js';
import type { Scenario } from '../bench/manifest.js';
import { fitGrowth, type GrowthLabel } from './fit.js';
import { pairedNetRatio, pairedRatio, pooledTime, roundSlopes, slopeInterval, type PairedRatio } from './paired.js';
import { seedFrom } from './prng.js';
import { analyzeTasks, type TaskAnalysis } from './tasks.js';

/** a floor's ratio whose whole CI lies below this is an artefact (a floor is a subset of its method) */
export const SUSPECT_BELOW = 0.9;
/** a round is busy when the machine was: load above nproc, steal or CPU pressure above these */
export const BUSY = { stealPct: 5, cpuPressurePct: 20 } as const;

export interface TimeRow {
  scenario: Scenario;
  method: string;
  n: number;
  medianNs: number;
  ciLowNs: number;
  ciHighNs: number;
  /** instances measured, and the median on each */
  perInstanceNs: number[];
  rounds: number;
  extrapolated: boolean;
}

/**
 * vs-emulation (the kernel lane): a real iterator, with the real iterators
 * its descriptor adds (`with`), against the emulation of that work with the
 * emulation's floor subtracted: (method + with) / (reference - minus), per
 * round. < 1: the real iterators take less time than the emulation's
 * same-kind work.
 */
export type RatioKind = 'speedup' | 'vs-floor' | 'chain' | 'vs-emulation';
/** suspect: a method measured faster than its own floor; chain-break: a floor faster than a floor it is part of */
/** suspect / chain-break: the whole CI below 0.9; unsure: the median below 0.9, the CI reaching above it */
export type RatioFlag = 'suspect' | 'chain-break' | 'unsure';

export interface RatioRow {
  scenario: Scenario;
  n: number;
  method: string;
  reference: string;
  kind: RatioKind;
  /** speedup: reference time / method time (> 1: method faster); vs-floor and chain: method / reference; vs-emulation: see RatioKind */
  value: PairedRatio;
  /** vs-emulation: the further real iterators added to method, and the floor subtracted from reference */
  with?: string[];
  minus?: string;
  extrapolated: boolean;
  flags: RatioFlag[];
  /** why a flag was raised, one sentence */
  why?: string;
}

export interface SlopeRow {
  scenario: Scenario;
  method: string;
  /** median over rounds of the per-round log-log slope, with its CI */
  slope: number;
  ciLow: number;
  ciHigh: number;
  rounds: number;
  sizes: number[];
  /** label of the closest simple model, from the pooled medians */
  label?: GrowthLabel;
  extrapolated: boolean;
}

export interface MachineRow {
  scenario: Scenario;
  rounds: number;
  busyRounds: number;
  load1Max: number;
  stealPctMax: number;
  cpuPressurePctMax?: number;
  memProbeMedianNs: number;
  /** last third of the rounds' memory probe over the first third's */
  memProbeDrift: number;
}

/** One CRIU dump and what the methods took on the same tree. */
export interface CriuRow {
  scenario: Scenario;
  n: number;
  fds: number;
  /** the variant CRIU can dump, or the default tree */
  variant?: string;
  state: string;
  /** refused: CRIU's headline error and what in the tree it cannot dump */
  reason?: string;
  why?: string;
  wallMs?: number;
  fileStateMs?: number;
  fileShare?: number;
  /** the recovery methods measured on the same tree (variant): median time each */
  methods: { method: string; family: string; medianNs: number }[];
}

/** the fastest procfs-family recovery method at one (scenario, N): the strongest user-space baseline */
export interface StrongestRow {
  scenario: Scenario;
  n: number;
  method: string;
  medianNs: number;
}

export interface Analysis {
  times: TimeRow[];
  ratios: RatioRow[];
  slopes: SlopeRow[];
  machine: MachineRow[];
  criu: CriuRow[];
  strongest: StrongestRow[];
  /** the task dimension (empty without a task sweep) */
  tasks: TaskAnalysis;
}

/** per scenario with a task sweep, its largest K */
export function sweepKMax(results: Pick<ResultsFile, 'measurements'>): Map<Scenario, number> {
  const out = new Map<Scenario, number>();
  for (const m of results.measurements) if (m.k !== undefined) out.set(m.scenario, Math.max(out.get(m.scenario) ?? 0, m.k));
  return out;
}

/**
 * The size view: every measurement and instance outside a task sweep, and a
 * task sweep's at its largest K. The figures over N are made of these.
 */
export function inSizeView(results: Pick<ResultsFile, 'measurements'>): (x: { scenario: Scenario; k?: number }) => boolean {
  const kMax = sweepKMax(results);
  return (x) => x.k === undefined || x.k === kMax.get(x.scenario);
}

const key3 = (s: string, m: string, n: number) => `${s}\0${m}\0${n}`;

/** verified measurements of the size view grouped by (scenario, method, n), replicas in order */
export function groupVerified(results: ResultsFile): Map<string, Verified[]> {
  const out = new Map<string, Verified[]>();
  const view = inSizeView(results);
  for (const m of results.measurements) {
    // a lane's variant instance is not part of the sweep's figures
    if (m.state !== 'verified' || m.variant || !view(m)) continue;
    const k = key3(m.scenario, m.method, m.n);
    const l = out.get(k) ?? [];
    l.push(m);
    out.set(k, l);
  }
  for (const l of out.values()) l.sort((a, b) => a.replica - b.replica);
  return out;
}

/** scenarios in config order that have measurements */
export function scenariosOf(results: ResultsFile): Scenario[] {
  const seen: Scenario[] = [];
  for (const s of results.config?.scenarios ?? []) if (!seen.includes(s)) seen.push(s);
  for (const m of results.measurements) if (!seen.includes(m.scenario)) seen.push(m.scenario);
  return seen.filter((s) => results.measurements.some((m) => m.scenario === s));
}

/**
 * Pairs for num/den at one (scenario, n): each instance of `num` with `den`
 * on the same instance, else on the first replica that has `den` (still the
 * same rounds: pairing is by round, the instance adds its own variance).
 */
export function pairsFor(num: readonly { instance: number; samples: Samples }[], den: readonly { instance: number; samples: Samples }[]): { num: Samples; den: Samples }[] {
  const ids = [...new Set([...num, ...den].map((m) => m.instance))].sort((a, b) => a - b);
  const pairs: { num: Samples; den: Samples }[] = [];
  for (const id of ids) {
    const a = num.find((m) => m.instance === id) ?? num[0];
    const b = den.find((m) => m.instance === id) ?? den[0];
    if (a && b) pairs.push({ num: a.samples, den: b.samples });
  }
  return pairs;
}

/** the bootstrap seed of a ratio row: the same data give the same interval, in a run's rounds (bench/goal.ts) and in its report */
export function ratioSeed(kind: RatioKind, scenario: Scenario, method: string, reference: string, n: number): number {
  return seedFrom(`${kind}/${scenario}/${method}/${reference}/${n}`);
}

function flagsFor(kind: RatioKind, v: PairedRatio, method: string, reference: string): Pick<RatioRow, 'flags' | 'why'> {
  if (kind === 'vs-floor' && v.ciHigh < SUSPECT_BELOW) {
    return { flags: ['suspect'], why: `${method} measured ${v.ratio.toFixed(2)}x its floor ${reference} (95% CI up to ${v.ciHigh.toFixed(2)}): a floor does a subset of its method's work, so this is a measurement artefact` };
  }
  if (kind === 'chain' && v.ciHigh < SUSPECT_BELOW) {
    return { flags: ['chain-break'], why: `${reference} is part of ${method}'s work but measured ${(1 / v.ratio).toFixed(2)}x slower (95% CI of ${method}/${reference} up to ${v.ciHigh.toFixed(2)})` };
  }
  if ((kind === 'vs-floor' || kind === 'chain') && v.ratio < SUSPECT_BELOW) {
    // a median no subset of the work can have, with a CI too wide to call it an artefact: neither
    // a result nor "met"
    return { flags: ['unsure'], why: `${method} measured ${v.ratio.toFixed(2)}x ${reference}, which is part of its work (95% CI ${v.ciLow.toFixed(2)}-${v.ciHigh.toFixed(2)}): below 0.9 but too noisy to call an artefact; not a result` };
  }
  return { flags: [] };
}

export function analyze(results: ResultsFile, opts: { iterations?: number } = {}): Analysis {
  const groups = groupVerified(results);
  const desc = new Map<string, MethodDescriptor>(results.methods.map((m) => [m.name, m]));
  const iterations = opts.iterations ?? 2000;
  const times: TimeRow[] = [];
  const ratios: RatioRow[] = [];
  const slopes: SlopeRow[] = [];
  for (const [k, ms] of groups) {
    const [scenario, method, n] = k.split('\0') as [Scenario, string, string];
    const t = pooledTime(ms.map((m) => m.samples), { iterations, seed: seedFrom(`time/${k}`) });
    times.push({
      scenario,
      method,
      n: Number(n),
      medianNs: t.value,
      ciLowNs: t.ciLow,
      ciHighNs: t.ciHigh,
      perInstanceNs: t.perInstance,
      rounds: new Set(ms.flatMap((m) => m.samples.round)).size,
      extrapolated: ms.some((m) => m.extrapolated),
    });
  }
  const push = (scenario: Scenario, n: number, method: string, reference: string, kind: RatioKind) => {
    const a = groups.get(key3(scenario, method, n));
    const b = groups.get(key3(scenario, reference, n));
    if (!a || !b) return;
    // speedup = reference / method; the others method / reference
    const pairs = kind === 'speedup' ? pairsFor(b, a) : pairsFor(a, b);
    if (pairs.length === 0) return;
    const value = pairedRatio(pairs, { iterations, seed: ratioSeed(kind, scenario, method, reference, n) });
    if (!(value.rounds > 0)) return;
    ratios.push({
      scenario,
      n,
      method,
      reference,
      kind,
      value,
      extrapolated: a.some((m) => m.extrapolated) || b.some((m) => m.extrapolated),
      ...flagsFor(kind, value, method, reference),
    });
  };
  // the kernel lane: a real iterator (and the ones it names) against the
  // emulation's same work, the emulation's floor subtracted, per round
  const pushEmulation = (scenario: Scenario, n: number, method: string, em: NonNullable<MethodDescriptor['emulation']>) => {
    const get = (name: string) => groups.get(key3(scenario, name, n));
    const nums = [method, ...em.with].map(get);
    const den = get(em.method);
    const minus = em.floor ? get(em.floor) : undefined;
    if (nums.some((x) => !x) || !den || (em.floor && !minus)) return;
    // same instance for every part, else its first replica (as pairsFor)
    const ids = [...new Set(nums[0]!.map((m) => m.instance))].sort((a, b) => a - b);
    const on = (ms: Verified[], id: number) => (ms.find((m) => m.instance === id) ?? ms[0]!).samples;
    const sets = ids.map((id) => ({ nums: nums.map((ms) => on(ms!, id)), den: on(den, id), ...(minus ? { minus: on(minus, id) } : {}) }));
    const value = pairedNetRatio(sets, { iterations, seed: seedFrom(`vs-emulation/${scenario}/${method}/${em.method}/${n}`) });
    if (!(value.rounds > 0)) return;
    const row: RatioRow = {
      scenario,
      n,
      method,
      reference: em.method,
      kind: 'vs-emulation',
      value,
      extrapolated: false,
      flags: [],
      ...(em.with.length ? { with: [...em.with] } : {}),
      ...(em.floor ? { minus: em.floor } : {}),
    };
    if (value.dropped > 0) {
      row.flags = ['suspect'];
      row.why = `in ${value.dropped} round(s) ${em.method} measured no slower than ${em.floor ?? 'nothing'}, so it had no same-kind work to compare: a measurement artefact`;
    }
    ratios.push(row);
  };
  const cells = [...new Set([...groups.keys()].map((k) => k.split('\0')))].map(([s, m, n]) => ({ s: s as Scenario, m: m!, n: Number(n) }));
  for (const { s, m, n } of cells) {
    const d = desc.get(m);
    if (!d) continue;
    for (const ref of d.speedupOver) push(s, n, m, ref, 'speedup');
    if (d.floor) push(s, n, m, d.floor, 'vs-floor');
    // chains: every method whose work includes this floor's must not measure faster
    for (const sup of d.subsetOf) push(s, n, sup, m, 'chain');
    if (d.emulation) pushEmulation(s, n, m, d.emulation);
  }
  // growth: per-round slopes over the sizes of a scenario
  const byMethod = new Map<string, Verified[]>();
  for (const ms of groups.values()) {
    for (const m of ms) {
      const k = `${m.scenario}\0${m.method}`;
      const l = byMethod.get(k) ?? [];
      l.push(m);
      byMethod.set(k, l);
    }
  }
  for (const [k, ms] of byMethod) {
    const [scenario, method] = k.split('\0') as [Scenario, string];
    const sizes = [...new Set(ms.map((m) => m.n))].sort((a, b) => a - b);
    if (sizes.length < 3) continue;
    const series = roundSlopes(ms.map((m) => ({ n: m.n, samples: m.samples })));
    if (series.values.length === 0) continue;
    const iv = slopeInterval(series, { iterations, seed: seedFrom(`slope/${k}`) });
    const pooled = fitGrowth(
      sizes.map((n) => ({ n, medianNs: times.find((t) => t.scenario === scenario && t.method === method && t.n === n)!.medianNs })),
    );
    const row: SlopeRow = {
      scenario,
      method,
      slope: iv.value,
      ciLow: iv.ciLow,
      ciHigh: iv.ciHigh,
      rounds: iv.rounds,
      sizes,
      extrapolated: ms.some((m) => m.extrapolated),
    };
    if (pooled.ok && pooled.label && Math.abs(iv.value - pooled.slope) < 0.25) row.label = pooled.label;
    slopes.push(row);
  }
  const strongest: StrongestRow[] = [];
  for (const t of times) {
    const d = desc.get(t.method);
    if (d?.family !== 'procfs' || d.role !== 'recovery') continue;
    const cur = strongest.find((x) => x.scenario === t.scenario && x.n === t.n);
    if (!cur) strongest.push({ scenario: t.scenario, n: t.n, method: t.method, medianNs: t.medianNs });
    else if (t.medianNs < cur.medianNs) Object.assign(cur, { method: t.method, medianNs: t.medianNs });
  }
  return { times, ratios, slopes, machine: machineRows(results), criu: criuRows(results, iterations), strongest, tasks: analyzeTasks(results, { iterations }) };
}

function criuRows(results: ResultsFile, iterations: number): CriuRow[] {
  const lane = results.criu;
  if (lane?.state !== 'ran') return [];
  const desc = new Map(results.methods.map((d) => [d.name, d]));
  return lane.dumps.map((d) => {
    const row: CriuRow = { scenario: d.scenario, n: d.n, fds: d.fds, state: d.state, methods: [] };
    if (d.variant) row.variant = d.variant;
    if ('reason' in d) row.reason = d.reason;
    if (d.state === 'refused') row.why = d.refusal.why;
    if ('timing' in d && d.timing) {
      row.wallMs = d.timing.wallMs;
      if ('fileStateMs' in d.timing) {
        row.fileStateMs = d.timing.fileStateMs;
        row.fileShare = d.timing.fileShare;
      }
    }
    for (const m of results.measurements) {
      if (m.instance !== d.instance || m.state !== 'verified' || desc.get(m.method)?.role !== 'recovery') continue;
      row.methods.push({ method: m.method, family: m.family, medianNs: pooledTime([m.samples], { iterations, seed: seedFrom(`criu/${m.instance}/${m.method}`) }).value });
    }
    return row;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
}

export function isBusy(r: RoundInfo, nproc: number): boolean {
  return r.probe.load1 > nproc || r.probe.stealPct > BUSY.stealPct || (r.probe.cpuPressurePct ?? 0) > BUSY.cpuPressurePct;
}

function machineRows(results: ResultsFile): MachineRow[] {
  const out: MachineRow[] = [];
  const nproc = results.environment?.nproc ?? 1;
  for (const s of scenariosOf(results)) {
    const rs = results.rounds.filter((r) => r.scenario === s).sort((a, b) => a.index - b.index);
    if (rs.length === 0) continue;
    const mem = rs.map((r) => r.probe.memProbeNs).filter((x) => x > 0);
    const third = Math.max(1, Math.floor(mem.length / 3));
    const pressure = rs.map((r) => r.probe.cpuPressurePct).filter((x): x is number => x !== undefined);
    const row: MachineRow = {
      scenario: s,
      rounds: rs.length,
      busyRounds: rs.filter((r) => isBusy(r, nproc)).length,
      load1Max: Math.max(...rs.map((r) => r.probe.load1)),
      stealPctMax: Math.max(...rs.map((r) => r.probe.stealPct)),
      memProbeMedianNs: median(mem),
      memProbeDrift: mem.length >= 3 ? median(mem.slice(-third)) / median(mem.slice(0, third)) : 1,
    };
    if (pressure.length) row.cpuPressurePctMax = Math.max(...pressure);
    out.push(row);
  }
  return out;
}

/** the largest N of each scenario that has verified measurements */
export function largestN(results: ResultsFile): Map<Scenario, number> {
  const out = new Map<Scenario, number>();
  for (const m of results.measurements) if (m.state === 'verified') out.set(m.scenario, Math.max(out.get(m.scenario) ?? 0, m.n));
  return out;
}
