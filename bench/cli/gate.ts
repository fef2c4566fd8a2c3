/**
 * The regression gate.
 *
 *   npm run gate -- --ab [--baseline results/baseline.json] [--reference REV]
 *       [--scenarios a,b] [--sizes n1,n2] [--budget S] [--out DIR]
 *       [--slowdown METHOD:FACTOR]            (test-only: slow the submission)
 *   npm run gate -- --baseline FILE [--current FILE|DIR]
 *
 * --ab (what CI runs): builds the revision the baseline names (its git
 * revision) into a cache outside the repo, and measures this tree and that
 * build in the same rounds on the same frozen workloads, paired (bench/ab.ts);
 * the verdicts are per method and size, submission / reference.
 * Without --ab: compares the within-run paired ratios and slopes of two
 * results files (the committed baseline is for that, across machines);
 * without --current it runs a short bench first.
 *
 * Exit 0 pass, 1 regression, 2 usage error or incomparable inputs (suspect
 * data, a reference that cannot be built or measured): one line on stderr.
 * The logic lives in analysis/gate.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError, helpText, parseOptions, type OptionTable } from '../options.js';
import { readResults, type ResultsFile } from '../schema.js';
import { DEFAULT_GATE, Incomparable, compareAB, compareRuns, exitCodeOf, formatGateMarkdown, formatGateTable, type GateReport } from '../../analysis/gate.js';
import { stringifyResults } from '../../analysis/report/json.js';
import { REPO_ROOT } from '../native.js';
import { defaultScenarios, isScenario, type Scenario } from '../manifest.js';
import { runCli } from './main.js';

export const GATE_OPTIONS = {
  ab: { type: 'boolean', description: 'measure this tree and the reference build in the same run, paired (what CI runs)' },
  baseline: { type: 'string', placeholder: 'FILE', description: 'baseline results.json (or directory): its revision is the reference of --ab, its scenarios and sizes the default' },
  reference: { type: 'string', placeholder: 'REV', description: '--ab: the git revision to compare with (default: the baseline\'s)' },
  current: { type: 'string', placeholder: 'FILE', description: 'current results.json or directory (default: run a short bench now)' },
  scenarios: { type: 'list', placeholder: 'a,b', description: 'scenarios (default: the baseline\'s)' },
  sizes: { type: 'list', placeholder: 'n1,n2', description: 'sizes (default: the baseline\'s)' },
  budget: { type: 'number', min: 1, max: 86400, placeholder: 'S', description: 'time for the rounds, s (default 40 with --ab, else the short bench\'s 20)' },
  'min-rounds': { type: 'int', min: 1, max: 1000, placeholder: 'K', description: '--ab: at least K rounds per scenario (default 8)' },
  rounds: { type: 'int', min: 1, max: 1000, placeholder: 'K', description: '--ab: at most K rounds per scenario (default 30)' },
  seed: { type: 'int', min: 0, max: 2 ** 31 - 1, placeholder: 'S', description: '--ab: seed of the round orders (default 1)' },
  fallback: { type: 'boolean', description: '--ab: when the reference cannot be built here (not in this clone), compare with the baseline file across runs instead, and say so' },
  slowdown: { type: 'string', placeholder: 'M:F', description: 'test-only: make the submission\'s method M F times slower (ITERBENCH_SLOWDOWN)' },
  threshold: { type: 'number', min: 1.01, max: 1000, placeholder: 'X', description: `a time ratio worse by this factor fails (default ${DEFAULT_GATE.threshold})` },
  margin: { type: 'number', min: 0, max: 10, placeholder: 'M', description: `--ab: the paired CI must lie above 1 + M (default ${DEFAULT_GATE.margin})` },
  'slope-threshold': { type: 'number', min: 0.01, max: 10, placeholder: 'D', description: `growth slope higher by this fails (default ${DEFAULT_GATE.slopeThreshold})` },
  'abs-threshold': { type: 'number', min: 1.01, max: 1000, placeholder: 'X', description: `absolute median slower by this fails, same machine only (default ${DEFAULT_GATE.absThreshold})` },
  absolute: { type: 'string', placeholder: 'MODE', choices: () => ['auto', 'on', 'off'], description: 'compare absolute medians: auto (same machine fingerprint), on, off' },
  files: { type: 'int', min: 1, max: 1_000_000, placeholder: 'N', description: 'short bench size when --current is absent (default: the baseline sizes)' },
  out: { type: 'string', placeholder: 'DIR', description: 'write gate.json, gate.md, benchmark.json (and ab.json with --ab) there' },
  markdown: { type: 'string', placeholder: 'FILE', description: "write the Markdown summary to FILE ('-' prints it instead of the table)" },
  json: { type: 'boolean', description: 'print the verdicts as JSON on stdout' },
  verbose: { type: 'boolean', description: 'list every check, not only those that are not ok' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

const EXAMPLES = [
  'npm run gate -- --ab --baseline results/baseline.json',
  'npm run gate -- --ab --baseline results/baseline.json --slowdown bpf-all:1.5   # must fail, naming bpf-all',
  'npm run gate -- --baseline results/baseline.json --current results/<run-id> --markdown gate.md',
];

/** run a short bench at the baseline's sizes and scenarios; returns its results */
async function shortBench(baseline: ResultsFile, files: number | undefined, budget: number): Promise<ResultsFile> {
  const out = await mkdtemp(path.join(tmpdir(), 'iterbench-gate-'));
  const args = ['--import', 'tsx', 'bench/cli/bench.ts', '--quiet', '--no-charts', '--out', out, '--budget', String(budget)];
  if (files !== undefined) args.push('--files', String(files));
  else if (baseline.config.sizes?.length) args.push('--sizes', baseline.config.sizes.join(','));
  if (baseline.config.scenarios.length) args.push('--scenarios', baseline.config.scenarios.join(','));
  process.stderr.write(`gate: running a short bench: node ${args.slice(2).join(' ')}\n`);
  const r = await execa(process.execPath, args, { cwd: REPO_ROOT, reject: false, stdin: 'ignore', stderr: 'inherit' });
  if (r.exitCode === 2) throw new UsageError(`the short bench refused its arguments (exit 2): node ${args.slice(2).join(' ')}`);
  return readResults(out, 'current');
}

/** the figures of an A/B report in github-action-benchmark's customSmallerIsBetter form */
function benchmarkEntries(r: GateReport): { name: string; unit: string; value: number; range?: string; extra?: string }[] {
  return r.checks
    .filter((c) => c.kind === 'ab' || c.kind === 'ratio')
    .map((c) => ({
      name: c.kind === 'ab' ? `${c.scenario}/${c.method} @N=${c.n}: submission / reference` : `${c.scenario}/${c.method} / ${c.reference} @N=${c.n}`,
      unit: 'time ratio',
      value: Number((c.kind === 'ab' ? c.change! : c.current!).toPrecision(4)),
      ...(c.kind === 'ab' && c.changeCi ? { range: `${c.changeCi[0].toPrecision(3)}-${c.changeCi[1].toPrecision(3)}` } : {}),
      extra: c.verdict,
    }));
}

function listInts(xs: string[] | undefined, flag: string): number[] | undefined {
  if (!xs) return undefined;
  return xs.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageError(`--${flag} takes whole numbers, not '${s}'`);
    return Number(s);
  });
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(GATE_OPTIONS, argv);
  if (opts.help) {
    process.stdout.write(`${helpText('usage: npm run gate -- --ab [--baseline FILE] | --baseline FILE [--current FILE] [options]', GATE_OPTIONS, EXAMPLES)}\n`);
    return 0;
  }
  if (opts.positionals.length > 0) throw new UsageError(`unexpected argument '${opts.positionals[0]}' (see --help)`);
  if (opts.slowdown !== undefined && !/^[a-z0-9-]+:\d+(\.\d+)?$/.test(opts.slowdown)) throw new UsageError(`--slowdown takes METHOD:FACTOR, e.g. bpf-all:1.5, not '${opts.slowdown}'`);
  const gateOpts = {
    threshold: opts.threshold ?? DEFAULT_GATE.threshold,
    margin: opts.margin ?? DEFAULT_GATE.margin,
    slopeThreshold: opts['slope-threshold'] ?? DEFAULT_GATE.slopeThreshold,
    absThreshold: opts['abs-threshold'] ?? DEFAULT_GATE.absThreshold,
    absolute: (opts.absolute as 'auto' | 'on' | 'off' | undefined) ?? DEFAULT_GATE.absolute,
  };
  let report: GateReport;
  let abJson: string | undefined;
  if (opts.ab) {
    if (opts.current) throw new UsageError('--current compares two results files; --ab measures now');
    const baseline = opts.baseline ? readResults(opts.baseline, 'baseline') : undefined;
    const rev = opts.reference ?? baseline?.environment.gitRevision;
    if (!rev || rev === 'unknown') throw new UsageError('--ab needs --reference REV or a --baseline that names its git revision');
    const scenarios = (opts.scenarios ?? baseline?.config.scenarios ?? defaultScenarios()) as Scenario[];
    for (const s of scenarios) if (!isScenario(s)) throw new UsageError(`unknown scenario '${s}'`);
    const sizes = listInts(opts.sizes, 'sizes') ?? baseline?.config.sizes ?? [125, 250, 500];
    const { prepareReference, runAB } = await import('../ab.js');
    const log = (s: string) => process.stderr.write(`${s}\n`);
    let ref: { dir: string; revision: string };
    try {
      ref = prepareReference(rev, log);
    } catch (e) {
      if (!(opts.fallback && baseline && e instanceof Incomparable)) throw e;
      log(`gate: A/B unavailable (${(e as Error).message}); comparing with ${opts.baseline} across runs instead (threshold x1.5)`);
      const current = await shortBench(baseline, opts.files, opts.budget ?? 20);
      return finishReport(compareRuns(baseline, current, { ...gateOpts, threshold: opts.threshold ?? 1.5 }), opts);
    }
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const t0 = Date.now();
    const ab = await runAB({
      referenceDir: ref.dir,
      referenceRevision: ref.revision,
      scenarios,
      sizes,
      tasks: baseline?.config.tasks ?? 4,
      buffers: baseline?.config.buffers,
      minRounds: opts['min-rounds'] ?? 8,
      maxRounds: opts.rounds ?? 30,
      roundsBudgetS: opts.budget ?? 40,
      seed: opts.seed ?? 1,
      slowdown: opts.slowdown,
      signal: ac.signal,
      log,
    });
    log(`gate: A/B measured in ${((Date.now() - t0) / 1000).toFixed(1)} s (${ab.rounds.length} rounds)`);
    abJson = stringifyResults(ab);
    report = compareAB(ab, gateOpts);
  } else {
    if (!opts.baseline) throw new UsageError('--baseline FILE is required without --ab (see --help)');
    const baseline = readResults(opts.baseline, 'baseline');
    const current = opts.current ? readResults(opts.current, 'current') : await shortBench(baseline, opts.files, opts.budget ?? 20);
    report = compareRuns(baseline, current, gateOpts);
  }
  return finishReport(report, opts, abJson);
}

function finishReport(report: GateReport, opts: { out?: string; markdown?: string; json?: boolean; verbose?: boolean }, abJson?: string): number {
  const md = formatGateMarkdown(report);
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(path.join(opts.out, 'gate.md'), md);
    writeFileSync(path.join(opts.out, 'gate.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(opts.out, 'benchmark.json'), `${JSON.stringify(benchmarkEntries(report), null, 2)}\n`);
    if (abJson) writeFileSync(path.join(opts.out, 'ab.json'), `${abJson}\n`);
  }
  if (opts.markdown && opts.markdown !== '-') writeFileSync(opts.markdown, md);
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else if (opts.markdown === '-') process.stdout.write(md);
  else process.stdout.write(formatGateTable(report, !!opts.verbose));
  return exitCodeOf(report);
}

runCli('gate', main);
