/**
 * Scale (issue 14): process trees of many tasks and the task dimension.
 *
 * - the three BPF ways to reach many tasks' files (one pid-filtered link per
 *   task, one pass over every task of the system, one cgroup walk) recover
 *   the same verified answer from a real frozen fork tree; the cgroup walk
 *   reads again from where it stopped when its ring buffer fills; the system
 *   pass walks unrelated tasks too;
 * - the task analysis (time vs K, cost per task, crossovers) on seeded
 *   synthetic sweeps, its summary block, CSV columns, charts and gate;
 * - --tasks-sweep and --idle-tasks on the command line, end to end.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analysis/analyze.js';
import { compareRuns } from '../analysis/gate.js';
import { crossingK, roundLinearSlopes } from '../analysis/tasks.js';
import { perTaskChart, taskTimeChart } from '../analysis/report/charts.js';
import { toCsv, ratiosToCsv } from '../analysis/report/csv.js';
import { formatSummary, formatTable } from '../analysis/report/summary.js';
import { decodeRecords, type RecFd } from '../bench/decode.js';
import { listDescriptors } from '../bench/descriptors.js';
import { startIdleTasks } from '../bench/idle.js';
import { descriptorLimit } from '../bench/measure.js';
import { descriptorsTight } from '../bench/run.js';
import { openMethod, REPO_ROOT } from '../bench/native.js';
import type { ResultsFile } from '../bench/schema.js';
import { verify } from '../bench/verify/index.js';
import { startWorkload, type Workload } from '../bench/workload.js';
import { measureOnce } from './support/measure-once.js';
import { buildTaskSweep } from './support/tasks-fixture.js';

const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
const CLI = path.join(REPO_ROOT, 'bench/cli/bench.ts');
const method = (name: string) => {
  const m = listDescriptors().find((x) => x.name === name);
  if (!m) throw new Error(`no method ${name}`);
  return m;
};

const STRATEGIES = ['bpf-task-file', 'bpf-task-file-sys', 'bpf-cgroup-fds'];
const FLOORS = ['floor-empty-iter', 'floor-sys-iter', 'floor-cgroup-walk'];

/** an answer's descriptors without the per-load identity keys, and its identity partition */
function shape(buf: ArrayBuffer): { fds: string[]; classes: string[] } {
  const rec = decodeRecords(buf);
  const line = (f: RecFd) => `${f.pid}/${f.fd} ${f.kind} ${f.dev} ${f.ino} ${f.pos} ${f.flags}`;
  const byKey = new Map<string, string[]>();
  for (const f of rec.fds) {
    const k = f.id.how === 'key' ? f.id.key : `none:${line(f)}`;
    byKey.set(k, [...(byKey.get(k) ?? []), `${f.pid}/${f.fd}`]);
  }
  return { fds: rec.fds.map(line).sort(), classes: [...byKey.values()].map((c) => c.sort().join(',')).sort() };
}

describe('many tasks: the BPF strategies on a frozen fork tree', () => {
  let w: Workload;
  beforeAll(async () => {
    const s = await startWorkload({ scenario: 'tree', files: 600, tasks: 40 });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    w = s.workload;
    await w.freeze();
  }, 60_000);
  afterAll(async () => {
    await w?.thaw();
    await w?.stop();
  });

  for (const name of [...STRATEGIES, ...FLOORS]) {
    it(`${name} is verified against the tree's ground truth`, async () => {
      const m = await measureOnce(method(name), { scenario: 'tree', n: 600, manifest: w.manifest, pids: w.pids, alive: () => w.alive() });
      expect(m.state, m.state === 'verified' ? '' : m.reason).toBe('verified');
    });
  }

  it('a per-task-link method the harness has no descriptors left for is skipped too-large, not errored', async () => {
    // this process's soft limit lowered (prlimit on our own pid) to leave
    // fewer descriptors than one link per task of the 40-task tree needs
    const held = readdirSync('/proc/self/fd').length;
    const before = readFileSync('/proc/self/limits', 'utf8');
    const hard = /^Max open files\s+\d+\s+(\d+)/m.exec(before)![1]!;
    const soft = descriptorLimit()!;
    await execa('prlimit', ['--pid', String(process.pid), `--nofile=${held + 20}:${hard}`]);
    let m;
    try {
      m = await measureOnce(method('bpf-task-file'), { scenario: 'tree', n: 600, manifest: w.manifest, pids: w.pids, alive: () => w.alive() });
    } finally {
      await execa('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard}`]);
    }
    expect(descriptorLimit()).toBe(soft);
    expect(m.state, m.state === 'verified' ? '' : m.reason).toBe('skipped');
    if (m.state === 'skipped') {
      expect(m.skip).toBe('too-large');
      expect(m.reason).toMatch(/RLIMIT_NOFILE/);
    }
    // and with its descriptors back, the same method opens and verifies
    const again = await measureOnce(method('bpf-task-file'), { scenario: 'tree', n: 600, manifest: w.manifest, pids: w.pids, alive: () => w.alive() });
    expect(again.state).toBe('verified');
  });

  it('gives the same descriptors and the same sharing whichever way it reaches the tasks', () => {
    const shapes = STRATEGIES.map((name) => {
      const o = openMethod(method(name), w.pids);
      if (o.state !== 'open') throw new Error(`${name}: ${o.state}: ${o.reason}`);
      try {
        const r = o.collector.collect();
        if (!r.ok) throw new Error(`${name}: ${r.error}`);
        return shape(r.out.buffer);
      } finally {
        o.collector.close();
      }
    });
    expect(shapes[0]!.fds.length).toBe(w.manifest.tasks.reduce((a, t) => a + t.fds.length, 0));
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
  });

  it('reads the cgroup again from where it stopped when its ring buffer fills, and the answer is whole', () => {
    const small = openMethod(method('bpf-cgroup-fds'), w.pids, { ringbufBytes: 32 << 10 });
    const big = openMethod(method('bpf-cgroup-fds'), w.pids);
    if (small.state !== 'open' || big.state !== 'open') throw new Error('open failed');
    try {
      const a = small.collector.collect();
      const b = big.collector.collect();
      if (!a.ok || !b.ok) throw new Error('collect failed');
      const fds = w.manifest.tasks.reduce((x, t) => x + t.fds.length, 0);
      // 72-byte records in 16 KiB chunks: a 32 KiB ring holds one chunk per pass
      expect(fds * 72).toBeGreaterThan(3 * (16 << 10));
      expect(b.out.calls).toBe(fds);
      expect(a.out.calls).toBeGreaterThan(fds); // passes after the first visit the stopped chunk again
      expect(shape(a.out.buffer)).toEqual(shape(b.out.buffer));
      expect(verify(w.manifest, decodeRecords(a.out.buffer), method('bpf-cgroup-fds')).ok).toBe(true);
    } finally {
      small.collector.close();
      big.collector.close();
    }
  });

  it('shares one record buffer between methods, and refuses an answer another collect has replaced', () => {
    const a = openMethod(method('bpf-task-file'), w.pids);
    const b = openMethod(method('bpf-cgroup-fds'), w.pids);
    if (a.state !== 'open' || b.state !== 'open') throw new Error('open failed');
    try {
      expect(a.collector.collectRaw()).toBeGreaterThan(0);
      const da = a.collector.digest();
      expect(b.collector.collectRaw()).toBeGreaterThan(0);
      expect(() => a.collector.result()).toThrow(/replaced by another handle's collect/);
      expect(() => a.collector.digest()).toThrow(/replaced by another handle's collect/);
      expect(a.collector.collectRaw()).toBeGreaterThan(0);
      expect(a.collector.digest()).toBe(da);
      expect(shape(a.collector.result().buffer).fds).toHaveLength(w.manifest.tasks.reduce((x, t) => x + t.fds.length, 0));
    } finally {
      a.collector.close();
      b.collector.close();
    }
  });

  it('fails loudly when the ring buffer cannot hold one chunk', () => {
    const o = openMethod(method('bpf-cgroup-fds'), w.pids, { ringbufBytes: 4096 });
    if (o.state !== 'open') throw new Error(`open: ${o.state}`);
    try {
      const r = o.collector.collect();
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/ring buffer of 4096 bytes cannot hold one chunk/);
    } finally {
      o.collector.close();
    }
  });

  it('refuses targets in several cgroups: one cgroup walk cannot reach them all', () => {
    // the tree is frozen in a cgroup of its own; this process is not in it
    const o = openMethod(method('bpf-cgroup-fds'), [...w.pids, process.pid]);
    if (o.state === 'open') o.collector.close();
    expect(o.state).toBe('errored');
    if (o.state === 'errored') expect(o.reason).toMatch(/targets are in several cgroups/);
  });

  it('walks the unrelated tasks of the machine in a whole-system pass, and keeps only the targets', async () => {
    const idle = await startIdleTasks(64, 2);
    try {
      const fds = w.manifest.tasks.reduce((x, t) => x + t.fds.length, 0);
      for (const name of ['floor-sys-iter', 'bpf-task-file-sys']) {
        const o = openMethod(method(name), w.pids);
        if (o.state !== 'open') throw new Error(`${name}: ${o.state}`);
        try {
          const r = o.collector.collect();
          if (!r.ok) throw new Error(`${name}: ${r.error}`);
          // every file of the system is a program run: the tree's, and 5 of each idle task's at least
          expect(r.out.calls, name).toBeGreaterThanOrEqual(fds + 64 * 5);
          if (name === 'bpf-task-file-sys') {
            const rec = decodeRecords(r.out.buffer);
            expect(rec.fds.length).toBe(fds);
            expect(rec.fds.some((f) => idle.pids.includes(f.pid))).toBe(false);
          }
        } finally {
          o.collector.close();
        }
      }
    } finally {
      await idle.stop();
    }
  });
});

describe("the harness's descriptor budget", () => {
  it('says when this process holds more than half the descriptors it may (optional units are not opened then)', () => {
    const limit = descriptorLimit()!;
    expect(limit).toBeGreaterThan(0);
    expect(descriptorsTight()).toBe(false);
    const held: number[] = [];
    try {
      const want = Math.ceil(limit / 2) + 1 - readdirSync('/proc/self/fd').length;
      for (let i = 0; i < want; i++) held.push(openSync('/dev/null', 'r'));
      expect(descriptorsTight()).toBe(true);
    } finally {
      for (const fd of held) closeSync(fd);
    }
    expect(descriptorsTight()).toBe(false);
  });
});

describe('iterbench-idle', () => {
  it('starts M processes holding 0, 1, 2 and F more descriptors, and none is left after stop', async () => {
    const idle = await startIdleTasks(5, 3);
    let pids: number[] = [];
    try {
      pids = idle.pids;
      expect(pids).toHaveLength(5);
      for (const p of pids) expect(readdirSync(`/proc/${p}/fd`).length).toBe(6);
    } finally {
      await idle.stop();
    }
    for (const p of pids) expect(existsSync(`/proc/${p}/stat`) && !/\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'))).toBe(false);
  });
});

describe('the task analysis on seeded sweeps', () => {
  const r = buildTaskSweep();
  const an = analyze(r, { iterations: 400 });

  it('keeps the figures over N at the largest K, and gives every K its own time', () => {
    expect(new Set(an.times.map((t) => t.n))).toEqual(new Set([20000]));
    expect(an.times.find((t) => t.method === 'bpf-task-file')!.medianNs).toBeCloseTo(400 * 20000 + 15_000 * 2000, -6);
    const ks = an.tasks.times.filter((t) => t.method === 'bpf-task-file').map((t) => t.k);
    expect(ks).toEqual([2, 20, 200, 2000]);
  });

  it('recovers the cost of one more task by least squares per round, with a CI around it', () => {
    const pt = an.tasks.perTask.find((p) => p.method === 'bpf-task-file')!;
    expect(pt.nsPerTask).toBeGreaterThan(14_000);
    expect(pt.nsPerTask).toBeLessThan(16_000);
    expect(pt.ciLow).toBeLessThanOrEqual(15_000 * 1.02);
    expect(pt.ciHigh).toBeGreaterThanOrEqual(15_000 * 0.98);
    const sys = an.tasks.perTask.find((p) => p.method === 'bpf-task-file-sys')!;
    expect(Math.abs(sys.nsPerTask)).toBeLessThan(2_000); // a constant: no cost per task beyond noise
  });

  it('fits the growth in K: near 0 for a pass whose cost does not depend on K, higher for one link per task', () => {
    const sl = (m: string) => an.tasks.slopes.find((s) => s.method === m)!.slope;
    expect(Math.abs(sl('bpf-task-file-sys'))).toBeLessThan(0.05);
    // 8 ms + 15 us per task: 0.2 over K = 2..2000 on log-log axes
    expect(sl('bpf-task-file')).toBeGreaterThan(0.15);
    expect(sl('bpf-task-file')).toBeLessThan(sl('floor-empty-iter') + 0.2);
  });

  it('finds where the whole-system pass overtakes one link per task, and a strategy faster at every K', () => {
    const sys = an.tasks.crossovers.find((c) => c.method === 'bpf-task-file-sys' && c.reference === 'bpf-task-file')!;
    expect(sys.verdict).toBe('crosses');
    // 8 ms + 15 us K = 20 ms at K = 800; log-log interpolation between K = 200 and 2000
    expect(sys.crossK!).toBeGreaterThan(500);
    expect(sys.crossK!).toBeLessThan(900);
    const cg = an.tasks.crossovers.find((c) => c.method === 'bpf-cgroup-fds' && c.reference === 'bpf-task-file')!;
    expect(cg.verdict).toBe('faster');
    expect(crossingK([1, 10], [0.5, 2])).toBeCloseTo(Math.sqrt(10), 6);
    expect(crossingK([1, 10], [2, 3])).toBeUndefined();
  });

  it('fits a line per round through the points measured in that round', () => {
    const samples = (ys: number[]) => ({ ns: ys, round: ys.map((_, i) => i), atMs: ys.map(() => 0) });
    const s = roundLinearSlopes([
      { x: 1, samples: samples([10, 20]) },
      { x: 3, samples: samples([30, 20]) },
    ]);
    expect(s).toEqual({ rounds: [0, 1], values: [10, 0] });
  });

  it('prints a task block within 72 columns: time at each K, growth, cost per task, the crossovers', () => {
    const text = formatSummary(r, an);
    for (const l of text.split('\n')) expect(l.length, l).toBeLessThanOrEqual(72);
    expect(text).toMatch(/task sweep, scenario tree: N = 20000, K = 2, 20, 200, 2000 tasks/);
    expect(text).toMatch(/^method\s+K=2\s+K=20\s+K=200\s+K=2000 growth\s+per task$/m);
    expect(text).toMatch(/^bpf-task-file\s+\S+ ms .* 15\.\d us$/m);
    const flat = text.replace(/\s+/g, ' ');
    expect(flat).toMatch(/bpf-task-file-sys vs bpf-task-file: 0\.\d+x at K=2 to 1\.\d+x at K=2000; overtakes at K~\d+/);
    expect(flat).toMatch(/bpf-cgroup-fds vs bpf-task-file: [\d.]+x at K=2 to [\d.]+x at K=2000; faster at every K/);
    expect(text).toMatch(/memory: harness peak RSS 410 MiB/);
    // a method whose descriptor says it walks every task of the machine
    expect(flat).toMatch(/bpf-task-file-sys: walk every task of the machine \(the harness and the other 4 workload instances alive during the rounds\): their time follows what the machine runs, not N or K/);
    // the main table is the largest K's
    expect(text).toMatch(/scenario tree: N = 20000, 26000 fds in 2000 tasks/);
    expect(formatTable(r, an)).toMatch(/task sweep/);
  });

  it('shows at most four K in the table and says where the others are', () => {
    const wide = buildTaskSweep({ ks: [2, 5, 20, 50, 200, 500, 2000], rounds: 4, replicas: 1 });
    const text = formatSummary(wide, analyze(wide, { iterations: 100 }));
    expect(text).toMatch(/K=2 +K=20 +K=200 +K=2000 growth/);
    expect(text).toMatch(/every K in results\.csv/);
    for (const l of text.split('\n')) expect(l.length, l).toBeLessThanOrEqual(72);
  });

  it('writes K into results.csv and every K\'s paired ratios into ratios.csv', () => {
    const csv = toCsv(r).trim().split('\n');
    expect(csv[0]!.split(',').at(-1)).toBe('k');
    expect(new Set(csv.slice(1).map((l) => l.split(',').at(-1)))).toEqual(new Set(['2', '20', '200', '2000']));
    const ratios = ratiosToCsv(an.ratios, an.tasks.ratios).trim().split('\n');
    expect(ratios.filter((l) => l.startsWith('tree,20000,speedup,bpf-cgroup-fds,bpf-task-file,') && /,(2|20|200|2000)$/.test(l))).toHaveLength(4);
  });

  it('charts time vs K per method and the cost per task per method', () => {
    const c = taskTimeChart(r, 'tree', 20000, an)!;
    expect(c.data.datasets.map((d) => d.label)).toEqual(expect.arrayContaining(['bpf-task-file', 'bpf-cgroup-fds', 'floor: floor-empty-iter (reference)']));
    expect((c.data.datasets[0]!.data as { x: number }[]).map((p) => p.x)).toEqual([2, 20, 200, 2000]);
    const p = perTaskChart(r, an)!;
    expect(p.data.labels).toEqual(expect.arrayContaining(['procfs', 'bpf-task-file', 'bpf-cgroup-fds']));
    expect(taskTimeChart(buildTaskSweep({ rounds: 2 }), 'tree', 999)).toBeUndefined();
  });

  it('passes the gate on a rerun of the same machine and catches a lane that got slower at large K', () => {
    const again = buildTaskSweep({ seed: 12 });
    expect(compareRuns(r, again, { iterations: 300 }).outcome).toBe('pass');
    const slow = buildTaskSweep({ seed: 13, slow: { 'bpf-cgroup-fds': { factor: 2, fromK: 200 } } });
    const rep = compareRuns(r, slow, { iterations: 300 });
    expect(rep.outcome).toBe('regression');
    const bad = rep.checks.filter((c) => c.verdict === 'regression');
    expect(new Set(bad.map((c) => c.method))).toEqual(new Set(['bpf-cgroup-fds']));
    expect(bad.some((c) => c.k === 2000)).toBe(true);
  });
});

describe('bench --tasks-sweep and --idle-tasks', () => {
  const bad: [string[], RegExp][] = [
    [['--tasks-sweep', '20'], /needs at least two values of K/],
    [['--tasks-sweep', '2,x'], /--tasks-sweep takes whole numbers/],
    [['--tasks', '3', '--tasks-sweep', '2,4'], /--tasks and --tasks-sweep are exclusive/],
    [['--scenarios', 'files', '--tasks-sweep', '2,4'], /scenario files holds its descriptors in a fixed number of tasks/],
    [['--files', '100', '--tasks-sweep', '9000,9001'], /K=9000: --tasks must be at most 8192/],
    [['--idle-tasks', '-1'], /--idle-tasks must be at least 0/],
  ];
  for (const [args, re] of bad) {
    it(`refuses ${args.join(' ')} with one line and exit 2`, async () => {
      const out = path.join(mkdtempSync(path.join(tmpdir(), 'iterbench-scale-')), 'never');
      const r = await execa(TSX, [CLI, ...args, '--out', out], { cwd: REPO_ROOT, reject: false, timeout: 60_000 });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(existsSync(out)).toBe(false);
    });
  }

  describe('a small sweep end to end', () => {
    let results: ResultsFile;
    let summary: string;
    let exitCode: number | undefined;
    beforeAll(async () => {
      const dir = path.join(mkdtempSync(path.join(tmpdir(), 'iterbench-scale-')), 'run');
      const r = await execa(
        TSX,
        [CLI, '--files', '120', '--tasks-sweep', '2,6,24', '--idle-tasks', '16', '--methods', 'procfs,bpf-task-file,bpf-task-file-sys,bpf-cgroup-fds', '--budget', '4', '--min-rounds', '3', '--replicas', '1', '--criu', 'off', '--no-charts', '--out', dir],
        { cwd: REPO_ROOT, reject: false, timeout: 240_000 },
      );
      exitCode = r.exitCode;
      if (!existsSync(path.join(dir, 'results.json'))) throw new Error(`no results.json: ${r.stderr}`);
      results = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
      summary = readFileSync(path.join(dir, 'summary.txt'), 'utf8');
    }, 250_000);

    it('starts tree once per K at --files, all in the same rounds, and verifies every method at every K', () => {
      expect(exitCode).toBe(0);
      expect(results.config.tasksSweep).toEqual([2, 6, 24]);
      expect(results.config.idleTasks).toBe(16);
      expect(results.config.sizes).toEqual([120]);
      expect(results.instances.map((i) => [i.scenario, i.n, i.k, i.tasks])).toEqual([
        ['tree', 120, 2, 2],
        ['tree', 120, 6, 6],
        ['tree', 120, 24, 24],
      ]);
      for (const r of results.rounds) expect(new Set(r.order.map((k) => results.instances[Number(k.split(':')[0])]!.k))).toEqual(new Set([2, 6, 24]));
      for (const m of results.measurements) expect(m.state, `${m.method} K=${m.k}`).toBe('verified');
      expect(results.measurements.map((m) => m.k).sort((a, b) => a! - b!)).toEqual([2, 2, 2, 2, 6, 6, 6, 6, 24, 24, 24, 24]);
      expect(results.harnessPeakRssKiB).toBeGreaterThan(0);
      for (const i of results.instances) expect(i.rssKiB).toBeGreaterThan(0);
    });

    it('says so in the summary: the task block and the idle processes', () => {
      expect(summary).toMatch(/task sweep, scenario tree: N = 120, K = 2, 6, 24 tasks/);
      expect(summary).toMatch(/16 unrelated idle processes ran during the run/);
    });
  });
});
