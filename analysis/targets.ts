/**
 * The project's speed targets, checked on a run's own results (paired
 * ratios from one run, never absolute times across machines) and printed by
 * the bench. A target is met only when the whole 95 % CI is within its limit
 * and the figure is not suspect; a suspect figure is never "met".
 */
import type { MethodDescriptor, ResultsFile } from '../bench/schema.js';
import type { Scenario } from '../bench/manifest.js';
import { analyze, largestN, type Analysis } from './analyze.js';

export interface TargetCheck {
  name: string;
  /** the measured figure, undefined when the run has nothing to check it on */
  value?: number;
  ciLow?: number;
  ciHigh?: number;
  limit: number;
  /** "x" for ratios, "s" for seconds, "%" for percent */
  unit: 'x' | 's' | '%';
  /** met, missed, suspect (the figure cannot be a result), unsure (its median cannot be one, its CI too wide to say it is an artefact), info (not applicable to this run) */
  verdict: 'met' | 'missed' | 'suspect' | 'unsure' | 'info';
  detail: string;
}

/**
 * The reference scenario of the targets: the run's (config.reference: the
 * generator's reference, `all`, when the run has it and measured it), else
 * the one whose largest instance holds the most descriptors, ties broken
 * by the config's order.
 */
export function referenceScenario(results: ResultsFile): string | undefined {
  const ver = results.measurements.filter((m) => m.state === 'verified');
  const ref = results.config.reference;
  if (ref !== undefined && ver.some((m) => m.scenario === ref)) return ref;
  const order = results.config.scenarios;
  return [...ver].sort((a, b) => b.fds - a.fds || order.indexOf(a.scenario) - order.indexOf(b.scenario))[0]?.scenario;
}

/** What a target ratio is made of: a method with a floor target and its floor. */
export type TargetDescriptor = Pick<MethodDescriptor, 'name' | 'floor' | 'floorLimit'> & { lane?: MethodDescriptor['lane'] };

/**
 * The target ratios: each host method with a floor target (floorLimit) and
 * its floor. Judged here at the reference scenario's largest N; the same
 * pairs decide the run's cadences and extra rounds (bench/run.ts,
 * bench/goal.ts).
 */
export function targetPairs(methods: readonly TargetDescriptor[]): { method: string; floor: string; limit: number }[] {
  const out: { method: string; floor: string; limit: number }[] = [];
  for (const d of methods) if (d.floor && d.floorLimit && (d.lane ?? 'host') === 'host') out.push({ method: d.name, floor: d.floor, limit: d.floorLimit });
  return out;
}

/** relative width of a CI: (high - low) / value */
export function ciWidth(v: { ratio: number; ciLow: number; ciHigh: number }): number {
  return (v.ciHigh - v.ciLow) / v.ratio;
}

/** CI width limit of every target ratio (issue: narrower than 10 % of the ratio) */
export const CI_WIDTH_LIMIT = 0.1;

export function checkTargets(results: ResultsFile, an: Analysis = analyze(results)): TargetCheck[] {
  const out: TargetCheck[] = [];
  const ver = results.measurements.filter((m) => m.state === 'verified');
  const scen = referenceScenario(results);

  // Harness overhead <= 1 % of the smallest measured operation at the largest N.
  if (results.overhead && ver.length) {
    const n = Math.max(...ver.map((m) => m.n));
    const smallest = an.times.filter((t) => t.n === n && !t.extrapolated).sort((a, b) => a.medianNs - b.medianNs)[0];
    if (smallest) {
      const pct = (100 * results.overhead.medianNs) / smallest.medianNs;
      out.push({
        name: 'harness overhead / smallest median',
        value: pct,
        limit: 1,
        unit: '%',
        verdict: pct <= 1 ? 'met' : 'missed',
        detail: `${results.overhead.medianNs.toFixed(0)} ns vs ${smallest.method} on ${smallest.scenario} at N=${n}`,
      });
    }
  }

  if (scen) {
    const n = largestN(results).get(scen as Scenario);
    for (const d of targetPairs(results.methods)) {
      const r = an.ratios.find((x) => x.kind === 'vs-floor' && x.scenario === scen && x.n === n && x.method === d.method && x.reference === d.floor);
      if (!r) continue;
      const v = r.value;
      const suspect = r.flags.length > 0;
      const unsure = r.flags.includes('unsure');
      out.push({
        name: `${d.method} / ${d.floor}`,
        value: v.ratio,
        ciLow: v.ciLow,
        ciHigh: v.ciHigh,
        limit: d.limit,
        unit: 'x',
        verdict: unsure ? 'unsure' : suspect ? 'suspect' : v.ciHigh <= d.limit ? 'met' : 'missed',
        detail: `${scen} at N=${n}, paired over ${v.rounds} rounds on ${v.instances} instance(s), 95% CI ${v.ciLow.toFixed(2)}-${v.ciHigh.toFixed(2)}${suspect ? `; ${unsure ? 'UNSURE' : 'SUSPECT'}: ${r.why}` : ''}`,
      });
      const w = ciWidth(v);
      out.push({
        name: `  CI width of ${d.method} / ${d.floor}`,
        value: 100 * w,
        limit: 100 * CI_WIDTH_LIMIT,
        unit: '%',
        verdict: w <= CI_WIDTH_LIMIT ? 'met' : 'missed',
        detail: `(high - low) / ratio at ${scen}, N=${n}`,
      });
    }
  }

  // The default run (npm run bench -- --files 10000) within 90 s.
  if (results.finishedAt) {
    const s = (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000;
    const isDefault = Math.max(...results.config.sizes) === 10000 && results.config.sizes.length === 4 && results.config.scenarios.length >= 5;
    out.push({
      name: 'bench wall time',
      value: s,
      limit: 90,
      unit: 's',
      verdict: isDefault ? (s <= 90 ? 'met' : 'missed') : 'info',
      detail: isDefault ? 'the default --files 10000 run' : 'target applies to the default --files 10000 run only',
    });
  }
  return out;
}

export function formatTargets(checks: TargetCheck[]): string[] {
  const lines: string[] = [];
  const words = { met: 'met', missed: 'MISSED', suspect: 'SUSPECT', unsure: 'UNSURE', info: 'info' } as const;
  for (const c of checks) {
    const v = c.value === undefined ? 'n/a' : c.unit === 'x' ? `${c.value.toFixed(2)}x` : c.unit === '%' ? `${c.value.toFixed(1)} %` : `${c.value.toFixed(1)} s`;
    const lim = c.unit === 'x' ? `${c.limit}x` : c.unit === '%' ? `${c.limit} %` : `${c.limit} s`;
    lines.push(`${c.name.slice(0, 38).padEnd(38)} ${v.padStart(8)} <= ${lim.padEnd(5)} ${words[c.verdict]}`);
    if (!c.name.startsWith('  ')) lines.push(`  ${c.detail}`);
  }
  return lines;
}
