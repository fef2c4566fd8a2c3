/**
 * Freeze and thaw a set of processes as a checkpointer does before it reads
 * their state. Tried in order:
 *   cgroup2          a fresh cgroup under the cgroup2 mount, `cgroup.freeze` = 1,
 *                    wait for `frozen 1` in cgroup.events
 *   cgroup1-freezer  a fresh cgroup under the v1 freezer, freezer.state FROZEN
 *   sigstop          SIGSTOP, wait for state T in /proc/PID/stat; SIGCONT to thaw
 * Cgroups are named iterbench-<harness pid>-<n>, so two runs never touch each
 * other's. Thawing moves the tasks back where they were and removes the
 * cgroup; an exit handler thaws whatever is still frozen (a frozen orphan
 * would hang forever).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type FreezeMethod = 'cgroup2' | 'cgroup1-freezer' | 'sigstop';

export interface Frozen {
  method: FreezeMethod;
  pids: number[];
  /** the cgroup directory used (cgroup methods) */
  cgroup?: string;
  /**
   * cgroup methods: how many of the frozen processes are still alive, from
   * one read of cgroup.procs (which leaves out processes that have exited,
   * zombies included); undefined when it cannot say
   */
  liveCount?(): number | undefined;
  thaw(): Promise<void>;
  /** the same, synchronously (exit handlers) */
  thawSync(): void;
}

const FREEZE_TIMEOUT_MS = 5000;
const live = new Set<Frozen>();
let seq = 0;
let exitHook = false;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function mounts(): { dir: string; type: string; opts: string[] }[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      return { dir: f[1]!.replace(/\\040/g, ' '), type: f[2]!, opts: (f[3] ?? '').split(',') };
    });
}

/** The cgroup2 mount: /sys/fs/cgroup if it is cgroup2, else /sys/fs/cgroup/unified, else any. */
export function cgroup2Root(): string | undefined {
  const c2 = mounts().filter((m) => m.type === 'cgroup2').map((m) => m.dir);
  return c2.find((d) => d === '/sys/fs/cgroup') ?? c2.find((d) => d === '/sys/fs/cgroup/unified') ?? c2[0];
}

export function freezerV1Root(): string | undefined {
  return mounts().find((m) => m.type === 'cgroup' && m.opts.includes('freezer'))?.dir;
}

/** The cgroup path of pid in a hierarchy: "0::" for cgroup2, the "freezer" line for v1. */
function cgroupOf(pid: number, v2: boolean): string | undefined {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const [id, ctrls, ...rest] = line.split(':');
      if (v2 ? id === '0' && ctrls === '' : (ctrls ?? '').split(',').includes('freezer')) return rest.join(':');
    }
  } catch {
    /* gone */
  }
  return undefined;
}

function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Every thread of pid is stopped (state T or t), or the process is gone. */
function stopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  return tids.every((t) => {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const st = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
      return st === 'T' || st === 't' || st === 'Z' || st === 'X';
    } catch {
      return true;
    }
  });
}

function writeQuiet(path: string, text: string): boolean {
  try {
    writeFileSync(path, text);
    return true;
  } catch {
    return false;
  }
}

function rmdirRetrySync(dir: string): void {
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      sleepSync(10); // tasks still leaving (exiting) the cgroup
    }
  }
}

function registerExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', thawAllSync);
}

/** Thaw everything this process froze (for exit and signal handlers). */
export function thawAllSync(): void {
  for (const f of [...live]) {
    try {
      f.thawSync();
    } catch {
      /* keep going: thaw the others */
    }
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Cgroups left by a harness that died without thawing (SIGKILL): thaw them
 * so their tasks can die, and remove them once empty.
 */
function cleanStale(root: string, v2: boolean): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^iterbench-(\d+)-\d+$/.exec(name);
    if (!m || pidExists(Number(m[1]))) continue;
    const dir = join(root, name);
    writeQuiet(join(dir, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '0' : 'THAWED');
    try {
      rmdirSync(dir);
    } catch {
      /* tasks still inside: thawed now, removed by a later run */
    }
  }
}

/**
 * Thaw and remove the cgroups a harness process (pid) made, once it is gone
 * (a supervisor's safety net after its child died without thawing). Returns
 * the cgroups that could not be removed (tasks still inside).
 */
export function releaseCgroupsOf(pid: number): string[] {
  const left: string[] = [];
  for (const [root, v2] of [[cgroup2Root(), true], [freezerV1Root(), false]] as const) {
    if (!root) continue;
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(`iterbench-${pid}-`) || !/^iterbench-\d+-\d+$/.test(name)) continue;
      const dir = join(root, name);
      writeQuiet(join(dir, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '0' : 'THAWED');
      rmdirRetrySync(dir);
      if (existsSync(dir)) left.push(dir);
    }
  }
  return left;
}

/* A cgroup freezer (v2 or v1): move the tasks in, freeze, remember where they were. */
async function cgroupFreeze(pids: number[], v2: boolean): Promise<Frozen | string> {
  const root = v2 ? cgroup2Root() : freezerV1Root();
  if (!root) return v2 ? 'no cgroup2 mount' : 'no v1 freezer mount';
  cleanStale(root, v2);
  const dir = join(root, `iterbench-${process.pid}-${++seq}`);
  try {
    mkdirSync(dir);
  } catch (e) {
    return `mkdir ${dir}: ${(e as Error).message}`;
  }
  const ctl = v2 ? join(dir, 'cgroup.freeze') : join(dir, 'freezer.state');
  const origin = new Map<number, string>();
  const method: FreezeMethod = v2 ? 'cgroup2' : 'cgroup1-freezer';
  let done = false;
  const thawSync = () => {
    if (done) return;
    done = true;
    live.delete(frozen);
    writeQuiet(ctl, v2 ? '0' : 'THAWED');
    for (const [pid, from] of origin) {
      // back where it was, or to the root cgroup if that is gone
      if (!writeQuiet(join(root, from, 'cgroup.procs'), String(pid))) writeQuiet(join(root, 'cgroup.procs'), String(pid));
    }
    rmdirRetrySync(dir);
  };
  const want = new Set(pids);
  const liveCount = (): number | undefined => {
    if (done) return undefined;
    try {
      let n = 0;
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l && want.has(Number(l))) n++;
      return n;
    } catch {
      return undefined;
    }
  };
  const frozen: Frozen = { method, pids: [...pids], cgroup: dir, liveCount, thawSync, thaw: async () => thawSync() };
  live.add(frozen);
  registerExitHook();
  if (!existsSync(ctl)) {
    thawSync();
    return `${ctl} missing`;
  }
  for (const pid of pids) {
    const from = cgroupOf(pid, v2);
    if (from === undefined) {
      thawSync();
      return `pid ${pid}: no ${v2 ? 'cgroup2' : 'freezer'} membership (gone?)`;
    }
    origin.set(pid, from);
    if (!writeQuiet(join(dir, 'cgroup.procs'), String(pid))) {
      thawSync();
      return `cannot move pid ${pid} into ${dir}`;
    }
  }
  if (!writeQuiet(ctl, v2 ? '1' : 'FROZEN')) {
    thawSync();
    return `cannot write ${ctl}`;
  }
  const t0 = Date.now();
  for (;;) {
    const ok = v2
      ? /^frozen 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'))
      : readFileSync(ctl, 'utf8').trim() === 'FROZEN';
    if (ok) return frozen;
    if (Date.now() - t0 > FREEZE_TIMEOUT_MS) {
      thawSync();
      return `${method}: not frozen after ${FREEZE_TIMEOUT_MS} ms`;
    }
    await sleep(2);
  }
}

async function sigstopFreeze(pids: number[]): Promise<Frozen | string> {
  let done = false;
  const thawSync = () => {
    if (done) return;
    done = true;
    live.delete(frozen);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
  };
  const frozen: Frozen = { method: 'sigstop', pids: [...pids], thawSync, thaw: async () => thawSync() };
  live.add(frozen);
  registerExitHook();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGSTOP');
    } catch (e) {
      thawSync();
      return `kill(${pid}, SIGSTOP): ${(e as Error).message}`;
    }
  }
  const t0 = Date.now();
  while (!pids.every(stopped)) {
    if (Date.now() - t0 > FREEZE_TIMEOUT_MS) {
      thawSync();
      return `sigstop: not stopped after ${FREEZE_TIMEOUT_MS} ms`;
    }
    await sleep(2);
  }
  return frozen;
}

/**
 * Freeze pids (whole processes) with the first method that works here.
 * Throws only when none works.
 */
export async function freezePids(pids: number[], only?: FreezeMethod): Promise<Frozen> {
  const why: string[] = [];
  const attempts: [FreezeMethod, () => Promise<Frozen | string>][] = [
    ['cgroup2', () => cgroupFreeze(pids, true)],
    ['cgroup1-freezer', () => cgroupFreeze(pids, false)],
    ['sigstop', () => sigstopFreeze(pids)],
  ];
  for (const [name, attempt] of attempts) {
    if (only && name !== only) continue;
    const r = await attempt();
    if (typeof r !== 'string') return r;
    why.push(`${name}: ${r}`);
  }
  throw new Error(`cannot freeze ${pids.join(',')}: ${why.join('; ')}`);
}

/** Is every process of pids frozen, as seen by the method that froze it? */
export function isFrozen(f: Frozen): boolean {
  if (f.method === 'sigstop') return f.pids.every(stopped);
  if (!f.cgroup || !existsSync(f.cgroup)) return false;
  if (f.method === 'cgroup2') return /^frozen 1$/m.test(readFileSync(join(f.cgroup, 'cgroup.events'), 'utf8'));
  return readFileSync(join(f.cgroup, 'freezer.state'), 'utf8').trim() === 'FROZEN';
}

export { procState };
