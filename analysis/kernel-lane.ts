/**
 * The kernel lane's figures (a run made on the patched kernel, npm run
 * bench:vm): per scenario, at the largest N where the real iterators were
 * verified, the real iterator's median against the emulation walking the
 * same objects, procfs and kcmp on the same kernel, as ratios with bootstrap
 * CIs (< 1: the real iterator is faster). Absolute times from a TCG VM are
 * not comparable with the host's; these ratios are.
 */
import type { Measurement, ResultsFile, Statistics } from '../bench/types.js';
import { ratioOfMedians, type Ratio } from './speedup.js';
import { seedFrom } from './prng.js';

export const LANES: { real: string[]; emulated: string; label: string }[] = [
  { real: ['bpf-iter-epoll'], emulated: 'bpf-epoll', label: 'epoll items' },
  { real: ['bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf'], emulated: 'bpf-io-uring', label: 'io_uring files + buffers' },
];
export const LANE_REFERENCES = ['emulation', 'procfs', 'kcmp-tree', 'kcmp-epoll'] as const;

export interface LaneRow {
  scenario: string;
  n: number;
  label: string;
  real: string[];
  /** summed median of the real iterators (ns) */
  realNs: number;
  /** reference name -> real / reference */
  ratios: { reference: string; method: string; value: Ratio }[];
}

type Verified = Extract<Measurement, { state: 'verified' }>;

/** samples of a sum of independent methods: pairwise sums of sorted samples (same count) */
function summed(stats: Statistics[]): Statistics {
  if (stats.length === 1) return stats[0];
  const lists = stats.map((s) => [...(s.samplesNs ?? [s.medianNs])].sort((a, b) => a - b));
  const k = Math.min(...lists.map((l) => l.length));
  const pick = (l: number[], i: number) => l[Math.floor((i * l.length) / k)];
  const samplesNs = Array.from({ length: k }, (_, i) => lists.reduce((a, l) => a + pick(l, i), 0));
  const med = stats.reduce((a, s) => a + s.medianNs, 0);
  return { ...stats[0], medianNs: med, samplesNs, samples: k };
}

export function kernelLaneRows(results: ResultsFile): LaneRow[] {
  const ok = results.measurements.filter((m): m is Verified => m.state === 'verified');
  const get = (method: string, scenario: string, n: number) => ok.find((m) => m.method === method && m.scenario === scenario && m.n === n);
  const rows: LaneRow[] = [];
  for (const scenario of results.config.scenarios) {
    for (const lane of LANES) {
      const sizes = results.config.sizes.filter((n) => lane.real.every((r) => get(r, scenario, n)));
      if (!sizes.length) continue;
      const n = Math.max(...sizes);
      const real = summed(lane.real.map((r) => get(r, scenario, n)!.stats));
      const ratios: LaneRow['ratios'] = [];
      for (const ref of LANE_REFERENCES) {
        const method = ref === 'emulation' ? lane.emulated : ref;
        const other = get(method, scenario, n);
        if (!other) continue;
        ratios.push({ reference: ref, method, value: ratioOfMedians(real, other.stats, { seed: seedFrom(`lane/${scenario}/${lane.label}/${method}/${n}`) }) });
      }
      rows.push({ scenario, n, label: lane.label, real: lane.real, realNs: real.medianNs, ratios });
    }
  }
  return rows;
}
