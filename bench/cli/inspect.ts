/**
 * npm run inspect -- --pid PID[,PID...] [--method NAME,...] [--json] [--freeze]
 * npm run inspect -- --manifest FILE [--pid PID,...] [...]
 *
 * What each method recovers from processes the user names, and where the
 * methods disagree; with --manifest, every method verified against a
 * manifest the user wrote (bench/verify/read-manifest.ts; exit 1 when a
 * method is wrong or errored). It never changes the target: it only
 * reads; --freeze (opt-in) freezes the tasks while reading and always thaws
 * them, also on error or signal.
 *
 * A thread id given as --pid reads its thread group's descriptor table
 * (the process's, which its threads share) and says so. O(n^2) methods
 * (kcmp-pairwise) compare every pair up to --pairs pairs, a random sample
 * of rows (seeded) beyond, and say so.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { DecodeError, decodeRecords, type FileRef, type Recovered } from '../decode.js';
import { freezePids, type Frozen } from '../freezer.js';
import type { Manifest } from '../manifest.js';
import { rowsForPairs } from '../measure.js';
import { listMethods, openMethod, sameDescriptorTable, type MethodInfo, type NativeSample } from '../native.js';
import { UsageError, helpText, parseOptions, type OptionTable } from '../options.js';
import type { Coverage, Mismatch } from '../schema.js';
import { ManifestError, readManifestFile, remapPids } from '../verify/read-manifest.js';
import { verify } from '../verify/index.js';

/** O(n^2) methods compare every pair up to this many, a sample of rows beyond */
export const INSPECT_PAIRS = 1_000_000;
const SAMPLE_SEED = 1;

const OPTIONS = {
  pid: { type: 'list', placeholder: 'PID,..', description: 'processes to inspect (tgids, or a thread id: its process; tasks that share files go together); with --manifest, one per task in its order (default: the manifest\'s pids)' },
  manifest: { type: 'string', placeholder: 'FILE', description: 'verify every method against this manifest (README: "Verifying your own processes"); exit 1 when one is wrong' },
  method: { type: 'list', placeholder: 'NAME,..', description: 'methods or families to run (default: every method that recovers something)' },
  json: { type: 'boolean', description: 'machine output: one JSON object on stdout' },
  freeze: { type: 'boolean', description: 'freeze the processes while reading (always thawed after)' },
  pairs: { type: 'int', min: 0, max: 1e12, placeholder: 'N', description: `O(n^2) methods: compare every pair up to N pairs, a random sample of rows beyond (default ${INSPECT_PAIRS}; 0: always every pair)` },
  limit: { type: 'int', min: 0, max: 1_000_000, placeholder: 'K', description: 'rows printed per section in text mode (default 40)' },
  'allow-pid-1': { type: 'boolean', description: 'consent to inspecting pid 1 (init)' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

interface MethodReport {
  method: string;
  family: string;
  /** ok: collected (no manifest); verified / wrong: checked against the manifest */
  state: 'ok' | 'verified' | 'wrong' | 'skipped' | 'errored';
  reason?: string;
  coldMs?: number;
  collectMs?: number;
  /** sampled O(n^2) work: what was compared */
  sample?: NativeSample & { pairsLimit: number };
  recovered?: Recovered;
  counts?: Record<string, number>;
  coverage?: Coverage;
  mismatchCount?: number;
  mismatches?: Mismatch[];
}

/** a --pid that is a thread: which process's table was read instead */
interface ThreadNote {
  tid: number;
  tgid: number;
  note: string;
}

function refText(r: FileRef, groups: Map<string, number>): string {
  if (r.how === 'none') return '-';
  if (r.how === 'holder') return `same as ${r.pid}/${r.fd}`;
  if (!groups.has(r.key)) groups.set(r.key, groups.size + 1);
  return `file#${groups.get(r.key)}`;
}

/**
 * Canonical views per kind, to compare methods without a ground truth.
 * hidden: include the slots of rings no descriptor reaches (only methods
 * that claim every ring are compared on them).
 */
function views(r: Recovered, hidden: boolean): Record<string, Map<string, string>> {
  const fd = new Map<string, string>();
  const meta = new Map<string, string>();
  for (const f of r.fds) {
    fd.set(`${f.pid}/${f.fd}`, 'open');
    if (f.kind !== undefined) meta.set(`${f.pid}/${f.fd}`, `${f.kind} dev=${f.dev ?? '?'} ino=${f.ino ?? '?'} pos=${f.pos ?? '?'}`);
  }
  // identity as a partition: each fd -> the smallest "pid/fd" of its group
  const ident = new Map<string, string>();
  const byKey = new Map<string, string[]>();
  for (const f of r.fds) {
    if (f.id.how !== 'key') continue;
    const list = byKey.get(f.id.key) ?? [];
    list.push(`${f.pid}/${f.fd}`);
    byKey.set(f.id.key, list);
  }
  for (const list of byKey.values()) {
    const rep = [...list].sort()[0];
    for (const x of list) ident.set(x, rep);
  }
  const table = new Map<string, string>();
  for (const t of r.tables) table.set(String(t.pid), `same as ${t.sameAs}`);
  const ep = new Map<string, string>();
  for (const e of r.epollItems) ep.set(`${e.pid}/${e.epfd} data=${e.data}`, `tfd=${e.tfd} events=${e.events?.toString(16)}`);
  const uf = new Map<string, string>();
  for (const f of r.uringFiles) if (hidden || f.ringFd >= 0) uf.set(`${f.pid}/${f.ringFd} slot ${f.index}`, 'occupied');
  const ub = new Map<string, string>();
  for (const b of r.uringBufs) if (hidden || b.ringFd >= 0) ub.set(`${b.pid}/${b.ringFd} slot ${b.index}`, `${b.addr}/${b.len}`);
  return { fd, 'fd.meta': meta, 'fd.identity': ident, 'fd.table': table, 'epoll.item': ep, 'uring.file': uf, 'uring.buf': ub };
}

const coverageOf: Record<string, keyof MethodInfo['coverage']> = {
  fd: 'fd', 'fd.meta': 'fd.meta', 'fd.identity': 'fd.identity', 'fd.table': 'fd.table', 'epoll.item': 'epoll.item', 'uring.file': 'uring.file', 'uring.buf': 'uring.buf',
};

function disagreements(reports: MethodReport[], methods: Map<string, MethodInfo>): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(coverageOf)) {
    // a sampled answer names the identity of its sampled classes only: not comparable
    const full = reports.filter((r) => r.recovered && methods.get(r.method)!.coverage[coverageOf[kind]].level === 'full' && !(kind === 'fd.identity' && r.sample));
    if (full.length < 2) continue;
    const [ref, ...rest] = full;
    const allRings = (r: MethodReport) => methods.get(r.method)!.coverage['uring.ring'].level === 'full';
    for (const other of rest) {
      const hidden = allRings(ref) && allRings(other);
      const a = views(ref.recovered!, hidden)[kind];
      const b = views(other.recovered!, hidden)[kind];
      const diffs: string[] = [];
      for (const [k, v] of a) if (b.get(k) !== v) diffs.push(`${k}: ${ref.method} says ${v}, ${other.method} says ${b.get(k) ?? 'nothing'}`);
      for (const [k, v] of b) if (!a.has(k)) diffs.push(`${k}: ${ref.method} says nothing, ${other.method} says ${v}`);
      if (diffs.length) out.push(`${kind}: ${ref.method} and ${other.method} disagree on ${diffs.length}: ${diffs.slice(0, 5).join('; ')}`);
    }
  }
  return out;
}

function tgidOf(pid: number): number | undefined {
  try {
    const tgid = /^Tgid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return tgid === undefined ? undefined : Number(tgid);
  } catch {
    return undefined;
  }
}

/**
 * The processes to read: each --pid checked; a thread id becomes its
 * process, with a note, when the thread uses its process's descriptor
 * table (the methods read a process's table).
 */
function resolvePids(list: string[], allowInit: boolean, what = '--pid'): { pids: number[]; threads: ThreadNote[] } {
  const pids: number[] = [];
  const threads: ThreadNote[] = [];
  for (const s of list) {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageError(`${what} takes process ids, not '${s}'`);
    const pid = Number(s);
    if (pid === 1 && !allowInit) throw new UsageError(`${what} 1 is init: pass --allow-pid-1 to inspect it`);
    if (!existsSync(`/proc/${pid}/status`)) throw new UsageError(`${what} ${pid}: no such process`);
    const tgid = tgidOf(pid);
    if (tgid === undefined) throw new UsageError(`${what} ${pid}: no such process`);
    if (tgid === process.pid || pid === process.pid) throw new UsageError(`${what} names inspect itself`);
    if (tgid === 1 && !allowInit) throw new UsageError(`${what} ${pid} is a thread of init: pass --allow-pid-1 to inspect it`);
    let target = pid;
    if (tgid !== pid) {
      const same = sameDescriptorTable(pid, tgid);
      if (same < 0) throw new UsageError(`${what} ${pid} is a thread of process ${tgid}, and kcmp cannot compare their descriptor tables (errno ${-same})`);
      if (same !== 0) throw new UsageError(`${what} ${pid} is a thread of process ${tgid} with a descriptor table of its own (unshare(CLONE_FILES)): the methods read a process's table, which is not this thread's`);
      threads.push({ tid: pid, tgid, note: `${pid} is a thread of process ${tgid}: its descriptor table is the thread group's, read as process ${tgid}'s` });
      target = tgid;
    }
    if (!pids.includes(target)) pids.push(target);
  }
  return { pids, threads };
}

/** descriptors of the tasks now, to size an O(n^2) method's work */
function countFds(pids: number[]): number {
  let n = 0;
  for (const p of pids) {
    try {
      n += readdirSync(`/proc/${p}/fd`).length;
    } catch {
      /* gone or not allowed: the method will say */
    }
  }
  return n;
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(OPTIONS, argv);
  if (opts.help) {
    process.stdout.write(helpText('usage: npm run inspect -- --pid PID[,PID...] [options]\n       npm run inspect -- --manifest FILE [--pid PID,...] [options]', OPTIONS, [
      'npm run inspect -- --pid 1234',
      'npm run inspect -- --pid 1234,1240 --method procfs,bpf-all --json',
      'npm run inspect -- --manifest my-state.json --freeze',
    ]) + '\n');
    return 0;
  }
  if (opts.positionals.length) throw new UsageError(`unexpected argument '${opts.positionals[0]}'`);
  if (!opts.pid && !opts.manifest) throw new UsageError('--pid is required (the process to inspect), or --manifest FILE (verify against it)');
  const allowInit = !!opts['allow-pid-1'];
  let manifest: Manifest | undefined;
  let pids: number[];
  let threads: ThreadNote[] = [];
  if (opts.manifest) {
    try {
      manifest = readManifestFile(opts.manifest);
      if (opts.pid) {
        const r = resolvePids(opts.pid, allowInit);
        threads = r.threads;
        manifest = remapPids(manifest, r.pids);
      }
    } catch (e) {
      if (e instanceof ManifestError) throw new UsageError(e.message);
      throw e;
    }
    pids = manifest.tasks.map((t) => t.pid);
    // the manifest's own pids: processes (thread-group ids) that exist
    const r = resolvePids(pids.map(String), allowInit, 'manifest task');
    if (r.threads.length) throw new UsageError(`manifest task ${r.threads[0]!.tid} is a thread of process ${r.threads[0]!.tgid}: a task is a process (its tgid)`);
  } else {
    const r = resolvePids(opts.pid!, allowInit);
    pids = r.pids;
    threads = r.threads;
  }
  const all = listMethods();
  let methods = all.filter((m) => m.family !== 'floor');
  if (opts.method) {
    methods = [];
    for (const n of opts.method) {
      const byName = all.filter((m) => m.name === n); // a method's name wins over a family (procfs is both)
      const picked = byName.length ? byName : all.filter((m) => m.family === n);
      if (!picked.length) throw new UsageError(`--method: unknown method '${n}' (one of: ${all.map((m) => m.name).join(', ')})`);
      for (const p of picked) if (!methods.includes(p)) methods.push(p);
    }
  }
  const pairsLimit = opts.pairs ?? INSPECT_PAIRS;

  let frozen: Frozen | undefined;
  const thaw = async () => {
    const f = frozen;
    frozen = undefined;
    if (f) await f.thaw();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    void thaw().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reports: MethodReport[] = [];
  try {
    if (opts.freeze) frozen = await freezePids(pids);
    for (const m of methods) reports.push(runMethod(m, pids, manifest, pairsLimit));
  } finally {
    await thaw();
  }
  const byName = new Map(all.map((m) => [m.name, m]));
  const failed = reports.some((r) => r.state === 'wrong' || r.state === 'errored');
  const code = manifest && failed ? 1 : 0;
  if (opts.json) {
    const methodsOut = manifest ? reports.map(({ recovered: _r, ...rest }) => rest) : reports;
    const out: Record<string, unknown> = { pids, frozen: !!opts.freeze, threads, methods: methodsOut };
    if (manifest) {
      out.manifest = opts.manifest;
      out.ok = !failed;
    } else out.disagreements = disagreements(reports, byName);
    process.stdout.write(JSON.stringify(out) + '\n');
    return code;
  }
  for (const t of threads) console.log(`note: ${t.note}`);
  const limit = opts.limit ?? 40;
  if (manifest) {
    printVerdicts(reports, limit);
    console.log(failed ? `not verified: ${reports.filter((r) => r.state === 'wrong' || r.state === 'errored').map((r) => `${r.method} ${r.state}`).join(', ')}` : `every method that ran verified against ${opts.manifest}`);
    return code;
  }
  for (const r of reports) printRecovered(r, limit);
  const dis = disagreements(reports, byName);
  console.log(dis.length ? `disagreements:\n  ${dis.join('\n  ')}` : 'no disagreements between methods that claim full coverage');
  return code;
}

/** one method: open, collect (sampled beyond the pairs limit), decode, verify when there is a manifest */
function runMethod(m: MethodInfo, pids: number[], manifest: Manifest | undefined, pairsLimit: number): MethodReport {
  const base = { method: m.name, family: m.family };
  const o = openMethod(m, pids);
  if (o.state !== 'open') return { ...base, state: o.state, reason: o.reason };
  try {
    let sampled = false;
    let rows = 0;
    if (m.sampling.how === 'rows') {
      const F = manifest ? manifest.tasks.reduce((a, t) => a + t.fds.length, 0) : countFds(pids);
      sampled = pairsLimit > 0 && (F * (F - 1)) / 2 > pairsLimit;
      rows = sampled ? rowsForPairs(F, pairsLimit) : 0;
      o.collector.setSampling(rows, SAMPLE_SEED);
    }
    const t0 = process.hrtime.bigint();
    const r = o.collector.collect();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!r.ok) return { ...base, state: 'errored', reason: r.error };
    const sample = sampled && r.out.sample ? { ...r.out.sample, pairsLimit } : undefined;
    let rec: Recovered;
    try {
      rec = decodeRecords(r.out.buffer);
    } catch (e) {
      if (e instanceof DecodeError) return { ...base, state: 'errored', reason: `undecodable records: ${e.message}` };
      throw e;
    }
    const timing = { coldMs: o.coldNs / 1e6, collectMs: dt, ...(sample ? { sample } : {}) };
    if (!manifest) {
      return {
        ...base, state: 'ok', ...timing, recovered: rec,
        counts: { fds: rec.fds.length, epollItems: rec.epollItems.length, rings: rec.rings.length, uringFiles: rec.uringFiles.length, uringBufs: rec.uringBufs.length, tables: rec.tables.length, registeredRings: rec.uringRegs.length, notes: rec.notes.length },
      };
    }
    // the rows asked for, not the rows it says it did
    const v = verify(manifest, rec, m, { sampled, sampleRows: sampled ? rows : undefined });
    return { ...base, state: v.ok ? 'verified' : 'wrong', ...timing, coverage: v.coverage, ...(v.ok ? {} : { mismatchCount: v.mismatches.length, mismatches: v.mismatches.slice(0, 200) }) };
  } finally {
    o.collector.close();
  }
}

function sampleText(s: NonNullable<MethodReport['sample']>): string {
  return `sampled: ${s.rows} of ${s.rowsTotal} descriptors (rows chosen at random, seed ${SAMPLE_SEED}) compared with all others, ${s.made} of ${s.total} pairs (more than --pairs ${s.pairsLimit}); identity checked on the sampled rows' classes`;
}

function printVerdicts(reports: MethodReport[], limit: number): void {
  for (const r of reports) {
    if (r.state === 'skipped' || r.state === 'errored') {
      console.log(`== ${r.method}: ${r.state}: ${r.reason}`);
      continue;
    }
    const cov = Object.entries(r.coverage!).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`== ${r.method} (${r.family}): ${r.state}${r.mismatchCount ? `, ${r.mismatchCount} mismatch(es)` : ''}; collect ${r.collectMs!.toFixed(2)} ms`);
    console.log(`  coverage: ${cov}`);
    if (r.sample) console.log(`  ${sampleText(r.sample)}`);
    for (const x of (r.mismatches ?? []).slice(0, limit)) console.log(`  ${x.kind} pid ${x.pid} ${x.where}: expected ${x.expected}, got ${x.got}`);
    if ((r.mismatchCount ?? 0) > limit) console.log(`  ... ${r.mismatchCount! - limit} more (--limit, or --json)`);
  }
}

function printRecovered(r: MethodReport, limit: number): void {
  if (r.state !== 'ok') {
    console.log(`== ${r.method}: ${r.state}: ${r.reason}`);
    return;
  }
  const rec = r.recovered!;
  const groups = new Map<string, number>();
  console.log(`== ${r.method} (${r.family}): ${Object.entries(r.counts!).map(([k, v]) => `${k} ${v}`).join(', ')}; open ${r.coldMs!.toFixed(2)} ms, collect ${r.collectMs!.toFixed(2)} ms`);
  if (r.sample) console.log(`  ${sampleText(r.sample)}`);
  const show = <T>(title: string, rows: T[], fmt: (x: T) => string) => {
    if (!rows.length) return;
    console.log(`  ${title}:`);
    for (const x of rows.slice(0, limit)) console.log(`    ${fmt(x)}`);
    if (rows.length > limit) console.log(`    ... ${rows.length - limit} more (--limit, or --json)`);
  };
  show('shared descriptor tables', rec.tables, (t) => `${t.pid} uses the descriptor table of ${t.sameAs} (listed under ${t.sameAs})`);
  show('descriptors', rec.fds, (f) => `${f.pid}/${f.fd} ${f.kind ?? '?'} ${f.path ?? ''} pos=${f.pos ?? '?'} flags=${f.flags === undefined ? '?' : '0' + f.flags.toString(8)} ${refText(f.id, groups)}`);
  show('epoll items', rec.epollItems, (e) => `${e.pid}/${e.epfd} tfd=${e.tfd} events=0x${(e.events ?? 0).toString(16)} data=${e.data} target=${refText(e.target, groups)}${e.targetIno !== undefined ? ` ino=${e.targetIno}` : ''}`);
  show('io_uring rings with no descriptor', rec.uringRegs, (g) => `${g.pid} thread ${g.tid} registered index ${g.index} (listed as ring ${g.ringFd}) ${refText(g.ring, groups)}`);
  show('io_uring rings', rec.rings, (x) => `${x.pid}/${x.fd} file slots ${x.nrFiles}, buffer slots ${x.nrBufs}${x.tablesMissing ? ' (tables missing: ring lock contended)' : ''}`);
  show('io_uring files', rec.uringFiles, (f) => `${f.pid}/${f.ringFd} slot ${f.index} ${f.kind ?? ''} ${f.path ?? ''} ${refText(f.file, groups)}`);
  show('io_uring buffers', rec.uringBufs, (b) => `${b.pid}/${b.ringFd} slot ${b.index} ${b.addr}/${b.len}`);
  show('notes', rec.notes, (n) => `${n.pid} code ${n.code} fd ${n.fd} ${n.text}`);
}

main(process.argv.slice(2))
  .then((c) => {
    process.exitCode = c;
  })
  .catch((e: unknown) => {
    process.stderr.write(`inspect: ${e instanceof UsageError ? '' : 'error: '}${(e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
