/**
 * The ground truth a workload generator writes (workloads/, `--manifest PATH`),
 * and the list of scenarios the generator knows (`--list`).
 *
 * The manifest is built from the generator's own actions (what it opened,
 * dup'd, sent, registered; fstat/fcntl/lseek on its own descriptors), never by
 * reading /proc. Every open file (struct file) the generator created or
 * inherited gets one label; equal labels = the same open file.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Manifest schema versions (the `schema` field). Every change is additive:
 * a reader of version N reads N+1 by ignoring the fields it does not know,
 * except where a field's type widened (said below).
 *   1  the first format.
 *   2  tasks[].table and tasks[].threads: which descriptor table a task uses
 *      and its threads (scenario threads: one table seen from several tasks).
 *      io_uring[].fd may be null (widened from number): a ring no descriptor
 *      reaches, with io_uring[].registeredIndex and .tid saying where it is
 *      registered instead; io_uring[].note. A ring's own `file` is listed in
 *      `files` even when no descriptor holds it. params.criuCompatible.
 */
export const MANIFEST_SCHEMA = 2;

/**
 * A scenario's name. The generator is the one list of scenarios (one C file
 * each, workloads/scenarios/): check a name with isScenario() or
 * scenarioInfo(), list them with scenarioList().
 */
export type Scenario = string;

/** One scenario as `iterbench-workload --list` describes it. */
export interface ScenarioInfo {
  name: Scenario;
  /** one line: what the workload holds */
  summary: string;
  /** the hard cases it can contain (the manifest's `cases` says which it made) */
  hardCases: string[];
  /** spreads over tasks: --tasks applies and N may pass one task's descriptor limit */
  spreadsOverTasks: boolean;
  /** the --tasks range it takes (minTasks 1 and not spreading: --tasks does not apply) */
  minTasks: number;
  maxTasks: number;
  /** kernel features it needs, e.g. "io_uring" (the generator exits 77 without them) */
  needs: string[];
  /** run when the user names no scenario */
  defaultRun: boolean;
  /** the run's targets are judged on it when it is in the run (RunConfig.reference) */
  reference: boolean;
  /**
   * `--criu-compatible`: whether the scenario has a variant CRIU can dump,
   * and what that variant leaves out (the cases its manifest records when it
   * leaves them out), or why there is none (CRIU's own error, e.g. io_uring).
   */
  criu: { compatible: true; leftOut: string[] } | { compatible: false; reason: string };
  /** the largest --files that fits this machine's RLIMIT_NOFILE (with the sizes --list was given) */
  maxFiles: number;
  /** why maxFiles + 1 does not fit, one line for a skip reason */
  maxFilesReason: string;
}

export interface ScenarioList {
  /** the descriptor limit a workload gets here (soft raised to hard) */
  rlimitNofile: number;
  /** descriptors every task keeps free for transients */
  fdMargin: number;
  /** the most --tasks the generator takes */
  maxTasks: number;
  /** the largest value a size option takes */
  maxSize: number;
  scenarios: ScenarioInfo[];
}

/** Path of the generator binary; ITERBENCH_WORKLOAD overrides it (tests). */
export function workloadBinary(): string {
  const override = process.env.ITERBENCH_WORKLOAD;
  if (override) return resolve(override);
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'workloads', 'iterbench-workload');
}

const listCache = new Map<string, ScenarioList>();

/**
 * The scenarios, asked once per generator binary (`--list`; a few ms) and
 * cached. Throws one line when the generator cannot be run or answers
 * nonsense (build it with npm run setup).
 */
export function scenarioList(): ScenarioList {
  const bin = workloadBinary();
  const cached = listCache.get(bin);
  if (cached) return cached;
  const r = spawnSync(bin, ['--list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  if (r.error) throw new Error(`cannot run the workload generator ${bin}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message} (npm run setup builds it)`);
  if (r.status !== 0) throw new Error(`${bin} --list exited ${r.signal ?? `with code ${r.status}`}: ${(r.stderr ?? '').trim().split('\n').at(-1) ?? ''}`);
  let list: ScenarioList;
  try {
    list = JSON.parse(r.stdout) as ScenarioList;
  } catch (e) {
    throw new Error(`${bin} --list printed no JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(list.scenarios) || list.scenarios.some((s) => typeof s?.name !== 'string' || typeof s.maxFiles !== 'number')) {
    throw new Error(`${bin} --list: no scenario list in its output`);
  }
  listCache.set(bin, list);
  return list;
}

/** Every scenario's name, in the generator's order. */
export function scenarioNames(): Scenario[] {
  return scenarioList().scenarios.map((s) => s.name);
}

/** The scenarios a run takes when none is named. */
export function defaultScenarios(): Scenario[] {
  return scenarioList().scenarios.filter((s) => s.defaultRun).map((s) => s.name);
}

/** A task sweep's scenario when none is named: the one that takes the most tasks (tree). */
export function taskSweepScenario(): Scenario {
  const spread = scenarioList().scenarios.filter((s) => s.spreadsOverTasks).sort((a, b) => b.maxTasks - a.maxTasks);
  if (!spread[0]) throw new Error('the generator lists no scenario that spreads over tasks');
  return spread[0].name;
}

export function scenarioInfo(name: string): ScenarioInfo | undefined {
  return scenarioList().scenarios.find((s) => s.name === name);
}

export function isScenario(name: string): name is Scenario {
  return scenarioInfo(name) !== undefined;
}

/** Same names as enum ib_kind in bench/native/records.h (lowercase). */
export type FileKind =
  | 'unknown' | 'reg' | 'dir' | 'pipe' | 'socket' | 'chr' | 'blk'
  | 'eventfd' | 'epoll' | 'io_uring' | 'signalfd' | 'timerfd' | 'inotify' | 'anon' | 'other';

export interface ManifestFile {
  kind: FileKind;
  /** st_dev as fstat returns it (userspace encoding). */
  dev: number;
  ino: number;
  /** file position (lseek(fd, 0, SEEK_CUR); 0 where the file has none). */
  pos: number;
  /** f_flags as F_GETFL returns them (O_ACCMODE, O_APPEND, O_NONBLOCK, ...). */
  flags: number;
  /** path for regular files and directories, when the generator knows it */
  path?: string;
  /** why this file is interesting: "opened-twice", "descriptorless", ... */
  note?: string;
}

export interface ManifestFd {
  fd: number;
  /** label of the open file (key of Manifest.files) */
  file: string;
}

export interface ManifestTask {
  /** the task's pid: its thread-group id (one entry per process, not per thread) */
  pid: number;
  /** "root", "child-1", ... */
  role: string;
  /**
   * (schema 2) The descriptor table this task uses, named by the pid of the
   * task that made it: the task's own pid, unless it shares another task's
   * table (made with clone(CLONE_FILES)). Tasks with equal `table` use one
   * table: their `fds` lists are identical (each is the kernel's view of
   * that task, /proc/PID/fd), and a method that reports per table should
   * report that table once, not once per task. Different `table` values are
   * different tables even when their fds lists are equal (a forked copy).
   * The generator always writes it; absent (a schema-1 or hand-written
   * manifest) means the task's own pid.
   */
  table?: number;
  /**
   * (schema 2) Every thread of the task (thread ids), the leader (= pid)
   * first: exactly /proc/PID/task. All of them use the task's `table`.
   * The generator always writes it; absent means [pid].
   */
  threads?: number[];
  fds: ManifestFd[];
}

export interface ManifestEpollItem {
  /** the number used at EPOLL_CTL_ADD time (may be closed or reused since) */
  tfd: number;
  events: number;
  /** epoll_event.data as 0x-prefixed hex (u64); unique per item within a workload */
  data: string;
  /** label of the watched open file */
  target: string;
  note?: string;
}

export interface ManifestEpoll {
  pid: number;
  epfd: number;
  /** label of the epoll open file */
  file: string;
  /** exactly the items that exist in the kernel when the workload is ready */
  items: ManifestEpollItem[];
}

export interface ManifestBuffer {
  /** userspace address as registered, 0x-prefixed hex */
  addr: string;
  len: number;
  note?: string;
}

export interface ManifestRing {
  pid: number;
  /**
   * The ring's descriptor in task `pid`, or (schema 2) null: a ring no
   * descriptor reaches, whose fd was registered with IORING_REGISTER_RING_FDS
   * and then closed. Such a ring lives on through the registered-ring table
   * of thread `tid` (index `registeredIndex`) and its SQ/CQ mappings
   * (/proc/PID/maps shows anon_inode:[io_uring] with the ring's inode); no
   * method that starts from descriptors can see it. Its `file` (label, with
   * the dev/ino fstat gave before the close) is held by no descriptor.
   */
  fd: number | null;
  /** (schema 2) index in the registered-ring table of thread `tid`; only for a registered ring */
  registeredIndex?: number;
  /** (schema 2) the thread whose registered-ring table holds the ring */
  tid?: number;
  /** (schema 2) why this ring is interesting */
  note?: string;
  /** label of the ring's open file */
  file: string;
  /** slot index -> label of the registered open file, or null for an empty slot */
  files: (string | null)[];
  /** slot index -> buffer, or null for an empty slot */
  buffers: (ManifestBuffer | null)[];
}

export interface Manifest {
  /** MANIFEST_SCHEMA when the generator wrote it; a reader takes any version up to it */
  schema: number;
  scenario: Scenario;
  params: {
    files: number;
    tasks: number;
    buffers: number;
    epollItems: number;
    /** registered file slots over every ring (the ring with no descriptor included) */
    uringFiles: number;
    /** (schema 2) made with --criu-compatible: `cases` names what was left out ("left out for CRIU: ...") */
    criuCompatible?: boolean;
  };
  rootPid: number;
  tasks: ManifestTask[];
  files: Record<string, ManifestFile>;
  epoll: ManifestEpoll[];
  io_uring: ManifestRing[];
  /** the hard cases this workload contains, one short sentence each */
  cases: string[];
}
