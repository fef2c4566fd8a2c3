/**
 * Test-only: corrupt one record of a collector's real answer, byte by byte,
 * before it is decoded (so the decoder is exercised too). Each mutation
 * names the kind of state it falsifies; the mutation suite
 * (test/mutations.test.ts) expects verification to call that kind wrong.
 *
 * Records are found by walking the headers (bpf/records.h: type, size,
 * pid), fields are written at the offsets of decode.ts's LAYOUT (which
 * test/schema.test.ts ties to records.h). The decoded original picks a
 * suitable record (the i-th record of a type is the i-th entry of its list
 * in Recovered), the manifest says what is right.
 */
import { HAVE, ID_HOW, KINDS, LAYOUT, REC, URING_STATUS, type Recovered } from '../../bench/decode.js';
import type { Manifest } from '../../bench/manifest.js';
import type { CoverageKind, DeclaredCoverage } from '../../bench/schema.js';

export interface Span {
  off: number;
  type: number;
  size: number;
  pid: number;
  /** index among the records of its type */
  i: number;
}

/** the records of a buffer, by their headers */
export function spans(buf: ArrayBuffer): Span[] {
  const v = new DataView(buf);
  const out: Span[] = [];
  const seen = new Map<number, number>();
  for (let off = 0; off + 8 <= buf.byteLength; ) {
    const type = v.getUint16(off, true);
    const size = v.getUint16(off + 2, true);
    if (size < 8) throw new Error(`malformed record at ${off}`);
    const i = seen.get(type) ?? 0;
    seen.set(type, i + 1);
    out.push({ off, type, size, pid: v.getInt32(off + 4, true), i });
    off += size;
  }
  return out;
}

const bytes = (b: ArrayBuffer) => new Uint8Array(b);

/** the buffer without record s */
function drop(buf: ArrayBuffer, s: Span): ArrayBuffer {
  const out = new Uint8Array(buf.byteLength - s.size);
  out.set(bytes(buf).subarray(0, s.off), 0);
  out.set(bytes(buf).subarray(s.off + s.size), s.off);
  return out.buffer;
}

/** the buffer with a copy of record s appended, changed by `set` (a view on the copy) */
function add(buf: ArrayBuffer, s: Span, set: (v: DataView) => void = () => undefined): ArrayBuffer {
  const out = new Uint8Array(buf.byteLength + s.size);
  out.set(bytes(buf), 0);
  out.set(bytes(buf).subarray(s.off, s.off + s.size), buf.byteLength);
  set(new DataView(out.buffer, buf.byteLength, s.size));
  return out.buffer;
}

/** the buffer with record s changed in place */
function patch(buf: ArrayBuffer, s: Span, set: (v: DataView) => void): ArrayBuffer {
  const out = buf.slice(0);
  set(new DataView(out, s.off, s.size));
  return out;
}

const u32 = (v: DataView, at: number) => v.getUint32(at, true);
const setU32 = (v: DataView, at: number, x: number) => v.setUint32(at, x >>> 0, true);
const setI32 = (v: DataView, at: number, x: number) => v.setInt32(at, x, true);
const addU64 = (v: DataView, at: number, d: bigint) => v.setBigUint64(at, BigInt.asUintN(64, v.getBigUint64(at, true) + d), true);
const xorU64 = (v: DataView, at: number, d: bigint) => v.setBigUint64(at, v.getBigUint64(at, true) ^ d, true);
const clearHave = (v: DataView, at: number, bit: number) => setU32(v, at, u32(v, at) & ~bit);

const REF = LAYOUT.ib_ref.fields;
const FD = LAYOUT.ib_rec_fd.fields;
const EPI = LAYOUT.ib_rec_epoll_item.fields;
const RING = LAYOUT.ib_rec_uring_ring.fields;
const UF = LAYOUT.ib_rec_uring_file.fields;
const UB = LAYOUT.ib_rec_uring_buf.fields;
const TBL = LAYOUT.ib_rec_table.fields;
const REG = LAYOUT.ib_rec_uring_reg.fields;

/** write a reference (key or holder) at `at` */
function setRef(v: DataView, at: number, r: { key: bigint } | { pid: number; fd: number } | 'none'): void {
  if (r === 'none') {
    setU32(v, at + REF.how, ID_HOW.NONE);
  } else if ('key' in r) {
    setU32(v, at + REF.how, ID_HOW.KEY);
    v.setBigUint64(at + REF.key, r.key, true);
  } else {
    setU32(v, at + REF.how, ID_HOW.HOLDER);
    setI32(v, at + REF.holder_pid, r.pid);
    setI32(v, at + REF.holder_fd, r.fd);
  }
}

export interface Target {
  buf: ArrayBuffer;
  spans: Span[];
  rec: Recovered;
  manifest: Manifest;
}

export interface Mutation {
  /** what it does, one phrase */
  name: string;
  /** the kind of state it falsifies: verification must call it wrong */
  kind: CoverageKind;
  /** applies only to a method that declares the kind at this level */
  only?: (d: DeclaredCoverage) => boolean;
  /** the corrupted answer, or undefined when the answer has no suitable record */
  apply(t: Target): ArrayBuffer | undefined;
}

const of = (t: Target, type: number) => t.spans.filter((s) => s.type === type);
const full = (d: DeclaredCoverage) => d.level === 'full';

function labels(m: Manifest): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of m.tasks) for (const f of t.fds) out.set(`${t.pid}:${f.fd}`, f.file);
  return out;
}

/** an fd number no task of the manifest uses */
function unusedFd(m: Manifest): number {
  return Math.max(0, ...m.tasks.flatMap((t) => t.fds.map((f) => f.fd))) + 1000;
}

/** fd record spans with their label and key */
function fdsWithKeys(t: Target) {
  const lab = labels(t.manifest);
  return of(t, REC.FD).map((s) => {
    const r = t.rec.fds[s.i]!;
    return { s, r, label: lab.get(`${r.pid}:${r.fd}`), key: r.id.how === 'key' ? BigInt('0x' + r.id.key) : undefined };
  });
}

/** a record of `type` whose `have` (at `haveAt`) has `bit` */
function withHave(t: Target, type: number, haveAt: number, bit: number): Span | undefined {
  return of(t, type).find((s) => (new DataView(t.buf, s.off, s.size).getUint32(haveAt, true) & bit) !== 0);
}

function fieldMutations(): Mutation[] {
  const out: Mutation[] = [];
  const fd = (name: string, kind: CoverageKind, bit: number, change: (v: DataView) => void): void => {
    out.push({ name, kind, apply: (t) => { const s = withHave(t, REC.FD, FD.have, bit); return s && patch(t.buf, s, change); } });
    out.push({ name: `${name} missing`, kind, only: full, apply: (t) => { const s = withHave(t, REC.FD, FD.have, bit); return s && patch(t.buf, s, (v) => clearHave(v, FD.have, bit)); } });
  };
  fd('kind', 'fd.meta', HAVE.KIND, (v) => setU32(v, FD.kind, (u32(v, FD.kind) % (KINDS.length - 1)) + 1));
  fd('dev', 'fd.meta', HAVE.DEV, (v) => addU64(v, FD.dev, 1n));
  fd('ino', 'fd.meta', HAVE.INO, (v) => addU64(v, FD.ino, 1n));
  fd('pos', 'fd.pos', HAVE.POS, (v) => addU64(v, FD.pos, 1n));
  fd('flags', 'fd.flags', HAVE.FLAGS, (v) => setU32(v, FD.flags, u32(v, FD.flags) ^ 0o4000)); // O_NONBLOCK
  return out;
}

export const MUTATIONS: Mutation[] = [
  // ---- fd
  { name: 'drop a descriptor', kind: 'fd', apply: (t) => { const s = of(t, REC.FD)[0]; return s && drop(t.buf, s); } },
  { name: 'duplicate a descriptor', kind: 'fd', apply: (t) => { const s = of(t, REC.FD)[0]; return s && add(t.buf, s); } },
  { name: 'add a descriptor', kind: 'fd', apply: (t) => { const s = of(t, REC.FD)[0]; return s && add(t.buf, s, (v) => setI32(v, FD.fd, unusedFd(t.manifest))); } },
  // ---- fd.meta, fd.pos, fd.flags: each field changed, and missing
  ...fieldMutations(),
  // ---- fd.identity
  {
    name: 'identity merged', kind: 'fd.identity',
    apply: (t) => {
      const fs = fdsWithKeys(t).filter((x) => x.key !== undefined && x.label);
      const a = fs[0];
      const b = a && fs.find((x) => x.label !== a.label);
      if (!a || !b) return undefined;
      return patch(t.buf, a.s, (v) => {
        setRef(v, FD.id, { key: b.key! });
        setU32(v, FD.have, (u32(v, FD.have) & ~HAVE.ID_CLASS) | (b.r.idClass ? HAVE.ID_CLASS : 0));
      });
    },
  },
  {
    name: 'identity split', kind: 'fd.identity',
    apply: (t) => {
      const fs = fdsWithKeys(t).filter((x) => x.key !== undefined && x.label);
      const a = fs.find((x) => fs.some((y) => y !== x && y.label === x.label));
      if (!a) return undefined;
      const fresh = fs.reduce((m, x) => (x.key! > m ? x.key! : m), 0n) + 0x10001n;
      return patch(t.buf, a.s, (v) => setRef(v, FD.id, { key: fresh }));
    },
  },
  {
    name: 'identity lost in a complete class', kind: 'fd.identity',
    apply: (t) => {
      const fs = fdsWithKeys(t).filter((x) => x.key !== undefined && x.label);
      const a = fs.find((x) => fs.some((y) => y !== x && y.label === x.label));
      return a && patch(t.buf, a.s, (v) => { setRef(v, FD.id, 'none'); clearHave(v, FD.have, HAVE.ID_CLASS); });
    },
  },
  {
    name: 'identity: the descriptor as its own holder', kind: 'fd.identity',
    apply: (t) => { const a = fdsWithKeys(t)[0]; return a && patch(t.buf, a.s, (v) => { setRef(v, FD.id, { pid: a.r.pid, fd: a.r.fd }); clearHave(v, FD.have, HAVE.ID_CLASS); }); },
  },
  // ---- fd.table
  { name: 'table record dropped', kind: 'fd.table', apply: (t) => { const s = of(t, REC.TABLE)[0]; return s && drop(t.buf, s); } },
  { name: 'table record twice', kind: 'fd.table', apply: (t) => { const s = of(t, REC.TABLE)[0]; return s && add(t.buf, s); } },
  { name: 'table names itself', kind: 'fd.table', apply: (t) => { const s = of(t, REC.TABLE)[0]; return s && patch(t.buf, s, (v) => setI32(v, TBL.same_as, s.pid)); } },
  {
    name: 'table of a task with a table of its own', kind: 'fd.table',
    apply: (t) => {
      const s = of(t, REC.TABLE)[0];
      const mine = s && t.manifest.tasks.find((x) => x.pid === s.pid);
      const other = mine && t.manifest.tasks.find((x) => (x.table ?? x.pid) !== (mine.table ?? mine.pid));
      return other && patch(t.buf, s!, (v) => setI32(v, TBL.same_as, other.pid));
    },
  },
  {
    name: 'a table shared that is not', kind: 'fd.table',
    apply: (t) => {
      const s = of(t, REC.TABLE)[0];
      const lone = t.manifest.tasks.find((x) => t.manifest.tasks.filter((y) => (y.table ?? y.pid) === (x.table ?? x.pid)).length === 1);
      const other = lone && t.manifest.tasks.find((x) => x.pid !== lone.pid);
      return s && other && add(t.buf, s, (v) => { setI32(v, 4, lone!.pid); setI32(v, TBL.same_as, other.pid); });
    },
  },
  // ---- epoll.item
  { name: 'drop an epoll item', kind: 'epoll.item', apply: (t) => { const s = of(t, REC.EPOLL_ITEM)[0]; return s && drop(t.buf, s); } },
  { name: 'duplicate an epoll item', kind: 'epoll.item', apply: (t) => { const s = of(t, REC.EPOLL_ITEM)[0]; return s && add(t.buf, s); } },
  { name: 'add an epoll item', kind: 'epoll.item', apply: (t) => { const s = of(t, REC.EPOLL_ITEM)[0]; return s && add(t.buf, s, (v) => xorU64(v, EPI.data, 0x5a5a0000n)); } },
  { name: 'epoll item tfd', kind: 'epoll.item', apply: (t) => { const s = of(t, REC.EPOLL_ITEM)[0]; return s && patch(t.buf, s, (v) => setI32(v, EPI.tfd, v.getInt32(EPI.tfd, true) + 1)); } },
  { name: 'epoll item events', kind: 'epoll.item', apply: (t) => { const s = withHave(t, REC.EPOLL_ITEM, EPI.have, HAVE.EVENT); return s && patch(t.buf, s, (v) => setU32(v, EPI.events, u32(v, EPI.events) ^ 0x4)); } },
  { name: 'epoll item data', kind: 'epoll.item', apply: (t) => { const s = withHave(t, REC.EPOLL_ITEM, EPI.have, HAVE.EVENT); return s && patch(t.buf, s, (v) => xorU64(v, EPI.data, 0x100000n)); } },
  // ---- epoll.target
  {
    name: 'epoll target', kind: 'epoll.target',
    apply: (t) => {
      const items = of(t, REC.EPOLL_ITEM);
      const lab = labels(t.manifest);
      const targetOf = (i: number) => {
        const it = t.rec.epollItems[i]!;
        const ep = t.manifest.epoll.find((e) => e.pid === it.pid && e.epfd === it.epfd) ?? t.manifest.epoll.find((e) => e.epfd === it.epfd);
        return ep?.items.find((x) => BigInt(x.data) === BigInt(it.data ?? -1))?.target;
      };
      for (const s of items) {
        const it = t.rec.epollItems[s.i]!;
        const mine = targetOf(s.i);
        if (it.target.how === 'key') {
          const o = items.find((x) => t.rec.epollItems[x.i]!.target.how === 'key' && targetOf(x.i) !== mine);
          if (o) return patch(t.buf, s, (v) => setRef(v, EPI.target, { key: BigInt('0x' + (t.rec.epollItems[o.i]!.target as { key: string }).key) }));
        } else if (it.target.how === 'holder') {
          const other = [...lab].find(([, l]) => l !== mine);
          if (other) {
            const [pid, fd] = other[0].split(':').map(Number);
            return patch(t.buf, s, (v) => setRef(v, EPI.target, { pid: pid!, fd: fd! }));
          }
        }
      }
      return undefined;
    },
  },
  {
    name: 'epoll target unnamed although a descriptor holds it', kind: 'epoll.target',
    only: (d) => d.level === 'full' || !!d.unheldOnly,
    apply: (t) => {
      const s = of(t, REC.EPOLL_ITEM).find((x) => t.rec.epollItems[x.i]!.target.how !== 'none');
      return s && patch(t.buf, s, (v) => setRef(v, EPI.target, 'none'));
    },
  },
  { name: 'epoll target inode', kind: 'epoll.target', apply: (t) => { const s = withHave(t, REC.EPOLL_ITEM, EPI.have, HAVE.INO); return s && patch(t.buf, s, (v) => addU64(v, EPI.target_ino, 1n)); } },
  // ---- uring.ring
  { name: 'drop a ring', kind: 'uring.ring', apply: (t) => { const s = of(t, REC.URING_RING).find((x) => t.rec.rings[x.i]!.fd >= 0); return s && drop(t.buf, s); } },
  { name: 'duplicate a ring', kind: 'uring.ring', apply: (t) => { const s = of(t, REC.URING_RING)[0]; return s && add(t.buf, s); } },
  { name: 'extra ring', kind: 'uring.ring', apply: (t) => { const s = of(t, REC.URING_RING)[0]; return s && add(t.buf, s, (v) => setI32(v, RING.ring_fd, unusedFd(t.manifest))); } },
  {
    name: 'ring file slot count', kind: 'uring.ring',
    apply: (t) => { const s = of(t, REC.URING_RING).find((x) => !t.rec.rings[x.i]!.noFiles && !t.rec.rings[x.i]!.tablesMissing); return s && patch(t.buf, s, (v) => setU32(v, RING.nr_files, u32(v, RING.nr_files) + 1)); },
  },
  {
    name: 'ring buffer slot count', kind: 'uring.ring',
    apply: (t) => { const s = of(t, REC.URING_RING).find((x) => !t.rec.rings[x.i]!.noBufs && !t.rec.rings[x.i]!.tablesMissing); return s && patch(t.buf, s, (v) => setU32(v, RING.nr_bufs, u32(v, RING.nr_bufs) + 1)); },
  },
  { name: 'tables said missing', kind: 'uring.file', apply: (t) => { const s = of(t, REC.URING_RING)[0]; return s && patch(t.buf, s, (v) => setU32(v, RING.status, u32(v, RING.status) | URING_STATUS.TABLES_MISSING)); } },
  { name: 'registered ring: drop its registration', kind: 'uring.ring', apply: (t) => { const s = of(t, REC.URING_REG)[0]; return s && drop(t.buf, s); } },
  { name: 'registered ring: thread', kind: 'uring.ring', apply: (t) => { const s = of(t, REC.URING_REG)[0]; return s && patch(t.buf, s, (v) => setI32(v, REG.tid, v.getInt32(REG.tid, true) + 1)); } },
  { name: 'registered ring: index', kind: 'uring.ring', apply: (t) => { const s = of(t, REC.URING_REG)[0]; return s && patch(t.buf, s, (v) => setU32(v, REG.index, u32(v, REG.index) + 1)); } },
  {
    name: 'registered ring: its open file', kind: 'uring.ring',
    apply: (t) => {
      const s = of(t, REC.URING_REG)[0];
      const other = t.rec.fds.find((f) => f.id.how === 'key') ?? t.rec.uringFiles.find((f) => f.file.how === 'key');
      const k = other && ('id' in other ? other.id : other.file);
      return s && k && k.how === 'key' ? patch(t.buf, s, (v) => setRef(v, REG.ring, { key: BigInt('0x' + k.key) })) : undefined;
    },
  },
  // ---- uring.file
  {
    name: 'ring slot file', kind: 'uring.file',
    apply: (t) => {
      const fs = of(t, REC.URING_FILE);
      const s = fs.find((x) => t.rec.uringFiles[x.i]!.file.how === 'key');
      if (s) {
        const me = t.rec.uringFiles[s.i]!;
        const slotLabel = (f: typeof me) => ringOf(t, f.pid, f.ringFd)?.files[f.index];
        const o = fs.find((x) => t.rec.uringFiles[x.i]!.file.how === 'key' && slotLabel(t.rec.uringFiles[x.i]!) !== slotLabel(me));
        return o && patch(t.buf, s, (v) => setRef(v, UF.file, { key: BigInt('0x' + (t.rec.uringFiles[o.i]!.file as { key: string }).key) }));
      }
      // a path only (procfs): one character of the path, or of the inode in "pipe:[77]", changed
      for (const x of fs) {
        const path = t.rec.uringFiles[x.i]!.path;
        const at = path?.startsWith('/') ? 1 : path ? path.indexOf('[') + 1 : 0;
        if (at > 0) return patch(t.buf, x, (v) => v.setUint8(LAYOUT.ib_rec_uring_file.size + at, v.getUint8(LAYOUT.ib_rec_uring_file.size + at) ^ 0x01));
      }
      return undefined;
    },
  },
  { name: 'drop a ring file slot', kind: 'uring.file', apply: (t) => { const s = of(t, REC.URING_FILE)[0]; return s && drop(t.buf, s); } },
  { name: 'duplicate a ring file slot', kind: 'uring.file', apply: (t) => { const s = of(t, REC.URING_FILE)[0]; return s && add(t.buf, s); } },
  {
    name: 'empty file slot filled', kind: 'uring.file',
    apply: (t) => {
      for (const s of of(t, REC.URING_FILE)) {
        const f = t.rec.uringFiles[s.i]!;
        const empty = ringOf(t, f.pid, f.ringFd)?.files.findIndex((x) => x === null);
        if (empty !== undefined && empty >= 0) return add(t.buf, s, (v) => setU32(v, UF.index, empty));
      }
      return undefined;
    },
  },
  { name: 'file slot past the table', kind: 'uring.file', apply: (t) => { const s = of(t, REC.URING_FILE)[0]; return s && add(t.buf, s, (v) => setU32(v, UF.index, 1 << 20)); } },
  // ---- uring.buf
  { name: 'buffer address', kind: 'uring.buf', apply: (t) => { const s = of(t, REC.URING_BUF)[0]; return s && patch(t.buf, s, (v) => addU64(v, UB.addr, 0x1000n)); } },
  { name: 'buffer length', kind: 'uring.buf', apply: (t) => { const s = of(t, REC.URING_BUF)[0]; return s && patch(t.buf, s, (v) => addU64(v, UB.len, 1n)); } },
  { name: 'drop a buffer', kind: 'uring.buf', apply: (t) => { const s = of(t, REC.URING_BUF)[0]; return s && drop(t.buf, s); } },
  { name: 'duplicate a buffer', kind: 'uring.buf', apply: (t) => { const s = of(t, REC.URING_BUF)[0]; return s && add(t.buf, s); } },
  {
    name: 'empty buffer slot filled', kind: 'uring.buf',
    apply: (t) => {
      for (const s of of(t, REC.URING_BUF)) {
        const b = t.rec.uringBufs[s.i]!;
        const empty = ringOf(t, b.pid, b.ringFd)?.buffers.findIndex((x) => x === null);
        if (empty !== undefined && empty >= 0) return add(t.buf, s, (v) => setU32(v, UB.index, empty));
      }
      return undefined;
    },
  },
  { name: 'buffer slot past the table', kind: 'uring.buf', apply: (t) => { const s = of(t, REC.URING_BUF)[0]; return s && add(t.buf, s, (v) => setU32(v, UB.index, 1 << 20)); } },
];

/** the manifest ring a record's (pid, ring fd) names: a descriptor, or a registration's handle */
function ringOf(t: Target, pid: number, ringFd: number) {
  const table = (p: number) => t.manifest.tasks.find((x) => x.pid === p)?.table ?? p;
  if (ringFd >= 0) return t.manifest.io_uring.find((r) => r.fd === ringFd && table(r.pid) === table(pid));
  const reg = t.rec.uringRegs.find((g) => g.pid === pid && g.ringFd === ringFd);
  return reg && t.manifest.io_uring.find((r) => r.fd === null && r.pid === pid && (r.tid ?? r.pid) === reg.tid && r.registeredIndex === reg.index);
}
