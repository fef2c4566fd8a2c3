/**
 * npm run inspect -- --pid PID[,PID...] [--method NAME,...] [--json] [--freeze]
 *
 * What each method recovers from processes the user names (no manifest),
 * and where the methods disagree. It never changes the target: it only
 * reads; --freeze (opt-in) freezes the tasks while reading and always thaws
 * them, also on error or signal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { decodeRecords, type FileRef, type Recovered } from '../decode.js';
import { freezePids, type Frozen } from '../freezer.js';
import { listMethods, openMethod, type MethodInfo } from '../native.js';
import { UsageError, helpText, parseOptions, type OptionTable } from '../options.js';

const OPTIONS = {
  pid: { type: 'list', placeholder: 'PID,..', description: 'processes to inspect (tgids; tasks that share files go together)' },
  method: { type: 'list', placeholder: 'NAME,..', description: 'methods or families to run (default: every method that recovers something)' },
  json: { type: 'boolean', description: 'machine output: one JSON object on stdout' },
  freeze: { type: 'boolean', description: 'freeze the processes while reading (always thawed after)' },
  limit: { type: 'int', min: 0, max: 1_000_000, placeholder: 'K', description: 'rows printed per section in text mode (default 40)' },
  'allow-pid-1': { type: 'boolean', description: 'consent to inspecting pid 1 (init)' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

interface MethodReport {
  method: string;
  family: string;
  state: 'ok' | 'skipped' | 'errored';
  reason?: string;
  coldMs?: number;
  collectMs?: number;
  recovered?: Recovered;
  counts?: Record<string, number>;
}

function refText(r: FileRef, groups: Map<string, number>): string {
  if (r.how === 'none') return '-';
  if (r.how === 'holder') return `same as ${r.pid}/${r.fd}`;
  if (!groups.has(r.key)) groups.set(r.key, groups.size + 1);
  return `file#${groups.get(r.key)}`;
}

/** Canonical views per kind, to compare methods without a ground truth. */
function views(r: Recovered): Record<string, Map<string, string>> {
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
  const ep = new Map<string, string>();
  for (const e of r.epollItems) ep.set(`${e.pid}/${e.epfd} data=${e.data}`, `tfd=${e.tfd} events=${e.events?.toString(16)}`);
  const uf = new Map<string, string>();
  for (const f of r.uringFiles) uf.set(`${f.pid}/${f.ringFd} slot ${f.index}`, 'occupied');
  const ub = new Map<string, string>();
  for (const b of r.uringBufs) ub.set(`${b.pid}/${b.ringFd} slot ${b.index}`, `${b.addr}/${b.len}`);
  return { fd, 'fd.meta': meta, 'fd.identity': ident, 'epoll.item': ep, 'uring.file': uf, 'uring.buf': ub };
}

const coverageOf: Record<string, keyof MethodInfo['coverage']> = {
  fd: 'fd', 'fd.meta': 'fd.meta', 'fd.identity': 'fd.identity', 'epoll.item': 'epoll.item', 'uring.file': 'uring.file', 'uring.buf': 'uring.buf',
};

function disagreements(reports: MethodReport[], methods: Map<string, MethodInfo>): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(coverageOf)) {
    const full = reports.filter((r) => r.recovered && methods.get(r.method)!.coverage[coverageOf[kind]].level === 'full');
    if (full.length < 2) continue;
    const [ref, ...rest] = full;
    const a = views(ref.recovered!)[kind];
    for (const other of rest) {
      const b = views(other.recovered!)[kind];
      const diffs: string[] = [];
      for (const [k, v] of a) if (b.get(k) !== v) diffs.push(`${k}: ${ref.method} says ${v}, ${other.method} says ${b.get(k) ?? 'nothing'}`);
      for (const [k, v] of b) if (!a.has(k)) diffs.push(`${k}: ${ref.method} says nothing, ${other.method} says ${v}`);
      if (diffs.length) out.push(`${kind}: ${ref.method} and ${other.method} disagree on ${diffs.length}: ${diffs.slice(0, 5).join('; ')}`);
    }
  }
  return out;
}

function pidChecks(list: string[], allowInit: boolean): number[] {
  return list.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageError(`--pid takes process ids, not '${s}'`);
    const pid = Number(s);
    if (pid === 1 && !allowInit) throw new UsageError('--pid 1 is init: pass --allow-pid-1 to inspect it');
    if (!existsSync(`/proc/${pid}/stat`)) throw new UsageError(`--pid ${pid}: no such process`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const tgid = /^Tgid:\s*(\d+)/m.exec(status)?.[1];
    if (tgid !== String(pid)) throw new UsageError(`--pid ${pid} is a thread of process ${tgid}: name the process`);
    if (pid === process.pid) throw new UsageError('--pid names inspect itself');
    return pid;
  });
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(OPTIONS, argv);
  if (opts.help) {
    process.stdout.write(helpText('usage: npm run inspect -- --pid PID[,PID...] [options]', OPTIONS, [
      'npm run inspect -- --pid 1234',
      'npm run inspect -- --pid 1234,1240 --method procfs,bpf-all --json',
    ]) + '\n');
    return 0;
  }
  if (opts.positionals.length) throw new UsageError(`unexpected argument '${opts.positionals[0]}'`);
  if (!opts.pid) throw new UsageError('--pid is required (the process to inspect)');
  const pids = pidChecks(opts.pid, !!opts['allow-pid-1']);
  const all = listMethods();
  const names = opts.method;
  let methods = all.filter((m) => m.family !== 'floor');
  if (names) {
    methods = [];
    for (const n of names) {
      const byName = all.filter((m) => m.name === n); // a method's name wins over a family (procfs is both)
      const picked = byName.length ? byName : all.filter((m) => m.family === n);
      if (!picked.length) throw new UsageError(`--method: unknown method '${n}' (one of: ${all.map((m) => m.name).join(', ')})`);
      for (const p of picked) if (!methods.includes(p)) methods.push(p);
    }
  }

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
    for (const m of methods) {
      const o = openMethod(m, pids);
      if (o.state !== 'open') {
        reports.push({ method: m.name, family: m.family, state: o.state, reason: o.reason });
        continue;
      }
      try {
        const t0 = process.hrtime.bigint();
        const r = o.collector.collect();
        const dt = Number(process.hrtime.bigint() - t0) / 1e6;
        if (!r.ok) {
          reports.push({ method: m.name, family: m.family, state: 'errored', reason: r.error });
          continue;
        }
        const rec = decodeRecords(r.out.buffer);
        reports.push({
          method: m.name, family: m.family, state: 'ok', coldMs: o.coldNs / 1e6, collectMs: dt, recovered: rec,
          counts: { fds: rec.fds.length, epollItems: rec.epollItems.length, rings: rec.rings.length, uringFiles: rec.uringFiles.length, uringBufs: rec.uringBufs.length, notes: rec.notes.length },
        });
      } finally {
        o.collector.close();
      }
    }
  } finally {
    await thaw();
  }
  const byName = new Map(all.map((m) => [m.name, m]));
  const dis = disagreements(reports, byName);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ pids, frozen: !!opts.freeze, methods: reports, disagreements: dis }) + '\n');
    return 0;
  }
  const limit = opts.limit ?? 40;
  for (const r of reports) {
    if (r.state !== 'ok') {
      console.log(`== ${r.method}: ${r.state}: ${r.reason}`);
      continue;
    }
    const rec = r.recovered!;
    const groups = new Map<string, number>();
    console.log(`== ${r.method} (${r.family}): ${Object.entries(r.counts!).map(([k, v]) => `${k} ${v}`).join(', ')}; open ${r.coldMs!.toFixed(2)} ms, collect ${r.collectMs!.toFixed(2)} ms`);
    const show = <T>(title: string, rows: T[], fmt: (x: T) => string) => {
      if (!rows.length) return;
      console.log(`  ${title}:`);
      for (const x of rows.slice(0, limit)) console.log(`    ${fmt(x)}`);
      if (rows.length > limit) console.log(`    ... ${rows.length - limit} more (--limit, or --json)`);
    };
    show('descriptors', rec.fds, (f) => `${f.pid}/${f.fd} ${f.kind ?? '?'} ${f.path ?? ''} pos=${f.pos ?? '?'} flags=${f.flags === undefined ? '?' : '0' + f.flags.toString(8)} ${refText(f.id, groups)}`);
    show('epoll items', rec.epollItems, (e) => `${e.pid}/${e.epfd} tfd=${e.tfd} events=0x${(e.events ?? 0).toString(16)} data=${e.data} target=${refText(e.target, groups)}${e.targetIno !== undefined ? ` ino=${e.targetIno}` : ''}`);
    show('io_uring rings', rec.rings, (x) => `${x.pid}/${x.fd} file slots ${x.nrFiles}, buffer slots ${x.nrBufs}${x.tablesMissing ? ' (tables missing: ring lock contended)' : ''}`);
    show('io_uring files', rec.uringFiles, (f) => `${f.pid}/${f.ringFd} slot ${f.index} ${f.kind ?? ''} ${f.path ?? ''} ${refText(f.file, groups)}`);
    show('io_uring buffers', rec.uringBufs, (b) => `${b.pid}/${b.ringFd} slot ${b.index} ${b.addr}/${b.len}`);
    show('notes', rec.notes, (n) => `${n.pid} code ${n.code} fd ${n.fd} ${n.text}`);
  }
  console.log(dis.length ? `disagreements:\n  ${dis.join('\n  ')}` : 'no disagreements between methods that claim full coverage');
  return 0;
}

main(process.argv.slice(2))
  .then((c) => {
    process.exitCode = c;
  })
  .catch((e: unknown) => {
    process.stderr.write(`inspect: ${e instanceof UsageError ? '' : 'error: '}${(e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
