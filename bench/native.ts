/**
 * The N-API addon (build/native/iterbench.node): every recovery method is C,
 * called in-process; JavaScript only decodes the record buffer it returns.
 *
 * Everything about a method comes from its C descriptor (bench/native/
 * method.h) through methods(), parsed strictly here: an unknown family,
 * role, lane, coverage level, stage or method name throws, so a typo in a
 * descriptor can never quietly switch a check off.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  COVERAGE_KINDS,
  STAGES,
  type CoverageKind,
  type DeclaredCoverage,
  type Family,
  type Lane,
  type Need,
  type Role,
  type SkipCode,
  type Stage,
} from './schema.js';

export type { DeclaredCoverage } from './schema.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ADDON_PATH = path.join(REPO_ROOT, 'build/native/iterbench.node');

export interface Handle {
  readonly __handle: unique symbol;
}

/** methods()'s elements as the addon writes them (parsed by parseMethods) */
export interface RawMethod {
  name: string;
  family: string;
  role: string;
  lane: string;
  summary: string;
  needs: string[];
  floor: string | null;
  floorLimit: number;
  speedupOver: string[];
  subsetOf: string[];
  emulation: { method: string; floor: string | null; with: string[] } | null;
  sampling: { how: string; scales: string | null };
  sweep: string;
  reach: string;
  /** 1: the collect runs on threads of its own too (method.h set_sched) */
  parallel?: number;
  coverage: Record<string, { level: string; why: string | null; unheldOnly?: boolean }>;
}

export interface NativeSample {
  /** rows (descriptors) compared with all others, of rowsTotal */
  rows: number;
  rowsTotal: number;
  /** comparisons (kcmp calls) made, of the full method's total */
  made: number;
  total: number;
}

interface Addon {
  methods(): RawMethod[];
  open(
    name: string,
    pids: Int32Array,
    opts?: { ringbufBytes?: number; btfPath?: string },
  ): { ok: 1; handle: Handle; coldNs: number; note?: string } | { ok: 0; errno: number; error: string; skip: string | null };
  collect(h: Handle): number;
  result(h: Handle): {
    buffer: ArrayBuffer;
    stagesNs: number[];
    calls: number;
    ret: number;
    error: string;
    sample: NativeSample | null;
  };
  block(h: Handle, k: number, timesNs: Float64Array, digests: BigUint64Array, known: BigUint64Array, stageNs?: Float64Array, offCpuNs?: Float64Array): number;
  digest(h: Handle): bigint;
  setSampling(h: Handle, rows: number, seed: number | bigint): void;
  close(h: Handle): void;
  noop(): void;
  slowdown(): string;
  sameTable(pid1: number, pid2: number): number;
  sched(): string;
  schedThreads(): number;
}

export type Sampling = { how: 'none' } | { how: 'rows'; scales: Stage };

export interface MethodInfo {
  name: string;
  family: Family;
  role: Role;
  /** host: any kernel; patched-kernel: the kernel lane (npm run bench:vm) */
  lane: Lane;
  summary: string;
  coverage: Record<CoverageKind, DeclaredCoverage>;
  /** the method has nothing to do unless the target has one of these (empty: every target) */
  needs: Need[];
  /** the floor this method is compared with (method / floor), or null */
  floor: string | null;
  /** the largest acceptable method / floor ratio; 0: no target */
  floorLimit: number;
  /** the methods this one's speedup is reported against */
  speedupOver: string[];
  /** floors: further methods whose work includes this floor's work */
  subsetOf: string[];
  /**
   * the kernel lane: the emulation of this real iterator's work, compared per
   * round as (this + with) / (method - floor); null: none
   */
  emulation: { method: string; floor: string | null; with: string[] } | null;
  /** O(n^2) work done on a sample of rows (setSampling), and the stage that scales */
  sampling: Sampling;
  /** the sizes of a sweep it is measured at: every one, or the largest only (a baseline) */
  sweep: 'all' | 'largest' | 'tasks';
  /** what its work visits: the targets, or every task of the machine */
  reach: 'targets' | 'system';
  /** a collect runs on several threads, the calling thread waiting for the others */
  parallel: boolean;
}

let addon: Addon | undefined;
let methodCache: MethodInfo[] | undefined;

export function loadAddon(): Addon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new Error(`native addon not built (${ADDON_PATH}): run npm run setup`);
  }
  const require = createRequire(import.meta.url);
  addon = require(ADDON_PATH) as Addon;
  return addon;
}

const FAMILIES: readonly Family[] = ['procfs', 'kcmp', 'bpf', 'floor'];
const ROLES: readonly Role[] = ['recovery', 'floor'];
const LANES: readonly Lane[] = ['host', 'patched-kernel'];
const LEVELS: readonly DeclaredCoverage['level'][] = ['full', 'partial', 'none'];
const NEEDS = ['epoll', 'io_uring'] as const;
/** the skip codes open() itself can give (the harness adds the others) */
export type OpenSkipCode = Extract<SkipCode, 'missing-feature' | 'kernel-lane' | 'privilege'>;
const OPEN_SKIP_CODES: readonly OpenSkipCode[] = ['missing-feature', 'kernel-lane', 'privilege'];

export class RegistryError extends Error {
  constructor(message: string) {
    super(`method registry (bench/native): ${message}`);
    this.name = 'RegistryError';
  }
}

function oneOf<T extends string>(what: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RegistryError(`${what} is ${JSON.stringify(v)}, expected one of ${allowed.join(', ')}`);
  }
  return v as T;
}

/**
 * methods() as typed MethodInfo, strictly: every enum must be a known
 * value, every kind of state declared (partial and none with a reason),
 * every method named by floor, speedupOver and subsetOf registered.
 */
export function parseMethods(raw: readonly RawMethod[]): MethodInfo[] {
  const names = new Set(raw.map((m) => m.name));
  const named = (m: string, field: string, v: unknown): string => {
    if (typeof v !== 'string' || !names.has(v)) throw new RegistryError(`${m}: ${field} names ${JSON.stringify(v)}, not a registered method`);
    if (v === m) throw new RegistryError(`${m}: ${field} names the method itself`);
    return v;
  };
  return raw.map((m) => {
    const n = m.name;
    if (typeof n !== 'string' || !/^[a-z0-9-]+$/.test(n)) throw new RegistryError(`bad method name ${JSON.stringify(n)}`);
    const covKeys = Object.keys(m.coverage ?? {});
    for (const k of covKeys) if (!(COVERAGE_KINDS as readonly string[]).includes(k)) throw new RegistryError(`${n}: unknown coverage kind ${k}`);
    const coverage = Object.fromEntries(
      COVERAGE_KINDS.map((k) => {
        const c = m.coverage?.[k];
        if (!c) throw new RegistryError(`${n}: coverage of ${k} missing`);
        const level = oneOf(`${n}: coverage of ${k}`, c.level, LEVELS);
        if (level !== 'full' && !(typeof c.why === 'string' && c.why.length > 0)) {
          throw new RegistryError(`${n}: coverage of ${k} is ${level} without a reason`);
        }
        if (c.unheldOnly !== undefined && typeof c.unheldOnly !== 'boolean') throw new RegistryError(`${n}: coverage of ${k}: unheldOnly is ${JSON.stringify(c.unheldOnly)}`);
        if (c.unheldOnly && level !== 'partial') throw new RegistryError(`${n}: coverage of ${k} is ${level}, only a partial one may leave out the items no descriptor holds`);
        const d: DeclaredCoverage = level === 'full' ? { level } : { level, why: c.why! };
        if (c.unheldOnly) d.unheldOnly = true;
        return [k, d];
      }),
    ) as Record<CoverageKind, DeclaredCoverage>;
    const how = oneOf(`${n}: sampling.how`, m.sampling?.how, ['none', 'rows'] as const);
    const sampling: Sampling = how === 'none' ? { how } : { how, scales: oneOf(`${n}: sampling.scales`, m.sampling.scales, STAGES) };
    if (typeof m.floorLimit !== 'number' || !(m.floorLimit >= 0)) throw new RegistryError(`${n}: floorLimit ${m.floorLimit}`);
    return {
      name: n,
      family: oneOf(`${n}: family`, m.family, FAMILIES),
      role: oneOf(`${n}: role`, m.role, ROLES),
      lane: oneOf(`${n}: lane`, m.lane, LANES),
      summary: m.summary,
      coverage,
      needs: m.needs.map((x) => oneOf(`${n}: needs`, x, NEEDS)),
      floor: m.floor === null ? null : named(n, 'floor', m.floor),
      floorLimit: m.floorLimit,
      speedupOver: m.speedupOver.map((x) => named(n, 'speedupOver', x)),
      subsetOf: m.subsetOf.map((x) => named(n, 'subsetOf', x)),
      emulation:
        m.emulation === null || m.emulation === undefined
          ? null
          : {
              method: named(n, 'emulation.method', m.emulation.method),
              floor: m.emulation.floor === null ? null : named(n, 'emulation.floor', m.emulation.floor),
              with: m.emulation.with.map((x) => named(n, 'emulation.with', x)),
            },
      sampling,
      sweep: oneOf(`${n}: sweep`, m.sweep, ['all', 'largest', 'tasks'] as const),
      reach: oneOf(`${n}: reach`, m.reach, ['targets', 'system'] as const),
      parallel: m.parallel === 1,
    };
  });
}

/** The registry (bench/native/registry.h), in its order. */
export function listMethods(): MethodInfo[] {
  methodCache ??= parseMethods(loadAddon().methods());
  return methodCache;
}

/** The methods of the kernel lane (a patched kernel): skipped by design on a stock kernel. */
export function kernelLaneMethods(): string[] {
  return listMethods()
    .filter((m) => m.lane === 'patched-kernel')
    .map((m) => m.name);
}

export type OpenResult =
  | { state: 'open'; collector: Collector; coldNs: number; note?: string }
  | { state: 'skipped'; code: OpenSkipCode; reason: string }
  | { state: 'errored'; reason: string; errno?: number };

export interface CollectOutput {
  buffer: ArrayBuffer;
  stagesNs: Partial<Record<Stage, number>>;
  calls: number;
  /** sampling methods: what this collect compared (rows, calls made of the total) */
  sample?: NativeSample;
}

/** One method opened on a set of target pids. */
export class Collector {
  constructor(
    readonly method: Pick<MethodInfo, 'name' | 'family'>,
    readonly pids: number[],
    private handle: Handle | undefined,
  ) {}

  private h(): Handle {
    if (!this.handle) throw new Error('collector is closed');
    return this.handle;
  }

  /** The measured call: returns bytes of records, or -errno. */
  collectRaw(): number {
    return loadAddon().collect(this.h());
  }

  /** The records of the last collect (also after block()). */
  result(): CollectOutput {
    const r = loadAddon().result(this.h());
    const stagesNs: Partial<Record<Stage, number>> = {};
    STAGES.forEach((s, i) => {
      if (r.stagesNs[i]) stagesNs[s] = r.stagesNs[i]!;
    });
    return { buffer: r.buffer, stagesNs, calls: r.calls, ...(r.sample ? { sample: r.sample } : {}) };
  }

  /** Collect once and fetch the records; errors are values. */
  collect(): { ok: true; out: CollectOutput } | { ok: false; error: string } {
    const ret = this.collectRaw();
    if (ret < 0) {
      const r = loadAddon().result(this.h());
      return { ok: false, error: r.error || `errno ${-ret}` };
    }
    return { ok: true, out: this.result() };
  }

  /**
   * Up to k collects timed in C, digests of each answer; see addon.c
   * block(). stageNs (sampling methods): each collect's time in its
   * sampled stage, the part the harness scales to the whole work.
   */
  block(k: number, timesNs: Float64Array, digests: BigUint64Array, known: BigUint64Array, stageNs?: Float64Array, offCpuNs?: Float64Array): number {
    return loadAddon().block(this.h(), k, timesNs, digests, known, stageNs, offCpuNs);
  }

  /** The digest of the last answer (what block() compares). */
  digest(): bigint {
    return loadAddon().digest(this.h());
  }

  /**
   * Sampling methods: compare `rows` rows, chosen with a PRNG seeded by
   * `seed` (the same rows every collect), with all others; 0 = every row.
   */
  setSampling(rows: number, seed: number | bigint): void {
    loadAddon().setSampling(this.h(), rows, seed);
  }

  close(): void {
    if (this.handle) loadAddon().close(this.handle);
    this.handle = undefined;
  }
}

const PRIVILEGE_HINT: Record<Family, string> = {
  bpf: 'CAP_BPF and CAP_PERFMON, or root',
  floor: 'CAP_BPF and CAP_PERFMON (bpf floors) or ptrace access (procfs floor), or root',
  procfs: 'ptrace access to the target',
  kcmp: 'ptrace access to the target',
};

export function openMethod(
  method: Pick<MethodInfo, 'name' | 'family'>,
  pids: number[],
  opts: { ringbufBytes?: number; btfPath?: string } = {},
): OpenResult {
  const r = loadAddon().open(method.name, Int32Array.from(pids), opts);
  if (r.ok) return { state: 'open', collector: new Collector(method, pids, r.handle), coldNs: r.coldNs, ...(r.note ? { note: r.note } : {}) };
  if (r.skip === null) return { state: 'errored', reason: r.error, ...(r.errno ? { errno: Math.abs(r.errno) } : {}) };
  const code = oneOf(`open(${method.name}).skip`, r.skip, OPEN_SKIP_CODES);
  // The human reason next to the code; the code is what the harness acts on.
  const reason = code === 'privilege' ? `needs privilege (${PRIVILEGE_HINT[method.family]}): ${r.error}` : r.error;
  return { state: 'skipped', code, reason };
}

export function nativeNoop(): void {
  loadAddon().noop();
}

/**
 * kcmp(KCMP_FILES): 0 when the two tasks (or threads) use one descriptor
 * table, 1 or 2 when they do not, -errno when it cannot tell.
 */
export function sameDescriptorTable(pid1: number, pid2: number): number {
  return loadAddon().sameTable(pid1, pid2);
}

/** The scheduling policy the last block() timed under: "SCHED_FIFO" or "SCHED_OTHER (<why>)" (addon.c). */
export function nativeSched(): string {
  return loadAddon().sched();
}

/** How many of the method's own threads the last block() gave its policy (method.h set_sched). */
export function nativeSchedThreads(): number {
  return loadAddon().schedThreads();
}

/** ITERBENCH_SLOWDOWN as the addon read it ('' when off): a run with it is not data. */
export function nativeSlowdown(): string {
  return loadAddon().slowdown();
}
