/**
 * Decode the record stream of bpf/records.h into the normalized recovered
 * state. The constants below are TypeScript's copy of bpf/records.h and
 * bpf/kinds.h; test/schema.test.ts parses those headers and fails when the
 * two differ. Anything the decoder does not understand is a DecodeError:
 * a malformed or unknown record never becomes a silent wrong answer.
 */
import type { FileKind } from './manifest.js';

/** enum ib_kind (bpf/kinds.h), by value: IB_KIND_NAMES */
export const KINDS: readonly FileKind[] = [
  'unknown', 'reg', 'dir', 'pipe', 'socket', 'chr', 'blk', 'eventfd', 'epoll', 'io_uring',
  'signalfd', 'timerfd', 'inotify', 'anon', 'other',
];

/** enum ib_rec_type */
export const REC = { FD: 1, EPOLL_ITEM: 2, URING_RING: 3, URING_FILE: 4, URING_BUF: 5, NOTE: 6, TABLE: 7, URING_REG: 8 } as const;
/** enum ib_id_how */
export const ID_HOW = { NONE: 0, KEY: 1, HOLDER: 2 } as const;
/** IB_HAVE_* */
export const HAVE = { KIND: 1, DEV: 2, INO: 4, POS: 8, FLAGS: 16, PATH: 32, EVENT: 64, ID_CLASS: 128 } as const;
/** IB_URING_* (ring status) */
export const URING_STATUS = { TABLES_MISSING: 1, NO_FILES: 2, NO_BUFS: 4 } as const;
/** enum ib_note_code */
export const NOTE = { TEXT: 0, URING_TRYLOCK: 1, RINGBUF_DROPPED: 2, FD_VANISHED: 3, TRUNCATED: 4 } as const;

/**
 * Sizes and field offsets (bytes from the record's start) of every struct
 * of bpf/records.h: its IB_SIZE / IB_LAYOUT lines, which the compiler checks.
 */
export const LAYOUT = {
  ib_rec_hdr: { size: 8, fields: { type: 0, size: 2, pid: 4 } },
  ib_ref: { size: 24, fields: { key: 0, holder_pid: 8, holder_fd: 12, how: 16 } },
  ib_rec_fd: { size: 72, fields: { fd: 8, kind: 12, have: 16, flags: 20, dev: 24, ino: 32, pos: 40, id: 48 } },
  ib_rec_epoll_item: {
    size: 72,
    fields: { epfd: 8, tfd: 12, events: 16, have: 20, data: 24, target_dev: 32, target_ino: 40, target: 48 },
  },
  ib_rec_uring_ring: { size: 24, fields: { ring_fd: 8, nr_files: 12, nr_bufs: 16, status: 20 } },
  ib_rec_uring_file: { size: 64, fields: { ring_fd: 8, index: 12, have: 16, kind: 20, dev: 24, ino: 32, file: 40 } },
  ib_rec_uring_buf: { size: 32, fields: { ring_fd: 8, index: 12, addr: 16, len: 24 } },
  ib_rec_table: { size: 16, fields: { same_as: 8 } },
  ib_rec_uring_reg: { size: 48, fields: { ring_fd: 8, tid: 12, index: 16, ring: 24 } },
  ib_rec_note: { size: 24, fields: { code: 8, fd: 12, count: 16 } },
} as const;

/** How a method named an open file. */
export type FileRef =
  | { how: 'none' }
  | { how: 'key'; key: string }
  | { how: 'holder'; pid: number; fd: number };

export interface RecFd {
  pid: number;
  fd: number;
  kind?: FileKind;
  dev?: number;
  ino?: number;
  pos?: number;
  flags?: number;
  path?: string;
  id: FileRef;
  /**
   * IB_HAVE_ID_CLASS: this descriptor's identity class is complete (every
   * descriptor sharing its open file carries the same key). Set by a
   * sampling method on the classes of its sampled rows.
   */
  idClass?: true;
}

export interface RecEpollItem {
  pid: number;
  epfd: number;
  tfd: number;
  events?: number;
  /** 0x-prefixed hex */
  data?: string;
  targetDev?: number;
  targetIno?: number;
  target: FileRef;
}

export interface RecRing {
  pid: number;
  fd: number;
  nrFiles: number;
  nrBufs: number;
  tablesMissing: boolean;
  noFiles: boolean;
  noBufs: boolean;
}

export interface RecUringFile {
  pid: number;
  ringFd: number;
  index: number;
  kind?: FileKind;
  dev?: number;
  ino?: number;
  path?: string;
  file: FileRef;
}

export interface RecUringBuf {
  pid: number;
  ringFd: number;
  index: number;
  /** 0x-prefixed hex */
  addr: string;
  len: number;
}

/** ib_rec_table: task `pid` uses the descriptor table reported under task `sameAs` */
export interface RecTable {
  pid: number;
  sameAs: number;
}

/** ib_rec_uring_reg: a ring no descriptor holds, in thread `tid`'s registered-ring table */
export interface RecUringReg {
  pid: number;
  /** the handle (< 0) its ring, file and buffer records carry as their ring fd */
  ringFd: number;
  tid: number;
  index: number;
  ring: FileRef;
}

export interface RecNote {
  pid: number;
  code: number;
  fd: number;
  count: number;
  text: string;
}

export interface Recovered {
  fds: RecFd[];
  epollItems: RecEpollItem[];
  rings: RecRing[];
  uringFiles: RecUringFile[];
  uringBufs: RecUringBuf[];
  tables: RecTable[];
  uringRegs: RecUringReg[];
  notes: RecNote[];
}

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** paths are bytes: a name that is not UTF-8 decodes with U+FFFD (and then differs from the manifest's) */
const dec = new TextDecoder();
const HDR = LAYOUT.ib_rec_hdr;
const REF = LAYOUT.ib_ref;
const FD = LAYOUT.ib_rec_fd;
const EPI = LAYOUT.ib_rec_epoll_item;
const RING = LAYOUT.ib_rec_uring_ring;
const UFILE = LAYOUT.ib_rec_uring_file;
const UBUF = LAYOUT.ib_rec_uring_buf;
const NOTEL = LAYOUT.ib_rec_note;
const TABLE = LAYOUT.ib_rec_table;
const UREG = LAYOUT.ib_rec_uring_reg;

const FIXED: Record<number, { name: string; size: number }> = {
  [REC.FD]: { name: 'fd', size: FD.size },
  [REC.EPOLL_ITEM]: { name: 'epoll item', size: EPI.size },
  [REC.URING_RING]: { name: 'io_uring ring', size: RING.size },
  [REC.URING_FILE]: { name: 'io_uring file', size: UFILE.size },
  [REC.URING_BUF]: { name: 'io_uring buffer', size: UBUF.size },
  [REC.NOTE]: { name: 'note', size: NOTEL.size },
  [REC.TABLE]: { name: 'table', size: TABLE.size },
  [REC.URING_REG]: { name: 'io_uring registered ring', size: UREG.size },
};
const ALL_HAVE = Object.values(HAVE).reduce((a, b) => a | b, 0);
const NOTE_CODES = new Set<number>(Object.values(NOTE));

/** A decoder over one buffer: every read names the record it is in when it fails. */
class Reader {
  readonly v: DataView;
  readonly bytes: Uint8Array;
  off = 0;
  size = 0;
  constructor(buf: ArrayBuffer) {
    this.v = new DataView(buf);
    this.bytes = new Uint8Array(buf);
  }
  fail(what: string): never {
    throw new DecodeError(`record at byte ${this.off}: ${what}`);
  }
  u32(at: number): number {
    return this.v.getUint32(this.off + at, true);
  }
  i32(at: number): number {
    return this.v.getInt32(this.off + at, true);
  }
  /** a u64 that must be an exact JavaScript number (dev, ino, pos, len, count) */
  u64n(at: number, what: string): number {
    const b = this.v.getBigUint64(this.off + at, true);
    if (b > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${b} is beyond 2^53`);
    return Number(b);
  }
  u64hex(at: number): string {
    return '0x' + this.v.getBigUint64(this.off + at, true).toString(16);
  }
  kind(at: number): FileKind {
    const k = this.u32(at);
    const name = KINDS[k];
    if (name === undefined) this.fail(`unknown kind ${k}`);
    return name;
  }
  have(at: number): number {
    const h = this.u32(at);
    if (h & ~ALL_HAVE) this.fail(`unknown have bits 0x${(h & ~ALL_HAVE).toString(16)}`);
    return h;
  }
  ref(at: number): FileRef {
    const how = this.u32(at + REF.fields.how);
    if (how === ID_HOW.KEY) return { how: 'key', key: this.v.getBigUint64(this.off + at + REF.fields.key, true).toString(16) };
    if (how === ID_HOW.HOLDER) return { how: 'holder', pid: this.i32(at + REF.fields.holder_pid), fd: this.i32(at + REF.fields.holder_fd) };
    if (how === ID_HOW.NONE) return { how: 'none' };
    return this.fail(`unknown identity kind ${how}`);
  }
  /** the NUL-terminated string after the fixed part */
  str(fixed: number): string {
    const start = this.off + fixed;
    const end = this.off + this.size;
    let z = start;
    while (z < end && this.bytes[z] !== 0) z++;
    if (z >= end) this.fail('string without its NUL terminator');
    return dec.decode(this.bytes.subarray(start, z));
  }
}

export function decodeRecords(buf: ArrayBuffer): Recovered {
  const r: Recovered = { fds: [], epollItems: [], rings: [], uringFiles: [], uringBufs: [], tables: [], uringRegs: [], notes: [] };
  const rd = new Reader(buf);
  const len = buf.byteLength;
  while (rd.off < len) {
    if (rd.off + HDR.size > len) rd.fail(`truncated header (${len - rd.off} of ${HDR.size} bytes)`);
    const type = rd.v.getUint16(rd.off + HDR.fields.type, true);
    const size = rd.v.getUint16(rd.off + HDR.fields.size, true);
    const pid = rd.i32(HDR.fields.pid);
    rd.size = size;
    if (size % 8 !== 0) rd.fail(`size ${size} is not a multiple of 8`);
    const fixed = FIXED[type];
    if (!fixed) rd.fail(`unknown record type ${type} (size ${size})`);
    if (size < fixed.size) rd.fail(`${fixed.name} record of ${size} bytes, its fixed part is ${fixed.size}`);
    if (rd.off + size > len) rd.fail(`truncated ${fixed.name} record (${len - rd.off} of ${size} bytes)`);
    switch (type) {
      case REC.FD: {
        const have = rd.have(FD.fields.have);
        const rec: RecFd = { pid, fd: rd.i32(FD.fields.fd), id: rd.ref(FD.fields.id) };
        if (have & HAVE.KIND) rec.kind = rd.kind(FD.fields.kind);
        if (have & HAVE.FLAGS) rec.flags = rd.u32(FD.fields.flags);
        if (have & HAVE.DEV) rec.dev = rd.u64n(FD.fields.dev, 'dev');
        if (have & HAVE.INO) rec.ino = rd.u64n(FD.fields.ino, 'ino');
        if (have & HAVE.POS) rec.pos = rd.u64n(FD.fields.pos, 'pos');
        if (have & HAVE.PATH) rec.path = rd.str(FD.size);
        if (have & HAVE.ID_CLASS) {
          if (rec.id.how !== 'key') rd.fail('a complete identity class without a key');
          rec.idClass = true;
        }
        r.fds.push(rec);
        break;
      }
      case REC.EPOLL_ITEM: {
        const have = rd.have(EPI.fields.have);
        const rec: RecEpollItem = {
          pid,
          epfd: rd.i32(EPI.fields.epfd),
          tfd: rd.i32(EPI.fields.tfd),
          target: rd.ref(EPI.fields.target),
        };
        if (have & HAVE.EVENT) {
          rec.events = rd.u32(EPI.fields.events);
          rec.data = rd.u64hex(EPI.fields.data);
        }
        if (have & HAVE.DEV) rec.targetDev = rd.u64n(EPI.fields.target_dev, 'target dev');
        if (have & HAVE.INO) rec.targetIno = rd.u64n(EPI.fields.target_ino, 'target ino');
        r.epollItems.push(rec);
        break;
      }
      case REC.URING_RING: {
        const status = rd.u32(RING.fields.status);
        const known = URING_STATUS.TABLES_MISSING | URING_STATUS.NO_FILES | URING_STATUS.NO_BUFS;
        if (status & ~known) rd.fail(`unknown ring status bits 0x${(status & ~known).toString(16)}`);
        r.rings.push({
          pid,
          fd: rd.i32(RING.fields.ring_fd),
          nrFiles: rd.u32(RING.fields.nr_files),
          nrBufs: rd.u32(RING.fields.nr_bufs),
          tablesMissing: (status & URING_STATUS.TABLES_MISSING) !== 0,
          noFiles: (status & URING_STATUS.NO_FILES) !== 0,
          noBufs: (status & URING_STATUS.NO_BUFS) !== 0,
        });
        break;
      }
      case REC.URING_FILE: {
        const have = rd.have(UFILE.fields.have);
        const rec: RecUringFile = {
          pid,
          ringFd: rd.i32(UFILE.fields.ring_fd),
          index: rd.u32(UFILE.fields.index),
          file: rd.ref(UFILE.fields.file),
        };
        if (have & HAVE.KIND) rec.kind = rd.kind(UFILE.fields.kind);
        if (have & HAVE.DEV) rec.dev = rd.u64n(UFILE.fields.dev, 'dev');
        if (have & HAVE.INO) rec.ino = rd.u64n(UFILE.fields.ino, 'ino');
        if (have & HAVE.PATH) rec.path = rd.str(UFILE.size);
        r.uringFiles.push(rec);
        break;
      }
      case REC.URING_BUF:
        r.uringBufs.push({
          pid,
          ringFd: rd.i32(UBUF.fields.ring_fd),
          index: rd.u32(UBUF.fields.index),
          addr: rd.u64hex(UBUF.fields.addr),
          len: rd.u64n(UBUF.fields.len, 'len'),
        });
        break;
      case REC.TABLE:
        r.tables.push({ pid, sameAs: rd.i32(TABLE.fields.same_as) });
        break;
      case REC.URING_REG: {
        const ringFd = rd.i32(UREG.fields.ring_fd);
        if (ringFd >= 0) rd.fail(`registered ring handle ${ringFd} is not negative`);
        r.uringRegs.push({ pid, ringFd, tid: rd.i32(UREG.fields.tid), index: rd.u32(UREG.fields.index), ring: rd.ref(UREG.fields.ring) });
        break;
      }
      case REC.NOTE: {
        const code = rd.u32(NOTEL.fields.code);
        if (!NOTE_CODES.has(code)) rd.fail(`unknown note code ${code}`);
        r.notes.push({
          pid,
          code,
          fd: rd.i32(NOTEL.fields.fd),
          count: rd.u64n(NOTEL.fields.count, 'count'),
          text: size > NOTEL.size ? rd.str(NOTEL.size) : '',
        });
        break;
      }
    }
    rd.off += size;
  }
  return r;
}
