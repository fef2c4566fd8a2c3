import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Measurement, ResultsFile } from '../bench/schema.js';
import { exporters, writeReports, writeCharts, formatTable, toBenchmarkJson } from '../analysis/report/index.js';
import { CSV_COLUMNS, RATIO_COLUMNS } from '../analysis/report/csv.js';
import { timeChart, speedupChart, stagesChart, kernelLaneChart } from '../analysis/report/charts.js';
import { formatSummary, SUMMARY_WIDTH } from '../analysis/report/summary.js';
import { analyze } from '../analysis/analyze.js';
import { buildResults, FIXTURE_METHODS } from './support/results-fixture.js';

/** RFC 4180 parsing, enough for csv-stringify's output */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** a real results file plus one measurement in each non-verified state */
function withStates(r: ResultsFile): ResultsFile {
  const base = { scenario: 'files' as const, family: 'bpf' as const, role: 'recovery' as const, n: 512, instance: 0, replica: 0, fds: 515, tasks: 1, extrapolated: false, warnings: [] };
  const coverage = Object.fromEntries(
    ['fd', 'fd.meta', 'fd.pos', 'fd.flags', 'fd.identity', 'epoll.item', 'epoll.target', 'uring.file', 'uring.buf'].map((k) => [k, 'recovered']),
  ) as Extract<Measurement, { state: 'wrong' }>['coverage'];
  coverage['fd.pos'] = 'wrong';
  const extra: Measurement[] = [
    { ...base, method: 'bpf-epoll', state: 'wrong', reason: '3 positions differ, e.g. fd 7: pos 0 vs 4096', coverage, mismatchCount: 3, mismatches: [] },
    { ...base, method: 'bpf-io-uring', state: 'skipped', skip: 'missing-feature', reason: 'io_uring disabled (kernel.io_uring_disabled=2)' },
    { ...base, method: 'bpf-iter-epoll', state: 'errored', reason: 'workload died: "killed", signal 9' },
  ];
  return { ...r, config: { ...r.config, methods: [...r.config.methods, 'bpf-epoll', 'bpf-io-uring', 'bpf-iter-epoll'] }, measurements: [...r.measurements, ...extra] };
}

let results: ResultsFile;
let dir: string;

beforeAll(async () => {
  results = withStates(buildResults({ scenarios: ['files', 'all'], sizes: [64, 128, 256, 512] }));
  dir = mkdtempSync(join(tmpdir(), 'iterbench-report-'));
  await writeReports(results, dir, { charts: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exporters', () => {
  it('are one list with one name per format', () => {
    expect(exporters.map((e) => e.name)).toEqual(['json', 'csv', 'ratios-csv', 'summary', 'benchmark']);
  });

  it('results.json parses and round-trips the results object, schema 2, with its samples in time order and the analysis', () => {
    const back = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(back.schema).toBe(2);
    const { analysis, ...raw } = back;
    expect(raw).toEqual(JSON.parse(JSON.stringify(results)));
    expect(analysis.ratios.length).toBeGreaterThan(0);
    const v = raw.measurements.find((m: Measurement) => m.state === 'verified');
    expect(v.samples.ns.length).toBe(v.samples.round.length);
    expect(v.samples.atMs).toEqual([...v.samples.atMs].sort((a: number, b: number) => a - b));
    // sample arrays on one line each: the file stays small and readable
    expect(readFileSync(join(dir, 'results.json'), 'utf8')).toMatch(/"round": \[0,0,0,1,1,1/);
  });

  it('ratios.csv has one row per paired ratio under a fixed header', () => {
    const rows = parseCsv(readFileSync(join(dir, 'ratios.csv'), 'utf8'));
    expect(rows[0]).toEqual([...RATIO_COLUMNS]);
    expect(rows.length - 1).toBe(analyze(results).ratios.length);
    const col = (name: string) => RATIO_COLUMNS.indexOf(name as (typeof RATIO_COLUMNS)[number]);
    const r = rows.find((x) => x[col('kind')] === 'vs-floor' && x[col('method')] === 'bpf-all' && x[col('n')] === '512')!;
    expect(Number(r[col('ci_low')])).toBeLessThanOrEqual(Number(r[col('ratio')]));
    expect(Number(r[col('ci_high')])).toBeGreaterThanOrEqual(Number(r[col('ratio')]));
  });

  it('benchmark.json is what github-action-benchmark reads as customSmallerIsBetter', () => {
    const list = JSON.parse(readFileSync(join(dir, 'benchmark.json'), 'utf8')) as { name: string; unit: string; value: number; range?: string; extra?: string }[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.length).toBeGreaterThan(10);
    for (const e of list) {
      expect(Object.keys(e).every((k) => ['name', 'unit', 'value', 'range', 'extra'].includes(k))).toBe(true);
      expect(typeof e.name).toBe('string');
      expect(typeof e.unit).toBe('string');
      expect(Number.isFinite(e.value) && e.value > 0).toBe(true);
    }
    expect(new Set(list.map((e) => e.name)).size).toBe(list.length);
    // a speedup is written as its inverse (smaller is better)
    const sp = list.find((e) => e.name === 'all/bpf-all / procfs @N=512')!;
    expect(sp.value).toBeLessThan(0.1);
    expect(toBenchmarkJson(results, analyze(results))).toEqual(list);
  });

  it('leaves no temporary files behind (atomic writes)', () => {
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(readdirSync(join(dir, 'charts')).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('results.csv has the fixed header and one row per measurement', () => {
    const rows = parseCsv(readFileSync(join(dir, 'results.csv'), 'utf8'));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    const body = rows.slice(1);
    expect(body.length).toBe(results.measurements.length);
    for (const r of body) expect(r.length).toBe(CSV_COLUMNS.length);
    const col = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    const pw = body.find((r) => r[col('method')] === 'kcmp-pairwise' && r[col('n')] === '512')!;
    expect(pw[col('extrapolated')]).toBe('true');
    expect(Number(pw[col('median_ns')])).toBeGreaterThan(0);
    const wrong = body.find((r) => r[col('state')] === 'wrong')!;
    expect(wrong[col('reason')]).toBe('3 positions differ, e.g. fd 7: pos 0 vs 4096');
    expect(wrong[col('median_ns')]).toBe('');
    expect(wrong[col('coverage')]).toMatch(/^fd=recovered;fd\.meta=recovered;fd\.pos=wrong;/);
    const errored = body.find((r) => r[col('state')] === 'errored')!;
    expect(errored[col('reason')]).toBe('workload died: "killed", signal 9');
    const m0 = results.measurements[0]!;
    expect(body[0]![col('warnings')]).toBe(m0.warnings.join(';'));
  });

  it('charts are real PNG and SVG files, one time chart per scenario plus speedup and stages', () => {
    const files = readdirSync(join(dir, 'charts')).sort();
    expect(files).toEqual(
      ['speedup', 'stages-all', 'stages-files', 'time-all', 'time-files'].flatMap((b) => [`${b}.png`, `${b}.svg`]).sort(),
    );
    expect(kernelLaneChart(results)).toBeUndefined();
    for (const f of files) {
      const buf = readFileSync(join(dir, 'charts', f));
      expect(statSync(join(dir, 'charts', f)).size).toBeGreaterThan(5000);
      if (f.endsWith('.png')) expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      else {
        const text = buf.toString('utf8');
        expect(text).toMatch(/^(<\?xml[^>]*>\s*)?<svg [^>]*width="\d+(pt|px)?"/);
        expect(text.trimEnd().endsWith('</svg>')).toBe(true);
        // vector drawing, not one embedded bitmap
        expect(text).toMatch(/<path /);
        expect(text).not.toMatch(/<image /);
      }
    }
  });

  it('the time chart marks extrapolated points and draws floors as dashed references', () => {
    const cfg = timeChart(results, 'files');
    const ds = cfg.data.datasets;
    const pw = ds.find((d) => String(d.label).startsWith('kcmp-pairwise'))!;
    expect(pw.label).toMatch(/\(extrapolated at N >= 512/);
    expect((pw.pointBackgroundColor as string[]).at(-1)).toBe('#ffffff');
    expect((pw.pointBackgroundColor as string[])[0]).not.toBe('#ffffff');
    const floors = ds.filter((d) => String(d.label).startsWith('floor: '));
    expect(floors.length).toBe(3);
    // one point per size: the median over rounds (and instances)
    expect((pw.data as { x: number }[]).map((p) => p.x)).toEqual([64, 128, 256, 512]);
    for (const f of floors) expect((f.borderDash as number[]).length).toBeGreaterThan(0);
    const y = cfg.options!.scales!['y'] as { type: string; title: { text: string } };
    expect(y.type).toBe('logarithmic');
    expect(y.title.text).toBe('time per recovery (ms), log scale');
  });

  it('the speedup chart has both references with CIs; the stage chart stacks the stages', () => {
    const sp = speedupChart(results)!;
    expect(sp.data.datasets.map((d) => d.label)).toEqual(['over procfs', 'over kcmp-tree']);
    const ci = (sp.data.datasets[0] as unknown as { ci: [number, number][] }).ci;
    sp.data.datasets[0]!.data.forEach((v, i) => {
      expect(ci[i]![0]).toBeLessThanOrEqual(v as number);
      expect(ci[i]![1]).toBeGreaterThanOrEqual(v as number);
    });
    const st = stagesChart(results, 'files')!;
    expect(st.data.datasets.map((d) => d.label)).toEqual(['enumerate', 'metadata', 'identity']);
    // shares of each bar add up to 100 %
    const sum = st.data.datasets.reduce((a, d) => a + (d.data[0] as number), 0);
    expect(sum).toBeCloseTo(100, 6);
    expect(String(st.data.labels![0])).toMatch(/^procfs: \d+(\.\d+)? (us|ms)$/);
  });

  it('writeCharts returns the files it wrote', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'iterbench-charts-'));
    const one = buildResults({ scenarios: ['files'], sizes: [64, 128, 256], rounds: 5 });
    const files = await writeCharts(one, d2);
    // time-files, speedup, stages-files: PNG and SVG each
    expect(files.map((f) => f.split('/').pop()).sort()).toEqual(
      ['speedup.png', 'speedup.svg', 'stages-files.png', 'stages-files.svg', 'time-files.png', 'time-files.svg'],
    );
    rmSync(d2, { recursive: true, force: true });
  });
});

describe('summary.txt', () => {
  it('no line is wider than 72 columns', () => {
    const text = readFileSync(join(dir, 'summary.txt'), 'utf8');
    const lines = text.split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(SUMMARY_WIDTH);
  });

  it('names kernel, CPU and date, and the harness overhead', () => {
    const text = readFileSync(join(dir, 'summary.txt'), 'utf8');
    const env = results.environment;
    expect(text).toContain(`kernel ${env.kernelRelease}`);
    expect(text).toContain(env.cpuModel.slice(0, 20));
    expect(text).toContain(results.startedAt.slice(0, 10));
    expect(text).toMatch(/harness overhead: \d+(\.\d+)? (ns|us) per call/);
  });

  it('gives median, growth and speedup per method, marks extrapolated figures and shows other states', () => {
    const text = readFileSync(join(dir, 'summary.txt'), 'utf8');
    expect(text).toMatch(/scenario files: N = 512/);
    expect(text).toMatch(/^procfs +\d+(\.\d+)? (us|ms) +\d\.\d\d/m);
    expect(text).toMatch(/^bpf-task-file +\d+(\.\d+)? (us|ms) +\d\.\d\d.* +\d+(\.\d+)?x \d/m);
    expect(text).toMatch(/^ {2}bpf-all \/ floor-walk +\d\.\d\dx \d\.\d\d-\d\.\d\d <= 2 met$/m);
    expect(text).toMatch(/2 instances at N, 12 rounds; ratios paired by round; speedup over procfs/);
    // a run that records its core rounds says how many of the rounds were extra
    const cored = formatSummary({ ...results, config: { ...results.config, coreRounds: 6 } });
    expect(cored).toMatch(/2 instances at N, 6 core rounds \+ 6 extra \(fast methods at N\); ratios\s+paired by round/);
    // a run whose extra rounds went to its wide target pairs says so, and how many narrowed
    const goal = formatSummary({
      ...results,
      config: { ...results.config, coreRounds: 6 },
      extraRounds: results.config.scenarios.map((scenario) => ({
        scenario,
        pairs: [
          { method: 'bpf-task-file', floor: 'floor-empty-iter', widthPct: 6.1, closedBefore: 6, extraRounds: 0 },
          { method: 'bpf-all', floor: 'floor-walk', widthPct: 12.5, extraRounds: 6 },
        ],
      })),
    });
    expect(goal.replace(/\s+/g, ' ')).toMatch(/6 core rounds \+ 6 extra \(the target ratios while their CI was wide; 1 of 2 narrowed to the goal\); ratios paired by round/);
    expect(text).toMatch(/^targets \(paired ratios/m);
    expect(text).toMatch(/^kcmp-pairwise +~\d/m);
    expect(text).toMatch(/^~ extrapolated: /m);
    expect(text).toMatch(/^bpf-epoll +WRONG: 3 mismatches/m);
    expect(text).toMatch(/^bpf-io-uring +skipped: io_uring disabled/m);
    expect(text).toMatch(/^bpf-iter-epoll +errored: workload died/m);
  });

  it('says when a run is incomplete and stays within 72 columns for long names', () => {
    const r: ResultsFile = { ...results, complete: false, interrupted: 'SIGINT during measurement of a very long scenario name' };
    r.environment = { ...r.environment, cpuModel: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz with a very long model string' };
    const text = formatSummary(r);
    expect(text).toContain('INCOMPLETE RUN: SIGINT');
    for (const l of text.split('\n')) expect(l.length, l).toBeLessThanOrEqual(SUMMARY_WIDTH);
  });

  it('a suspect figure is marked, never printed as met', () => {
    const methods = FIXTURE_METHODS.map((m) => (m.method === 'floor-walk' ? { ...m, cost: (n: number) => 2 * (80_000 + 260 * n) } : m));
    const text = formatSummary(buildResults({ scenarios: ['all'], methods }));
    expect(text).toMatch(/^ {2}bpf-all \/ floor-walk +0\.\d\dx \d\.\d\d-\d\.\d\d SUSPECT$/m);
    expect(text).toMatch(/^bpf-all \/ floor-walk +0\.\d\dx <= 2x +SUSPECT$/m);
    expect(text).not.toMatch(/^bpf-all \/ floor-walk .* met$/m);
  });

  it('the terminal table lists warnings with their hints once', () => {
    const t = formatTable(results);
    expect(t).toContain('scenario all: N = 512');
    if (results.measurements.some((m) => m.warnings.some((w) => w !== 'extrapolated'))) {
      expect(t).toMatch(/^warnings:$/m);
      expect(t).toMatch(/^hints:$/m);
    }
  });
});

describe('the kernel lane in the reports', () => {
  const floorCost = (n: number) => 50_000 + 100 * n;
  const lane = buildResults({
    scenarios: ['all'],
    sizes: [128, 256, 512],
    methods: [
      ...FIXTURE_METHODS,
      { method: 'bpf-epoll', family: 'bpf', cost: (n) => floorCost(n) + 200 * n },
      { method: 'bpf-iter-epoll', family: 'bpf', lane: 'patched-kernel', cost: (n) => 50 * n, emulation: { method: 'bpf-epoll', floor: 'floor-empty-iter' } },
      // the whole state: 4x faster than bpf-all's one pass (80k + 260 n)
      { method: 'bpf-iter-all', family: 'bpf', lane: 'patched-kernel', cost: (n) => (80_000 + 260 * n) / 4, speedupOver: ['procfs', 'bpf-all'] },
    ],
  });
  const an = analyze(lane);

  it('the chart shows how much faster, the per-kind rows inverted the same way', () => {
    const cfg = kernelLaneChart(lane, an)!;
    const labels = cfg.data.datasets.map((d) => d.label);
    expect([...labels].sort()).toEqual(["x faster than bpf-all", "x faster than its emulation's same work (bpf-epoll - floor-empty-iter)", 'x faster than procfs']);
    const cats = cfg.data.labels as string[];
    const at = (label: string, cat: string) => cfg.data.datasets.find((d) => d.label === label)!.data[cats.indexOf(cat)] as number;
    expect(at('x faster than bpf-all', 'all: bpf-iter-all (N=512)')).toBeGreaterThan(3.8);
    expect(at('x faster than bpf-all', 'all: bpf-iter-all (N=512)')).toBeLessThan(4.2);
    // real / (emulation - floor) = 0.25: 4x faster
    const kind = at("x faster than its emulation's same work (bpf-epoll - floor-empty-iter)", 'all: bpf-iter-epoll (N=512)');
    expect(kind).toBeGreaterThan(3.8);
    expect(kind).toBeLessThan(4.2);
    const ci = (cfg.data.datasets.find((d) => String(d.label).includes('emulation'))! as unknown as { ci: ([number, number] | null)[] }).ci[cats.indexOf('all: bpf-iter-epoll (N=512)')]!;
    expect(ci[0]).toBeLessThanOrEqual(kind);
    expect(ci[1]).toBeGreaterThanOrEqual(kind);
  });

  it('the summary lists the speedups and the per-kind ratio with its CI, within 72 columns', () => {
    const text = formatSummary(lane, an);
    expect(text).toMatch(/^kernel lane: the real iterators, x faster than \(paired by round\)$/m);
    expect(text).toMatch(/^ {2}all: bpf-iter-all over bpf-all: [34]\.\d\dx \(/m);
    expect(text).toMatch(/^kernel lane per kind: real \/ \(emulation - its floor\)/m);
    expect(text).toMatch(/all: bpf-iter-epoll \/ \(bpf-epoll - floor-empty-iter\): 0\.2\d*\s+\(0\.2\d*-0\.2\d*\),\s+[34]\.\d+x faster/);
    for (const l of text.split('\n')) expect(l.length, l).toBeLessThanOrEqual(SUMMARY_WIDTH);
  });

  it('ratios.csv carries the vs-emulation rows', () => {
    const kinds = new Set(an.ratios.map((r) => r.kind));
    expect(kinds.has('vs-emulation')).toBe(true);
    expect(toBenchmarkJson(lane, an).some((e) => e.name === 'all/bpf-iter-epoll / bpf-epoll @N=512' && e.extra?.startsWith('vs-emulation'))).toBe(true);
  });

  it('says how a method ran when its open() said so', () => {
    const noted = { ...lane, measurements: lane.measurements.map((m) => (m.method === 'bpf-all' ? { ...m, note: 'bpf: the probe-read object (task_file_compat): the kernel cannot resolve the bpf_rdonly_cast kfunc' } : m)) };
    const text = formatSummary(noted, an);
    expect(text).toMatch(/^how methods ran here:\n {2}bpf-all: bpf: the probe-read object/m);
  });
});
