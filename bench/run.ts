/**
 * A bench run. Per scenario: start a workload instance for every size of the
 * sweep (and extra replicas at the largest size), all alive and frozen at
 * once; open every method on every instance and verify its first answer;
 * then measure in rounds (bench/rounds.ts): each round visits every
 * (instance, method) once, one block of collects each, in a fresh seeded
 * random order, and every timed answer is checked. Sizes interleave inside
 * each round, so drift over the run cannot bend a growth fit; every ratio is
 * computed per round (analysis/paired.ts).
 *
 * Results are written after each scenario and on interruption (so an
 * interrupted run keeps what it measured), never between two blocks of a
 * round. Data flows one way: workload -> collector -> verify -> time ->
 * results -> analysis and reports.
 */
import { mkdirSync, accessSync, constants, existsSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { measureClockResolutionNs } from '../analysis/warnings.js';
import { writeReports } from '../analysis/report/index.js';
import { collectEnvironment } from './environment.js';
import type { Scenario } from './manifest.js';
import { DEFAULT_MEASURE, baseOf, descriptorLimit, measureOverhead, openUnit, type InstanceRef, type LocalUnit, type MeasureOptions } from './measure.js';
import { nativeSched } from './native.js';
import { RT_SHARE, rtBudget } from './rtbudget.js';
import { machineProbe, runRounds, visits, type Cadence } from './rounds.js';
import { WidthGoal } from './goal.js';
import { targetPairs, type TargetDescriptor } from '../analysis/targets.js';
import {
  EXPECTED_SKIPS,
  RESULTS_SCHEMA,
  type InstanceInfo,
  type Variant,
  type Measurement,
  type MethodDescriptor,
  type ResultsFile,
  type SkipCode,
} from './schema.js';
import { checkWorkload, startWorkload, stopAllWorkloads, type Workload } from './workload.js';
import { startIdleTasks, stopAllIdle, type IdleTasks } from './idle.js';
import { scenarioInfo } from './manifest.js';
import { criuDump, findCriu, frozenCgroupOf, killCriuChildren, type CriuFound, type CriuResult } from './criu/index.js';

export interface RunOptions {
  scenarios: Scenario[];
  methods: MethodDescriptor[];
  sizes: number[];
  tasks: number;
  /** a task sweep: every size started once per K (as its --tasks), instead of once with `tasks` */
  tasksSweep?: number[];
  /** unrelated idle processes kept running outside the workloads during the run (0: none) */
  idleTasks?: number;
  buffers?: number;
  /** wall-time target of the whole run, s: a share of it (extraShare) goes to extra rounds of the fast units at the largest size */
  timeBudgetS: number;
  /** instances at the largest size of each scenario (default 2) */
  replicas: number;
  /** rounds per scenario: minRounds core rounds, then extra rounds (fast units at the largest size) up to maxRounds as the budget allows */
  minRounds: number;
  maxRounds: number;
  seed: number;
  /** replicas beyond the first measure only methods whose collect is faster than this (ns) */
  replicaMaxNs: number;
  outDir: string;
  commandLine: string;
  freeze: boolean;
  churn: boolean;
  btfPath?: string;
  charts: boolean;
  /** the CRIU lane: auto (when CRIU is found), on (a missing CRIU is a skipped lane), off */
  criu: 'auto' | 'on' | 'off';
  /** sizes the CRIU lane dumps at (default: the largest sweep size up to CRIU_DEFAULT_MAX_N) */
  criuSizes?: number[];
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/**
 * The CRIU lane dumps at one size per scenario by default: a dump at
 * N = 10000 takes 0.4-2 s and decoding its images 2-5 s more, which a
 * 90 s default run cannot afford at every size (--criu-sizes for others).
 */
export const CRIU_DEFAULT_MAX_N = 2500;

export function criuSizesFor(sizes: readonly number[], asked?: readonly number[]): number[] {
  if (asked?.length) return sizes.filter((n) => asked.includes(n));
  const fit = sizes.filter((n) => n <= CRIU_DEFAULT_MAX_N);
  return [fit.length ? Math.max(...fit) : Math.min(...sizes)];
}

export const RUN_DEFAULTS = {
  replicas: 2,
  minRounds: 6,
  /**
   * rounds per scenario, extra rounds included: after the core rounds, the
   * target pairs whose CI is still wider than ciGoal get up to maxRounds -
   * minRounds extra rounds (bench/goal.ts). Their method/floor ratios
   * scatter 5-14 % (MAD) from round to round whatever is paired with them,
   * so their CIs narrow only with more rounds (all/N=10000, 2026-11-30: 7
   * rounds per instance gave widths of 9-41 %, 20 gave 2.5-13 %, 40 gave
   * 4-7 %). More blocks in the same round would not do: three blocks of
   * bpf-all in each core round, at random places, scattered 2-5 % around
   * their round's median while the rounds' medians scattered 8-14 % (the
   * host's state lasts seconds)
   */
  maxRounds: 64,
  /**
   * a target pair leaves the extra rounds once its CI's width (high - low
   * over the ratio) is at most this: below the 10 % target
   * (analysis/targets.ts CI_WIDTH_LIMIT), so touching it is not enough
   */
  ciGoal: 0.08,
  /** a fast target pair's CI is looked at every this many extra rounds (a slow one after every round) */
  lookEvery: 4,
  /** the most extra rounds a slow target pair (procfs and its floor) is visited in while a fast one is open (bench/goal.ts) */
  slowExtraRounds: 2,
  /** share of the extra rounds' pool kept for the reference scenario on top of its even share (ExtraPool) */
  referenceShare: 0.4,
  seed: 1,
  replicaMaxNs: 20e6,
  /**
   * share of the time budget the extra rounds of the whole run may take
   * (after each scenario's core rounds, the target pairs still wide;
   * ExtraPool). On this host the pairs of the epoll and io_uring scenarios
   * rarely reach ciGoal, so the pool is what ends their extra rounds: 18 %
   * of the 75 s kept a default run's wall where 18 extra rounds of every
   * fast unit had it (those took 12.4-14.2 s)
   */
  extraShare: 0.18,
  /**
   * a unit whose collect takes at least this long (ns) is slow: at a size
   * below the largest it is visited in every other core round (its rounds
   * cost most of a round's time; the figures at the largest size are the
   * ones with targets), and at the largest size it gets extra rounds only
   * for a target ratio, few while a fast one is open (slowExtraRounds)
   */
  slowNs: 20e6,
} as const;

/**
 * Each method with a floor, and each floor, named by a group: a method is
 * in its floor's group (a floor that several methods share takes them all).
 * The units of one group on one instance are visited back to back in a
 * round (bench/rounds.ts roundOrder), so a method/floor ratio compares
 * blocks taken moments apart.
 */
export function floorGroups(methods: readonly Pick<MethodDescriptor, 'name' | 'floor'>[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of methods) {
    if (!m.floor || !methods.some((f) => f.name === m.floor)) continue;
    out.set(m.name, m.floor);
    out.set(m.floor, m.floor);
  }
  return out;
}

/** the run's reference scenario (the generator marks it), when the run has it */
export function referenceOf(scenarios: readonly Scenario[]): Scenario | undefined {
  try {
    return scenarios.find((s) => scenarioInfo(s)?.reference === true);
  } catch {
    return undefined;
  }
}

/**
 * The extra rounds' time of a whole run (RUN_DEFAULTS.extraShare of
 * --budget), shared by its scenarios in their order: each may use an even
 * share of what the ones before it left (a scenario whose extra rounds are
 * cheap, its target pairs narrow, leaves the rest to the later ones). The
 * reference scenario, whose ratios the targets judge, has a reserve
 * (RUN_DEFAULTS.referenceShare of the pool) on top of its share, kept from
 * the scenarios before it: in three default runs with even shares alone,
 * the epoll and io_uring scenarios' pairs (which rarely narrow to the goal
 * here) spent theirs, and `all` was left 2.8 s for four wide pairs.
 */
export class ExtraPool {
  private leftMs: number;
  private readonly reserveMs: number;
  private readonly pending: Scenario[];

  constructor(
    totalMs: number,
    scenarios: readonly Scenario[],
    private readonly reference?: Scenario,
    referenceShare: number = RUN_DEFAULTS.referenceShare,
  ) {
    this.leftMs = totalMs;
    this.pending = [...scenarios];
    this.reserveMs = reference !== undefined && scenarios.includes(reference) ? totalMs * referenceShare : 0;
  }

  private get reserved(): number {
    return this.reference !== undefined && this.pending.includes(this.reference) ? Math.min(this.reserveMs, this.leftMs) : 0;
  }

  /** the budget of a scenario about to run, ms */
  next(scenario: Scenario): number {
    const free = this.leftMs - this.reserved;
    const share = free / Math.max(1, this.pending.length);
    return scenario === this.reference ? share + this.reserved : share;
  }

  /** what that scenario's extra rounds took, ms */
  spent(scenario: Scenario, ms: number): void {
    this.leftMs = Math.max(0, this.leftMs - ms);
    const i = this.pending.indexOf(scenario);
    if (i >= 0) this.pending.splice(i, 1);
  }
}

/**
 * The methods of the target ratios: each method with a floor target
 * (floorLimit) and its floor. Their method / floor ratios at the largest
 * size are judged against the targets (analysis/targets.ts).
 */
export function targetMethods(methods: readonly TargetDescriptor[]): Set<string> {
  return new Set(targetPairs(methods).flatMap((p) => [p.method, p.floor]));
}

/**
 * The rounds a unit is visited in (bench/rounds.ts): at the largest size,
 * a fast unit in every round (the extra ones while its target ratio's CI is
 * wide: bench/goal.ts), a slow one of a target ratio (targeted: procfs and
 * its floor) in the core rounds (and a few extra ones), any other slow
 * one (a baseline: kcmp, pidfd) in the even core rounds; below the largest
 * size (and the CRIU variant's units), a fast unit in the core rounds, a
 * slow one in the even core rounds, all sizes of one method in the same
 * rounds (the per-round growth fit).
 *
 * A baseline's own time scatters 1-2 % from round to round; what it costs
 * is most of a round (kcmp-tree 0.3 s of a collect at all/N=10000), and
 * the rounds it frees go to the extra rounds of the fast units, whose
 * ratios scatter 5-14 % (RUN_DEFAULTS.maxRounds). Its speedups are paired
 * over the rounds both units were in: three.
 */
export function cadenceOf(u: { estimateNs: number; inst: { n: number; variant?: unknown } }, largest: number, targeted = true, slowNs: number = RUN_DEFAULTS.slowNs): Cadence {
  const slow = u.estimateNs >= slowNs;
  if (u.inst.n === largest && !u.inst.variant) return slow ? (targeted ? 'core' : 'even') : 'every';
  return slow ? 'even' : 'core';
}

export interface Progress {
  done: number;
  total: number;
  text: string;
  /** set-up, a workload starting, a method opening, a round, the final reports */
  phase: 'setup' | 'workload' | 'open' | 'round' | 'criu' | 'measure' | 'report';
  measurement?: Measurement;
}

export function makeRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${process.pid}`;
}

/** Geometric sweep ending at n: n/2^(steps-1) ... n (at least 16, distinct). */
export function sweepSizes(n: number, steps: number): number[] {
  const out = new Set<number>();
  for (let i = steps - 1; i >= 0; i--) out.add(Math.max(Math.min(16, n), Math.round(n / 2 ** i)));
  return [...out].sort((a, b) => a - b);
}

/**
 * Create dir (and parents) and check it is writable. Returns the first
 * directory it created (undefined if dir existed), so a run stopped before
 * it wrote anything can remove what it made.
 */
export function ensureWritableDir(dir: string): string | undefined {
  let created: string | undefined;
  try {
    // mkdir -p by hand: node's recursive mkdirSync loops forever where
    // mkdir(2) says ENOENT under an existing parent (/proc/x)
    const missing: string[] = [];
    let d = path.resolve(dir);
    while (!existsSync(d)) {
      missing.unshift(d);
      const up = path.dirname(d);
      if (up === d) break;
      d = up;
    }
    for (const m of missing) {
      mkdirSync(m);
      created ??= m;
    }
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
    return created;
  } catch (e) {
    if (created) removeEmptyDirs(created, dir);
    throw new Error(`cannot write the output directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Remove dir and the empty directories between top and dir (what ensureWritableDir made), if empty. */
export function removeEmptyDirs(top: string, dir: string): void {
  for (let d = dir; d.startsWith(top); d = path.dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): keep it and its parents
    }
    if (d === top) return;
  }
}

/** resident memory of a process tree (proportional set size, so shared pages count once), KiB */
export function treePssKiB(pids: readonly number[]): number | undefined {
  let total = 0;
  let any = false;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) {
        total += Number(m[1]);
        any = true;
      }
    } catch {
      /* gone or not readable */
    }
  }
  return any ? total : undefined;
}

/**
 * Does this process hold more than half the descriptors it may? Methods
 * hold descriptors while open (a BPF link per task and method for the
 * per-pid iterators), and collects need more (pidfd-getfd copies a task's
 * descriptors into this process): optional units are not opened past this.
 */
export function descriptorsTight(): boolean {
  const limit = descriptorLimit();
  if (!limit) return false;
  try {
    return readdirSync('/proc/self/fd').length > limit / 2;
  } catch {
    return false;
  }
}

/** peak resident memory of this process, KiB */
export function harnessPeakRssKiB(): number {
  return process.resourceUsage().maxRSS;
}

interface Live {
  ref: InstanceRef;
  workload: Workload;
}

/**
 * The instances a scenario starts: one per size, or one per (size, K) in a
 * task sweep, each point once; `replicas` at the largest point (the largest
 * size, and the largest K in a task sweep).
 */
export function instancePoints(cfg: Pick<RunOptions, 'sizes' | 'tasksSweep' | 'replicas'>): { n: number; k?: number; replicas: number }[] {
  const nMax = Math.max(...cfg.sizes);
  const ks = cfg.tasksSweep?.length ? [...new Set(cfg.tasksSweep)].sort((a, b) => a - b) : undefined;
  const kMax = ks ? ks[ks.length - 1] : undefined;
  const out: { n: number; k?: number; replicas: number }[] = [];
  for (const n of [...new Set(cfg.sizes)].sort((a, b) => a - b)) {
    for (const k of ks ?? [undefined]) out.push({ n, ...(k !== undefined ? { k } : {}), replicas: n === nMax && k === kMax ? cfg.replicas : 1 });
  }
  return out;
}

export class Run {
  readonly results: ResultsFile;
  private writing: Promise<void> = Promise.resolve();
  private t0 = performance.now();
  /** the scenario being measured: its instances and units */
  private live: Live[] = [];
  private units: LocalUnit[] = [];
  private pending: Measurement[] = [];
  /** CRIU dumps whose images are being decoded, in the order they were taken */
  private decoding: Promise<CriuResult & { instance: number; variant?: Variant }>[] = [];
  private idle?: IdleTasks;

  constructor(readonly cfg: RunOptions) {
    const env = collectEnvironment(cfg.commandLine, cfg.freeze ? 'pending' : 'none (--no-freeze)');
    if (process.env.ITERBENCH_SLOWDOWN) env.slowdown = process.env.ITERBENCH_SLOWDOWN;
    const reference = referenceOf(cfg.scenarios);
    this.results = {
      schema: RESULTS_SCHEMA,
      runId: path.basename(cfg.outDir),
      complete: false,
      startedAt: new Date().toISOString(),
      environment: env,
      config: {
        scenarios: cfg.scenarios,
        methods: cfg.methods.map((m) => m.name),
        sizes: cfg.sizes,
        tasks: cfg.tasks,
        buffers: cfg.buffers ?? Math.min(1024, Math.max(...cfg.sizes)),
        timeBudgetS: cfg.timeBudgetS,
        replicas: cfg.replicas,
        rounds: cfg.maxRounds,
        coreRounds: cfg.minRounds,
        seed: cfg.seed,
        ...(reference !== undefined ? { reference } : {}),
        ...(cfg.tasksSweep ? { tasksSweep: cfg.tasksSweep } : {}),
        ...(cfg.idleTasks ? { idleTasks: cfg.idleTasks } : {}),
      },
      methods: cfg.methods,
      instances: [],
      rounds: [],
      measurements: [],
    };
  }

  private clock = (): number => performance.now() - this.t0;

  /** Rewrite JSON, CSV and summary (charts only at the end). Serialized. */
  save(charts = false): Promise<void> {
    this.results.harnessPeakRssKiB = harnessPeakRssKiB();
    const snapshot = structuredClone(this.results);
    this.writing = this.writing.then(() => writeReports(snapshot, this.cfg.outDir, { charts }));
    return this.writing;
  }

  private measureOptions(): MeasureOptions {
    return { ...DEFAULT_MEASURE, seed: this.cfg.seed, native: { btfPath: this.cfg.btfPath }, clockResolutionNs: measureClockResolutionNs() };
  }

  async execute(): Promise<ResultsFile> {
    const cfg = this.cfg;
    const mopts = this.measureOptions();
    let done = 0;
    const progress = (p: Omit<Progress, 'done' | 'total'>) => cfg.onProgress?.({ done, total: cfg.scenarios.length, ...p });
    progress({ phase: 'setup', text: 'measuring the harness overhead' });
    const overhead = await measureOverhead();
    if (overhead) {
      this.results.overhead = overhead;
      mopts.overheadNs = overhead.medianNs;
    }
    if (cfg.signal?.aborted) return this.results;
    await this.save();
    // unrelated idle processes (--idle-tasks): stopped when the run ends
    // (below, or in interrupt(); an exit handler kills them otherwise)
    if (cfg.idleTasks) {
      progress({ phase: 'setup', text: `starting ${cfg.idleTasks} unrelated idle processes (--idle-tasks)` });
      this.idle = await startIdleTasks(cfg.idleTasks);
      if (cfg.signal?.aborted) return this.results;
    }
    const freezers = new Set<string>();
    const extra = new ExtraPool(cfg.timeBudgetS * 1000 * RUN_DEFAULTS.extraShare, cfg.scenarios, this.results.config.reference);
    let criu: Extract<CriuFound, { state: 'ok' }> | undefined;
    const criuSizes = criuSizesFor(cfg.sizes, cfg.criuSizes);
    if (cfg.criu !== 'off') {
      const found = findCriu();
      if (found.state === 'ok') {
        criu = found;
        this.results.criu = { state: 'ran', version: found.version, sizes: criuSizes, dumps: [] };
      } else {
        const skip: SkipCode = cfg.criu === 'on' ? 'missing-feature' : 'needs-build';
        this.results.criu = { state: 'skipped', skip, reason: found.reason };
      }
    }
    for (const scenario of cfg.scenarios) {
      if (cfg.signal?.aborted) return this.results;
      const largest = Math.max(...cfg.sizes);
      const kMax = cfg.tasksSweep?.length ? Math.max(...cfg.tasksSweep) : undefined;
      // 1. every instance of the scenario, alive and frozen at once: one per
      // size, or per (size, K) in a task sweep; replicas at the largest
      for (const { n, k, replicas } of instancePoints(cfg)) {
        const at = `${scenario} n=${n}${k !== undefined ? ` K=${k}` : ''}`;
        const fits = checkWorkload({ scenario, files: n, tasks: k ?? cfg.tasks, buffers: cfg.buffers });
        for (let replica = 0; replica < replicas; replica++) {
          if (cfg.signal?.aborted) return this.results;
          if (!fits.ok) {
            if (replica === 0) this.skipAll(scenario, n, k, fits.state === 'usage' ? 'too-large' : undefined, fits.reason);
            continue;
          }
          progress({ phase: 'workload', text: `${at}${replicas > 1 ? ` (instance ${replica + 1} of ${replicas})` : ''}: starting the workload` });
          const started = await this.startInstance(scenario, n, k, replica, undefined, freezers);
          if (started.state !== 'ready') {
            if (replica === 0) this.skipAll(scenario, n, k, started.code, `workload: ${started.reason}`);
            continue;
          }
        }
      }
      // the CRIU lane's variant: the same scenario without what CRIU refuses
      const info = scenarioInfo(scenario);
      if (criu && info?.criu.compatible) {
        for (const n of criuSizes) {
          if (cfg.signal?.aborted) return this.results;
          progress({ phase: 'workload', text: `${scenario} n=${n} (variant CRIU can dump): starting the workload` });
          // (a task sweep's variant has its largest K)
          const v = await this.startInstance(scenario, n, kMax, 0, 'criu-compatible', freezers);
          if (v.state !== 'ready') this.results.criu!.state === 'ran' && this.pendingCriuNote(scenario, n, v.reason);
        }
      }
      try {
        // 2. open and verify every method on every instance
        for (const l of this.live) {
          for (const method of cfg.methods) {
            if (cfg.signal?.aborted) return this.results;
            if (l.ref.replica > 0 && !this.replicated(l.ref, method)) continue;
            // a baseline measured at the largest size only (its descriptor says so)
            if (method.sweep === 'largest' && !l.ref.variant && l.ref.n !== largest) continue;
            // the CRIU variant: what the context line compares a dump with (recovery methods of this host, not sampled)
            if (l.ref.variant && !(method.role === 'recovery' && method.lane === 'host' && method.sampling === 'none')) continue;
            progress({ phase: 'open', text: `${scenario} n=${l.ref.n}${l.ref.k !== undefined ? ` K=${l.ref.k}` : ''}${l.ref.replica ? `#${l.ref.replica + 1}` : ''}${l.ref.variant ? ` (${l.ref.variant})` : ''} ${method.name}: open and verify` });
            const o = l.workload.alive()
              ? await openUnit(method, l.ref, mopts)
              : { kind: 'final' as const, measurement: { ...baseOf(method, l.ref), state: 'errored' as const, reason: 'the workload died before this measurement' } };
            if (o.kind === 'unit' && (l.ref.replica > 0 || l.ref.variant) && descriptorsTight()) {
              // an optional unit (a replica's, the CRIU variant's) that leaves the harness
              // too few descriptors for the others' collects: one BPF link per task of
              // a 2000-task tree is 2000 descriptors held by the harness
              o.unit.close();
              progress({ phase: 'open', text: `${scenario} n=${l.ref.n}${l.ref.replica ? `#${l.ref.replica + 1}` : ''}${l.ref.variant ? ` (${l.ref.variant})` : ''} ${method.name}: not measured here (the harness holds over half its RLIMIT_NOFILE descriptors)` });
            } else if (o.kind === 'unit') this.units.push(o.unit);
            else {
              // a measurement cut short by a signal is not data
              if (o.measurement.state !== 'verified' && o.measurement.state !== 'skipped') await new Promise((r) => setTimeout(r, 20));
              if (cfg.signal?.aborted) return this.results;
              this.pending.push(o.measurement);
              progress({ phase: 'measure', text: `${scenario} n=${l.ref.n}${l.ref.k !== undefined ? ` K=${l.ref.k}` : ''} ${method.name}`, measurement: o.measurement });
            }
          }
        }
        // the previous scenario's CRIU images decoded (nothing of it runs during rounds)
        await this.endDecoding();
        if (cfg.signal?.aborted) return this.results;
        // 3. rounds
        const byKey = new Map(this.units.map((u) => [u.key, u]));
        const groups = floorGroups(cfg.methods);
        const targeted = targetMethods(cfg.methods);
        for (const u of this.units) {
          u.cadence = cadenceOf(u, largest, targeted.has(u.method.name));
          const g = groups.get(u.method.name);
          if (g !== undefined) u.group = `${u.inst.id}:${g}`;
        }
        // the extra rounds go to the target pairs whose CI is still wide (bench/goal.ts)
        const goal = new WidthGoal(this.units, cfg.methods, {
          scenario,
          largest,
          ...(kMax !== undefined ? { kMax } : {}),
          goal: RUN_DEFAULTS.ciGoal,
          lookEvery: RUN_DEFAULTS.lookEvery,
          slowNs: RUN_DEFAULTS.slowNs,
          slowExtra: RUN_DEFAULTS.slowExtraRounds,
          minRounds: cfg.minRounds,
        });
        const rounds = await runRounds(
          this.units,
          {
            add: (key, round, at, ns, off) => byKey.get(key)!.record(round, at, ns, off),
            fail: (key) => byKey.get(key)!.commitFailure(),
          },
          {
            scenario,
            scope: `bench/${scenario}`,
            seed: cfg.seed,
            minRounds: cfg.minRounds,
            maxRounds: cfg.maxRounds,
            budgetMs: extra.next(scenario),
            extraKeys: (i) => goal.keys(i),
            clock: this.clock,
            signal: cfg.signal,
            probe: machineProbe,
            onRound: (r) => progress({ phase: 'round', text: `${scenario}: round ${r.index + 1} (${(r.durationMs / 1000).toFixed(1)} s, ${this.units.length} units)` }),
          },
        );
        this.results.rounds.push(...rounds);
        // the extra rounds' time, the looks between them included
        const core = rounds.filter((r) => r.index < cfg.minRounds).at(-1);
        const last = rounds.at(-1);
        extra.spent(scenario, core && last && last !== core ? last.startMs + last.durationMs - (core.startMs + core.durationMs) : 0);
        if (goal.active) {
          goal.finish();
          const pairs = goal.outcomes();
          this.results.extraRounds = [...(this.results.extraRounds ?? []), { scenario, pairs }];
          const open = pairs.filter((p) => p.closedBefore === undefined);
          progress({
            phase: 'round',
            text: `${scenario}: ${rounds.length} rounds; ${pairs.length - open.length} of ${pairs.length} target ratios within ${RUN_DEFAULTS.ciGoal * 100} % CI${open.length ? `, wider at the end: ${open.map((p) => `${p.method} ${p.widthPct ?? '?'} %`).join(', ')}` : ''}`,
          });
        }
        if (this.units.length) {
          this.results.environment.sched = nativeSched();
          const l = rtBudget.limits;
          if (l) {
            this.results.environment.rtThrottle = {
              periodUs: l.periodNs / 1000,
              runtimeUs: l.runtimeNs / 1000,
              share: RT_SHARE,
              waits: rtBudget.waits,
              waitedMs: Math.round(rtBudget.waitedNs / 1e3) / 1e3,
            };
          }
        }
        if (cfg.signal?.aborted) return this.results;
        // 4. the CRIU lane, after the rounds (a dump must not disturb them):
        // the default tree (what CRIU refuses, with its own lines) and the variant it can dump
        if (criu && this.results.criu?.state === 'ran') {
          // (in a task sweep, the instances of the largest K)
          for (const l of this.live.filter((x) => criuSizes.includes(x.ref.n) && x.ref.replica === 0 && x.ref.k === kMax)) {
            if (cfg.signal?.aborted) return this.results;
            progress({ phase: 'criu', text: `${scenario} n=${l.ref.n}${l.ref.variant ? ` (${l.ref.variant})` : ''}: criu dump --leave-running` });
            // the dump and its intact check need the tree; decoding the
            // images does not: it goes on while the next scenario starts its
            // workloads and opens its methods, and ends before its rounds
            let treeDone!: () => void;
            const released = new Promise<void>((r) => (treeDone = r));
            const dump = criuDump(
              { rootPid: l.workload.rootPid, manifest: l.ref.manifest },
              { criu, freezeCgroup: frozenCgroupOf(l.workload.rootPid), signal: cfg.signal, onTreeDone: treeDone },
            ).then((r) => ({ ...r, instance: l.ref.id, ...(l.ref.variant ? { variant: l.ref.variant } : {}) }));
            this.decoding.push(dump);
            await Promise.race([released, dump]);
            if (cfg.signal?.aborted) return this.results;
          }
        }
        this.flushScenario(rounds.length);
        done++;
      } finally {
        await this.releaseScenario();
      }
      await this.save();
    }
    await this.endDecoding();
    if (cfg.signal?.aborted) return this.results;
    await this.idle?.stop();
    this.idle = undefined;
    this.results.complete = true;
    this.results.finishedAt = new Date().toISOString();
    done = cfg.scenarios.length;
    progress({ phase: 'report', text: cfg.charts ? 'writing the reports and charts' : 'writing the reports' });
    await this.save(cfg.charts);
    return this.results;
  }

  /** should this replica measure the method? fast methods only: their cost is where instances differ */
  private replicated(ref: InstanceRef, method: MethodDescriptor): boolean {
    const first = this.units.find(
      (u) => u.method.name === method.name && u.inst.scenario === ref.scenario && u.inst.n === ref.n && u.inst.k === ref.k && u.inst.replica === 0 && !u.inst.variant,
    );
    return first !== undefined && first.estimateNs < this.cfg.replicaMaxNs;
  }

  /** start, record and freeze one instance */
  private async startInstance(
    scenario: Scenario,
    n: number,
    k: number | undefined,
    replica: number,
    variant: Variant | undefined,
    freezers: Set<string>,
  ): Promise<{ state: 'ready' } | { state: 'failed'; code: SkipCode | undefined; reason: string }> {
    const cfg = this.cfg;
    const started = await startWorkload(
      { scenario, files: n, tasks: k ?? cfg.tasks, buffers: cfg.buffers, churn: cfg.churn, ...(variant === 'criu-compatible' ? { criuCompatible: true } : {}) },
      cfg.signal,
    );
    if (started.state !== 'ready') {
      const code: SkipCode | undefined = started.state === 'skipped' ? 'missing-feature' : started.state === 'usage' ? 'too-large' : undefined;
      return { state: 'failed', code, reason: started.reason };
    }
    const w = started.workload;
    const info: InstanceInfo = {
      id: this.results.instances.length,
      scenario,
      n,
      replica,
      ...(variant ? { variant } : {}),
      fds: w.manifest.tasks.reduce((a, t) => a + t.fds.length, 0),
      tasks: w.manifest.tasks.length,
      ...(k !== undefined ? { k } : {}),
      readyMs: Math.round(w.readyMs * 10) / 10,
    };
    const rss = treePssKiB(w.pids);
    if (rss !== undefined) info.rssKiB = rss;
    this.results.instances.push(info);
    this.live.push({
      workload: w,
      ref: { id: info.id, scenario, n, ...(k !== undefined ? { k } : {}), replica, ...(variant ? { variant } : {}), manifest: w.manifest, pids: w.pids, alive: () => w.alive() },
    });
    if (cfg.freeze) freezers.add(await w.freeze());
    this.results.environment.freezer = cfg.freeze ? [...freezers].join(', ') : 'none (--no-freeze)';
    return { state: 'ready' };
  }

  /** the CRIU lane could not start its variant tree: an errored row with the reason */
  private pendingCriuNote(scenario: Scenario, n: number, reason: string): void {
    const lane = this.results.criu;
    if (lane?.state !== 'ran') return;
    // (after the rows of dumps still decoding: the lane's rows stay in the order of the run)
    this.decoding.push(Promise.resolve({ lane: 'criu' as const, scenario, n, fds: 0, tasks: 0, state: 'errored' as const, reason: `the variant workload did not start: ${reason}`, instance: -1, variant: 'criu-compatible' as const }));
  }

  private skipAll(scenario: Scenario, n: number, k: number | undefined, code: SkipCode | undefined, reason: string): void {
    for (const m of this.cfg.methods) {
      const base = baseOf(m, { id: -1, scenario, n, k, replica: 0 });
      this.results.measurements.push(code ? { ...base, state: 'skipped', skip: code, reason } : { ...base, state: 'errored', reason });
    }
  }

  /** wait for the dumps still decoding and add them to the CRIU lane, in order */
  private async endDecoding(): Promise<void> {
    const pending = this.decoding;
    this.decoding = [];
    const rows = await Promise.all(pending);
    if (this.results.criu?.state === 'ran') this.results.criu.dumps.push(...rows);
  }

  /** the scenario's measurements: those that ended early, then every unit's */
  private flushScenario(rounds: number, interrupted = false): void {
    // cut short: a unit that has not completed a block was not measured (not a failure)
    const units = interrupted ? this.units.filter((u) => u.sampleCount > 0) : this.units;
    // the rounds each unit's cadence asked for, of those run
    const asked = (u: LocalUnit) => Array.from({ length: rounds }, (_, i) => i).filter((i) => visits(u.cadence ?? 'every', i, this.cfg.minRounds)).length;
    const ms = [...this.pending, ...units.map((u) => u.toMeasurement({ requestedRounds: Math.min(asked(u), this.cfg.minRounds) }))];
    const order = new Map(this.cfg.methods.map((m, i) => [m.name, i]));
    ms.sort((a, b) => a.n - b.n || (a.k ?? 0) - (b.k ?? 0) || a.replica - b.replica || order.get(a.method)! - order.get(b.method)!);
    this.results.measurements.push(...ms);
    for (const m of ms) this.cfg.onProgress?.({ done: 0, total: 0, phase: 'measure', text: `${m.scenario} n=${m.n}${m.k !== undefined ? ` K=${m.k}` : ''} ${m.method}`, measurement: m });
    this.pending = [];
  }

  private async releaseScenario(): Promise<void> {
    for (const u of this.units) u.close();
    this.units = [];
    const live = this.live;
    this.live = [];
    for (const l of live) {
      if (this.cfg.freeze) await l.workload.thaw().catch(() => undefined);
      await l.workload.stop().catch(() => undefined);
    }
  }

  /** On SIGINT/SIGTERM: keep what was measured (the scenario's rounds so far too), stop workloads, mark it incomplete. */
  async interrupt(why: string): Promise<void> {
    killCriuChildren();
    // a dump decoding now ends with its crit killed (errored) or its result: kept either way
    await this.endDecoding().catch(() => undefined);
    if (this.units.length || this.pending.length) {
      try {
        this.flushScenario(0, true);
      } catch {
        /* keep going: the workloads must stop */
      }
    }
    await this.releaseScenario().catch(() => undefined);
    try {
      stopAllWorkloads();
    } catch {
      /* the results are written below whatever happened here */
    }
    await this.idle?.stop().catch(() => stopAllIdle());
    this.idle = undefined;
    this.results.complete = false;
    this.results.interrupted = why;
    this.results.finishedAt = new Date().toISOString();
    await this.writing.catch(() => undefined);
    if (existsSync(this.cfg.outDir)) await this.save(false);
  }
}

/**
 * 0: everything verified; 1: something wrong or errored; 3: a lane was
 * skipped for a missing feature or privilege (not counting the skips that
 * are by design: nothing to recover, the kernel lane's methods on a stock
 * kernel, sizes larger than a scenario can hold).
 */
export function exitCodeFor(results: ResultsFile): number {
  const ms = results.measurements;
  const lane = results.criu;
  // (a CRIU dump that disagrees with the manifest is a finding about CRIU,
  // reported as such, not a failure of this run)
  if (ms.some((m) => m.state === 'wrong' || m.state === 'errored')) return 1;
  if (ms.some((m) => m.state === 'skipped' && !EXPECTED_SKIPS.includes(m.skip))) return 3;
  if (lane?.state === 'skipped' && !EXPECTED_SKIPS.includes(lane.skip)) return 3;
  return 0;
}

/** `--methods`: each entry a method's name or a family; a method's name wins (procfs is both) */
/**
 * The methods --methods names (by name or family), or by default every method but the task
 * dimension's (sweep 'tasks'), which a task sweep adds.
 */
export function resolveMethods(all: MethodDescriptor[], names: string[] | undefined, o: { tasksSweep?: boolean } = {}): MethodDescriptor[] {
  if (!names) return all.filter((m) => m.sweep !== 'tasks' || o.tasksSweep);
  const out: MethodDescriptor[] = [];
  for (const n of names) {
    const byName = all.filter((m) => m.name === n);
    const picked = byName.length ? byName : all.filter((m) => m.family === n);
    for (const m of picked) if (!out.includes(m)) out.push(m);
  }
  return out;
}
