/**
 * Helpers for the fault matrix (test/faults.test.ts): start the real bench
 * CLI as a user would, follow its stderr progress lines, deliver faults, and
 * look for what a fault could leave behind -- workload processes, iterbench
 * cgroups, generator directories -- tied to that one run (other runs on the
 * machine are not ours to judge).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../bench/native.js';
import type { ResultsFile } from '../../bench/schema.js';

export const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
export const CLI = path.join(REPO_ROOT, 'bench/cli/bench.ts');
export const INSPECT = path.join(REPO_ROOT, 'bench/cli/inspect.ts');
export const GENERATOR = path.join(REPO_ROOT, 'build/workloads/iterbench-workload');
export const NOBODY = 65534;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A fresh directory for one run: TMPDIR (manifests), ITERBENCH_TMPDIR (generator files), output. */
const scratchDirs: string[] = [];

/** Remove every scratch directory made so far (afterAll). */
export function removeScratch(): void {
  for (const d of scratchDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function scratch(owner?: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'iterbench-fault-'));
  scratchDirs.push(dir);
  if (owner !== undefined) {
    chownSync(dir, owner, owner);
    chmodSync(dir, 0o755);
  }
  return dir;
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** pid -> ppid, process group, state for every process now. */
function processTable(): Map<number, { ppid: number; pgrp: number; state: string }> {
  const out = new Map<number, { ppid: number; pgrp: number; state: string }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readText(`/proc/${d}/stat`);
    if (!s) continue;
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    out.set(Number(d), { state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) });
  }
  return out;
}

/** Live descendants of pid (children, grandchildren, ...). */
export function descendants(pid: number): number[] {
  const table = processTable();
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, v] of table) if (v.ppid === p && v.state !== 'Z') {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface BenchRun {
  /** the process started (tsx), leader of its own process group */
  pid: number;
  /** its scratch directory and the results directory inside it */
  dir: string;
  out: string;
  stderrLines(): string[];
  /** resolves with the first stderr line matching re */
  waitForLine(re: RegExp, ms?: number): Promise<string>;
  /** every process that was ever seen below pid (harness processes and workloads) */
  seen: Set<number>;
  /** live workload processes of this run (cmdline names the run's scratch dir, or seen below it) */
  workloads(): number[];
  exited: Promise<Exit>;
  child: ChildProcess;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** run as this uid/gid (setpriv); the scratch dir is given to it */
  uid?: number;
  /** command instead of the bench CLI (e.g. inspect) */
  script?: string;
  /** no --out DIR appended */
  noOut?: boolean;
  /**
   * tsx (default, as `npm run bench` does) or node --import tsx. tsx's own
   * parent process SIGKILLs its child when that child has not answered a
   * signal within ~60 ms, which a loaded 2-CPU machine can miss.
   */
  launcher?: 'tsx' | 'node';
}

/** Start `tsx bench/cli.ts ARGS --out DIR` (or another script) with its own TMPDIR. */
export function startBench(args: string[], o: StartOptions = {}): BenchRun {
  const dir = scratch(o.uid);
  const out = path.join(dir, 'out');
  const launch = o.launcher === 'node' ? [process.execPath, '--import', 'tsx'] : [TSX];
  const argv = [...launch, o.script ?? CLI, ...args, ...(o.noOut ? [] : ['--out', out])];
  const cmd = o.uid !== undefined ? 'setpriv' : argv[0]!;
  const cmdArgs = o.uid !== undefined ? [`--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups', ...argv] : argv.slice(1);
  const child = spawn(cmd, cmdArgs, {
    cwd: REPO_ROOT,
    detached: true, // its own process group: a test can send "Ctrl-C" to all of it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: dir, ITERBENCH_TMPDIR: dir, HOME: dir, ...o.env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const lines: string[] = [];
  const seen = new Set<number>();
  const onLine = (l: string) => {
    lines.push(l);
    for (const w of [...waiters]) if (w.re.test(l)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(l);
    }
  };
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    parts.forEach(onLine);
  });
  const poll = setInterval(() => {
    if (child.pid) for (const p of descendants(child.pid)) seen.add(p);
  }, 25);
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(poll);
      if (partial) onLine(partial);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const run: BenchRun = {
    pid: child.pid!,
    dir,
    out,
    child,
    seen,
    exited,
    stderrLines: () => [...lines],
    waitForLine(re, ms = 60_000) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise<string>((resolve, reject) => {
        const w = { re, resolve };
        waiters.push(w);
        const timer = setTimeout(() => reject(new Error(`no stderr line ${re} in ${ms} ms; stderr:\n${stderr.slice(-2000)}`)), ms);
        void exited.then(() => {
          setTimeout(() => {
            if (waiters.includes(w)) reject(new Error(`exited without a stderr line ${re}; stderr:\n${stderr.slice(-2000)}`));
          }, 50);
        });
        const done = w.resolve;
        w.resolve = (l) => {
          clearTimeout(timer);
          done(l);
        };
      });
    },
    workloads: () => workloadProcesses(dir, seen),
  };
  return run;
}

/** Live (not zombie) iterbench-workload processes whose command line names dir, or that were seen in a run's tree. */
export function workloadProcesses(dir: string, seen: Set<number> = new Set()): number[] {
  const out: number[] = [];
  for (const [pid, v] of processTable()) {
    if (v.state === 'Z' || v.state === 'X') continue;
    const cmd = readText(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ') ?? '';
    if (!cmd.includes('iterbench-workload')) continue;
    if (cmd.includes(dir) || seen.has(pid)) out.push(pid);
  }
  return out;
}

export const CGROUP_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/freezer', '/sys/fs/cgroup'];

/** iterbench-<pid>-<n> cgroups made by any of pids, in every hierarchy. */
export function cgroupsOf(pids: Iterable<number>): string[] {
  const want = new Set([...pids].map(String));
  const out: string[] = [];
  for (const root of CGROUP_ROOTS) {
    let names: string[] = [];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = /^iterbench-(\d+)-\d+$/.exec(n);
      if (m && want.has(m[1]!)) out.push(path.join(root, n));
    }
  }
  return out;
}

/** Live processes of a process group (a run started with detached: true leads its own). */
export function groupProcesses(pgrp: number): number[] {
  return [...processTable()].filter(([, v]) => v.pgrp === pgrp && v.state !== 'Z' && v.state !== 'X').map(([p]) => p);
}

/** What a run left behind: workload processes, harness processes, cgroups, generator directories and manifests. */
export interface Leftovers {
  processes: number[];
  harness: number[];
  cgroups: string[];
  files: string[];
}

export function leftovers(run: Pick<BenchRun, 'dir' | 'seen' | 'pid'>): Leftovers {
  let files: string[] = [];
  try {
    files = readdirSync(run.dir).filter((f) => /^iterbench-(wl|manifest)-/.test(f));
  } catch {
    /* no dir */
  }
  return {
    processes: workloadProcesses(run.dir, run.seen),
    harness: groupProcesses(run.pid),
    cgroups: cgroupsOf([run.pid, ...run.seen]),
    files,
  };
}

export const NOTHING_LEFT: Leftovers = { processes: [], harness: [], cgroups: [], files: [] };

/** Leftovers once things settled (a killed task takes a moment to be reaped). */
export async function settledLeftovers(run: Pick<BenchRun, 'dir' | 'seen' | 'pid'>, ms = 3000): Promise<Leftovers> {
  const t0 = Date.now();
  for (;;) {
    const l = leftovers(run);
    if ((!l.processes.length && !l.harness.length && !l.cgroups.length && !l.files.length) || Date.now() - t0 > ms) return l;
    await sleep(50);
  }
}

export function readResults(out: string): ResultsFile | undefined {
  const p = path.join(out, 'results.json');
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as ResultsFile;
}

/** Run a command to completion (bad invocations), with the same scratch TMPDIR. */
export async function runOnce(cmd: string, args: string[], o: { env?: Record<string, string>; uid?: number; dir?: string } = {}): Promise<Exit & { dir: string }> {
  const dir = o.dir ?? scratch(o.uid);
  const full = o.uid !== undefined ? ['setpriv', [`--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups', cmd, ...args]] as const : [cmd, args] as const;
  const child = spawn(full[0], [...full[1]], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: dir, ITERBENCH_TMPDIR: dir, HOME: dir, ...o.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, dir })));
}

/** Kill a process group we started, quietly. */
export function killGroup(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* gone */
  }
}
