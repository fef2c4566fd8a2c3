/**
 * The regression gate (issue 5), as pure functions: compare a baseline
 * ResultsFile with a current one and return verdicts.
 *
 * What is gated (figures that transfer between machines first):
 * - state: a method that became `wrong` or `errored`, went missing, or was
 *   verified and is now skipped is always a regression;
 * - ratio: each BPF method's median over procfs and over its floor (and
 *   procfs over floor-procfs) at each common N, within each run. Regression
 *   when the ratio grew by >= threshold AND the two runs' bootstrap 95 % CIs
 *   do not overlap (evidence beyond noise) -- at more than half of the common
 *   sizes, with a geometric-mean change over the sizes >= threshold
 *   (consistency: a load burst hits one size, a slower lane all of them);
 * - slope: fitted growth (log-log) over the common sizes (>= 3). Regression
 *   when it rose by >= slopeThreshold AND by more than t(df) x the combined
 *   standard error;
 * - absolute: medians, only when both runs share a machine fingerprint (CPU
 *   model, nproc, kernel release): grew by >= absThreshold AND the medians'
 *   95 % CIs do not overlap, with the same consistency rule over sizes.
 */
import { RESULTS_SCHEMA, type Measurement, type ResultsFile, type Statistics } from '../bench/types.js';
import type { Scenario } from '../bench/manifest.js';
import { fitGrowth, tQuantile975 } from './fit.js';
import { floorOf, ratioOfMedians, type Ratio } from './speedup.js';
import { seedFrom } from './prng.js';
import { formatNs } from './units.js';

export interface GateOptions {
  /** a within-run ratio worse by this factor is a regression candidate (default 1.5) */
  threshold: number;
  /** a growth slope higher by this is a regression candidate (default 0.3) */
  slopeThreshold: number;
  /** absolute medians slower by this factor (same machine only; default 2) */
  absThreshold: number;
  /** compare absolute medians: auto = only on the same machine fingerprint */
  absolute: 'auto' | 'on' | 'off';
  /** bootstrap resamples per ratio (default 1000) */
  iterations: number;
}

export const DEFAULT_GATE: GateOptions = {
  threshold: 1.5,
  slopeThreshold: 0.3,
  absThreshold: 2,
  absolute: 'auto',
  iterations: 1000,
};

/** The inputs cannot be compared: exit 2, one line. */
export class Incomparable extends Error {}

export type CheckKind = 'state' | 'ratio' | 'slope' | 'absolute';
/** ok; regression (fails the gate); noise (past the threshold, not beyond noise); improved; info */
export type Verdict = 'ok' | 'regression' | 'noise' | 'improved' | 'info';

export interface Check {
  kind: CheckKind;
  scenario: Scenario;
  method: string;
  /** the reference of a ratio (procfs, a floor) */
  reference?: string;
  n?: number;
  baseline?: number;
  baselineCi?: [number, number];
  current?: number;
  currentCi?: [number, number];
  /** ratio/absolute: current / baseline; slope: current - baseline */
  change?: number;
  verdict: Verdict;
  message: string;
}

export interface Fingerprint {
  cpuModel: string;
  nproc: number;
  kernelRelease: string;
}

export interface GateReport {
  pass: boolean;
  regressions: number;
  options: GateOptions;
  baseline: { runId: string; fingerprint: Fingerprint; startedAt: string };
  current: { runId: string; fingerprint: Fingerprint; startedAt: string };
  sameMachine: boolean;
  absoluteCompared: boolean;
  /** per scenario, the sizes both runs measured */
  commonSizes: Partial<Record<Scenario, number[]>>;
  checks: Check[];
}

type Verified = Extract<Measurement, { state: 'verified' }>;

/** Structure checks of a parsed results.json; throws Incomparable with one line. */
export function validateResults(obj: unknown, label: string): ResultsFile {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Incomparable(`${label}: not a results object`);
  const r = obj as Partial<ResultsFile> & { schema?: unknown };
  if (r.schema !== RESULTS_SCHEMA) {
    throw new Incomparable(`${label}: results schema ${JSON.stringify(r.schema)}, this gate reads schema ${RESULTS_SCHEMA}`);
  }
  if (!Array.isArray(r.measurements)) throw new Incomparable(`${label}: no measurements array`);
  if (!r.config || !Array.isArray(r.config.scenarios)) throw new Incomparable(`${label}: no config.scenarios`);
  for (const [i, m] of r.measurements.entries()) {
    if (!m || typeof m.scenario !== 'string' || typeof m.method !== 'string' || typeof m.n !== 'number' || typeof m.state !== 'string') {
      throw new Incomparable(`${label}: measurement ${i} lacks scenario, method, n or state`);
    }
    if (m.state === 'verified' && !(m.stats && typeof m.stats.medianNs === 'number')) {
      throw new Incomparable(`${label}: measurement ${i} (${m.scenario}/${m.method} n=${m.n}) is verified but has no stats`);
    }
  }
  return r as ResultsFile;
}

export function fingerprint(r: ResultsFile): Fingerprint {
  const e = r.environment ?? ({} as ResultsFile['environment']);
  return { cpuModel: e.cpuModel ?? '?', nproc: e.nproc ?? 0, kernelRelease: e.kernelRelease ?? '?' };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.cpuModel === b.cpuModel && a.nproc === b.nproc && a.kernelRelease === b.kernelRelease;
}

function scenarioSet(r: ResultsFile): Scenario[] {
  return [...new Set(r.config.scenarios)].sort();
}

const k3 = (s: string, m: string, n: number) => `${s}\0${m}\0${n}`;
const k2 = (s: string, m: string) => `${s}\0${m}`;

function index(r: ResultsFile): Map<string, Measurement> {
  const idx = new Map<string, Measurement>();
  for (const m of r.measurements) idx.set(k3(m.scenario, m.method, m.n), m);
  return idx;
}

/** 3 significant digits, also below 1 (bpf/procfs time ratios are ~0.01) */
function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1 || x === 0) return x.toFixed(2);
  return String(Number(x.toPrecision(3)));
}

/** time ratio method / reference at (s, n) in one run */
function timeRatio(m: Verified, ref: Verified, iterations: number): Ratio {
  return ratioOfMedians(m.stats, ref.stats, { iterations, seed: seedFrom(`${m.scenario}/${m.method}/${ref.method}/${m.n}`) });
}

/** the pairs (method, reference) whose time ratio is gated */
function ratioRefs(m: Verified): string[] {
  const refs: string[] = [];
  if (m.family === 'bpf') refs.push('procfs');
  if (m.family !== 'floor') {
    const f = floorOf(m.method);
    if (f) refs.push(f);
  }
  return refs;
}

/**
 * A slower lane is slower at every size; load bursts on a shared machine hit
 * one size at a time. So per-N candidates only fail the gate when the group
 * (same scenario, method, reference) is consistent: the geometric mean of the
 * changes over the common sizes reaches the threshold and more than half of
 * the sizes show a separated (beyond-noise) worsening. Otherwise the per-N
 * candidates are reported as noise.
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
    const gm = Math.exp(g.reduce((a, c) => a + Math.log(c.change!), 0) / g.length);
    const worse = g.filter((c) => c.verdict === 'regression').length;
    const consistent = gm >= threshold && worse * 2 > g.length;
    for (const c of g) {
      if (c.verdict !== 'regression') continue;
      if (consistent) c.message += ` [${worse} of ${g.length} sizes worse; geometric-mean change ${fmtRatio(gm)}x]`;
      else {
        c.verdict = 'noise';
        c.message += ` [not consistent across sizes: ${worse} of ${g.length} worse, geometric-mean change ${fmtRatio(gm)}x]`;
      }
    }
  }
}

export function compareResults(baseline: ResultsFile, current: ResultsFile, options: Partial<GateOptions> = {}): GateReport {
  const opts: GateOptions = { ...DEFAULT_GATE, ...options };
  for (const [label, r] of [['baseline', baseline], ['current', current]] as const) {
    if (r.complete === false) {
      throw new Incomparable(`the ${label} run ${r.runId} is incomplete${r.interrupted ? ` (${r.interrupted})` : ''}: rerun it to the end`);
    }
  }
  const bs = scenarioSet(baseline);
  const cs = scenarioSet(current);
  if (bs.join(',') !== cs.join(',')) {
    throw new Incomparable(`scenario sets differ: baseline ${bs.join(',') || '(none)'}, current ${cs.join(',') || '(none)'}`);
  }
  const fb = fingerprint(baseline);
  const fc = fingerprint(current);
  const sameMachine = sameFingerprint(fb, fc);
  const absoluteCompared = opts.absolute === 'on' || (opts.absolute === 'auto' && sameMachine);
  const bi = index(baseline);
  const ci = index(current);
  const checks: Check[] = [];

  // common sizes per scenario: sizes where both runs measured something
  const commonSizes: Partial<Record<Scenario, number[]>> = {};
  for (const s of bs) {
    const nb = new Set(baseline.measurements.filter((m) => m.scenario === s).map((m) => m.n));
    const nc = new Set(current.measurements.filter((m) => m.scenario === s).map((m) => m.n));
    commonSizes[s] = [...nb].filter((n) => nc.has(n)).sort((a, b) => a - b);
  }
  const anyCommon = Object.values(commonSizes).some((v) => v && v.length > 0);
  if (!anyCommon && baseline.measurements.length > 0 && current.measurements.length > 0) {
    throw new Incomparable(
      `no size measured in both runs (baseline ${[...new Set(baseline.measurements.map((m) => m.n))].join(',')}, current ${[...new Set(current.measurements.map((m) => m.n))].join(',')})`,
    );
  }

  // ---- state: missing, wrong, errored, newly skipped
  const curMethods = new Set(current.measurements.map((m) => k2(m.scenario, m.method)));
  const baseMethods = new Set(baseline.measurements.map((m) => k2(m.scenario, m.method)));
  const reportedMissing = new Set<string>();
  for (const b of baseline.measurements) {
    const key2 = k2(b.scenario, b.method);
    if (!curMethods.has(key2)) {
      if (reportedMissing.has(key2)) continue;
      reportedMissing.add(key2);
      checks.push({
        kind: 'state',
        scenario: b.scenario,
        method: b.method,
        verdict: 'regression',
        message: `${b.method} is missing from the current run in scenario ${b.scenario} (the baseline has it)`,
      });
    }
  }
  for (const c of current.measurements) {
    const b = bi.get(k3(c.scenario, c.method, c.n));
    const base = { kind: 'state' as const, scenario: c.scenario, method: c.method, n: c.n };
    if (c.state === 'wrong') {
      checks.push({ ...base, verdict: 'regression', message: `${c.method} is WRONG at N=${c.n} in ${c.scenario}: ${c.reason}${b && b.state === 'wrong' ? ' (wrong in the baseline too)' : ''}` });
    } else if (c.state === 'errored') {
      checks.push({ ...base, verdict: 'regression', message: `${c.method} errored at N=${c.n} in ${c.scenario}: ${c.reason}` });
    } else if (c.state === 'skipped' && b?.state === 'verified') {
      checks.push({ ...base, verdict: 'regression', message: `${c.method} was verified in the baseline and is now skipped at N=${c.n} in ${c.scenario}: ${c.reason}` });
    } else if (c.state === 'verified' && b && b.state !== 'verified') {
      checks.push({ ...base, verdict: 'improved', message: `${c.method} is verified at N=${c.n} in ${c.scenario} (baseline: ${b.state})` });
    } else if (!baseMethods.has(k2(c.scenario, c.method)) && !checks.some((x) => x.kind === 'state' && x.scenario === c.scenario && x.method === c.method && x.verdict === 'info')) {
      checks.push({ kind: 'state', scenario: c.scenario, method: c.method, verdict: 'info', message: `${c.method} is new in scenario ${c.scenario} (not in the baseline; not gated)` });
    }
  }

  // ---- within-run ratios at each common N
  for (const s of bs) {
    for (const n of commonSizes[s] ?? []) {
      for (const c of current.measurements) {
        if (c.scenario !== s || c.n !== n || c.state !== 'verified') continue;
        const b = bi.get(k3(s, c.method, n));
        if (!b || b.state !== 'verified') continue;
        for (const ref of ratioRefs(c)) {
          const cr = ci.get(k3(s, ref, n));
          const br = bi.get(k3(s, ref, n));
          if (!cr || !br || cr.state !== 'verified' || br.state !== 'verified') continue;
          const rb = timeRatio(b, br, opts.iterations);
          const rc = timeRatio(c, cr, opts.iterations);
          const change = rc.ratio / rb.ratio;
          const separated = rc.ciLow > rb.ciHigh || rb.ciLow > rc.ciHigh;
          let verdict: Verdict = 'ok';
          if (change >= opts.threshold) verdict = rc.ciLow > rb.ciHigh ? 'regression' : 'noise';
          else if (change <= 1 / opts.threshold && separated) verdict = 'improved';
          const what = `${c.method}/${ref} at N=${n} in ${s}`;
          const msg =
            verdict === 'regression'
              ? `${c.method} got ${fmtRatio(change)}x slower relative to ${ref} at N=${n} in ${s}: time ratio ${fmtRatio(rb.ratio)} -> ${fmtRatio(rc.ratio)} (95% CIs ${fmtRatio(rb.ciLow)}-${fmtRatio(rb.ciHigh)} vs ${fmtRatio(rc.ciLow)}-${fmtRatio(rc.ciHigh)})`
              : verdict === 'noise'
                ? `${what}: ratio up ${fmtRatio(change)}x but the 95% CIs overlap (within noise)`
                : verdict === 'improved'
                  ? `${what}: ratio down to ${fmtRatio(change)}x of the baseline`
                  : `${what}: ratio change ${fmtRatio(change)}x`;
          checks.push({
            kind: 'ratio',
            scenario: s,
            method: c.method,
            reference: ref,
            n,
            baseline: rb.ratio,
            baselineCi: [rb.ciLow, rb.ciHigh],
            current: rc.ratio,
            currentCi: [rc.ciLow, rc.ciHigh],
            change,
            verdict,
            message: msg,
          });
        }
      }
    }
  }

  settleGroups(checks, 'ratio', opts.threshold);

  // ---- growth slopes over the common sizes
  for (const s of bs) {
    const sizes = commonSizes[s] ?? [];
    if (sizes.length < 3) continue;
    const methods = [...new Set(current.measurements.filter((m) => m.scenario === s && m.state === 'verified').map((m) => m.method))];
    for (const method of methods) {
      const pts = (idx: Map<string, Measurement>) =>
        sizes
          .map((n) => idx.get(k3(s, method, n)))
          .filter((m): m is Verified => !!m && m.state === 'verified')
          .map((m) => ({ n: m.n, medianNs: m.stats.medianNs, extrapolated: m.extrapolated }));
      const pb = pts(bi);
      const pc = pts(ci);
      if (pb.length !== sizes.length || pc.length !== sizes.length) continue;
      const fb2 = fitGrowth(pb);
      const fc2 = fitGrowth(pc);
      if (!fb2.ok || !fc2.ok) continue;
      const diff = fc2.slope - fb2.slope;
      const se = Math.sqrt(fb2.slopeSe ** 2 + fc2.slopeSe ** 2);
      const margin = tQuantile975(sizes.length - 2) * se;
      let verdict: Verdict = 'ok';
      if (diff >= opts.slopeThreshold) verdict = diff > margin ? 'regression' : 'noise';
      else if (diff <= -opts.slopeThreshold && -diff > margin) verdict = 'improved';
      const msg =
        verdict === 'regression'
          ? `${method} grows faster in ${s}: slope ${fb2.slope.toFixed(2)} -> ${fc2.slope.toFixed(2)} over N=${sizes.join(',')} (+${diff.toFixed(2)}, 95% margin ${margin.toFixed(2)})`
          : verdict === 'noise'
            ? `${method} slope in ${s} up ${diff.toFixed(2)} but within noise (95% margin ${margin.toFixed(2)})`
            : `${method} slope in ${s}: ${fb2.slope.toFixed(2)} -> ${fc2.slope.toFixed(2)}`;
      checks.push({
        kind: 'slope',
        scenario: s,
        method,
        baseline: fb2.slope,
        baselineCi: [fb2.slope - tQuantile975(sizes.length - 2) * fb2.slopeSe, fb2.slope + tQuantile975(sizes.length - 2) * fb2.slopeSe],
        current: fc2.slope,
        currentCi: [fc2.slope - tQuantile975(sizes.length - 2) * fc2.slopeSe, fc2.slope + tQuantile975(sizes.length - 2) * fc2.slopeSe],
        change: diff,
        verdict,
        message: msg,
      });
    }
  }

  // ---- absolute medians, same machine only
  if (absoluteCompared) {
    for (const s of bs) {
      for (const n of commonSizes[s] ?? []) {
        for (const c of current.measurements) {
          if (c.scenario !== s || c.n !== n || c.state !== 'verified') continue;
          const b = bi.get(k3(s, c.method, n));
          if (!b || b.state !== 'verified') continue;
          const bsx: Statistics = b.stats;
          const csx: Statistics = c.stats;
          const change = csx.medianNs / bsx.medianNs;
          let verdict: Verdict = 'ok';
          if (change >= opts.absThreshold) verdict = csx.ciLowNs > bsx.ciHighNs ? 'regression' : 'noise';
          else if (change <= 1 / opts.absThreshold && bsx.ciLowNs > csx.ciHighNs) verdict = 'improved';
          const msg =
            verdict === 'regression'
              ? `${c.method} median ${formatNs(bsx.medianNs)} -> ${formatNs(csx.medianNs)} (${fmtRatio(change)}x) at N=${n} in ${s}, same machine`
              : `${c.method} median at N=${n} in ${s}: ${fmtRatio(change)}x${verdict === 'noise' ? ' (CIs overlap: noise)' : ''}`;
          checks.push({
            kind: 'absolute',
            scenario: s,
            method: c.method,
            n,
            baseline: bsx.medianNs,
            baselineCi: [bsx.ciLowNs, bsx.ciHighNs],
            current: csx.medianNs,
            currentCi: [csx.ciLowNs, csx.ciHighNs],
            change,
            verdict,
            message: msg,
          });
        }
      }
    }
  }

  settleGroups(checks, 'absolute', opts.absThreshold);

  const regressions = checks.filter((c) => c.verdict === 'regression').length;
  return {
    pass: regressions === 0,
    regressions,
    options: opts,
    baseline: { runId: baseline.runId, fingerprint: fb, startedAt: baseline.startedAt },
    current: { runId: current.runId, fingerprint: fc, startedAt: current.startedAt },
    sameMachine,
    absoluteCompared,
    commonSizes,
    checks,
  };
}

// ---------------------------------------------------------------- output

function counts(r: GateReport): string {
  const by = (v: Verdict) => r.checks.filter((c) => c.verdict === v).length;
  return `${r.checks.length} checks: ${by('regression')} regression, ${by('noise')} within noise, ${by('improved')} improved, ${by('ok')} ok`;
}

function cell(c: Check, which: 'baseline' | 'current'): string {
  const v = c[which];
  if (v === undefined) return '-';
  if (c.kind === 'absolute') return formatNs(v);
  return c.kind === 'slope' ? v.toFixed(2) : fmtRatio(v);
}

function changeCell(c: Check): string {
  if (c.change === undefined) return '-';
  return c.kind === 'slope' ? `${c.change >= 0 ? '+' : ''}${c.change.toFixed(2)}` : `${fmtRatio(c.change)}x`;
}

function what(c: Check): string {
  if (c.kind === 'ratio') return `${c.method} / ${c.reference}`;
  return c.method;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  regression: 'REGRESSION',
  noise: 'noise',
  improved: 'improved',
  ok: 'ok',
  info: 'info',
};

/** Plain-text verdict table: the headline, then every check not ok (all with verbose). */
export function formatGateTable(r: GateReport, verbose = false): string {
  const lines: string[] = [];
  lines.push(`gate: ${r.pass ? 'PASS' : `FAIL (${r.regressions} regression${r.regressions === 1 ? '' : 's'})`}`);
  lines.push(`baseline ${r.baseline.runId} vs current ${r.current.runId}`);
  lines.push(
    `thresholds: ratio x${r.options.threshold}, slope +${r.options.slopeThreshold}, absolute x${r.options.absThreshold} (${r.absoluteCompared ? 'compared' : r.sameMachine ? 'off' : 'not compared: different machines'})`,
  );
  lines.push(counts(r));
  const rows = r.checks.filter((c) => verbose || c.verdict !== 'ok');
  if (rows.length > 0) {
    const head = ['verdict', 'check', 'scenario', 'what', 'N', 'baseline', 'current', 'change'];
    const data = rows.map((c) => [VERDICT_TEXT[c.verdict], c.kind, c.scenario, what(c), c.n === undefined ? '-' : String(c.n), cell(c, 'baseline'), cell(c, 'current'), changeCell(c)]);
    const widths = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
    const fmt = (row: string[]) => row.map((x, i) => (i >= 4 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd();
    lines.push('', fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...data.map(fmt));
  }
  const bad = r.checks.filter((c) => c.verdict === 'regression');
  if (bad.length > 0) {
    lines.push('', 'regressions:');
    for (const c of bad) lines.push(`  ${c.message}`);
  }
  return `${lines.join('\n')}\n`;
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

/** Markdown summary for CI logs and pull-request comments. */
export function formatGateMarkdown(r: GateReport): string {
  const lines: string[] = [];
  lines.push(`## iterbench gate: ${r.pass ? 'PASS' : `FAIL, ${r.regressions} regression${r.regressions === 1 ? '' : 's'}`}`);
  lines.push('');
  lines.push(`Baseline \`${r.baseline.runId}\` vs current \`${r.current.runId}\`. ${counts(r)}.`);
  lines.push('');
  lines.push(
    `Thresholds: within-run ratio ×${r.options.threshold} with non-overlapping 95 % bootstrap CIs; growth slope +${r.options.slopeThreshold} beyond the fits' 95 % margin; absolute medians ×${r.options.absThreshold} ${r.absoluteCompared ? '(same machine: compared)' : '(different machines: not compared)'}.`,
  );
  const bad = r.checks.filter((c) => c.verdict === 'regression');
  if (bad.length > 0) {
    lines.push('', '### Regressions', '');
    for (const c of bad) lines.push(`- **${mdEscape(c.method)}** (${c.kind}, ${c.scenario}${c.n !== undefined ? `, N=${c.n}` : ''}): ${mdEscape(c.message)}`);
  }
  const rows = r.checks.filter((c) => c.verdict !== 'info');
  if (rows.length > 0) {
    lines.push('', '<details><summary>All checks</summary>', '');
    lines.push('| verdict | check | scenario | what | N | baseline | current | change |');
    lines.push('|---|---|---|---|--:|--:|--:|--:|');
    for (const c of rows) {
      lines.push(
        `| ${VERDICT_TEXT[c.verdict]} | ${c.kind} | ${c.scenario} | ${mdEscape(what(c))} | ${c.n ?? '-'} | ${cell(c, 'baseline')} | ${cell(c, 'current')} | ${changeCell(c)} |`,
      );
    }
    lines.push('', '</details>');
  }
  const info = r.checks.filter((c) => c.verdict === 'info');
  if (info.length > 0) {
    lines.push('', ...info.map((c) => `- ${mdEscape(c.message)}`));
  }
  return `${lines.join('\n')}\n`;
}
