/**
 * The exporters, one per format, in one list (hyperfine src/export/mod.rs).
 * Adding a format = one file + one line here.
 *
 * The harness calls writeReports(results, dir) after each scenario and on
 * interruption (fast: json, csv, summary, benchmark) and at the end with
 * { charts: true } to render the charts too.
 */
import type { ResultsFile } from '../../bench/schema.js';
import { analyze, type Analysis } from '../analyze.js';
import type { Exporter, ReportContext } from './exporter.js';
import { jsonExporter } from './json.js';
import { csvExporter, ratiosCsvExporter } from './csv.js';
import { summaryExporter } from './summary.js';
import { benchmarkExporter } from './benchmark.js';
import { chartsExporter } from './charts.js';

export type { Exporter, ReportContext } from './exporter.js';
export { writeCharts } from './charts.js';
export { formatTable, formatSummary } from './summary.js';
export { toCsv, CSV_COLUMNS, RATIO_COLUMNS, ratiosToCsv } from './csv.js';
export { toBenchmarkJson } from './benchmark.js';

/** the cheap exporters, rewritten after every scenario */
export const exporters: Exporter[] = [jsonExporter, csvExporter, ratiosCsvExporter, summaryExporter, benchmarkExporter];
/** rendered at the end of a run (or when asked) */
export const finalExporters: Exporter[] = [chartsExporter];

export function reportContext(results: ResultsFile): ReportContext {
  let an: Analysis | undefined;
  return { analysis: () => (an ??= analyze(results)) };
}

export async function writeReports(results: ResultsFile, dir: string, opts: { charts?: boolean } = {}): Promise<void> {
  const ctx = reportContext(results);
  for (const e of exporters) await e.write(results, dir, ctx);
  if (opts.charts) for (const e of finalExporters) await e.write(results, dir, ctx);
}
