/**
 * The workload generators and their life cycle, on real processes (run as
 * root). Each manifest is checked against the kernel's view of the tree:
 * /proc fd sets, fdinfo, stat, kcmp(2) through build/workloads/iterbench-kcmp
 * for which descriptors share an open file, epoll and io_uring fdinfo for
 * items and slots. Reading /proc here checks the generator, not a method.
 */
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Root, freezePids, freezerV1Root, isFrozen, procState, type FreezeMethod } from '../bench/freezer.js';
import { scenarioList, type Manifest, type ManifestFile, type Scenario, type ScenarioInfo, type ScenarioList } from '../bench/manifest.js';
import { startWorkload, stopAllWorkloads, workloadBinary, type Workload, type WorkloadOptions } from '../bench/workload.js';

const BIN = workloadBinary();
const KCMP = join(dirname(BIN), 'iterbench-kcmp');
const O_CLOEXEC = 0o2000000;

const started: Workload[] = [];
async function start(o: WorkloadOptions): Promise<Workload> {
  const s = await startWorkload(o);
  if (s.state !== 'ready') throw new Error(`workload ${o.scenario}: ${s.state}: ${s.reason}`);
  started.push(s.workload);
  return s.workload;
}
afterAll(async () => {
  for (const w of started) await w.stop();
  stopAllWorkloads();
});

function alive(pid: number): boolean {
  const st = procState(pid);
  return st !== undefined && st !== 'Z' && st !== 'X';
}

/** Processes whose command line mentions text (leftover detection). */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text) && alive(Number(d))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

interface KFd {
  fd: number;
  link: string;
  pos: number;
  flags: number;
  dev: number;
  ino: number;
}

function kernelFds(pid: number): Map<number, KFd> {
  const m = new Map<number, KFd>();
  for (const d of readdirSync(`/proc/${pid}/fd`)) {
    const fd = Number(d);
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    const st = statSync(`/proc/${pid}/fd/${fd}`);
    m.set(fd, {
      fd,
      link: readlinkSync(`/proc/${pid}/fd/${fd}`),
      pos: Number(/^pos:\s+(\d+)/m.exec(info)![1]),
      flags: parseInt(/^flags:\s+([0-7]+)/m.exec(info)![1]!, 8),
      dev: st.dev,
      ino: st.ino,
    });
  }
  return m;
}

function linkMatchesKind(f: ManifestFile, link: string): boolean {
  switch (f.kind) {
    case 'reg':
    case 'dir':
      return f.path === undefined ? link.startsWith('/') : link === f.path;
    case 'chr':
      return link.startsWith('/dev/');
    case 'pipe':
      return link === `pipe:[${f.ino}]` || link.startsWith('/');
    case 'socket':
      return link === `socket:[${f.ino}]`;
    case 'eventfd':
      return link === 'anon_inode:[eventfd]';
    case 'epoll':
      return link === 'anon_inode:[eventpoll]';
    case 'io_uring':
      return link === 'anon_inode:[io_uring]';
    case 'timerfd':
      return link === 'anon_inode:[timerfd]';
    case 'signalfd':
      return link === 'anon_inode:[signalfd]';
    case 'inotify':
      return link === 'anon_inode:inotify';
    default:
      return true;
  }
}

/** Ask iterbench-kcmp a batch of questions; one answer per line. */
async function kcmp(questions: string[]): Promise<number[]> {
  if (!questions.length) return [];
  const r = await execa(KCMP, [], { input: questions.join('\n') + '\n' });
  return r.stdout.trim().split('\n').map(Number);
}

/** Check a manifest against the kernel; returns a list of disagreements (empty = all good). */
async function checkManifest(m: Manifest): Promise<string[]> {
  const bad: string[] = [];
  const holders = new Map<string, { pid: number; fd: number }[]>();
  // threads and tables: /proc/PID/task is `threads`; kcmp(KCMP_FILES) says which tasks share a table
  const num = (a: number, b: number) => a - b;
  const tq: string[] = [];
  const tqWhat: { want: 'same' | 'different'; what: string }[] = [];
  m.tasks.forEach((t, i) => {
    const tids = readdirSync(`/proc/${t.pid}/task`).map(Number).sort(num);
    if (t.threads?.[0] !== t.pid) bad.push(`${t.pid}: threads ${JSON.stringify(t.threads)} do not start with the leader`);
    if (JSON.stringify(tids) !== JSON.stringify([...(t.threads ?? [])].sort(num))) bad.push(`${t.pid}: threads ${JSON.stringify(t.threads)} vs /proc ${JSON.stringify(tids)}`);
    if (!m.tasks.some((o) => o.pid === t.table)) bad.push(`${t.pid}: table ${t.table} is not a task of the manifest`);
    tq.push(`T ${t.pid} ${t.table}`);
    tqWhat.push({ want: 'same', what: `${t.pid} uses table ${t.table}` });
    const next = m.tasks[(i + 1) % m.tasks.length]!;
    if (next.table !== t.table) {
      tq.push(`T ${t.pid} ${next.pid}`);
      tqWhat.push({ want: 'different', what: `${t.pid} (table ${t.table}) and ${next.pid} (table ${next.table})` });
    }
  });
  (await kcmp(tq)).forEach((r, i) => {
    const w = tqWhat[i]!;
    if ((r === 0) !== (w.want === 'same')) bad.push(`kcmp(KCMP_FILES) ${r}: ${w.what}`);
  });
  const kernelByPid = new Map<number, Map<number, KFd>>();
  for (const t of m.tasks) {
    const k = kernelFds(t.pid);
    kernelByPid.set(t.pid, k);
    const mine = new Set(t.fds.map((x) => x.fd));
    for (const fd of k.keys()) if (!mine.has(fd)) bad.push(`${t.pid}: fd ${fd} (${k.get(fd)!.link}) not in the manifest`);
    for (const { fd, file } of t.fds) {
      const f = m.files[file];
      const kf = k.get(fd);
      if (!f) {
        bad.push(`${t.pid}/${fd}: label ${file} has no file entry`);
        continue;
      }
      if (!kf) {
        bad.push(`${t.pid}/${fd}: in the manifest, not in the kernel`);
        continue;
      }
      if (kf.ino !== f.ino || kf.dev !== f.dev) bad.push(`${t.pid}/${fd}: dev/ino ${kf.dev}/${kf.ino} vs ${f.dev}/${f.ino}`);
      if (kf.pos !== f.pos) bad.push(`${t.pid}/${fd}: pos ${kf.pos} vs ${f.pos}`);
      if ((kf.flags & ~O_CLOEXEC) !== (f.flags & ~O_CLOEXEC)) bad.push(`${t.pid}/${fd}: flags 0${kf.flags.toString(8)} vs 0${f.flags.toString(8)}`);
      if (!linkMatchesKind(f, kf.link)) bad.push(`${t.pid}/${fd}: ${kf.link} is not a ${f.kind} (${f.path ?? ''})`);
      if (!holders.has(file)) holders.set(file, []);
      holders.get(file)!.push({ pid: t.pid, fd });
    }
  }
  // sharing: all holders of a label are one open file; different labels on one inode are not
  const same: string[] = [];
  const sameWhat: string[] = [];
  for (const [label, hs] of holders) {
    for (const h of hs.slice(1)) {
      same.push(`F ${hs[0]!.pid} ${hs[0]!.fd} ${h.pid} ${h.fd}`);
      sameWhat.push(`${label}: ${hs[0]!.pid}/${hs[0]!.fd} vs ${h.pid}/${h.fd}`);
    }
  }
  const byInode = new Map<string, string[]>();
  for (const label of holders.keys()) {
    const f = m.files[label]!;
    const key = `${f.dev}:${f.ino}`;
    if (!byInode.has(key)) byInode.set(key, []);
    byInode.get(key)!.push(label);
  }
  const diff: string[] = [];
  const diffWhat: string[] = [];
  const pair = (x: string, y: string) => {
    const a = holders.get(x)![0]!;
    const b = holders.get(y)![0]!;
    diff.push(`F ${a.pid} ${a.fd} ${b.pid} ${b.fd}`);
    diffWhat.push(`${x} vs ${y}`);
  };
  for (const labels of byInode.values()) {
    if (labels.length <= 60) {
      // every pair
      for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) pair(labels[i]!, labels[j]!);
    } else {
      // big groups (eventfds share one anonymous inode): neighbours plus a deterministic sample
      for (let i = 1; i < labels.length; i++) pair(labels[i - 1]!, labels[i]!);
      for (let k = 0; k < 2000; k++) {
        const i = (k * 7919) % labels.length;
        const j = (k * 104729 + 1) % labels.length;
        if (i !== j) pair(labels[i]!, labels[j]!);
      }
    }
  }
  const rs = await kcmp(same);
  rs.forEach((r, i) => r !== 0 && bad.push(`kcmp says not shared (${r}): ${sameWhat[i]}`));
  const rd = await kcmp(diff);
  rd.forEach((r, i) => r === 0 && bad.push(`kcmp says shared: ${diffWhat[i]}`));

  // epoll: fdinfo tfd lines are exactly the manifest items; targets by KCMP_EPOLL_TFD
  const eq: string[] = [];
  const eqWhat: string[][] = [];
  for (const e of m.epoll) {
    const info = readFileSync(`/proc/${e.pid}/fdinfo/${e.epfd}`, 'utf8');
    const lines = [...info.matchAll(/^tfd:\s+(\d+) events:\s+([0-9a-f]+) data:\s+([0-9a-f]+)\s+pos:\d+ ino:([0-9a-f]+)/gm)];
    const got = lines.map((l) => `${l[1]} ${parseInt(l[2]!, 16)} 0x${BigInt('0x' + l[3]).toString(16)} ${parseInt(l[4]!, 16)}`).sort();
    const want = e.items.map((it) => `${it.tfd} ${it.events} ${it.data} ${m.files[it.target]!.ino}`).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`epoll ${e.pid}/${e.epfd}: items differ:\n  kernel ${got.join(', ')}\n  manifest ${want.join(', ')}`);
    const perTfd = new Map<number, number>();
    for (const it of e.items) perTfd.set(it.tfd, (perTfd.get(it.tfd) ?? 0) + 1);
    for (const it of e.items) {
      const h = holders.get(it.target)?.[0];
      if (!h) {
        // case (f): only an io_uring registered-file slot holds the target (fdinfo matched it above)
        if (!m.io_uring.some((r) => r.files.includes(it.target))) bad.push(`epoll ${e.pid}/${e.epfd} item ${it.data}: target ${it.target} held by no descriptor or ring slot`);
        continue;
      }
      const qs = [];
      for (let toff = 0; toff < perTfd.get(it.tfd)!; toff++) qs.push(`E ${h.pid} ${h.fd} ${e.pid} ${e.epfd} ${it.tfd} ${toff}`);
      eq.push(...qs);
      eqWhat.push(qs.map(() => `epoll ${e.pid}/${e.epfd} item ${it.data} tfd ${it.tfd} target ${it.target}`));
    }
  }
  const re = await kcmp(eq);
  let at = 0;
  for (const group of eqWhat) {
    const answers = re.slice(at, at + group.length);
    at += group.length;
    if (!answers.includes(0)) bad.push(`KCMP_EPOLL_TFD: no item matches: ${group[0]} (${answers.join(',')})`);
  }

  // io_uring: UserFiles / UserBufs tables are exactly the manifest slots
  for (const r of m.io_uring) {
    if (r.fd === null) {
      // no descriptor reaches it: its mappings do (each ring has its own inode), and no descriptor of the tree holds it
      const f = m.files[r.file];
      const maps = readFileSync(`/proc/${r.pid}/maps`, 'utf8');
      if (!f) bad.push(`ring ${r.pid}/${r.registeredIndex}: label ${r.file} has no file entry`);
      else if (!new RegExp(` ${f.ino} +anon_inode:\\[io_uring\\]$`, 'm').test(maps)) bad.push(`ring ${r.pid}/registered ${r.registeredIndex}: no [io_uring] mapping of inode ${f.ino}`);
      if (holders.has(r.file)) bad.push(`ring ${r.pid}/registered ${r.registeredIndex}: a descriptor holds it`);
      for (const [pid, k] of kernelByPid) for (const kf of k.values()) if (f && kf.ino === f.ino && kf.dev === f.dev) bad.push(`ring ${r.pid}/registered ${r.registeredIndex}: ${pid}/${kf.fd} is it`);
      if (typeof r.registeredIndex !== 'number' || r.tid !== r.pid) bad.push(`ring ${r.pid}: fd null without registeredIndex/tid`);
      continue;
    }
    const info = readFileSync(`/proc/${r.pid}/fdinfo/${r.fd}`, 'utf8');
    const files = /^UserFiles:\s+(\d+)\n((?: *\d+: .*\n)*)/m.exec(info);
    const bufs = /^UserBufs:\s+(\d+)\n((?: *\d+: .*\n)*)/m.exec(info);
    if (!files || !bufs) {
      bad.push(`ring ${r.pid}/${r.fd}: tables missing from fdinfo`);
      continue;
    }
    if (Number(files[1]) !== r.files.length) bad.push(`ring ${r.pid}/${r.fd}: ${files[1]} file slots vs ${r.files.length}`);
    const gotFiles = new Map(files[2]!.split('\n').filter(Boolean).map((l) => {
      const mm = /^ *(\d+): (.*)$/.exec(l)!;
      return [Number(mm[1]), mm[2]!] as const;
    }));
    r.files.forEach((label, i) => {
      const got = gotFiles.get(i);
      if (label === null) {
        if (got !== undefined) bad.push(`ring slot ${i}: empty in the manifest, ${got} in the kernel`);
        return;
      }
      const f = m.files[label]!;
      const h = holders.get(label)?.[0];
      const want = h ? readlinkSync(`/proc/${h.pid}/fd/${h.fd}`) : f.path;
      if (got === undefined) bad.push(`ring slot ${i}: ${label} in the manifest, empty in the kernel`);
      else if (want !== undefined ? got !== want : !linkMatchesKind(f, got)) bad.push(`ring slot ${i}: ${got} vs ${label} (${f.kind} ${want ?? ''})`);
    });
    if (Number(bufs[1]) !== r.buffers.length) bad.push(`ring ${r.pid}/${r.fd}: ${bufs[1]} buffer slots vs ${r.buffers.length}`);
    const gotBufs = new Map(bufs[2]!.split('\n').filter(Boolean).map((l) => {
      const mm = /^ *(\d+): (.*)$/.exec(l)!;
      return [Number(mm[1]), mm[2]!] as const;
    }));
    r.buffers.forEach((b, i) => {
      const got = gotBufs.get(i);
      const want = b ? `${b.addr}/${b.len}` : '<none>';
      if ((got ?? '<none>') !== want) bad.push(`ring buffer slot ${i}: ${got} vs ${want}`);
    });
  }
  return bad;
}

/** Small sizes per scenario; a scenario not named here runs with SMALL_DEFAULT. */
const SMALL: Record<string, Omit<WorkloadOptions, 'scenario'>> = {
  files: { files: 120 },
  shared: { files: 160, tasks: 3 },
  epoll: { files: 60 },
  io_uring: { files: 60, buffers: 20 },
  all: { files: 160, tasks: 3, buffers: 16 },
};
const SMALL_DEFAULT = { files: 120, buffers: 16 };

function smallOptions(s: ScenarioInfo): WorkloadOptions {
  return { scenario: s.name, ...SMALL_DEFAULT, ...(s.spreadsOverTasks ? { tasks: Math.max(3, s.minTasks) } : {}), ...SMALL[s.name] };
}

describe('the generator scenarios', () => {
  // every scenario the generator lists, the new ones included
  for (const info of scenarioList().scenarios) {
    const name = info.name;
    const o = smallOptions(info);
    it(`the ${name} scenario writes a manifest that matches the kernel's view of every task`, async () => {
      const w = await start(o);
      const m = w.manifest;
      expect(m.scenario).toBe(name);
      expect(w.pids).toContain(w.rootPid);
      expect(new Set(w.pids).size).toBe(w.pids.length);
      expect(m.cases.length).toBeGreaterThan(0);
      for (const c of m.cases) expect(info.hardCases, c).toContain(c);
      for (const t of m.tasks) expect(t.fds.slice(0, 3).map((x) => x.fd)).toEqual([0, 1, 2]);
      expect(m.params.tasks).toBe(m.tasks.length);
      expect(m.params.files).toBe(o.files);
      expect(m.epoll.reduce((a, e) => a + e.items.length, 0)).toBe(m.params.epollItems);
      expect(m.io_uring.reduce((a, r) => a + r.files.length, 0)).toBe(m.params.uringFiles);
      expect(m.io_uring.reduce((a, r) => a + r.buffers.length, 0)).toBe(m.params.buffers);
      expect(await checkManifest(m)).toEqual([]);
      await w.stop();
      expect(w.pids.filter(alive)).toEqual([]);
    });
  }

  it('batched work (SCM_RIGHTS messages, io_uring table updates) at a few thousand files matches the kernel too', async () => {
    // SCM batches are 200 descriptors, io_uring updates 128 slots: these sizes take several of each
    for (const o of [
      { scenario: 'shared', files: 6000, tasks: 2 },
      { scenario: 'io_uring', files: 700, buffers: 300 },
      { scenario: 'epoll', files: 3000 },
    ] as WorkloadOptions[]) {
      const w = await start(o);
      expect(await checkManifest(w.manifest), o.scenario).toEqual([]);
      await w.stop();
    }
  });

  it('the manifest check itself notices a wrong label, position, epoll item or ring slot', async () => {
    const w = await start({ scenario: 'all', files: 120, tasks: 2, buffers: 8 });
    const clone = () => JSON.parse(JSON.stringify(w.manifest)) as Manifest;
    expect(await checkManifest(clone())).toEqual([]);
    // two descriptors of one task pointing at different open files: swap their labels
    const m1 = clone();
    const fds = m1.tasks[0]!.fds;
    const i = fds.findIndex((x) => m1.files[x.file]!.kind === 'eventfd');
    const j = fds.findIndex((x, k) => k > i && m1.files[x.file]!.kind === 'eventfd' && x.file !== fds[i]!.file);
    fds[i]!.file = fds[j]!.file;
    expect((await checkManifest(m1)).join('\n')).toMatch(/kcmp says/);
    const m2 = clone();
    const reg = Object.values(m2.files).find((f) => f.kind === 'reg')!;
    reg.pos += 1;
    expect((await checkManifest(m2)).join('\n')).toMatch(/pos/);
    const m3 = clone();
    m3.epoll[1]!.items.pop();
    expect((await checkManifest(m3)).join('\n')).toMatch(/items differ/);
    const m4 = clone();
    const slot = m4.io_uring[0]!.files.findIndex((x) => x !== null);
    m4.io_uring[0]!.files[slot] = null;
    expect((await checkManifest(m4)).join('\n')).toMatch(/ring slot/);
    await w.stop();
  });

  it('the files scenario holds N descriptors besides 0, 1 and 2, with every kind it promises', async () => {
    const w = await start({ scenario: 'files', files: 200 });
    const root = w.manifest.tasks[0]!;
    expect(root.fds.length).toBe(203);
    const kinds = new Set(Object.values(w.manifest.files).map((f) => f.kind));
    for (const k of ['reg', 'dir', 'pipe', 'socket', 'chr', 'eventfd', 'timerfd', 'signalfd', 'inotify']) expect(kinds, k).toContain(k);
    const labels = root.fds.map((x) => x.file);
    expect(new Set(labels).size).toBeLessThan(labels.length); // dup'd descriptors
    const regInodes = Object.values(w.manifest.files).filter((f) => f.kind === 'reg').map((f) => f.ino);
    expect(new Set(regInodes).size).toBeLessThan(regInodes.length); // an inode opened twice
    const positions = Object.values(w.manifest.files).filter((f) => f.kind === 'reg').map((f) => f.pos);
    expect(new Set(positions).size).toBe(positions.length); // distinct offsets
    await w.stop();
  });

  it('the shared scenario shares files between tasks by inheritance and SCM_RIGHTS, and keeps private ones', async () => {
    const w = await start({ scenario: 'shared', files: 200, tasks: 4 });
    const m = w.manifest;
    expect(m.tasks.length).toBe(4);
    const owners = new Map<string, Set<number>>();
    for (const t of m.tasks) for (const x of t.fds) owners.set(x.file, (owners.get(x.file) ?? new Set()).add(t.pid));
    const inAll = [...owners.values()].filter((s) => s.size === 4).length;
    const inTwo = [...owners.entries()].filter(([l, s]) => s.size === 2 && /SCM_RIGHTS/.test(m.files[l]!.note ?? '')).length;
    const onlyReceiver = [...owners.entries()].filter(([l, s]) => s.size === 1 && /only the receiver/.test(m.files[l]!.note ?? '')).length;
    const priv = [...owners.values()].filter((s) => s.size === 1).length;
    expect(inAll).toBeGreaterThan(10);
    expect(inTwo).toBeGreaterThan(0);
    expect(onlyReceiver).toBeGreaterThan(0);
    expect(priv).toBeGreaterThan(20);
    const total = m.tasks.reduce((a, t) => a + t.fds.length, 0);
    expect(total).toBeGreaterThanOrEqual(200);
    await w.stop();
  });

  it('the epoll scenario contains every hard case and no item the kernel removed', async () => {
    const w = await start({ scenario: 'epoll', files: 40 });
    const m = w.manifest;
    const items = m.epoll.flatMap((e) => e.items.map((it) => ({ ...it, pid: e.pid, epfd: e.epfd })));
    expect(items.length).toBe(40);
    expect(new Set(items.map((i) => i.data)).size).toBe(items.length);
    const root = m.tasks.find((t) => t.role === 'root')!;
    const rootFd = new Map(root.fds.map((x) => [x.fd, x.file]));
    // (a) the tfd now names another open file (b), and the target lives on under another number
    const a = items.find((i) => /^\(a\)/.test(i.note ?? ''))!;
    const b = items.find((i) => /^\(b\)/.test(i.note ?? ''))!;
    expect(a.tfd).toBe(b.tfd);
    expect(a.target).not.toBe(b.target);
    expect(rootFd.get(a.tfd)).toBe(b.target);
    expect([...rootFd.values()]).toContain(a.target);
    // (c) one open file through two descriptors
    const c = items.filter((i) => /^\(c\)/.test(i.note ?? ''));
    expect(c.length).toBe(2);
    expect(c[0]!.target).toBe(c[1]!.target);
    expect(c[0]!.tfd).not.toBe(c[1]!.tfd);
    // (d) the target is held only by another task
    const d = items.find((i) => /^\(d\)/.test(i.note ?? ''))!;
    expect([...rootFd.values()]).not.toContain(d.target);
    expect(m.tasks.some((t) => t.pid !== root.pid && t.fds.some((x) => x.file === d.target))).toBe(true);
    // (e) stated as a case, and no item targets a file nobody holds
    expect(m.cases.some((s) => /^\(e\)/.test(s))).toBe(true);
    const held = new Set(m.tasks.flatMap((t) => t.fds.map((x) => x.file)));
    for (const it of items) expect(held.has(it.target), it.data).toBe(true);
    expect(await checkManifest(m)).toEqual([]);
    await w.stop();
  });

  it('the threads scenario shows one descriptor table from several tasks: threads, clone(CLONE_FILES), and a forked copy apart', async () => {
    const w = await start({ scenario: 'threads', files: 80 });
    const m = w.manifest;
    expect(m.schema).toBe(2);
    const root = m.tasks.find((t) => t.role === 'root')!;
    const sharer = m.tasks.find((t) => t.role === 'clone-files')!;
    const copy = m.tasks.find((t) => t.role === 'fork-copy')!;
    expect(root.threads!.length).toBeGreaterThanOrEqual(4); // the leader and three threads
    expect(root.table).toBe(root.pid);
    expect(sharer.table).toBe(root.pid);
    expect(sharer.pid).not.toBe(root.pid);
    expect(copy.table).toBe(copy.pid);
    // one table: the same descriptors, N of them besides 0, 1, 2
    expect(sharer.fds).toEqual(root.fds);
    expect(root.fds.length).toBe(83);
    // the forked copy: the same numbers and open files, in its own table
    expect(copy.fds).toEqual(root.fds);
    // files made by threads other than the leader, and by the clone(CLONE_FILES) process
    const notes = root.fds.map((x) => m.files[x.file]!.note ?? '');
    expect(notes.filter((n) => /opened by thread \d of the root/.test(n)).length).toBe(3);
    expect(notes.some((n) => /clone\(CLONE_FILES\) process/.test(n))).toBe(true);
    for (const c of ['multi-threaded', 'clone\\(CLONE_FILES\\)', 'forked from']) expect(m.cases.join('\n')).toMatch(new RegExp(c));
    expect(await checkManifest(m)).toEqual([]);
    await w.stop();
    expect(w.pids.filter(alive)).toEqual([]);
  });

  it('the manifest check notices a wrong table or thread list', async () => {
    const w = await start({ scenario: 'threads', files: 40 });
    const clone = () => JSON.parse(JSON.stringify(w.manifest)) as Manifest;
    const m1 = clone();
    m1.tasks.find((t) => t.role === 'fork-copy')!.table = m1.rootPid;
    expect((await checkManifest(m1)).join('\n')).toMatch(/KCMP_FILES/);
    const m2 = clone();
    m2.tasks.find((t) => t.role === 'clone-files')!.table = m2.tasks.find((t) => t.role === 'clone-files')!.pid;
    expect((await checkManifest(m2)).join('\n')).toMatch(/KCMP_FILES|not a task/);
    const m3 = clone();
    m3.tasks[0]!.threads!.pop();
    expect((await checkManifest(m3)).join('\n')).toMatch(/threads/);
    await w.stop();
  });

  it('the tree scenario holds exactly N descriptors over K tasks in a fork tree of several levels, most of them few', async () => {
    const w = await start({ scenario: 'tree', files: 1500, tasks: 300 });
    const m = w.manifest;
    expect(m.tasks.length).toBe(300);
    expect(m.params.tasks).toBe(300);
    expect(m.tasks.reduce((a, t) => a + t.fds.length - 3, 0)).toBe(1500);
    // levels, from the kernel's parent links
    const ppid = new Map(m.tasks.map((t) => [t.pid, Number(readFileSync(`/proc/${t.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])]));
    const parentOf = (pid: number) => ppid.get(pid)!;
    const depth = (pid: number) => {
      let d = 0;
      for (let p = pid; p !== m.rootPid; p = parentOf(p)) d++;
      return d;
    };
    expect(Math.max(...m.tasks.map((t) => depth(t.pid)))).toBeGreaterThanOrEqual(3);
    // most tasks hold few descriptors, a few hold many
    const counts = m.tasks.map((t) => t.fds.length - 3).sort((a, b) => a - b);
    expect(counts[150]).toBeLessThanOrEqual(4);
    expect(counts.at(-1)).toBeGreaterThan(200);
    // inherited over two levels: a task holding an open file of its grandparent's
    const labels = new Map(m.tasks.map((t) => [t.pid, new Set(t.fds.slice(3).map((x) => x.file))]));
    const grand = m.tasks.filter((t) => depth(t.pid) >= 2).some((t) => {
      const g = labels.get(parentOf(parentOf(t.pid)))!;
      return [...labels.get(t.pid)!].some((l) => g.has(l));
    });
    expect(grand).toBe(true);
    const notes = Object.values(m.files).map((f) => f.note ?? '');
    for (const n of ['inherited down the fork tree', 'only the parent holds it', 'the sender kept it', "dup'd in a task of the fork tree"]) {
      expect(notes.some((x) => x.includes(n)), n).toBe(true);
    }
    expect(await checkManifest(m)).toEqual([]);
    await w.stop();
    expect(w.pids.filter(alive)).toEqual([]);
  });

  it('the all scenario spreads its epoll items and registered files over every task when the root cannot hold them', async () => {
    const w = await start({ scenario: 'all', files: 2000, tasks: 2, epollItems: 30000, uringFiles: 30000, buffers: 8 });
    const m = w.manifest;
    expect(m.tasks.length).toBeGreaterThanOrEqual(3);
    expect(m.params.tasks).toBe(m.tasks.length);
    expect(new Set(m.epoll.map((e) => e.pid)).size).toBe(m.tasks.length);
    expect(new Set(m.io_uring.map((r) => r.pid)).size).toBe(m.tasks.length);
    expect(m.epoll.reduce((a, e) => a + e.items.length, 0)).toBe(30000);
    expect(m.io_uring.reduce((a, r) => a + r.files.length, 0)).toBe(30000);
    expect(m.io_uring.reduce((a, r) => a + r.buffers.length, 0)).toBe(8);
    for (const t of m.tasks) expect(t.fds.length).toBeLessThan(20000);
    expect(m.cases.some((c) => /spread over the tasks/.test(c))).toBe(true);
    // the hard cases stay in the root
    expect(m.epoll.filter((e) => e.items.some((it) => /^\(a\)/.test(it.note ?? ''))).map((e) => e.pid)).toEqual([m.rootPid]);
    expect(await checkManifest(m)).toEqual([]);
    await w.stop();
  });

  it('the io_uring scenario has empty slots, descriptorless files and unmapped buffers', async () => {
    const w = await start({ scenario: 'io_uring', files: 50, buffers: 30 });
    const r = w.manifest.io_uring.find((x) => x.fd !== null)!;
    expect(w.manifest.io_uring.reduce((a, x) => a + x.files.length, 0)).toBe(50);
    expect(w.manifest.io_uring.reduce((a, x) => a + x.buffers.length, 0)).toBe(30);
    expect(r.files).toContain(null);
    expect(r.buffers).toContain(null);
    const held = new Set(w.manifest.tasks.flatMap((t) => t.fds.map((x) => x.file)));
    const descriptorless = r.files.filter((l) => l !== null && !held.has(l));
    expect(descriptorless.length).toBeGreaterThan(10);
    expect(r.files.filter((l) => l !== null && held.has(l)).length).toBeGreaterThan(0);
    expect(r.buffers.some((b) => /munmap/.test(b?.note ?? ''))).toBe(true);
    expect(new Set(r.buffers.map((b) => b?.len)).size).toBeGreaterThan(4);
    await w.stop();
  });

  for (const scenario of ['io_uring', 'all']) {
    it(`the ${scenario} scenario has a ring no descriptor reaches, with files only it holds`, async () => {
      const w = await start({ scenario, files: 80, tasks: 2, buffers: 8 });
      const m = w.manifest;
      const hidden = m.io_uring.filter((x) => x.fd === null);
      expect(hidden.length).toBe(1);
      const h = hidden[0]!;
      expect(h.pid).toBe(m.rootPid);
      expect(h.tid).toBe(m.rootPid);
      expect(h.registeredIndex).toBeGreaterThanOrEqual(0);
      expect(m.files[h.file]!.kind).toBe('io_uring');
      expect(h.files.length).toBe(8);
      expect(h.buffers.length).toBe(2);
      const held = new Set(m.tasks.flatMap((t) => t.fds.map((x) => x.file)));
      expect(held.has(h.file)).toBe(false);
      expect(h.files.filter((l) => l !== null && !held.has(l)).length).toBeGreaterThan(2);
      expect(m.cases.some((c) => /reachable by no descriptor/.test(c))).toBe(true);
      // the checker fails a hidden ring it cannot find in the task's mappings
      const doctored = JSON.parse(JSON.stringify(m)) as Manifest;
      doctored.files[h.file]!.ino += 1;
      expect((await checkManifest(doctored)).join('\n')).toMatch(/no \[io_uring\] mapping/);
      expect(await checkManifest(m)).toEqual([]);
      await w.stop();
    });
  }
});

/** A CRIU that passed `criu check` (PATH, or the cache npm run criu:build fills), if any. */
function findCriu(): string | undefined {
  const cache = '/var/cache/iterbench/criu';
  const found: string[] = [];
  try {
    for (const d of readdirSync(cache)) if (existsSync(join(cache, d, 'ok')) && existsSync(join(cache, d, 'bin/criu'))) found.push(join(cache, d, 'bin/criu'));
  } catch {
    /* no cache */
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'criu'))) found.push(join(dir, 'criu'));
  return found[0];
}

describe('--criu-compatible', () => {
  const O_DIRECT = 0o40000;
  const list = scenarioList();
  for (const info of list.scenarios.filter((s) => s.criu.compatible)) {
    it(`the ${info.name} scenario's CRIU-compatible variant matches the kernel, with no O_DIRECT pipe and no io_uring`, async () => {
      const w = await start({ ...smallOptions(info), criuCompatible: true });
      const m = w.manifest;
      expect(m.params.criuCompatible).toBe(true);
      expect(m.io_uring).toEqual([]);
      expect(Object.values(m.files).filter((f) => f.kind === 'io_uring')).toEqual([]);
      expect(Object.values(m.files).filter((f) => f.kind === 'pipe' && f.flags & O_DIRECT)).toEqual([]);
      const leftOut = info.criu.compatible ? info.criu.leftOut : [];
      for (const c of m.cases) expect([...info.hardCases, ...leftOut], c).toContain(c);
      expect(m.cases.some((c) => c.startsWith('left out for CRIU'))).toBe(true);
      expect(await checkManifest(m)).toEqual([]);
      await w.stop();
    });
  }

  it('keeps the sizes: the same tasks, descriptors and epoll items as the full variant', async () => {
    for (const o of [{ scenario: 'shared', files: 300, tasks: 3 }, { scenario: 'epoll', files: 200 }, { scenario: 'tree', files: 300, tasks: 20 }] as WorkloadOptions[]) {
      const full = await start(o);
      const crit = await start({ ...o, criuCompatible: true });
      const count = (m: Manifest) => Object.fromEntries(m.tasks.map((t) => [t.role, t.fds.length]));
      const want = count(full.manifest);
      // epoll case (d) without CRIU's refusal: the epoll's task keeps the target too
      if (o.scenario === 'epoll') want.root! += 1;
      expect(count(crit.manifest), o.scenario).toEqual(want);
      expect({ ...crit.manifest.params, criuCompatible: false }, o.scenario).toEqual(full.manifest.params);
      const items = full.manifest.epoll.map((e) => e.items.length);
      // the variant registers case (c)'s two items in instance 0, not beside (a) and (b) in instance 1
      if (o.scenario === 'epoll') [items[0], items[1]] = [items[0]! + 2, items[1]! - 2];
      expect(crit.manifest.epoll.map((e) => e.items.length), o.scenario).toEqual(items);
      await full.stop();
      await crit.stop();
    }
  });

  it('all leaves out its io_uring part and says so; io_uring has no variant (exit 2, one line)', async () => {
    const w = await start({ scenario: 'all', files: 200, tasks: 2, criuCompatible: true });
    expect(w.manifest.params.uringFiles).toBe(0);
    expect(w.manifest.cases.some((c) => /left out for CRIU: the io_uring part/.test(c))).toBe(true);
    await w.stop();
    const r = await execa(BIN, ['io_uring', '--criu-compatible', '--manifest', join(tmpdir(), 'iterbench-never.json')], { reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/no CRIU-compatible variant: CRIU 4\.2 cannot dump io_uring/);
    expect(list.scenarios.find((s) => s.name === 'io_uring')!.criu.compatible).toBe(false);
  });

  it('past 1000 pipes in the tree, the variant makes socket pairs instead (CRIU dumps at most 1024 pipes)', async () => {
    const w = await start({ scenario: 'files', files: 10000, criuCompatible: true });
    const pipes = new Set(Object.values(w.manifest.files).filter((f) => f.kind === 'pipe').map((f) => f.ino));
    expect(pipes.size).toBeLessThanOrEqual(1000);
    expect(pipes.size).toBeGreaterThan(900);
    expect(w.manifest.cases.some((c) => /pipes past the first 1000/.test(c))).toBe(true);
    expect(w.manifest.tasks[0]!.fds.length).toBe(10003);
    await w.stop();
  });

  const criu = findCriu();
  it.skipIf(!criu)(`criu dump takes every CRIU-compatible variant and refuses the full files scenario${criu ? '' : ' (skipped: no CRIU built; npm run criu:build)'}`, async () => {
    // The generator's stdio are pipes here (through sh and cat): the harness's own stdio are
    // libuv socket pairs, and CRIU refuses half of an external stream unix connection.
    const dump = async (o: WorkloadOptions) => {
      const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'iterbench-criu-'));
      const args = [o.scenario, '--files', String(o.files), '--manifest', join(dir, 'manifest.json')];
      if (o.tasks) args.push('--tasks', String(o.tasks));
      if (o.buffers !== undefined) args.push('--buffers', String(o.buffers));
      if (o.criuCompatible) args.push('--criu-compatible');
      const sh = execa('sh', ['-c', 'cat | "$0" "$@" 2>&1 | cat', BIN, ...args], { reject: false, buffer: false, stdin: 'pipe', stdout: 'pipe' });
      try {
        const pid = await new Promise<number>((res, rej) => {
          let out = '';
          sh.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /ready (\d+)/.exec(out);
            if (m) res(Number(m[1]));
          });
          setTimeout(() => rej(new Error(`not ready: ${out}`)), 20000);
        });
        const images = join(dir, 'images');
        mkdirSync(images);
        const r = await execa(criu!, ['dump', '--leave-running', '-t', String(pid), '-D', images, '--shell-job', '-v2', '-o', 'dump.log'], { reject: false, stdin: 'ignore' });
        const log = existsSync(join(images, 'dump.log')) ? readFileSync(join(images, 'dump.log'), 'utf8') : '';
        expect(alive(pid)).toBe(true); // --leave-running
        return { code: r.exitCode, log };
      } finally {
        sh.stdin.end('exit\n');
        await sh;
        rmSync(dir, { recursive: true, force: true });
      }
    };
    for (const info of list.scenarios.filter((s) => s.criu.compatible)) {
      const r = await dump({ ...smallOptions(info), criuCompatible: true });
      expect(r.code, `${info.name}: ${r.log.split('\n').filter((l) => /Error/.test(l)).join('\n')}`).toBe(0);
    }
    const full = await dump({ scenario: 'files', files: 200 });
    expect(full.code).not.toBe(0);
    expect(full.log).toMatch(/packetized mode for pipes is not supported/);
  });
});

describe('sizes and arguments', () => {
  const bad: string[][] = [
    [],
    ['nosuch', '--manifest', '/tmp/x.json'],
    ['files'],
    ['files', '--manifest', 'MANIFEST', '--files', '-5'],
    ['files', '--manifest', 'MANIFEST', '--files', '0'],
    ['files', '--manifest', 'MANIFEST', '--files', 'ten'],
    ['files', '--manifest', 'MANIFEST', '--files', '12x'],
    ['files', '--manifest', 'MANIFEST', '--bogus'],
    ['shared', '--manifest', 'MANIFEST', '--tasks', '1'],
    ['epoll', '--manifest', 'MANIFEST', '--epoll-items', '3'],
    ['files', '--manifest', 'MANIFEST', '--files'],
    ['files', '--manifest', 'MANIFEST', 'extra'],
    ['--list', '--bogus'],
    ['--list', '--files', 'ten'],
  ];
  for (const args of bad) {
    it(`bad arguments (${args.join(' ') || 'none'}) give one line on stderr, exit 2 and no process`, async () => {
      const tag = `iterbench-badargs-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const a = args.map((x) => (x === 'MANIFEST' ? join(tmpdir(), `${tag}.json`) : x));
      const r = await execa(BIN, a, { reject: false, stdin: 'ignore' });
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(processesMentioning(tag)).toEqual([]);
      expect(existsSync(join(tmpdir(), `${tag}.json`))).toBe(false);
    });
  }

  it('--list describes every scenario as JSON: name, summary, hard cases, needs and the largest N that fits here', async () => {
    const r = await execa(BIN, ['--list'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const list = JSON.parse(r.stdout) as ScenarioList;
    expect(list.rlimitNofile).toBeGreaterThan(list.fdMargin);
    const names = list.scenarios.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of ['files', 'shared', 'epoll', 'io_uring', 'all']) expect(names).toContain(s);
    for (const s of list.scenarios) {
      expect(s.name).toMatch(/^[a-z][a-z0-9_-]*$/);
      expect(s.summary.length, s.name).toBeGreaterThan(10);
      expect(s.hardCases.length, s.name).toBeGreaterThan(0);
      expect(new Set(s.hardCases).size, s.name).toBe(s.hardCases.length);
      expect(s.minTasks).toBeGreaterThanOrEqual(1);
      expect(s.maxTasks).toBeGreaterThanOrEqual(s.minTasks);
      expect(s.maxFilesReason.length, s.name).toBeGreaterThan(0);
      // a single task (or table, or ring) cannot pass the descriptor limit; spreading scenarios can
      if (s.spreadsOverTasks) expect(s.maxFiles, s.name).toBeGreaterThan(list.rlimitNofile);
      else expect(s.maxFiles, s.name).toBeLessThanOrEqual(list.rlimitNofile);
      // the largest N it names fits, one more does not (same defaults as --list)
      if (s.maxFiles < list.maxSize) {
        expect((await execa(BIN, [s.name, '--check', '--files', String(s.maxFiles)], { reject: false })).exitCode, s.name).toBe(0);
        expect((await execa(BIN, [s.name, '--check', '--files', String(s.maxFiles + 1)], { reject: false })).exitCode, s.name).toBe(2);
      }
    }
    expect(list.scenarios.find((s) => s.name === 'io_uring')!.needs).toEqual(['io_uring']);
    expect(list.scenarios.find((s) => s.name === 'files')!.needs).toEqual([]);
    // one scenario alone, and the sizes --list is given change its largest N
    const one = JSON.parse((await execa(BIN, ['io_uring', '--list', '--buffers', '16'])).stdout) as ScenarioList;
    expect(one.scenarios.map((s) => s.name)).toEqual(['io_uring']);
    // and TypeScript reads the same list (asked once, cached)
    expect(scenarioList()).toEqual(list);
    expect(scenarioList()).toBe(scenarioList());
  });

  it('--help prints the usage with the size defaults and exits 0', async () => {
    const r = await execa(BIN, ['--help'], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/--files N/);
    expect(r.stdout).toMatch(/min\(1024, N\)/);
    for (const s of scenarioList().scenarios) expect(r.stdout).toContain(s.name);
  });

  it('a size that cannot fit RLIMIT_NOFILE fails before creating anything and names the largest N that fits', async () => {
    const tag = join(tmpdir(), `iterbench-toobig-${process.pid}.json`);
    for (const scenario of ['files', 'epoll', 'io_uring']) {
      const t0 = Date.now();
      const r = await execa(BIN, [scenario, '--manifest', tag, '--files', '50000'], { reject: false, stdin: 'ignore' });
      expect(r.exitCode, scenario).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(r.stderr).toMatch(/RLIMIT_NOFILE/);
      const largest = Number(/largest N that fits is (\d+)/.exec(r.stderr)?.[1]);
      expect(largest).toBeGreaterThan(1000);
      expect(largest).toBeLessThanOrEqual(20000);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(existsSync(tag)).toBe(false);
      expect(processesMentioning(tag)).toEqual([]);
      // and the largest N it names does fit
      const ok = await startWorkload({ scenario: scenario as Scenario, files: largest, buffers: 4 });
      expect(ok.state, scenario).toBe('ready');
      if (ok.state === 'ready') {
        for (const t of ok.workload.manifest.tasks) expect(t.fds.length).toBeLessThan(20000);
        await ok.workload.stop();
      }
    }
  });

  it('startWorkload reports a size that does not fit as usage', async () => {
    const r = await startWorkload({ scenario: 'files', files: 25000 });
    expect(r.state).toBe('usage');
    if (r.state === 'usage') expect(r.reason).toMatch(/RLIMIT_NOFILE.*largest N that fits is \d+/);
  });

  it('the shared scenario spreads a large request over more tasks so each stays under RLIMIT_NOFILE', async () => {
    const w = await start({ scenario: 'shared', files: 42000, tasks: 2 });
    expect(w.manifest.tasks.length).toBeGreaterThanOrEqual(3);
    expect(w.manifest.params.tasks).toBe(w.manifest.tasks.length);
    for (const t of w.manifest.tasks) expect(t.fds.length).toBeLessThan(20000);
    for (const t of w.manifest.tasks) expect(readdirSync(`/proc/${t.pid}/fd`).length).toBe(t.fds.length);
    await w.stop();
  });
});

describe('the life cycle', () => {
  it('killing the parent that spawned the generator leaves no generator task alive', async () => {
    const manifest = join(tmpdir(), `iterbench-orphan-${process.pid}.json`);
    const sh = execa('sh', ['-c', '"$0" shared --files 60 --tasks 3 --manifest "$1"; echo after', BIN, manifest], {
      reject: false, buffer: false, stdout: 'pipe', stdin: 'pipe',
    });
    const pid = await new Promise<number>((res, rej) => {
      let out = '';
      sh.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+)/.exec(out);
        if (m) res(Number(m[1]));
      });
      setTimeout(() => rej(new Error('not ready')), 20000);
    });
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
    rmSync(manifest, { force: true });
    expect(m.tasks.length).toBe(3);
    expect(m.tasks.every((t) => alive(t.pid))).toBe(true);
    expect(m.rootPid).toBe(pid);
    sh.kill('SIGKILL');
    await sh;
    expect(await waitFor(() => m.tasks.every((t) => !alive(t.pid)))).toBe(true);
  });

  it('SIGTERM stops the generator cleanly: exit 0, children reaped, temp dir removed', async () => {
    const manifest = join(tmpdir(), `iterbench-term-${process.pid}.json`);
    const p = execa(BIN, ['files', '--files', '50', '--manifest', manifest], { reject: false, buffer: false, stdout: 'pipe', stdin: 'pipe' });
    await new Promise<void>((res) => p.stdout.on('data', (d: Buffer) => /ready/.test(d.toString()) && res()));
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
    rmSync(manifest, { force: true });
    const dir = Object.values(m.files).find((f) => f.kind === 'reg')!.path!.replace(/\/[^/]+$/, '');
    expect(existsSync(dir)).toBe(true);
    p.kill('SIGTERM');
    const r = await p;
    expect(r.exitCode).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it('a directory left by a generator killed with SIGKILL is removed by the next generator', async () => {
    const manifest = join(tmpdir(), `iterbench-killed-${process.pid}.json`);
    const p = execa(BIN, ['files', '--files', '20', '--manifest', manifest], { reject: false, buffer: false, stdout: 'pipe', stdin: 'pipe' });
    await new Promise<void>((res) => p.stdout.on('data', (d: Buffer) => /ready/.test(d.toString()) && res()));
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
    rmSync(manifest, { force: true });
    const dir = Object.values(m.files).find((f) => f.kind === 'reg')!.path!.replace(/\/[^/]+$/, '');
    p.kill('SIGKILL');
    await p;
    expect(existsSync(dir)).toBe(true);
    const w = await start({ scenario: 'files', files: 10 });
    expect(existsSync(dir)).toBe(false);
    await w.stop();
  });

  it('a generator in another pid namespace leaves the directories of live workloads alone', async (ctx) => {
    const probe = spawnSync('unshare', ['-pf', '--mount-proc', 'true']);
    if (probe.status !== 0) return ctx.skip('unshare -pf cannot run here');
    const w = await start({ scenario: 'files', files: 10 });
    const dir = Object.values(w.manifest.files).find((f) => f.kind === 'reg')!.path!.replace(/\/[^/]+$/, '');
    // its name says which pid namespace its pid is a number in
    expect(dir).toMatch(new RegExp(`/iterbench-wl-${w.rootPid}-n${statSync('/proc/self/ns/pid').ino}-`));
    const manifest = join(tmpdir(), `iterbench-pidns-${process.pid}.json`);
    // in a child pid namespace the workload's pid does not exist: it must not count as gone
    const p = execa('unshare', ['-pf', '--mount-proc', BIN, 'files', '--files', '5', '--manifest', manifest], { reject: false, buffer: false, stdout: 'pipe', stdin: 'pipe' });
    await new Promise<void>((res) => p.stdout.on('data', (d: Buffer) => /ready/.test(d.toString()) && res()));
    p.stdin.end();
    await p;
    rmSync(manifest, { force: true });
    expect(existsSync(dir)).toBe(true);
    await w.stop();
  });

  it('EOF on stdin stops the generator and its children', async () => {
    const manifest = join(tmpdir(), `iterbench-eof-${process.pid}.json`);
    const p = execa(BIN, ['epoll', '--files', '20', '--manifest', manifest], { reject: false, buffer: false, stdout: 'pipe', stdin: 'pipe' });
    await new Promise<void>((res) => p.stdout.on('data', (d: Buffer) => /ready/.test(d.toString()) && res()));
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
    rmSync(manifest, { force: true });
    expect(m.tasks.length).toBe(2);
    p.stdin.end();
    const r = await p;
    expect(r.exitCode).toBe(0);
    expect(m.tasks.some((t) => alive(t.pid))).toBe(false);
  });

  it('stop() ends every task of the tree and reports it dead', async () => {
    const w = await start({ scenario: 'all', files: 80, tasks: 3, buffers: 4 });
    expect(w.alive()).toBe(true);
    expect(w.readyMs).toBeGreaterThan(0);
    await w.stop();
    expect(w.alive()).toBe(false);
    expect(w.pids.filter(alive)).toEqual([]);
  });

  it('the tree is a session of its own, led by its root (CRIU refuses a task whose session leader it cannot see)', async () => {
    // a harness started without a session (sid 0, as under a CI runner that is pid 1's child) or as
    // part of a shell's session: either way the generator's root leads a session of its own
    const w = await start({ scenario: 'shared', files: 40, tasks: 3 });
    const sid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[3]);
    expect(sid(w.rootPid)).toBe(w.rootPid);
    expect(w.pids.length).toBeGreaterThan(1);
    for (const p of w.pids) expect(sid(p), `task ${p}`).toBe(w.rootPid);
    expect(sid(process.pid)).not.toBe(w.rootPid);
  });

  it('with --churn the root keeps changing its descriptors after ready', async () => {
    const w = await start({ scenario: 'files', files: 40, churn: true });
    const root = w.manifest.tasks[0]!;
    const want = root.fds.map((x) => x.fd).sort((a, b) => a - b).join(',');
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const got = readdirSync(`/proc/${root.pid}/fd`).map(Number).sort((a, b) => a - b).join(',');
      expect(got).not.toBe(want);
      seen.add(got);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen.size).toBeGreaterThan(1);
    await w.stop();
  });
});

describe('startWorkload maps generator exits', () => {
  let dir: string;
  const fake = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iterbench-fake-'));
  });
  afterEach(() => {
    delete process.env.ITERBENCH_WORKLOAD;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exit 77 is skipped with the reason the generator gave', async () => {
    process.env.ITERBENCH_WORKLOAD = fake('w77', 'echo "iterbench-workload: io_uring unavailable: io_uring_setup: Operation not permitted" >&2; exit 77');
    const r = await startWorkload({ scenario: 'io_uring', files: 10 });
    expect(r).toEqual({ state: 'skipped', reason: 'io_uring unavailable: io_uring_setup: Operation not permitted' });
  });

  it('exit 2 is usage and exit 1 is errored', async () => {
    process.env.ITERBENCH_WORKLOAD = fake('w2', 'echo "iterbench-workload: bad size" >&2; exit 2');
    expect(await startWorkload({ scenario: 'files', files: 10 })).toEqual({ state: 'usage', reason: 'bad size' });
    process.env.ITERBENCH_WORKLOAD = fake('w1', 'echo "iterbench-workload: boom" >&2; exit 1');
    const r = await startWorkload({ scenario: 'files', files: 10 });
    expect(r.state).toBe('errored');
    if (r.state === 'errored') expect(r.reason).toMatch(/boom/);
  });

  it('a missing binary is errored', async () => {
    process.env.ITERBENCH_WORKLOAD = join(dir, 'does-not-exist');
    expect((await startWorkload({ scenario: 'files', files: 10 })).state).toBe('errored');
  });

  it('an abort while starting kills the generator and is errored', async () => {
    process.env.ITERBENCH_WORKLOAD = fake('wsleep', 'exec sleep 30');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const r = await startWorkload({ scenario: 'files', files: 10 }, ac.signal);
    expect(r.state).toBe('errored');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('the freezer', () => {
  const available: FreezeMethod[] = [];
  if (cgroup2Root()) available.push('cgroup2');
  if (freezerV1Root()) available.push('cgroup1-freezer');
  available.push('sigstop');

  it('freezes every task of a workload with the first method that works, and thaws them', async () => {
    const w = await start({ scenario: 'shared', files: 40, tasks: 3 });
    const method = await w.freeze();
    expect(['cgroup2', 'cgroup1-freezer', 'sigstop']).toContain(method);
    if (cgroup2Root()) expect(method).toBe('cgroup2');
    await w.thaw();
    for (const pid of w.pids) expect(procState(pid)).not.toBe('T');
    await w.stop();
  });

  it('a cgroup left frozen by a harness that died is thawed and removed by the next freeze', async () => {
    const root = cgroup2Root();
    if (!root) return;
    const dead = (await execa('sh', ['-c', 'echo $$'])).stdout.trim();
    const stale = join(root, `iterbench-${dead}-1`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'cgroup.freeze'), '1');
    const w = await start({ scenario: 'files', files: 10 });
    const f = await freezePids(w.pids, 'cgroup2');
    expect(existsSync(stale)).toBe(false);
    await f.thaw();
    await w.stop();
  });

  for (const method of available) {
    it(`${method}: freeze leaves every task frozen; thaw runs them again and removes the cgroup`, async () => {
      const w = await start({ scenario: 'shared', files: 40, tasks: 3 });
      const before = w.pids.map((p) => readFileSync(`/proc/${p}/cgroup`, 'utf8'));
      const f = await freezePids(w.pids, method);
      expect(f.method).toBe(method);
      expect(isFrozen(f)).toBe(true);
      if (method === 'sigstop') for (const pid of w.pids) expect(procState(pid)).toBe('T');
      else {
        expect(f.cgroup).toMatch(new RegExp(`iterbench-${process.pid}-\\d+$`));
        const procs = readFileSync(join(f.cgroup!, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number).sort();
        expect(procs).toEqual([...w.pids].sort());
        if (method === 'cgroup2') expect(readFileSync(join(f.cgroup!, 'cgroup.events'), 'utf8')).toMatch(/^frozen 1$/m);
        else expect(readFileSync(join(f.cgroup!, 'freezer.state'), 'utf8').trim()).toBe('FROZEN');
      }
      await f.thaw();
      if (f.cgroup) expect(existsSync(f.cgroup)).toBe(false);
      expect(w.pids.map((p) => readFileSync(`/proc/${p}/cgroup`, 'utf8'))).toEqual(before);
      for (const pid of w.pids) expect(['S', 'R']).toContain(procState(pid));
      expect(w.alive()).toBe(true);
      await w.stop();
    });
  }
});
