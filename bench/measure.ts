/**
 * Measure one method on one frozen workload: open (cold), collect once and
 * verify against the manifest, and only then time it with tinybench.
 * Errors are values: every outcome is a Measurement.
 */
import { Bench } from 'tinybench';
import { seedFrom } from '../analysis/prng.js';
import { computeStatistics } from '../analysis/stats.js';
import { computeWarnings } from '../analysis/warnings.js';
import { decodeRecords, type Recovered } from './decode.js';
import type { Manifest, Scenario } from './manifest.js';
import { nativeNoop, openMethod, type Collector, type MethodInfo } from './native.js';
import { COVERAGE_KINDS, type Extrapolation, type Measurement, type Stage, type Statistics, type WarningCode } from './types.js';
import { verify } from './verify.js';

export interface TimingOptions {
  /** tinybench time per measurement (ms) */
  timeMs: number;
  /** minimum samples */
  minSamples: number;
  warmupIterations: number;
  /** kcmp-pairwise: verify in full up to this many kcmp calls; sample above */
  verifyPairsMax: number;
  /** kcmp-pairwise: kcmp calls to time per sample when the full run is too long */
  samplePairs: number;
  /** options passed to the native open() */
  native?: { btfPath?: string; ringbufBytes?: number };
  signal?: AbortSignal;
  /** the harness overhead, for the overhead-high warning */
  overheadNs?: number;
  clockResolutionNs?: number;
}

export const DEFAULT_TIMING: TimingOptions = {
  timeMs: 250,
  minSamples: 10,
  warmupIterations: 2,
  verifyPairsMax: 200_000,
  samplePairs: 30_000,
};

/** Samples taken even when one collect is slower than the time per measurement. */
export const MIN_SAMPLES_SLOW = 5;

export interface Context {
  scenario: Scenario;
  n: number;
  manifest: Manifest;
  pids: number[];
  /** is the workload still alive? */
  alive?: () => boolean;
}

/** Which kinds of state the scenario has, to skip methods that would have nothing to do. */
export function applicable(method: Pick<MethodInfo, 'needs'>, manifest: Manifest): string | undefined {
  if (method.needs.length === 0) return undefined;
  const has = { epoll: manifest.epoll.some((e) => e.items.length > 0), io_uring: manifest.io_uring.length > 0 };
  if (method.needs.some((k) => has[k])) return undefined;
  const what = { epoll: 'no epoll items', io_uring: 'no io_uring instance' };
  return `nothing to recover: the scenario has ${method.needs.map((k) => what[k]).join(' and ')}`;
}

function totalFds(m: Manifest): number {
  return m.tasks.reduce((a, t) => a + t.fds.length, 0);
}

/**
 * How many rows (each compared with all other of F descriptors, a pair of
 * two sampled rows once) give about `pairs` comparisons.
 */
export function rowsForPairs(F: number, pairs: number): number {
  let made = 0;
  let rows = 0;
  while (rows < F && made < pairs) {
    made += F - 1 - rows;
    rows++;
  }
  return Math.max(1, rows);
}

async function timeIt(fn: () => void, opts: TimingOptions): Promise<{ samplesNs: number[] } | { error: string }> {
  const bench = new Bench({
    time: opts.timeMs,
    iterations: opts.minSamples,
    warmupIterations: opts.warmupIterations,
    warmupTime: 0,
    retainSamples: true,
    throws: false,
    timestampProvider: 'hrtimeNow',
    signal: opts.signal,
  });
  bench.add('m', fn);
  await bench.run();
  const task = bench.tasks[0];
  const r = task.result;
  if (r.state === 'errored') return { error: r.error.message };
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') return { error: `timing ${r.state}` };
  const samples = r.latency.samples ?? [];
  if (samples.length === 0) return { error: 'no samples' };
  return { samplesNs: samples.map((ms) => ms * 1e6) };
}

/** The harness overhead: an empty native call, timed like a method. */
export async function measureOverhead(opts: TimingOptions): Promise<Statistics | undefined> {
  const r = await timeIt(() => nativeNoop(), { ...opts, timeMs: Math.min(100, opts.timeMs), minSamples: 1000 });
  return 'samplesNs' in r ? computeStatistics(r.samplesNs) : undefined;
}

export async function measureMethod(method: MethodInfo, ctx: Context, opts: TimingOptions = DEFAULT_TIMING): Promise<Measurement> {
  const base = {
    scenario: ctx.scenario,
    method: method.name,
    family: method.family,
    n: ctx.n,
    fds: totalFds(ctx.manifest),
    tasks: ctx.manifest.tasks.length,
    extrapolated: false,
    warnings: [] as WarningCode[],
  };
  const na = applicable(method, ctx.manifest);
  if (na) return { ...base, state: 'skipped', code: 'not-applicable', reason: na };

  const opened = openMethod(method, ctx.pids, opts.native ?? {});
  if (opened.state === 'skipped') return { ...base, state: 'skipped', code: opened.code, reason: opened.reason };
  if (opened.state !== 'open') return { ...base, state: opened.state, reason: opened.reason };
  const c = opened.collector;
  try {
    return await measureOpen(method, ctx, opts, c, opened.coldNs, base);
  } finally {
    c.close();
  }
}

async function measureOpen(
  method: MethodInfo,
  ctx: Context,
  opts: TimingOptions,
  c: Collector,
  coldNs: number,
  base: Omit<Extract<Measurement, { state: 'skipped' }>, 'state' | 'reason' | 'code'>,
): Promise<Measurement> {
  const F = base.fds;
  const sampling = method.sampling;
  const fullPairs = (F * (F - 1)) / 2;
  const sampled = sampling.how === 'rows' && fullPairs > opts.verifyPairsMax;
  // rows chosen at random, the same rows for every collect of this measurement
  const seed = seedFrom(`${ctx.scenario}/${ctx.n}/${method.name}`);
  if (sampling.how === 'rows') c.setSampling(sampled ? rowsForPairs(F, opts.verifyPairsMax) : 0, seed);

  // 1. Verify before timing.
  const t0 = process.hrtime.bigint();
  const first = c.collect();
  let estimateNs = Number(process.hrtime.bigint() - t0);
  if (!first.ok) return { ...base, state: 'errored', reason: first.error };
  let rec: Recovered;
  try {
    rec = decodeRecords(first.out.buffer);
  } catch (e) {
    return { ...base, state: 'errored', reason: `undecodable records: ${(e as Error).message}` };
  }
  const v = verify(ctx.manifest, rec, method, { sampled, sampleRows: sampled ? first.out.sample?.rows : undefined });
  const wrong = (w: ReturnType<typeof verify>): Measurement => ({
    ...base,
    state: 'wrong',
    reason: `${w.mismatches.length} mismatch(es) with the ground truth, first: ${w.mismatches[0].kind} pid ${w.mismatches[0].pid} ${w.mismatches[0].where}: expected ${w.mismatches[0].expected}, got ${w.mismatches[0].got}`,
    coverage: w.coverage,
    mismatchCount: w.mismatches.length,
    mismatches: w.mismatches.slice(0, 20),
  });
  if (!v.ok) return wrong(v);

  // 2. Time it. O(n^2) work is time-boxed: a sample of rows (at random,
  // each compared with all others) is timed; only the stage the rows scale
  // (the kcmp part) is scaled up, the enumeration is done once per pass
  // whatever the number of rows.
  let extrapolation: Extrapolation | undefined;
  let scale = 1;
  let fixedNs = 0;
  if (sampling.how === 'rows' && fullPairs > opts.samplePairs) {
    const rows = rowsForPairs(F, opts.samplePairs);
    c.setSampling(rows, seed);
    const tp = process.hrtime.bigint();
    const probe = c.collect();
    const probeNs = Number(process.hrtime.bigint() - tp);
    if (!probe.ok) return { ...base, state: 'errored', reason: probe.error };
    // the timed configuration's answer is verified too (its sampled rows completely)
    let pv: ReturnType<typeof verify>;
    try {
      pv = verify(ctx.manifest, decodeRecords(probe.out.buffer), method, { sampled: true, sampleRows: probe.out.sample?.rows });
    } catch (e) {
      return { ...base, state: 'errored', reason: `undecodable records: ${(e as Error).message}` };
    }
    if (!pv.ok) return wrong(pv);
    const s = probe.out.sample;
    if (!s) return { ...base, state: 'errored', reason: `${method.name} samples rows but reported no sample figures` };
    if (s.made > 0 && s.made < s.total) {
      scale = s.total / s.made;
      estimateNs = probeNs;
      fixedNs = Math.max(0, probeNs - (probe.out.stagesNs[sampling.scales] ?? probeNs));
      extrapolation = {
        measuredUnits: s.made,
        totalUnits: s.total,
        how: `timed ${s.rows} of ${s.rowsTotal} rows chosen at random (${s.made} of ${s.total} kcmp calls); the ${sampling.scales} part of each sample scaled by ${scale.toFixed(1)}, the rest (${(fixedNs / 1e6).toFixed(2)} ms) counted once`,
      };
    }
  } else if (sampling.how === 'rows') {
    c.setSampling(0, seed);
  }
  // Enough samples for a stable median within the time per measurement:
  // at least MIN_SAMPLES_SLOW even for slow methods, up to minSamples.
  const affordable = Math.floor((opts.timeMs * 1e6) / Math.max(1, estimateNs));
  const minSamples = Math.max(Math.min(MIN_SAMPLES_SLOW, opts.minSamples), Math.min(opts.minSamples, affordable));
  let failure: string | undefined;
  const t = await timeIt(() => {
    const r = c.collectRaw();
    if (r < 0 && !failure) failure = `collect failed (errno ${-r})`;
  }, { ...opts, minSamples, warmupIterations: affordable < MIN_SAMPLES_SLOW ? 1 : opts.warmupIterations });
  if ('error' in t) return { ...base, state: 'errored', reason: t.error };
  if (failure) {
    const again = c.collect();
    return { ...base, state: 'errored', reason: again.ok ? failure : again.error };
  }
  if (ctx.alive && !ctx.alive()) return { ...base, state: 'errored', reason: 'the workload died during the measurement' };

  // 3. Stages and call counts from a few more collects (median per stage;
  // one for slow methods, whose stages are long enough to read from one).
  const stageRuns: Partial<Record<Stage, number>>[] = [];
  let calls = 0;
  const stageCollects = estimateNs > 20e6 ? 1 : 3;
  for (let i = 0; i < stageCollects; i++) {
    const r = c.collect();
    if (!r.ok) return { ...base, state: 'errored', reason: r.error };
    stageRuns.push(r.out.stagesNs);
    calls = r.out.calls;
  }
  const stagesNs: Partial<Record<Stage, number>> = {};
  for (const s of Object.keys(stageRuns[0]) as Stage[]) {
    const vals = stageRuns.map((x) => x[s] ?? 0).sort((a, b) => a - b);
    stagesNs[s] = vals[Math.floor(vals.length / 2)] * (sampling.how === 'rows' && s === sampling.scales ? scale : 1);
  }

  const stats = computeStatistics(t.samplesNs.map((x) => (scale === 1 ? x : fixedNs + Math.max(0, x - fixedNs) * scale)));
  const warnings = computeWarnings(stats, {
    overheadNs: opts.overheadNs,
    clockResolutionNs: opts.clockResolutionNs,
    requestedSamples: minSamples,
    extrapolated: extrapolation !== undefined,
  });
  return {
    ...base,
    state: 'verified',
    extrapolated: extrapolation !== undefined,
    warnings,
    coverage: v.coverage,
    stats,
    coldNs,
    stagesNs,
    ...(extrapolation ? { extrapolation } : {}),
    calls: Math.round(calls * scale),
  };
}

export { COVERAGE_KINDS };
