/**
 * Synthetic, seeded ResultsFile objects for the analysis, report and gate
 * tests: every sample is cost(n) x lognormal noise from a seeded PRNG, in
 * rounds like a real run, so the statistics under test see exactly the
 * properties a test asks for (a growth exponent, a slowdown, a drift) and
 * the same numbers on every machine, every time. No timing is taken here.
 */
import { COVERAGE_KINDS, RESULTS_SCHEMA, type Coverage, type Family, type InstanceInfo, type Measurement, type MethodDescriptor, type ResultsFile, type RoundInfo, type Samples } from '../../bench/schema.js';
import type { Scenario } from '../../bench/manifest.js';
import { computeStatistics } from '../../analysis/stats.js';
import { mulberry32, seedFrom, type Rng } from '../../analysis/prng.js';

export interface FixtureMethod {
  method: string;
  family: Family;
  /** ns per collect at size n */
  cost: (n: number) => number;
  floor?: string;
  floorLimit?: number;
  speedupOver?: string[];
  subsetOf?: string[];
  /** extrapolated from this n on */
  extrapolateFrom?: number;
  lane?: 'host' | 'patched-kernel';
}

/** procfs ~ 12 us per fd; bpf ~ 0.15 us per fd: the shape of the real thing */
export const FIXTURE_METHODS: FixtureMethod[] = [
  { method: 'procfs', family: 'procfs', cost: (n) => 12_000 * n, floor: 'floor-procfs', floorLimit: 1.2 },
  { method: 'kcmp-tree', family: 'kcmp', cost: (n) => 1_500 * n * Math.log2(n) },
  { method: 'kcmp-pairwise', family: 'kcmp', cost: (n) => 1_100 * (n * (n - 1)) / 2, extrapolateFrom: 512 },
  { method: 'bpf-task-file', family: 'bpf', cost: (n) => 60_000 + 150 * n, floor: 'floor-empty-iter', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  { method: 'bpf-all', family: 'bpf', cost: (n) => 80_000 + 260 * n, floor: 'floor-walk', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  { method: 'floor-procfs', family: 'floor', cost: (n) => 11_500 * n },
  { method: 'floor-empty-iter', family: 'floor', cost: (n) => 50_000 + 100 * n, subsetOf: ['floor-walk'] },
  { method: 'floor-walk', family: 'floor', cost: (n) => 60_000 + 160 * n },
];

export interface FixtureOptions {
  scenarios?: Scenario[];
  sizes?: number[];
  rounds?: number;
  /** instances at the largest size */
  replicas?: number;
  methods?: FixtureMethod[];
  seed?: number;
  /** sd of log(noise) per sample (default 0.03) */
  noise?: number;
  /** collects per block (default 3) */
  block?: number;
  /** multiply one method's cost (a doctored slow lane), optionally from round `from` on */
  slow?: Record<string, number | { factor: number; from: number }>;
  /** the whole machine slows by this factor per round (drift), default 0 */
  driftPerRound?: number;
}

function coverage(v: Coverage[keyof Coverage]): Coverage {
  return Object.fromEntries(COVERAGE_KINDS.map((k) => [k, v])) as Coverage;
}

export function descriptorOf(f: FixtureMethod): MethodDescriptor {
  return {
    name: f.method,
    family: f.family,
    role: f.family === 'floor' ? 'floor' : 'recovery',
    summary: `fixture ${f.method}`,
    ...(f.floor ? { floor: f.floor } : {}),
    ...(f.floorLimit ? { floorLimit: f.floorLimit } : {}),
    speedupOver: f.speedupOver ?? [],
    subsetOf: f.subsetOf ?? [],
    lane: f.lane ?? 'host',
    needs: [],
    sampling: f.extrapolateFrom ? 'rows' : 'none',
    sweep: 'all',
    coverage: Object.fromEntries(COVERAGE_KINDS.map((k) => [k, { level: f.family === 'floor' ? 'none' : 'full' }])) as MethodDescriptor['coverage'],
  };
}

export function environment(): ResultsFile['environment'] {
  return {
    kernelRelease: '6.18.0-fixture',
    kernelConfig: {},
    cpuModel: 'Fixture CPU',
    nproc: 2,
    memTotalBytes: 24 << 30,
    node: 'v20.0.0',
    clang: 'n/a',
    libbpf: 'n/a',
    bpftool: 'n/a',
    liburing: 'n/a',
    gitRevision: 'fixture',
    commandLine: 'test fixture (seeded synthetic samples)',
    freezer: 'n/a',
    machine: 'host',
    clocksource: 'tsc',
  };
}

/** a standard normal deviate (Box-Muller) */
export function gauss(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function slowFactor(o: FixtureOptions, method: string, round: number): number {
  const s = o.slow?.[method];
  if (s === undefined) return 1;
  if (typeof s === 'number') return s;
  return round >= s.from ? s.factor : 1;
}

/** A complete ResultsFile of seeded synthetic samples, in rounds. */
export function buildResults(o: FixtureOptions = {}): ResultsFile {
  const scenarios = o.scenarios ?? ['files', 'all'];
  const sizes = o.sizes ?? [64, 128, 256, 512];
  const R = o.rounds ?? 12;
  const replicas = o.replicas ?? 2;
  const methods = o.methods ?? FIXTURE_METHODS;
  const k = o.block ?? 3;
  const sigma = o.noise ?? 0.03;
  const rng = mulberry32(o.seed ?? 7);
  const instances: InstanceInfo[] = [];
  const rounds: RoundInfo[] = [];
  const measurements: Measurement[] = [];
  let clock = 0;
  for (const scenario of scenarios) {
    const insts: InstanceInfo[] = [];
    for (const n of sizes) {
      const reps = n === Math.max(...sizes) ? replicas : 1;
      for (let replica = 0; replica < reps; replica++) {
        const info = { id: instances.length, scenario, n, replica, fds: n + 3, tasks: scenario === 'all' ? 4 : 1, readyMs: 10 };
        instances.push(info);
        insts.push(info);
      }
    }
    const samples = new Map<string, Samples>();
    const keyOf = (i: InstanceInfo, m: FixtureMethod) => `${i.id}:${m.method}`;
    for (const i of insts) for (const m of methods) samples.set(keyOf(i, m), { ns: [], round: [], atMs: [] });
    for (let r = 0; r < R; r++) {
      const keys = [...samples.keys()];
      // a seeded order like the harness's
      for (let j = keys.length - 1; j > 0; j--) {
        const x = Math.floor(rng() * (j + 1));
        [keys[j], keys[x]] = [keys[x]!, keys[j]!];
      }
      const start = clock;
      const drift = 1 + (o.driftPerRound ?? 0) * r;
      for (const key of keys) {
        const [id, method] = key.split(':') as [string, string];
        const inst = instances[Number(id)]!;
        const m = methods.find((x) => x.method === method)!;
        const s = samples.get(key)!;
        // an instance's own placement effect, fixed per instance
        const placement = 1 + 0.02 * inst.replica;
        for (let b = 0; b < k; b++) {
          const ns = m.cost(inst.n) * slowFactor(o, method, r) * drift * placement * Math.exp(sigma * gauss(rng));
          s.ns.push(ns);
          s.round.push(r);
          s.atMs.push(clock);
          clock += ns / 1e6;
        }
      }
      rounds.push({ scenario, index: r, order: keys, startMs: start, durationMs: clock - start, probe: { load1: 0.3, stealPct: 0, memProbeNs: 8.6e6 * drift } });
    }
    for (const i of insts) {
      for (const m of methods) {
        const s = samples.get(keyOf(i, m))!;
        const extrapolated = m.extrapolateFrom !== undefined && i.n >= m.extrapolateFrom;
        const meas: Measurement = {
          scenario,
          method: m.method,
          family: m.family,
          role: m.family === 'floor' ? 'floor' : 'recovery',
          n: i.n,
          instance: i.id,
          replica: i.replica,
          fds: i.fds,
          tasks: i.tasks,
          extrapolated,
          warnings: extrapolated ? ['extrapolated'] : [],
          state: 'verified',
          coverage: coverage(m.family === 'floor' ? 'not-recoverable' : 'recovered'),
          stats: computeStatistics(s.ns, { keepSamples: 0 }),
          samples: s,
          block: k,
          answers: { timed: s.ns.length, sameDigest: s.ns.length, reverified: 0 },
          calls: i.n,
          ...(m.family === 'bpf' ? { coldNs: 30e6 } : {}),
          ...(m.family !== 'floor' ? { stagesNs: { enumerate: m.cost(i.n) * 0.3, metadata: m.cost(i.n) * 0.5, identity: m.cost(i.n) * 0.2 } } : {}),
        };
        if (extrapolated && meas.state === 'verified') meas.extrapolation = { measuredUnits: 30_000, totalUnits: (i.fds * (i.fds - 1)) / 2, how: 'fixture: sampled rows, scaled' };
        measurements.push(meas);
      }
    }
  }
  const startedAt = '2026-11-29T12:00:00.000Z';
  return {
    schema: RESULTS_SCHEMA,
    runId: `fixture-${seedFrom(JSON.stringify({ ...o, slow: o.slow ?? {} })).toString(16)}`,
    complete: true,
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + Math.round(clock)).toISOString(),
    environment: environment(),
    config: { scenarios, methods: methods.map((m) => m.method), sizes, tasks: 4, buffers: 0, timeBudgetS: 10, replicas, rounds: R, seed: o.seed ?? 7 },
    methods: methods.map(descriptorOf),
    overhead: computeStatistics(Array.from({ length: 200 }, () => 40 * Math.exp(0.05 * gauss(rng)))),
    instances,
    rounds,
    measurements,
  };
}
