/**
 * A CRIU images directory decoded with crit (`crit decode -i IMG`): the
 * process tree, each task's descriptor table, the open files, and the dump's
 * statistics. Only what the lane checks is typed; crit's JSON (without
 * --pretty: flags are numbers) is read with a 64-bit-exact parser.
 *
 *   pstree.img        tasks: pid, ppid, threads
 *   ids-PID.img       files_id: which fdinfo-N.img is PID's descriptor table
 *   fdinfo-N.img      fd -> file id (equal ids = one open file), type
 *   files.img         one entry per open file (and per mapped file): type and
 *                     a per-type sub-entry (reg, pipe, usk, epfd, ...)
 *   stats-dump        freezing/frozen/memdump/memwrite times (µs), pages
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseJson, type Json } from './json.js';

export type JsonObject = { [k: string]: Json };

export interface PstreeEntry {
  pid: number;
  ppid: number;
  threads: number[];
}

export interface FdinfoEntry {
  fd: number;
  id: number;
  type: string;
  /** descriptor flags (FD_CLOEXEC) */
  flags: number;
}

export interface EpollTfd {
  tfd: number;
  events: number;
  /** 0x-prefixed hex */
  data: string;
  /** the target's s_dev as the kernel prints it in fdinfo (sdev:, kernel encoding) */
  dev: number;
  inode: number;
  pos: number;
}

/** One files.img entry: the common part and the sub-entry of its type. */
export interface FileEntry {
  type: string;
  id: number;
  /** the per-type sub-entry (reg, pipe, usk, isk, efd, epfd, ...) as crit gives it */
  body: JsonObject;
}

export interface DumpStats {
  freezingUs: number;
  frozenUs: number;
  memdumpUs: number;
  memwriteUs: number;
  pagesScanned: number;
  pagesWritten: number;
  /** shared memory pages (shmem mappings) */
  shpagesScanned?: number;
  shpagesWritten?: number;
  irmapResolveUs?: number;
}

export interface CriuImages {
  pstree: PstreeEntry[];
  /** pid -> its descriptor table (tasks sharing a table share the array) */
  fdinfo: Map<number, FdinfoEntry[]>;
  /** file id -> entry */
  files: Map<number, FileEntry>;
  stats?: DumpStats;
}

/** files.img sub-entry key per fd type (images/fdinfo.proto, file_entry) */
export const SUBENTRY: Record<string, string> = {
  REG: 'reg', PIPE: 'pipe', FIFO: 'fifo', INETSK: 'isk', UNIXSK: 'usk', EVENTFD: 'efd',
  EVENTPOLL: 'epfd', INOTIFY: 'ify', SIGNALFD: 'sgfd', PACKETSK: 'psk', TTY: 'tty',
  FANOTIFY: 'ffy', NETLINKSK: 'nlsk', NS: 'nsf', TUNF: 'tunf', EXT: 'ext', TIMERFD: 'tfd',
  MEMFD: 'memfd', BPFMAP: 'bpf', PIDFD: 'pidfd',
};

export class ImageError extends Error {}

const num = (v: Json | undefined, what: string): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new ImageError(`${what}: expected a number, got ${v === undefined ? 'nothing' : JSON.stringify(String(v))}`);
};
const optNum = (v: Json | undefined): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
const obj = (v: Json | undefined, what: string): JsonObject => {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as JsonObject;
  throw new ImageError(`${what}: expected an object`);
};
const arr = (v: Json | undefined, what: string): Json[] => {
  if (Array.isArray(v)) return v;
  throw new ImageError(`${what}: expected an array`);
};
const hex = (v: Json | undefined, what: string): string => {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return '0x' + v.toString(16);
  throw new ImageError(`${what}: expected an unsigned integer`);
};

/** The entries of one decoded image, after checking its magic. */
export function entriesOf(doc: Json, magic: string, name: string): JsonObject[] {
  const d = obj(doc, name);
  if (d.magic !== magic) throw new ImageError(`${name}: magic ${String(d.magic)}, expected ${magic}`);
  return arr(d.entries, `${name} entries`).map((e, i) => obj(e, `${name} entry ${i}`));
}

export function parsePstree(doc: Json): PstreeEntry[] {
  return entriesOf(doc, 'PSTREE', 'pstree.img').map((e) => ({
    pid: num(e.pid, 'pstree pid'),
    ppid: num(e.ppid, 'pstree ppid'),
    threads: arr(e.threads ?? [], 'pstree threads').map((t) => num(t, 'pstree thread')),
  }));
}

export function parseIds(doc: Json, name = 'ids.img'): { filesId: number } {
  const [e] = entriesOf(doc, 'IDS', name);
  if (!e) throw new ImageError(`${name}: no entry`);
  return { filesId: num(e.files_id, `${name} files_id`) };
}

export function parseFdinfo(doc: Json, name = 'fdinfo.img'): FdinfoEntry[] {
  return entriesOf(doc, 'FDINFO', name).map((e) => ({
    fd: num(e.fd, `${name} fd`),
    id: num(e.id, `${name} id`),
    type: String(e.type),
    flags: num(e.flags ?? 0, `${name} flags`),
  }));
}

export function parseFiles(doc: Json): Map<number, FileEntry> {
  const out = new Map<number, FileEntry>();
  for (const e of entriesOf(doc, 'FILES', 'files.img')) {
    const type = String(e.type);
    const id = num(e.id, 'files.img id');
    const key = SUBENTRY[type];
    const body = key && e[key] !== undefined ? obj(e[key], `files.img ${type} ${id}`) : {};
    out.set(id, { type, id, body });
  }
  return out;
}

export function parseEpollTfds(body: JsonObject): EpollTfd[] {
  return arr(body.tfd ?? [], 'eventpoll tfd').map((t, i) => {
    const o = obj(t, `eventpoll tfd ${i}`);
    return {
      tfd: num(o.tfd, 'tfd'),
      events: num(o.events, 'events'),
      data: hex(o.data, 'data'),
      dev: num(o.dev, 'dev'),
      inode: num(o.inode, 'inode'),
      pos: num(o.pos ?? 0, 'pos'),
    };
  });
}

export function parseStats(doc: Json): DumpStats {
  const [e] = entriesOf(doc, 'STATS', 'stats-dump');
  const d = obj(e?.dump, 'stats-dump dump');
  return {
    freezingUs: num(d.freezing_time, 'freezing_time'),
    frozenUs: num(d.frozen_time, 'frozen_time'),
    memdumpUs: num(d.memdump_time, 'memdump_time'),
    memwriteUs: num(d.memwrite_time, 'memwrite_time'),
    pagesScanned: num(d.pages_scanned, 'pages_scanned'),
    pagesWritten: num(d.pages_written, 'pages_written'),
    shpagesScanned: optNum(d.shpages_scanned),
    shpagesWritten: optNum(d.shpages_written),
    irmapResolveUs: optNum(d.irmap_resolve),
  };
}

/** `crit decode -i FILE` parsed; errors name the image and crit's last line. */
export function critDecode(crit: string, file: string, timeoutMs = 120_000): Promise<Json> {
  return new Promise((resolve, reject) => {
    const p = spawn(crit, ['decode', '-i', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4096);
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(new ImageError(`cannot run ${crit}: ${e.message}`));
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const last = err.trim().split('\n').at(-1) ?? '';
        reject(new ImageError(`crit decode ${path.basename(file)} failed (${signal ?? `exit ${code}`})${last ? `: ${last}` : ''}`));
        return;
      }
      try {
        resolve(parseJson(Buffer.concat(out).toString('utf8')));
      } catch (e) {
        reject(new ImageError(`crit decode ${path.basename(file)}: ${(e as Error).message}`));
      }
    });
  });
}

/** The images the lane reads, by file name. */
export const WANTED = /^(pstree\.img|ids-\d+\.img|fdinfo-\d+\.img|files\.img|stats-dump)$/;

const DECODE_ALL = [
  'import sys, json, pycriu.images',
  'out = {}',
  'for p in sys.argv[1:]:',
  '    with open(p, "rb") as f:',
  '        out[p.rsplit("/", 1)[-1]] = pycriu.images.load(f)',
  'json.dump(out, sys.stdout)',
].join('\n');

const pythons = new Map<string, string | undefined>();

/**
 * A python that imports crit's library (pycriu), to decode every image in
 * one process: `crit-python` next to crit (bench/criu/build.sh), else
 * crit's own interpreter (its #! line). undefined: decode image by image
 * with the crit command.
 */
export function critPython(crit: string): string | undefined {
  if (pythons.has(crit)) return pythons.get(crit);
  const candidates: string[] = [];
  const beside = path.join(path.dirname(crit), 'crit-python');
  if (existsSync(beside)) candidates.push(beside);
  try {
    const first = readFileSync(crit, 'utf8').slice(0, 200).split('\n')[0] ?? '';
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (m) candidates.push(m[1].endsWith('/env') && m[2] ? m[2] : m[1]);
  } catch {
    /* not readable */
  }
  let found: string | undefined;
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import pycriu.images'], { stdio: 'ignore', timeout: 20_000 });
    if (r.status === 0) {
      found = c;
      break;
    }
  }
  pythons.set(crit, found);
  return found;
}

/** Decode several images in one python process (pycriu.images.load, as `crit decode` does). */
export function decodeAll(python: string, files: string[], timeoutMs = 300_000): Promise<Map<string, Json>> {
  return new Promise((resolve, reject) => {
    const p = spawn(python, ['-c', DECODE_ALL, ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4096);
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(new ImageError(`cannot run ${python}: ${e.message}`));
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const last = err.trim().split('\n').at(-1) ?? '';
        reject(new ImageError(`decoding the images with pycriu failed (${signal ?? `exit ${code}`})${last ? `: ${last}` : ''}`));
        return;
      }
      try {
        const doc = parseJson(Buffer.concat(out).toString('utf8'));
        if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ImageError('not an object');
        resolve(new Map(Object.entries(doc as JsonObject)));
      } catch (e) {
        reject(new ImageError(`decoding the images with pycriu: ${(e as Error).message}`));
      }
    });
  });
}

/**
 * Decode what the lane checks from an images directory: in one python
 * process with pycriu when crit's python is found (critPython), else with
 * one `crit decode` per image (two at a time).
 */
export async function readImages(dir: string, crit: string): Promise<CriuImages> {
  if (!existsSync(path.join(dir, 'pstree.img'))) throw new ImageError(`no pstree.img in ${dir}`);
  const names = readdirSync(dir);
  const python = critPython(crit);
  if (python) {
    const docs = await decodeAll(python, names.filter((n) => WANTED.test(n)).map((n) => path.join(dir, n)));
    return readImagesWith(docs.keys(), async (name) => {
      const d = docs.get(name);
      if (d === undefined) throw new ImageError(`${name} was not decoded`);
      return d;
    });
  }
  return readImagesWith(names, (name) => critDecode(crit, path.join(dir, name)));
}

/**
 * The same from any source of decoded images: `names` are the image file
 * names present (pstree.img, ids-PID.img, ...), `decode` gives crit's JSON of
 * one. Tasks whose ids image names the same files_id share one table.
 */
export async function readImagesWith(names: Iterable<string>, decode: (name: string) => Promise<Json>): Promise<CriuImages> {
  const have = new Set(names);
  if (!have.has('pstree.img')) throw new ImageError('no pstree.img');
  const pstree = parsePstree(await decode('pstree.img'));
  const ids = new Map<number, number>();
  await pool(pstree.map((t) => async () => {
    const n = `ids-${t.pid}.img`;
    if (!have.has(n)) throw new ImageError(`no ${n}`);
    ids.set(t.pid, parseIds(await decode(n), n).filesId);
  }), 2);
  const tables = new Map<number, FdinfoEntry[]>();
  let files = new Map<number, FileEntry>();
  let stats: DumpStats | undefined;
  if (!have.has('files.img')) throw new ImageError('no files.img');
  const jobs: (() => Promise<void>)[] = [async () => {
    files = parseFiles(await decode('files.img'));
  }];
  for (const fid of new Set(ids.values())) {
    jobs.push(async () => {
      const n = `fdinfo-${fid}.img`;
      tables.set(fid, have.has(n) ? parseFdinfo(await decode(n), n) : []);
    });
  }
  if (have.has('stats-dump')) jobs.push(async () => {
    stats = parseStats(await decode('stats-dump'));
  });
  await pool(jobs, 2);
  const fdinfo = new Map<number, FdinfoEntry[]>();
  for (const [pid, fid] of ids) fdinfo.set(pid, tables.get(fid) ?? []);
  return { pstree, fdinfo, files, stats };
}

async function pool(jobs: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
}
