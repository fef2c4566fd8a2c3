/**
 * Seeded synthetic results of a task sweep (--tasks-sweep): every size at
 * several K, all instances in the same rounds, each sample cost(n, k) times
 * lognormal noise from a seeded PRNG. Like results-fixture.ts, no timing is
 * taken: the task analysis sees exactly the per-task costs and crossovers a
 * test asks for, the same numbers on every machine.
 */
import { COVERAGE_KINDS, RESULTS_SCHEMA, type Coverage, type Family, type InstanceInfo, type Measurement, type ResultsFile, type RoundInfo, type Samples } from '../../bench/schema.js';
import { computeStatistics } from '../../analysis/stats.js';
import { mulberry32 } from '../../analysis/prng.js';
import { descriptorOf, environment, gauss } from './results-fixture.js';

export interface TaskFixtureMethod {
  method: string;
  family: Family;
  /** ns per collect with n descriptors over k tasks */
  cost: (n: number, k: number) => number;
  floor?: string;
  floorLimit?: number;
  speedupOver?: string[];
}

/**
 * Shaped like the real thing at N = 20000 (bench runs of this machine):
 * procfs and kcmp-tree mostly per descriptor, bpf-task-file ~15 us per
 * task (one link each), the system pass a constant (every file of the
 * machine), the cgroup walk ~0.4 us per task.
 */
export const TASK_METHODS: TaskFixtureMethod[] = [
  { method: 'procfs', family: 'procfs', cost: (n, k) => 23_000 * n + 60_000 * k },
  { method: 'kcmp-tree', family: 'kcmp', cost: (n, k) => 30_000 * n + 50_000 * k },
  { method: 'bpf-task-file', family: 'bpf', cost: (n, k) => 400 * n + 15_000 * k, floor: 'floor-empty-iter', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  { method: 'bpf-task-file-sys', family: 'bpf', cost: () => 20_000_000, speedupOver: ['procfs', 'kcmp-tree', 'bpf-task-file'] },
  { method: 'bpf-cgroup-fds', family: 'bpf', cost: (n, k) => 100 * n + 400 * k, speedupOver: ['procfs', 'kcmp-tree', 'bpf-task-file'] },
  { method: 'floor-empty-iter', family: 'floor', cost: (n, k) => 250 * n + 12_000 * k },
];

export interface TaskFixtureOptions {
  scenario?: string;
  sizes?: number[];
  ks?: number[];
  rounds?: number;
  replicas?: number;
  methods?: TaskFixtureMethod[];
  seed?: number;
  noise?: number;
  block?: number;
  /** multiply one method's cost at every K >= from */
  slow?: Record<string, { factor: number; fromK: number }>;
}

function coverage(v: Coverage[keyof Coverage]): Coverage {
  return Object.fromEntries(COVERAGE_KINDS.map((k) => [k, v])) as Coverage;
}

export function buildTaskSweep(o: TaskFixtureOptions = {}): ResultsFile {
  const scenario = o.scenario ?? 'tree';
  const sizes = o.sizes ?? [20000];
  const ks = o.ks ?? [2, 20, 200, 2000];
  const R = o.rounds ?? 10;
  const replicas = o.replicas ?? 2;
  const methods = o.methods ?? TASK_METHODS;
  const block = o.block ?? 2;
  const sigma = o.noise ?? 0.03;
  const rng = mulberry32(o.seed ?? 11);
  const instances: InstanceInfo[] = [];
  const rounds: RoundInfo[] = [];
  const measurements: Measurement[] = [];
  const nMax = Math.max(...sizes);
  const kMax = Math.max(...ks);
  for (const n of sizes) {
    for (const k of ks) {
      const reps = n === nMax && k === kMax ? replicas : 1;
      for (let replica = 0; replica < reps; replica++) {
        instances.push({ id: instances.length, scenario, n, k, replica, fds: n + 3 * k, tasks: k, readyMs: 10 + k / 10, rssKiB: 400 + 60 * k });
      }
    }
  }
  const samples = new Map<string, Samples>();
  for (const i of instances) for (const m of methods) samples.set(`${i.id}:${m.method}`, { ns: [], round: [], atMs: [] });
  let clock = 0;
  for (let r = 0; r < R; r++) {
    const keys = [...samples.keys()];
    for (let j = keys.length - 1; j > 0; j--) {
      const x = Math.floor(rng() * (j + 1));
      [keys[j], keys[x]] = [keys[x]!, keys[j]!];
    }
    const start = clock;
    for (const key of keys) {
      const [id, method] = key.split(':') as [string, string];
      const inst = instances[Number(id)]!;
      const m = methods.find((x) => x.method === method)!;
      const slow = o.slow?.[method];
      const factor = slow && inst.k! >= slow.fromK ? slow.factor : 1;
      const s = samples.get(key)!;
      for (let b = 0; b < block; b++) {
        const ns = m.cost(inst.n, inst.k!) * factor * (1 + 0.02 * inst.replica) * Math.exp(sigma * gauss(rng));
        s.ns.push(ns);
        s.round.push(r);
        s.atMs.push(clock);
        clock += ns / 1e6;
      }
    }
    rounds.push({ scenario, index: r, order: keys, startMs: start, durationMs: clock - start, probe: { load1: 0.3, stealPct: 0, memProbeNs: 8.6e6 } });
  }
  for (const i of instances) {
    for (const m of methods) {
      const s = samples.get(`${i.id}:${m.method}`)!;
      measurements.push({
        scenario,
        method: m.method,
        family: m.family,
        role: m.family === 'floor' ? 'floor' : 'recovery',
        n: i.n,
        k: i.k,
        instance: i.id,
        replica: i.replica,
        fds: i.fds,
        tasks: i.tasks,
        extrapolated: false,
        warnings: [],
        state: 'verified',
        coverage: coverage(m.family === 'floor' ? 'not-recoverable' : 'recovered'),
        stats: computeStatistics(s.ns, { keepSamples: 0 }),
        samples: s,
        block,
        answers: { timed: s.ns.length, sameDigest: s.ns.length, reverified: 0 },
        calls: i.fds,
      });
    }
  }
  const startedAt = '2026-11-29T12:00:00.000Z';
  return {
    schema: RESULTS_SCHEMA,
    runId: `tasks-fixture-${o.seed ?? 11}`,
    complete: true,
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + Math.round(clock)).toISOString(),
    environment: environment(),
    config: { scenarios: [scenario], methods: methods.map((m) => m.method), sizes, tasks: 4, buffers: 0, timeBudgetS: 10, replicas, rounds: R, seed: o.seed ?? 11, tasksSweep: ks },
    // the whole-system pass says so in its descriptor, as bpf.c's does
    methods: methods.map((m) => ({ ...descriptorOf({ ...m, cost: (n) => m.cost(n, 1) }), ...(m.method === 'bpf-task-file-sys' ? { reach: 'system' as const } : {}) })),
    overhead: computeStatistics(Array.from({ length: 200 }, () => 40 * Math.exp(0.05 * gauss(rng)))),
    instances,
    rounds,
    measurements,
    harnessPeakRssKiB: 420_000,
  };
}
