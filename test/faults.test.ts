/**
 * The fault matrix: what a user gets from iterbench when something goes
 * wrong -- a signal at any phase, a workload or collector that dies, a
 * process that changes while measured, missing privileges or features, bad
 * input, two runs at once. Real processes, the real CLI (run as root; one
 * row runs as nobody). Every row checks that nothing is left behind: no
 * workload process, no iterbench cgroup, no generator directory, no half
 * results directory.
 */
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openMethod } from '../bench/native.js';
import { listDescriptors } from '../bench/descriptors.js';
import { measureOnce } from './support/measure-once.js';
import { startWorkload, stopAllWorkloads } from '../bench/workload.js';
import type { Measurement } from '../bench/schema.js';
import {
  CLI, GENERATOR, INSPECT, NOBODY, NOTHING_LEFT, TSX, cgroupsOf, killGroup, readResults, removeScratch, runOnce, scratch,
  settledLeftovers, startBench, workloadProcesses, type BenchRun,
} from './support/faults.js';

const started: BenchRun[] = [];
function bench(args: string[], o: Parameters<typeof startBench>[1] = {}): BenchRun {
  const b = startBench(args, o);
  started.push(b);
  return b;
}
afterAll(async () => {
  for (const b of started) killGroup(b.pid);
  stopAllWorkloads();
  await Promise.all(started.map((b) => b.exited));
  removeScratch();
});

const METHODS = listDescriptors();
const HOST = METHODS.filter((m) => m.lane === 'host');
const coverageOf = (name: string) => METHODS.find((m) => m.name === name)!.coverage;
/** skipped for a reason that is not a fault: nothing to recover, or the kernel lane on a stock kernel */
const benignSkip = (m: Measurement) => m.state === 'skipped' && (m.skip === 'not-applicable' || m.skip === 'kernel-lane');
/**
 * Every method but the kernel lane's (they need the patched kernel, built
 * and cached by another part of the project; their state here is not what
 * these faults are about).
 */
const LANES = ['--methods', HOST.map((m) => m.name).join(',')];
const LANE_COUNT = HOST.length;
const BASE = ['--steps', '1', '--budget', '1', '--replicas', '1', '--no-charts', '--criu', 'off', ...LANES];
const SMALL = [...BASE, '--min-rounds', '2'];
/**
 * For a fault that must land while the rounds run (a signal, a killed task):
 * 40 rounds of ~0.1 s after the line the test waits for leave seconds for
 * the fault to arrive, where 2 rounds left a race (the scenario could end
 * first, about one run in ten).
 */
const DURING = [...BASE, '--min-rounds', '40', '--rounds', '40'];

// The matrix runs `node --import tsx bench/cli/bench.ts`: tsx's launcher adds a
// 60 ms answer-or-SIGKILL relay of its own (its row is below).
describe('SIGINT and SIGTERM at each phase stop the run cleanly', () => {
  const phases: { name: string; args: string[]; line?: RegExp; after?: (b: BenchRun) => Promise<void>; expectResults: 'none' | 'empty' | 'some' | 'all' }[] = [
    { name: 'the CLI starting', args: ['--files', '32', ...SMALL], expectResults: 'none' },
    { name: 'set-up', args: ['--files', '32', ...SMALL], line: /measuring the harness overhead/, expectResults: 'empty' },
    {
      // a big shared tree takes over a second to build: the signal lands while it is built
      name: 'a workload starting',
      args: ['--scenarios', 'shared', '--files', '200000', '--tasks', '16', ...SMALL],
      line: /shared n=200000: starting the workload/,
      after: async (b) => {
        const t0 = Date.now();
        while (b.workloads().length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
        expect(b.workloads().length, 'the generator is running when the signal comes').toBeGreaterThan(0);
      },
      expectResults: 'empty',
    },
    { name: 'a measurement round', args: ['--scenarios', 'files,epoll', '--files', '64', ...DURING], line: /files: round 1 \(/, expectResults: 'some' },
    {
      name: 'the report writing',
      args: ['--scenarios', 'files', '--methods', 'procfs,kcmp-tree', '--files', '32', '--steps', '1', '--budget', '1', '--min-rounds', '2', '--replicas', '1', '--criu', 'off'],
      line: /writing the reports and charts/,
      expectResults: 'all',
    },
  ];
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    for (const p of phases) {
      it(`${sig} during ${p.name} exits ${sig === 'SIGINT' ? 130 : 143}, leaves no workload or cgroup, and keeps what was measured`, async () => {
        const b = bench(p.args, { launcher: 'node' });
        if (p.line) await b.waitForLine(p.line);
        if (p.after) await p.after(b);
        process.kill(b.pid, sig);
        const exit = await b.exited;
        // killed by the signal before any handler exists is the same outcome
        // for a shell ($? = 128 + signal), as long as nothing is left
        if (p.expectResults === 'none' && exit.code === null) expect(exit.signal).toBe(sig);
        else expect(exit.code, exit.stderr).toBe(sig === 'SIGINT' ? 130 : 143);
        expect(exit.stderr).not.toMatch(/\n\s+at /);
        expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
        const r = readResults(b.out);
        if (p.expectResults === 'none') {
          // stopped before anything was written: no results directory at all
          expect(existsSync(b.out) ? readdirSync(b.out) : []).toEqual([]);
          return;
        }
        expect(r, 'results.json kept').toBeDefined();
        expect(r!.complete).toBe(false);
        expect(r!.interrupted).toBe(sig);
        expect(exit.stdout.trim().split('\n').at(-1)).toBe(b.out);
        const ms = r!.measurements;
        if (p.expectResults === 'empty') expect(ms).toEqual([]);
        if (p.expectResults === 'some') expect(ms.length).toBeGreaterThan(0);
        if (p.expectResults === 'all') expect(ms.length).toBe(2);
        // the stop itself never shows up as a failed measurement
        for (const m of ms) expect(m.state === 'verified' || benignSkip(m), `${m.method}: ${'reason' in m ? m.reason : ''}`).toBe(true);
      });
    }
  }

  it('SIGINT to tsx (the launcher of npm run bench) during a measurement stops cleanly with exit 130', async () => {
    const b = bench(['--scenarios', 'files,epoll', '--files', '64', ...DURING]);
    await b.waitForLine(/files: round 1 \(/);
    process.kill(b.pid, 'SIGINT');
    const exit = await b.exited;
    expect(exit.code, exit.stderr).toBe(130);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    expect(r.complete).toBe(false);
    // SIGINT; SIGTERM when tsx lost patience and killed the supervisor (the
    // worker then stops as for SIGTERM): either way the data is kept
    expect(['SIGINT', 'SIGTERM']).toContain(r.interrupted);
    expect(r.measurements.length).toBeGreaterThan(0);
    for (const m of r.measurements) expect(m.state === 'verified' || benignSkip(m), m.method).toBe(true);
  });

  it('Ctrl-C (SIGINT to the whole process group, workloads included) during a measurement stops cleanly', async () => {
    const b = bench(['--scenarios', 'all', '--files', '64', ...DURING]);
    await b.waitForLine(/all: round 1 \(/);
    expect(b.workloads().length).toBeGreaterThan(0);
    killGroup(b.pid, 'SIGINT');
    const exit = await b.exited;
    expect(exit.code, exit.stderr).toBe(130);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    expect(r.interrupted).toBe('SIGINT');
    expect(r.measurements.length).toBeGreaterThanOrEqual(2);
    for (const m of r.measurements) expect(m.state === 'verified' || benignSkip(m), m.method).toBe(true);
  });
});

describe('a workload or a collector that dies is an errored measurement, and the run goes on', () => {
  it('a workload task killed during the shared scenario errors its remaining measurements; the next scenario is still verified', async () => {
    const b = bench(['--scenarios', 'shared,epoll', '--files', '64', '--tasks', '3', ...DURING]);
    await b.waitForLine(/shared: round 1 \(/);
    const tasks = b.workloads();
    expect(tasks.length).toBe(3);
    // a child task of the tree (not the root): the root's parent is the harness
    const child = tasks.find((p) => tasks.some((q) => q !== p && b.seen.has(q) && isParent(q, p)))!;
    expect(child).toBeDefined();
    process.kill(child, 'SIGKILL');
    const exit = await b.exited;
    expect(exit.code, exit.stderr).toBe(1);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    expect(r.complete).toBe(true);
    const shared = r.measurements.filter((m) => m.scenario === 'shared');
    const after = shared.filter((m) => !benignSkip(m));
    expect(after.length).toBeGreaterThan(3);
    for (const m of after) {
      expect(m.state, `${m.method}: ${'reason' in m ? m.reason : ''}`).toBe('errored');
      if (m.state === 'errored') expect(m.reason).toMatch(/died|no such process|vanished|gone|exited/i);
    }
    const epoll = r.measurements.filter((m) => m.scenario === 'epoll');
    expect(epoll.length).toBe(LANE_COUNT);
    for (const m of epoll) expect(m.state === 'verified' || benignSkip(m), `${m.method}: ${'reason' in m ? m.reason : ''}`).toBe(true);
  });

  it('every collector opened on a process that vanished returns an errored value, never verified, never a throw', async () => {
    const s = await startWorkload({ scenario: 'all', files: 64, tasks: 2 });
    expect(s.state).toBe('ready');
    if (s.state !== 'ready') return;
    const w = s.workload;
    const { manifest, pids } = w;
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await w.stop();
    const outcomes: string[] = [];
    for (const m of HOST) {
      const r = await measureOnce(m, { scenario: 'all', n: 64, manifest, pids }, 3, { samplePairs: 50_000 });
      outcomes.push(`${m.name}: ${r.state}`);
      expect(r.state, `${m.name}: ${'reason' in r ? r.reason : ''}`).not.toBe('verified');
      if (r.state === 'skipped') expect(benignSkip(r), `${m.name}: ${r.reason}`).toBe(true);
      else expect(r.state, m.name).toBe('errored');
      if (r.state === 'errored') expect(r.reason.length).toBeGreaterThan(0);
    }
    // and opening one directly says why
    const o = openMethod(METHODS.find((m) => m.name === 'procfs')!, pids);
    expect(o.state).toBe('errored');
  });
});

function isParent(parent: number, child: number): boolean {
  try {
    const s = readFileSync(`/proc/${child}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === parent;
  } catch {
    return false;
  }
}

describe('a workload that keeps changing while measured', () => {
  it('is never verified by a method that reads the changing descriptors (--no-freeze --churn)', async () => {
    const b = bench(['--scenarios', 'files,epoll', '--files', '64', '--no-freeze', '--churn', ...SMALL]);
    const exit = await b.exited;
    expect(exit.code, exit.stderr).toBe(1);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    expect(r.environment.freezer).toMatch(/none/);
    let caught = 0;
    for (const m of r.measurements) {
      const c = coverageOf(m.method);
      const seesFds = c.fd.level !== 'none' && m.family !== 'floor';
      if (!seesFds) continue;
      expect(m.state, `${m.scenario} ${m.method}`).toBe('wrong');
      if (m.state === 'wrong') {
        expect(m.coverage?.fd).toBe('wrong');
        expect('stats' in m).toBe(false);
        caught++;
      }
    }
    expect(caught).toBeGreaterThanOrEqual(6);
  });
});

describe('missing privileges or features skip the affected lanes with the reason', () => {
  it('as an unprivileged user the BPF lanes are skipped (needs privilege), procfs and kcmp verify, exit 3', async () => {
    const b = bench(['--scenarios', 'files,epoll', '--files', '32', ...SMALL], { uid: NOBODY });
    const exit = await b.exited;
    expect(exit.code, exit.stderr).toBe(3);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    expect(r.complete).toBe(true);
    expect(r.environment.freezer).toBe('sigstop');
    expect(statSync(path.join(b.out, 'results.json')).uid).toBe(NOBODY);
    for (const m of r.measurements) {
      const where = `${m.scenario} ${m.method}: ${'reason' in m ? m.reason : ''}`;
      if (benignSkip(m)) continue;
      if (m.family === 'procfs' || m.family === 'kcmp') expect(m.state, where).toBe('verified');
      else if (m.family === 'bpf') expect(m.state, where).toBe('skipped');
      // floors: the procfs floor runs, the BPF floors need privilege
      if (m.state !== 'verified') expect(m.state === 'skipped' && /needs privilege/.test(m.reason), where).toBe(true);
    }
    expect(r.measurements.filter((m) => m.state === 'verified' && m.family === 'kcmp').length).toBeGreaterThanOrEqual(3);
    expect(r.measurements.filter((m) => m.family === 'bpf' && !benignSkip(m)).length).toBeGreaterThanOrEqual(3);
  });

  it('with an unusable BTF file (--btf) the BPF lanes are skipped with a reason naming BTF, the rest verifies', async () => {
    const dir = scratch();
    const btf = path.join(dir, 'empty.btf');
    writeFileSync(btf, '');
    const b = bench(['--scenarios', 'epoll', '--files', '32', '--btf', btf, ...SMALL]);
    const exit = await b.exited;
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    expect(r.complete).toBe(true);
    for (const m of r.measurements) {
      const where = `${m.method}: ${'reason' in m ? m.reason : ''}`;
      if (benignSkip(m)) continue;
      if (m.family === 'procfs' || m.family === 'kcmp') expect(m.state, where).toBe('verified');
      else if (m.family === 'bpf') expect(m.state, where).toBe('skipped');
      if (m.state !== 'verified') expect(m.state === 'skipped' && /BTF/.test(m.reason), where).toBe(true);
    }
    expect(exit.code, exit.stderr).toBe(3);
  });

  it('a generator that finds io_uring disabled (exit 77) skips that scenario with its reason; the others verify; exit 3', async () => {
    const dir = scratch();
    const fake = path.join(dir, 'fake-generator');
    writeFileSync(
      fake,
      `#!/bin/sh
# io_uring scenarios fail as on kernel.io_uring_disabled=2; everything else is the real generator
case " $* " in *" --check "*) exec ${GENERATOR} "$@";; esac
case "$1" in io_uring|all) echo "iterbench-workload: io_uring unavailable: io_uring_setup: Operation not permitted (kernel.io_uring_disabled?)" >&2; exit 77;; esac
exec ${GENERATOR} "$@"
`,
    );
    chmodSync(fake, 0o755);
    const b = bench(['--scenarios', 'files,io_uring', '--files', '32', ...SMALL], { env: { ITERBENCH_WORKLOAD: fake } });
    const exit = await b.exited;
    expect(exit.code, exit.stderr).toBe(3);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    const uring = r.measurements.filter((m) => m.scenario === 'io_uring');
    expect(uring.length).toBe(LANE_COUNT);
    for (const m of uring) {
      expect(m.state, m.method).toBe('skipped');
      if (m.state === 'skipped') expect(m.reason).toMatch(/^workload: io_uring unavailable/);
    }
    for (const m of r.measurements.filter((x) => x.scenario === 'files')) expect(m.state === 'verified' || benignSkip(m), m.method).toBe(true);
  });
});

describe.concurrent('bad invocations exit 2 with one line naming the problem, and create nothing', () => {
  const fileInTheWay = path.join(scratch(), 'a-file');
  writeFileSync(fileInTheWay, 'not a directory\n');
  const notEmpty = scratch();
  writeFileSync(path.join(notEmpty, 'notes.txt'), 'mine\n');
  const rootOnly = scratch(); // 0700 root: nobody cannot write under it
  const OUT = '@OUT'; // replaced by a fresh path that must not exist afterwards
  const rows: { who: 'bench' | 'inspect' | 'generator'; args: string[]; re: RegExp; uid?: number }[] = [
    { who: 'bench', args: ['--bogus'], re: /unknown option '--bogus'/ },
    { who: 'bench', args: ['--files', '0'], re: /--files must be at least 1, not 0/ },
    { who: 'bench', args: ['--files', '-5'], re: /--files must be at least 1, not -5/ },
    { who: 'bench', args: ['--files', 'many'], re: /--files takes a whole number, not 'many'/ },
    { who: 'bench', args: ['--files', '2.5'], re: /--files takes a whole number/ },
    { who: 'bench', args: ['--files'], re: /--files needs a value/ },
    { who: 'bench', args: ['--sizes', '10,-3'], re: /--sizes takes whole numbers .* not '-3'/ },
    { who: 'bench', args: ['--budget', '0'], re: /--budget must be at least 1/ },
    { who: 'bench', args: ['--budget', 'NaN'], re: /--budget takes a number/ },
    { who: 'bench', args: ['--scenarios', 'nope'], re: /--scenarios: unknown value 'nope'/ },
    { who: 'bench', args: ['--methods', 'bpf,nope'], re: /--methods: unknown value 'nope'/ },
    { who: 'bench', args: ['--files', '64', '--sizes', '10'], re: /exclusive/ },
    { who: 'bench', args: ['stray'], re: /unexpected argument 'stray'/ },
    { who: 'bench', args: ['--scenarios', 'files', '--sizes', '25000,30000'], re: /scenario files, N=25000: .*does not fit RLIMIT_NOFILE/ },
    { who: 'bench', args: ['--scenarios', 'epoll,io_uring', '--sizes', '25000'], re: /N=25000: .*RLIMIT_NOFILE/ },
    { who: 'bench', args: ['--buffers', '20000'], re: /--buffers must be at most 16384/ },
    { who: 'bench', args: ['--btf', '/nonexistent/vmlinux'], re: /--btf: no such file/ },
    { who: 'bench', args: ['--files', '16', '--out', fileInTheWay], re: /cannot write the output directory .*(ENOTDIR|EEXIST)/ },
    { who: 'bench', args: ['--files', '16', '--out', path.join(fileInTheWay, 'sub')], re: /cannot write the output directory .*ENOTDIR/ },
    { who: 'bench', args: ['--files', '16', '--out', '/proc/iterbench-results'], re: /cannot write the output directory \/proc\/iterbench-results/ },
    { who: 'bench', args: ['--files', '16', '--out', notEmpty], re: /non-empty directory without results.json/ },
    { who: 'bench', args: ['--scenarios', 'files', '--files', '16', '--out', path.join(rootOnly, 'sub')], re: /cannot write the output directory .*EACCES/, uid: NOBODY },
    { who: 'inspect', args: [], re: /--pid is required/ },
    { who: 'inspect', args: ['--pid', '99999999'], re: /--pid 99999999: no such process/ },
    { who: 'inspect', args: ['--pid', '1'], re: /--pid 1 is init: pass --allow-pid-1/ },
    { who: 'inspect', args: ['--pid', 'abc'], re: /--pid takes process ids, not 'abc'/ },
    { who: 'inspect', args: ['--pid', '-3'], re: /--pid takes process ids, not '-3'/ },
    { who: 'inspect', args: ['--pid', String(process.pid), '--method', 'nope'], re: /--method: unknown method 'nope'/ },
    { who: 'generator', args: [], re: /missing scenario/ },
    { who: 'generator', args: ['nope', '--manifest', OUT], re: /unknown scenario 'nope'/ },
    { who: 'generator', args: ['files', '--manifest', OUT, '--files', '0'], re: /--files must be at least 1/ },
    { who: 'generator', args: ['files', '--manifest', OUT, '--files', '-4'], re: /--files: not a number: '-4'/ },
    { who: 'generator', args: ['files', '--manifest', OUT, '--files', '50000'], re: /does not fit RLIMIT_NOFILE .* largest N that fits is \d+/ },
    { who: 'generator', args: ['files', '--check', '--files', '50000'], re: /does not fit RLIMIT_NOFILE/ },
    { who: 'generator', args: ['io_uring', '--manifest', OUT, '--buffers', '20000'], re: /registered buffers requested, io_uring takes at most 16384/ },
    { who: 'generator', args: ['files', '--manifest', '/nonexistent-dir/m.json', '--files', '10'], re: /cannot write the manifest \/nonexistent-dir\/m.json/ },
  ];
  it('has at least 20 rows', () => expect(rows.length).toBeGreaterThanOrEqual(20));
  for (const row of rows) {
    it(`${row.who} ${row.args.join(' ') || '(no arguments)'}${row.uid ? ' as nobody' : ''}`, async () => {
      const dir = scratch(row.uid);
      const out = path.join(dir, 'never');
      const args = row.args.map((a) => (a === OUT ? out : a));
      const [cmd, argv] =
        row.who === 'generator' ? [GENERATOR, args]
        : row.who === 'inspect' ? [TSX, [INSPECT, ...args]]
        : [TSX, [CLI, ...args, ...(args.includes('--out') ? [] : ['--out', out])]];
      const r = await runOnce(cmd, argv, { uid: row.uid, dir });
      const prefix = row.who === 'generator' ? 'iterbench-workload' : row.who;
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${prefix}: `));
      expect(lines[0]).toMatch(row.re);
      expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+/);
      expect(existsSync(out), 'nothing written').toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith('iterbench-'))).toEqual([]);
      expect(workloadProcesses(dir)).toEqual([]);
    });
  }
});

describe('sizes a scenario cannot hold', () => {
  it('are skipped with the reason while the sizes that fit are measured (not a whole-run refusal)', async () => {
    const b = bench(['--scenarios', 'files', '--sizes', '64,30000', '--methods', 'bpf-task-file,floor-empty-iter', '--budget', '1', '--min-rounds', '2', '--replicas', '1', '--no-charts', '--criu', 'off']);
    const e = await b.exited;
    expect(e.code, e.stderr).toBe(0);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    const r = readResults(b.out)!;
    const big = r.measurements.filter((m) => m.n === 30000);
    expect(big.map((m) => m.method).sort()).toEqual(['bpf-task-file', 'floor-empty-iter']);
    for (const m of big) {
      expect(m.state).toBe('skipped');
      if (m.state === 'skipped') {
        expect(m.skip).toBe('too-large');
        expect(m.reason).toMatch(/RLIMIT_NOFILE/);
      }
    }
    expect(r.measurements.filter((m) => m.n === 64).every((m) => m.state === 'verified')).toBe(true);
    expect(readFileSync(path.join(b.out, 'summary.txt'), 'utf8')).toMatch(/N = 64/);
  });
});

describe('two bench runs at once', () => {
  it('do not disturb each other: both complete and verify, in separate cgroups and output directories, leaving nothing', async () => {
    const args = ['--scenarios', 'files,all', '--files', '64', '--methods', 'procfs,kcmp-tree,bpf-all,bpf-task-file', '--steps', '1', '--budget', '1', '--min-rounds', '3', '--replicas', '1', '--no-charts', '--criu', 'off'];
    const a = bench(args);
    const b = bench(args);
    const groups = { a: new Set<string>(), b: new Set<string>() };
    const watch = setInterval(() => {
      for (const g of cgroupsOf(a.seen)) groups.a.add(path.basename(g));
      for (const g of cgroupsOf(b.seen)) groups.b.add(path.basename(g));
    }, 10);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    clearInterval(watch);
    expect(ea.code, ea.stderr).toBe(0);
    expect(eb.code, eb.stderr).toBe(0);
    expect(await settledLeftovers(a)).toEqual(NOTHING_LEFT);
    expect(await settledLeftovers(b)).toEqual(NOTHING_LEFT);
    for (const [run, e] of [[a, ea], [b, eb]] as const) {
      const r = readResults(run.out)!;
      expect(r.complete).toBe(true);
      expect(r.environment.freezer).toMatch(/cgroup/);
      expect(r.measurements.length).toBe(2 * 4);
      for (const m of r.measurements) expect(m.state, `${m.scenario} ${m.method}: ${'reason' in m ? m.reason : ''}`).toBe('verified');
      expect(e.stdout.trim().split('\n').at(-1)).toBe(run.out);
    }
    expect(a.out).not.toBe(b.out);
    // each froze its own workloads in its own cgroups
    if (groups.a.size && groups.b.size) expect([...groups.a].filter((g) => groups.b.has(g))).toEqual([]);
    expect(groups.a.size + groups.b.size).toBeGreaterThan(0);
  });
});

