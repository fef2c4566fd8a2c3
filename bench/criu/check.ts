/**
 * A CRIU dump checked against the workload's manifest, per kind of state
 * (the same kinds and verdicts as bench/verify/):
 *
 *   fd           every descriptor of every task is in the image's table, no more
 *   fd.meta      kind from the image's file type (and st_mode for REG); inode
 *                where the image has one (pipe_id, socket ino); path for REG.
 *                No st_dev: partial
 *   fd.pos       REG position; a file without a position (pipe, socket, anon)
 *                has none in the image either
 *   fd.flags     file flags (F_GETFL; O_CLOEXEC is a descriptor flag)
 *   fd.identity  CRIU's file id: equal ids = one open file, across tasks;
 *                checked as a partition onto the manifest's labels
 *   epoll.item   by data (unique): events, and tfd. CRIU rewrites a tfd it
 *                cannot find as is (stale or reused numbers) to a descriptor
 *                of the task that holds the target now: such an item is
 *                `partial` (the number is not the kernel's), never silently
 *                right; wrong when the new number collides with another item
 *                of the same instance on the same open file (the kernel keys
 *                items by (file, fd): one of the two is lost), and any other
 *                tfd is wrong
 *   epoll.target the image's tfd must hold the watched open file in that task,
 *                and the entry's dev/inode must be the target's
 *   fd.table     tasks that share a descriptor table (clone(CLONE_FILES))
 *                share one fdinfo image (ids files_id), and only they
 *   uring.*      CRIU has no io_uring support: not-recoverable
 */
import type { Manifest, ManifestFile, FileKind } from '../manifest.js';
import { COVERAGE_KINDS, type Coverage, type CoverageKind, type Mismatch } from '../schema.js';
import { parseEpollTfds, type CriuImages, type FdinfoEntry, type FileEntry } from './images.js';

/** The method name mismatches carry. */
export const CRIU_METHOD = 'criu-dump';

const O_CLOEXEC = 0o2000000;
const S_IFMT = 0o170000;

export interface ImageCheck {
  ok: boolean;
  coverage: Coverage;
  mismatches: Mismatch[];
  counts: Record<CoverageKind, { checked: number; unrecovered: number; wrong: number }>;
  /** what the image says differently without being wrong, one sentence each */
  notes: string[];
}

/** Kind of an open file as the manifest names it, from the image entry. */
export function kindOf(f: FileEntry): FileKind | undefined {
  switch (f.type) {
    case 'REG': {
      const mode = typeof f.body.mode === 'number' ? f.body.mode : undefined;
      if (mode === undefined) return undefined;
      switch (mode & S_IFMT) {
        case 0o100000: return 'reg';
        case 0o040000: return 'dir';
        case 0o020000: return 'chr';
        case 0o060000: return 'blk';
        case 0o010000: return 'pipe';
        case 0o140000: return 'socket';
        default: return 'other';
      }
    }
    case 'PIPE': case 'FIFO': return 'pipe';
    case 'INETSK': case 'UNIXSK': case 'PACKETSK': case 'NETLINKSK': return 'socket';
    case 'EVENTFD': return 'eventfd';
    case 'EVENTPOLL': return 'epoll';
    case 'SIGNALFD': return 'signalfd';
    case 'TIMERFD': return 'timerfd';
    case 'INOTIFY': return 'inotify';
    case 'TTY': case 'TUNF': return 'chr';
    case 'MEMFD': return 'reg';
    default:
      return undefined;
  }
}

const n = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);

/** the entry that carries a FIFO's flags and path */
function regOf(f: FileEntry, files: Map<number, FileEntry>): FileEntry | undefined {
  if (f.type === 'REG') return f;
  if (f.type === 'FIFO') {
    const r = n(f.body.regf_id);
    return r === undefined ? undefined : files.get(r);
  }
  return undefined;
}

function flagsOf(f: FileEntry, files: Map<number, FileEntry>): number | undefined {
  return n(regOf(f, files)?.body.flags ?? f.body.flags);
}

function inoOf(f: FileEntry): number | undefined {
  if (f.type === 'PIPE' || f.type === 'FIFO') return n(f.body.pipe_id);
  if (f.type === 'UNIXSK' || f.type === 'INETSK' || f.type === 'PACKETSK' || f.type === 'NETLINKSK') return n(f.body.ino);
  return undefined;
}

/** st_dev as user space sees it (glibc makedev) from the kernel's dev_t (MKDEV: major << 20 | minor) */
export function userDev(kdev: number): number {
  const major = Math.floor(kdev / 2 ** 20);
  const minor = kdev % 2 ** 20;
  const v = ((BigInt(major) & 0xfffff000n) << 32n) | ((BigInt(major) & 0xfffn) << 8n) |
    ((BigInt(minor) & 0xffffff00n) << 12n) | (BigInt(minor) & 0xffn);
  return Number(v);
}

const hexNorm = (s: string): string => '0x' + BigInt(s).toString(16);

export function checkImages(manifest: Manifest, img: CriuImages): ImageCheck {
  const mismatches: Mismatch[] = [];
  const notes: string[] = [];
  const counts = Object.fromEntries(COVERAGE_KINDS.map((k) => [k, { checked: 0, unrecovered: 0, wrong: 0 }])) as ImageCheck['counts'];
  const bad = (kind: CoverageKind, pid: number, where: string, expected: string, got: string) => {
    counts[kind].wrong++;
    mismatches.push({ method: CRIU_METHOD, kind, pid, where, expected, got });
  };
  const fileOf = (label: string): ManifestFile | undefined => manifest.files[label];

  // ---- the tree -----------------------------------------------------------
  const inTree = new Set(img.pstree.flatMap((t) => [t.pid, ...t.threads]));
  for (const t of manifest.tasks) {
    if (!inTree.has(t.pid)) bad('fd', t.pid, 'task', 'dumped (in pstree.img)', 'missing from the dump');
  }

  // ---- descriptors ----------------------------------------------------------
  const holder = new Map<string, string>(); // "pid:fd" -> label (manifest)
  for (const t of manifest.tasks) for (const f of t.fds) holder.set(`${t.pid}:${f.fd}`, f.file);
  const idAt = new Map<string, number>(); // "pid:fd" -> file id (image)
  const idToLabel = new Map<number, string>();
  const labelToId = new Map<string, number>();
  let noPos = 0;

  for (const t of manifest.tasks) {
    const table = img.fdinfo.get(t.pid);
    if (!table) continue; // reported above (not in pstree) or no ids image
    const got = new Map(table.map((e) => [e.fd, e]));
    for (const e of table) idAt.set(`${t.pid}:${e.fd}`, e.id);
    for (const mf of t.fds) {
      const where = `fd ${mf.fd}`;
      counts.fd.checked++;
      const e = got.get(mf.fd);
      if (!e) {
        bad('fd', t.pid, where, `open (${mf.file})`, 'missing');
        continue;
      }
      const f = img.files.get(e.id);
      const want = fileOf(mf.file);
      if (!f) {
        bad('fd', t.pid, where, `open (${mf.file})`, `file id ${e.id} not in files.img`);
        continue;
      }
      if (!want) continue;
      // meta
      counts['fd.meta'].checked++;
      const kind = kindOf(f);
      const ino = inoOf(f);
      if (kind === undefined) counts['fd.meta'].unrecovered++;
      else if (kind !== want.kind) bad('fd.meta', t.pid, where, `kind ${want.kind}`, `kind ${kind} (${f.type})`);
      if (ino !== undefined && ino !== want.ino) bad('fd.meta', t.pid, where, `ino ${want.ino}`, `ino ${ino}`);
      const reg = regOf(f, img.files);
      const name = typeof reg?.body.name === 'string' ? reg.body.name : undefined;
      if (want.path !== undefined && name !== undefined && name !== want.path) bad('fd.meta', t.pid, where, want.path, name);
      // pos
      counts['fd.pos'].checked++;
      const pos = f.type === 'REG' ? n(f.body.pos) : undefined;
      if (pos === undefined) {
        if (want.pos !== 0) {
          counts['fd.pos'].unrecovered++;
          noPos++;
        }
      } else if (pos !== want.pos) bad('fd.pos', t.pid, where, `pos ${want.pos}`, `pos ${pos}`);
      // flags
      counts['fd.flags'].checked++;
      const flags = flagsOf(f, img.files);
      if (flags === undefined) counts['fd.flags'].unrecovered++;
      else if ((flags & ~O_CLOEXEC) !== (want.flags & ~O_CLOEXEC)) {
        bad('fd.flags', t.pid, where, `flags 0${want.flags.toString(8)}`, `flags 0${flags.toString(8)}`);
      }
      // identity: a partition of (pid, fd) by file id onto the labels
      counts['fd.identity'].checked++;
      const l = idToLabel.get(e.id);
      const i = labelToId.get(mf.file);
      if (l !== undefined && l !== mf.file) bad('fd.identity', t.pid, where, mf.file, `file id ${e.id}, which is ${l}`);
      else if (i !== undefined && i !== e.id) bad('fd.identity', t.pid, where, mf.file, `file id ${e.id}, but ${mf.file} was id ${i}`);
      else {
        idToLabel.set(e.id, mf.file);
        labelToId.set(mf.file, e.id);
      }
    }
    for (const e of table) {
      if (!holder.has(`${t.pid}:${e.fd}`)) bad('fd', t.pid, `fd ${e.fd}`, 'not open', `in the image (${e.type})`);
    }
  }
  if (noPos) notes.push(`${noPos} open files with a position have none in the image`);

  // ---- descriptor tables: one fdinfo image per table (tasks sharing one share the array)
  const imageOf = new Map<FdinfoEntry[], number>(); // image table -> the manifest table it holds
  const tableImage = new Map<number, FdinfoEntry[]>(); // manifest table -> its image table
  for (const t of manifest.tasks) {
    const mine = img.fdinfo.get(t.pid);
    const table = t.table ?? t.pid;
    if (!mine) continue;
    counts['fd.table'].checked++;
    const other = imageOf.get(mine);
    const seen = tableImage.get(table);
    if (other !== undefined && other !== table) bad('fd.table', t.pid, 'descriptor table', table === t.pid ? 'a table of its own' : `the table of ${table}`, `the image's table of ${other}`);
    else if (seen !== undefined && seen !== mine) bad('fd.table', t.pid, 'descriptor table', `the table of ${table}`, 'a table of its own in the image');
    if (other === undefined) imageOf.set(mine, table);
    if (seen === undefined) tableImage.set(table, mine);
  }

  // ---- epoll ---------------------------------------------------------------
  const tasksHolding = new Map<number, number[]>(); // file id -> pids
  for (const [pid, table] of img.fdinfo) {
    for (const e of table) {
      const l = tasksHolding.get(e.id) ?? [];
      if (!l.includes(pid)) l.push(pid);
      tasksHolding.set(e.id, l);
    }
  }
  const epIds = new Set<number>();
  let rewritten = 0;
  for (const ep of manifest.epoll) {
    const id = idAt.get(`${ep.pid}:${ep.epfd}`);
    const where0 = `epoll ${ep.epfd}`;
    const f = id === undefined ? undefined : img.files.get(id);
    if (!f || f.type !== 'EVENTPOLL') {
      for (const want of ep.items) {
        counts['epoll.item'].checked++;
        bad('epoll.item', ep.pid, `${where0} item data=${hexNorm(want.data)}`, `tfd ${want.tfd}`, f ? `not an eventpoll (${f.type})` : 'no eventpoll in the image');
      }
      continue;
    }
    epIds.add(f.id);
    const items = parseEpollTfds(f.body);
    const byData = new Map(items.map((it) => [hexNorm(it.data), it]));
    const seen = new Set<string>();
    const holders = tasksHolding.get(f.id) ?? [ep.pid];
    // The kernel keys an item by (target open file, fd): two items of one
    // instance can never share both. An image that gives two items the same
    // tfd and the same target has lost one of them (restoring it would be
    // EEXIST); the one whose number CRIU changed is wrong.
    const byKey = new Map<string, string[]>(); // "tfd:label" -> data of the items
    for (const want of ep.items) {
      const g = byData.get(hexNorm(want.data));
      if (!g) continue;
      const k = `${g.tfd}:${want.target}`;
      byKey.set(k, [...(byKey.get(k) ?? []), hexNorm(want.data)]);
    }
    for (const want of ep.items) {
      const d = hexNorm(want.data);
      const where = `${where0} item data=${d}`;
      counts['epoll.item'].checked++;
      const g = byData.get(d);
      if (!g) {
        bad('epoll.item', ep.pid, where, `tfd ${want.tfd}`, 'missing');
        continue;
      }
      seen.add(d);
      if (g.events !== want.events) bad('epoll.item', ep.pid, where, `events 0x${want.events.toString(16)}`, `events 0x${g.events.toString(16)}`);
      // the image's tfd: a descriptor of a task holding this epoll file that holds the target
      const holdsTarget = holders.some((pid) => holder.get(`${pid}:${g.tfd}`) === want.target && idAt.has(`${pid}:${g.tfd}`));
      const twins = (byKey.get(`${g.tfd}:${want.target}`) ?? []).filter((x) => x !== d);
      if (g.tfd !== want.tfd) {
        if (twins.length) {
          bad('epoll.item', ep.pid, where, `tfd ${want.tfd}`, `tfd ${g.tfd}, which item data=${twins[0]} has for the same open file (one item lost)`);
        } else if (holdsTarget) {
          counts['epoll.item'].unrecovered++;
          rewritten++;
        } else bad('epoll.item', ep.pid, where, `tfd ${want.tfd}`, `tfd ${g.tfd}`);
      }
      counts['epoll.target'].checked++;
      const tf = fileOf(want.target);
      if (!holdsTarget) {
        const h = holder.get(`${ep.pid}:${g.tfd}`);
        bad('epoll.target', ep.pid, where, want.target, `tfd ${g.tfd} holds ${h ?? 'nothing'}`);
      } else if (tf && g.inode !== tf.ino) bad('epoll.target', ep.pid, where, `ino ${tf.ino}`, `ino ${g.inode}`);
      else if (tf && userDev(g.dev) !== tf.dev) bad('epoll.target', ep.pid, where, `dev ${tf.dev}`, `dev ${userDev(g.dev)}`);
    }
    for (const it of items) {
      if (!seen.has(hexNorm(it.data))) bad('epoll.item', ep.pid, `${where0} item tfd=${it.tfd}`, 'no such item', `data=${it.data}`);
    }
  }
  for (const [id, f] of img.files) {
    if (f.type !== 'EVENTPOLL' || epIds.has(id)) continue;
    const items = parseEpollTfds(f.body);
    const pids = tasksHolding.get(id) ?? [];
    if (items.length && pids.length) bad('epoll.item', pids[0], `eventpoll file id ${id}`, 'not an epoll of the manifest', `${items.length} items`);
  }
  if (rewritten) notes.push(`${rewritten} epoll items: CRIU stores a descriptor that holds the target now, not the tfd the item was added with`);

  // ---- verdicts --------------------------------------------------------------
  const present: Record<CoverageKind, boolean> = {
    fd: true, 'fd.meta': true, 'fd.pos': true, 'fd.flags': true, 'fd.identity': true,
    'fd.table': new Set(manifest.tasks.map((t) => t.table ?? t.pid)).size < manifest.tasks.length,
    'epoll.item': manifest.epoll.some((e) => e.items.length > 0),
    'epoll.target': manifest.epoll.some((e) => e.items.length > 0),
    'uring.ring': manifest.io_uring.length > 0,
    'uring.file': manifest.io_uring.some((r) => r.files.length > 0),
    'uring.buf': manifest.io_uring.some((r) => r.buffers.length > 0),
  };
  const never: CoverageKind[] = ['uring.ring', 'uring.file', 'uring.buf'];
  const alwaysPartial: CoverageKind[] = ['fd.meta']; // no st_dev in the image
  const coverage = {} as Coverage;
  for (const k of COVERAGE_KINDS) {
    if (!present[k]) coverage[k] = 'absent';
    else if (never.includes(k)) coverage[k] = 'not-recoverable';
    else if (counts[k].wrong > 0) coverage[k] = 'wrong';
    else if (counts[k].unrecovered > 0 || alwaysPartial.includes(k)) coverage[k] = 'partial';
    else coverage[k] = 'recovered';
  }
  return { ok: mismatches.length === 0, coverage, mismatches, counts, notes };
}
