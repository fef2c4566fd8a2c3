/**
 * A manifest a user wrote (npm run inspect -- --manifest FILE), read and
 * checked strictly: anything verification would have to guess about is one
 * line naming the field (ManifestError; the CLI exits 2). The generator's
 * manifests (workloads/) pass the same checks.
 *
 * Required: schema (1..MANIFEST_SCHEMA), tasks (pid, fds), files. Optional:
 * epoll, io_uring (default none), scenario ("user"), rootPid (the first
 * task), role ("task-N"), params, cases, table, threads. See the README,
 * "Verifying your own processes".
 */
import { readFileSync } from 'node:fs';
import { KINDS } from '../decode.js';
import { MANIFEST_SCHEMA, type FileKind, type Manifest, type ManifestEpoll, type ManifestFile, type ManifestRing, type ManifestTask } from '../manifest.js';

export class ManifestError extends Error {}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isHex = (v: unknown): v is string => typeof v === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(v);
const show = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v));

/** Check a parsed manifest; `label` names it in messages. */
export function checkManifest(obj: unknown, label: string): Manifest {
  const fail = (at: string, what: string): never => {
    throw new ManifestError(`manifest ${label}: ${at}: ${what}`);
  };
  const want = (v: unknown, at: string, what: string): never => fail(at, v === undefined ? `missing (${what})` : `${show(v)} is not ${what}`);
  const int = (v: unknown, at: string, min = 0): number => (isInt(v, min) ? v : want(v, at, `an integer >= ${min}`));
  const arr = (v: unknown, at: string): unknown[] => (Array.isArray(v) ? v : want(v, at, 'an array'));
  const obj_ = (v: unknown, at: string): Obj => (isObj(v) ? v : want(v, at, 'an object'));
  if (!isObj(obj)) throw new ManifestError(`manifest ${label}: not a JSON object`);
  const m = obj;
  if (!isInt(m.schema, 1) || m.schema > MANIFEST_SCHEMA) fail('schema', `${show(m.schema)}: this version reads manifest schema 1 to ${MANIFEST_SCHEMA}`);

  // files
  const filesIn = obj_(m.files, 'files');
  const files: Record<string, ManifestFile> = {};
  for (const [l, f0] of Object.entries(filesIn)) {
    const at = `files.${l}`;
    const f = obj_(f0, at);
    if (typeof f.kind !== 'string' || !(KINDS as readonly string[]).includes(f.kind)) want(f.kind, `${at}.kind`, `one of ${KINDS.join(', ')}`);
    const file: ManifestFile = { kind: f.kind as FileKind, dev: int(f.dev, `${at}.dev`), ino: int(f.ino, `${at}.ino`), pos: int(f.pos, `${at}.pos`), flags: int(f.flags, `${at}.flags`) };
    if (f.path !== undefined) file.path = typeof f.path === 'string' ? f.path : want(f.path, `${at}.path`, 'a string');
    if (typeof f.note === 'string') file.note = f.note;
    files[l] = file;
  }
  const labelOf = (v: unknown, at: string): string => (typeof v === 'string' && Object.hasOwn(files, v) ? v : want(v, at, 'a label of files'));

  // tasks
  const tasksIn = arr(m.tasks, 'tasks');
  if (tasksIn.length === 0) fail('tasks', 'no task');
  const tasks: ManifestTask[] = tasksIn.map((t0, i) => {
    const at = `tasks[${i}]`;
    const t = obj_(t0, at);
    const pid = int(t.pid, `${at}.pid`, 1);
    const seen = new Set<number>();
    const fds = arr(t.fds, `${at}.fds`).map((f0, j) => {
      const f = obj_(f0, `${at}.fds[${j}]`);
      const fd = int(f.fd, `${at}.fds[${j}].fd`);
      if (seen.has(fd)) fail(`${at}.fds[${j}].fd`, `descriptor ${fd} listed twice`);
      seen.add(fd);
      return { fd, file: labelOf(f.file, `${at}.fds[${j}].file`) };
    });
    const task: ManifestTask = { pid, role: typeof t.role === 'string' ? t.role : `task-${i}`, fds };
    if (t.table !== undefined) task.table = int(t.table, `${at}.table`, 1);
    if (t.threads !== undefined) task.threads = arr(t.threads, `${at}.threads`).map((x, k) => int(x, `${at}.threads[${k}]`, 1));
    return task;
  });
  const byPid = new Map<number, ManifestTask>();
  for (const [i, t] of tasks.entries()) {
    if (byPid.has(t.pid)) fail(`tasks[${i}].pid`, `pid ${t.pid} listed twice`);
    byPid.set(t.pid, t);
  }
  const sameFds = (a: ManifestTask, b: ManifestTask) => JSON.stringify([...a.fds].sort((x, y) => x.fd - y.fd)) === JSON.stringify([...b.fds].sort((x, y) => x.fd - y.fd));
  for (const [i, t] of tasks.entries()) {
    if (t.table === undefined) continue;
    const owner = byPid.get(t.table);
    if (!owner) fail(`tasks[${i}].table`, `${t.table} is not the pid of a task`);
    if ((owner!.table ?? owner!.pid) !== t.table) fail(`tasks[${i}].table`, `${t.table} uses the table of ${owner!.table}: name that one`);
    if (!sameFds(t, owner!)) fail(`tasks[${i}].fds`, `task ${t.pid} shares the table of ${t.table} but lists other descriptors`);
  }
  const fdsOf = (pid: number) => new Set(byPid.get(pid)?.fds.map((f) => f.fd));
  const labelAt = (pid: number, fd: number) => byPid.get(pid)?.fds.find((f) => f.fd === fd)?.file;
  const taskPid = (v: unknown, at: string): number => {
    const pid = int(v, at, 1);
    return byPid.has(pid) ? pid : fail(at, `${pid} is not the pid of a task`);
  };

  // epoll
  const epoll: ManifestEpoll[] = m.epoll === undefined ? [] : arr(m.epoll, 'epoll').map((e0, i) => {
    const at = `epoll[${i}]`;
    const e = obj_(e0, at);
    const pid = taskPid(e.pid, `${at}.pid`);
    const epfd = int(e.epfd, `${at}.epfd`);
    if (!fdsOf(pid).has(epfd)) fail(`${at}.epfd`, `${epfd} is not a descriptor of task ${pid}`);
    const keys = new Set<string>();
    const items = arr(e.items, `${at}.items`).map((x0, j) => {
      const ai = `${at}.items[${j}]`;
      const x = obj_(x0, ai);
      const item = { tfd: int(x.tfd, `${ai}.tfd`), events: int(x.events, `${ai}.events`), data: isHex(x.data) ? x.data : want(x.data, `${ai}.data`, 'a 0x-prefixed 64-bit hex number'), target: labelOf(x.target, `${ai}.target`) };
      const k = `${BigInt(item.data)}/${item.tfd}`;
      if (keys.has(k)) fail(ai, `a second item with tfd ${item.tfd} and data ${item.data}: items of one instance differ in tfd or data`);
      keys.add(k);
      return item;
    });
    const file = labelOf(e.file, `${at}.file`);
    if (labelAt(pid, epfd) !== file) fail(`${at}.file`, `"${file}", but descriptor ${epfd} of task ${pid} is "${labelAt(pid, epfd)}"`);
    return { pid, epfd, file, items };
  });

  // io_uring
  const io_uring: ManifestRing[] = m.io_uring === undefined ? [] : arr(m.io_uring, 'io_uring').map((r0, i) => {
    const at = `io_uring[${i}]`;
    const r = obj_(r0, at);
    const pid = taskPid(r.pid, `${at}.pid`);
    let fd: number | null = null;
    const ring: ManifestRing = { pid, fd, file: labelOf(r.file, `${at}.file`), files: [], buffers: [] };
    if (r.fd === null) {
      ring.registeredIndex = int(r.registeredIndex, `${at}.registeredIndex`);
      if (r.tid !== undefined) ring.tid = int(r.tid, `${at}.tid`, 1);
    } else {
      fd = int(r.fd, `${at}.fd`);
      if (!fdsOf(pid).has(fd)) fail(`${at}.fd`, `${fd} is not a descriptor of task ${pid} (a ring no descriptor reaches has fd null)`);
      if (labelAt(pid, fd) !== ring.file) fail(`${at}.file`, `"${ring.file}", but descriptor ${fd} of task ${pid} is "${labelAt(pid, fd)}"`);
      ring.fd = fd;
    }
    ring.files = arr(r.files, `${at}.files`).map((x, j) => (x === null ? null : labelOf(x, `${at}.files[${j}]`)));
    ring.buffers = arr(r.buffers, `${at}.buffers`).map((b0, j) => {
      if (b0 === null) return null;
      const b = obj_(b0, `${at}.buffers[${j}]`);
      return { addr: isHex(b.addr) ? b.addr : want(b.addr, `${at}.buffers[${j}].addr`, 'a 0x-prefixed 64-bit hex number'), len: int(b.len, `${at}.buffers[${j}].len`) };
    });
    return ring;
  });
  const rings = new Set<string>();
  for (const [i, r] of io_uring.entries()) {
    const k = r.fd === null ? `reg:${r.pid}:${r.tid ?? r.pid}:${r.registeredIndex}` : `fd:${byPid.get(r.pid)!.table ?? r.pid}:${r.fd}`;
    if (rings.has(k)) fail(`io_uring[${i}]`, 'the same ring listed twice');
    rings.add(k);
  }

  const counts = { files: Object.keys(files).length, tasks: tasks.length, buffers: 0, epollItems: epoll.reduce((a, e) => a + e.items.length, 0), uringFiles: io_uring.reduce((a, r) => a + r.files.length, 0) };
  return {
    schema: m.schema as number,
    scenario: typeof m.scenario === 'string' ? m.scenario : 'user',
    params: isObj(m.params) ? (m.params as unknown as Manifest['params']) : counts,
    rootPid: m.rootPid === undefined ? tasks[0]!.pid : taskPid(m.rootPid, 'rootPid'),
    tasks,
    files,
    epoll,
    io_uring,
    cases: Array.isArray(m.cases) ? m.cases.filter((c): c is string => typeof c === 'string') : [],
  };
}

/** Read and check a manifest file; ManifestError (one line) on any problem. */
export function readManifestFile(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ManifestError(`manifest ${file}: cannot read it: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'a directory' : err.message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`manifest ${file}: not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`);
  }
  return checkManifest(obj, file);
}

/**
 * The manifest with its tasks' pids replaced, in order, by `pids` (inspect
 * --pid with --manifest): every field that names a task follows (table,
 * threads' leader, rootPid, epoll and io_uring pids, a registered ring's
 * thread when it is the leader).
 */
export function remapPids(m: Manifest, pids: number[]): Manifest {
  if (pids.length !== m.tasks.length) {
    throw new ManifestError(`--pid names ${pids.length} process(es), the manifest has ${m.tasks.length} task(s): give one pid per task, in the manifest's order`);
  }
  const map = new Map(m.tasks.map((t, i) => [t.pid, pids[i]!]));
  const to = (p: number) => map.get(p) ?? p;
  return {
    ...m,
    rootPid: to(m.rootPid),
    tasks: m.tasks.map((t) => ({
      ...t,
      pid: to(t.pid),
      ...(t.table !== undefined ? { table: to(t.table) } : {}),
      ...(t.threads ? { threads: [to(t.pid)] } : {}),
    })),
    epoll: m.epoll.map((e) => ({ ...e, pid: to(e.pid) })),
    io_uring: m.io_uring.map((r) => ({ ...r, pid: to(r.pid), ...(r.tid !== undefined ? { tid: to(r.tid) } : {}) })),
  };
}
