/**
 * The one schema of iterbench's data: results.json (what a bench run
 * measured), the method descriptors it carries, and reading a results file
 * back. Every CLI and every exporter reads results through here.
 *
 * Results are data (tinybench src/types.ts): one union per measurement,
 * discriminated by `state`; one Statistics type; units in the names
 * (`medianNs`). Warnings and flags are typed codes; the words are added when
 * printing.
 *
 * Schema 2 (this file) keeps every sample with its round and time stamp:
 * a run measures all sizes of a scenario on live, frozen workload instances
 * in rounds, each round visiting every (instance, method) in a fresh seeded
 * random order, so that every ratio can be computed per round (paired) and
 * time drift cannot masquerade as growth.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Scenario } from './manifest.js';
import type { CriuResult } from './criu/dump.js';

export const RESULTS_SCHEMA = 2;

export type Family = 'procfs' | 'kcmp' | 'bpf' | 'floor';
/** recovery: recovers state; floor: does a subset of a method's work and recovers nothing */
export type Role = 'recovery' | 'floor';
/** host: runs on the machine's kernel; patched-kernel: needs the kernel lane's series */
export type Lane = 'host' | 'patched-kernel';
export type Need = 'epoll' | 'io_uring';

/**
 * Kinds of state a method may recover (same order as enum ib_cov in
 * bench/native/method.h). fd.table: which tasks share one descriptor table
 * (clone(CLONE_FILES)), each table reported once; uring.ring: the io_uring
 * instances and their slot counts, a ring no descriptor reaches included.
 */
export const COVERAGE_KINDS = [
  'fd',
  'fd.meta',
  'fd.pos',
  'fd.flags',
  'fd.identity',
  'fd.table',
  'epoll.item',
  'epoll.target',
  'uring.ring',
  'uring.file',
  'uring.buf',
] as const;
export type CoverageKind = (typeof COVERAGE_KINDS)[number];

/** What a method says it can recover, per kind: full, partial (why), none (why). */
export interface DeclaredCoverage {
  level: 'full' | 'partial' | 'none';
  why?: string;
  /**
   * partial: only the items no descriptor of the target tasks holds may go
   * unrecovered (an epoll target only a closed descriptor named, a ring no
   * descriptor reaches); any other item it leaves out is a mismatch.
   */
  unheldOnly?: true;
}

/**
 * Per kind, after verification:
 * - recovered: every item of this kind matched the ground truth
 * - partial: what the method reported was right, but the interface could not
 *   say everything (e.g. an epoll target's inode but not its open file)
 * - not-recoverable: the interface cannot give this kind at all (declared
 *   none), or could see none of what the scenario has of it (the slots of a
 *   ring no descriptor reaches, for procfs)
 * - wrong: at least one item disagreed with the ground truth (also for a
 *   kind the scenario does not have: records of it are extras)
 * - absent: the scenario has no state of this kind
 */
export type CoverageVerdict = 'recovered' | 'partial' | 'not-recoverable' | 'wrong' | 'absent';
export type Coverage = Record<CoverageKind, CoverageVerdict>;

export const STAGES = ['enumerate', 'metadata', 'identity', 'epoll', 'io_uring'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Everything about a method, from its descriptor (struct ib_method in
 * bench/native/): the harness, the analysis and the reports read these
 * facts from here, never from the method's name.
 */
export interface MethodDescriptor {
  name: string;
  family: Family;
  role: Role;
  summary: string;
  /** the floor this method is compared with (its unavoidable work), if any */
  floor?: string;
  /** target: method / floor at most this (0 or absent: no target) */
  floorLimit?: number;
  /** methods this one's speedup is reported against (reference time / this time) */
  speedupOver: string[];
  /** floors: further methods whose work includes this floor's work (subset chains) */
  subsetOf: string[];
  /**
   * the kernel lane: the emulation of this real iterator's work; compared per
   * round as (this + with) / (method - floor), the floor being the part of the
   * emulation's pass the real iterator does not do (visiting every descriptor)
   */
  emulation?: { method: string; floor?: string; with: string[] };
  lane: Lane;
  /** the method has nothing to do unless the target has one of these (empty: every target) */
  needs: Need[];
  /** rows: O(n^2) work timed on a sample of rows, `scaledStage` scaled to the whole */
  sampling: 'none' | 'rows';
  scaledStage?: Stage;
  /** measured at every size of the sweep, or at the largest only (a baseline whose growth is not needed), or
   * (tasks) the task dimension's methods: in a task sweep or when named, not in the default N sweep */
  sweep: 'all' | 'largest' | 'tasks';
  /** a collect runs on several threads, the caller waiting for the others: its off-CPU time is the method's, not interference */
  parallel?: true;
  /** system: its work visits every task of the machine (the run's other instances too), so its time does not follow N or K (absent: the targets only) */
  reach?: 'targets' | 'system';
  coverage: Record<CoverageKind, DeclaredCoverage>;
}

/** Why a method was not measured. */
export type SkipCode =
  | 'not-applicable' // the scenario has none of what the method needs
  | 'kernel-lane' // needs the patched kernel of the kernel lane
  | 'missing-feature' // this kernel or machine lacks something the lane needs
  | 'privilege' // not allowed here (CAP_BPF, ptrace)
  | 'too-large' // the size does not fit this scenario's limits (RLIMIT_NOFILE)
  | 'needs-build' // a tool the lane needs is not built here yet (e.g. CRIU: npm run criu:build)
  | 'workload'; // the workload could not start (its own reason)

/** Skips that are by design, not a lane this machine failed to run. */
export const EXPECTED_SKIPS: readonly SkipCode[] = ['not-applicable', 'kernel-lane', 'too-large', 'needs-build'];

export type WarningCode =
  | 'noisy' // robust CV of the block medians above the threshold
  | 'outliers' // many samples beyond 3 MADs from the median
  | 'extrapolated' // figure computed from a sample of the work
  | 'timer-coarse' // median within a few timer ticks
  | 'few-samples' // fewer rounds than asked for (time budget)
  | 'overhead-high' // harness overhead above 1 % of the measured median
  | 'trend' // samples inside a block get steadily slower or faster (rank correlation)
  | 'drift' // block medians move steadily over the rounds (rank correlation)
  | 'off-cpu'; // the timing thread was off the CPU inside many collects (RT throttling, preemption)

export interface Statistics {
  medianNs: number;
  p25Ns: number;
  p75Ns: number;
  meanNs: number;
  minNs: number;
  maxNs: number;
  sdNs: number;
  madNs: number;
  samples: number;
  outliers: number;
  /** 95 % confidence interval of the median */
  ciLowNs: number;
  ciHighNs: number;
  /** raw samples in ns, at most a few hundred (schema 1 and test fixtures) */
  samplesNs?: number[];
}

/** Every timed sample of a measurement, in time order (columns of equal length). */
export interface Samples {
  /** time of one collect, ns (extrapolated ones scaled to the full work) */
  ns: number[];
  /** the round it was taken in */
  round: number[];
  /** ms since the run started, when the collect began */
  atMs: number[];
  /**
   * ns the timing thread was off the CPU inside each collect (wall time
   * less its CPU time, addon.c block()); absent for a method that runs on
   * several threads (its caller waits for them by design) and for
   * extrapolated samples (scaled: not one collect's wall time)
   */
  offCpuNs?: number[];
}

export interface Mismatch {
  method: string;
  kind: CoverageKind;
  pid: number;
  /** "fd 7", "epoll 5 item data=0x10000003", "ring 9 slot 12", ... */
  where: string;
  expected: string;
  got: string;
}

export interface Extrapolation {
  /** work units actually measured (e.g. kcmp calls) */
  measuredUnits: number;
  /** work units of the full run */
  totalUnits: number;
  /** how it was scaled, one sentence */
  how: string;
}

/** How many timed answers were checked against the verified one. */
export interface AnswerChecks {
  /** answers timed (= samples) */
  timed: number;
  /** answers whose digest equalled the verified answer's */
  sameDigest: number;
  /** answers with another digest, decoded and verified again in full */
  reverified: number;
}

/** A workload made for one lane (e.g. the variant CRIU can dump), not for the sweep. */
export type Variant = 'criu-compatible';

interface MeasurementBase {
  scenario: Scenario;
  /** measured on a lane's variant instance (not part of the sweep's figures) */
  variant?: Variant;
  method: string;
  family: Family;
  role: Role;
  /** the size knob (--files) this instance was started with */
  n: number;
  /** index into ResultsFile.instances (-1: no instance started) */
  instance: number;
  /** 0, 1, ...: instances of the same (scenario, n) */
  replica: number;
  /** descriptors across all tasks of the workload */
  fds: number;
  tasks: number;
  /** a task sweep's instance (--tasks-sweep): the --tasks it was started with (absent: the run's --tasks) */
  k?: number;
  extrapolated: boolean;
  warnings: WarningCode[];
  /** how the method ran here when that is not its usual way (its open() said so), e.g. a fallback object */
  note?: string;
}

export type Verified = MeasurementBase & {
  state: 'verified';
  coverage: Coverage;
  /** over every sample (for display); ratios use the per-round blocks */
  stats: Statistics;
  samples: Samples;
  /** collects per block (one block per round) */
  block: number;
  /** untimed collects that began each block (bench/measure.ts warmupBelowNs), when any */
  warmup?: number;
  /** open(): BPF load + verify + link, etc. (ns), when the method has one */
  coldNs?: number;
  stagesNs?: Partial<Record<Stage, number>>;
  extrapolation?: Extrapolation;
  /** kernel calls per collect (syscalls, kcmp calls) when the method counts them */
  calls?: number;
  answers: AnswerChecks;
};

export type Measurement =
  | Verified
  | (MeasurementBase & {
      state: 'wrong';
      reason: string;
      coverage: Coverage;
      mismatchCount: number;
      mismatches: Mismatch[];
      /** the round in which a timed answer stopped matching (absent: the first answer was wrong) */
      round?: number;
    })
  | (MeasurementBase & { state: 'skipped'; skip: SkipCode; reason: string })
  | (MeasurementBase & { state: 'errored'; reason: string });

export type MeasurementState = Measurement['state'];

/** One workload instance: a process tree started, frozen and measured. */
export interface InstanceInfo {
  id: number;
  scenario: Scenario;
  n: number;
  replica: number;
  /** a lane's variant of the scenario (e.g. the tree CRIU can dump) */
  variant?: Variant;
  fds: number;
  tasks: number;
  /** a task sweep's instance: the --tasks it was started with */
  k?: number;
  /** spawn to ready, ms */
  readyMs: number;
  /** resident memory of the whole workload tree when ready, KiB */
  rssKiB?: number;
}

/** The machine during one round: is it busy? */
export interface Probe {
  /** 1-minute load average at the round's start */
  load1: number;
  /** share of CPU time stolen by the hypervisor during the round, % */
  stealPct: number;
  /** /proc/pressure/cpu "some" share of the round's wall time, % (absent: no PSI) */
  cpuPressurePct?: number;
  /** a fixed strided walk over 64 MiB, ns: the host's memory speed at that moment */
  memProbeNs: number;
}

export interface RoundInfo {
  scenario: Scenario;
  index: number;
  /** the order visited: "<instance>:<method>" */
  order: string[];
  startMs: number;
  durationMs: number;
  probe: Probe;
}

export interface Environment {
  kernelRelease: string;
  kernelConfig: Record<string, string>;
  cpuModel: string;
  nproc: number;
  memTotalBytes: number;
  node: string;
  clang: string;
  libbpf: string;
  bpftool: string;
  liburing: string;
  gitRevision: string;
  commandLine: string;
  freezer: string;
  /** "host" or "vm: qemu TCG (software emulation)" */
  machine: string;
  clocksource: string;
  hostname?: string;
  /** ITERBENCH_SLOWDOWN when set: a test-only slowdown; such a run is not data */
  slowdown?: string;
  /**
   * the scheduling policy the timed blocks ran under (addon.c block()):
   * "SCHED_FIFO", or "SCHED_OTHER (<why>)", where other work on the machine
   * preempts collects and its time counts in theirs
   */
  sched?: string;
  /**
   * the kernel's RT throttling limit and what the harness waited to keep
   * its SCHED_FIFO blocks under it (bench/rtbudget.ts): waits outside the
   * timed blocks. Absent when the runtime is unlimited or unreadable.
   */
  rtThrottle?: { periodUs: number; runtimeUs: number; share: number; waits: number; waitedMs: number };
}

export interface RunConfig {
  scenarios: Scenario[];
  methods: string[];
  sizes: number[];
  tasks: number;
  buffers: number;
  timeBudgetS: number;
  /** instances at the largest size of each scenario */
  replicas: number;
  /** rounds per scenario (upper bound asked; the run records what it did) */
  rounds: number;
  /** the core rounds per scenario (--min-rounds): every unit visited; the rest are extra rounds of the target pairs whose CI is still wide (results.extraRounds), or of the fast units at the largest size (absent in runs made before them) */
  coreRounds?: number;
  /** the seed of the round orders and of any sampling */
  seed: number;
  /**
   * the scenario the run's targets are judged on: the generator's reference
   * scenario (`all`, every kind of state in one tree) when the run has it;
   * absent: the one whose largest instance holds the most descriptors
   * (analysis/targets.ts). Its extra rounds come first (bench/run.ts ExtraPool)
   */
  reference?: Scenario;
  /** --tasks-sweep: every size was started once per K (the --tasks), all measured in the same rounds */
  tasksSweep?: number[];
  /** --idle-tasks: unrelated idle processes the harness kept running outside the workloads during the run */
  idleTasks?: number;
}

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA;
  runId: string;
  /** false until the run finished; an interrupted run keeps what it measured */
  complete: boolean;
  startedAt: string;
  finishedAt?: string;
  interrupted?: string;
  environment: Environment;
  config: RunConfig;
  /** the registry's descriptors of the methods in this run */
  methods: MethodDescriptor[];
  /** an empty native call, measured like a method */
  overhead?: Statistics;
  instances: InstanceInfo[];
  rounds: RoundInfo[];
  /**
   * per scenario, what its extra rounds went to (bench/goal.ts): each target
   * pair's CI width at its last look and the round it was closed before
   * (absent: open to the end, the budget or the rounds ran out first)
   */
  extraRounds?: { scenario: Scenario; pairs: { method: string; floor: string; widthPct?: number; closedBefore?: number; extraRounds: number }[] }[];
  measurements: Measurement[];
  /** peak resident memory of the harness, KiB */
  harnessPeakRssKiB?: number;
  /** the CRIU lane: real `criu dump --leave-running` of the workload trees */
  criu?: CriuLane;
}

export type CriuLane =
  | { state: 'skipped'; skip: SkipCode; reason: string }
  | {
      state: 'ran';
      version: string;
      /** the sizes the lane dumped at (a sample of the sweep, said in the summary) */
      sizes: number[];
      /** per scenario and size: the default tree (what CRIU refuses) and the variant it can dump */
      dumps: (CriuResult & { instance: number; variant?: Variant })[];
    };

// ---------------------------------------------------------------- reading

/** A results file that cannot be read or used: one line, exit 2. */
export class ResultsError extends Error {}

/** Structure checks of a parsed results.json; throws ResultsError with one line. */
export function validateResults(obj: unknown, label: string): ResultsFile {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ResultsError(`${label}: not a results object`);
  const r = obj as Partial<ResultsFile> & { schema?: unknown };
  if (r.schema !== RESULTS_SCHEMA) {
    throw new ResultsError(
      `${label}: results schema ${JSON.stringify(r.schema)}, this version reads schema ${RESULTS_SCHEMA}${r.schema === 1 ? ' (a run made before paired rounds: rerun the bench)' : ''}`,
    );
  }
  if (!Array.isArray(r.measurements)) throw new ResultsError(`${label}: no measurements array`);
  if (!Array.isArray(r.methods)) throw new ResultsError(`${label}: no methods array`);
  if (!Array.isArray(r.rounds) || !Array.isArray(r.instances)) throw new ResultsError(`${label}: no rounds or instances`);
  if (!r.config || !Array.isArray(r.config.scenarios)) throw new ResultsError(`${label}: no config.scenarios`);
  for (const [i, m] of r.measurements.entries()) {
    if (!m || typeof m.scenario !== 'string' || typeof m.method !== 'string' || typeof m.n !== 'number' || typeof m.state !== 'string') {
      throw new ResultsError(`${label}: measurement ${i} lacks scenario, method, n or state`);
    }
    if (m.state === 'verified') {
      const s = m.samples;
      if (!(m.stats && typeof m.stats.medianNs === 'number') || !s || !Array.isArray(s.ns) || s.ns.length !== s.round?.length) {
        throw new ResultsError(`${label}: measurement ${i} (${m.scenario}/${m.method} n=${m.n}) is verified but has no samples`);
      }
    }
  }
  return r as ResultsFile;
}

/** results.json from a file or a results directory. */
export function readResults(file: string, label = 'results'): ResultsFile {
  let p = path.resolve(file);
  let text: string;
  try {
    if (statSync(p).isDirectory()) p = path.join(p, 'results.json');
    text = readFileSync(p, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ResultsError(`${label}: cannot read ${p}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ResultsError(`${label}: ${p} is not valid JSON (${(e as Error).message})`);
  }
  return validateResults(obj, `${label} ${path.relative(process.cwd(), p) || p}`);
}

/** the descriptor of a method in a results file (undefined when the run did not have it) */
export function descriptorOf(results: Pick<ResultsFile, 'methods'>, name: string): MethodDescriptor | undefined {
  return results.methods.find((m) => m.name === name);
}
