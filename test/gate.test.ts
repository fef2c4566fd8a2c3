import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Measurement, ResultsFile, Samples } from '../bench/schema.js';
import { validateResults, ResultsError } from '../bench/schema.js';
import {
  AB_SCHEMA,
  compareAB,
  compareRuns,
  exitCodeOf,
  formatGateMarkdown,
  formatGateTable,
  Incomparable,
  type AbCell,
  type AbResults,
} from '../analysis/gate.js';
import { mulberry32 } from '../analysis/prng.js';
import { buildResults, descriptorOf, environment, FIXTURE_METHODS, gauss } from './support/results-fixture.js';

const ROOT = resolve(import.meta.dirname, '..');

function gate(...args: string[]) {
  return execa(process.execPath, ['--import', 'tsx', 'bench/cli/gate.ts', ...args], { cwd: ROOT, reject: false });
}

let dir: string;
let baseline: ResultsFile;
let baselineFile: string;

function save(name: string, r: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof r === 'string' ? r : JSON.stringify(r));
  return f;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iterbench-gate-'));
  baseline = buildResults({ scenarios: ['files', 'all'], seed: 1 });
  baselineFile = save('baseline.json', baseline);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A synthetic A/B run: every method on every size in both builds, paired
 * per round; `factor` slows the submission's methods; `noise` the sd of
 * log(time) per sample; `drift` slows the whole machine over the rounds.
 */
function abRun(o: { factor?: Record<string, number>; seed?: number; noise?: number; drift?: number; rounds?: number; cells?: (c: AbCell) => AbCell } = {}): AbResults {
  const rng = mulberry32(o.seed ?? 1);
  const sizes = [125, 250, 500];
  const R = o.rounds ?? 10;
  const cells: AbCell[] = [];
  let inst = 0;
  for (const scenario of ['files', 'all'] as const) {
    for (const n of sizes) {
      for (const m of FIXTURE_METHODS) {
        const a: Samples = { ns: [], round: [], atMs: [] };
        const b: Samples = { ns: [], round: [], atMs: [] };
        for (let r = 0; r < R; r++) {
          const machine = 1 + (o.drift ?? 0) * r;
          for (let i = 0; i < 3; i++) {
            for (const [s, f] of [[a, o.factor?.[m.method] ?? 1], [b, 1]] as const) {
              s.ns.push(m.cost(n) * f * machine * Math.exp((o.noise ?? 0.04) * gauss(rng)));
              s.round.push(r);
              s.atMs.push(r * 1000 + i);
            }
          }
        }
        const c: AbCell = { scenario, method: m.method, n, instance: inst, a: { state: 'verified', samples: a }, b: { state: 'verified', samples: b } };
        cells.push(o.cells ? o.cells(c) : c);
      }
      inst++;
    }
  }
  return {
    schema: AB_SCHEMA,
    startedAt: '2026-11-29T12:00:00.000Z',
    finishedAt: '2026-11-29T12:01:00.000Z',
    complete: true,
    environment: environment(),
    config: { scenarios: ['files', 'all'], sizes, seed: 1, rounds: R },
    submission: { revision: 'sub', methods: FIXTURE_METHODS.map(descriptorOf) },
    reference: { revision: 'ref', methods: FIXTURE_METHODS.map(descriptorOf) },
    instances: [],
    rounds: [],
    cells,
  };
}

describe('gate logic, A/B (paired, same run)', () => {
  it('unchanged code passes: 0 false alarms over 50 seeded runs with noise and drift', () => {
    let fails = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const r = compareAB(abRun({ seed, noise: 0.08, drift: 0.05 }));
      if (r.outcome !== 'pass') fails++;
    }
    expect(fails).toBe(0);
  });

  it('one method made 1.5x slower is caught in 50 of 50 seeded runs, naming it and only it', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = compareAB(abRun({ seed, noise: 0.08, drift: 0.05, factor: { 'bpf-all': 1.5 } }));
      expect(r.outcome).toBe('regression');
      expect(new Set(r.checks.filter((c) => c.verdict === 'regression').map((c) => c.method))).toEqual(new Set(['bpf-all']));
    }
    const r = compareAB(abRun({ factor: { 'bpf-all': 1.5 } }));
    expect(exitCodeOf(r)).toBe(1);
    expect(formatGateTable(r)).toMatch(/^gate \(A\/B, same run, paired rounds\): FAIL \(\d+ regressions?: bpf-all\)/);
  });

  it('a slowdown at one size only is noise, not a regression', () => {
    const ab = abRun({ seed: 3 });
    const hit = ab.cells.find((c) => c.method === 'bpf-all' && c.n === 250 && c.scenario === 'all')!;
    if (hit.a.state === 'verified') hit.a.samples.ns = hit.a.samples.ns.map((x) => x * 1.6);
    const r = compareAB(ab);
    expect(r.outcome).toBe('pass');
    expect(r.checks.find((c) => c.method === 'bpf-all' && c.n === 250 && c.scenario === 'all')!.verdict).toBe('noise');
  });

  it('a method wrong or errored in the submission fails whatever its speed; in the reference only it is info', () => {
    const wrong = compareAB(abRun({ cells: (c) => (c.method === 'procfs' && c.n === 500 ? { ...c, a: { state: 'wrong', reason: '3 mismatch(es)' } } : c) }));
    expect(wrong.outcome).toBe('regression');
    expect(wrong.checks.find((c) => c.kind === 'state')!.message).toMatch(/procfs is WRONG in the submission/);
    const refOnly = compareAB(abRun({ cells: (c) => (c.method === 'procfs' && c.n === 500 ? { ...c, b: { state: 'errored', reason: 'boom' } } : c) }));
    expect(refOnly.outcome).toBe('pass');
    expect(refOnly.checks.some((c) => c.verdict === 'info' && /reference errored/.test(c.message))).toBe(true);
  });

  it('suspect data is never a pass and never a regression: exit 2', () => {
    // the submission's bpf-all slowed 1.5x, but its own floor measured 3x slower than it: suspect
    const ab = abRun({
      factor: { 'bpf-all': 1.5, 'floor-walk': 6 },
    });
    const r = compareAB(ab);
    const all = r.checks.filter((c) => c.method === 'bpf-all' && c.kind === 'ab');
    expect(all.every((c) => c.verdict === 'suspect')).toBe(true);
    expect(r.outcome).not.toBe('pass');
    // floor-walk itself is a real 6x regression; without it the outcome is incomparable
    const only = compareAB(abRun({ factor: { 'bpf-all': 1.5 }, cells: (c) => (c.method === 'floor-walk' && c.a.state === 'verified' ? { ...c, a: { state: 'verified', samples: { ...c.a.samples, ns: c.a.samples.ns.map((x) => x * 6) } }, b: { state: 'verified', samples: { ...c.a.samples, ns: c.a.samples.ns.map((x) => x * 6) } } } : c) }));
    expect(only.outcome).toBe('incomparable');
    expect(exitCodeOf(only)).toBe(2);
    expect(formatGateTable(only)).toMatch(/INCOMPARABLE/);
  });

  it('an interrupted A/B run or another schema is incomparable', () => {
    expect(() => compareAB({ ...abRun(), complete: false })).toThrow(Incomparable);
    expect(() => compareAB({ ...abRun(), schema: 'x' as never })).toThrow(/schema/);
  });
});

describe('gate logic, across runs', () => {
  it('the same machine measured again passes; absolute medians compared only on the same fingerprint', () => {
    const r = compareRuns(baseline, buildResults({ scenarios: ['files', 'all'], seed: 2 }));
    expect(r.outcome).toBe('pass');
    expect(r.absoluteCompared).toBe(true);
    const slower = buildResults({ scenarios: ['files', 'all'], seed: 3, slow: Object.fromEntries(FIXTURE_METHODS.map((m) => [m.method, 3])) });
    const other = { ...slower, environment: { ...slower.environment, cpuModel: 'Another CPU' } };
    const r2 = compareRuns(baseline, other);
    expect(r2.absoluteCompared).toBe(false);
    expect(r2.outcome).toBe('pass'); // a uniformly slower machine: every ratio unchanged
    expect(compareRuns(baseline, slower).outcome).toBe('regression'); // the same machine, 3x slower
  });

  it('catches a lane whose growth turned from linear to quadratic', () => {
    const quad = FIXTURE_METHODS.map((m) => (m.method === 'bpf-all' ? { ...m, cost: (n: number) => 80_000 + 5 * n * n } : m));
    const r = compareRuns(baseline, buildResults({ scenarios: ['files', 'all'], seed: 4, methods: quad }));
    const slope = r.checks.filter((c) => c.kind === 'slope' && c.method === 'bpf-all' && c.verdict === 'regression');
    expect(slope.length).toBeGreaterThan(0);
    expect(slope[0]!.message).toMatch(/grows faster/);
  });

  it('a lane 2x slower relative to its floor and procfs at every size fails, naming it', () => {
    const r = compareRuns(baseline, buildResults({ scenarios: ['files', 'all'], seed: 5, slow: { 'bpf-task-file': 2 } }), { absolute: 'off' });
    expect(r.outcome).toBe('regression');
    expect(new Set(r.checks.filter((c) => c.verdict === 'regression').map((c) => c.method))).toEqual(new Set(['bpf-task-file']));
  });

  it('a suspect ratio in either run is not judged and makes the outcome incomparable', () => {
    const broken = FIXTURE_METHODS.map((m) => (m.method === 'floor-walk' ? { ...m, cost: (n: number) => 3 * (80_000 + 260 * n) } : m));
    const r = compareRuns(baseline, buildResults({ scenarios: ['files', 'all'], seed: 6, methods: broken }), { absolute: 'off' });
    expect(r.checks.some((c) => c.verdict === 'suspect' && c.method === 'bpf-all')).toBe(true);
    expect(r.outcome).toBe('incomparable');
  });

  it('a method that became wrong, errored or went missing fails', () => {
    const cur = structuredClone(baseline);
    const i = cur.measurements.findIndex((m) => m.method === 'procfs' && m.n === 512);
    const m = cur.measurements[i]!;
    cur.measurements[i] = { ...m, state: 'errored', reason: 'collect failed (errno 3)' } as Measurement;
    const r = compareRuns(baseline, cur);
    expect(r.outcome).toBe('regression');
    expect(r.checks.find((c) => c.kind === 'state')!.message).toMatch(/procfs errored at N=512/);
    const gone = { ...structuredClone(baseline), measurements: baseline.measurements.filter((x) => x.method !== 'kcmp-tree') };
    expect(compareRuns(baseline, gone).checks.some((c) => /kcmp-tree is missing/.test(c.message))).toBe(true);
  });

  it('interrupted runs, other scenario sets and no common size are incomparable', () => {
    expect(() => compareRuns(baseline, { ...baseline, complete: false, interrupted: 'SIGINT' })).toThrow(/incomplete/);
    expect(() => compareRuns(baseline, buildResults({ scenarios: ['files'] }))).toThrow(/scenario sets differ/);
    expect(() => compareRuns(baseline, buildResults({ scenarios: ['files', 'all'], sizes: [32, 48, 96] }))).toThrow(/no size/);
  });

  it('validateResults names what is missing; schema 1 says to rerun', () => {
    expect(() => validateResults({ schema: 2 }, 'x')).toThrow(/no measurements/);
    expect(() => validateResults({ ...baseline, schema: 1 }, 'x')).toThrow(/before paired rounds/);
    expect(() => validateResults([], 'x')).toThrow(ResultsError);
  });

  it('the Markdown summary of a pass says PASS', () => {
    const md = formatGateMarkdown(compareRuns(baseline, buildResults({ scenarios: ['files', 'all'], seed: 2 })));
    expect(md.split('\n')[0]).toBe('## iterbench gate: PASS');
  });
});

describe('gate CLI', () => {
  it('a second measurement of the same machine passes with exit 0; a 2x slower lane fails with exit 1 naming it', async () => {
    const ok = await gate('--baseline', baselineFile, '--current', save('same.json', buildResults({ scenarios: ['files', 'all'], seed: 9 })));
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/^gate \(across runs\): PASS/);
    const bad = await gate('--baseline', baselineFile, '--current', save('slow.json', buildResults({ scenarios: ['files', 'all'], seed: 9, slow: { 'bpf-all': 2 } })), '--absolute', 'off');
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/FAIL \(\d+ regressions?: bpf-all\)/);
  });

  it('writes JSON verdicts with --json, and gate.md, gate.json and benchmark.json with --out', async () => {
    const out = join(dir, 'out');
    const r = await gate('--baseline', baselineFile, '--current', baselineFile, '--json', '--out', out);
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as { outcome: string; checks: unknown[] };
    expect(report.outcome).toBe('pass');
    expect(readFileSync(join(out, 'gate.md'), 'utf8')).toMatch(/^## iterbench gate: PASS/);
    const bench = JSON.parse(readFileSync(join(out, 'benchmark.json'), 'utf8')) as { name: string; unit: string; value: number }[];
    expect(bench.length).toBeGreaterThan(0);
    for (const e of bench) {
      expect(typeof e.name).toBe('string');
      expect(e.unit).toBe('time ratio');
      expect(Number.isFinite(e.value)).toBe(true);
    }
  });

  it('unreadable, malformed or old inputs and bad flags exit 2 with one line', async () => {
    const cases: string[][] = [
      ['--baseline', join(dir, 'nope.json'), '--current', baselineFile],
      ['--baseline', save('bad.json', '{not json'), '--current', baselineFile],
      ['--baseline', save('old.json', { ...baseline, schema: 1 }), '--current', baselineFile],
      ['--baseline', baselineFile, '--current', save('other.json', buildResults({ scenarios: ['files'] }))],
      ['--current', baselineFile],
      ['--baseline', baselineFile, '--threshold', 'x'],
      ['--ab', '--slowdown', 'bpf-all'],
      ['--ab', '--current', baselineFile],
      ['--nope'],
    ];
    for (const args of cases) {
      const r = await gate(...args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  it('--help lists the options and exits 0', async () => {
    const r = await gate('--help');
    expect(r.exitCode).toBe(0);
    for (const o of ['--ab', '--baseline', '--reference', '--slowdown', '--out']) expect(r.stdout).toContain(o);
  });
});
