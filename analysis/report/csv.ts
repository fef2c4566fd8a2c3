/** results.csv: one row per measurement, fixed columns, atomically. */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { COVERAGE_KINDS, type Measurement, type ResultsFile } from '../types.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';

export const CSV_FILE = 'results.csv';

/** The columns, in order. Never reorder; add at the end. */
export const CSV_COLUMNS = [
  'scenario',
  'method',
  'family',
  'n',
  'fds',
  'tasks',
  'state',
  'reason',
  'extrapolated',
  'median_ns',
  'p25_ns',
  'p75_ns',
  'ci_low_ns',
  'ci_high_ns',
  'samples',
  'cold_ns',
  'calls',
  'warnings',
  'coverage',
] as const;

type Row = Record<(typeof CSV_COLUMNS)[number], string | number | boolean>;

const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : Math.round(x * 1000) / 1000);

export function csvRow(m: Measurement): Row {
  const stats = m.state === 'verified' ? m.stats : undefined;
  const coverage =
    m.state === 'verified' || m.state === 'wrong'
      ? COVERAGE_KINDS.map((k) => `${k}=${m.coverage[k]}`).join(';')
      : '';
  return {
    scenario: m.scenario,
    method: m.method,
    family: m.family,
    n: m.n,
    fds: m.fds,
    tasks: m.tasks,
    state: m.state,
    reason: m.state === 'verified' ? '' : m.reason,
    extrapolated: m.extrapolated,
    median_ns: num(stats?.medianNs),
    p25_ns: num(stats?.p25Ns),
    p75_ns: num(stats?.p75Ns),
    ci_low_ns: num(stats?.ciLowNs),
    ci_high_ns: num(stats?.ciHighNs),
    samples: stats ? stats.samples : '',
    cold_ns: m.state === 'verified' ? num(m.coldNs) : '',
    calls: m.state === 'verified' ? num(m.calls) : '',
    warnings: m.warnings.join(';'),
    coverage,
  };
}

export function toCsv(results: ResultsFile): string {
  return stringify(results.measurements.map(csvRow), {
    header: true,
    columns: [...CSV_COLUMNS],
    cast: { boolean: (b) => (b ? 'true' : 'false') },
  });
}

export const csvExporter: Exporter = {
  name: 'csv',
  async write(results: ResultsFile, dir: string) {
    await writeFileAtomic(join(dir, CSV_FILE), toCsv(results));
  },
};
