/**
 * Regression gate: compare a bench run with a baseline.
 *
 *   npm run gate -- --baseline results/baseline.json [--current FILE|DIR]
 *       [--threshold 1.5] [--slope-threshold 0.3] [--abs-threshold 2]
 *       [--absolute auto|on|off] [--markdown FILE|-] [--json] [--verbose]
 *
 * Without --current it runs a short bench first (the lead's CLI, at the
 * baseline's sizes and scenarios, or --files N) into a temporary directory.
 * Exit 0 pass, 1 regression, 2 usage error or incomparable inputs (one line
 * on stderr). The logic lives in analysis/gate.ts.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { UsageError, helpText, parseOptions, type OptionTable } from './options.js';
import type { ResultsFile } from './types.js';
import {
  DEFAULT_GATE,
  Incomparable,
  compareResults,
  formatGateMarkdown,
  formatGateTable,
  validateResults,
} from '../analysis/gate.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const GATE_OPTIONS = {
  baseline: { type: 'string', placeholder: 'FILE', description: 'baseline results.json (or a results directory); required' },
  current: { type: 'string', placeholder: 'FILE', description: 'current results.json or directory (default: run a short bench now)' },
  threshold: { type: 'number', min: 1.01, max: 1000, placeholder: 'X', description: `within-run ratio worse by this factor fails (default ${DEFAULT_GATE.threshold})` },
  'slope-threshold': { type: 'number', min: 0.01, max: 10, placeholder: 'D', description: `growth slope higher by this fails (default ${DEFAULT_GATE.slopeThreshold})` },
  'abs-threshold': { type: 'number', min: 1.01, max: 1000, placeholder: 'X', description: `absolute median slower by this fails, same machine only (default ${DEFAULT_GATE.absThreshold})` },
  absolute: { type: 'string', placeholder: 'MODE', choices: () => ['auto', 'on', 'off'], description: 'compare absolute medians: auto (same machine fingerprint), on, off' },
  files: { type: 'int', min: 1, max: 1_000_000, placeholder: 'N', description: 'short bench size when --current is absent (default: the baseline sizes)' },
  budget: { type: 'number', min: 1, max: 86400, placeholder: 'S', description: 'time budget of the short bench (default 20)' },
  markdown: { type: 'string', placeholder: 'FILE', description: "write the Markdown summary to FILE ('-' prints it instead of the table)" },
  json: { type: 'boolean', description: 'print the verdicts as JSON on stdout' },
  verbose: { type: 'boolean', description: 'list every check, not only those that are not ok' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

const EXAMPLES = [
  'npm run gate -- --baseline results/baseline.json',
  'npm run gate -- --baseline results/baseline.json --current results/<run-id> --markdown gate.md',
  'npm run gate -- --baseline old.json --current new.json --threshold 2 --json',
];

/** read results.json from a file or a results directory */
async function loadResults(file: string, label: string): Promise<ResultsFile> {
  let p = path.resolve(file);
  let text: string;
  try {
    if ((await stat(p)).isDirectory()) p = path.join(p, 'results.json');
    text = await readFile(p, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Incomparable(`${label}: cannot read ${p}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Incomparable(`${label}: ${p} is not valid JSON (${(e as Error).message})`);
  }
  return validateResults(obj, `${label} ${path.relative(process.cwd(), p) || p}`);
}

/** run a short bench at the baseline's sizes and scenarios; returns its results */
async function shortBench(baseline: ResultsFile, files: number | undefined, budget: number): Promise<ResultsFile> {
  const out = await mkdtemp(path.join(tmpdir(), 'iterbench-gate-'));
  const args = ['bench/cli.ts', '--quiet', '--out', out, '--budget', String(budget)];
  if (files !== undefined) args.push('--files', String(files));
  else if (baseline.config.sizes?.length) args.push('--sizes', baseline.config.sizes.join(','));
  else args.push('--files', '500');
  if (baseline.config.scenarios.length) args.push('--scenarios', baseline.config.scenarios.join(','));
  const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  process.stderr.write(`gate: running a short bench: tsx ${args.join(' ')}\n`);
  const r = await execa(tsx, args, { cwd: REPO_ROOT, reject: false, stdin: 'ignore', stderr: 'inherit' });
  const lines = String(r.stdout ?? '').trim().split('\n').filter(Boolean);
  const dir = lines[lines.length - 1];
  if (r.exitCode === 2 || !dir) {
    throw new Incomparable(`the short bench failed (exit ${r.exitCode ?? r.signal ?? '?'}); run it by hand: tsx ${args.join(' ')}`);
  }
  return loadResults(dir, 'current');
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(GATE_OPTIONS, argv);
  if (opts.help) {
    process.stdout.write(`${helpText('usage: npm run gate -- --baseline FILE [--current FILE] [options]', GATE_OPTIONS, EXAMPLES)}\n`);
    return 0;
  }
  if (opts.positionals.length > 0) throw new UsageError(`unexpected argument '${opts.positionals[0]}' (see --help)`);
  if (!opts.baseline) throw new UsageError('--baseline FILE is required (see --help)');
  const baseline = await loadResults(opts.baseline, 'baseline');
  const current = opts.current ? await loadResults(opts.current, 'current') : await shortBench(baseline, opts.files, opts.budget ?? 20);
  const report = compareResults(baseline, current, {
    threshold: opts.threshold ?? DEFAULT_GATE.threshold,
    slopeThreshold: opts['slope-threshold'] ?? DEFAULT_GATE.slopeThreshold,
    absThreshold: opts['abs-threshold'] ?? DEFAULT_GATE.absThreshold,
    absolute: (opts.absolute as 'auto' | 'on' | 'off' | undefined) ?? DEFAULT_GATE.absolute,
  });
  const md = formatGateMarkdown(report);
  if (opts.markdown && opts.markdown !== '-') await writeFile(opts.markdown, md);
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else if (opts.markdown === '-') process.stdout.write(md);
  else process.stdout.write(formatGateTable(report, !!opts.verbose));
  return report.pass ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error;
    const usage = e instanceof UsageError || e instanceof Incomparable;
    const msg = (e?.message ?? String(err)).split('\n')[0];
    process.stderr.write(`gate: ${usage ? '' : 'internal error: '}${msg}\n`);
    process.exitCode = 2;
  },
);
