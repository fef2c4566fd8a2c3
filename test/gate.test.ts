import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Measurement, ResultsFile } from '../bench/types.js';
import { compareResults, Incomparable, validateResults, formatGateMarkdown, formatGateTable } from '../analysis/gate.js';
import { computeStatistics } from '../analysis/stats.js';
import { buildResults, scaleMethod } from './support/results-fixture.js';

const ROOT = resolve(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function gate(...args: string[]) {
  return execa(TSX, ['bench/gate.ts', ...args], { cwd: ROOT, reject: false });
}

let dir: string;
let baseline: ResultsFile;
let baselineFile: string;

function save(name: string, r: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof r === 'string' ? r : JSON.stringify(r));
  return f;
}

function rerun(r: ResultsFile): ResultsFile {
  return { ...structuredClone(r), runId: `${r.runId}-rerun` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iterbench-gate-'));
  baseline = buildResults({ scenarios: ['files', 'all'], sizes: [64, 128, 256, 512], samples: 25 });
  baselineFile = save('baseline.json', baseline);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gate CLI', () => {
  it('an identical rerun passes with exit 0', async () => {
    const r = await gate('--baseline', baselineFile, '--current', save('same.json', rerun(baseline)));
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^gate: PASS$/m);
    expect(r.stdout).toMatch(/0 regression/);
  });

  it('a second real measurement of the same work passes with the default thresholds', async () => {
    const again = buildResults({ scenarios: ['files', 'all'], sizes: [64, 128, 256, 512], samples: 25 });
    const r = await gate('--baseline', baselineFile, '--current', save('again.json', again));
    expect(r.stdout).toMatch(/^gate: PASS$/m);
    expect(r.exitCode).toBe(0);
  });

  it('the same run with the bpf lane made 2x slower fails with exit 1, naming the lane', async () => {
    const slow = scaleMethod(rerun(baseline), 'bpf-task-file', 2);
    const r = await gate('--baseline', baselineFile, '--current', save('slow.json', slow));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^gate: FAIL \(\d+ regressions?\)$/m);
    expect(r.stdout).toMatch(/^  bpf-task-file got 2\.00x slower relative to procfs at N=\d+ in (files|all): time ratio/m);
    expect(r.stdout).toMatch(/^  bpf-task-file got 2\.00x slower relative to floor-empty-iter at N=\d+/m);
    // only that lane regressed
    const regressed = r.stdout.split('\n').filter((l) => l.startsWith('REGRESSION'));
    expect(regressed.length).toBeGreaterThan(0);
    for (const l of regressed) expect(l).toContain('bpf-task-file');
  });

  it('writes JSON verdicts with --json and a Markdown summary with --markdown', async () => {
    const slow = save('slow2.json', scaleMethod(rerun(baseline), 'bpf-all', 2));
    const md = join(dir, 'gate.md');
    const r = await gate('--baseline', baselineFile, '--current', slow, '--json', '--markdown', md);
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.pass).toBe(false);
    expect(report.regressions).toBeGreaterThan(0);
    expect(report.checks.filter((c: { verdict: string }) => c.verdict === 'regression').every((c: { method: string }) => c.method === 'bpf-all')).toBe(true);
    const text = readFileSync(md, 'utf8');
    expect(text).toMatch(/^## iterbench gate: FAIL, \d+ regressions?$/m);
    expect(text).toMatch(/^- \*\*bpf-all\*\* \(ratio, files, N=\d+\)/m);
    expect(text).toContain('| verdict | check | scenario | what | N | baseline | current | change |');
  });

  it('a missing method fails with a clear message', async () => {
    const cur = rerun(baseline);
    cur.measurements = cur.measurements.filter((m) => m.method !== 'bpf-all');
    const r = await gate('--baseline', baselineFile, '--current', save('missing.json', cur));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('bpf-all is missing from the current run in scenario files (the baseline has it)');
    expect(r.stdout).toContain('bpf-all is missing from the current run in scenario all');
  });

  it('a method that became wrong or errored fails, whatever its speed', async () => {
    const cur = rerun(baseline);
    cur.measurements = cur.measurements.map((m): Measurement => {
      if (m.method === 'bpf-task-file' && m.scenario === 'files' && m.n === 256 && m.state === 'verified') {
        return { ...m, state: 'wrong', reason: '2 fds missing', coverage: m.coverage, mismatchCount: 2, mismatches: [] };
      }
      if (m.method === 'procfs' && m.scenario === 'all' && m.n === 64) {
        return { scenario: m.scenario, method: m.method, family: m.family, n: m.n, fds: m.fds, tasks: m.tasks, extrapolated: false, warnings: [], state: 'errored', reason: 'collector failed: EPERM' };
      }
      return m;
    });
    const r = await gate('--baseline', baselineFile, '--current', save('wrong.json', cur));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('bpf-task-file is WRONG at N=256 in files: 2 fds missing');
    expect(r.stdout).toContain('procfs errored at N=64 in all: collector failed: EPERM');
  });

  it('a baseline with another schema exits 2 with one line on stderr', async () => {
    const r = await gate('--baseline', save('schema2.json', { ...baseline, schema: 2 }), '--current', baselineFile);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gate: baseline .*results schema 2, this gate reads schema 1$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a baseline with another scenario set exits 2', async () => {
    const other = { ...structuredClone(baseline), config: { ...baseline.config, scenarios: ['files', 'epoll'] } };
    const r = await gate('--baseline', save('scen.json', other), '--current', baselineFile);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('gate: scenario sets differ: baseline epoll,files, current all,files');
  });

  it('unreadable or malformed inputs and bad flags exit 2 with one line', async () => {
    const cases: string[][] = [
      ['--baseline', join(dir, 'nope.json'), '--current', baselineFile],
      ['--baseline', save('bad.json', '{"schema": 1, "measure'), '--current', baselineFile],
      ['--baseline', save('arr.json', '[]'), '--current', baselineFile],
      ['--current', baselineFile],
      ['--baseline', baselineFile, '--current', baselineFile, '--threshold', 'big'],
      ['--baseline', baselineFile, '--current', baselineFile, '--threshold', '0.5'],
      ['--baseline', baselineFile, '--current', baselineFile, '--absolute', 'maybe'],
      ['--baseline', baselineFile, '--bogus'],
    ];
    const runs = await Promise.all(cases.map((args) => gate(...args)));
    for (const [i, args] of cases.entries()) {
      const r = runs[i]!;
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(/^gate: /);
      expect(r.stderr).not.toMatch(/internal error/);
    }
  });

  it('--help lists the options and exits 0', async () => {
    const r = await gate('--help');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('--baseline FILE');
    expect(r.stdout).toContain('--threshold X');
  });
});

describe('gate logic', () => {
  it('compares absolute medians only on the same machine: a uniformly slower machine passes', () => {
    let cur = rerun(baseline);
    for (const m of cur.config.methods) cur = scaleMethod(cur, m, 3);
    cur.environment = { ...cur.environment, cpuModel: 'a slower CPU' };
    const other = compareResults(baseline, cur);
    expect(other.sameMachine).toBe(false);
    expect(other.absoluteCompared).toBe(false);
    expect(other.pass).toBe(true);
    expect(formatGateTable(other)).toContain('not compared: different machines');
    // the same 3x on the same machine is a regression of the absolute medians
    const same = compareResults(baseline, { ...cur, environment: baseline.environment });
    expect(same.pass).toBe(false);
    expect(same.checks.filter((c) => c.verdict === 'regression').every((c) => c.kind === 'absolute')).toBe(true);
  });

  it('catches a lane whose growth turned from linear to quadratic', () => {
    const cur = rerun(baseline);
    cur.measurements = cur.measurements.map((m) => {
      if (m.method !== 'bpf-all' || m.state !== 'verified') return m;
      const k = m.n / 64;
      return { ...m, stats: computeStatistics(m.stats.samplesNs!.map((s) => s * k)) };
    });
    const r = compareResults(baseline, cur);
    const slope = r.checks.filter((c) => c.kind === 'slope' && c.method === 'bpf-all');
    expect(slope.length).toBe(2);
    for (const c of slope) {
      expect(c.verdict).toBe('regression');
      expect(c.change).toBeCloseTo(1, 5);
      expect(c.message).toMatch(/bpf-all grows faster in (files|all): slope/);
    }
  });

  it('a change past the threshold within noise is not a regression', () => {
    // the current bpf-task-file samples spread so widely that 2.4x is not evidence
    const cur = rerun(baseline);
    cur.measurements = cur.measurements.map((m) => {
      if (m.method !== 'bpf-task-file' || m.n !== 512 || m.scenario !== 'files' || m.state !== 'verified') return m;
      const med = m.stats.medianNs;
      // median 2.4x the baseline's, but a third of the samples below it
      const wide = [0.2, 0.3, 0.5, 0.8, 2.4, 3, 4, 5, 6].map((x) => med * x);
      return { ...m, stats: computeStatistics(wide) };
    });
    const r = compareResults(baseline, cur, { absolute: 'off' });
    const c = r.checks.find((x) => x.kind === 'ratio' && x.method === 'bpf-task-file' && x.reference === 'procfs' && x.n === 512 && x.scenario === 'files')!;
    expect(c.change!).toBeGreaterThan(1.5);
    expect(c.verdict).toBe('noise');
    expect(r.pass).toBe(true);
  });

  it('a burst of load at one size is not a regression; the same slowdown at every size is', () => {
    const burst = rerun(baseline);
    burst.measurements = burst.measurements.map((m) => {
      if (m.method !== 'bpf-task-file' || m.n !== 256 || m.state !== 'verified') return m;
      return { ...m, stats: computeStatistics(m.stats.samplesNs!.map((x) => x * 3)) };
    });
    const r = compareResults(baseline, burst, { absolute: 'off' });
    const at256 = r.checks.filter((c) => c.kind === 'ratio' && c.method === 'bpf-task-file' && c.n === 256);
    expect(at256.length).toBeGreaterThan(0);
    for (const c of at256) {
      expect(c.change!).toBeGreaterThan(2.5);
      expect(c.verdict).toBe('noise');
      expect(c.message).toMatch(/not consistent across sizes: 1 of 4 worse/);
    }
    expect(r.pass).toBe(true);
    const everywhere = compareResults(baseline, scaleMethod(rerun(baseline), 'bpf-task-file', 3), { absolute: 'off' });
    expect(everywhere.pass).toBe(false);
  });

  it('validateResults names what is missing', () => {
    expect(() => validateResults({ schema: 1, config: { scenarios: [] } }, 'current')).toThrow(Incomparable);
    expect(() => validateResults({ schema: 1, config: { scenarios: [] } }, 'current')).toThrow(/current: no measurements array/);
    expect(() => validateResults(null, 'baseline')).toThrow(/baseline: not a results object/);
  });

  it('an interrupted run is incomparable', () => {
    const cur = { ...rerun(baseline), complete: false, interrupted: 'SIGINT' };
    expect(() => compareResults(baseline, cur)).toThrow(/the current run .* is incomplete \(SIGINT\)/);
  });

  it('sizes measured by only one run are incomparable', () => {
    const cur = rerun(baseline);
    cur.measurements = cur.measurements.map((m) => ({ ...m, n: m.n * 3 }));
    expect(() => compareResults(baseline, cur)).toThrow(/no size measured in both runs/);
  });

  it('the Markdown summary of a pass says PASS', () => {
    const md = formatGateMarkdown(compareResults(baseline, rerun(baseline)));
    expect(md.split('\n')[0]).toBe('## iterbench gate: PASS');
  });
});
