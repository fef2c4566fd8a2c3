/**
 * Realistic ResultsFile objects for the analysis, report and gate tests,
 * built from real timings (fs.statSync loops), until the harness produces
 * real results. Each "method" does a known amount of work as a function of
 * n, so its growth is known: linear, n log n, quadratic or constant.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, release, totalmem } from 'node:os';
import { COVERAGE_KINDS, RESULTS_SCHEMA, type Coverage, type Family, type Measurement, type ResultsFile, type Statistics } from '../../bench/types.js';
import type { Scenario } from '../../bench/manifest.js';
import { computeStatistics } from '../../analysis/stats.js';
import { computeWarnings } from '../../analysis/warnings.js';

/** the file stat() is timed on: this module itself (no temporary files) */
const target = fileURLToPath(import.meta.url);

/** `calls` stat() calls: about 1 us each */
export function work(calls: number): void {
  for (let i = 0; i < calls; i++) statSync(target);
}

export function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

export function sampleNs(fn: () => void, samples: number): number[] {
  fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < samples; i++) out.push(timeNs(fn));
  return out;
}

export interface FixtureMethod {
  method: string;
  family: Family;
  /** stat() calls per recovery at size n */
  calls: (n: number) => number;
  /** measured on a fraction of the work from this n on, then scaled */
  extrapolateFrom?: number;
  stages?: boolean;
}

export const FIXTURE_METHODS: FixtureMethod[] = [
  { method: 'procfs', family: 'procfs', calls: (n) => n, stages: true },
  { method: 'kcmp-tree', family: 'kcmp', calls: (n) => Math.round((n * Math.log2(n)) / 4) },
  { method: 'kcmp-pairwise', family: 'kcmp', calls: (n) => Math.round((n * n) / 256), extrapolateFrom: 512 },
  { method: 'bpf-task-file', family: 'bpf', calls: (n) => Math.round(n / 8) + 4, stages: true },
  { method: 'bpf-all', family: 'bpf', calls: (n) => Math.round(n / 4) + 4, stages: true },
  { method: 'floor-procfs', family: 'floor', calls: (n) => Math.round(n / 2) },
  { method: 'floor-empty-iter', family: 'floor', calls: () => 4 },
  { method: 'floor-walk', family: 'floor', calls: (n) => Math.round(n / 16) + 4 },
];

export interface FixtureOptions {
  scenarios?: Scenario[];
  sizes?: number[];
  samples?: number;
  methods?: FixtureMethod[];
  /** multiply one method's work (a doctored "slow lane") */
  slow?: Record<string, number>;
}

function coverage(verdict: Coverage[keyof Coverage]): Coverage {
  return Object.fromEntries(COVERAGE_KINDS.map((k) => [k, verdict])) as Coverage;
}

export function environment(): ResultsFile['environment'] {
  return {
    kernelRelease: release(),
    kernelConfig: {},
    cpuModel: cpus()[0]?.model ?? 'unknown',
    nproc: cpus().length,
    memTotalBytes: totalmem(),
    node: process.version,
    clang: 'n/a',
    libbpf: 'n/a',
    bpftool: 'n/a',
    liburing: 'n/a',
    gitRevision: 'fixture',
    commandLine: 'test fixture (fs.statSync loops)',
    freezer: 'n/a',
    machine: 'host',
    clocksource: 'n/a',
  };
}

/** A complete ResultsFile from real timings of known work. */
export function buildResults(opts: FixtureOptions = {}): ResultsFile {
  const scenarios = opts.scenarios ?? ['files', 'all'];
  const sizes = opts.sizes ?? [64, 128, 256, 512];
  const samples = opts.samples ?? 25;
  const methods = opts.methods ?? FIXTURE_METHODS;
  // warm the JIT and the dentry cache first, as a harness warm-up would
  for (let i = 0; i < 5; i++) work(2000);
  const overhead = computeStatistics(sampleNs(() => {}, 200));
  const measurements: Measurement[] = [];
  // interleave methods per size so slow drifts of the machine hit all alike
  for (const scenario of scenarios) {
    for (const n of sizes) {
      for (const fm of methods) {
        const factor = opts.slow?.[fm.method] ?? 1;
        const full = Math.max(1, Math.round(fm.calls(n) * factor));
        const extrapolated = fm.extrapolateFrom !== undefined && n >= fm.extrapolateFrom;
        const measuredCalls = extrapolated ? Math.max(1, Math.round(full / 8)) : full;
        let raw = sampleNs(() => work(measuredCalls), samples);
        if (extrapolated) raw = raw.map((s) => (s * full) / measuredCalls);
        const stats: Statistics = computeStatistics(raw);
        const m: Measurement = {
          scenario,
          method: fm.method,
          family: fm.family,
          n,
          fds: n + 3,
          tasks: 1,
          extrapolated,
          warnings: computeWarnings(stats, { extrapolated, overheadNs: overhead.medianNs, requestedSamples: samples }),
          state: 'verified',
          coverage: coverage(fm.family === 'floor' ? 'absent' : 'recovered'),
          stats,
          calls: full,
        };
        if (extrapolated) m.extrapolation = { measuredUnits: measuredCalls, totalUnits: full, how: 'timed 1/8 of the stat() calls, scaled by 8' };
        if (fm.stages) {
          m.stagesNs = {
            enumerate: timeNs(() => work(Math.max(1, Math.round(full / 4)))),
            metadata: timeNs(() => work(Math.max(1, Math.round(full / 2)))),
            identity: timeNs(() => work(Math.max(1, Math.round(full / 4)))),
          };
        }
        if (fm.family === 'bpf') m.coldNs = timeNs(() => work(50));
        measurements.push(m);
      }
    }
  }
  const now = new Date().toISOString();
  return {
    schema: RESULTS_SCHEMA,
    runId: `fixture-${process.pid}-${Date.now()}`,
    complete: true,
    startedAt: now,
    finishedAt: now,
    environment: environment(),
    config: { scenarios, methods: methods.map((m) => m.method), sizes, tasks: 1, buffers: 0, timeBudgetS: 1 },
    overhead,
    measurements,
  };
}

/** the same results with one method's samples scaled by factor (stats recomputed) */
export function scaleMethod(results: ResultsFile, method: string, factor: number): ResultsFile {
  const copy: ResultsFile = structuredClone(results);
  copy.measurements = copy.measurements.map((m) => {
    if (m.method !== method || m.state !== 'verified') return m;
    const raw = (m.stats.samplesNs ?? [m.stats.medianNs]).map((s) => s * factor);
    return { ...m, stats: computeStatistics(raw) };
  });
  return copy;
}
