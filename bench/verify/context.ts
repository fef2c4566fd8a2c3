/**
 * What every kind's check shares: the manifest seen per descriptor table,
 * the method's declaration, the tally of each kind and the mismatches, and
 * one identity partition over everything a method names an open file in
 * (descriptors, epoll targets, io_uring slots, registered rings).
 */
import type { FileRef, Recovered } from '../decode.js';
import type { Manifest, ManifestFd, ManifestFile } from '../manifest.js';
import type { DeclaredCoverage, MethodInfo } from '../native.js';
import { COVERAGE_KINDS, type CoverageKind, type Mismatch } from '../schema.js';

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

export interface KindCount {
  /** items of this kind compared with the manifest */
  checked: number;
  /** items the method's interface could not give (as it declared) */
  unrecovered: number;
  /** items it got wrong (mismatches) */
  wrong: number;
}

export type Method = Pick<MethodInfo, 'name' | 'coverage'>;

/** the item a reference belongs to, for a mismatch */
export interface Where {
  kind: CoverageKind;
  pid: number;
  where: string;
}

/** A "pid:fd" key of a descriptor, by table: tasks that share a table share its keys. */
export type FdKey = string;

export class Ctx {
  readonly mismatches: Mismatch[] = [];
  readonly counts = Object.fromEntries(COVERAGE_KINDS.map((k) => [k, { checked: 0, unrecovered: 0, wrong: 0 }])) as Record<CoverageKind, KindCount>;
  readonly decl: Record<CoverageKind, DeclaredCoverage>;
  /** pid -> its table (the pid of the task whose table it uses) */
  readonly tableOf = new Map<number, number>();
  /** table -> the tasks that use it, in manifest order */
  readonly tasksOf = new Map<number, number[]>();
  /** table -> its descriptors (those of its first task: tasks of one table list the same) */
  readonly fdsOf = new Map<number, ManifestFd[]>();
  /** fd key -> label of its open file */
  readonly holder = new Map<FdKey, string>();
  /** label -> some descriptor holding it */
  readonly heldBy = new Map<string, FdKey>();
  /** key -> the open file it names, and the item that said so first */
  private readonly keyToLabel = new Map<string, { label: string; at: Where }>();
  private readonly labelToKey = new Map<string, { key: string; at: Where }>();

  constructor(
    readonly manifest: Manifest,
    readonly rec: Recovered,
    readonly method: Method,
    readonly opts: VerifyOptions,
  ) {
    this.decl = method.coverage as Record<CoverageKind, DeclaredCoverage>;
    for (const t of manifest.tasks) {
      const table = t.table ?? t.pid;
      this.tableOf.set(t.pid, table);
      if (!this.tasksOf.has(table)) {
        this.tasksOf.set(table, []);
        this.fdsOf.set(table, t.fds);
        for (const f of t.fds) {
          const k = `${table}:${f.fd}`;
          this.holder.set(k, f.file);
          if (!this.heldBy.has(f.file)) this.heldBy.set(f.file, `${t.pid}/${f.fd}`);
        }
      }
      this.tasksOf.get(table)!.push(t.pid);
    }
  }

  /** the method claims this kind (full or partial) */
  on(k: CoverageKind): boolean {
    return this.decl[k].level !== 'none';
  }

  level(k: CoverageKind): DeclaredCoverage['level'] {
    return this.decl[k].level;
  }

  /**
   * May the method leave this item unrecovered? full: never; partial: yes,
   * or only when no descriptor holds the item (unheldOnly).
   */
  mayLeave(k: CoverageKind, held: boolean): boolean {
    const d = this.decl[k];
    if (d.level === 'full') return false;
    return !(d.unheldOnly && held);
  }

  bad(kind: CoverageKind, pid: number, where: string, expected: string, got: string): void {
    this.counts[kind].wrong++;
    this.mismatches.push({ method: this.method.name, kind, pid, where, expected, got });
  }

  file(label: string): ManifestFile | undefined {
    return this.manifest.files[label];
  }

  /** the key of descriptor fd of task pid, by table; undefined for a task the manifest does not have */
  fdKey(pid: number, fd: number): FdKey | undefined {
    const t = this.tableOf.get(pid);
    return t === undefined ? undefined : `${t}:${fd}`;
  }

  isTask(pid: number): boolean {
    return this.tableOf.has(pid);
  }

  /**
   * Is this reference to the expected open file consistent? undefined when
   * it is, 'none' when the method did not say, else the reason. `at` is the
   * item that makes it; `self` the descriptor the reference is about (a
   * holder must not be itself). A key that conflicts with an item of
   * another kind is a mismatch of both kinds: which of the two is wrong the
   * partition cannot say.
   */
  ref(r: FileRef, expected: string, at: Where, self?: FdKey): string | undefined | 'none' {
    if (r.how === 'none') return 'none';
    if (r.how === 'holder') {
      const k = this.fdKey(r.pid, r.fd);
      if (k !== undefined && k === self) return `holder ${r.pid}/${r.fd} is the descriptor itself`;
      const l = k === undefined ? undefined : this.holder.get(k);
      if (l === expected) return undefined;
      return `holder ${r.pid}/${r.fd} (${l ?? 'no such descriptor'})`;
    }
    const k = this.keyToLabel.get(r.key);
    if (k !== undefined && k.label !== expected) {
      this.alsoBad(k.at, at, k.label, `key ${r.key}, which ${at.where} says is ${expected}`);
      return `key ${r.key} already names ${k.label}`;
    }
    const lk = this.labelToKey.get(expected);
    if (lk !== undefined && lk.key !== r.key) {
      this.alsoBad(lk.at, at, expected, `key ${lk.key}, while ${at.where} says ${r.key}`);
      return `key ${r.key}, but ${expected} was ${lk.key}`;
    }
    if (!k) this.keyToLabel.set(r.key, { label: expected, at });
    if (!lk) this.labelToKey.set(expected, { key: r.key, at });
    return undefined;
  }

  /** the other item of a key conflict, when it is of another kind */
  private alsoBad(first: Where, now: Where, expected: string, got: string): void {
    if (first.kind !== now.kind) this.bad(first.kind, first.pid, first.where, expected, got);
  }
}

export function hex(s: string | undefined): string {
  return s === undefined ? '?' : '0x' + BigInt(s).toString(16);
}

/** Records grouped by a key; a key seen twice is reported once per extra record. */
export function uniqueBy<T>(items: readonly T[], key: (x: T) => string | undefined, dup: (x: T, first: T) => void, stray?: (x: T) => void): Map<string, T> {
  const out = new Map<string, T>();
  for (const x of items) {
    const k = key(x);
    if (k === undefined) {
      stray?.(x);
      continue;
    }
    const first = out.get(k);
    if (first !== undefined) dup(x, first);
    else out.set(k, x);
  }
  return out;
}
