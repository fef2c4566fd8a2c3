/**
 * The ground truth a workload generator writes (workloads/, `--manifest PATH`).
 *
 * It is built from the generator's own actions (what it opened, dup'd, sent,
 * registered; fstat/fcntl/lseek on its own descriptors), never by reading
 * /proc. Every open file (struct file) the generator created or inherited gets
 * one label; equal labels = the same open file.
 */

export const MANIFEST_SCHEMA = 1;

export type Scenario = 'files' | 'shared' | 'epoll' | 'io_uring' | 'all';
export const SCENARIOS: readonly Scenario[] = ['files', 'shared', 'epoll', 'io_uring', 'all'];

/** Same names as enum ib_kind in bench/native/records.h (lowercase). */
export type FileKind =
  | 'unknown' | 'reg' | 'dir' | 'pipe' | 'socket' | 'chr' | 'blk'
  | 'eventfd' | 'epoll' | 'io_uring' | 'signalfd' | 'timerfd' | 'inotify' | 'anon' | 'other';

export interface ManifestFile {
  kind: FileKind;
  /** st_dev as fstat returns it (userspace encoding). */
  dev: number;
  ino: number;
  /** file position (lseek(fd, 0, SEEK_CUR); 0 where the file has none). */
  pos: number;
  /** f_flags as F_GETFL returns them (O_ACCMODE, O_APPEND, O_NONBLOCK, ...). */
  flags: number;
  /** path for regular files and directories, when the generator knows it */
  path?: string;
  /** why this file is interesting: "opened-twice", "descriptorless", ... */
  note?: string;
}

export interface ManifestFd {
  fd: number;
  /** label of the open file (key of Manifest.files) */
  file: string;
}

export interface ManifestTask {
  pid: number;
  /** "root", "child-1", ... */
  role: string;
  fds: ManifestFd[];
}

export interface ManifestEpollItem {
  /** the number used at EPOLL_CTL_ADD time (may be closed or reused since) */
  tfd: number;
  events: number;
  /** epoll_event.data as 0x-prefixed hex (u64); unique per item within a workload */
  data: string;
  /** label of the watched open file */
  target: string;
  note?: string;
}

export interface ManifestEpoll {
  pid: number;
  epfd: number;
  /** label of the epoll open file */
  file: string;
  /** exactly the items that exist in the kernel when the workload is ready */
  items: ManifestEpollItem[];
}

export interface ManifestBuffer {
  /** userspace address as registered, 0x-prefixed hex */
  addr: string;
  len: number;
  note?: string;
}

export interface ManifestRing {
  pid: number;
  fd: number;
  /** label of the ring's open file */
  file: string;
  /** slot index -> label of the registered open file, or null for an empty slot */
  files: (string | null)[];
  /** slot index -> buffer, or null for an empty slot */
  buffers: (ManifestBuffer | null)[];
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  scenario: Scenario;
  params: { files: number; tasks: number; buffers: number; epollItems: number; uringFiles: number };
  rootPid: number;
  tasks: ManifestTask[];
  files: Record<string, ManifestFile>;
  epoll: ManifestEpoll[];
  io_uring: ManifestRing[];
  /** the hard cases this workload contains, one short sentence each */
  cases: string[];
}
