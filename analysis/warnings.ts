/**
 * Typed warnings (WarningCode in bench/types.ts) computed from Statistics.
 * The data carries only the codes; `warningText` adds the human sentence and
 * a hint when printing (hyperfine src/output/warnings.rs).
 */
import type { Measurement, Statistics, WarningCode } from '../bench/schema.js';
import { cv, robustCv } from './stats.js';

export const THRESHOLDS = {
  /**
   * noisy: robust CV (1.4826 MAD / median) above this. The plain CV (sd /
   * mean) is not used: one preempted sample makes it large while the median
   * stays put; heavy tails are what `outliers` reports.
   */
  robustCv: 0.05,
  /** outliers: more than this fraction of samples beyond 3 scaled MADs */
  outlierFraction: 0.1,
  /** timer-coarse: median below this many clock ticks */
  timerTicks: 20,
  /** few-samples: fewer than this when nothing was asked for explicitly */
  minSamples: 10,
  /** overhead-high: harness overhead above this fraction of the median */
  overhead: 0.01,
  /** off-cpu: more than this fraction of the timed collects lost ... */
  offCpuFraction: 0.1,
  /** ... more than this share of their time off the CPU */
  offCpuShare: 0.02,
} as const;

/** the timed collects that lost more than offCpuShare of their time off the CPU */
export function offCpuCollects(s: { ns: readonly number[]; offCpuNs?: readonly number[] }): number {
  const off = s.offCpuNs;
  if (!off) return 0;
  let n = 0;
  for (let i = 0; i < off.length; i++) if (off[i]! > THRESHOLDS.offCpuShare * s.ns[i]!) n++;
  return n;
}

export interface WarningContext {
  /** rounds (or samples) the harness aimed for (few-samples when fewer were taken) */
  requestedSamples?: number;
  /** rounds (or samples) taken, when not stats.samples */
  samplesSeen?: number;
  /** resolution of the clock the samples came from, ns (default: 1) */
  clockResolutionNs?: number;
  /** median of the harness overhead (empty native call), ns */
  overheadNs?: number;
  /** the figure was extrapolated from a sample of the work */
  extrapolated?: boolean;
}

/** warnings for one set of statistics, in a fixed order */
export function computeWarnings(stats: Statistics, ctx: WarningContext = {}): WarningCode[] {
  const out: WarningCode[] = [];
  if (robustCv(stats) > THRESHOLDS.robustCv) out.push('noisy');
  if (stats.samples > 0 && stats.outliers / stats.samples > THRESHOLDS.outlierFraction) out.push('outliers');
  if (ctx.extrapolated) out.push('extrapolated');
  const res = ctx.clockResolutionNs ?? 1;
  if (stats.medianNs < THRESHOLDS.timerTicks * res) out.push('timer-coarse');
  if ((ctx.samplesSeen ?? stats.samples) < (ctx.requestedSamples ?? THRESHOLDS.minSamples)) out.push('few-samples');
  if (ctx.overheadNs !== undefined && ctx.overheadNs > THRESHOLDS.overhead * stats.medianNs) out.push('overhead-high');
  return out;
}

/** smallest non-zero step of process.hrtime.bigint(), ns (a few thousand reads) */
export function measureClockResolutionNs(reads = 2000): number {
  let best = Infinity;
  for (let i = 0; i < reads; i++) {
    const a = process.hrtime.bigint();
    let b = process.hrtime.bigint();
    while (b === a) b = process.hrtime.bigint();
    const d = Number(b - a);
    if (d < best) best = d;
  }
  return best;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;

/**
 * The human sentence for a code, with the figure that triggered it when the
 * statistics are given, and a hint.
 */
export function warningText(code: WarningCode, stats?: Statistics, ctx: WarningContext = {}): string {
  switch (code) {
    case 'noisy':
      return stats
        ? `noisy: robust CV ${pct(robustCv(stats))} (CV ${pct(cv(stats))}); close other programs or raise --budget`
        : 'noisy: samples vary a lot; close other programs or raise --budget';
    case 'outliers':
      return stats
        ? `outliers: ${stats.outliers} of ${stats.samples} samples beyond 3 MADs; interrupts or other load, rerun on a quiet machine`
        : 'outliers: many samples beyond 3 MADs; rerun on a quiet machine';
    case 'extrapolated':
      return 'extrapolated: timed on a sample of the work and scaled up; treat as an estimate';
    case 'timer-coarse':
      return `timer-coarse: median within ${THRESHOLDS.timerTicks} ticks of a ${ctx.clockResolutionNs ?? 1} ns clock; use a larger N`;
    case 'few-samples':
      return stats
        ? `few-samples: ${ctx.samplesSeen ?? stats.samples} rounds${ctx.requestedSamples ? ` of ${ctx.requestedSamples} asked` : ''}; raise --budget`
        : 'few-samples: fewer rounds than asked; raise --budget';
    case 'overhead-high':
      return stats && ctx.overheadNs !== undefined
        ? `overhead-high: harness overhead ${pct(ctx.overheadNs / stats.medianNs)} of the median; use a larger N`
        : 'overhead-high: harness overhead above 1 % of the median; use a larger N';
    case 'trend':
      return 'trend: inside each block the collects get steadily slower or faster (warm-up or cache state); read the median, not the first sample';
    case 'drift':
      return 'drift: the block medians moved steadily over the rounds (the machine changed during the run); paired ratios are unaffected, absolute times are';
    case 'off-cpu':
      return `off-cpu: in over ${pct(THRESHOLDS.offCpuFraction)} of the timed collects the timing thread was off the CPU for over ${pct(THRESHOLDS.offCpuShare)} of the collect (RT throttling, a higher-priority thread, or the host); results.json has each collect's off-CPU time`;
  }
}

/** the figure behind a code, short: "robust CV 11 %", "5/25 outliers" */
export function warningShort(code: WarningCode, stats?: Statistics, ctx: WarningContext = {}): string {
  if (!stats) return code;
  switch (code) {
    case 'noisy':
      return `noisy (robust CV ${pct(robustCv(stats))})`;
    case 'outliers':
      return `outliers (${stats.outliers}/${stats.samples})`;
    case 'few-samples':
      return `few-samples (${stats.samples})`;
    case 'overhead-high':
      return ctx.overheadNs !== undefined ? `overhead-high (${pct(ctx.overheadNs / stats.medianNs)})` : code;
    default:
      return code;
  }
}

/** the hint printed once per code under a list of warnings */
export const WARNING_HINTS: Record<WarningCode, string> = {
  noisy: 'noisy: the middle half of the samples is spread; close other programs or raise --budget',
  outliers: 'outliers: over 10 % of samples beyond 3 MADs (interrupts, other load); rerun on a quiet machine',
  extrapolated: 'extrapolated: timed on a sample of the work and scaled up; an estimate',
  'timer-coarse': 'timer-coarse: the median is a few clock ticks; use a larger N',
  'few-samples': 'few-samples: the time budget ran out before the rounds asked for; raise --budget',
  'overhead-high': 'overhead-high: harness overhead above 1 % of the median; use a larger N',
  trend: 'trend: samples inside a block drift one way (rank correlation > 0.5); a warm-up effect',
  drift: 'drift: block medians drift over the rounds (rank correlation > 0.7); paired ratios are not affected',
  'off-cpu': `off-cpu: the timing thread was stopped inside over ${pct(THRESHOLDS.offCpuFraction)} of the collects (samples.offCpuNs in results.json); rerun on a quieter machine`,
};

/** the warnings of a measurement as printable lines */
export function measurementWarningLines(m: Measurement, ctx: WarningContext = {}): string[] {
  const stats = m.state === 'verified' ? m.stats : undefined;
  return m.warnings.map((w) => `${m.scenario}/${m.method} n=${m.n}: ${warningText(w, stats, { ...ctx, extrapolated: m.extrapolated })}`);
}
