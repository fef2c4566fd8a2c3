/**
 * The bench CLI end to end at small N on real workloads: what a user gets in
 * results/<run-id>/ after `npm run bench`.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../analysis/report/index.js';
import { defaultScenarios } from '../bench/manifest.js';
import { REPO_ROOT } from '../bench/native.js';
import { RT_SHARE } from '../bench/rtbudget.js';
import { RUN_DEFAULTS } from '../bench/run.js';
import { listDescriptors } from '../bench/descriptors.js';
import { COVERAGE_KINDS, EXPECTED_SKIPS, type ResultsFile, type Verified } from '../bench/schema.js';

/** The scenarios a default run takes, as the generator lists them. */
const SCENARIOS = defaultScenarios();

const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
const CLI = path.join(REPO_ROOT, 'bench/cli/bench.ts');

describe('npm run bench at small N', () => {
  let dir: string;
  let stdout: string;
  let exitCode: number | undefined;
  let results: ResultsFile;

  beforeAll(async () => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), 'iterbench-e2e-')), 'run');
    const r = await execa(TSX, [CLI, '--files', '64', '--steps', '3', '--budget', '6', '--min-rounds', '3', '--criu', 'off', '--out', dir], {
      cwd: REPO_ROOT,
      reject: false,
      timeout: 300_000,
    });
    stdout = r.stdout;
    exitCode = r.exitCode;
    if (!existsSync(path.join(dir, 'results.json'))) throw new Error(`no results.json: ${r.stderr}`);
    results = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
  }, 320_000);

  it('exits 0 and prints the results directory as the last line on stdout', () => {
    expect(exitCode).toBe(0);
    expect(stdout.trim().split('\n').at(-1)).toBe(dir);
  });

  it('writes a complete results.json with the environment a reviewer needs', () => {
    expect(results.schema).toBe(2);
    expect(results.complete).toBe(true);
    const env = results.environment;
    expect(env.kernelRelease).toMatch(/^\d+\.\d+/);
    expect(env.cpuModel.length).toBeGreaterThan(0);
    expect(env.nproc).toBeGreaterThan(0);
    expect(env.clang).toMatch(/clang/);
    expect(env.libbpf).toMatch(/^\d+\.\d+/);
    expect(env.node).toBe(process.version);
    expect(env.gitRevision).not.toBe('');
    expect(env.commandLine).toContain('--files 64');
    expect(['cgroup2', 'cgroup1-freezer', 'sigstop']).toContain(env.freezer);
    expect(results.overhead?.medianNs).toBeGreaterThan(0);
    // the blocks were timed at SCHED_FIFO under the kernel's RT limit, read from /proc
    expect(env.sched).toBe('SCHED_FIFO');
    expect(env.rtThrottle).toMatchObject({ periodUs: expect.any(Number), runtimeUs: expect.any(Number), share: RT_SHARE });
    expect(env.rtThrottle!.waits).toBeGreaterThanOrEqual(0);
  });

  it('records the timing thread\'s time off the CPU for every timed collect of a single-threaded method, not extrapolated', () => {
    const verified = results.measurements.filter((m): m is Verified => m.state === 'verified');
    expect(verified.length).toBeGreaterThan(0);
    for (const m of verified) {
      const parallel = results.methods.find((d) => d.name === m.method)?.parallel === true;
      // a parallel method's caller waits for its threads; an extrapolated sample is not one collect's time
      if (parallel || m.extrapolated) {
        expect(m.samples.offCpuNs, m.method).toBeUndefined();
        continue;
      }
      expect(m.samples.offCpuNs?.length, `${m.scenario}/${m.method}`).toBe(m.samples.ns.length);
      expect(m.samples.offCpuNs!.every((x, i) => x >= 0 && x <= m.samples.ns[i]!), m.method).toBe(true);
    }
    expect(results.methods.some((d) => d.parallel)).toBe(true);
  });

  it('measures every scenario, method and size of the sweep, all sizes in every core round, and a second instance at the largest', () => {
    // the default run: every method but the task dimension's (a task sweep adds those)
    const methods = listDescriptors().filter((m) => m.sweep !== 'tasks').map((m) => m.name);
    const taskMethods = listDescriptors().filter((m) => m.sweep === 'tasks').map((m) => m.name);
    expect(taskMethods).toEqual(expect.arrayContaining(['bpf-task-file-sys', 'bpf-cgroup-fds', 'floor-sys-iter', 'floor-cgroup-walk']));
    expect(results.config.sizes).toEqual([16, 32, 64]);
    expect(results.methods.map((m) => m.name)).toEqual(methods);
    for (const m of taskMethods) expect(results.measurements.some((x) => x.method === m), m).toBe(false);
    const largestOnly = new Set(listDescriptors().filter((d) => d.sweep === 'largest').map((d) => d.name));
    expect(largestOnly.size).toBeGreaterThan(0);
    for (const s of SCENARIOS) for (const m of methods) for (const n of [16, 32, 64]) {
      const found = results.measurements.find((x) => x.scenario === s && x.method === m && x.n === n && x.replica === 0);
      // a baseline whose descriptor says sweep 'largest' is measured at the largest size only
      if (largestOnly.has(m) && n !== 64) expect(found, `${s} ${m} ${n}`).toBeUndefined();
      else expect(found, `${s} ${m} ${n}`).toBeDefined();
    }
    for (const s of SCENARIOS) {
      expect(results.instances.filter((i) => i.scenario === s).map((i) => `${i.n}#${i.replica}`)).toEqual(['16#0', '32#0', '64#0', '64#1']);
      const rounds = results.rounds.filter((r) => r.scenario === s);
      expect(rounds.length).toBeGreaterThanOrEqual(3);
      rounds.forEach((r, i) => {
        // every unit at most once per round; the core rounds (--min-rounds 3)
        // interleave the sizes, the extra rounds after them have the fast
        // units at the largest size alone (every unit is fast at N = 64)
        expect(new Set(r.order).size).toBe(r.order.length);
        const sizes = [...new Set(r.order.map((k) => results.instances[Number(k.split(':')[0])]!.n))].sort((a, b) => a - b);
        expect(sizes).toEqual(i < 3 ? [16, 32, 64] : [64]);
        expect(r.probe.memProbeNs).toBeGreaterThan(0);
      });
      // the orders differ between rounds
      expect(new Set(rounds.map((r) => r.order.join(','))).size).toBe(rounds.length);
    }
    // the targets' reference scenario, and where each scenario's extra rounds went:
    // a target pair's method is in the extra rounds it says, a pair that left is narrow
    expect(results.config.reference).toBe('all');
    for (const s of SCENARIOS) {
      const goal = results.extraRounds?.find((x) => x.scenario === s);
      expect(goal, s).toBeDefined();
      expect(goal!.pairs.length, s).toBeGreaterThan(0);
      const extra = results.rounds.filter((r) => r.scenario === s && r.index >= 3);
      for (const p of goal!.pairs) {
        expect(p.extraRounds, `${s} ${p.method}`).toBe(extra.filter((r) => r.order.some((k) => k.endsWith(`:${p.method}`))).length);
        if (p.closedBefore !== undefined) expect(p.widthPct!, `${s} ${p.method}`).toBeLessThanOrEqual(8);
      }
    }
  });

  it('verifies every measurement that has something to recover on this machine', () => {
    for (const m of results.measurements) {
      const where = `${m.scenario} ${m.method} n=${m.n}`;
      if (m.state === 'skipped') {
        expect(EXPECTED_SKIPS, `${where}: ${m.reason}`).toContain(m.skip);
        continue;
      }
      expect(m.state, `${where}: ${'reason' in m ? m.reason : ''}`).toBe('verified');
      if (m.state !== 'verified') continue;
      for (const k of ['scenario', 'method', 'family', 'n', 'state', 'extrapolated', 'coverage', 'stats'] as const) expect(m[k], `${where} ${k}`).toBeDefined();
      expect(Object.keys(m.coverage).sort()).toEqual([...COVERAGE_KINDS].sort());
      expect(new Set(m.samples.round).size, where).toBeGreaterThanOrEqual(3);
      expect(m.samples.ns.length).toBe(m.samples.atMs.length);
      expect(m.answers.timed).toBe(m.samples.ns.length);
      expect(m.stats.p25Ns).toBeLessThanOrEqual(m.stats.medianNs);
      expect(m.stats.medianNs).toBeLessThanOrEqual(m.stats.p75Ns);
      if (m.family === 'bpf') expect(m.coldNs, where).toBeGreaterThan(0);
    }
  });

  it('writes one CSV row per measurement under a fixed header', () => {
    const lines = readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines.length - 1).toBe(results.measurements.length);
    const first = results.measurements[0];
    expect(lines[1].startsWith(`${first.scenario},${first.method},${first.family},${first.n},`)).toBe(true);
  });

  it('draws PNG and SVG charts that are valid and non-empty', () => {
    const files = readdirSync(path.join(dir, 'charts'));
    const png = files.filter((f) => f.endsWith('.png'));
    const svg = files.filter((f) => f.endsWith('.svg'));
    expect(png.length).toBeGreaterThanOrEqual(SCENARIOS.length);
    expect(svg.length).toBe(png.length);
    for (const f of png) {
      const b = readFileSync(path.join(dir, 'charts', f));
      expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), f).toBe(true);
      expect(statSync(path.join(dir, 'charts', f)).size, f).toBeGreaterThan(2000);
    }
    for (const f of svg) {
      const t = readFileSync(path.join(dir, 'charts', f), 'utf8');
      expect(t, f).toMatch(/<svg[\s>]/);
      expect(t, f).toMatch(/<\/svg>\s*$/);
    }
  });

  it('writes a summary.txt no wider than 72 columns naming kernel and CPU', () => {
    const text = readFileSync(path.join(dir, 'summary.txt'), 'utf8');
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(72);
    expect(text).toContain(results.environment.kernelRelease);
    for (const s of SCENARIOS) expect(text).toContain(s);
  });
});

describe('bench command line', () => {
  it('rejects a bad flag with one line and exit 2, creating nothing', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'iterbench-bad-')), 'never');
    const r = await execa(TSX, [CLI, '--files', 'many', '--out', out], { cwd: REPO_ROOT, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--files/);
    expect(existsSync(out)).toBe(false);
  });

  it('prints help listing the options with examples', async () => {
    const r = await execa(TSX, [CLI, '--help'], { cwd: REPO_ROOT });
    expect(r.stdout).toMatch(/--files N/);
    expect(r.stdout).toMatch(/Examples:/);
    // the help's share of --budget for extra rounds is the run's
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`${RUN_DEFAULTS.extraShare * 100} % of it`);
    // and the rounds' defaults are the run's
    expect(help).toContain(`(default ${RUN_DEFAULTS.maxRounds}: up to ${RUN_DEFAULTS.maxRounds - RUN_DEFAULTS.minRounds} extra rounds after ${RUN_DEFAULTS.minRounds} core ones`);
    expect(help).toContain(`still wider than ${RUN_DEFAULTS.ciGoal * 100} %`);
    expect(help).toContain(`in every other) (default ${RUN_DEFAULTS.minRounds})`);
  });
});

describe('a harness in a child pid namespace', () => {
  // BPF programs report the initial namespace's tgids, which are not the pids the harness sees
  // there: the BPF methods say skipped with the reason (never wrong), the others still verify
  it('skips the BPF methods with the reason and verifies procfs', async (ctx) => {
    const probe = await execa('unshare', ['-pf', '--mount-proc', 'true'], { reject: false });
    if (probe.exitCode !== 0) return ctx.skip(`unshare -pf cannot run here: ${probe.stderr.trim()}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'iterbench-pidns-'));
    const r = await execa('unshare', ['-pf', '--mount-proc', TSX, CLI, '--scenarios', 'files', '--sizes', '32', '--methods', 'procfs,bpf-task-file,bpf-all',
      '--min-rounds', '2', '--replicas', '1', '--budget', '2', '--criu', 'off', '--no-charts', '--quiet', '--out', dir], { cwd: REPO_ROOT, reject: false, timeout: 120_000 });
    // a lane skipped for a missing feature: exit 3
    expect(r.exitCode, r.stderr).toBe(3);
    const res = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
    const by = (m: string) => res.measurements.find((x) => x.method === m)!;
    expect(by('procfs').state).toBe('verified');
    for (const m of ['bpf-task-file', 'bpf-all']) {
      const x = by(m);
      expect(x.state, m).toBe('skipped');
      expect('reason' in x ? x.reason : '', m).toMatch(/child pid namespace/);
    }
  }, 150_000);
});
