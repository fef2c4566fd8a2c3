/**
 * The exporters, one per format, in one list (hyperfine src/export/mod.rs).
 * Adding a format = one file + one line here.
 *
 * After each measurement the harness calls writeReports(results, dir)
 * (fast: json, csv, summary); at the end writeReports(results, dir,
 * { charts: true }) also renders the charts.
 */
import type { ResultsFile } from '../types.js';
import type { Exporter } from './exporter.js';
import { jsonExporter } from './json.js';
import { csvExporter } from './csv.js';
import { summaryExporter } from './summary.js';
import { chartsExporter } from './charts.js';

export type { Exporter } from './exporter.js';
export { writeCharts } from './charts.js';
export { formatTable, formatSummary } from './summary.js';
export { toCsv, CSV_COLUMNS } from './csv.js';

/** the cheap exporters, rewritten after every measurement */
export const exporters: Exporter[] = [jsonExporter, csvExporter, summaryExporter];
/** rendered at the end of a run (or when asked) */
export const finalExporters: Exporter[] = [chartsExporter];

export async function writeReports(results: ResultsFile, dir: string, opts: { charts?: boolean } = {}): Promise<void> {
  for (const e of exporters) await e.write(results, dir);
  if (opts.charts) for (const e of finalExporters) await e.write(results, dir);
}
