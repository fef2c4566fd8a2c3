/**
 * npm run bench -- --files 10000 [options]
 *
 * Runs every scenario and method over a geometric sweep of sizes up to
 * --files, verifies each answer against the workload's ground truth before
 * timing it, and writes results/<run-id>/ (results.json, results.csv,
 * summary.txt, charts/). The last line on stdout is that directory.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { formatTable } from './report/index.js';
import { SCENARIOS, type Scenario } from './manifest.js';
import { REPO_ROOT, listMethods } from './native.js';
import { UsageError, helpText, parseOptions, type OptionTable } from './options.js';
import { Run, ensureWritableDir, exitCodeFor, makeRunId, resolveMethods, sweepSizes, type Progress } from './run.js';
import { stopAllWorkloads } from './workload.js';

/** One task holds fewer than RLIMIT_NOFILE descriptors; the generators check the exact fit. */
const MAX_FILES = 1_000_000;

const methodChoices = () => {
  try {
    const ms = listMethods();
    return [...new Set([...ms.map((m) => m.name), ...ms.map((m) => m.family)])];
  } catch {
    return [];
  }
};

export const BENCH_OPTIONS = {
  files: { type: 'int', min: 1, max: MAX_FILES, placeholder: 'N', description: 'largest size of the sweep: descriptors per workload (default 10000)' },
  scenarios: { type: 'list', placeholder: 'a,b', choices: () => SCENARIOS, description: `scenarios to run (default all: ${SCENARIOS.join(', ')})` },
  methods: { type: 'list', placeholder: 'm,f', choices: methodChoices, description: 'methods or families (procfs, kcmp, bpf, floor) to run (default all)' },
  sizes: { type: 'list', placeholder: 'n1,n2', description: 'explicit sizes instead of the sweep' },
  steps: { type: 'int', min: 1, max: 12, placeholder: 'K', description: 'sizes in the geometric sweep, halving from --files (default 4)' },
  tasks: { type: 'int', min: 1, max: 64, placeholder: 'K', description: 'tasks in the shared and all scenarios (default 4)' },
  buffers: { type: 'int', min: 0, max: 16384, placeholder: 'B', description: 'io_uring registered buffers (default min(1024, N))' },
  budget: { type: 'number', min: 1, max: 86400, placeholder: 'S', description: 'wall-time target in seconds; sets samples per measurement (default 75)' },
  'time-ms': { type: 'int', min: 1, max: 60000, placeholder: 'MS', description: 'sampling time per measurement, overrides --budget' },
  out: { type: 'string', placeholder: 'DIR', description: 'output directory (default results/<run-id>)' },
  'no-charts': { type: 'boolean', description: 'skip the PNG/SVG charts' },
  json: { type: 'boolean', description: 'print results.json on stdout (one line) before the directory' },
  quiet: { type: 'boolean', description: 'no progress and no table' },
  help: { type: 'boolean', description: 'show this help' },
  'no-freeze': { type: 'boolean', hidden: true, description: 'measure unfrozen workloads (tests)' },
  churn: { type: 'boolean', hidden: true, description: 'workloads keep changing their state (tests)' },
  btf: { type: 'string', hidden: true, placeholder: 'PATH', description: 'BTF file instead of /sys/kernel/btf/vmlinux' },
} satisfies OptionTable;

const EXAMPLES = [
  'npm run bench -- --files 10000',
  'npm run bench -- --files 2000 --scenarios epoll,io_uring --methods procfs,bpf',
  'npm run bench -- --sizes 100,1000 --methods kcmp-tree,bpf-task-file --json',
];

function sizesFrom(opts: ReturnType<typeof parseOptions<typeof BENCH_OPTIONS>>): number[] {
  if (opts.sizes) {
    const out = opts.sizes.map((s) => {
      if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > MAX_FILES) throw new UsageError(`--sizes takes whole numbers from 1 to ${MAX_FILES}, not '${s}'`);
      return Number(s);
    });
    return [...new Set(out)].sort((a, b) => a - b);
  }
  return sweepSizes(opts.files ?? 10000, opts.steps ?? 4);
}

function progressPrinter(quiet: boolean): (p: Progress) => void {
  if (quiet) return () => undefined;
  const tty = process.stderr.isTTY;
  return (p) => {
    const m = p.measurement;
    let line = `[${p.done}/${p.total}] ${p.text}`;
    if (m) {
      line += `: ${m.state}`;
      if (m.state === 'verified') line += ` ${(m.stats.medianNs / 1e6).toFixed(3)} ms${m.extrapolated ? ' (extrapolated)' : ''}`;
      else line += ` (${m.reason.slice(0, 120)})`;
    }
    if (tty) {
      const width = 24;
      const fill = Math.round((p.done / Math.max(1, p.total)) * width);
      const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
      process.stderr.write(`\r\x1b[2K${bar} ${line}`.slice(0, (process.stderr.columns ?? 120) + 8));
      if (m && m.state !== 'verified' && !(m.state === 'skipped' && m.reason.startsWith('nothing to recover'))) process.stderr.write('\n');
    } else if (m) {
      process.stderr.write(line + '\n');
    }
  };
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(BENCH_OPTIONS, argv);
  if (opts.help) {
    process.stdout.write(helpText('usage: npm run bench -- [--files N] [options]', BENCH_OPTIONS, EXAMPLES) + '\n');
    return 0;
  }
  if (opts.positionals.length) throw new UsageError(`unexpected argument '${opts.positionals[0]}' (options start with --)`);
  if (opts.files !== undefined && opts.sizes) throw new UsageError('--files and --sizes are exclusive: --sizes lists every size');
  if (opts.steps !== undefined && opts.sizes) throw new UsageError('--steps and --sizes are exclusive');
  const sizes = sizesFrom(opts);
  const scenarios = (opts.scenarios ?? [...SCENARIOS]) as Scenario[];
  const methods = resolveMethods(opts.methods);
  if (methods.length === 0) throw new UsageError('no method is built: run npm run setup');
  if (opts.btf !== undefined && !existsSync(opts.btf)) throw new UsageError(`--btf: no such file ${opts.btf}`);
  const runId = makeRunId();
  const outDir = path.resolve(opts.out ?? path.join(REPO_ROOT, 'results', runId));
  try {
    ensureWritableDir(outDir);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  const ac = new AbortController();
  const run = new Run({
    scenarios,
    methods,
    sizes,
    tasks: opts.tasks ?? 4,
    buffers: opts.buffers,
    timeBudgetS: opts.budget ?? 75,
    timeMs: opts['time-ms'],
    outDir,
    commandLine: ['npm run bench --', ...argv].join(' '),
    freeze: !opts['no-freeze'],
    churn: !!opts.churn,
    btfPath: opts.btf,
    charts: !opts['no-charts'],
    onProgress: progressPrinter(!!opts.quiet),
    signal: ac.signal,
  });

  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    ac.abort();
    const code = sig === 'SIGINT' ? 130 : 143;
    process.stderr.write(`\nbench: ${sig}: stopping; partial results kept in ${outDir}\n`);
    run
      .interrupt(sig)
      .catch(() => undefined)
      .finally(() => {
        process.stdout.write(outDir + '\n');
        process.exit(code);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = Date.now();
  const results = await run.execute();
  if (stopping) return new Promise<number>(() => undefined); // the signal handler exits
  if (!opts.quiet && process.stderr.isTTY) process.stderr.write('\n');
  if (!opts.quiet && !opts.json) process.stdout.write(formatTable(results) + '\n');
  if (!opts.quiet) process.stderr.write(`bench: ${results.measurements.length} measurements in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
  process.stdout.write(outDir + '\n');
  return exitCodeFor(results);
}

main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    stopAllWorkloads();
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench: error: ${(e as Error).message ?? String(e)}\n`);
      process.exitCode = 1;
    }
  });
