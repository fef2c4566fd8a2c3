/**
 * The project's speed targets, checked on a run's own results (ratios from
 * one run, never absolute times across machines) and printed by the bench.
 */
import { KERNEL_LANE_METHODS, type Measurement, type ResultsFile } from '../bench/types.js';
import { floorOf, ratioOfMedians } from './speedup.js';
import { seedFrom } from './prng.js';

export interface TargetCheck {
  name: string;
  /** the measured figure, undefined when the run has nothing to check it on */
  value?: number;
  limit: number;
  /** "x" for ratios, "s" for seconds, "%" for percent */
  unit: 'x' | 's' | '%';
  met?: boolean;
  detail: string;
}

type Verified = Extract<Measurement, { state: 'verified' }>;

/** The reference scenario of the targets: `all`, else the scenario with the most descriptors. */
function referenceScenario(ms: Verified[]): string | undefined {
  if (ms.some((m) => m.scenario === 'all')) return 'all';
  return [...ms].sort((a, b) => b.fds - a.fds)[0]?.scenario;
}

export function checkTargets(results: ResultsFile): TargetCheck[] {
  const out: TargetCheck[] = [];
  const ver = results.measurements.filter((m): m is Verified => m.state === 'verified');
  const scen = referenceScenario(ver);
  const atMax = (s: string) => {
    const ns = ver.filter((m) => m.scenario === s).map((m) => m.n);
    const n = Math.max(...ns);
    return { n, ms: ver.filter((m) => m.scenario === s && m.n === n) };
  };

  // Harness overhead <= 1 % of the smallest measured operation at the largest N.
  if (results.overhead && ver.length) {
    const n = Math.max(...ver.map((m) => m.n));
    const smallest = ver.filter((m) => m.n === n && !m.extrapolated).sort((a, b) => a.stats.medianNs - b.stats.medianNs)[0];
    if (smallest) {
      const pct = (100 * results.overhead.medianNs) / smallest.stats.medianNs;
      out.push({
        name: 'harness overhead / smallest median',
        value: pct,
        limit: 1,
        unit: '%',
        met: pct <= 1,
        detail: `${results.overhead.medianNs.toFixed(0)} ns vs ${smallest.method} on ${smallest.scenario} at N=${n}`,
      });
    }
  }

  if (scen) {
    const { n, ms } = atMax(scen);
    const get = (name: string) => ms.find((m) => m.method === name);
    // Each BPF method within 2x of the floor that visits the same things.
    // The kernel lane's methods find their instances and create links in
    // every collect: the lane compares them with the emulation instead.
    for (const m of ms.filter((x) => x.family === 'bpf' && !KERNEL_LANE_METHODS.includes(x.method))) {
      const fl = floorOf(m.method);
      const f = fl ? get(fl) : undefined;
      if (!f) continue;
      const r = ratioOfMedians(m.stats, f.stats, { seed: seedFrom(`target/${m.method}/${fl}/${n}`) });
      out.push({
        name: `${m.method} / ${fl}`,
        value: r.ratio,
        limit: 2,
        unit: 'x',
        met: r.ratio <= 2,
        detail: `${scen} at N=${n}, 95% CI ${r.ciLow.toFixed(2)}-${r.ciHigh.toFixed(2)}`,
      });
    }
    const p = get('procfs');
    const pf = get('floor-procfs');
    if (p && pf) {
      const r = ratioOfMedians(p.stats, pf.stats, { seed: seedFrom(`target/procfs/${n}`) });
      out.push({
        name: 'procfs / floor-procfs',
        value: r.ratio,
        limit: 1.2,
        unit: 'x',
        met: r.ratio <= 1.2,
        detail: `${scen} at N=${n}, 95% CI ${r.ciLow.toFixed(2)}-${r.ciHigh.toFixed(2)}`,
      });
    }
  }

  // The default run (npm run bench -- --files 10000) within 90 s.
  if (results.finishedAt) {
    const s = (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000;
    const isDefault = Math.max(...results.config.sizes) === 10000 && results.config.sizes.length === 4 && results.config.scenarios.length === 5;
    out.push({
      name: 'bench wall time',
      value: s,
      limit: 90,
      unit: 's',
      met: isDefault ? s <= 90 : undefined,
      detail: isDefault ? 'the default --files 10000 run' : 'target applies to the default --files 10000 run only',
    });
  }
  return out;
}

export function formatTargets(checks: TargetCheck[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    const v = c.value === undefined ? 'n/a' : c.unit === 'x' ? `${c.value.toFixed(2)}x` : c.unit === '%' ? `${c.value.toFixed(2)} %` : `${c.value.toFixed(1)} s`;
    const lim = c.unit === 'x' ? `${c.limit}x` : c.unit === '%' ? `${c.limit} %` : `${c.limit} s`;
    const verdict = c.met === undefined ? 'info' : c.met ? 'met' : 'MISSED';
    lines.push(`${c.name.padEnd(36)} ${v.padStart(9)} <= ${lim.padEnd(5)} ${verdict}`);
    lines.push(`  ${c.detail}`);
  }
  return lines;
}
