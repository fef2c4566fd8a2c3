/**
 * Compare what a method recovered with the workload's ground truth.
 *
 * Per kind of state the verdict is: recovered (everything matched), partial
 * (what the method said was right, but its interface could not say all of
 * it, as declared), not-recoverable (declared: the interface cannot), wrong
 * (at least one disagreement), absent (the scenario has none of it).
 * Identities are checked as a partition: a method's keys must map one-to-one
 * onto the manifest's open-file labels, over fds, epoll targets and io_uring
 * slots together; a "holder" reference must point at a descriptor holding the
 * expected open file.
 */
import type { Manifest, ManifestFile } from './manifest.js';
import type { FileRef, Recovered } from './decode.js';
import type { DeclaredCoverage, MethodInfo } from './native.js';
import { COVERAGE_KINDS, type Coverage, type CoverageKind, type Mismatch } from './schema.js';

/** O_CLOEXEC is a descriptor flag that fdinfo folds into "flags:"; F_GETFL never shows it. */
const O_CLOEXEC = 0o2000000;

export interface VerifyOptions {
  /**
   * The method did a sample of its work (a sampling method with sampled
   * rows): every key must still name one open file (soundness); the classes
   * it marks complete (idClass, the classes of its sampled rows) must be
   * exactly the manifest's; descriptors outside them may have no identity.
   */
  sampled?: boolean;
  /** sampled: how many rows the method says it compared with all others */
  sampleRows?: number;
}

export interface Verification {
  ok: boolean;
  coverage: Coverage;
  mismatches: Mismatch[];
  /** per kind: items checked, items the interface could not fully give */
  counts: Record<CoverageKind, { checked: number; unrecovered: number; wrong: number }>;
}

function hex(s: string | undefined): string {
  return s === undefined ? '?' : '0x' + BigInt(s).toString(16);
}

export function verify(
  manifest: Manifest,
  rec: Recovered,
  method: Pick<MethodInfo, 'name' | 'coverage'>,
  opts: VerifyOptions = {},
): Verification {
  const mismatches: Mismatch[] = [];
  const counts = Object.fromEntries(
    COVERAGE_KINDS.map((k) => [k, { checked: 0, unrecovered: 0, wrong: 0 }]),
  ) as Verification['counts'];
  const decl = method.coverage as Record<CoverageKind, DeclaredCoverage>;
  const on = (k: CoverageKind) => decl[k].level !== 'none';
  const bad = (kind: CoverageKind, pid: number, where: string, expected: string, got: string) => {
    counts[kind].wrong++;
    mismatches.push({ method: method.name, kind, pid, where, expected, got });
  };

  const pids = new Set(manifest.tasks.map((t) => t.pid));
  const holder = new Map<string, string>(); // "pid:fd" -> label
  for (const t of manifest.tasks) for (const f of t.fds) holder.set(`${t.pid}:${f.fd}`, f.file);
  const fileOf = (label: string): ManifestFile | undefined => manifest.files[label];

  // Identity bookkeeping shared by all kinds: method key <-> manifest label.
  const keyToLabel = new Map<string, string>();
  const labelToKey = new Map<string, string>();
  /** returns undefined when consistent, else the reason */
  const checkRef = (r: FileRef, expected: string): string | undefined | 'none' => {
    if (r.how === 'none') return 'none';
    if (r.how === 'holder') {
      const l = holder.get(`${r.pid}:${r.fd}`);
      if (l === expected) return undefined;
      return `holder ${r.pid}/${r.fd} (${l ?? 'no such descriptor'})`;
    }
    const k = keyToLabel.get(r.key);
    if (k !== undefined && k !== expected) return `key ${r.key} already names ${k}`;
    const lk = labelToKey.get(expected);
    if (!opts.sampled && lk !== undefined && lk !== r.key) return `key ${r.key}, but ${expected} was ${lk}`;
    keyToLabel.set(r.key, expected);
    if (lk === undefined) labelToKey.set(expected, r.key);
    return undefined;
  };

  // ---- descriptors --------------------------------------------------------
  const got = new Map<string, Recovered['fds'][number]>();
  for (const f of rec.fds) {
    if (!pids.has(f.pid)) continue;
    got.set(`${f.pid}:${f.fd}`, f);
  }
  if (on('fd')) {
    for (const t of manifest.tasks) {
      for (const f of t.fds) {
        counts.fd.checked++;
        if (!got.has(`${t.pid}:${f.fd}`)) bad('fd', t.pid, `fd ${f.fd}`, `open (${f.file})`, 'missing');
      }
    }
    for (const [k, f] of got) if (!holder.has(k)) bad('fd', f.pid, `fd ${f.fd}`, 'not open', `reported (${f.kind ?? '?'})`);
  }
  for (const t of manifest.tasks) {
    for (const mf of t.fds) {
      const g = got.get(`${t.pid}:${mf.fd}`);
      const want = fileOf(mf.file);
      if (!g || !want) continue;
      const where = `fd ${mf.fd}`;
      if (on('fd.meta')) {
        counts['fd.meta'].checked++;
        if (g.kind === undefined || g.dev === undefined || g.ino === undefined) counts['fd.meta'].unrecovered++;
        if (g.kind !== undefined && g.kind !== want.kind) bad('fd.meta', t.pid, where, `kind ${want.kind}`, `kind ${g.kind}`);
        if (g.dev !== undefined && g.dev !== want.dev) bad('fd.meta', t.pid, where, `dev ${want.dev}`, `dev ${g.dev}`);
        if (g.ino !== undefined && g.ino !== want.ino) bad('fd.meta', t.pid, where, `ino ${want.ino}`, `ino ${g.ino}`);
      }
      if (on('fd.pos')) {
        counts['fd.pos'].checked++;
        if (g.pos === undefined) counts['fd.pos'].unrecovered++;
        else if (g.pos !== want.pos) bad('fd.pos', t.pid, where, `pos ${want.pos}`, `pos ${g.pos}`);
      }
      if (on('fd.flags')) {
        counts['fd.flags'].checked++;
        if (g.flags === undefined) counts['fd.flags'].unrecovered++;
        else if ((g.flags & ~O_CLOEXEC) !== (want.flags & ~O_CLOEXEC)) {
          bad('fd.flags', t.pid, where, `flags 0${want.flags.toString(8)}`, `flags 0${g.flags.toString(8)}`);
        }
      }
      if (on('fd.identity')) {
        counts['fd.identity'].checked++;
        const why = checkRef(g.id, mf.file);
        if (why === 'none') {
          counts['fd.identity'].unrecovered++;
          if (decl['fd.identity'].level === 'full' && !opts.sampled) {
            bad('fd.identity', t.pid, where, mf.file, 'no identity');
          }
        } else if (why) bad('fd.identity', t.pid, where, mf.file, why);
      }
    }
  }

  // Sampled identity: a class the method marks complete must hold every
  // descriptor of that open file, each with the same key.
  if (on('fd.identity') && opts.sampled) {
    const complete = new Map<string, string>(); // label -> key
    let marked = 0;
    for (const t of manifest.tasks) {
      for (const mf of t.fds) {
        const g = got.get(`${t.pid}:${mf.fd}`);
        if (g?.idClass && g.id.how === 'key') {
          marked++;
          if (!complete.has(mf.file)) complete.set(mf.file, g.id.key);
        }
      }
    }
    for (const t of manifest.tasks) {
      for (const mf of t.fds) {
        const key = complete.get(mf.file);
        if (key === undefined) continue;
        const g = got.get(`${t.pid}:${mf.fd}`);
        const gotKey = g?.id.how === 'key' ? g.id.key : undefined;
        if (!g) continue; // reported missing above
        if (gotKey !== key || !g.idClass) {
          bad('fd.identity', t.pid, `fd ${mf.fd}`, `${mf.file} in its complete class (key ${key})`, gotKey === undefined ? 'no identity' : `key ${gotKey}${g.idClass ? '' : ', class not complete'}`);
        }
      }
    }
    if (opts.sampleRows !== undefined && marked < opts.sampleRows) {
      bad('fd.identity', manifest.tasks[0]?.pid ?? 0, 'sampled rows', `${opts.sampleRows} descriptors in complete classes at least`, `${marked}`);
    }
  }

  // ---- epoll --------------------------------------------------------------
  const epKey = (pid: number, epfd: number) => `${pid}:${epfd}`;
  const gotItems = new Map<string, Recovered['epollItems']>();
  for (const it of rec.epollItems) {
    if (!pids.has(it.pid)) continue;
    const k = epKey(it.pid, it.epfd);
    if (!gotItems.has(k)) gotItems.set(k, []);
    gotItems.get(k)!.push(it);
  }
  const manifestEps = new Set(manifest.epoll.map((e) => epKey(e.pid, e.epfd)));
  for (const ep of manifest.epoll) {
    const items = gotItems.get(epKey(ep.pid, ep.epfd)) ?? [];
    const byData = new Map<string, Recovered['epollItems'][number]>();
    for (const it of items) if (it.data !== undefined) byData.set(hex(it.data), it);
    const seen = new Set<string>();
    for (const want of ep.items) {
      const where = `epoll ${ep.epfd} item data=${hex(want.data)}`;
      const g = byData.get(hex(want.data));
      if (on('epoll.item')) {
        counts['epoll.item'].checked++;
        if (!g) {
          bad('epoll.item', ep.pid, where, `tfd ${want.tfd}`, 'missing');
          continue;
        }
        seen.add(hex(want.data));
        if (g.tfd !== want.tfd) bad('epoll.item', ep.pid, where, `tfd ${want.tfd}`, `tfd ${g.tfd}`);
        if (g.events !== want.events) {
          bad('epoll.item', ep.pid, where, `events 0x${want.events.toString(16)}`, `events 0x${(g.events ?? 0).toString(16)}`);
        }
      }
      if (on('epoll.target') && g) {
        counts['epoll.target'].checked++;
        const why = checkRef(g.target, want.target);
        if (why === 'none') {
          counts['epoll.target'].unrecovered++;
          const tf = fileOf(want.target);
          if (g.targetIno !== undefined && tf && g.targetIno !== tf.ino) {
            bad('epoll.target', ep.pid, where, `ino ${tf.ino}`, `ino ${g.targetIno}`);
          } else if (g.targetDev !== undefined && tf && g.targetDev !== tf.dev) {
            bad('epoll.target', ep.pid, where, `dev ${tf.dev}`, `dev ${g.targetDev}`);
          } else if (decl['epoll.target'].level === 'full') {
            bad('epoll.target', ep.pid, where, want.target, 'no identity');
          }
        } else if (why) bad('epoll.target', ep.pid, where, want.target, why);
      }
    }
    if (on('epoll.item')) {
      for (const it of items) {
        if (it.data === undefined || !seen.has(hex(it.data))) {
          bad('epoll.item', ep.pid, `epoll ${ep.epfd} item tfd=${it.tfd}`, 'no such item', `data=${it.data ?? '?'}`);
        }
      }
    }
  }
  if (on('epoll.item')) {
    for (const [k, items] of gotItems) {
      if (!manifestEps.has(k)) bad('epoll.item', items[0].pid, `epoll ${items[0].epfd}`, 'not an epoll', `${items.length} items`);
    }
  }

  // ---- io_uring -----------------------------------------------------------
  const rKey = (pid: number, fd: number) => `${pid}:${fd}`;
  const ringRec = new Map(rec.rings.filter((r) => pids.has(r.pid)).map((r) => [rKey(r.pid, r.fd), r]));
  const slotFiles = new Map<string, Map<number, Recovered['uringFiles'][number]>>();
  for (const f of rec.uringFiles) {
    const k = rKey(f.pid, f.ringFd);
    if (!slotFiles.has(k)) slotFiles.set(k, new Map());
    slotFiles.get(k)!.set(f.index, f);
  }
  const slotBufs = new Map<string, Map<number, Recovered['uringBufs'][number]>>();
  for (const b of rec.uringBufs) {
    const k = rKey(b.pid, b.ringFd);
    if (!slotBufs.has(k)) slotBufs.set(k, new Map());
    slotBufs.get(k)!.set(b.index, b);
  }
  for (const ring of manifest.io_uring) {
    // A ring no descriptor reaches (manifest schema 2, fd null): not checked
    // yet; its coverage kind is to come (issue 12).
    if (ring.fd === null) continue;
    const k = rKey(ring.pid, ring.fd);
    const rr = ringRec.get(k);
    const where0 = `ring ${ring.fd}`;
    if (rr?.tablesMissing) {
      if (on('uring.file')) bad('uring.file', ring.pid, where0, 'registered-file table', 'missing from fdinfo (ring lock contended)');
      if (on('uring.buf')) bad('uring.buf', ring.pid, where0, 'registered-buffer table', 'missing from fdinfo (ring lock contended)');
      continue;
    }
    if (on('uring.file')) {
      const files = slotFiles.get(k) ?? new Map();
      if (!rr) bad('uring.file', ring.pid, where0, `${ring.files.length} slots`, 'ring not reported');
      else if (rr.nrFiles !== ring.files.length) bad('uring.file', ring.pid, where0, `${ring.files.length} slots`, `${rr.nrFiles} slots`);
      ring.files.forEach((label, i) => {
        const where = `${where0} file slot ${i}`;
        const g = files.get(i);
        counts['uring.file'].checked++;
        if (label === null) {
          if (g) bad('uring.file', ring.pid, where, 'empty', `occupied (${g.path ?? g.kind ?? '?'})`);
          return;
        }
        if (!g) {
          bad('uring.file', ring.pid, where, label, 'empty or missing');
          return;
        }
        const why = checkRef(g.file, label);
        if (why === 'none') {
          counts['uring.file'].unrecovered++;
          const want = fileOf(label);
          const inoFromPath = g.path ? /^[a-z_]+:\[(\d+)\]$/.exec(g.path)?.[1] : undefined;
          if (want && g.ino !== undefined && g.ino !== want.ino) bad('uring.file', ring.pid, where, `ino ${want.ino}`, `ino ${g.ino}`);
          else if (want && inoFromPath !== undefined && Number(inoFromPath) !== want.ino) bad('uring.file', ring.pid, where, `ino ${want.ino}`, g.path!);
          else if (want?.path && g.path !== undefined && !inoFromPath && g.path.startsWith('/') && g.path !== want.path) bad('uring.file', ring.pid, where, want.path, g.path);
          // Older kernels (6.1) print the dentry's short name, not the path.
          else if (want?.path && g.path !== undefined && !inoFromPath && !g.path.startsWith('/') && !want.path.endsWith(`/${g.path}`)) {
            bad('uring.file', ring.pid, where, want.path, g.path);
          }
          else if (decl['uring.file'].level === 'full') bad('uring.file', ring.pid, where, label, 'no identity');
        } else if (why) bad('uring.file', ring.pid, where, label, why);
      });
      for (const [i, g] of files) {
        if (i >= ring.files.length) bad('uring.file', ring.pid, `${where0} file slot ${i}`, 'no such slot', g.path ?? 'occupied');
      }
    }
    if (on('uring.buf')) {
      const bufs = slotBufs.get(k) ?? new Map();
      if (rr && rr.nrBufs !== ring.buffers.length) bad('uring.buf', ring.pid, where0, `${ring.buffers.length} buffer slots`, `${rr.nrBufs}`);
      ring.buffers.forEach((want, i) => {
        const where = `${where0} buffer slot ${i}`;
        const g = bufs.get(i);
        counts['uring.buf'].checked++;
        if (want === null) {
          if (g) bad('uring.buf', ring.pid, where, 'empty', `${g.addr}/${g.len}`);
          return;
        }
        if (!g) bad('uring.buf', ring.pid, where, `${hex(want.addr)}/${want.len}`, 'missing');
        else if (hex(g.addr) !== hex(want.addr) || g.len !== want.len) {
          bad('uring.buf', ring.pid, where, `${hex(want.addr)}/${want.len}`, `${hex(g.addr)}/${g.len}`);
        }
      });
      for (const [i, g] of bufs) {
        if (i >= ring.buffers.length) bad('uring.buf', ring.pid, `${where0} buffer slot ${i}`, 'no such slot', `${g.addr}/${g.len}`);
      }
    }
  }

  // ---- verdicts -----------------------------------------------------------
  const present: Record<CoverageKind, boolean> = {
    fd: true,
    'fd.meta': true,
    'fd.pos': true,
    'fd.flags': true,
    'fd.identity': true,
    'epoll.item': manifest.epoll.some((e) => e.items.length > 0),
    'epoll.target': manifest.epoll.some((e) => e.items.length > 0),
    'uring.file': manifest.io_uring.some((r) => r.files.length > 0),
    'uring.buf': manifest.io_uring.some((r) => r.buffers.length > 0),
  };
  const coverage = {} as Coverage;
  for (const k of COVERAGE_KINDS) {
    if (!present[k]) coverage[k] = 'absent';
    else if (!on(k)) coverage[k] = 'not-recoverable';
    else if (counts[k].wrong > 0) coverage[k] = 'wrong';
    else if (counts[k].unrecovered > 0 || decl[k].level === 'partial' || (k === 'fd.identity' && opts.sampled)) {
      coverage[k] = 'partial';
    } else coverage[k] = 'recovered';
  }
  // Records the method must not lose silently; a descriptor that vanished
  // while a frozen workload was read means its state changed under us.
  for (const n of rec.notes) {
    if (n.code === 3) {
      bad('fd', n.pid, n.fd >= 0 ? `fd ${n.fd}` : 'collector', 'a stable descriptor table', n.text || 'descriptor vanished during the read');
      coverage.fd = 'wrong';
    }
    if (n.code === 2 || n.code === 4) {
      bad('fd', n.pid, 'collector', 'complete records', n.text || (n.code === 2 ? `${n.count} records dropped` : 'walk truncated'));
      coverage.fd = 'wrong';
    }
  }
  return { ok: mismatches.length === 0, coverage, mismatches, counts };
}
