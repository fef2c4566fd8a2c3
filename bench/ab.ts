/**
 * The gate's A/B run: the submission (this tree) and a reference build (the
 * revision the baseline names, built from `git archive` into a cache outside
 * the repo) measured in the same rounds on the same frozen workload
 * instances. Each build runs its own measurement server (bench/cli/serve.ts:
 * its own collectors, verification and C block timer); here the rounds visit
 * every (instance, method) once, in a fresh seeded order, and run the two
 * builds' blocks back to back in a random order (AB or BA), so the two are
 * compared pairwise within seconds of each other (duet benchmarking).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { AB_SCHEMA, Incomparable, type AbCell, type AbResults, type AbSide } from '../analysis/gate.js';
import { mulberry32, seedFrom } from '../analysis/prng.js';
import { collectEnvironment } from './environment.js';
import type { Scenario } from './manifest.js';
import { REPO_ROOT } from './native.js';
import { machineProbe, roundOrder } from './rounds.js';
import { expectedBlockNs, rtBudget } from './rtbudget.js';
import type { InstanceInfo, MethodDescriptor, RoundInfo, Samples } from './schema.js';
import { startWorkload, type Workload } from './workload.js';

export const GATE_CACHE = process.env.IB_GATE_CACHE ?? '/var/cache/iterbench/gate';
/** the server protocol this coordinator speaks (bench/cli/serve.ts PROTOCOL) */
const PROTOCOL = 1;

function git(args: string[], cwd = REPO_ROOT): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * A built tree of `rev` (reused from the cache when present). Throws
 * Incomparable when the revision is not in this clone or predates the A/B
 * server.
 */
export function prepareReference(rev: string, log: (s: string) => void = () => undefined): { dir: string; revision: string } {
  const clean = rev.replace(/-dirty$/, '');
  let full = git(['rev-parse', '--verify', '--quiet', `${clean}^{commit}`]);
  if (!full.ok) {
    log(`gate: ${clean} is not in this clone; trying git fetch`);
    git(['fetch', '--quiet', 'origin', clean]);
    full = git(['rev-parse', '--verify', '--quiet', `${clean}^{commit}`]);
    if (!full.ok) throw new Incomparable(`the reference revision ${clean} is not in this clone (fetch it, or refresh results/baseline.json)`);
  }
  const sha = full.out;
  const dir = path.join(GATE_CACHE, sha.slice(0, 12));
  const marker = path.join(dir, '.iterbench-built');
  if (existsSync(marker)) return { dir, revision: sha.slice(0, 12) };
  if (!git(['cat-file', '-e', `${sha}:bench/cli/serve.ts`]).ok) {
    throw new Incomparable(`the reference revision ${sha.slice(0, 12)} predates the A/B measurement server: refresh results/baseline.json`);
  }
  const t0 = Date.now();
  log(`gate: building the reference ${sha.slice(0, 12)} in ${dir}`);
  mkdirSync(GATE_CACHE, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const archive = spawnSync('bash', ['-c', `git archive ${sha} | tar -x -C '${tmp}'`], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`git archive ${sha}: ${archive.stderr.trim().split('\n')[0]}`);
  // the same lock file: share this tree's packages (never npm ci into them)
  if (sha256(path.join(tmp, 'package-lock.json')) === sha256(path.join(REPO_ROOT, 'package-lock.json'))) {
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(tmp, 'node_modules'));
  } else {
    log('gate: the reference has another package-lock.json: npm ci there');
    const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (ci.status !== 0) throw new Error(`npm ci in the reference tree failed: ${(ci.stderr ?? '').trim().split('\n').at(-1)}`);
  }
  const make = spawnSync('make', ['-s', `-j${Math.max(1, Number(spawnSync('nproc', { encoding: 'utf8' }).stdout) || 2)}`], { cwd: tmp, encoding: 'utf8' });
  if (make.status !== 0) throw new Error(`building the reference failed: ${(make.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`);
  writeFileSync(path.join(tmp, '.iterbench-built'), `${sha}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`gate: reference built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, revision: sha.slice(0, 12) };
}

interface Hello {
  hello: number;
  protocol: number;
  revision: string;
  slowdown: string;
  methods: MethodDescriptor[];
}

/** One build's measurement server (bench/cli/serve.ts) in a child process. */
class Server {
  private pending: ((v: Record<string, unknown>) => void)[] = [];
  private lines: Record<string, unknown>[] = [];
  private exited = false;
  private stderr = '';
  hello!: Hello;

  private constructor(
    readonly name: string,
    private child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(l) as Record<string, unknown>;
      } catch {
        return; // not protocol (a stray print)
      }
      const p = this.pending.shift();
      if (p) p(v);
      else this.lines.push(v);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.splice(0)) p({ ok: false, state: 'errored', reason: `the ${name} server exited: ${this.stderr.trim().split('\n').at(-1) ?? ''}` });
    });
  }

  static async start(name: string, dir: string, env: NodeJS.ProcessEnv): Promise<Server> {
    // RT throttling's budget is kept here, for both builds' blocks together
    // (runAB): a server's own would see only its half of the FIFO time
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, 'bench/cli/serve.ts')], {
      cwd: dir,
      env: { ...env, ITERBENCH_RTBUDGET: 'off' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const s = new Server(name, child);
    const hello = (await s.next()) as unknown as Hello;
    if (!hello || hello.hello !== 1) throw new Error(`the ${name} server did not start: ${s.stderr.trim().split('\n').at(-1) ?? 'no answer'}`);
    if (hello.protocol !== PROTOCOL) throw new Incomparable(`the ${name} server speaks protocol ${hello.protocol}, this gate ${PROTOCOL}: refresh results/baseline.json`);
    s.hello = hello;
    return s;
  }

  private next(): Promise<Record<string, unknown>> {
    const l = this.lines.shift();
    if (l) return Promise.resolve(l);
    if (this.exited) return Promise.resolve({ ok: false, state: 'errored', reason: `the ${this.name} server is gone` });
    return new Promise((r) => this.pending.push(r));
  }

  request(o: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.resolve({ ok: false, state: 'errored', reason: `the ${this.name} server is gone` });
    this.child.stdin.write(`${JSON.stringify(o)}\n`);
    return this.next();
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.child.kill('SIGKILL');
        r();
      }, 5000);
      this.child.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

export interface AbOptions {
  referenceDir: string;
  /** the reference's git revision (its tree, from git archive, has no .git) */
  referenceRevision: string;
  scenarios: Scenario[];
  sizes: number[];
  tasks: number;
  buffers?: number;
  /** only these methods (names); default: every host-lane method both builds have but the task dimension's */
  methods?: string[];
  minRounds: number;
  maxRounds: number;
  /** time for the rounds of all scenarios, s */
  roundsBudgetS: number;
  seed: number;
  /** ITERBENCH_SLOWDOWN for the submission only (test hook) */
  slowdown?: string;
  /** a block aims at this much time (ns) */
  blockTargetNs?: number;
  signal?: AbortSignal;
  log?: (s: string) => void;
}

type SideState = AbCell['a'];

interface Cell {
  key: string;
  inst: InstanceInfo;
  method: string;
  k: number;
  /** the slower build's time of one collect (ns) */
  estimateNs: number;
  a: SideState;
  b: SideState;
  sa: Samples;
  sb: Samples;
}

const emptySamples = (): Samples => ({ ns: [], round: [], atMs: [] });

export async function runAB(o: AbOptions): Promise<AbResults> {
  const log = o.log ?? (() => undefined);
  const t0 = performance.now();
  const clock = () => performance.now() - t0;
  const envB = { ...process.env };
  delete envB.ITERBENCH_SLOWDOWN;
  const envA = { ...envB, ...(o.slowdown ? { ITERBENCH_SLOWDOWN: o.slowdown } : {}) };
  const env = collectEnvironment(`gate --ab`, 'pending');
  const results: AbResults = {
    schema: AB_SCHEMA,
    startedAt: new Date().toISOString(),
    complete: false,
    environment: env,
    config: { scenarios: o.scenarios, sizes: o.sizes, seed: o.seed, rounds: o.maxRounds },
    submission: { revision: env.gitRevision, methods: [] } as AbSide,
    reference: { revision: '?', methods: [] } as AbSide,
    instances: [],
    rounds: [],
    cells: [],
  };
  const A = await Server.start('submission', REPO_ROOT, envA);
  let B: Server | undefined;
  const live: Workload[] = [];
  const manifests: string[] = [];
  try {
    B = await Server.start('reference', o.referenceDir, envB);
    results.submission = { revision: A.hello.revision, methods: A.hello.methods, ...(A.hello.slowdown ? { slowdown: A.hello.slowdown } : {}) };
    results.reference = { revision: o.referenceRevision, methods: B.hello.methods, ...(B.hello.slowdown ? { slowdown: B.hello.slowdown } : {}) };
    const inB = new Set(B.hello.methods.map((m) => m.name));
    const methods = A.hello.methods.filter((m) => m.lane === 'host' && inB.has(m.name) && (o.methods ? o.methods.includes(m.name) : m.sweep !== 'tasks'));
    let budgetMs = o.roundsBudgetS * 1000;
    const freezers = new Set<string>();
    for (const [si, scenario] of o.scenarios.entries()) {
      if (o.signal?.aborted) break;
      const cells: Cell[] = [];
      for (const n of o.sizes) {
        const started = await startWorkload({ scenario, files: n, tasks: o.tasks, buffers: o.buffers }, o.signal);
        if (started.state !== 'ready') {
          log(`gate: ${scenario} n=${n}: ${started.reason}`);
          continue;
        }
        const w = started.workload;
        live.push(w);
        freezers.add(await w.freeze());
        const inst: InstanceInfo = {
          id: results.instances.length,
          scenario,
          n,
          replica: 0,
          fds: w.manifest.tasks.reduce((a, t) => a + t.fds.length, 0),
          tasks: w.manifest.tasks.length,
          readyMs: Math.round(w.readyMs),
        };
        results.instances.push(inst);
        const mpath = path.join(tmpdir(), `iterbench-ab-${process.pid}-${inst.id}.json`);
        writeFileSync(mpath, JSON.stringify(w.manifest));
        manifests.push(mpath);
        for (const m of methods) {
          if (o.signal?.aborted) break;
          const id = `${inst.id}:${m.name}`;
          const req = { op: 'open', id, method: m.name, manifest: mpath, instance: { id: inst.id, scenario, n, replica: 0, pids: w.pids }, seed: o.seed };
          const ra = await A.request(req);
          const rb = await B.request(req);
          const side = (r: Record<string, unknown>): SideState =>
            r.state === 'open' ? { state: 'verified', samples: emptySamples() } : { state: (r.state as 'wrong' | 'errored' | 'skipped') ?? 'errored', reason: String(r.reason ?? '') };
          const est = Math.max(Number(ra.estimateNs) || 0, Number(rb.estimateNs) || 0);
          const k = Math.max(1, Math.min(16, Math.round((o.blockTargetNs ?? 8e6) / Math.max(1, est))));
          cells.push({ key: id, inst, method: m.name, k, estimateNs: est, a: side(ra), b: side(rb), sa: emptySamples(), sb: emptySamples() });
        }
      }
      env.freezer = [...freezers].join(', ');
      // rounds over the cells both builds opened; per cell AB or BA at random
      const both = cells.filter((c) => c.a.state === 'verified' && c.b.state === 'verified');
      const budget = budgetMs / (o.scenarios.length - si);
      const tr = clock();
      for (let i = 0; i < o.maxRounds; i++) {
        if (o.signal?.aborted) break;
        const alive = both.filter((c) => c.a.state === 'verified' && c.b.state === 'verified');
        if (!alive.length || (i >= o.minRounds && clock() - tr >= budget)) break;
        const order = roundOrder(alive.map((c) => c.key), o.seed, `ab/${scenario}`, i);
        const coin = mulberry32(seedFrom(`ab-coin/${scenario}/${i}`, o.seed));
        const probe = machineProbe();
        const startMs = clock();
        for (const key of order) {
          const c = alive.find((x) => x.key === key)!;
          const sides: ['a' | 'b', Server][] = coin() < 0.5 ? [['a', A], ['b', B]] : [['b', B], ['a', A]];
          for (const [s, server] of sides) {
            // the kernel counts both builds' FIFO time: this process keeps
            // their blocks under RT throttling's limit together (rtbudget.ts),
            // a block's request as its span
            let at = 0;
            const { value: r } = await rtBudget.run(expectedBlockNs(c.estimateNs, c.k + 1), () => {
              at = clock();
              return server.request({ op: 'block', id: c.key, round: i, k: c.k });
            });
            if (!r.ok) {
              c[s] = { state: (r.state as 'wrong' | 'errored') ?? 'errored', reason: String(r.reason ?? '') };
              break;
            }
            const store = s === 'a' ? c.sa : c.sb;
            let t = at;
            for (const ns of r.timesNs as number[]) {
              store.ns.push(ns);
              store.round.push(i);
              store.atMs.push(Math.round(t * 1000) / 1000);
              t += ns / 1e6;
            }
          }
        }
        const info: RoundInfo = { scenario, index: i, order, startMs, durationMs: clock() - startMs, probe };
        results.rounds.push(info);
        log(`gate: ${scenario}: round ${i + 1} (${(info.durationMs / 1000).toFixed(1)} s)`);
      }
      budgetMs -= clock() - tr;
      for (const c of cells) {
        await A.request({ op: 'close', id: c.key });
        await B.request({ op: 'close', id: c.key });
        const fin = (st: SideState, s: Samples): SideState => (st.state === 'verified' ? { state: 'verified', samples: s } : st);
        results.cells.push({ scenario, method: c.method, n: c.inst.n, instance: c.inst.id, a: fin(c.a, c.sa), b: fin(c.b, c.sb) });
      }
      for (const w of live.splice(0)) {
        await w.thaw().catch(() => undefined);
        await w.stop().catch(() => undefined);
      }
    }
    results.complete = !o.signal?.aborted;
    results.finishedAt = new Date().toISOString();
    return results;
  } finally {
    for (const w of live) {
      await w.thaw().catch(() => undefined);
      await w.stop().catch(() => undefined);
    }
    for (const m of manifests) rmSync(m, { force: true });
    await A.stop();
    await B?.stop();
  }
}
