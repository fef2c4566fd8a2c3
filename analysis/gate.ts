/**
 * The regression gate, as pure functions.
 *
 * A/B (what CI runs): the submission and a reference build measured in the
 * same run, on the same frozen workload instances, their blocks adjacent and
 * in random order inside every round (duet benchmarking: Bulej et al., ICPE
 * 2020). Per (scenario, method, N) the paired time ratio submission /
 * reference per round; a regression is a ratio of at least `threshold`
 * whose paired 95 % CI lies above 1 + `margin`, consistently over the sizes
 * (more than half of them, geometric mean over the sizes >= threshold).
 *
 * Across runs (a user's manual comparison with the committed baseline): the
 * within-run paired ratios of each run (method / floor, speedups), and the
 * per-round growth slopes; same consistency rule; absolute medians only on
 * the same machine fingerprint. A task sweep adds its ratios at every K and
 * its growth slopes in K (analysis/tasks.ts), judged the same way.
 *
 * State always counts: a method `wrong` or `errored` in the submission, or
 * verified before and skipped now, is a regression. A suspect figure (a
 * method faster than its own floor: a measurement artefact) is never a pass
 * and never evidence of a regression: when one would decide the verdict the
 * gate says so and the outcome is `incomparable` (exit 2).
 */
import type { InstanceInfo, MethodDescriptor, ResultsFile, RoundInfo, Samples } from '../bench/schema.js';
import type { Scenario } from '../bench/manifest.js';
import { analyze, SUSPECT_BELOW, type Analysis } from './analyze.js';
import { pairedRatio, type PairedRatio } from './paired.js';
import { seedFrom } from './prng.js';
import { formatNs } from './units.js';

export interface GateOptions {
  /** a ratio worse by this factor is a regression candidate */
  threshold: number;
  /** and its CI must lie above 1 + margin (A/B) */
  margin: number;
  /** a growth slope higher by this is a regression candidate (across runs) */
  slopeThreshold: number;
  /** absolute medians slower by this factor (same machine only; across runs) */
  absThreshold: number;
  /** compare absolute medians: auto = only on the same machine fingerprint */
  absolute: 'auto' | 'on' | 'off';
  /** bootstrap resamples per ratio */
  iterations: number;
}

export const DEFAULT_GATE: GateOptions = {
  threshold: 1.25,
  margin: 0.05,
  slopeThreshold: 0.3,
  absThreshold: 2,
  absolute: 'auto',
  iterations: 1000,
};

/** The inputs cannot be compared: exit 2, one line. */
export class Incomparable extends Error {}

export type CheckKind = 'state' | 'ab' | 'ratio' | 'slope' | 'absolute';
/** regression fails the gate; suspect cannot be judged; noise: past the threshold, not beyond noise */
export type Verdict = 'ok' | 'regression' | 'noise' | 'improved' | 'suspect' | 'info';
export type Outcome = 'pass' | 'regression' | 'incomparable';

export interface Check {
  kind: CheckKind;
  scenario: Scenario;
  method: string;
  /** the reference of a ratio (a floor, procfs, ...) */
  reference?: string;
  n?: number;
  /** a task sweep's K */
  k?: number;
  baseline?: number;
  baselineCi?: [number, number];
  current?: number;
  currentCi?: [number, number];
  /** ab: submission / reference time ratio; ratio/absolute: current / baseline; slope: current - baseline */
  change?: number;
  changeCi?: [number, number];
  verdict: Verdict;
  message: string;
}

export interface Fingerprint {
  cpuModel: string;
  nproc: number;
  kernelRelease: string;
}

export interface GateReport {
  mode: 'ab' | 'runs';
  outcome: Outcome;
  pass: boolean;
  regressions: number;
  suspect: number;
  options: GateOptions;
  baseline: { label: string; fingerprint?: Fingerprint; startedAt?: string };
  current: { label: string; fingerprint?: Fingerprint; startedAt?: string };
  sameMachine: boolean;
  absoluteCompared: boolean;
  checks: Check[];
}

/** 3 significant digits, also below 1 */
export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1 || x === 0) return x.toFixed(2);
  return String(Number(x.toPrecision(3)));
}

/**
 * A slower lane is slower at every size; load bursts hit one size at a
 * time. Per-N candidates fail the gate only when their group (scenario,
 * method, reference) is consistent: more than half of the sizes are
 * candidates and the geometric-mean change reaches the threshold.
 */
function settleGroups(checks: Check[], kind: CheckKind, threshold: number): void {
  const groups = new Map<string, Check[]>();
  for (const c of checks) {
    if (c.kind !== kind || c.change === undefined) continue;
    const key = `${c.scenario}\0${c.method}\0${c.reference ?? ''}`;
    const g = groups.get(key) ?? [];
    g.push(c);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const judged = g.filter((c) => c.verdict !== 'suspect');
    if (!judged.length) continue;
    const gm = Math.exp(judged.reduce((a, c) => a + Math.log(c.change!), 0) / judged.length);
    const worse = judged.filter((c) => c.verdict === 'regression').length;
    const consistent = gm >= threshold && worse * 2 > judged.length;
    for (const c of judged) {
      if (c.verdict !== 'regression') continue;
      if (consistent) c.message += ` [${worse} of ${judged.length} sizes worse; geometric-mean change ${fmtRatio(gm)}x]`;
      else {
        c.verdict = 'noise';
        c.message += ` [not consistent across sizes: ${worse} of ${judged.length} worse, geometric-mean change ${fmtRatio(gm)}x]`;
      }
    }
  }
}

function finish(report: Omit<GateReport, 'outcome' | 'pass' | 'regressions' | 'suspect'>): GateReport {
  const regressions = report.checks.filter((c) => c.verdict === 'regression').length;
  const suspect = report.checks.filter((c) => c.verdict === 'suspect').length;
  const outcome: Outcome = regressions > 0 ? 'regression' : suspect > 0 ? 'incomparable' : 'pass';
  return { ...report, outcome, pass: outcome === 'pass', regressions, suspect };
}

// ---------------------------------------------------------------- A/B

/** What the gate's A/B run recorded (bench/ab.ts writes it; schema below). */
export const AB_SCHEMA = 'iterbench-ab/1';

export interface AbSide {
  /** git revision of the build */
  revision: string;
  /** ITERBENCH_SLOWDOWN given to this build (test-only) */
  slowdown?: string;
  methods: MethodDescriptor[];
}

export interface AbCell {
  scenario: Scenario;
  method: string;
  n: number;
  instance: number;
  /** submission (a) and reference (b): their samples, or why not */
  a: { state: 'verified'; samples: Samples } | { state: 'wrong' | 'errored' | 'skipped'; reason: string };
  b: { state: 'verified'; samples: Samples } | { state: 'wrong' | 'errored' | 'skipped'; reason: string };
}

export interface AbResults {
  schema: typeof AB_SCHEMA;
  startedAt: string;
  finishedAt?: string;
  complete: boolean;
  environment: ResultsFile['environment'];
  config: { scenarios: Scenario[]; sizes: number[]; seed: number; rounds: number };
  submission: AbSide;
  reference: AbSide;
  instances: InstanceInfo[];
  rounds: RoundInfo[];
  cells: AbCell[];
}

type Verified = { state: 'verified'; samples: Samples };
const isV = (x: AbCell['a']): x is Verified => x.state === 'verified';

/**
 * A build's own floors at one (scenario, n): is a method measured faster
 * than its floor (CI below 0.9)? Then its data there is suspect.
 */
function suspectCells(ab: AbResults, side: 'a' | 'b', iterations: number): Set<string> {
  const desc = side === 'a' ? ab.submission.methods : ab.reference.methods;
  const out = new Set<string>();
  for (const c of ab.cells) {
    const d = desc.find((x) => x.name === c.method);
    if (!d?.floor) continue;
    const f = ab.cells.find((x) => x.instance === c.instance && x.method === d.floor);
    const mine = c[side];
    const fl = f?.[side];
    if (!mine || !fl || !isV(mine) || !isV(fl)) continue;
    const r = pairedRatio([{ num: mine.samples, den: fl.samples }], { iterations, seed: seedFrom(`ab-suspect/${side}/${c.instance}/${c.method}`) });
    if (r.rounds > 0 && r.ciHigh < SUSPECT_BELOW) out.add(`${c.instance}:${c.method}`);
  }
  return out;
}

export function compareAB(ab: AbResults, options: Partial<GateOptions> = {}): GateReport {
  const opts: GateOptions = { ...DEFAULT_GATE, ...options };
  if (ab.schema !== AB_SCHEMA) throw new Incomparable(`A/B results schema ${JSON.stringify(ab.schema)}, this gate reads ${AB_SCHEMA}`);
  if (!ab.complete) throw new Incomparable('the A/B run was interrupted: rerun it to the end');
  const checks: Check[] = [];
  const suspectA = suspectCells(ab, 'a', opts.iterations);
  const suspectB = suspectCells(ab, 'b', opts.iterations);
  const groups = new Map<string, AbCell[]>();
  for (const c of ab.cells) {
    const k = `${c.scenario}\0${c.method}\0${c.n}`;
    const g = groups.get(k) ?? [];
    g.push(c);
    groups.set(k, g);
  }
  for (const [k, cells] of groups) {
    const [scenario, method, nText] = k.split('\0') as [Scenario, string, string];
    const n = Number(nText);
    const base = { scenario, method, n };
    const wrongA = cells.find((c) => c.a.state === 'wrong' || c.a.state === 'errored');
    if (wrongA && !isV(wrongA.a)) {
      const bWasOk = cells.some((c) => isV(c.b));
      checks.push({ ...base, kind: 'state', verdict: 'regression', message: `${method} is ${wrongA.a.state.toUpperCase()} in the submission at N=${n} in ${scenario}: ${wrongA.a.reason}${bWasOk ? ' (verified in the reference)' : ''}` });
      continue;
    }
    const skippedA = cells.find((c) => c.a.state === 'skipped');
    if (skippedA && !isV(skippedA.a) && cells.some((c) => isV(c.b))) {
      checks.push({ ...base, kind: 'state', verdict: 'regression', message: `${method} is verified in the reference and skipped in the submission at N=${n} in ${scenario}: ${skippedA.a.reason}` });
      continue;
    }
    const pairs = cells.filter((c) => isV(c.a) && isV(c.b)).map((c) => ({ num: (c.a as Verified).samples, den: (c.b as Verified).samples, c }));
    if (!pairs.length) {
      const why = cells.map((c) => (!isV(c.b) ? `reference ${c.b.state}: ${c.b.reason}` : '')).find(Boolean);
      if (why && cells.some((c) => isV(c.a))) checks.push({ ...base, kind: 'state', verdict: 'info', message: `${method} at N=${n} in ${scenario}: not compared (${why})` });
      continue;
    }
    const r: PairedRatio = pairedRatio(pairs, { iterations: opts.iterations, seed: seedFrom(`ab/${k}`) });
    if (!(r.rounds > 0)) continue;
    const suspect = pairs.some((p) => suspectA.has(`${p.c.instance}:${method}`) || suspectB.has(`${p.c.instance}:${method}`));
    let verdict: Verdict = 'ok';
    if (r.ratio >= opts.threshold) verdict = r.ciLow > 1 + opts.margin ? 'regression' : 'noise';
    else if (r.ratio <= 1 / opts.threshold && r.ciHigh < 1 - opts.margin) verdict = 'improved';
    if (suspect && verdict !== 'ok') verdict = 'suspect';
    const what = `${method} at N=${n} in ${scenario}`;
    const ci = `95% CI ${fmtRatio(r.ciLow)}-${fmtRatio(r.ciHigh)}, ${r.rounds} paired rounds`;
    const message =
      verdict === 'regression'
        ? `${method} got ${fmtRatio(r.ratio)}x slower than the reference at N=${n} in ${scenario} (${ci})`
        : verdict === 'noise'
          ? `${what}: ${fmtRatio(r.ratio)}x the reference but the CI reaches ${fmtRatio(r.ciLow)} (within noise)`
          : verdict === 'improved'
            ? `${what}: ${fmtRatio(r.ratio)}x the reference (${ci})`
            : verdict === 'suspect'
              ? `${what}: ${fmtRatio(r.ratio)}x the reference, but a build measured it faster than its own floor there: suspect data, not judged`
              : `${what}: ${fmtRatio(r.ratio)}x the reference (${ci})`;
    checks.push({ ...base, kind: 'ab', reference: 'reference', current: r.ratio, change: r.ratio, changeCi: [r.ciLow, r.ciHigh], verdict, message });
  }
  settleGroups(checks, 'ab', opts.threshold);
  return finish({
    mode: 'ab',
    options: opts,
    baseline: { label: `reference ${ab.reference.revision}${ab.reference.slowdown ? ` (slowdown ${ab.reference.slowdown})` : ''}` },
    current: { label: `submission ${ab.submission.revision}${ab.submission.slowdown ? ` (slowdown ${ab.submission.slowdown})` : ''}`, startedAt: ab.startedAt },
    sameMachine: true,
    absoluteCompared: false,
    checks,
  });
}

// ---------------------------------------------------------------- across runs

export function fingerprint(r: ResultsFile): Fingerprint {
  const e = r.environment ?? ({} as ResultsFile['environment']);
  return { cpuModel: e.cpuModel ?? '?', nproc: e.nproc ?? 0, kernelRelease: e.kernelRelease ?? '?' };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.cpuModel === b.cpuModel && a.nproc === b.nproc && a.kernelRelease === b.kernelRelease;
}

const k3 = (s: string, m: string, n: number, k?: number) => `${s}\0${m}\0${n}${k !== undefined ? `\0${k}` : ''}`;
const atK = (k?: number) => (k !== undefined ? ` K=${k}` : '');

export function compareRuns(baseline: ResultsFile, current: ResultsFile, options: Partial<GateOptions> = {}): GateReport {
  const opts: GateOptions = { ...DEFAULT_GATE, ...options };
  for (const [label, r] of [['baseline', baseline], ['current', current]] as const) {
    if (r.complete === false) throw new Incomparable(`the ${label} run ${r.runId} is incomplete${r.interrupted ? ` (${r.interrupted})` : ''}: rerun it to the end`);
  }
  const bs = [...new Set(baseline.config.scenarios)].sort();
  const cs = [...new Set(current.config.scenarios)].sort();
  if (bs.join(',') !== cs.join(',')) throw new Incomparable(`scenario sets differ: baseline ${bs.join(',') || '(none)'}, current ${cs.join(',') || '(none)'}`);
  const sizesOf = (r: ResultsFile, s: string) => new Set(r.measurements.filter((m) => m.scenario === s).map((m) => m.n));
  const common = new Map<string, number[]>();
  for (const s of bs) {
    const nb = sizesOf(baseline, s);
    common.set(s, [...sizesOf(current, s)].filter((n) => nb.has(n)).sort((a, b) => a - b));
  }
  if (![...common.values()].some((v) => v.length) && baseline.measurements.length && current.measurements.length) {
    throw new Incomparable('no size measured in both runs');
  }
  const fb = fingerprint(baseline);
  const fc = fingerprint(current);
  const sameMachine = sameFingerprint(fb, fc);
  const absoluteCompared = opts.absolute === 'on' || (opts.absolute === 'auto' && sameMachine);
  const checks: Check[] = [];

  // ---- state
  const state = (r: ResultsFile) => {
    const out = new Map<string, (typeof r.measurements)[number]>();
    for (const m of r.measurements) {
      const k = k3(m.scenario, m.method, m.n, m.k);
      const prev = out.get(k);
      // the worst state of the replicas counts
      if (!prev || (prev.state === 'verified' && m.state !== 'verified')) out.set(k, m);
    }
    return out;
  };
  const sb = state(baseline);
  const sc = state(current);
  const curPairs = new Set(current.measurements.map((m) => `${m.scenario}\0${m.method}`));
  const reported = new Set<string>();
  for (const b of baseline.measurements) {
    const key = `${b.scenario}\0${b.method}`;
    if (curPairs.has(key) || reported.has(key)) continue;
    reported.add(key);
    checks.push({ kind: 'state', scenario: b.scenario, method: b.method, verdict: 'regression', message: `${b.method} is missing from the current run in scenario ${b.scenario} (the baseline has it)` });
  }
  for (const [k, c] of sc) {
    const b = sb.get(k);
    const base = { kind: 'state' as const, scenario: c.scenario, method: c.method, n: c.n, ...(c.k !== undefined ? { k: c.k } : {}) };
    const at = `N=${c.n}${atK(c.k)}`;
    if (c.state === 'wrong') checks.push({ ...base, verdict: 'regression', message: `${c.method} is WRONG at ${at} in ${c.scenario}: ${c.reason}` });
    else if (c.state === 'errored') checks.push({ ...base, verdict: 'regression', message: `${c.method} errored at ${at} in ${c.scenario}: ${c.reason}` });
    else if (c.state === 'skipped' && b?.state === 'verified') {
      checks.push({ ...base, verdict: 'regression', message: `${c.method} was verified in the baseline and is now skipped at ${at} in ${c.scenario}: ${c.reason}` });
    } else if (c.state === 'verified' && b && b.state !== 'verified') {
      checks.push({ ...base, verdict: 'improved', message: `${c.method} is verified at ${at} in ${c.scenario} (baseline: ${b.state})` });
    }
  }

  // ---- within-run paired ratios, compared across the runs
  const ab: Analysis = analyze(baseline, { iterations: opts.iterations });
  const ac: Analysis = analyze(current, { iterations: opts.iterations });
  // the size view's ratios, then a task sweep's at every K (same (N, K) in both runs)
  type Judged = Pick<Analysis['ratios'][number], 'kind' | 'scenario' | 'n' | 'method' | 'reference' | 'value' | 'flags' | 'why'> & { k?: number };
  const sweepRatios = (a: Analysis): Judged[] => a.tasks.ratios.map((r) => ({ ...r, flags: [] }));
  const pairsToJudge: [Judged, Judged][] = [];
  for (const rc of ac.ratios) {
    if (rc.kind === 'chain') continue;
    if (!(common.get(rc.scenario) ?? []).includes(rc.n)) continue;
    const rb = ab.ratios.find((x) => x.kind === rc.kind && x.scenario === rc.scenario && x.n === rc.n && x.method === rc.method && x.reference === rc.reference);
    if (rb) pairsToJudge.push([rb, rc]);
  }
  const tb = sweepRatios(ab);
  for (const rc of sweepRatios(ac)) {
    const rb = tb.find((x) => x.kind === rc.kind && x.scenario === rc.scenario && x.n === rc.n && x.k === rc.k && x.method === rc.method && x.reference === rc.reference);
    if (rb) pairsToJudge.push([rb, rc]);
  }
  for (const [rb, rc] of pairsToJudge) {
    // as "time of method / time of reference": bigger is worse
    const t = (r: typeof rc) => (r.kind === 'speedup' ? { v: 1 / r.value.ratio, lo: 1 / r.value.ciHigh, hi: 1 / r.value.ciLow } : { v: r.value.ratio, lo: r.value.ciLow, hi: r.value.ciHigh });
    const b = t(rb);
    const c = t(rc);
    const change = c.v / b.v;
    let verdict: Verdict = 'ok';
    if (change >= opts.threshold) verdict = c.lo > b.hi ? 'regression' : 'noise';
    else if (change <= 1 / opts.threshold && b.lo > c.hi) verdict = 'improved';
    if ((rb.flags.length || rc.flags.length) && verdict !== 'ok') verdict = 'suspect';
    const at = `N=${rc.n}${atK(rc.k)}`;
    const what = `${rc.method} / ${rc.reference} at ${at} in ${rc.scenario}`;
    checks.push({
      kind: 'ratio',
      scenario: rc.scenario,
      method: rc.method,
      reference: rc.reference,
      n: rc.n,
      ...(rc.k !== undefined ? { k: rc.k } : {}),
      baseline: b.v,
      baselineCi: [b.lo, b.hi],
      current: c.v,
      currentCi: [c.lo, c.hi],
      change,
      verdict,
      message:
        verdict === 'regression'
          ? `${rc.method} got ${fmtRatio(change)}x slower relative to ${rc.reference} at ${at} in ${rc.scenario}: time ratio ${fmtRatio(b.v)} -> ${fmtRatio(c.v)} (95% CIs ${fmtRatio(b.lo)}-${fmtRatio(b.hi)} vs ${fmtRatio(c.lo)}-${fmtRatio(c.hi)})`
          : verdict === 'suspect'
            ? `${what}: ratio ${fmtRatio(b.v)} -> ${fmtRatio(c.v)}, but one run flags it (${(rc.flags.length ? rc : rb).why}): not judged`
            : `${what}: time ratio ${fmtRatio(b.v)} -> ${fmtRatio(c.v)} (${fmtRatio(change)}x)${verdict === 'noise' ? ', CIs overlap (within noise)' : ''}`,
    });
  }
  settleGroups(checks, 'ratio', opts.threshold);

  // ---- growth slopes (per-round fits)
  for (const sc2 of ac.slopes) {
    const sb2 = ab.slopes.find((x) => x.scenario === sc2.scenario && x.method === sc2.method);
    if (!sb2 || sb2.sizes.join(',') !== sc2.sizes.join(',')) continue;
    const diff = sc2.slope - sb2.slope;
    let verdict: Verdict = 'ok';
    if (diff >= opts.slopeThreshold) verdict = sc2.ciLow > sb2.ciHigh ? 'regression' : 'noise';
    else if (diff <= -opts.slopeThreshold && sb2.ciLow > sc2.ciHigh) verdict = 'improved';
    checks.push({
      kind: 'slope',
      scenario: sc2.scenario,
      method: sc2.method,
      baseline: sb2.slope,
      baselineCi: [sb2.ciLow, sb2.ciHigh],
      current: sc2.slope,
      currentCi: [sc2.ciLow, sc2.ciHigh],
      change: diff,
      verdict,
      message:
        verdict === 'regression'
          ? `${sc2.method} grows faster in ${sc2.scenario}: slope ${sb2.slope.toFixed(2)} -> ${sc2.slope.toFixed(2)} over N=${sc2.sizes.join(',')} (95% CIs ${sb2.ciLow.toFixed(2)}-${sb2.ciHigh.toFixed(2)} vs ${sc2.ciLow.toFixed(2)}-${sc2.ciHigh.toFixed(2)})`
          : `${sc2.method} slope in ${sc2.scenario}: ${sb2.slope.toFixed(2)} -> ${sc2.slope.toFixed(2)}${verdict === 'noise' ? ' (CIs overlap: noise)' : ''}`,
    });
  }

  // ---- growth in K (a task sweep), per-round fits over the same K
  for (const sc2 of ac.tasks.slopes) {
    const sb2 = ab.tasks.slopes.find((x) => x.scenario === sc2.scenario && x.method === sc2.method && x.n === sc2.n);
    if (!sb2 || sb2.ks.join(',') !== sc2.ks.join(',')) continue;
    const diff = sc2.slope - sb2.slope;
    let verdict: Verdict = 'ok';
    if (diff >= opts.slopeThreshold) verdict = sc2.ciLow > sb2.ciHigh ? 'regression' : 'noise';
    else if (diff <= -opts.slopeThreshold && sb2.ciLow > sc2.ciHigh) verdict = 'improved';
    checks.push({
      kind: 'slope',
      scenario: sc2.scenario,
      method: sc2.method,
      n: sc2.n,
      baseline: sb2.slope,
      baselineCi: [sb2.ciLow, sb2.ciHigh],
      current: sc2.slope,
      currentCi: [sc2.ciLow, sc2.ciHigh],
      change: diff,
      verdict,
      message:
        verdict === 'regression'
          ? `${sc2.method} grows faster with the tasks in ${sc2.scenario} at N=${sc2.n}: slope in K ${sb2.slope.toFixed(2)} -> ${sc2.slope.toFixed(2)} over K=${sc2.ks.join(',')} (95% CIs ${sb2.ciLow.toFixed(2)}-${sb2.ciHigh.toFixed(2)} vs ${sc2.ciLow.toFixed(2)}-${sc2.ciHigh.toFixed(2)})`
          : `${sc2.method} slope in K in ${sc2.scenario} at N=${sc2.n}: ${sb2.slope.toFixed(2)} -> ${sc2.slope.toFixed(2)}${verdict === 'noise' ? ' (CIs overlap: noise)' : ''}`,
    });
  }

  // ---- absolute medians, same machine only
  if (absoluteCompared) {
    for (const tc of ac.times) {
      if (!(common.get(tc.scenario) ?? []).includes(tc.n)) continue;
      const tb = ab.times.find((x) => x.scenario === tc.scenario && x.method === tc.method && x.n === tc.n);
      if (!tb) continue;
      const change = tc.medianNs / tb.medianNs;
      let verdict: Verdict = 'ok';
      if (change >= opts.absThreshold) verdict = tc.ciLowNs > tb.ciHighNs ? 'regression' : 'noise';
      else if (change <= 1 / opts.absThreshold && tb.ciLowNs > tc.ciHighNs) verdict = 'improved';
      checks.push({
        kind: 'absolute',
        scenario: tc.scenario,
        method: tc.method,
        n: tc.n,
        baseline: tb.medianNs,
        baselineCi: [tb.ciLowNs, tb.ciHighNs],
        current: tc.medianNs,
        currentCi: [tc.ciLowNs, tc.ciHighNs],
        change,
        verdict,
        message:
          verdict === 'regression'
            ? `${tc.method} median ${formatNs(tb.medianNs)} -> ${formatNs(tc.medianNs)} (${fmtRatio(change)}x) at N=${tc.n} in ${tc.scenario}, same machine`
            : `${tc.method} median at N=${tc.n} in ${tc.scenario}: ${fmtRatio(change)}x${verdict === 'noise' ? ' (CIs overlap: noise)' : ''}`,
      });
    }
    settleGroups(checks, 'absolute', opts.absThreshold);
  }
  return finish({
    mode: 'runs',
    options: opts,
    baseline: { label: `baseline ${baseline.runId} (${baseline.environment?.gitRevision ?? '?'})`, fingerprint: fb, startedAt: baseline.startedAt },
    current: { label: `current ${current.runId} (${current.environment?.gitRevision ?? '?'})`, fingerprint: fc, startedAt: current.startedAt },
    sameMachine,
    absoluteCompared,
    checks,
  });
}

// ---------------------------------------------------------------- output

function counts(r: GateReport): string {
  const by = (v: Verdict) => r.checks.filter((c) => c.verdict === v).length;
  return `${r.checks.length} checks: ${by('regression')} regression, ${by('suspect')} suspect, ${by('noise')} within noise, ${by('improved')} improved, ${by('ok')} ok`;
}

function cell(c: Check, which: 'baseline' | 'current'): string {
  const v = c[which];
  if (v === undefined) return '-';
  if (c.kind === 'absolute') return formatNs(v);
  return c.kind === 'slope' ? v.toFixed(2) : fmtRatio(v);
}

function changeCell(c: Check): string {
  if (c.change === undefined) return '-';
  if (c.kind === 'slope') return `${c.change >= 0 ? '+' : ''}${c.change.toFixed(2)}`;
  return `${fmtRatio(c.change)}x${c.changeCi ? ` (${fmtRatio(c.changeCi[0])}-${fmtRatio(c.changeCi[1])})` : ''}`;
}

function what(c: Check): string {
  if (c.kind === 'ratio') return `${c.method} / ${c.reference}`;
  return c.method;
}

const VERDICT_TEXT: Record<Verdict, string> = { regression: 'REGRESSION', suspect: 'SUSPECT', noise: 'noise', improved: 'improved', ok: 'ok', info: 'info' };

function headline(r: GateReport): string {
  if (r.outcome === 'regression') return `FAIL (${r.regressions} regression${r.regressions === 1 ? '' : 's'}: ${[...new Set(r.checks.filter((c) => c.verdict === 'regression').map((c) => c.method))].join(', ')})`;
  if (r.outcome === 'incomparable') return `INCOMPARABLE (${r.suspect} suspect check${r.suspect === 1 ? '' : 's'}: neither a pass nor a regression)`;
  return 'PASS';
}

/** Plain-text verdict table: the headline, then every check not ok (all with verbose). */
export function formatGateTable(r: GateReport, verbose = false): string {
  const lines: string[] = [];
  lines.push(`gate (${r.mode === 'ab' ? 'A/B, same run, paired rounds' : 'across runs'}): ${headline(r)}`);
  lines.push(`${r.baseline.label} vs ${r.current.label}`);
  lines.push(
    r.mode === 'ab'
      ? `thresholds: submission/reference time ratio x${r.options.threshold} with its paired 95% CI above ${1 + r.options.margin}, on more than half of the sizes`
      : `thresholds: ratio x${r.options.threshold}, slope +${r.options.slopeThreshold}, absolute x${r.options.absThreshold} (${r.absoluteCompared ? 'compared' : r.sameMachine ? 'off' : 'not compared: different machines'})`,
  );
  lines.push(counts(r));
  const rows = r.checks.filter((c) => verbose || (c.verdict !== 'ok' && c.verdict !== 'info'));
  if (rows.length > 0) {
    const head = ['verdict', 'check', 'scenario', 'what', 'N', 'baseline', 'current', 'change'];
    const data = rows.map((c) => [VERDICT_TEXT[c.verdict], c.kind, c.scenario, what(c), c.n === undefined ? '-' : `${c.n}${c.k !== undefined ? ` K=${c.k}` : ''}`, cell(c, 'baseline'), cell(c, 'current'), changeCell(c)]);
    const widths = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
    const fmt = (row: string[]) => row.map((x, i) => (i >= 4 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd();
    lines.push('', fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...data.map(fmt));
  }
  for (const [v, title] of [['regression', 'regressions'], ['suspect', 'suspect (not judged)']] as const) {
    const bad = r.checks.filter((c) => c.verdict === v);
    if (bad.length > 0) {
      lines.push('', `${title}:`);
      for (const c of bad) lines.push(`  ${c.message}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

/** Markdown summary for CI logs and pull-request comments. */
export function formatGateMarkdown(r: GateReport): string {
  const lines: string[] = [];
  lines.push(`## iterbench gate: ${headline(r)}`);
  lines.push('');
  lines.push(`${mdEscape(r.baseline.label)} vs ${mdEscape(r.current.label)}; ${r.mode === 'ab' ? 'A/B in one run, paired rounds' : 'across runs'}. ${counts(r)}.`);
  for (const [v, title] of [['regression', 'Regressions'], ['suspect', 'Suspect (not judged)']] as const) {
    const bad = r.checks.filter((c) => c.verdict === v);
    if (bad.length > 0) {
      lines.push('', `### ${title}`, '');
      for (const c of bad) lines.push(`- **${mdEscape(c.method)}** (${c.kind}, ${c.scenario}${c.n !== undefined ? `, N=${c.n}` : ''}): ${mdEscape(c.message)}`);
    }
  }
  const rows = r.checks.filter((c) => c.verdict !== 'info');
  if (rows.length > 0) {
    lines.push('', '<details><summary>All checks</summary>', '');
    lines.push('| verdict | check | scenario | what | N | baseline | current | change |');
    lines.push('|---|---|---|---|--:|--:|--:|--:|');
    for (const c of rows) {
      lines.push(`| ${VERDICT_TEXT[c.verdict]} | ${c.kind} | ${c.scenario} | ${mdEscape(what(c))} | ${c.n ?? '-'}${c.k !== undefined ? ` K=${c.k}` : ''} | ${cell(c, 'baseline')} | ${cell(c, 'current')} | ${changeCell(c)} |`);
    }
    lines.push('', '</details>');
  }
  const info = r.checks.filter((c) => c.verdict === 'info');
  if (info.length > 0) lines.push('', ...info.map((c) => `- ${mdEscape(c.message)}`));
  return `${lines.join('\n')}\n`;
}

/** the exit code of a report: 0 pass, 1 regression, 2 incomparable */
export function exitCodeOf(r: GateReport): number {
  return r.outcome === 'pass' ? 0 : r.outcome === 'regression' ? 1 : 2;
}
