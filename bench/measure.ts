/**
 * One method on one frozen workload instance, as a unit of the rounds
 * (bench/rounds.ts): open it (the cold cost), collect once and verify the
 * answer against the manifest, calibrate its block size, then time blocks
 * on request. Every answer is checked, not only the first: the calibration
 * collects and the timed blocks are timed in C (block()), which digests each
 * answer outside the timed part; the stage collects (the sampling probe of
 * a sampled method among them) are digested after each call. An answer
 * whose digest the unit has not verified yet is decoded and verified in
 * full before the unit goes on; one that fails makes the measurement wrong.
 * Errors are values: a unit that cannot be measured yields a Measurement
 * saying why.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { Bench } from 'tinybench';
import { computeStatistics } from '../analysis/stats.js';
import { THRESHOLDS, computeWarnings, offCpuCollects } from '../analysis/warnings.js';
import { roundDrift, withinBlockTrend } from '../analysis/paired.js';
import { decodeRecords, type Recovered } from './decode.js';
import type { Manifest, Scenario } from './manifest.js';
import { nativeNoop, openMethod, type Collector } from './native.js';
import type { BlockOutcome, Cadence, Unit } from './rounds.js';
import { expectedBlockNs, rtBudget } from './rtbudget.js';
import type {
  AnswerChecks,
  Coverage,
  Extrapolation,
  Measurement,
  MethodDescriptor,
  Mismatch,
  Samples,
  SkipCode,
  Stage,
  Statistics,
  Variant,
  Verified,
  WarningCode,
} from './schema.js';
import { verify } from './verify/index.js';
import { GC_AFTER_BYTES, GC_AFTER_FDS, collectGarbage } from './gc.js';

export interface MeasureOptions {
  /** a block aims at this much time (ns): fast methods get several collects per round */
  blockTargetNs: number;
  /** at most this many collects per block */
  maxBlock: number;
  /**
   * a block of a method whose collect is faster than this (ns) begins with
   * one untimed collect. The first collect of a block runs on caches the
   * other units' blocks have just filled with their own data, and cost
   * 1.2-1.9x the next ones for the bpf methods and floors at N = 1250-10000
   * (issue 15). Blocks hold up to maxBlock collects at small N but one at
   * large N, so the medians were warm at small N and cold at large N: a
   * growth slope of 1.2 for a linear walk. For slower collects the refill
   * is a few per cent at most, and an extra collect would cost a round's time.
   */
  warmupBelowNs: number;
  /** O(n^2) methods: time a sample of rows when the full work exceeds this many calls */
  samplePairs: number;
  /** options passed to the native open() */
  native?: { btfPath?: string; ringbufBytes?: number };
  /** seed of any sampling (kcmp-pairwise rows) */
  seed: number;
  /** the harness overhead (empty native call), for the overhead-high warning */
  overheadNs?: number;
  clockResolutionNs?: number;
}

export const DEFAULT_MEASURE: MeasureOptions = {
  blockTargetNs: 8e6,
  maxBlock: 16,
  warmupBelowNs: 20e6,
  samplePairs: 30_000,
  seed: 1,
};

/** A live workload instance, as the units see it. */
export interface InstanceRef {
  id: number;
  scenario: Scenario;
  n: number;
  /** a task sweep's instance: its --tasks */
  k?: number;
  replica: number;
  /** a lane's variant workload (not part of the sweep's figures) */
  variant?: Variant;
  manifest: Manifest;
  pids: number[];
  alive: () => boolean;
}

function totalFds(m: Manifest): number {
  return m.tasks.reduce((a, t) => a + t.fds.length, 0);
}

/** Why the method has nothing to do on this scenario, or undefined. */
export function notApplicable(method: Pick<MethodDescriptor, 'needs'>, manifest: Manifest): string | undefined {
  if (method.needs.length === 0) return undefined;
  const has = { epoll: manifest.epoll.some((e) => e.items.length > 0), io_uring: manifest.io_uring.length > 0 };
  if (method.needs.some((k) => has[k])) return undefined;
  const what = { epoll: 'no epoll items', io_uring: 'no io_uring instance' };
  return `nothing to recover: the scenario has ${method.needs.map((k) => what[k]).join(' and ')}`;
}

/** the fields every measurement of this (instance, method) shares */
export function baseOf(
  method: MethodDescriptor,
  inst:
    | Pick<InstanceRef, 'id' | 'scenario' | 'n' | 'k' | 'replica' | 'manifest' | 'variant'>
    | { id: -1; scenario: Scenario; n: number; k?: number; replica: number; manifest?: undefined; variant?: undefined },
) {
  return {
    scenario: inst.scenario,
    ...(inst.variant ? { variant: inst.variant } : {}),
    method: method.name,
    family: method.family,
    role: method.role,
    n: inst.n,
    instance: inst.id,
    replica: inst.replica,
    fds: inst.manifest ? totalFds(inst.manifest) : 0,
    tasks: inst.manifest ? inst.manifest.tasks.length : 0,
    ...(inst.k !== undefined ? { k: inst.k } : {}),
    extrapolated: false,
    warnings: [] as WarningCode[],
  };
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

function firstMismatch(ms: Mismatch[]): string {
  const m = ms[0]!;
  return `${m.kind} pid ${m.pid} ${m.where}: expected ${m.expected}, got ${m.got}`;
}

export type Opened = { kind: 'unit'; unit: LocalUnit } | { kind: 'final'; measurement: Measurement };

/** this process's RLIMIT_NOFILE (soft), from /proc/self/limits */
export function descriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Open, verify and calibrate one method on one instance. */
export async function openUnit(method: MethodDescriptor, inst: InstanceRef, opts: MeasureOptions = DEFAULT_MEASURE): Promise<Opened> {
  const base = baseOf(method, inst);
  const final = (m: Measurement): Opened => ({ kind: 'final', measurement: m });
  const skip = (skip: SkipCode, reason: string) => final({ ...base, state: 'skipped', skip, reason });
  const na = notApplicable(method, inst.manifest);
  if (na) return skip('not-applicable', na);

  const opened = openMethod(method, inst.pids, opts.native ?? {});
  if (opened.state === 'skipped') return skip(opened.code, opened.reason);
  if (opened.state === 'errored' && (opened.errno === constants.errno.EMFILE || opened.errno === constants.errno.ENFILE)) {
    // the harness's own descriptors ran out (one BPF link per task of a big
    // tree, for every unit already open): the size does not fit this run,
    // it is not the method's failure
    return skip('too-large', `the harness has no descriptor left for it (RLIMIT_NOFILE ${descriptorLimit() ?? '?'}; the units opened before it hold the rest): ${opened.reason}`);
  }
  if (opened.state !== 'open') return final({ ...base, state: 'errored', reason: opened.reason });
  // how it runs here, when open() said (e.g. a fallback object): on every result of this unit
  if (opened.note) Object.assign(base, { note: opened.note });
  const c = opened.collector;
  let keep = false;
  try {
    const F = base.fds;
    const fullPairs = (F * (F - 1)) / 2;
    const sampled = method.sampling === 'rows' && fullPairs > opts.samplePairs;
    // rows chosen at random (seeded): the same rows in every collect, each compared with all others
    const rows = sampled ? rowsForPairs(F, opts.samplePairs) : 0;
    if (method.sampling === 'rows') c.setSampling(rows, opts.seed);

    // 1. Verify before timing.
    const t0 = process.hrtime.bigint();
    const first = c.collect();
    const firstNs = Number(process.hrtime.bigint() - t0);
    if (!first.ok) return final({ ...base, state: 'errored', reason: first.error });
    // a sampled answer is checked completely on its sampled rows (their
    // identity classes): the rows asked for, not the rows it says it did
    const sampleRows = sampled ? rows : undefined;
    if (sampled && first.out.sample?.rows !== rows) {
      return final({ ...base, state: 'errored', reason: `${method.name} was asked to sample ${rows} rows and says it did ${first.out.sample?.rows ?? 'none'}` });
    }
    const checked = checkAnswer(method, inst, first.out.buffer, sampled, sampleRows);
    if (!checked.ok) return final({ ...base, ...checked.measurement });
    const known = [c.digest()];

    // 2. Calibrate: the time of one collect sets the block size. The
    // collects are timed in C like the rounds' (block()), one warm-up and
    // three measured, each answer digested and checked like a timed one.
    let estimateNs = firstNs;
    if (firstNs < 50e6) {
      // a collect of 20 ms or more (cold) gets one block of one timed collect
      // and no warm-up whatever the estimate says within a factor 2: one
      // warm-up and one measured are enough; a faster one, one and three
      const want = firstNs >= (opts.warmupBelowNs ?? DEFAULT_MEASURE.warmupBelowNs) ? 2 : 4;
      const times = new Float64Array(want);
      const digests = new BigUint64Array(want);
      const ns: number[] = [];
      while (ns.length < want) {
        const known64 = BigUint64Array.from(known);
        const { value: n } = await rtBudget.run(expectedBlockNs(firstNs, want - ns.length), () => c.block(want - ns.length, times, digests, known64));
        if (n < 0) {
          const again = c.collect();
          return final({ ...base, state: 'errored', reason: again.ok ? 'collect failed while calibrating' : again.error });
        }
        for (let i = 0; i < n; i++) ns.push(times[i]!);
        const last = digests[n - 1]!;
        if (!known.includes(last)) {
          const again = checkAnswer(method, inst, c.result().buffer, sampled, sampleRows);
          if (!again.ok) return final({ ...base, ...again.measurement, reason: `answer changed after verification (calibration): ${again.measurement.reason}` });
          known.push(last);
        }
      }
      // the fastest of the three measured: on a busy machine one preempted
      // collect (a 4 ms tick or more) made the mean of a 5 ms method pass
      // warmupBelowNs and replicaMaxNs (issue 15)
      estimateNs = Math.min(...ns.slice(1));
    }

    // 3. Stages, kernel calls and (sampled work) how to scale: from a few
    // more collects, each answer checked like the timed ones.
    const stageRuns: Partial<Record<Stage, number>>[] = [];
    let calls = 0;
    let totalNs: number[] = [];
    let extrapolation: Extrapolation | undefined;
    let scale = 1;
    let fixedNs = 0;
    // a slow method's first (verified) collect is long enough to read its
    // stages from: opening it costs one collect, not three
    const slow = estimateNs > 20e6;
    const stageCollects = slow ? 1 : 3;
    for (let i = 0; i < stageCollects; i++) {
      const ts = process.hrtime.bigint();
      const r = slow ? first : c.collect();
      totalNs.push(slow ? firstNs : Number(process.hrtime.bigint() - ts));
      if (!r.ok) return final({ ...base, state: 'errored', reason: r.error });
      const d = slow ? known[0]! : c.digest();
      if (!known.includes(d)) {
        const again = checkAnswer(method, inst, r.out.buffer, sampled, sampleRows);
        if (!again.ok) return final({ ...base, ...again.measurement, reason: `answer changed after verification (stage collect${sampled && i === 0 ? ', the sampling probe' : ''}): ${again.measurement.reason}` });
        known.push(d);
      }
      stageRuns.push(r.out.stagesNs);
      calls = r.out.calls;
      if (sampled && i === 0) {
        const p = r.out.sample;
        if (!p) return final({ ...base, state: 'errored', reason: `${method.name} samples rows but reported no sample figures` });
        if (p.made > 0 && p.made < p.total) {
          scale = p.total / p.made;
          const part = (method.scaledStage && r.out.stagesNs[method.scaledStage]) ?? 0;
          fixedNs = Math.max(0, totalNs[0]! - part);
          extrapolation = {
            measuredUnits: p.made,
            totalUnits: p.total,
            how: `timed ${p.rows} of ${p.rowsTotal} rows chosen at random (${p.made} of ${p.total} kcmp calls); the ${method.scaledStage ?? 'sampled'} part of each sample, timed in that sample, scaled by ${scale.toFixed(1)}, the rest (about ${(fixedNs / 1e6).toFixed(2)} ms) counted once`,
          };
        }
      }
    }
    const stagesNs: Partial<Record<Stage, number>> = {};
    for (const s of Object.keys(stageRuns[0] ?? {}) as Stage[]) {
      const vals = stageRuns.map((x) => x[s] ?? 0).sort((a, b) => a - b);
      stagesNs[s] = vals[Math.floor(vals.length / 2)]! * (s === method.scaledStage ? scale : 1);
    }
    totalNs = [];
    const block = Math.max(1, Math.min(opts.maxBlock, Math.round(opts.blockTargetNs / Math.max(1, estimateNs))));
    keep = true;
    return {
      kind: 'unit',
      unit: new LocalUnit(method, inst, c, {
        base,
        block,
        warmup: estimateNs < (opts.warmupBelowNs ?? DEFAULT_MEASURE.warmupBelowNs) ? 1 : 0,
        estimateNs,
        known,
        sampled,
        sampleRows,
        coldNs: opened.coldNs,
        stagesNs,
        calls: Math.round(calls * scale),
        extrapolation,
        scale,
        fixedNs,
        coverage: checked.coverage,
        opts,
      }),
    };
  } finally {
    if (!keep) c.close();
  }
}

type Checked =
  | { ok: true; coverage: Coverage }
  | { ok: false; measurement: Extract<Measurement, { state: 'wrong' | 'errored' }> & Record<string, unknown> };

/** decode and verify one answer in full; a big one is followed by a garbage collection (bench/gc.ts) */
function checkAnswer(method: MethodDescriptor, inst: InstanceRef, buf: ArrayBuffer, sampled: boolean, sampleRows?: number): Checked {
  const out = checkAnswerOnce(method, inst, buf, sampled, sampleRows);
  if (buf.byteLength >= GC_AFTER_BYTES || totalFds(inst.manifest) >= GC_AFTER_FDS) collectGarbage();
  // an answer that disagrees because a task of the tree died is not the method's fault: the
  // ground truth no longer holds (a killed task's descriptors are gone), so errored, not wrong
  if (!out.ok && out.measurement.state === 'wrong' && !inst.alive()) {
    return { ok: false, measurement: { ...baseOf(method, inst), state: 'errored', reason: `the workload died during the measurement (${out.measurement.reason})` } };
  }
  return out;
}

function checkAnswerOnce(method: MethodDescriptor, inst: InstanceRef, buf: ArrayBuffer, sampled: boolean, sampleRows?: number): Checked {
  const base = baseOf(method, inst);
  let rec: Recovered;
  try {
    rec = decodeRecords(buf);
  } catch (e) {
    return { ok: false, measurement: { ...base, state: 'errored', reason: `undecodable records: ${(e as Error).message}` } };
  }
  const v = verify(inst.manifest, rec, method, { sampled, sampleRows });
  if (v.ok) return { ok: true, coverage: v.coverage };
  return {
    ok: false,
    measurement: {
      ...base,
      state: 'wrong',
      reason: `${v.mismatches.length} mismatch(es) with the ground truth, first: ${firstMismatch(v.mismatches)}`,
      coverage: v.coverage,
      mismatchCount: v.mismatches.length,
      mismatches: v.mismatches.slice(0, 20),
    },
  };
}

interface UnitState {
  base: ReturnType<typeof baseOf>;
  block: number;
  /** untimed collects at the start of each block (0 or 1) */
  warmup: number;
  estimateNs: number;
  known: bigint[];
  sampled: boolean;
  /** sampled: the rows each answer must have compared with all others */
  sampleRows?: number;
  coldNs: number;
  stagesNs: Partial<Record<Stage, number>>;
  calls: number;
  extrapolation?: Extrapolation;
  scale: number;
  fixedNs: number;
  coverage: Coverage;
  opts: MeasureOptions;
}

/** One opened, verified method on one instance: times blocks, checks every answer. */
export class LocalUnit implements Unit {
  readonly key: string;
  readonly block: number;
  /** the rounds it is visited in (set by the run before its rounds; default every round) */
  cadence?: Cadence;
  /** visited back to back with the units of the same group (set by the run) */
  group?: string;
  private readonly ns: number[] = [];
  private readonly round: number[] = [];
  private readonly atMs: number[] = [];
  /** the timing thread's off-CPU time per sample (not for a parallel method) */
  private readonly offCpu: number[] = [];
  private readonly answers: AnswerChecks = { timed: 0, sameDigest: 0, reverified: 0 };
  /** a failure is committed by the rounds' sink; one a stop signal caused is dropped */
  private failed?: Extract<Measurement, { state: 'wrong' | 'errored' }>;
  private pendingFailure?: Extract<Measurement, { state: 'wrong' | 'errored' }>;
  private readonly times: Float64Array;
  /** sampled work: each collect's time in the sampled stage */
  private readonly stage: Float64Array;
  private readonly digests: BigUint64Array;
  private readonly off: Float64Array;

  constructor(
    readonly method: MethodDescriptor,
    readonly inst: InstanceRef,
    private collector: Collector | undefined,
    private readonly s: UnitState,
  ) {
    this.key = `${inst.id}:${method.name}`;
    this.block = s.block;
    this.times = new Float64Array(Math.max(s.block, s.opts.maxBlock) + s.warmup);
    this.stage = new Float64Array(Math.max(s.block, s.opts.maxBlock) + s.warmup);
    this.digests = new BigUint64Array(Math.max(s.block, s.opts.maxBlock) + s.warmup);
    this.off = new Float64Array(Math.max(s.block, s.opts.maxBlock) + s.warmup);
  }

  /**
   * whether a sample's off-CPU time is recorded: interference inside a
   * collect's wall time (not a method that waits for its own threads, and
   * not an extrapolated sample, whose time is not one collect's)
   */
  private get offCpuMeasured(): boolean {
    return !this.method.parallel && this.s.scale === 1;
  }

  /** samples recorded so far */
  get sampleCount(): number {
    return this.ns.length;
  }

  /** the samples so far, by reference (read them, never change them: bench/goal.ts) */
  get samples(): Samples {
    return { ns: this.ns, round: this.round, atMs: this.atMs };
  }

  /** estimated time of one collect (ns), from the calibration */
  get estimateNs(): number {
    return this.s.estimateNs;
  }

  async runBlock(round: number, k = this.block): Promise<BlockOutcome> {
    const c = this.collector;
    if (!c) return { ok: false, state: 'errored', reason: 'collector closed' };
    const out: number[] = [];
    const offOut: number[] = [];
    let waitedNs = 0;
    // the warm-up collect is checked like the others, its time is not kept
    let untimed = this.s.warmup;
    let left = Math.min(k, this.times.length - untimed) + untimed;
    while (left > 0) {
      const known = BigUint64Array.from(this.s.known);
      // under RT throttling's limit (rtbudget.ts): the wait is outside the
      // block, and the samples' start times leave out a wait before the first
      const b = await rtBudget.run(expectedBlockNs(this.s.estimateNs, left), () =>
        c.block(left, this.times, this.digests, known, this.s.scale === 1 ? undefined : this.stage, this.offCpuMeasured ? this.off : undefined),
      );
      const n = b.value;
      if (out.length === 0) waitedNs += b.waitedNs;
      if (n < 0) {
        const r = c.collect();
        return this.fail({ ...this.s.base, state: 'errored', reason: r.ok ? `collect failed (errno ${-n}) in round ${round}` : `${r.error} (round ${round})` });
      }
      const skip = Math.min(untimed, n);
      untimed -= skip;
      for (let i = skip; i < n; i++) {
        out.push(this.scaled(this.times[i]!, this.stage[i]!));
        if (this.offCpuMeasured) offOut.push(this.off[i]!);
      }
      this.answers.timed += n - skip;
      const last = this.digests[n - 1]!;
      const newAnswer = !this.s.known.includes(last);
      this.answers.sameDigest += newAnswer ? n - 1 : n;
      if (newAnswer) {
        // an answer not seen before, still in the result buffer: verify it in full
        const r = c.result();
        const v = checkAnswer(this.method, this.inst, r.buffer, this.s.sampled, this.s.sampleRows);
        if (!v.ok) {
          const m = v.measurement;
          return this.fail({ ...m, reason: `answer changed while timed (round ${round}): ${m.reason}`, ...(m.state === 'wrong' ? { round } : {}) });
        }
        this.answers.reverified++;
        this.s.known.push(last);
      }
      left -= n;
    }
    if (!this.inst.alive()) return this.fail({ ...this.s.base, state: 'errored', reason: `the workload died during the measurement (round ${round})` });
    return { ok: true, timesNs: out, waitedMs: waitedNs / 1e6, ...(this.offCpuMeasured ? { offCpuNs: offOut } : {}) };
  }

  /**
   * extrapolated work: the sampled stage of this very collect scaled to the
   * whole, the rest once. (Subtracting one estimate of the fixed part from
   * every sample would scale that part's noise too: with thousands of
   * tasks a 2-row sample's kcmp calls are smaller than the noise of reading
   * 26000 fdinfo files, and a scale of 6500 turned it into nonsense.)
   */
  private scaled(ns: number, stageNs: number): number {
    return this.s.scale === 1 ? ns : ns + Math.max(0, stageNs) * (this.s.scale - 1);
  }

  private fail(m: Extract<Measurement, { state: 'wrong' | 'errored' }>): BlockOutcome {
    this.pendingFailure = m;
    return { ok: false, state: m.state, reason: m.reason };
  }

  /** the failure of the last block counts (not caused by a stop) */
  commitFailure(): void {
    if (this.pendingFailure) this.failed = this.pendingFailure;
  }

  record(round: number, atMs: number, ns: number, offCpuNs?: number): void {
    if (this.offCpuMeasured && offCpuNs !== undefined && this.offCpu.length === this.ns.length) this.offCpu.push(Math.round(offCpuNs));
    this.ns.push(ns);
    this.round.push(round);
    this.atMs.push(Math.round(atMs * 1000) / 1000);
  }

  /** the measurement so far (verified with its samples, or why it stopped) */
  toMeasurement(opts: { requestedRounds?: number } = {}): Measurement {
    if (this.failed) return this.failed;
    const samples: Samples = { ns: [...this.ns], round: [...this.round], atMs: [...this.atMs] };
    // every sample's off-CPU time, or none (a gate unit or a parallel method)
    if (this.offCpu.length === this.ns.length && this.ns.length) samples.offCpuNs = [...this.offCpu];
    if (samples.ns.length === 0) return { ...this.s.base, state: 'errored', reason: 'no round was completed' };
    const stats: Statistics = computeStatistics(samples.ns, { keepSamples: 0 });
    const extrapolated = this.s.extrapolation !== undefined;
    const rounds = new Set(samples.round).size;
    const warnings = computeWarnings(stats, {
      overheadNs: this.s.opts.overheadNs,
      clockResolutionNs: this.s.opts.clockResolutionNs,
      requestedSamples: opts.requestedRounds,
      samplesSeen: rounds,
      extrapolated,
    });
    const trend = withinBlockTrend(samples);
    if (trend.blocks >= 5 && Math.abs(trend.rho) > 0.5) warnings.push('trend');
    const drift = roundDrift(samples);
    if (drift.rounds >= 8 && Math.abs(drift.rho) > 0.7) warnings.push('drift');
    if (samples.offCpuNs && offCpuCollects(samples) > THRESHOLDS.offCpuFraction * samples.ns.length) warnings.push('off-cpu');
    const m: Verified = {
      ...this.s.base,
      state: 'verified',
      extrapolated,
      warnings,
      coverage: this.s.coverage,
      stats,
      samples,
      block: this.block,
      ...(this.s.warmup ? { warmup: this.s.warmup } : {}),
      coldNs: this.s.coldNs,
      stagesNs: this.s.stagesNs,
      calls: this.s.calls,
      answers: { ...this.answers },
    };
    if (this.s.extrapolation) m.extrapolation = this.s.extrapolation;
    return m;
  }

  close(): void {
    this.collector?.close();
    this.collector = undefined;
  }
}

/** The harness overhead: an empty native call, timed by tinybench like a method. */
export async function measureOverhead(): Promise<Statistics | undefined> {
  // a count, not a time: 100 ms of a 40 ns call is two million samples, whose
  // statistics took the run's first two seconds
  const bench = new Bench({ time: 0, iterations: 20_000, warmupIterations: 1000, warmupTime: 0, retainSamples: true, throws: false, timestampProvider: 'hrtimeNow' });
  bench.add('noop', () => nativeNoop());
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') return undefined;
  const samples = r.latency.samples ?? [];
  return samples.length ? computeStatistics(samples.map((ms) => ms * 1e6), { keepSamples: 0 }) : undefined;
}
