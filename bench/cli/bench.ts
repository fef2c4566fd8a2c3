/**
 * npm run bench -- --files 10000 [options]
 *
 * Runs every scenario and method over a geometric sweep of sizes up to
 * --files, verifies each answer against the workload's ground truth before
 * timing it, and writes results/<run-id>/ (results.json, results.csv,
 * summary.txt, charts/). The last line on stdout is that directory.
 *
 * Two processes: this file starts itself again as the worker that runs the
 * bench, and stays as a supervisor whose event loop is always free. A
 * signal runner such as tsx kills its child when that child does not answer
 * a SIGINT/SIGTERM within ~60 ms, and the worker spends longer than that in
 * native calls (loading BPF programs, timing loops); the supervisor answers
 * at once, passes the signal on and waits for the worker to stop its
 * workloads and write what it measured. Exit codes: 0 all verified, 1 wrong
 * or errored, 2 usage, 3 a lane skipped, 128+signal when interrupted.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defaultScenarios, scenarioInfo, scenarioList, scenarioNames, taskSweepScenario, type Scenario } from '../manifest.js';
import { REPO_ROOT } from '../native.js';
import { listDescriptors } from '../descriptors.js';
import { UsageError, helpText, parseOptions, type OptionTable } from '../options.js';
import type { Progress, Run } from '../run.js';
import { releaseCgroupsOf } from '../freezer.js';

/** Set in the worker's environment by the supervisor. */
const WORKER_ENV = 'ITERBENCH_BENCH_WORKER';

/** One task holds fewer than RLIMIT_NOFILE descriptors; the generators check the exact fit. */
const MAX_FILES = 1_000_000;
/** the most --tasks any scenario could take; the generator checks each scenario's own limit (--list: maxTasks) */
const MAX_TASKS = 1_000_000;
/** unrelated idle processes (--idle-tasks) */
const MAX_IDLE = 32_768;

const methodChoices = () => {
  try {
    const ms = listDescriptors();
    return [...new Set([...ms.map((m) => m.name), ...ms.map((m) => m.family)])];
  } catch {
    return [];
  }
};

const scenarioChoices = () => {
  try {
    return scenarioNames();
  } catch {
    return [];
  }
};

export const BENCH_OPTIONS = {
  files: { type: 'int', min: 1, max: MAX_FILES, placeholder: 'N', description: 'largest size of the sweep: descriptors per workload (default 10000)' },
  scenarios: { type: 'list', placeholder: 'a,b', choices: scenarioChoices, description: 'scenarios to run (default: every scenario the generator runs by default; iterbench-workload --list)' },
  methods: { type: 'list', placeholder: 'm,f', choices: methodChoices, description: 'methods or families (kcmp, bpf, floor) to run (default all); procfs names the method' },
  sizes: { type: 'list', placeholder: 'n1,n2', description: 'explicit sizes instead of the sweep' },
  steps: { type: 'int', min: 1, max: 12, placeholder: 'K', description: 'sizes in the geometric sweep, halving from --files (default 4)' },
  tasks: { type: 'int', min: 1, max: MAX_TASKS, placeholder: 'K', description: 'tasks in the scenarios that spread over tasks (default 4), up to what the generator takes' },
  'tasks-sweep': { type: 'list', placeholder: 'k1,k2', description: 'a task sweep: each size once per K tasks (default scenario tree; sizes default to --files alone), all in the same rounds' },
  'idle-tasks': { type: 'int', min: 0, max: MAX_IDLE, placeholder: 'M', description: 'keep M unrelated idle processes running during the run (the cost of a whole-system pass)' },
  buffers: { type: 'int', min: 0, max: 16384, placeholder: 'B', description: 'io_uring registered buffers (default min(1024, N))' },
  budget: { type: 'number', min: 1, max: 86400, placeholder: 'S', description: 'wall-time target in seconds; up to 18 % of it (RUN_DEFAULTS.extraShare) may go to extra rounds of the target ratios whose CI is still wider than 8 % at the largest size, each scenario taking an even share of what the ones before it left (default 75)' },
  replicas: { type: 'int', min: 1, max: 8, placeholder: 'R', description: 'workload instances at the largest size of each scenario (default 2)' },
  rounds: { type: 'int', min: 1, max: 1000, placeholder: 'K', description: 'at most K rounds per scenario, extra rounds included (default 64: up to 58 extra rounds after 6 core ones, until every target ratio\'s CI is that narrow, or the budget stops them)' },
  'min-rounds': { type: 'int', min: 1, max: 1000, placeholder: 'K', description: 'K core rounds per scenario, whatever the budget: every method at every size (a slow one below the largest size in every other) (default 6)' },
  seed: { type: 'int', min: 0, max: 2 ** 31 - 1, placeholder: 'S', description: 'seed of the round orders and of sampling (default 1)' },
  criu: { type: 'string', placeholder: 'MODE', choices: () => ['auto', 'on', 'off'], description: 'the CRIU lane: auto (when CRIU is found, default), on (a missing CRIU is a skipped lane, exit 3), off' },
  'criu-sizes': { type: 'list', placeholder: 'n1,n2', description: 'sizes of the sweep the CRIU lane dumps at (default: the largest up to 2500)' },
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
  'npm run bench -- --files 20000 --tasks-sweep 2,20,200,2000',
  'npm run bench -- --files 2000 --scenarios epoll,io_uring --methods procfs,bpf',
  'npm run bench -- --sizes 100,1000 --methods kcmp-tree,bpf-task-file --json',
];

function sizesFrom(opts: ReturnType<typeof parseOptions<typeof BENCH_OPTIONS>>, sweepSizes: (n: number, steps: number) => number[]): number[] {
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
    let line = m ? `  ${p.text}` : `[${p.done}/${p.total} scenarios] ${p.text}`;
    // without a terminal: one line per measurement, plus the phases (set-up,
    // each workload start, each round, the final reports) so a log shows
    // where a run was
    if (!tty && !m && p.phase === 'open') return;
    if (!tty && !m && p.phase !== 'measure') {
      process.stderr.write(line + '\n');
      return;
    }
    if (m) {
      line += `: ${m.state}`;
      if (m.state === 'verified') line += ` ${(m.stats.medianNs / 1e6).toFixed(3)} ms${m.replica ? ` (instance ${m.replica + 1})` : ''}${m.extrapolated ? ' (extrapolated)' : ''}`;
      else line += ` (${m.reason.slice(0, 120)})`;
    }
    if (tty) {
      const width = 24;
      const fill = Math.round((p.done / Math.max(1, p.total)) * width);
      const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
      process.stderr.write(`\r\x1b[2K${bar} ${line}`.slice(0, (process.stderr.columns ?? 120) + 8));
      if (m && m.state !== 'verified' && !(m.state === 'skipped' && m.skip === 'not-applicable')) process.stderr.write('\n');
    } else if (m) {
      process.stderr.write(line + '\n');
    }
  };
}

/** The checks that need nothing but the arguments (the supervisor runs them too, before starting a worker). */
function checkArgs(argv: string[]): ReturnType<typeof parseOptions<typeof BENCH_OPTIONS>> {
  const opts = parseOptions(BENCH_OPTIONS, argv);
  if (opts.help) return opts;
  if (opts.positionals.length) throw new UsageError(`unexpected argument '${opts.positionals[0]}' (options start with --)`);
  if (opts.files !== undefined && opts.sizes) throw new UsageError('--files and --sizes are exclusive: --sizes lists every size');
  if (opts.steps !== undefined && opts.sizes) throw new UsageError('--steps and --sizes are exclusive');
  if (opts.sizes) sizesFrom(opts, () => []);
  if (opts.btf !== undefined && !existsSync(opts.btf)) throw new UsageError(`--btf: no such file ${opts.btf}`);
  if (opts['tasks-sweep']) {
    if (opts.tasks !== undefined) throw new UsageError('--tasks and --tasks-sweep are exclusive: --tasks-sweep lists every K');
    tasksSweepFrom(opts['tasks-sweep']);
  }
  return opts;
}

/** --tasks-sweep's values: distinct whole numbers, ascending */
function tasksSweepFrom(list: string[]): number[] {
  const out = list.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > MAX_TASKS) throw new UsageError(`--tasks-sweep takes whole numbers from 1 to ${MAX_TASKS}, not '${s}'`);
    return Number(s);
  });
  const ks = [...new Set(out)].sort((a, b) => a - b);
  if (ks.length < 2) throw new UsageError('--tasks-sweep needs at least two values of K');
  return ks;
}

/** Signals the worker stops on, with their exit codes. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const exitCodeOf = (sig: NodeJS.Signals) => 128 + (osConstants.signals[sig] ?? 15);

/**
 * The worker's stop path, armed before anything is created: until a Run
 * exists it only removes the output directory it made (if still empty).
 */
const stop = {
  stopping: false,
  outDir: undefined as string | undefined,
  createdDir: undefined as string | undefined,
  run: undefined as Run | undefined,
  abort: undefined as AbortController | undefined,
};

function onStopSignal(sig: NodeJS.Signals | 'disconnect'): void {
  if (stop.stopping) return;
  stop.stopping = true;
  // the supervisor is gone (killed): stop as for SIGTERM
  const why = sig === 'disconnect' ? 'SIGTERM' : sig;
  const code = exitCodeOf(why);
  stop.abort?.abort();
  const run = stop.run;
  if (!run) {
    if (stop.createdDir && stop.outDir) removeEmptyDirsLazy(stop.createdDir, stop.outDir);
    process.stderr.write(`\nbench: ${why}: stopped before the run started\n`);
    process.exit(code);
  }
  process.stderr.write(`\nbench: ${why}: stopping; partial results kept in ${stop.outDir}\n`);
  run
    .interrupt(why)
    .catch(() => undefined)
    .finally(() => {
      process.stdout.write(stop.outDir + '\n');
      process.exit(code);
    });
}

let removeEmptyDirsLazy: (top: string, dir: string) => void = () => undefined;

async function main(argv: string[]): Promise<number> {
  for (const sig of STOP_SIGNALS) process.on(sig, onStopSignal);
  if (process.channel) {
    // the IPC channel to the supervisor: it must not keep us alive, and its
    // end means the supervisor died
    process.channel.unref();
    // a signal that came with it (the supervisor killed right after it
    // passed the signal on) names the stop: let it run first
    process.on('disconnect', () => setTimeout(() => onStopSignal('disconnect'), 50));
  }
  const { Run, RUN_DEFAULTS, ensureWritableDir, exitCodeFor, makeRunId, removeEmptyDirs, resolveMethods, sweepSizes } = await import('../run.js');
  const { checkWorkload } = await import('../workload.js');
  removeEmptyDirsLazy = removeEmptyDirs;
  const opts = checkArgs(argv);
  if (opts.help) {
    process.stdout.write(helpText('usage: npm run bench -- [--files N] [options]', BENCH_OPTIONS, EXAMPLES) + '\n');
    return 0;
  }
  const tasksSweep = opts['tasks-sweep'] ? tasksSweepFrom(opts['tasks-sweep']) : undefined;
  // a task sweep measures time vs K at constant N: one size unless told otherwise
  const sizes = tasksSweep && !opts.sizes && opts.steps === undefined ? [opts.files ?? 10000] : sizesFrom(opts, sweepSizes);
  const scenarios = (opts.scenarios ?? (tasksSweep ? [taskSweepScenario()] : defaultScenarios())) as Scenario[];
  if (tasksSweep) {
    for (const s of scenarios) {
      if (!scenarioInfo(s)?.spreadsOverTasks) throw new UsageError(`--tasks-sweep: scenario ${s} holds its descriptors in a fixed number of tasks (--tasks does not apply); scenarios that spread over tasks: ${scenarioList().scenarios.filter((x) => x.spreadsOverTasks).map((x) => x.name).join(', ')}`);
    }
  }
  const methods = resolveMethods(listDescriptors(), opts.methods, { tasksSweep: opts['tasks-sweep'] !== undefined });
  if (methods.length === 0) throw new UsageError('no method is built: run npm run setup');
  if ((opts['min-rounds'] ?? 0) > (opts.rounds ?? Infinity)) throw new UsageError('--min-rounds is larger than --rounds');
  for (const c of opts['criu-sizes'] ?? []) {
    if (!sizes.includes(Number(c))) throw new UsageError(`--criu-sizes: ${c} is not a size of the sweep (${sizes.join(', ')})`);
  }
  // A size a scenario cannot hold here (RLIMIT_NOFILE) is skipped with the
  // reason when the run measures; a request nothing of which fits is refused
  // before anything is written or started.
  const refusals: string[] = [];
  let fitsSomewhere = false;
  for (const scenario of scenarios) {
    for (const n of sizes) {
      for (const k of tasksSweep ?? [opts.tasks ?? 4]) {
        const c = checkWorkload({ scenario, files: n, tasks: k, buffers: opts.buffers });
        const at = `scenario ${scenario}, N=${n}${tasksSweep ? `, K=${k}` : ''}`;
        if (c.ok) fitsSomewhere = true;
        else if (c.state === 'usage') refusals.push(`${at}: ${c.reason}`);
        else throw new Error(`${at}: ${c.reason}`);
      }
    }
  }
  if (!fitsSomewhere) throw new UsageError(refusals[0] ?? 'nothing to measure');
  const runId = makeRunId();
  const outDir = path.resolve(opts.out ?? path.join(REPO_ROOT, 'results', runId));
  if (opts.out !== undefined && isNonEmptyDir(outDir) && !existsSync(path.join(outDir, 'results.json'))) {
    throw new UsageError(`--out ${outDir} is a non-empty directory without results.json: name a new or empty one`);
  }
  stop.outDir = outDir;
  try {
    stop.createdDir = ensureWritableDir(outDir);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (stop.stopping) return new Promise<number>(() => undefined);

  const ac = new AbortController();
  stop.abort = ac;
  const run = new Run({
    scenarios,
    methods,
    sizes,
    tasks: opts.tasks ?? 4,
    tasksSweep,
    idleTasks: opts['idle-tasks'] ?? 0,
    buffers: opts.buffers,
    timeBudgetS: opts.budget ?? 75,
    replicas: opts.replicas ?? RUN_DEFAULTS.replicas,
    minRounds: opts['min-rounds'] ?? RUN_DEFAULTS.minRounds,
    maxRounds: opts.rounds ?? RUN_DEFAULTS.maxRounds,
    seed: opts.seed ?? RUN_DEFAULTS.seed,
    replicaMaxNs: RUN_DEFAULTS.replicaMaxNs,
    criu: (opts.criu as 'auto' | 'on' | 'off' | undefined) ?? 'auto',
    criuSizes: opts['criu-sizes']?.map(Number),
    outDir,
    commandLine: ['npm run bench --', ...argv].join(' '),
    freeze: !opts['no-freeze'],
    churn: !!opts.churn,
    btfPath: opts.btf,
    charts: !opts['no-charts'],
    onProgress: progressPrinter(!!opts.quiet),
    signal: ac.signal,
  });

  stop.run = run;

  const t0 = Date.now();
  const results = await run.execute();
  if (stop.stopping) return new Promise<number>(() => undefined); // the signal handler exits
  if (!opts.quiet && process.stderr.isTTY) process.stderr.write('\n');
  if (!opts.quiet && !opts.json) process.stdout.write((await import('../../analysis/report/index.js')).formatTable(results) + '\n');
  if (!opts.quiet) process.stderr.write(`bench: ${results.measurements.length} measurements in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
  process.stdout.write(outDir + '\n');
  return exitCodeFor(results);
}

/** A directory with entries (not a file, not an empty or unreadable directory). */
function isNonEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/**
 * The supervisor: run this file again as the worker, pass stop signals on,
 * exit as it exits. A second signal more than 3 s after the first kills the
 * worker (its workloads die with it: they hold a parent-death signal), and
 * the cgroups it froze are thawed and removed here.
 */
async function supervise(): Promise<void> {
  try {
    if (checkArgs(process.argv.slice(2)).help) {
      process.stdout.write(helpText('usage: npm run bench -- [--files N] [options]', BENCH_OPTIONS, EXAMPLES) + '\n');
      process.exit(0);
    }
  } catch (e) {
    // bad arguments: one line, before any other process starts
    process.stderr.write(`bench: ${e instanceof UsageError ? '' : 'error: '}${(e as Error).message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [WORKER_ENV]: '1' },
  });
  let firstAt = 0;
  const relay = (sig: NodeJS.Signals) => {
    if (firstAt && Date.now() - firstAt > 3000) {
      process.stderr.write(`bench: ${sig} again: killing the run\n`);
      child.kill('SIGKILL');
      return;
    }
    firstAt ||= Date.now();
    child.kill(sig);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, relay);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
    child.on('error', (error) => resolve({ error }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  if ('error' in exit) {
    process.stderr.write(`bench: error: cannot start the worker: ${exit.error.message}\n`);
    process.exit(1);
  }
  // (freezer.js is imported statically: after a Ctrl-C the loader's
  // transform service, in the same process group, is gone)
  if (child.pid) releaseCgroupsOf(child.pid);
  process.exit(exit.code ?? exitCodeOf(exit.signal ?? 'SIGTERM'));
}

if (process.env[WORKER_ENV] !== '1') {
  void supervise();
} else main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch(async (e: unknown) => {
    (await import('../workload.js')).stopAllWorkloads();
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench: error: ${(e as Error).message ?? String(e)}\n`);
      process.exitCode = 1;
    }
  });
