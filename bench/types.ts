/**
 * Results are data. One discriminated union per measurement (`state`), one
 * Statistics type, units in the names (`medianNs`).
 */
import type { Scenario } from './manifest.js';

export const RESULTS_SCHEMA = 1;

export type Family = 'procfs' | 'kcmp' | 'bpf' | 'floor';
/** a method's role (its descriptor, bench/native/method.h) */
export type Role = 'recovery' | 'floor';
/** where a method runs: any kernel, or the kernel lane's patched kernel */
export type Lane = 'host' | 'patched-kernel';
/**
 * Why a method was skipped: the scenario has nothing for it (decided by the
 * harness from the method's needs), the kernel lacks a feature (no BTF, no
 * such iterator target), a patched-kernel method on a stock kernel, or a
 * missing privilege (EPERM). Only missing-feature and privilege mean this
 * machine could not run a lane (exit 3).
 */
export type SkipCode = 'not-applicable' | 'missing-feature' | 'kernel-lane' | 'privilege';

/**
 * Methods that need the patched kernel of the kernel lane (kernel/, npm run
 * bench:vm): on a stock kernel they report "skipped" by design, which is not
 * a missing feature of this machine. A copy of the registry's `lane` for the
 * reports that have no registry at hand (test/methods.test.ts checks that the
 * two agree); the harness reads the lane from MethodInfo.
 */
export const KERNEL_LANE_METHODS: readonly string[] = ['bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf', 'bpf-iter-epoll'];

/** Kinds of state a method may recover (same order as enum ib_cov in bench/native/method.h). */
export const COVERAGE_KINDS = [
  'fd',
  'fd.meta',
  'fd.pos',
  'fd.flags',
  'fd.identity',
  'epoll.item',
  'epoll.target',
  'uring.file',
  'uring.buf',
] as const;
export type CoverageKind = (typeof COVERAGE_KINDS)[number];

/**
 * Per kind, after verification:
 * - recovered: every item of this kind matched the ground truth
 * - partial: what the method reported was right, but the interface could not
 *   say everything (e.g. an epoll target's inode but not its open file)
 * - not-recoverable: the interface cannot give this kind at all
 * - wrong: at least one item disagreed with the ground truth
 * - absent: the scenario has no state of this kind
 */
export type CoverageVerdict = 'recovered' | 'partial' | 'not-recoverable' | 'wrong' | 'absent';
export type Coverage = Record<CoverageKind, CoverageVerdict>;

export const STAGES = ['enumerate', 'metadata', 'identity', 'epoll', 'io_uring'] as const;
export type Stage = (typeof STAGES)[number];

export type WarningCode =
  | 'noisy' // coefficient of variation of the samples above the threshold
  | 'outliers' // many samples beyond 3 MADs from the median
  | 'extrapolated' // figure computed from a sample of the work
  | 'timer-coarse' // median within a few timer ticks
  | 'few-samples' // fewer samples than asked for (time budget)
  | 'overhead-high'; // harness overhead above 1 % of the measured median

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
  /** 95 % confidence interval of the median (bootstrap or order statistics) */
  ciLowNs: number;
  ciHighNs: number;
  /** raw samples in ns (kept for the gate's bootstrap; at most a few hundred) */
  samplesNs?: number[];
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

interface MeasurementBase {
  scenario: Scenario;
  method: string;
  family: Family;
  /** the size knob (--files) this point of the sweep was run with */
  n: number;
  /** descriptors across all tasks of the workload */
  fds: number;
  tasks: number;
  extrapolated: boolean;
  warnings: WarningCode[];
  /** wall time this measurement took, verification and timing included (ms) */
  wallMs?: number;
}

export type Measurement =
  | (MeasurementBase & {
      state: 'verified';
      coverage: Coverage;
      stats: Statistics;
      /** open(): BPF load + verify + link, etc. (ns), when the method has one */
      coldNs?: number;
      stagesNs?: Partial<Record<Stage, number>>;
      extrapolation?: Extrapolation;
      /** kernel calls per collect (syscalls, kcmp calls) when the method counts them */
      calls?: number;
    })
  | (MeasurementBase & {
      state: 'wrong';
      reason: string;
      coverage: Coverage;
      mismatchCount: number;
      mismatches: Mismatch[];
    })
  | (MeasurementBase & { state: 'skipped'; reason: string; code?: SkipCode })
  | (MeasurementBase & { state: 'errored'; reason: string });

export type MeasurementState = Measurement['state'];

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
  config: {
    scenarios: Scenario[];
    methods: string[];
    sizes: number[];
    tasks: number;
    buffers: number;
    timeBudgetS: number;
  };
  /** an empty native call, measured like a method */
  overhead?: Statistics;
  measurements: Measurement[];
}
