/**
 * Life cycle of a workload generator (workloads/, build/workloads/iterbench-workload):
 * start it, wait for `ready <rootpid>`, read its manifest, freeze/thaw it,
 * stop it. Every live workload is tracked so an exit or signal handler can
 * kill it (stopAllWorkloads): a workload never outlives the harness.
 *
 * Generator exit codes before ready map to StartResult states:
 *   77 -> skipped (feature missing), 2 -> usage (bad size, RLIMIT_NOFILE),
 *   anything else -> errored.
 */
import { execa, type ResultPromise } from 'execa';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freezePids, type FreezeMethod, type Frozen } from './freezer.js';
import { MANIFEST_SCHEMA, workloadBinary, type Manifest, type Scenario } from './manifest.js';

export type { FreezeMethod } from './freezer.js';
export { workloadBinary } from './manifest.js';

export interface WorkloadOptions {
  scenario: Scenario;
  files: number;
  tasks?: number;
  buffers?: number;
  epollItems?: number;
  uringFiles?: number;
  /** `--criu-compatible`: nothing CRIU refuses (the manifest's cases say what was left out) */
  criuCompatible?: boolean;
  churn?: boolean;
}

export type StartResult =
  | { state: 'ready'; workload: Workload }
  | { state: 'skipped'; reason: string }
  | { state: 'errored'; reason: string }
  /** exit 2 from the generator: bad arguments, or the size does not fit RLIMIT_NOFILE */
  | { state: 'usage'; reason: string };

export interface Workload {
  manifest: Manifest;
  rootPid: number;
  /** every tgid of the tree (manifest tasks) */
  pids: number[];
  /** spawn to `ready`, in ms */
  readyMs: number;
  freeze(): Promise<FreezeMethod>;
  thaw(): Promise<void>;
  stop(): Promise<void>;
  alive(): boolean;
}

export const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

interface Live {
  rootPid: number;
  pids: number[];
  frozen?: Frozen;
  exited: boolean;
  /** the generator's private directory (removed here when it was killed) */
  dir?: string;
}

/** The generator's private directory, from the regular files' paths. */
function workloadDir(m: Manifest): string | undefined {
  for (const f of Object.values(m.files)) {
    const d = f.path && /^(.*\/iterbench-wl-\d+-[^/]+)\//.exec(f.path);
    if (d) return d[1];
  }
  return undefined;
}

/** Never throws: tasks of a killed tree may still be dying (ENOTEMPTY while they create files). */
function removeDir(dir: string | undefined): void {
  if (!dir) return;
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 25 });
  } catch {
    /* left for the generator's next start (remove_stale_dirs) */
  }
}

/** the harness's pid namespace (its /proc/self/ns/pid inode), part of the generators' directory names */
let PIDNS: number | undefined;

/**
 * The private directory of a generator killed before ready (its manifest,
 * which names it, does not exist yet): found by the generator's pid, where
 * the generator puts it (workloads/main.c: $ITERBENCH_TMPDIR, /dev/shm,
 * $TMPDIR, /tmp).
 */
function removeDirsOfPid(pid: number): void {
  if (PIDNS === undefined) PIDNS = statSync('/proc/self/ns/pid').ino;
  if (pid <= 0) return;
  const bases = new Set([process.env.ITERBENCH_TMPDIR, '/dev/shm', process.env.TMPDIR, '/tmp'].filter((b): b is string => !!b));
  for (const base of bases) {
    let names: string[];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    // iterbench-wl-<pid>-n<pid namespace inode>-XXXXXX: the generator is our child, in our namespace
    for (const n of names) if (n.startsWith(`iterbench-wl-${pid}-n${PIDNS}-`)) removeDir(join(base, n));
  }
}

const live = new Set<Live>();
process.on('exit', stopAllWorkloads);

function killQuiet(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Synchronous SIGKILL of every live workload tree (thawed first: a frozen task cannot die on v1). */
export function stopAllWorkloads(): void {
  for (const l of [...live]) {
    try {
      l.frozen?.thawSync();
    } catch {
      /* still kill it */
    }
    l.frozen = undefined;
    if (!l.exited) {
      killQuiet(l.rootPid);
      for (const pid of l.pids) killQuiet(pid);
      if (l.dir) removeDir(l.dir);
      else removeDirsOfPid(l.rootPid);
    }
    live.delete(l);
  }
}

/** is pid a live (not zombie) process? */
export function pidAlive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return st !== 'Z' && st !== 'X';
  } catch {
    return false;
  }
}

function argsFor(o: WorkloadOptions, manifest: string): string[] {
  const a = [o.scenario, '--manifest', manifest, '--files', String(o.files)];
  if (o.tasks !== undefined) a.push('--tasks', String(o.tasks));
  if (o.buffers !== undefined) a.push('--buffers', String(o.buffers));
  if (o.epollItems !== undefined) a.push('--epoll-items', String(o.epollItems));
  if (o.uringFiles !== undefined) a.push('--uring-files', String(o.uringFiles));
  if (o.criuCompatible) a.push('--criu-compatible');
  if (o.churn) a.push('--churn');
  return a;
}

/**
 * Would the generator accept these sizes here (RLIMIT_NOFILE, io_uring
 * limits)? Runs it with --check, which creates nothing, so a harness can
 * refuse a size before it writes anything.
 */
export function checkWorkload(opts: WorkloadOptions): { ok: true } | { ok: false; state: 'usage' | 'errored'; reason: string } {
  const args = argsFor({ ...opts, churn: false }, '').filter((a, i, all) => a !== '--manifest' && all[i - 1] !== '--manifest');
  const r = spawnSync(workloadBinary(), [...args, '--check'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  if (r.error) return { ok: false, state: 'errored', reason: `cannot run the generator ${workloadBinary()}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  if (r.status === 0) return { ok: true };
  const why = lastLine(r.stderr ?? '');
  if (r.status === 2) return { ok: false, state: 'usage', reason: why || 'the generator refused the sizes (exit 2)' };
  return { ok: false, state: 'errored', reason: `generator --check exited (${r.signal ?? `code ${r.status}`})${why ? `: ${why}` : ''}` };
}

/** The generator's last stderr line without its "iterbench-workload: " prefix. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').replace(/^iterbench-workload:\s*/, '');
}

export async function startWorkload(opts: WorkloadOptions, signal?: AbortSignal): Promise<StartResult> {
  if (signal?.aborted) return { state: 'errored', reason: 'aborted before start' };
  const manifestPath = join(tmpdir(), `iterbench-manifest-${process.pid}-${randomBytes(6).toString('hex')}.json`);
  const t0 = performance.now();
  let proc: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false }>;
  try {
    proc = execa(workloadBinary(), argsFor(opts, manifestPath), {
      stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false,
    });
  } catch (e) {
    return { state: 'errored', reason: `cannot start the generator: ${(e as Error).message}` };
  }
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192);
  });
  const entry: Live = { rootPid: proc.pid ?? -1, pids: [], exited: false };
  if (entry.rootPid > 0) live.add(entry);
  const exited = proc.then((r) => {
    entry.exited = true;
    return r;
  });

  const outcome = await new Promise<
    { kind: 'ready'; pid: number } | { kind: 'exit'; code?: number; signal?: string; error?: string } | { kind: 'timeout' } | { kind: 'aborted' }
  >((resolveOutcome) => {
    let out = '';
    const timer = setTimeout(() => resolveOutcome({ kind: 'timeout' }), READY_TIMEOUT_MS);
    const onAbort = () => resolveOutcome({ kind: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\d+)$/m.exec(out);
      if (m) {
        finish();
        resolveOutcome({ kind: 'ready', pid: Number(m[1]) });
      }
    });
    void exited.then((r) => {
      finish();
      resolveOutcome({
        kind: 'exit', code: r.exitCode, signal: r.signal,
        error: r.failed && r.exitCode === undefined && !r.signal ? r.shortMessage : undefined,
      });
    });
  });

  const fail = async (state: 'errored' | 'skipped' | 'usage', reason: string): Promise<StartResult> => {
    if (!entry.exited) {
      killQuiet(entry.rootPid);
      await exited;
      removeDirsOfPid(entry.rootPid);
    }
    live.delete(entry);
    rmSync(manifestPath, { force: true });
    return { state, reason };
  };

  if (outcome.kind === 'timeout') return fail('errored', `not ready after ${READY_TIMEOUT_MS / 1000} s`);
  if (outcome.kind === 'aborted') return fail('errored', 'aborted while starting');
  if (outcome.kind === 'exit') {
    const why = lastLine(stderr);
    if (outcome.error) return fail('errored', outcome.error);
    if (outcome.code === 77) return fail('skipped', why || 'a kernel feature is missing (exit 77)');
    if (outcome.code === 2) return fail('usage', why || 'usage error (exit 2)');
    return fail('errored', `generator exited (${outcome.signal ?? `code ${outcome.code}`}) before ready${why ? `: ${why}` : ''}`);
  }

  const readyMs = performance.now() - t0;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    return fail('errored', `cannot read the manifest ${manifestPath}: ${(e as Error).message}`);
  }
  rmSync(manifestPath, { force: true });
  if (manifest.schema !== MANIFEST_SCHEMA || manifest.rootPid !== outcome.pid || manifest.rootPid !== entry.rootPid) {
    return fail('errored', `manifest does not match the generator (schema ${manifest.schema}, root ${manifest.rootPid}, ready ${outcome.pid})`);
  }
  const pids = manifest.tasks.map((t) => t.pid);
  entry.pids = pids;
  entry.dir = workloadDir(manifest);

  const workload: Workload = {
    manifest,
    rootPid: manifest.rootPid,
    pids,
    readyMs,
    async freeze() {
      if (!entry.frozen) entry.frozen = await freezePids(pids);
      return entry.frozen.method;
    },
    async thaw() {
      const f = entry.frozen;
      entry.frozen = undefined;
      if (f) await f.thaw();
    },
    async stop() {
      if (!live.has(entry)) return;
      await workload.thaw().catch(() => undefined);
      if (!entry.exited) {
        try {
          proc.stdin.end('exit\n');
        } catch {
          /* stdin already closed */
        }
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref());
        if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
          killQuiet(entry.rootPid);
          await exited;
          removeDir(entry.dir);
        }
      }
      // the root reaps its children on a clean exit; kill whatever a dirty one left
      for (const pid of pids) if (pid !== entry.rootPid && pidAlive(pid)) killQuiet(pid);
      live.delete(entry);
    },
    alive() {
      if (entry.exited) return false;
      // frozen in a cgroup: one read of its member list, not one per task
      const n = entry.frozen?.liveCount?.();
      return n !== undefined ? n === pids.length : pids.every(pidAlive);
    },
  };
  return { state: 'ready', workload };
}
