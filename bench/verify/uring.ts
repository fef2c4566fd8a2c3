/**
 * uring.ring (every io_uring instance, its slot counts), uring.file (file
 * slot -> open file, empty slots) and uring.buf (buffer slot -> address,
 * length).
 *
 * A ring is named by its descriptor (per table), or, when no descriptor
 * reaches it (manifest fd null: registered with IORING_REGISTER_RING_FDS,
 * then closed), by the thread and index of its registered-ring table: the
 * method's ib_rec_uring_reg binds such a ring to a negative handle its
 * ring and slot records carry. A method that cannot see such a ring
 * (uring.ring partial, unheldOnly) leaves it unrecovered, and its slots are
 * not counted for it (not recoverable); one that claims it (full) must
 * report it and its slots. Duplicates (ring, slot, registration), rings and
 * slots the manifest does not have are mismatches.
 */
import type { RecRing, RecUringBuf, RecUringFile } from '../decode.js';
import type { ManifestRing } from '../manifest.js';
import { type Ctx, hex } from './context.js';

type RingKey = string;

export function ringKey(c: Ctx, r: ManifestRing): RingKey {
  return r.fd === null ? `reg:${r.pid}:${r.tid ?? r.pid}:${r.registeredIndex ?? -1}` : `fd:${c.tableOf.get(r.pid)}:${r.fd}`;
}

function where(r: ManifestRing): string {
  return r.fd === null ? `ring (no descriptor; thread ${r.tid ?? r.pid} registered index ${r.registeredIndex ?? '?'})` : `ring ${r.fd}`;
}

export function checkUring(c: Ctx): void {
  const ringOn = c.on('uring.ring');
  const fileOn = c.on('uring.file');
  const bufOn = c.on('uring.buf');
  if (!ringOn && !fileOn && !bufOn) return;
  const rec = c.rec;
  const manifestRings = new Map<RingKey, ManifestRing>(c.manifest.io_uring.map((r) => [ringKey(c, r), r]));

  // registered rings: handle -> ring key
  const handles = new Map<string, RingKey>();
  const regSeen = new Set<RingKey>();
  for (const g of rec.uringRegs) {
    const w = `registered ring (thread ${g.tid} index ${g.index})`;
    if (!c.isTask(g.pid)) {
      if (ringOn) c.bad('uring.ring', g.pid, w, 'rings of the target tasks only', `pid ${g.pid}, not a task of the manifest`);
      continue;
    }
    const hk = `${g.pid}:${g.ringFd}`;
    const rk = `reg:${g.pid}:${g.tid}:${g.index}`;
    if (handles.has(hk)) {
      if (ringOn) c.bad('uring.ring', g.pid, w, `one registration per handle ${g.ringFd}`, 'two');
      continue;
    }
    handles.set(hk, rk);
    if (!ringOn) continue;
    if (regSeen.has(rk)) c.bad('uring.ring', g.pid, w, 'one record', 'two records');
    regSeen.add(rk);
    const want = manifestRings.get(rk);
    if (!want) {
      c.bad('uring.ring', g.pid, w, 'a ring of the manifest no descriptor reaches', 'not in the manifest');
      continue;
    }
    const why = c.ref(g.ring, want.file, { kind: 'uring.ring', pid: g.pid, where: w });
    if (why && why !== 'none') c.bad('uring.ring', g.pid, w, want.file, why);
  }
  /** the ring a record names, or undefined (reported) */
  const resolve = (pid: number, fd: number, kind: 'uring.ring' | 'uring.file' | 'uring.buf', on: boolean, what: string): RingKey | undefined => {
    const t = c.tableOf.get(pid);
    if (t === undefined) {
      if (on) c.bad(kind, pid, what, 'rings of the target tasks only', `pid ${pid}, not a task of the manifest`);
      return undefined;
    }
    if (fd >= 0) return `fd:${t}:${fd}`;
    const rk = handles.get(`${pid}:${fd}`);
    if (rk === undefined && on) c.bad(kind, pid, what, 'a ring descriptor or a registered-ring handle', `handle ${fd} without a registration record`);
    return rk;
  };

  const rings = new Map<RingKey, RecRing>();
  for (const r of rec.rings) {
    const k = resolve(r.pid, r.fd, 'uring.ring', ringOn, `ring ${r.fd}`);
    if (k === undefined) continue;
    if (rings.has(k)) {
      if (ringOn) c.bad('uring.ring', r.pid, `ring ${r.fd}`, 'one record', 'two records');
      continue;
    }
    rings.set(k, r);
    if (ringOn && !manifestRings.has(k)) c.bad('uring.ring', r.pid, `ring ${r.fd}`, 'not an io_uring instance of the manifest', `a ring of ${r.nrFiles} file and ${r.nrBufs} buffer slots`);
  }
  const slots = <T extends RecUringFile | RecUringBuf>(list: readonly T[], kind: 'uring.file' | 'uring.buf', on: boolean) => {
    const out = new Map<RingKey, Map<number, T>>();
    for (const s of list) {
      const what = `ring ${s.ringFd} ${kind === 'uring.file' ? 'file' : 'buffer'} slot ${s.index}`;
      const k = resolve(s.pid, s.ringFd, kind, on, what);
      if (k === undefined) continue;
      if (!manifestRings.has(k)) {
        if (on) c.bad(kind, s.pid, what, 'slots of the manifest\'s rings', 'a slot of a ring the manifest does not have');
        continue;
      }
      if (!out.has(k)) out.set(k, new Map());
      const m = out.get(k)!;
      if (m.has(s.index)) {
        if (on) c.bad(kind, s.pid, what, 'one record', 'two records');
        continue;
      }
      m.set(s.index, s);
    }
    return out;
  };
  const files = slots(rec.uringFiles, 'uring.file', fileOn);
  const bufs = slots(rec.uringBufs, 'uring.buf', bufOn);

  for (const [k, ring] of manifestRings) {
    const rr = rings.get(k);
    const w0 = where(ring);
    const held = ring.fd !== null;
    const reported = rr !== undefined || regSeen.has(k) || files.has(k) || bufs.has(k);
    if (ringOn) {
      c.counts['uring.ring'].checked++;
      if (!rr) {
        if (c.mayLeave('uring.ring', held)) c.counts['uring.ring'].unrecovered++;
        else c.bad('uring.ring', ring.pid, w0, `${ring.files.length} file and ${ring.buffers.length} buffer slots`, 'ring not reported');
      } else if (!rr.tablesMissing) {
        if (!rr.noFiles && rr.nrFiles !== ring.files.length) c.bad('uring.ring', rr.pid, w0, `${ring.files.length} file slots`, `${rr.nrFiles}`);
        if (!rr.noBufs && rr.nrBufs !== ring.buffers.length) c.bad('uring.ring', rr.pid, w0, `${ring.buffers.length} buffer slots`, `${rr.nrBufs}`);
      }
    }
    // a ring this method cannot see (and does not claim): its slots are not counted
    if (!reported && c.mayLeave('uring.ring', held)) continue;
    if (rr?.tablesMissing) {
      if (fileOn) c.bad('uring.file', rr.pid, w0, 'registered-file table', 'missing from fdinfo (ring lock contended)');
      if (bufOn) c.bad('uring.buf', rr.pid, w0, 'registered-buffer table', 'missing from fdinfo (ring lock contended)');
      continue;
    }
    if (fileOn) checkFiles(c, ring, w0, files.get(k) ?? new Map());
    if (bufOn) checkBufs(c, ring, w0, bufs.get(k) ?? new Map());
  }
}

function checkFiles(c: Ctx, ring: ManifestRing, w0: string, got: Map<number, RecUringFile>): void {
  const K = 'uring.file';
  ring.files.forEach((label, i) => {
    const w = `${w0} file slot ${i}`;
    const g = got.get(i);
    c.counts[K].checked++;
    if (label === null) {
      if (g) c.bad(K, g.pid, w, 'empty', `occupied (${g.path ?? g.kind ?? '?'})`);
      return;
    }
    if (!g) {
      c.bad(K, ring.pid, w, label, 'empty or missing');
      return;
    }
    const want = c.file(label);
    if (want) {
      if (g.kind !== undefined && g.kind !== want.kind) c.bad(K, g.pid, w, `kind ${want.kind}`, `kind ${g.kind}`);
      if (g.dev !== undefined && g.dev !== want.dev) c.bad(K, g.pid, w, `dev ${want.dev}`, `dev ${g.dev}`);
      if (g.ino !== undefined && g.ino !== want.ino) c.bad(K, g.pid, w, `ino ${want.ino}`, `ino ${g.ino}`);
      const pathWrong = pathMismatch(g.path, want.path, want.ino);
      if (pathWrong) c.bad(K, g.pid, w, want.path ?? `ino ${want.ino}`, pathWrong);
    }
    const why = c.ref(g.file, label, { kind: K, pid: g.pid, where: w });
    if (why === 'none') {
      if (c.level(K) === 'full') c.bad(K, g.pid, w, label, 'no identity');
      else c.counts[K].unrecovered++;
    } else if (why) c.bad(K, g.pid, w, label, why);
  });
  for (const [i, g] of got) if (i >= ring.files.length) c.bad(K, g.pid, `${w0} file slot ${i}`, 'no such slot', g.path ?? 'occupied');
}

/** what is wrong with a registered file's path as fdinfo prints it, or undefined */
function pathMismatch(path: string | undefined, want: string | undefined, ino: number): string | undefined {
  if (path === undefined) return undefined;
  const inoFromPath = /^[a-z_]+:\[(\d+)\]$/.exec(path)?.[1];
  if (inoFromPath !== undefined) return Number(inoFromPath) !== ino ? path : undefined;
  if (!want) return undefined;
  if (path.startsWith('/')) return path !== want ? path : undefined;
  // older kernels (6.1) print the dentry's short name, not the path
  return want.endsWith(`/${path}`) ? undefined : path;
}

function checkBufs(c: Ctx, ring: ManifestRing, w0: string, got: Map<number, RecUringBuf>): void {
  const K = 'uring.buf';
  ring.buffers.forEach((want, i) => {
    const w = `${w0} buffer slot ${i}`;
    const g = got.get(i);
    c.counts[K].checked++;
    if (want === null) {
      if (g) c.bad(K, g.pid, w, 'empty', `${hex(g.addr)}/${g.len}`);
      return;
    }
    if (!g) c.bad(K, ring.pid, w, `${hex(want.addr)}/${want.len}`, 'missing');
    else if (hex(g.addr) !== hex(want.addr) || g.len !== want.len) c.bad(K, g.pid, w, `${hex(want.addr)}/${want.len}`, `${hex(g.addr)}/${g.len}`);
  });
  for (const [i, g] of got) if (i >= ring.buffers.length) c.bad(K, g.pid, `${w0} buffer slot ${i}`, 'no such slot', `${hex(g.addr)}/${g.len}`);
}
