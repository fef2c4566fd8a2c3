/**
 * Unrelated idle processes for `--idle-tasks M` (build/workloads/iterbench-idle):
 * the other tasks of a machine, which a whole-system pass walks and a pid- or
 * cgroup-scoped pass does not. Started before the workloads, stopped after
 * them; they die with the harness (the helper's children carry a
 * parent-death signal, and an exit handler kills the helper).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function idleBinary(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'workloads', 'iterbench-idle');
}

export interface IdleTasks {
  /** the idle processes (not the helper) */
  pids: number[];
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

/** SIGKILL every helper still running (its children die with it) */
export function stopAllIdle(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}

const READY_TIMEOUT_MS = 120_000;

/** Start `count` idle processes; rejects with one line when they cannot be started. */
export async function startIdleTasks(count: number, extraFds = 0): Promise<IdleTasks> {
  if (!hooked) {
    process.on('exit', stopAllIdle);
    hooked = true;
  }
  const child = spawn(idleBinary(), [String(count), String(extraFds)], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-2048);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pids = await new Promise<number[]>((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`idle tasks: not ready after ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${idleBinary()}: ${e.message} (npm run setup builds it)`));
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`idle tasks: ${idleBinary()} exited (${sig ?? `code ${code}`}) before ready${err ? `: ${err.trim().split('\n').at(-1)}` : ''}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0 && out.startsWith('ready')) {
        clearTimeout(timer);
        resolveReady(out.slice(5, nl).trim().split(/\s+/).filter(Boolean).map(Number));
      }
    });
  }).catch((e: unknown) => {
    child.kill('SIGKILL');
    live.delete(child);
    throw e;
  });
  return {
    pids,
    async stop() {
      if (!live.has(child)) return;
      try {
        child.stdin!.end('exit\n');
      } catch {
        child.kill('SIGKILL');
      }
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
      if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') child.kill('SIGKILL');
      live.delete(child);
    },
  };
}
