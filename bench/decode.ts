/**
 * Decode the record stream of bench/native/records.h into the normalized
 * recovered state. Keep in step with records.h (layouts are asserted in out.c).
 */
import type { FileKind } from './manifest.js';

export const KINDS: readonly FileKind[] = [
  'unknown', 'reg', 'dir', 'pipe', 'socket', 'chr', 'blk', 'eventfd', 'epoll', 'io_uring',
  'signalfd', 'timerfd', 'inotify', 'anon', 'other',
];

const REC_FD = 1;
const REC_EPOLL_ITEM = 2;
const REC_URING_RING = 3;
const REC_URING_FILE = 4;
const REC_URING_BUF = 5;
const REC_NOTE = 6;

export const HAVE = { KIND: 1, DEV: 2, INO: 4, POS: 8, FLAGS: 16, PATH: 32, EVENT: 64 } as const;
export const URING_STATUS = { TABLES_MISSING: 1, NO_FILES: 2, NO_BUFS: 4 } as const;
export const NOTE = { TEXT: 0, URING_TRYLOCK: 1, RINGBUF_DROPPED: 2, FD_VANISHED: 3, TRUNCATED: 4 } as const;

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
  notes: RecNote[];
}

export class DecodeError extends Error {}

const dec = new TextDecoder();

function u64n(v: DataView, off: number): number {
  const b = v.getBigUint64(off, true);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : Number.NaN;
}

function u64hex(v: DataView, off: number): string {
  return '0x' + v.getBigUint64(off, true).toString(16);
}

function cstr(bytes: Uint8Array, start: number, end: number): string {
  let z = start;
  while (z < end && bytes[z] !== 0) z++;
  return dec.decode(bytes.subarray(start, z));
}

function ref(v: DataView, off: number): FileRef {
  const how = v.getUint32(off + 16, true);
  if (how === 1) return { how: 'key', key: v.getBigUint64(off, true).toString(16) };
  if (how === 2) return { how: 'holder', pid: v.getInt32(off + 8, true), fd: v.getInt32(off + 12, true) };
  return { how: 'none' };
}

function kind(k: number): FileKind {
  return KINDS[k] ?? 'unknown';
}

export function decodeRecords(buf: ArrayBuffer): Recovered {
  const v = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const r: Recovered = { fds: [], epollItems: [], rings: [], uringFiles: [], uringBufs: [], notes: [] };
  let off = 0;
  while (off < buf.byteLength) {
    if (off + 8 > buf.byteLength) throw new DecodeError(`truncated record header at ${off}`);
    const type = v.getUint16(off, true);
    const size = v.getUint16(off + 2, true);
    const pid = v.getInt32(off + 4, true);
    if (size < 8 || size % 8 !== 0 || off + size > buf.byteLength) {
      throw new DecodeError(`bad record size ${size} at ${off}`);
    }
    const b = off + 8;
    switch (type) {
      case REC_FD: {
        const have = v.getUint32(b + 8, true);
        const rec: RecFd = { pid, fd: v.getInt32(b, true), id: ref(v, b + 40) };
        if (have & HAVE.KIND) rec.kind = kind(v.getUint32(b + 4, true));
        if (have & HAVE.FLAGS) rec.flags = v.getUint32(b + 12, true);
        if (have & HAVE.DEV) rec.dev = u64n(v, b + 16);
        if (have & HAVE.INO) rec.ino = u64n(v, b + 24);
        if (have & HAVE.POS) rec.pos = u64n(v, b + 32);
        if (have & HAVE.PATH) rec.path = cstr(bytes, off + 72, off + size);
        r.fds.push(rec);
        break;
      }
      case REC_EPOLL_ITEM: {
        const have = v.getUint32(b + 12, true);
        const rec: RecEpollItem = {
          pid,
          epfd: v.getInt32(b, true),
          tfd: v.getInt32(b + 4, true),
          target: ref(v, b + 40),
        };
        if (have & HAVE.EVENT) {
          rec.events = v.getUint32(b + 8, true);
          rec.data = u64hex(v, b + 16);
        }
        if (have & HAVE.DEV) rec.targetDev = u64n(v, b + 24);
        if (have & HAVE.INO) rec.targetIno = u64n(v, b + 32);
        r.epollItems.push(rec);
        break;
      }
      case REC_URING_RING: {
        const status = v.getUint32(b + 12, true);
        r.rings.push({
          pid,
          fd: v.getInt32(b, true),
          nrFiles: v.getUint32(b + 4, true),
          nrBufs: v.getUint32(b + 8, true),
          tablesMissing: (status & URING_STATUS.TABLES_MISSING) !== 0,
          noFiles: (status & URING_STATUS.NO_FILES) !== 0,
          noBufs: (status & URING_STATUS.NO_BUFS) !== 0,
        });
        break;
      }
      case REC_URING_FILE: {
        const have = v.getUint32(b + 8, true);
        const rec: RecUringFile = {
          pid,
          ringFd: v.getInt32(b, true),
          index: v.getUint32(b + 4, true),
          file: ref(v, b + 32),
        };
        if (have & HAVE.KIND) rec.kind = kind(v.getUint32(b + 12, true));
        if (have & HAVE.DEV) rec.dev = u64n(v, b + 16);
        if (have & HAVE.INO) rec.ino = u64n(v, b + 24);
        if (have & HAVE.PATH) rec.path = cstr(bytes, off + 64, off + size);
        r.uringFiles.push(rec);
        break;
      }
      case REC_URING_BUF:
        r.uringBufs.push({
          pid,
          ringFd: v.getInt32(b, true),
          index: v.getUint32(b + 4, true),
          addr: u64hex(v, b + 8),
          len: u64n(v, b + 16),
        });
        break;
      case REC_NOTE:
        r.notes.push({
          pid,
          code: v.getUint32(b, true),
          fd: v.getInt32(b + 4, true),
          count: u64n(v, b + 8),
          text: size > 24 ? cstr(bytes, off + 24, off + size) : '',
        });
        break;
      default:
        throw new DecodeError(`unknown record type ${type} at ${off}`);
    }
    off += size;
  }
  return r;
}
