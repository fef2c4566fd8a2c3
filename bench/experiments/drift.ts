/**
 * Issue 15: why the same BPF walk costs more late in a run. Workload
 * instances alive (and frozen) at once; every method opened and its answer
 * verified on each by the bench's own code (bench/measure.ts openUnit);
 * then build/experiments/cpuclock (C, see cpuclock.c) times rounds over the
 * units: each round visits every unit in a fresh seeded random order, --per
 * collects per visit, and splits each collect's wall time:
 *   wall    the collect (CLOCK_MONOTONIC, as addon block() times it)
 *   cpu     the thread's own run time over it (CLOCK_THREAD_CPUTIME_ID)
 *   delay   run-queue wait over it (schedstat): preempted, runnable
 *   (wall = cpu + delay + sleep; sleep is measured ~0 for every method)
 *   prog    with --bpf-stats: the BPF program's own run time per run (per
 *           file visited), from its fdinfo; sets kernel.bpf_stats_enabled=1
 *           for the timing only and restores it.
 * Conditions are compared inside the same rounds (load and time hit them
 * alike): per round the ratio of block medians, then the median over rounds
 * with a 95 % bootstrap CI.
 *
 * Experiments:
 *   history   an "early" instance, then --churn, then a "late" instance (both
 *             of --scenario at --files): late / early per method. Churn:
 *               none       nothing (instance-to-instance spread)
 *               procfs     procfs collects on a third instance for --churn-s s
 *                          (dentry / proc_inode_cache growth)
 *               workloads  what a default run does before `all`: instances of
 *                          files, shared, epoll, io_uring at N/8..N (two at N),
 *                          procfs, kcmp-tree and bpf-all on each, then stopped
 *               anon       a child touches --anon-gib GiB and exits, then 8 s
 *                          for free page reporting to hand it to the host
 *   after     one instance; before each round at random: --churn work on
 *             other instances, or an idle pause of the same length; does a
 *             walk right after churn cost more than one after a pause?
 *   sizes     instances at --sizes: per round, the log-log slope over the
 *             sizes of wall and of cpu
 *   memory    no workloads: a 64 MiB buffer allocated at the start and one
 *             allocated after --churn anon (memory freed, reported to the
 *             host, faulted in again), walked alternately in random order,
 *             sequentially (one read per 64-byte line) and at random pages
 *             (one read per 4 KiB page, TLB-bound): fresh / long-lived
 *   priority  one instance; per round at random, the timing process runs as
 *             is, SCHED_FIFO, or in an autogroup of its own niced to -10
 *             (cpuclock -P): can the harness keep the machine's other work
 *             off its CPU while it times?
 *   harness   one instance; per round at random, the same methods timed by
 *             cpuclock (C, no Node), by the bench's own path in this Node
 *             process (LocalUnit.runBlock: addon block(), SCHED_FIFO unless
 *             ITERBENCH_SCHED=other), and by that path right after ~100 MB
 *             of short-lived JS objects (V8's concurrent GC threads busy on
 *             the other CPU meanwhile): does the harness cost the walk time?
 *   autogroup one instance; --spinners busy loops at nice 19, each in its own
 *             session (as a build started from another shell is); per round
 *             at random: spinners stopped, running, or running with their
 *             autogroup niced to 19 (/proc/PID/autogroup)
 *
 *   make -C bench/experiments
 *   node --import tsx bench/experiments/drift.ts history --churn workloads --rounds 30
 *   node --import tsx bench/experiments/drift.ts sizes --sizes 1250,2500,5000,10000
 *   node --import tsx bench/experiments/drift.ts autogroup --rounds 16
 * Options: --methods a,b (default bpf-task-file,bpf-all,floor-empty-iter,
 * floor-walk), --scenario (all), --files N (10000), --rounds R (30), --per K
 * (5), --seed S, --bpf-stats, --policy fifo|ag:N (cpuclock -P, for history,
 * after, sizes), --warm (keep only the collects after the first of each
 * visit: caches warm, as the bench's blocks are), --out FILE (raw rows as
 * JSON), --quiet.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { mulberry32, seedFrom } from '../../analysis/prng.js';
import { listDescriptors } from '../descriptors.js';
import type { Scenario } from '../manifest.js';
import { DEFAULT_MEASURE, openUnit, type InstanceRef } from '../measure.js';
import { memProbeNs, shuffle } from '../rounds.js';
import type { MethodDescriptor } from '../schema.js';
import { startWorkload, stopAllWorkloads, type Workload } from '../workload.js';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    churn: { type: 'string', default: 'workloads' },
    'churn-s': { type: 'string', default: '20' },
    'anon-gib': { type: 'string', default: '4' },
    files: { type: 'string', default: '10000' },
    sizes: { type: 'string', default: '1250,2500,5000,10000' },
    scenario: { type: 'string', default: 'all' },
    methods: { type: 'string', default: 'bpf-task-file,bpf-all,floor-empty-iter,floor-walk' },
    rounds: { type: 'string', default: '30' },
    per: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    spinners: { type: 'string', default: '2' },
    'bpf-stats': { type: 'boolean', default: false },
    policy: { type: 'string' },
    warm: { type: 'boolean', default: false },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const experiment = positionals[0] ?? 'history';
const N = Number(o.files);
const ROUNDS = Number(o.rounds);
const PER = Number(o.per);
const SEED = Number(o.seed);
const scenario = o.scenario as Scenario;
const log = (s: string) => o.quiet || process.stderr.write(s + '\n');
const CPUCLOCK = new URL('../../build/experiments/cpuclock', import.meta.url).pathname;

// ------------------------------------------------------------ machine state

function psiSomeUs(): number {
  return Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
}
const SLABS = ['filp', 'eventpoll_epi', 'dentry', 'proc_inode_cache', 'inode_cache', 'kmalloc-64', 'kmalloc-192'];
function slabs(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync('/proc/slabinfo', 'utf8').split('\n')) {
    const f = l.split(/\s+/);
    if (SLABS.includes(f[0]!)) out[f[0]!] = Number(f[1]); // active_objs
  }
  return out;
}
function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(MemFree|Slab|SUnreclaim|AnonPages):\s+(\d+)/.exec(l);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
const phases: Record<string, unknown>[] = [];
function phase(name: string): void {
  phases.push({ phase: name, t: new Date().toISOString(), load1: loadavg()[0], slabs: slabs(), meminfo: meminfo() });
}

let statsBefore: string | undefined;
function setBpfStats(on: boolean): void {
  if (on) {
    statsBefore = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  } else if (statsBefore !== undefined) {
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsBefore);
    statsBefore = undefined;
  }
}

// ------------------------------------------------------------ instances

interface Inst {
  label: string;
  n: number;
  w: Workload;
  ref: InstanceRef;
}
/** a method on an instance, verified; cpuclock opens it again by this spec */
interface U {
  key: string;
  label: string;
  method: string;
  n: number;
  spec: string;
}
let nextId = 0;
async function start(sc: Scenario, n: number, label: string): Promise<Inst> {
  const s = await startWorkload({ scenario: sc, files: n, tasks: 4 });
  if (s.state !== 'ready') throw new Error(`${label}: workload ${sc} n=${n}: ${s.state}: ${s.reason}`);
  const w = s.workload;
  await w.freeze();
  return { label, n, w, ref: { id: nextId++, scenario: sc, n, replica: 0, manifest: w.manifest, pids: w.pids, alive: () => w.alive() } };
}
async function stop(i: Inst): Promise<void> {
  await i.w.thaw();
  await i.w.stop();
}
/** open and verify (then close: the timing process opens its own) */
async function verified(method: MethodDescriptor, inst: Inst): Promise<U | undefined> {
  const op = await openUnit(method, inst.ref, DEFAULT_MEASURE);
  if (op.kind !== 'unit') {
    const m = op.measurement;
    if (m.state === 'skipped') return undefined;
    throw new Error(`${inst.label} ${method.name}: ${m.state}: ${'reason' in m ? m.reason : ''}`);
  }
  op.unit.close();
  return { key: `${inst.label}:${method.name}`, label: inst.label, method: method.name, n: inst.n, spec: `${method.name}:${inst.w.pids.join(',')}` };
}
async function unitsOf(insts: Inst[], methods: MethodDescriptor[]): Promise<U[]> {
  const out: U[] = [];
  for (const i of insts) for (const m of methods) {
    const u = await verified(m, i);
    if (u) out.push(u);
  }
  return out;
}

// ------------------------------------------------------------ timing (cpuclock)

interface Row {
  round: number;
  key: string;
  wallNs: number;
  cpuNs: number;
  delayNs: number;
  slices: number;
  nvcsw: number;
  progNsPerRun?: number;
  cond?: string;
}
interface RoundProbe {
  round: number;
  load1: number;
  psiPct?: number;
  memProbeMs?: number;
}
const roundProbes: RoundProbe[] = [];

/** time the units with cpuclock; rounds numbered from firstRound */
function cpuclock(units: U[], rounds: number, firstRound: number, cond?: string, policy = o.policy): Row[] {
  const bySpec = new Map(units.map((u) => [u.spec, u]));
  if (o['bpf-stats']) setBpfStats(true);
  let r;
  try {
    r = spawnSync(CPUCLOCK, ['-r', String(rounds), '-k', String(PER), '-s', String(SEED + firstRound), ...(o['bpf-stats'] ? ['-b'] : []), ...(policy ? ['-P', policy] : []), ...units.map((u) => u.spec)], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
  } finally {
    if (o['bpf-stats']) setBpfStats(false);
  }
  if (r.error) throw new Error(`${CPUCLOCK}: ${r.error.message} (make -C bench/experiments)`);
  if (r.status !== 0) throw new Error(`cpuclock exited ${r.status ?? r.signal}: ${r.stderr}`);
  const rows: Row[] = [];
  for (const l of r.stdout.split('\n')) {
    if (l.startsWith('#round')) {
      const f = l.split(' ');
      roundProbes.push({ round: Number(f[1]) + firstRound, load1: Number(f[3]) });
      continue;
    }
    const f = l.split('\t');
    if (f.length < 10 || f[0] === 'round') continue;
    const u = bySpec.get(f[1]!)!;
    const [wall, cpu, delay, slices, nvcsw, , progNs, progCnt, i] = f.slice(2).map(Number) as number[];
    if (o.warm && i === 0) continue;
    rows.push({
      round: Number(f[0]) + firstRound,
      key: u.key,
      wallNs: wall!,
      cpuNs: cpu!,
      delayNs: delay!,
      slices: slices!,
      nvcsw: nvcsw!,
      ...(progCnt! > 0 ? { progNsPerRun: progNs! / progCnt! } : {}),
      ...(cond ? { cond } : {}),
    });
  }
  return rows;
}

// ------------------------------------------------------------ churn

async function churnProcfs(seconds: number, descs: MethodDescriptor[]): Promise<void> {
  const c = await start(scenario, N, 'churn');
  const u = await verified(descs.find((d) => d.name === 'procfs')!, c);
  const t0 = performance.now();
  // procfs collects on the churn instance for the time given
  const per = Math.max(1, Math.round((seconds * 1000) / 400));
  spawnSync(CPUCLOCK, ['-r', '1', '-k', String(per), u!.spec], { stdio: 'ignore' });
  await stop(c);
  log(`churn procfs: ${per} collects, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function churnWorkloads(descs: MethodDescriptor[]): Promise<void> {
  const t0 = performance.now();
  const sizes = [N / 8, N / 4, N / 2, N, N].map(Math.round);
  for (const sc of ['files', 'shared', 'epoll', 'io_uring'] as Scenario[]) {
    const insts: Inst[] = [];
    for (const n of sizes) insts.push(await start(sc, n, `churn-${sc}-${n}`));
    const specs: string[] = [];
    for (const i of insts) {
      for (const m of ['procfs', 'kcmp-tree', 'bpf-all']) {
        const u = await verified(descs.find((d) => d.name === m)!, i);
        if (u) specs.push(u.spec);
      }
    }
    spawnSync(CPUCLOCK, ['-r', '3', '-k', '1', ...specs], { stdio: 'ignore' });
    for (const i of insts) await stop(i);
  }
  log(`churn workloads: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function churnAnon(gib: number): Promise<void> {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-e', `const b=[];for(let i=0;i<${gib * 4};i++)b.push(Buffer.alloc(256<<20,1));`], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`anon churn child failed: ${r.status ?? r.signal}`);
  await new Promise((res) => setTimeout(res, 8000)); // page reporting runs ~2 s after pages are freed
  log(`churn anon: ${gib} GiB touched and freed, 8 s wait; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function churn(kind: string, descs: MethodDescriptor[]): Promise<void> {
  if (kind === 'procfs') await churnProcfs(Number(o['churn-s']), descs);
  else if (kind === 'workloads') await churnWorkloads(descs);
  else if (kind === 'anon') await churnAnon(Number(o['anon-gib']));
  else if (kind !== 'none') throw new Error(`unknown --churn ${kind}`);
}

// ------------------------------------------------------------ statistics

const median = (xs: number[]) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
function bootCi(xs: number[], seed: number): [number, number] {
  if (xs.length < 3) return [NaN, NaN];
  const rng = mulberry32(seed);
  const v: number[] = [];
  for (let b = 0; b < 2000; b++) v.push(median(xs.map(() => xs[Math.floor(rng() * xs.length)]!)));
  v.sort((a, b) => a - b);
  return [v[50]!, v[1949]!];
}
const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** name, value, divisor for printing (ms; ns for the per-run program time) */
const FIELDS: [string, (s: Row) => number | undefined, number][] = [
  ['wall', (s) => s.wallNs, 1e6],
  ['cpu', (s) => s.cpuNs, 1e6],
  ['delay', (s) => s.delayNs, 1e6],
  ['prog/run', (s) => s.progNsPerRun, 1],
];

/** block medians of a field: key -> round -> value */
function blockMed(rows: Row[], f: (s: Row) => number | undefined): Map<string, Map<number, number>> {
  const acc = new Map<string, Map<number, number[]>>();
  for (const s of rows) {
    const v = f(s);
    if (v === undefined || !Number.isFinite(v)) continue;
    const byR = acc.get(s.key) ?? new Map<number, number[]>();
    acc.set(s.key, byR);
    byR.set(s.round, [...(byR.get(s.round) ?? []), v]);
  }
  return new Map([...acc].map(([k, m]) => [k, new Map([...m].map(([r, l]) => [r, median(l)]))]));
}

/** medians per unit and the per-round ratios of each label to the first */
function reportRatios(units: U[], rows: Row[], labels: string[]): void {
  const methods = [...new Set(units.map((u) => u.method))];
  console.log(`\nmedian of the blocks (ms; prog/run in ns per program run), and ${labels.slice(1).join(', ')} / ${labels[0]} per round (median, 95 % CI)`);
  for (const [fname, f, div] of FIELDS) {
    const bm = blockMed(rows, f);
    if (bm.size === 0) continue;
    for (const m of methods) {
      const base = bm.get(`${labels[0]}:${m}`);
      if (!base) continue;
      const cells = [`${fname.padEnd(8)} ${m.padEnd(18)} ${labels[0]} ${fmt(median([...base.values()]) / div)}`];
      for (const l of labels.slice(1)) {
        const other = bm.get(`${l}:${m}`);
        if (!other) continue;
        const rs = [...base].filter(([r, v]) => other.has(r) && v > 0).map(([r, v]) => other.get(r)! / v);
        const [lo, hi] = bootCi(rs, seedFrom(`${fname}/${m}/${l}`));
        cells.push(`${l} ${fmt(median([...other.values()]) / div)}${rs.length >= 3 ? ` ratio ${fmt(median(rs))} [${fmt(lo)}, ${fmt(hi)}]` : ''}`);
      }
      console.log('  ' + cells.join(' | '));
    }
  }
  decomposition(units, rows);
}

function decomposition(units: U[], rows: Row[]): void {
  console.log('\nper collect (medians, ms): wall = cpu + delay (run queue) + rest (asleep); collects that waited; voluntary switches');
  for (const u of units) {
    const xs = rows.filter((x) => x.key === u.key);
    if (!xs.length) continue;
    console.log(
      `  ${u.key.padEnd(30)} wall ${fmt(median(xs.map((x) => x.wallNs)) / 1e6)} cpu ${fmt(median(xs.map((x) => x.cpuNs)) / 1e6)} ` +
        `delay ${fmt(median(xs.map((x) => x.delayNs)) / 1e6)} rest ${fmt(median(xs.map((x) => x.wallNs - x.cpuNs - x.delayNs)) / 1e6)} | ` +
        `waited ${xs.filter((x) => x.delayNs > 0).length}/${xs.length} | delay share ${fmt(xs.reduce((a, x) => a + x.delayNs, 0) / xs.reduce((a, x) => a + x.wallNs, 0))} | nvcsw ${xs.reduce((a, x) => a + x.nvcsw, 0)}`,
    );
  }
}

function reportSlopes(units: U[], rows: Row[]): void {
  const methods = [...new Set(units.map((u) => u.method))];
  console.log('\nper round log-log slope over the sizes (median over rounds, 95 % CI), and the medians per size (ms)');
  for (const [fname, f, div] of FIELDS.filter(([n]) => n !== 'delay')) {
    const bm = blockMed(rows, f);
    if (bm.size === 0) continue;
    for (const m of methods) {
      const us = units.filter((u) => u.method === m && bm.has(u.key)).sort((a, b) => a.n - b.n);
      if (us.length < 2) continue;
      const rounds = [...bm.get(us[0]!.key)!.keys()].filter((r) => us.every((u) => (bm.get(u.key)!.get(r) ?? 0) > 0));
      const slopes = rounds.map((r) => {
        const x = us.map((u) => Math.log(u.n));
        const y = us.map((u) => Math.log(bm.get(u.key)!.get(r)!));
        const mx = x.reduce((a, b) => a + b) / x.length;
        const my = y.reduce((a, b) => a + b) / y.length;
        let sxy = 0;
        let sxx = 0;
        for (let i = 0; i < x.length; i++) {
          sxy += (x[i]! - mx) * (y[i]! - my);
          sxx += (x[i]! - mx) ** 2;
        }
        return sxy / sxx;
      });
      const [lo, hi] = bootCi(slopes, seedFrom(`${fname}/${m}`));
      const per = us.map((u) => `${u.n}:${fmt(median([...bm.get(u.key)!.values()]) / div)}`).join(' ');
      console.log(`  ${fname.padEnd(8)} ${m.padEnd(18)} slope ${fmt(median(slopes))} [${fmt(lo)}, ${fmt(hi)}]  ${per}`);
    }
  }
  decomposition(units, rows);
}

function machineLine(): string {
  const l = roundProbes.map((r) => r.load1);
  const mem = roundProbes.map((r) => r.memProbeMs).filter((x): x is number => x !== undefined);
  const psi = roundProbes.map((r) => r.psiPct).filter((x): x is number => x !== undefined);
  return (
    `machine: load1 ${fmt(Math.min(...l), 2)}-${fmt(Math.max(...l), 2)}` +
    (psi.length ? `, cpu pressure (some) median ${fmt(median(psi), 0)} %` : '') +
    (mem.length ? `, 64 MiB strided walk median ${fmt(median(mem), 1)} ms (${fmt(Math.min(...mem), 1)}-${fmt(Math.max(...mem), 1)})` : '')
  );
}

// ------------------------------------------------------------ experiments

async function history(methods: MethodDescriptor[], descs: MethodDescriptor[]): Promise<void> {
  phase('start');
  const early = await start(scenario, N, 'early');
  phase('early started');
  await churn(o.churn!, descs);
  phase(`after churn ${o.churn}`);
  const late = await start(scenario, N, 'late');
  phase('late started');
  const units = await unitsOf([early, late], methods);
  const p0 = psiSomeUs();
  const t0 = performance.now();
  const rows = cpuclock(units, ROUNDS, 0);
  const psiPct = (100 * (psiSomeUs() - p0)) / 1000 / (performance.now() - t0);
  phase('end');
  console.log(`experiment history churn=${o.churn} scenario=${scenario} N=${N} rounds=${ROUNDS} per=${PER} seed=${SEED}`);
  console.log(`${machineLine()}, cpu pressure over the timing ${fmt(psiPct, 0)} %`);
  for (const p of phases) console.log(`  ${String(p.phase).padEnd(24)} load ${fmt(p.load1 as number, 2)} slabs ${JSON.stringify(p.slabs)} mem kB ${JSON.stringify(p.meminfo)}`);
  reportRatios(units, rows, ['early', 'late']);
  save(rows, units);
  await stop(early);
  await stop(late);
}

async function after(methods: MethodDescriptor[], descs: MethodDescriptor[]): Promise<void> {
  const inst = await start(scenario, N, 'inst');
  const base = await unitsOf([inst], methods);
  const rows: Row[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const conds = shuffle(['churn', 'idle'], mulberry32(seedFrom(`after/${r}`, SEED)));
    for (const cond of conds) {
      const t0 = performance.now();
      if (cond === 'churn') await churn(o.churn!, descs);
      else await new Promise((res) => setTimeout(res, Number(o['churn-s']) * 1000));
      const units = base.map((u) => ({ ...u, key: `${cond}:${u.method}` }));
      const mem = memProbeNs() / 1e6;
      rows.push(...cpuclock(units, 1, r, cond));
      roundProbes.at(-1)!.memProbeMs = mem;
      log(`round ${r + 1}/${ROUNDS} ${cond}: ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(2)}`);
    }
  }
  console.log(`experiment after churn=${o.churn} (idle ${o['churn-s']} s) scenario=${scenario} N=${N} rounds=${ROUNDS} per=${PER} seed=${SEED}`);
  console.log(machineLine());
  const units = ['idle', 'churn'].flatMap((c) => base.map((u) => ({ ...u, key: `${c}:${u.method}` })));
  reportRatios(units, rows, ['idle', 'churn']);
  save(rows, units);
  await stop(inst);
}

async function sizes(methods: MethodDescriptor[]): Promise<void> {
  const insts: Inst[] = [];
  for (const n of o.sizes!.split(',').map(Number)) insts.push(await start(scenario, n, `n${n}`));
  const units = await unitsOf(insts, methods);
  const p0 = psiSomeUs();
  const t0 = performance.now();
  const rows = cpuclock(units, ROUNDS, 0);
  const psiPct = (100 * (psiSomeUs() - p0)) / 1000 / (performance.now() - t0);
  console.log(`experiment sizes scenario=${scenario} sizes=${o.sizes} rounds=${ROUNDS} per=${PER} seed=${SEED}`);
  console.log(`${machineLine()}, cpu pressure over the timing ${fmt(psiPct, 0)} %`);
  reportSlopes(units, rows);
  save(rows, units);
  for (const i of insts) await stop(i);
}

async function autogroup(methods: MethodDescriptor[]): Promise<void> {
  const inst = await start(scenario, N, 'inst');
  const base = await unitsOf([inst], methods);
  const spinners: ChildProcess[] = Array.from({ length: Number(o.spinners) }, () =>
    // detached: setsid(), a session (and so an autogroup) of its own
    spawn('nice', ['-n', '19', 'sh', '-c', 'while :; do :; done'], { detached: true, stdio: 'ignore' }),
  );
  const kill = () =>
    spinners.forEach((c) => {
      try {
        if (c.pid && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
  process.on('exit', kill);
  const signal = (sig: NodeJS.Signals) => spinners.forEach((c) => process.kill(c.pid!, sig));
  const agNice = (v: number) => spinners.forEach((c) => writeFileSync(`/proc/${c.pid}/autogroup`, String(v)));
  const conds = ['stopped', 'nice19', 'autogroup19'];
  const rows: Row[] = [];
  try {
    await new Promise((r) => setTimeout(r, 300));
    log(`spinners ${spinners.map((c) => `${c.pid} ${readFileSync(`/proc/${c.pid}/autogroup`, 'utf8').trim()}`).join(', ')}; ours ${readFileSync('/proc/self/autogroup', 'utf8').trim()}`);
    for (let r = 0; r < ROUNDS; r++) {
      for (const cond of shuffle(conds, mulberry32(seedFrom(`autogroup/${r}`, SEED)))) {
        if (cond === 'stopped') signal('SIGSTOP');
        else {
          agNice(cond === 'autogroup19' ? 19 : 0);
          signal('SIGCONT');
        }
        await new Promise((res) => setTimeout(res, 300));
        rows.push(...cpuclock(base.map((u) => ({ ...u, key: `${cond}:${u.method}` })), 1, r, cond));
      }
      log(`round ${r + 1}/${ROUNDS}, load ${loadavg()[0].toFixed(2)}`);
    }
  } finally {
    kill();
  }
  console.log(`experiment autogroup scenario=${scenario} N=${N} spinners=${o.spinners} rounds=${ROUNDS} per=${PER} seed=${SEED}`);
  console.log(machineLine());
  const units = conds.flatMap((c) => base.map((u) => ({ ...u, key: `${c}:${u.method}` })));
  reportRatios(units, rows, conds);
  save(rows, units);
  await stop(inst);
}

async function memory(): Promise<void> {
  const BYTES = 64 << 20;
  const fill = () => new Float64Array(BYTES / 8).fill(1);
  const old = fill();
  await churnAnon(Number(o['anon-gib']));
  const fresh = fill();
  const pages = BYTES / 4096;
  const perm = shuffle(Array.from({ length: pages }, (_, i) => i * 512), mulberry32(SEED)); // a random page order (Float64 index)
  const permArr = Int32Array.from(perm);
  const seq = (b: Float64Array) => {
    let x = 0;
    for (let i = 0; i < b.length; i += 8) x += b[i]!;
    return x;
  };
  const rnd = (b: Float64Array) => {
    let x = 0;
    for (let i = 0; i < permArr.length; i++) x += b[permArr[i]!]!;
    return x;
  };
  const rows: Row[] = [];
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const order = shuffle(['old:seq', 'fresh:seq', 'old:rand', 'fresh:rand'], mulberry32(seedFrom(`memory/${r}`, SEED)));
    for (const key of order) {
      const [which, how] = key.split(':');
      const b = which === 'old' ? old : fresh;
      for (let k = 0; k < PER; k++) {
        const t0 = process.hrtime.bigint();
        sink += how === 'seq' ? seq(b) : rnd(b);
        const ns = Number(process.hrtime.bigint() - t0);
        rows.push({ round: r, key, wallNs: ns, cpuNs: NaN, delayNs: NaN, slices: 0, nvcsw: 0 });
      }
    }
    roundProbes.push({ round: r, load1: loadavg()[0] ?? 0 });
  }
  if (sink < 0) throw new Error('unreachable');
  console.log(`experiment memory: 64 MiB long-lived vs allocated after ${o['anon-gib']} GiB touched and freed; rounds=${ROUNDS} per=${PER}`);
  console.log(machineLine());
  const units: U[] = ['seq', 'rand'].flatMap((how) => ['old', 'fresh'].map((w) => ({ key: `${w}:${how}`, label: w, method: how, n: 0, spec: '' })));
  reportRatios(units, rows, ['old', 'fresh']);
}

async function priority(methods: MethodDescriptor[]): Promise<void> {
  const inst = await start(scenario, N, 'inst');
  const base = await unitsOf([inst], methods);
  const conds: [string, string][] = [
    ['normal', 'normal'],
    ['fifo', 'fifo'],
    ['ag-10', 'ag:-10'],
  ];
  const rows: Row[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [cond, pol] of shuffle(conds, mulberry32(seedFrom(`priority/${r}`, SEED)))) {
      rows.push(...cpuclock(base.map((u) => ({ ...u, key: `${cond}:${u.method}` })), 1, r, cond, pol));
    }
    log(`round ${r + 1}/${ROUNDS}, load ${loadavg()[0].toFixed(2)}`);
  }
  console.log(`experiment priority scenario=${scenario} N=${N} rounds=${ROUNDS} per=${PER} seed=${SEED}`);
  console.log(machineLine());
  const units = conds.flatMap(([c]) => base.map((u) => ({ ...u, key: `${c}:${u.method}` })));
  reportRatios(units, rows, conds.map(([c]) => c));
  save(rows, units);
  await stop(inst);
}

async function harness(methods: MethodDescriptor[]): Promise<void> {
  const inst = await start(scenario, N, 'inst');
  const base = await unitsOf([inst], methods);
  const local = new Map<string, import('../measure.js').LocalUnit>();
  for (const m of methods) {
    const op = await openUnit(m, inst.ref, DEFAULT_MEASURE);
    if (op.kind === 'unit') local.set(m.name, op.unit);
  }
  const garbage = () => {
    let keep: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 50_000) keep = [];
    }
    return keep.length;
  };
  const conds = ['cpuclock', 'node', 'node+gc'];
  const rows: Row[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const cond of shuffle(conds, mulberry32(seedFrom(`harness/${r}`, SEED)))) {
      if (cond === 'cpuclock') {
        rows.push(...cpuclock(base.map((u) => ({ ...u, key: `${cond}:${u.method}` })), 1, r, cond, process.env.ITERBENCH_SCHED === 'other' ? undefined : 'fifo'));
        continue;
      }
      for (const u of shuffle(base, mulberry32(seedFrom(`harness/${r}/${cond}`, SEED)))) {
        if (cond === 'node+gc') garbage();
        const out = await local.get(u.method)!.runBlock(r, PER);
        if (!out.ok) throw new Error(`${u.key}: ${out.reason}`);
        for (const ns of out.timesNs) rows.push({ round: r, key: `${cond}:${u.method}`, wallNs: ns, cpuNs: NaN, delayNs: NaN, slices: 0, nvcsw: 0, cond });
      }
    }
    roundProbes.push({ round: r, load1: loadavg()[0] ?? 0 });
    log(`round ${r + 1}/${ROUNDS}, load ${loadavg()[0].toFixed(2)}`);
  }
  console.log(`experiment harness scenario=${scenario} N=${N} rounds=${ROUNDS} per=${PER} seed=${SEED} ITERBENCH_SCHED=${process.env.ITERBENCH_SCHED ?? '(unset)'}`);
  console.log(machineLine());
  const units = conds.flatMap((c) => base.map((u) => ({ ...u, key: `${c}:${u.method}` })));
  reportRatios(units, rows, conds);
  save(rows, units);
  for (const u of local.values()) u.close();
  await stop(inst);
}

function save(rows: Row[], units: U[]): void {
  if (o.out) writeFileSync(o.out, JSON.stringify({ argv: process.argv.slice(2), phases, roundProbes, units, rows }));
}

async function main(): Promise<void> {
  const descs = listDescriptors();
  const methods = o.methods!.split(',').map((n) => {
    const d = descs.find((x) => x.name === n);
    if (!d) throw new Error(`unknown method ${n}`);
    return d;
  });
  if (experiment === 'history') await history(methods, descs);
  else if (experiment === 'after') await after(methods, descs);
  else if (experiment === 'sizes') await sizes(methods);
  else if (experiment === 'autogroup') await autogroup(methods);
  else if (experiment === 'memory') await memory();
  else if (experiment === 'priority') await priority(methods);
  else if (experiment === 'harness') await harness(methods);
  else throw new Error(`unknown experiment ${experiment}`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    setBpfStats(false);
    stopAllWorkloads();
    process.exit(130);
  });
}
main().catch((e) => {
  setBpfStats(false);
  stopAllWorkloads();
  console.error(`drift: ${(e as Error).message}`);
  process.exit(1);
});
