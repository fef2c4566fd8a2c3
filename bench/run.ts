/**
 * A bench run: for every scenario and size, start a workload, freeze it,
 * measure every method on it (verify, then time), thaw and stop it. Results
 * are rewritten after each measurement so an interrupted run keeps what it
 * measured. Data flows one way: workload -> collector -> verify -> time ->
 * results -> report.
 */
import { mkdirSync, accessSync, constants, existsSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { measureClockResolutionNs } from '../analysis/warnings.js';
import { writeReports } from './report/index.js';
import { collectEnvironment } from './environment.js';
import type { Manifest, Scenario } from './manifest.js';
import { DEFAULT_TIMING, measureMethod, measureOverhead, type TimingOptions } from './measure.js';
import { listMethods, type MethodInfo } from './native.js';
import { RESULTS_SCHEMA, type Measurement, type ResultsFile } from './types.js';
import { startWorkload, stopAllWorkloads, type Workload } from './workload.js';

export interface RunConfig {
  scenarios: Scenario[];
  methods: MethodInfo[];
  sizes: number[];
  tasks: number;
  buffers?: number;
  timeBudgetS: number;
  /** tinybench time per measurement (ms); derived from the budget when absent */
  timeMs?: number;
  outDir: string;
  commandLine: string;
  freeze: boolean;
  churn: boolean;
  btfPath?: string;
  charts: boolean;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export interface Progress {
  done: number;
  total: number;
  text: string;
  /** set-up, a workload starting, a measurement, the final reports */
  phase: 'setup' | 'workload' | 'measure' | 'report';
  measurement?: Measurement;
}

export function makeRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${process.pid}`;
}

/** Geometric sweep ending at n: n/2^(steps-1) ... n (at least 16, distinct). */
export function sweepSizes(n: number, steps: number): number[] {
  const out = new Set<number>();
  for (let i = steps - 1; i >= 0; i--) out.add(Math.max(Math.min(16, n), Math.round(n / 2 ** i)));
  return [...out].sort((a, b) => a - b);
}

/**
 * Create dir (and parents) and check it is writable. Returns the first
 * directory it created (undefined if dir existed), so a run stopped before
 * it wrote anything can remove what it made.
 */
export function ensureWritableDir(dir: string): string | undefined {
  let created: string | undefined;
  try {
    // mkdir -p by hand: node's recursive mkdirSync loops forever where
    // mkdir(2) says ENOENT under an existing parent (/proc/x)
    const missing: string[] = [];
    let d = path.resolve(dir);
    while (!existsSync(d)) {
      missing.unshift(d);
      const up = path.dirname(d);
      if (up === d) break;
      d = up;
    }
    for (const m of missing) {
      mkdirSync(m);
      created ??= m;
    }
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
    return created;
  } catch (e) {
    if (created) removeEmptyDirs(created, dir);
    throw new Error(`cannot write the output directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Remove dir and the empty directories between top and dir (what ensureWritableDir made), if empty. */
export function removeEmptyDirs(top: string, dir: string): void {
  for (let d = dir; d.startsWith(top); d = path.dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): keep it and its parents
    }
    if (d === top) return;
  }
}

export class Run {
  readonly results: ResultsFile;
  private current?: Workload;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly cfg: RunConfig) {
    this.results = {
      schema: RESULTS_SCHEMA,
      runId: path.basename(cfg.outDir),
      complete: false,
      startedAt: new Date().toISOString(),
      environment: collectEnvironment(cfg.commandLine, cfg.freeze ? 'pending' : 'none (--no-freeze)'),
      config: {
        scenarios: cfg.scenarios,
        methods: cfg.methods.map((m) => m.name),
        sizes: cfg.sizes,
        tasks: cfg.tasks,
        buffers: cfg.buffers ?? Math.min(1024, Math.max(...cfg.sizes)),
        timeBudgetS: cfg.timeBudgetS,
      },
      measurements: [],
    };
  }

  /** Rewrite JSON, CSV and summary (charts only at the end). Serialized. */
  save(charts = false): Promise<void> {
    const snapshot = structuredClone(this.results);
    this.writing = this.writing.then(() => writeReports(snapshot, this.cfg.outDir, { charts }));
    return this.writing;
  }

  private timing(): TimingOptions {
    const total = this.cfg.scenarios.length * this.cfg.sizes.length * this.cfg.methods.length;
    const derived = Math.round((this.cfg.timeBudgetS * 1000 * 0.45) / Math.max(1, total));
    return {
      ...DEFAULT_TIMING,
      timeMs: this.cfg.timeMs ?? Math.max(25, Math.min(1000, derived)),
      minSamples: 10,
      native: { btfPath: this.cfg.btfPath },
      signal: this.cfg.signal,
      clockResolutionNs: measureClockResolutionNs(),
    };
  }

  async execute(): Promise<ResultsFile> {
    const cfg = this.cfg;
    const timing = this.timing();
    const total = cfg.scenarios.length * cfg.sizes.length * cfg.methods.length;
    cfg.onProgress?.({ done: 0, total, phase: 'setup', text: 'measuring the harness overhead' });
    const overhead = await measureOverhead(timing);
    if (overhead) {
      this.results.overhead = overhead;
      timing.overheadNs = overhead.medianNs;
    }
    if (cfg.signal?.aborted) return this.results;
    await this.save();
    let done = 0;
    const push = async (m: Measurement) => {
      // a measurement cut short by SIGINT/SIGTERM (or by the workload stop
      // that follows it) is not data. A failure may be the signal's own doing
      // (Ctrl-C reaches the workload's tasks too) before our handler ran: give
      // a pending signal one turn of the event loop first.
      if (m.state === 'errored' || m.state === 'wrong') await new Promise((r) => setTimeout(r, 20));
      if (cfg.signal?.aborted) return;
      this.results.measurements.push(m);
      done++;
      cfg.onProgress?.({ done, total, phase: 'measure', text: `${m.scenario} n=${m.n} ${m.method}`, measurement: m });
      await this.save();
    };
    const freezers = new Set<string>();
    for (const scenario of cfg.scenarios) {
      for (const n of cfg.sizes) {
        if (cfg.signal?.aborted) return this.results;
        cfg.onProgress?.({ done, total, phase: 'workload', text: `${scenario} n=${n}: starting the workload` });
        const started = await startWorkload(
          { scenario, files: n, tasks: cfg.tasks, buffers: cfg.buffers, churn: cfg.churn },
          cfg.signal,
        );
        if (started.state !== 'ready') {
          for (const m of cfg.methods) {
            const common = { scenario, method: m.name, family: m.family, n, fds: 0, tasks: 0, extrapolated: false, warnings: [] };
            // a generator exiting 77: the kernel lacks what the scenario needs
            await push(started.state === 'skipped'
              ? { ...common, state: 'skipped', code: 'missing-feature', reason: `workload: ${started.reason}` }
              : { ...common, state: 'errored', reason: `workload: ${started.reason}` });
          }
          continue;
        }
        const w = started.workload;
        this.current = w;
        try {
          if (cfg.freeze) freezers.add(await w.freeze());
          this.results.environment.freezer = cfg.freeze ? [...freezers].join(', ') : 'none (--no-freeze)';
          const manifest: Manifest = w.manifest;
          for (const method of cfg.methods) {
            if (cfg.signal?.aborted) return this.results;
            cfg.onProgress?.({ done, total, phase: 'measure', text: `${scenario} n=${n} ${method.name}` });
            let m: Measurement;
            if (!w.alive()) {
              m = {
                scenario, method: method.name, family: method.family, n,
                fds: manifest.tasks.reduce((a, t) => a + t.fds.length, 0), tasks: manifest.tasks.length,
                extrapolated: false, warnings: [], state: 'errored', reason: 'the workload died before this measurement',
              };
            } else {
              const t0 = Date.now();
              // one signal per measurement: tinybench leaves its abort listener behind
              const ac = new AbortController();
              const relay = () => ac.abort();
              cfg.signal?.addEventListener('abort', relay, { once: true });
              try {
                m = await measureMethod(method, { scenario, n, manifest, pids: w.pids, alive: () => w.alive() }, { ...timing, signal: ac.signal });
              } finally {
                cfg.signal?.removeEventListener('abort', relay);
              }
              m.wallMs = Date.now() - t0;
            }
            await push(m);
          }
        } finally {
          this.current = undefined;
          if (cfg.freeze) await w.thaw().catch(() => undefined);
          await w.stop();
        }
      }
    }
    if (cfg.signal?.aborted) return this.results;
    this.results.complete = true;
    this.results.finishedAt = new Date().toISOString();
    cfg.onProgress?.({ done, total, phase: 'report', text: cfg.charts ? 'writing the reports and charts' : 'writing the reports' });
    await this.save(cfg.charts);
    return this.results;
  }

  /** On SIGINT/SIGTERM: stop workloads, keep what was measured, mark it incomplete. */
  async interrupt(why: string): Promise<void> {
    const w = this.current;
    if (w) {
      await w.thaw().catch(() => undefined);
      await w.stop().catch(() => undefined);
    }
    try {
      stopAllWorkloads();
    } catch {
      /* the results are written below whatever happened here */
    }
    this.results.complete = false;
    this.results.interrupted = why;
    this.results.finishedAt = new Date().toISOString();
    await this.writing.catch(() => undefined);
    if (existsSync(this.cfg.outDir)) await this.save(false);
  }
}

/**
 * 0: everything verified; 1: something wrong or errored; 3: a lane was
 * skipped for a missing feature or privilege (by its skip code: not
 * "not-applicable", nor "kernel-lane", a patched-kernel method on a kernel
 * without the series; a skip without a code counts as missing).
 */
export function exitCodeFor(results: ResultsFile): number {
  const ms = results.measurements;
  if (ms.some((m) => m.state === 'wrong' || m.state === 'errored')) return 1;
  const missing = ms.filter(
    (m) => m.state === 'skipped' && m.code !== 'not-applicable' && m.code !== 'kernel-lane',
  );
  if (missing.length) return 3;
  return 0;
}

export function resolveMethods(names: string[] | undefined): MethodInfo[] {
  const all = listMethods();
  if (!names) return all;
  const out: MethodInfo[] = [];
  for (const n of names) {
    const byFamily = all.filter((m) => m.family === n);
    const picked = byFamily.length ? byFamily : all.filter((m) => m.name === n);
    for (const m of picked) if (!out.includes(m)) out.push(m);
  }
  return out;
}
