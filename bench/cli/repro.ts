/**
 * npm run repro -- RESULTS... : how reproducible the speedups are over runs.
 *
 * Takes 2+ results.json files (or results directories) of the same command,
 * prints, per scenario and BPF method, the speedup over procfs and kcmp-tree
 * at the largest N in each run, their mean and coefficient of variation
 * (target: CV <= 5 % over 5 consecutive runs).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ratioSpread } from '../analysis/repro.js';
import type { ResultsFile } from './types.js';
import { UsageError, parseOptions, type OptionTable } from './options.js';

const OPTIONS = {
  json: { type: 'boolean', description: 'machine output' },
  floors: { type: 'boolean', description: 'also the ratios to the floors' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

const CV_TARGET = 0.05;

function load(p: string): ResultsFile {
  const file = existsSync(p) && statSync(p).isDirectory() ? path.join(p, 'results.json') : p;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function main(argv: string[]): number {
  const o = parseOptions(OPTIONS, argv);
  if (o.help) {
    process.stdout.write('usage: npm run repro -- RESULTS RESULTS [...] [--json] [--floors]\n');
    return 0;
  }
  if (o.positionals.length < 2) throw new UsageError('give at least two results (results.json files or directories)');
  const runs = o.positionals.map(load);
  const spreads = ratioSpread(runs, o.floors ? {} : { kind: 'speedup' }).sort((a, b) =>
    `${a.scenario} ${a.method} ${a.reference}`.localeCompare(`${b.scenario} ${b.method} ${b.reference}`),
  );
  if (o.json) {
    process.stdout.write(JSON.stringify({ runs: runs.length, cvTarget: CV_TARGET, spreads }) + '\n');
    return 0;
  }
  console.log(`${runs.length} runs; ratio at the largest N per run, mean, CV (target <= ${CV_TARGET * 100} %)`);
  for (const s of spreads) {
    const vals = s.values.map((v) => v.toFixed(1)).join(' ');
    const verdict = s.values.length < runs.length ? 'incomplete' : s.cv <= CV_TARGET ? 'met' : 'MISSED';
    console.log(`${s.scenario.padEnd(8)} ${`${s.method}/${s.reference}`.padEnd(34)} ${vals.padEnd(30)} mean ${s.mean.toFixed(1).padStart(6)} CV ${(s.cv * 100).toFixed(1).padStart(5)} % ${verdict}`);
  }
  return 0;
}

process.stdout.on('error', () => undefined); // a closed pipe (| head) is not an error
try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`repro: ${(e as Error).message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}
