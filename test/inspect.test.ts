/**
 * npm run inspect on a live process the user names: every method's view, the
 * disagreements, and the promise that the target is left as it was.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
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
