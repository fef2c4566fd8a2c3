/**
 * npm run report -- RESULTS_DIR [--no-charts]
 *
 * Rewrites results.csv, ratios.csv, summary.txt, benchmark.json and charts/
 * of a results directory from its results.json (e.g. after a VM run, or
 * with a newer analysis), and prints the summary.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatSummary, writeReports } from '../../analysis/report/index.js';
import { UsageError, parseOptions, type OptionTable } from '../options.js';
import { readResults } from '../schema.js';
import { runCli } from './main.js';

const OPTIONS = {
  'no-charts': { type: 'boolean', description: 'do not redraw the charts' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(OPTIONS, argv);
  if (o.help) {
    process.stdout.write('usage: npm run report -- RESULTS_DIR [--no-charts]\n');
    return 0;
  }
  if (o.positionals.length !== 1) throw new UsageError('give one results directory');
  const dir = path.resolve(o.positionals[0]!);
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(path.join(dir, 'results.json'))) throw new UsageError(`${dir}: no results.json there`);
  const results = readResults(dir);
  // results.json is rewritten too: its `analysis` is recomputed
  await writeReports(results, dir, { charts: !o['no-charts'] });
  process.stdout.write(formatSummary(results));
  return 0;
}

runCli('report', main);
