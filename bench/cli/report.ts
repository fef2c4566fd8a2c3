/**
 * npm run report -- RESULTS_DIR [--no-charts]
 *
 * Rewrites results.csv, summary.txt and charts/ of a results directory from
 * its results.json (e.g. after a VM run, or with a newer analysis), and
 * prints the summary.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatSummary, writeReports } from './report/index.js';
import { UsageError, parseOptions, type OptionTable } from './options.js';
import { RESULTS_SCHEMA, type ResultsFile } from './types.js';

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
  const dir = path.resolve(o.positionals[0]);
  const file = path.join(dir, 'results.json');
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(file)) throw new UsageError(`${dir}: no results.json there`);
  let results: ResultsFile;
  try {
    results = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (results.schema !== RESULTS_SCHEMA) throw new UsageError(`${file}: schema ${String(results.schema)}, expected ${RESULTS_SCHEMA}`);
  await writeReports(results, dir, { charts: !o['no-charts'] });
  process.stdout.write(formatSummary(results));
  return 0;
}

main(process.argv.slice(2))
  .then((c) => {
    process.exitCode = c;
  })
  .catch((e: unknown) => {
    process.stderr.write(`report: ${(e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
