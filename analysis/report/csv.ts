/**
 * results.csv: one row per measurement (an instance x a method), fixed
 * columns; ratios.csv: one row per paired ratio. Both atomically.
 */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { COVERAGE_KINDS, type Measurement, type ResultsFile } from '../../bench/schema.js';
import type { Analysis, RatioRow } from '../analyze.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';

export const CSV_FILE = 'results.csv';
export const RATIOS_FILE = 'ratios.csv';

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
  'role',
  'instance',
  'replica',
  'rounds',
  'block',
  'skip',
  'variant',
  'k',
] as const;

type Row = Record<(typeof CSV_COLUMNS)[number], string | number | boolean>;

const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : Math.round(x * 1000) / 1000);

export function csvRow(m: Measurement): Row {
  const v = m.state === 'verified' ? m : undefined;
  const stats = v?.stats;
  const coverage = m.state === 'verified' || m.state === 'wrong' ? COVERAGE_KINDS.map((k) => `${k}=${m.coverage[k] ?? 'n/a'}`).join(';') : '';
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
    cold_ns: v ? num(v.coldNs) : '',
    calls: v ? num(v.calls) : '',
    warnings: m.warnings.join(';'),
    coverage,
    role: m.role,
    instance: m.instance,
    replica: m.replica,
    rounds: v ? new Set(v.samples.round).size : '',
    block: v ? v.block : '',
    skip: m.state === 'skipped' ? m.skip : '',
    variant: m.variant ?? '',
    k: m.k ?? '',
  };
}

export function toCsv(results: ResultsFile): string {
  return stringify(results.measurements.map(csvRow), {
    header: true,
    columns: [...CSV_COLUMNS],
    cast: { boolean: (b) => (b ? 'true' : 'false') },
  });
}

/** The columns of ratios.csv, in order. Never reorder; add at the end. */
export const RATIO_COLUMNS = ['scenario', 'n', 'kind', 'method', 'reference', 'ratio', 'ci_low', 'ci_high', 'rounds', 'instances', 'extrapolated', 'flags', 'k'] as const;

/** the size view's ratios, then a task sweep's at every K (column k) */
export function ratiosToCsv(rows: RatioRow[], tasks: Analysis['tasks']['ratios'] = []): string {
  const all: (RatioRow & { k?: number })[] = [...rows, ...tasks.map((r) => ({ ...r, flags: [] }))];
  return stringify(
    all.map((r) => ({
      scenario: r.scenario,
      n: r.n,
      kind: r.kind,
      method: r.method,
      reference: r.reference,
      ratio: Number(r.value.ratio.toPrecision(6)),
      ci_low: Number(r.value.ciLow.toPrecision(6)),
      ci_high: Number(r.value.ciHigh.toPrecision(6)),
      rounds: r.value.rounds,
      instances: r.value.instances,
      extrapolated: r.extrapolated,
      flags: r.flags.join(';'),
      k: r.k ?? '',
    })),
    { header: true, columns: [...RATIO_COLUMNS], cast: { boolean: (b) => (b ? 'true' : 'false') } },
  );
}

export const csvExporter: Exporter = {
  name: 'csv',
  async write(results: ResultsFile, dir: string) {
    await writeFileAtomic(join(dir, CSV_FILE), toCsv(results));
  },
};

export const ratiosCsvExporter: Exporter = {
  name: 'ratios-csv',
  async write(_results: ResultsFile, dir: string, ctx) {
    const an = ctx.analysis();
    await writeFileAtomic(join(dir, RATIOS_FILE), ratiosToCsv(an.ratios, an.tasks.ratios));
  },
};
