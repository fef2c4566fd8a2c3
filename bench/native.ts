/**
 * The N-API addon (build/native/iterbench.node): every recovery method is C,
 * called in-process; JavaScript only decodes the record buffer it returns.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COVERAGE_KINDS, STAGES, type CoverageKind, type Family, type Stage } from './types.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ADDON_PATH = path.join(REPO_ROOT, 'build/native/iterbench.node');

export interface Handle {
  readonly __handle: unique symbol;
}

interface Addon {
  methods(): { name: string; family: string; summary: string; coverage: string[]; needs: ('epoll' | 'io_uring')[] }[];
  open(
    name: string,
    pids: Int32Array,
    opts?: { maxRows?: number; ringbufBytes?: number; btfPath?: string },
  ): { ok: 1; handle: Handle; coldNs: number } | { ok: 0; errno: number; error: string; skipped: number };
  collect(h: Handle): number;
  result(h: Handle): { buffer: ArrayBuffer; stagesNs: number[]; calls: number; ret: number; error: string };
  setRows(h: Handle, rows: number): void;
  close(h: Handle): void;
  noop(): void;
  block(h: Handle, k: number, timesNs: Float64Array, digests: BigUint64Array, known: BigUint64Array): number;
  digest(h: Handle): bigint;
  slowdown(): string;
}

/** What a method says it can recover, per kind: full, partial (why), none (why). */
export interface DeclaredCoverage {
  level: 'full' | 'partial' | 'none';
  why?: string;
}

export interface MethodInfo {
  name: string;
  family: Family;
  summary: string;
  coverage: Record<CoverageKind, DeclaredCoverage>;
  /** the method has nothing to do unless the target has one of these (empty: every target) */
  needs: ('epoll' | 'io_uring')[];
}

let addon: Addon | undefined;

const EPERM = 1;

export { KERNEL_LANE_METHODS } from './types.js';

export function loadAddon(): Addon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new Error(`native addon not built (${ADDON_PATH}): run npm run setup`);
  }
  const require = createRequire(import.meta.url);
  addon = require(ADDON_PATH) as Addon;
  return addon;
}

function parseCoverage(s: string): DeclaredCoverage {
  const m = /^(full|partial|none)(?::\s*(.*))?$/.exec(s.trim());
  if (!m) return { level: 'none', why: `undeclared (${s})` };
  return { level: m[1] as DeclaredCoverage['level'], why: m[2] };
}

/** The registry (bench/native/registry.c), in its order. */
export function listMethods(): MethodInfo[] {
  return loadAddon()
    .methods()
    .map((m) => ({
      name: m.name,
      family: m.family as Family,
      summary: m.summary,
      needs: m.needs,
      coverage: Object.fromEntries(COVERAGE_KINDS.map((k, i) => [k, parseCoverage(m.coverage[i] ?? 'none')])) as Record<
        CoverageKind,
        DeclaredCoverage
      >,
    }));
}

export type OpenResult =
  | { state: 'open'; collector: Collector; coldNs: number }
  | { state: 'skipped'; reason: string }
  | { state: 'errored'; reason: string };

export interface CollectOutput {
  buffer: ArrayBuffer;
  stagesNs: Partial<Record<Stage, number>>;
  calls: number;
}

/** One method opened on a set of target pids. */
export class Collector {
  constructor(
    readonly method: MethodInfo,
    readonly pids: number[],
    private handle: Handle | undefined,
  ) {}

  /** The measured call: returns bytes of records, or -errno. */
  collectRaw(): number {
    if (!this.handle) throw new Error('collector is closed');
    return loadAddon().collect(this.handle);
  }

  /** Collect once and fetch the records; errors are values. */
  collect(): { ok: true; out: CollectOutput } | { ok: false; error: string } {
    const ret = this.collectRaw();
    const r = loadAddon().result(this.handle!);
    if (ret < 0) return { ok: false, error: r.error || `errno ${-ret}` };
    return { ok: true, out: this.result() };
  }

  /** the records of the last collect (also after block()) */
  result(): CollectOutput {
    if (!this.handle) throw new Error('collector is closed');
    const r = loadAddon().result(this.handle);
    const stagesNs: Partial<Record<Stage, number>> = {};
    STAGES.forEach((s, i) => {
      if (r.stagesNs[i]) stagesNs[s] = r.stagesNs[i];
    });
    return { buffer: r.buffer, stagesNs, calls: r.calls };
  }

  setRows(rows: number): void {
    if (this.handle) loadAddon().setRows(this.handle, rows);
  }

  /**
   * Up to k collects timed in C; stops after the first answer whose digest
   * is not in `known` (that answer stays in the result buffer). Returns the
   * count done, or -errno.
   */
  block(k: number, timesNs: Float64Array, digests: BigUint64Array, known: BigUint64Array): number {
    if (!this.handle) throw new Error('collector is closed');
    return loadAddon().block(this.handle, k, timesNs, digests, known);
  }

  /** digest of the answer in the result buffer (the last collect's) */
  digest(): bigint {
    if (!this.handle) throw new Error('collector is closed');
    return loadAddon().digest(this.handle);
  }

  close(): void {
    if (this.handle) loadAddon().close(this.handle);
    this.handle = undefined;
  }
}

export function openMethod(
  method: MethodInfo,
  pids: number[],
  opts: { maxRows?: number; ringbufBytes?: number; btfPath?: string } = {},
): OpenResult {
  const r = loadAddon().open(method.name, Int32Array.from(pids), opts);
  if (r.ok) return { state: 'open', collector: new Collector(method, pids, r.handle), coldNs: r.coldNs };
  if (r.skipped) return { state: 'skipped', reason: r.error };
  // A missing privilege is a lane that cannot run here, not a failure of the method.
  if (r.errno === EPERM) return { state: 'skipped', reason: `needs privilege (${method.family === 'bpf' || method.family === 'floor' ? 'CAP_BPF and CAP_PERFMON, or root' : 'ptrace access to the target'}): ${r.error}` };
  return { state: 'errored', reason: r.error };
}

/** ITERBENCH_SLOWDOWN as the addon sees it ('' when unset) */
export function nativeSlowdown(): string {
  return loadAddon().slowdown();
}

export function nativeNoop(): void {
  loadAddon().noop();
}
