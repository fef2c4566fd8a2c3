/**
 * npm run inspect on a live process the user names: every method's view, the
 * disagreements, and the promise that the target is left as it was; with
 * --manifest, every method verified against it (true, doctored, bad).
 */
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../bench/native.js';
import { startWorkload, type Workload } from '../bench/workload.js';

const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
const INSPECT = path.join(REPO_ROOT, 'bench/cli/inspect.ts');

function procState(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
}

describe('npm run inspect on a live workload', () => {
  let w: Workload;
  beforeAll(async () => {
    const s = await startWorkload({ scenario: 'all', files: 40, tasks: 2, buffers: 4 });
    if (s.state !== 'ready') throw new Error(`${s.state}: ${s.reason}`);
    w = s.workload;
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('shows what each method recovers, as JSON, matching the workload', async () => {
    const r = await execa(TSX, [INSPECT, '--pid', w.pids.join(','), '--json', '--freeze'], { cwd: REPO_ROOT });
    const out = JSON.parse(r.stdout) as {
      methods: { method: string; state: string; counts?: Record<string, number>; recovered?: { fds: { pid: number; fd: number }[] } }[];
      disagreements: string[];
    };
    const by = new Map(out.methods.map((m) => [m.method, m]));
    const fds = w.manifest.tasks.reduce((a, t) => a + t.fds.length, 0);
    const items = w.manifest.epoll.reduce((a, e) => a + e.items.length, 0);
    expect(by.get('procfs')?.counts?.fds).toBe(fds);
    expect(by.get('bpf-all')?.counts?.fds).toBe(fds);
    expect(by.get('bpf-all')?.counts?.epollItems).toBe(items);
    expect(by.get('kcmp-tree')?.counts?.fds).toBe(fds);
    expect(out.methods.filter((m) => m.state === 'errored')).toEqual([]);
    // Methods that claim full coverage of a kind agree on it.
    expect(out.disagreements).toEqual([]);
  });

  it('prints a readable report and leaves the target running after --freeze', async () => {
    const r = await execa(TSX, [INSPECT, '--pid', String(w.rootPid), '--method', 'procfs,bpf-all', '--freeze', '--limit', '3'], { cwd: REPO_ROOT });
    expect(r.stdout).toMatch(/== procfs \(procfs\): fds \d+/);
    expect(r.stdout).toMatch(/== bpf-all \(bpf\)/);
    expect(r.stdout).toMatch(/epoll items:/);
    expect(r.stdout).toMatch(/io_uring buffers:/);
    for (const pid of w.pids) expect(['S', 'R']).toContain(procState(pid));
    expect(w.alive()).toBe(true);
  });

  it('never freezes the target unless asked', async () => {
    const child = execa(TSX, [INSPECT, '--pid', String(w.rootPid), '--method', 'kcmp-tree', '--json'], { cwd: REPO_ROOT });
    let done = false;
    void child.finally(() => {
      done = true;
    });
    const states = new Set<string>();
    while (!done) {
      states.add(procState(w.rootPid));
      await new Promise((r) => setTimeout(r, 2));
    }
    await child;
    expect(states.has('T')).toBe(false);
    expect(states.has('D')).toBe(false);
  });
});

describe('npm run inspect --manifest: every method verified against a manifest the user wrote', () => {
  let w: Workload;
  let dir: string;
  const file = (name: string, m: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof m === 'string' ? m : JSON.stringify(m));
    return p;
  };
  const run = (args: string[]) => execa(TSX, [INSPECT, ...args], { cwd: REPO_ROOT, reject: false });
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'iterbench-inspect-'));
    const s = await startWorkload({ scenario: 'threads', files: 24 });
    if (s.state !== 'ready') throw new Error(`${s.state}: ${s.reason}`);
    w = s.workload;
  });
  afterAll(async () => {
    await w?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  interface Out {
    ok: boolean;
    pids: number[];
    threads: { tid: number; tgid: number; note: string }[];
    methods: { method: string; state: string; coverage?: Record<string, string>; mismatches?: { kind: string; where: string; expected: string; got: string }[]; sample?: { rows: number } }[];
  }

  it('says verified for the true manifest, the shared table recovered by every method, and exits 0', async () => {
    const r = await run(['--manifest', file('true.json', w.manifest), '--json', '--freeze']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Out;
    expect(out.ok).toBe(true);
    expect(out.pids).toEqual(w.pids);
    const ran = out.methods.filter((m) => m.state !== 'skipped');
    expect(ran.map((m) => m.method)).toEqual(expect.arrayContaining(['procfs', 'kcmp-pairwise', 'kcmp-tree', 'bpf-task-file', 'bpf-all']));
    for (const m of ran) {
      expect(m.state, m.method).toBe('verified');
      expect(m.coverage!['fd.table'], m.method).toBe('recovered');
    }
  });

  it('says wrong for a manifest with one field changed, names it per method, and exits 1', async () => {
    const doctored = structuredClone(w.manifest);
    const label = doctored.tasks[0]!.fds.find((f) => doctored.files[f.file]!.kind === 'reg')!.file;
    doctored.files[label]!.pos += 1;
    const r = await run(['--manifest', file('doctored.json', doctored), '--method', 'procfs,kcmp-tree,bpf-all,kcmp-pairwise']);
    expect(r.exitCode, r.stderr).toBe(1);
    for (const m of ['procfs', 'kcmp-tree', 'bpf-all']) expect(r.stdout).toMatch(new RegExp(`== ${m} \\(\\w+\\): wrong`));
    expect(r.stdout).toMatch(/fd\.pos pid \d+ fd \d+: expected pos \d+, got pos \d+/);
    // kcmp-pairwise cannot see positions: it is right about what it says
    expect(r.stdout).toMatch(/== kcmp-pairwise \(kcmp\): verified/);
    expect(r.stdout).toMatch(/not verified: procfs wrong, kcmp-tree wrong, bpf-all wrong/);
  });

  it('reads the processes --pid names in place of the manifest\'s pids, one per task in order', async () => {
    const moved = structuredClone(w.manifest);
    const fake = [4_100_001, 4_100_002, 4_100_003];
    const map = new Map(moved.tasks.map((t, i) => [t.pid, fake[i]!]));
    for (const t of moved.tasks) {
      t.pid = map.get(t.pid)!;
      t.table = map.get(t.table!)!;
      t.threads = [t.pid];
    }
    moved.rootPid = map.get(moved.rootPid)!;
    const r = await run(['--manifest', file('moved.json', moved), '--pid', w.pids.join(','), '--method', 'procfs,bpf-all', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Out).methods.map((m) => m.state)).toEqual(['verified', 'verified']);
  });

  it('given a thread id, reads its thread group\'s table and says so', async () => {
    const root = w.manifest.tasks[0]!;
    const tid = root.threads!.find((t) => t !== root.pid)!;
    const r = await run(['--pid', String(tid), '--method', 'procfs', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Out & { methods: { counts: Record<string, number> }[] };
    expect(out.pids).toEqual([root.pid]);
    expect(out.threads).toEqual([{ tid, tgid: root.pid, note: expect.stringMatching(new RegExp(`${tid} is a thread of process ${root.pid}: its descriptor table is the thread group's`)) }]);
    expect(out.methods[0]!.counts.fds).toBe(root.fds.length);
    const text = await run(['--pid', String(tid), '--method', 'procfs', '--limit', '1']);
    expect(text.stdout.split('\n')[0]).toMatch(/^note: \d+ is a thread of process \d+/);
  });

  it('samples kcmp-pairwise beyond --pairs, says so, and checks the sampled classes', async () => {
    const r = await run(['--manifest', file('true2.json', w.manifest), '--method', 'kcmp-pairwise', '--pairs', '100']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sampled: \d+ of \d+ descriptors \(rows chosen at random, seed 1\) compared with all others, \d+ of \d+ pairs \(more than --pairs 100\)/);
    expect(r.stdout).toMatch(/fd\.identity partial/);
    const full = await run(['--manifest', file('true3.json', w.manifest), '--method', 'kcmp-pairwise']);
    expect(full.stdout).not.toMatch(/sampled/);
    expect(full.stdout).toMatch(/fd\.identity recovered/);
  });

  it('refuses bad input with one line and exit 2', async () => {
    const pid = String(w.rootPid);
    const noFiles = structuredClone(w.manifest) as Partial<typeof w.manifest>;
    delete noFiles.files;
    const badLabel = structuredClone(w.manifest);
    badLabel.tasks[0]!.fds[0]!.file = 'no-such-label';
    const init = { schema: 2, tasks: [{ pid: 1, fds: [] }], files: {} };
    const cases: [string[], RegExp][] = [
      [['--manifest', path.join(dir, 'nope.json')], /manifest .*nope\.json: cannot read it: no such file/],
      [['--manifest', file('bad.json', '{"schema": 2,')], /manifest .*bad\.json: not valid JSON/],
      [['--manifest', file('lines.json', 'ready 1\nmore\n')], /not valid JSON/],
      [['--manifest', file('schema.json', { ...w.manifest, schema: 3 })], /schema: 3: this version reads manifest schema 1 to 2/],
      [['--manifest', file('nofiles.json', noFiles)], /files: missing \(an object\)/],
      [['--manifest', file('label.json', badLabel)], /tasks\[0\]\.fds\[0\]\.file: "no-such-label" is not a label of files/],
      [['--manifest', file('init.json', init)], /manifest task 1 is init: pass --allow-pid-1/],
      [['--manifest', file('true4.json', w.manifest), '--pid', pid], /--pid names 1 process\(es\), the manifest has 3 task\(s\)/],
      [['--manifest', file('true5.json', w.manifest), '--pid', `${pid},1,${pid}`], /--pid 1 is init/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });
});
