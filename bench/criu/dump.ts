/**
 * The CRIU lane: a real `criu dump --leave-running` of a workload tree,
 * timed, its images checked against the manifest, and the tree checked
 * intact afterwards.
 *
 *   criu dump --leave-running -t ROOT -D <tmpfs dir> -o dump.log -v4 --shell-job
 *
 * CRIU seizes and freezes the tree itself (ptrace). A tree already frozen
 * in a cgroup would make that seize wait forever: such a call is errored at
 * once unless freezeCgroup names the cgroup, which criu then uses
 * (--freeze-cgroup) and leaves frozen. The tree is frozen here for the
 * intact check afterwards (procfs method + verify(), like every method).
 *
 * Timing: wallMs is the criu process from spawn to exit, at -v4 (the level
 * that logs the stage lines); quietWallMs are optional repeats at -v1 (no
 * per-descriptor log lines) for the wall time without logging. Stage times
 * come from the log's time stamps (log.ts) and CRIU's stats-dump image.
 *
 * Errors are values: every outcome is a CriuResult.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { decodeRecords } from '../decode.js';
import { cgroup2Root, freezePids, freezerV1Root } from '../freezer.js';
import type { Manifest } from '../manifest.js';
import { listMethods, openMethod } from '../native.js';
import type { Coverage, CoverageKind, Mismatch } from '../schema.js';
import { verify } from '../verify/index.js';
import { checkImages, type ImageCheck } from './check.js';
import { findCriu, type CriuFound } from './find.js';
import { readImages, type DumpStats } from './images.js';
import { parseDumpLog, type DumpLog } from './log.js';
import { classifyRefusal, headlineError, type Refusal } from './refusals.js';

/** What the workload trees need: the root is not a session leader (it is the harness's child). */
export const DEFAULT_FLAGS: readonly string[] = ['--shell-job'];

/**
 * The tree's stdin/stdout/stderr are the harness's: Node gives a child unix
 * stream socketpairs, whose other end is outside the tree. CRIU refuses an
 * external unix socket ("External socket is used"), and --ext-unix-sk does
 * not cover stream sockets ("Can't dump half of stream unix connection");
 * `--external unix[INO]` names each one (INO: the tree's end) as known.
 */
export function externalStdioFlags(m: Manifest): string[] {
  const inos = new Set<number>();
  for (const t of m.tasks) {
    for (const f of t.fds) {
      const file = m.files[f.file];
      if (f.fd <= 2 && file?.kind === 'socket') inos.add(file.ino);
    }
  }
  return [...inos].flatMap((ino) => ['--external', `unix[${ino}]`]);
}
export const DEFAULT_TIMEOUT_MS = 300_000;
const TMPFS_MAGIC = 0x01021994;

export interface CriuTree {
  rootPid: number;
  manifest: Manifest;
  /** where the manifest was written (kept in the result for the record) */
  manifestPath?: string;
}

export interface CriuDumpOptions {
  /** the CRIU to use (default: findCriu()) */
  criu?: Extract<CriuFound, { state: 'ok' }>;
  /** criu dump flags besides -t/-D/-o/-v/--leave-running (default DEFAULT_FLAGS) */
  flags?: readonly string[];
  /** the images go to a fresh directory under this one (default /dev/shm: tmpfs) */
  imagesRoot?: string;
  /** keep the images directory (its path is in the result) */
  keepImages?: boolean;
  /** extra dumps at -v1, timed only (wall time without per-fd logging); default 0 */
  quietRepeats?: number;
  /** per criu run (default 300 s) */
  timeoutMs?: number;
  /** check the tree after the dump(s) with the procfs method and verify() (default true) */
  checkIntact?: boolean;
  /**
   * The tree is already frozen in this cgroup (the harness's freezer):
   * criu is told to use it (--freeze-cgroup) instead of seizing a frozen
   * tree, which never finishes. Default: the tree is running and CRIU
   * freezes it itself, as a user's `criu dump` does.
   */
  freezeCgroup?: string;
  /** the root must be a child of this process (default true: tools act only on trees the harness created) */
  requireOwnChild?: boolean;
  /**
   * called once the live tree is no longer needed (the dumps and the
   * intact check done; decoding the images is left): the caller may stop
   * the tree and go on while the images decode
   */
  onTreeDone?: () => void;
  signal?: AbortSignal;
}

export interface CriuTiming {
  /** the criu dump process at -v4, spawn to exit (ms) */
  wallMs: number;
  logLevel: number;
  /** stage times from the log's time stamps */
  log: DumpLog;
  /** CRIU's stats-dump image (successful dumps) */
  stats?: DumpStats;
  /** file state = collect fds + dump opened files, summed over tasks (ms, from the log) */
  fileStateMs: number;
  /** fileStateMs / wallMs */
  fileShare: number;
  /** repeats at -v1 (ms) */
  quietWallMs?: number[];
}

export type Intact =
  | { state: 'intact'; fds: number }
  | { state: 'changed'; mismatches: Mismatch[] }
  | { state: 'unchecked'; reason: string };

interface Base {
  lane: 'criu';
  scenario: string;
  n: number;
  /** descriptors across all tasks (manifest) */
  fds: number;
  tasks: number;
  criu?: { version: string; source: 'path' | 'cache'; bin: string; flags: string[] };
  /** the images directory, when kept */
  imagesDir?: string;
  /** bytes written to the images directory */
  imagesBytes?: number;
  /** wall time of this whole measurement: dumps, decoding, checks (ms) */
  totalMs?: number;
}

export type CriuResult =
  | (Base & {
      state: 'verified';
      timing: CriuTiming;
      coverage: Coverage;
      counts: ImageCheck['counts'];
      notes: string[];
      intact: Intact;
      /** crit decoding time (ms, not part of the dump) */
      decodeMs: number;
    })
  | (Base & {
      state: 'wrong';
      reason: string;
      timing: CriuTiming;
      coverage?: Coverage;
      mismatchCount: number;
      mismatches: Mismatch[];
      notes: string[];
      intact: Intact;
      /** crit decoding time (ms), when the images were decoded */
      decodeMs?: number;
    })
  | (Base & {
      /** CRIU refused the tree: a coverage row, with CRIU's own lines */
      state: 'refused';
      reason: string;
      refusal: Refusal;
      /** the failed run's wall time and the stages it reached */
      timing: Pick<CriuTiming, 'wallMs' | 'logLevel' | 'log'>;
      exitCode: number | null;
      intact: Intact;
    })
  | (Base & { state: 'skipped'; reason: string })
  | (Base & { state: 'errored'; reason: string });

const MAX_MISMATCHES = 50;

// ---- processes and directories this module owns ------------------------------
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of liveChildren) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Kill a running criu of this module (SIGINT/SIGTERM handlers of a harness). */
export function killCriuChildren(): void {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function isTmpfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

function dirBytes(dir: string): number {
  let sum = 0;
  for (const n of readdirSync(dir)) {
    try {
      const s = statSync(path.join(dir, n));
      if (s.isFile()) sum += s.size;
    } catch {
      /* raced */
    }
  }
  return sum;
}

/** The frozen cgroup (v2 cgroup.freeze or v1 freezer) pid is in, if any. */
export function frozenCgroupOf(pid: number): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const v2 = cgroup2Root();
  const v1 = freezerV1Root();
  for (const line of lines) {
    const [id, ctrls, ...rest] = line.split(':');
    const rel = rest.join(':');
    try {
      if (v2 && id === '0' && ctrls === '') {
        const dir = path.join(v2, rel);
        if (/^frozen 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'))) return dir;
      } else if (v1 && (ctrls ?? '').split(',').includes('freezer')) {
        const dir = path.join(v1, rel);
        if (readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim() !== 'THAWED') return dir;
      }
    } catch {
      /* no such file: not frozen there */
    }
  }
  return undefined;
}

function ppidOf(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  stderr: string;
  timedOut: boolean;
  spawnError?: string;
}

function runCriu(bin: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<Run> {
  hookExit();
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    const t0 = performance.now();
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    liveChildren.add(p);
    const kill = () => {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    signal?.addEventListener('abort', kill, { once: true });
    p.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    let spawnError: string | undefined;
    p.on('error', (e) => {
      spawnError = e.message;
    });
    p.on('close', (code, sig) => {
      const wallMs = performance.now() - t0;
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      liveChildren.delete(p);
      resolve({ code, signal: sig, wallMs, stderr, timedOut, spawnError });
    });
  });
}

/** procfs method + verify() on the tree, frozen for the read and thawed after (unless it is frozen already). */
async function checkIntact(tree: CriuTree, alreadyFrozen: boolean): Promise<Intact> {
  const pids = tree.manifest.tasks.map((t) => t.pid);
  let method;
  try {
    // any procfs recovery method verifies the tree (the registry lists procfs itself first)
    method = listMethods().find((m) => m.family === 'procfs' && m.role === 'recovery');
  } catch (e) {
    return { state: 'unchecked', reason: (e as Error).message };
  }
  if (!method) return { state: 'unchecked', reason: 'the addon has no procfs recovery method' };
  let frozen: Awaited<ReturnType<typeof freezePids>> | undefined;
  try {
    if (!alreadyFrozen) frozen = await freezePids(pids);
  } catch (e) {
    return { state: 'unchecked', reason: `cannot freeze the tree: ${(e as Error).message}` };
  }
  try {
    const o = openMethod(method, pids);
    if (o.state !== 'open') return { state: 'unchecked', reason: `procfs: ${o.reason}` };
    try {
      const r = o.collector.collect();
      if (!r.ok) return { state: 'unchecked', reason: `procfs: ${r.error}` };
      const v = verify(tree.manifest, decodeRecords(r.out.buffer), method);
      if (!v.ok) return { state: 'changed', mismatches: v.mismatches.slice(0, MAX_MISMATCHES) };
      return { state: 'intact', fds: tree.manifest.tasks.reduce((s, t) => s + t.fds.length, 0) };
    } finally {
      o.collector.close();
    }
  } finally {
    await frozen?.thaw();
  }
}

export async function criuDump(tree: CriuTree, opts: CriuDumpOptions = {}): Promise<CriuResult> {
  const t0 = performance.now();
  const m = tree.manifest;
  const base: Base = {
    lane: 'criu',
    scenario: m.scenario,
    n: m.params.files,
    fds: m.tasks.reduce((s, t) => s + t.fds.length, 0),
    tasks: m.tasks.length,
  };
  const done = <T extends CriuResult>(r: T): T => ({ ...r, totalMs: performance.now() - t0 });

  const found = opts.criu ?? findCriu();
  if (found.state !== 'ok') return done({ ...base, state: 'skipped', reason: found.reason });
  const flags = [...(opts.flags ?? DEFAULT_FLAGS), ...externalStdioFlags(m), ...(opts.freezeCgroup ? ['--freeze-cgroup', opts.freezeCgroup] : [])];
  base.criu = { version: found.version, source: found.source, bin: found.bin, flags };

  // misuse: the tree must be the manifest's, alive, and ours
  if (m.rootPid !== tree.rootPid) return done({ ...base, state: 'errored', reason: `root ${tree.rootPid} is not the manifest's root ${m.rootPid}` });
  const ppid = ppidOf(tree.rootPid);
  if (ppid === undefined) return done({ ...base, state: 'errored', reason: `workload root ${tree.rootPid} is gone` });
  if (opts.requireOwnChild !== false && ppid !== process.pid) {
    return done({ ...base, state: 'errored', reason: `pid ${tree.rootPid} is not a child of this harness (ppid ${ppid}): refusing to dump it` });
  }

  // a tree frozen by someone else: CRIU's seize would wait for it forever
  const frozenIn = frozenCgroupOf(tree.rootPid);
  if (frozenIn && path.resolve(frozenIn) !== path.resolve(opts.freezeCgroup ?? '/nonexistent')) {
    return done({ ...base, state: 'errored', reason: `the tree is frozen in ${frozenIn}: thaw it first, or pass freezeCgroup (criu --freeze-cgroup)` });
  }

  const root = opts.imagesRoot ?? '/dev/shm';
  if (!existsSync(root)) return done({ ...base, state: 'errored', reason: `images root ${root} does not exist` });
  const dir = path.join(root, `iterbench-criu-${process.pid}-${randomBytes(4).toString('hex')}`);
  const notes: string[] = [];
  if (!isTmpfs(root)) notes.push(`images written to ${root}, which is not tmpfs: the dump's time includes disk writes`);
  hookExit();
  liveDirs.add(dir);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const args = (d: string, level: number) => ['dump', '--leave-running', '-t', String(tree.rootPid), '-D', d, '-o', 'dump.log', `-v${level}`, ...flags];

  try {
    mkdirSync(dir, { mode: 0o700 });
    const run = await runCriu(found.bin, args(dir, 4), timeoutMs, opts.signal);
    if (run.spawnError) return done({ ...base, state: 'errored', reason: `cannot run ${found.bin}: ${run.spawnError}` });
    let logText = '';
    try {
      logText = readFileSync(path.join(dir, 'dump.log'), 'utf8');
    } catch {
      /* no log: handled below */
    }
    const log = parseDumpLog(logText);
    base.imagesBytes = dirBytes(dir);
    if (opts.keepImages) base.imagesDir = dir;
    if (run.timedOut) return done({ ...base, state: 'errored', reason: `criu dump did not finish in ${timeoutMs / 1000} s (killed)` });
    if (opts.signal?.aborted) return done({ ...base, state: 'errored', reason: 'aborted during criu dump' });

    if (run.code !== 0) {
      if (!logText) {
        const last = run.stderr.trim().split('\n').at(-1) ?? '';
        return done({ ...base, state: 'errored', reason: `criu dump exited (${run.signal ?? `code ${run.code}`}) without a log${last ? `: ${last}` : ''}` });
      }
      const refusal = classifyRefusal(logText, log.errors);
      const intact = opts.checkIntact === false ? { state: 'unchecked' as const, reason: 'not asked' } : await checkIntact(tree, !!opts.freezeCgroup);
      return done({
        ...base,
        state: 'refused',
        reason: headlineError(refusal.lines) ?? `criu dump exited with code ${run.code}`,
        refusal,
        timing: { wallMs: run.wallMs, logLevel: 4, log },
        exitCode: run.code,
        intact,
      });
    }

    const timing: CriuTiming = {
      wallMs: run.wallMs,
      logLevel: 4,
      log,
      fileStateMs: log.fileStateMs,
      fileShare: run.wallMs > 0 ? log.fileStateMs / run.wallMs : 0,
    };
    if (!log.finished) notes.push('the log does not say "Dumping finished successfully"');

    // optional repeats without per-fd logging (fresh directory each)
    const repeats = opts.quietRepeats ?? 0;
    if (repeats > 0) {
      timing.quietWallMs = [];
      for (let i = 0; i < repeats; i++) {
        const d = `${dir}-q${i}`;
        liveDirs.add(d);
        try {
          mkdirSync(d, { mode: 0o700 });
          const q = await runCriu(found.bin, args(d, 1), timeoutMs, opts.signal);
          if (q.code !== 0) {
            notes.push(`quiet repeat ${i + 1} failed (${q.timedOut ? 'timed out' : q.signal ?? `code ${q.code}`})`);
            break;
          }
          timing.quietWallMs.push(q.wallMs);
        } finally {
          rmSync(d, { recursive: true, force: true });
          liveDirs.delete(d);
        }
      }
    }

    const intact = opts.checkIntact === false ? { state: 'unchecked' as const, reason: 'not asked' } : await checkIntact(tree, !!opts.freezeCgroup);
    // the tree is done with; the images are read after
    opts.onTreeDone?.();

    // decode and check the images
    const td = performance.now();
    let check: ImageCheck;
    try {
      const img = await readImages(dir, found.crit);
      timing.stats = img.stats;
      check = checkImages(m, img);
    } catch (e) {
      return done({ ...base, state: 'errored', reason: `decoding the images: ${(e as Error).message}` });
    }
    const decodeMs = performance.now() - td;
    notes.push(...check.notes);
    // the images first: a manifest that disagrees with both the images and
    // the live tree is a wrong manifest, not a changed workload
    if (!check.ok) {
      const kinds = [...new Set(check.mismatches.map((x) => x.kind))] as CoverageKind[];
      return done({
        ...base, state: 'wrong', reason: `the images disagree with the manifest (${check.mismatches.length} mismatches: ${kinds.join(', ')})`,
        timing, coverage: check.coverage, mismatchCount: check.mismatches.length,
        mismatches: check.mismatches.slice(0, MAX_MISMATCHES), notes, intact, decodeMs,
      });
    }
    if (intact.state === 'changed') {
      return done({
        ...base, state: 'wrong', reason: `the workload changed under criu dump --leave-running (${intact.mismatches.length} mismatches)`,
        timing, coverage: check.coverage, mismatchCount: intact.mismatches.length, mismatches: intact.mismatches, notes, intact, decodeMs,
      });
    }
    return done({ ...base, state: 'verified', timing, coverage: check.coverage, counts: check.counts, notes, intact, decodeMs });
  } catch (e) {
    return done({ ...base, state: 'errored', reason: (e as Error).message });
  } finally {
    if (!opts.keepImages) {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    } else liveDirs.delete(dir);
  }
}

/**
 * The cover letter's context line for one verified dump:
 * "of a Y ms dump, X ms is file state" (the methods' figures are the
 * harness's to add).
 */
export function contextLine(r: Extract<CriuResult, { state: 'verified' }>): string {
  const y = r.timing.wallMs;
  const x = r.timing.fileStateMs;
  return `of a ${y.toFixed(0)} ms dump, ${x.toFixed(0)} ms (${(100 * x / y).toFixed(0)} %) is file state`;
}
