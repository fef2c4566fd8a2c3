/**
 * summary.txt: a fixed-width plain-text table, no line wider than 72
 * columns, to paste into a mailing-list cover letter; and formatTable(), the
 * same table plus warnings with hints, for the terminal.
 */
import { join } from 'node:path';
import { checkTargets, formatTargets } from '../../analysis/targets.js';
import { kernelLaneRows } from '../../analysis/kernel-lane.js';
import { KERNEL_LANE_METHODS, type Measurement, type ResultsFile, type WarningCode } from '../types.js';
import type { Scenario } from '../manifest.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';
import { fitAll, type GrowthFit, type NoFit } from '../../analysis/fit.js';
import { ratioOfMedians } from '../../analysis/speedup.js';
import { seedFrom } from '../../analysis/prng.js';
import { formatNs, formatRatio, sig3 } from '../../analysis/units.js';
import { WARNING_HINTS, warningShort } from '../../analysis/warnings.js';

export const SUMMARY_FILE = 'summary.txt';
export const SUMMARY_WIDTH = 72;

const pad = (s: string, w: number) => (s.length >= w ? s.slice(0, w) : s + ' '.repeat(w - s.length));
const lpad = (s: string, w: number) => (s.length >= w ? s.slice(0, w) : ' '.repeat(w - s.length) + s);

/** cut a line to the width (a last resort: the layout is sized to fit) */
function fit72(line: string, width = SUMMARY_WIDTH): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}>`;
}

/** wrap words into lines of at most width, continuation lines indented */
export function wrap(text: string, width = SUMMARY_WIDTH, indent = '  '): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width || !line) line = candidate;
    else {
      out.push(line);
      line = `${indent}${word}`;
    }
  }
  if (line) out.push(line);
  return out.map((l) => fit72(l, width));
}

function scenariosOf(results: ResultsFile): Scenario[] {
  const seen: Scenario[] = [];
  for (const s of results.config?.scenarios ?? []) if (!seen.includes(s)) seen.push(s);
  for (const m of results.measurements) if (!seen.includes(m.scenario)) seen.push(m.scenario);
  return seen.filter((s) => results.measurements.some((m) => m.scenario === s));
}

/** methods in config order, then any others in the order measured */
function methodsOf(results: ResultsFile, scenario: Scenario): string[] {
  const present = new Set(results.measurements.filter((m) => m.scenario === scenario).map((m) => m.method));
  const order: string[] = [];
  for (const m of results.config?.methods ?? []) if (present.has(m) && !order.includes(m)) order.push(m);
  for (const m of present) if (!order.includes(m)) order.push(m);
  return order;
}

function stateText(m: Measurement): string {
  switch (m.state) {
    case 'verified':
      return '';
    case 'wrong':
      return `WRONG: ${m.mismatchCount} mismatch${m.mismatchCount === 1 ? '' : 'es'}`;
    case 'skipped':
      return `skipped: ${m.reason}`;
    case 'errored':
      return `errored: ${m.reason}`;
  }
}

function growthText(fit: GrowthFit | NoFit | undefined): string {
  if (!fit || !fit.ok) return 'n/a';
  return fit.label ? `${fit.slope.toFixed(2)} ${fit.label}` : fit.slope.toFixed(2);
}

interface Layout {
  method: number;
  median: number;
  growth: number;
  speed: number;
}

const NARROW: Layout = { method: 22, median: 9, growth: 15, speed: 7 };

function headerLines(results: ResultsFile): string[] {
  const env = results.environment;
  const date = (results.finishedAt ?? results.startedAt ?? '').slice(0, 10);
  const lines = [
    'iterbench: recovering the file state of a frozen process',
    ...wrap(`kernel ${env?.kernelRelease ?? '?'}, ${env?.cpuModel ?? '?'} (${env?.nproc ?? '?'} CPUs), ${date}`),
  ];
  if (env?.machine && env.machine !== 'host') lines.push(...wrap(`machine: ${env.machine}`));
  if (results.overhead) {
    lines.push(`harness overhead: ${formatNs(results.overhead.medianNs)} per call (median of ${results.overhead.samples})`);
  } else {
    lines.push('harness overhead: not measured');
  }
  if (!results.complete) {
    lines.push(...wrap(`INCOMPLETE RUN${results.interrupted ? `: ${results.interrupted}` : ''}; figures below are what was measured`));
  }
  return lines;
}

function scenarioLines(results: ResultsFile, scenario: Scenario, fits: Map<string, GrowthFit | NoFit>, L: Layout, marks: Set<string>): string[] {
  const ms = results.measurements.filter((m) => m.scenario === scenario);
  const nMax = Math.max(...ms.map((m) => m.n));
  const atMax = ms.filter((m) => m.n === nMax);
  const sample = atMax.find((m) => m.fds > 0) ?? atMax[0];
  const lines: string[] = [];
  const fdsText = sample ? `, ${sample.fds} fds in ${sample.tasks} task${sample.tasks === 1 ? '' : 's'}` : '';
  lines.push(`scenario ${scenario}: N = ${nMax}${fdsText}`);
  lines.push(
    `${pad('method', L.method)} ${lpad('median', L.median)}  ${pad('growth', L.growth)} ${lpad('speedup', L.speed)} 95% CI`,
  );
  const notApplicable: string[] = [];
  const kernelLane: string[] = [];
  const procfs = atMax.find(
    (m): m is Extract<Measurement, { state: 'verified' }> => m.method === 'procfs' && m.state === 'verified',
  );
  for (const method of methodsOf(results, scenario)) {
    // the method at the largest N it has, else its largest measurement in any state
    const own = ms.filter((m) => m.method === method).sort((a, b) => b.n - a.n);
    const m = own.find((x) => x.n === nMax) ?? own[0]!;
    let name = method;
    if (m.n !== nMax) {
      name = `${method}@${m.n}`;
      marks.add('@');
    }
    if (m.state === 'skipped' && m.reason.startsWith('nothing to recover')) {
      notApplicable.push(method);
      continue;
    }
    if (m.state === 'skipped' && KERNEL_LANE_METHODS.includes(method)) {
      kernelLane.push(method);
      continue;
    }
    if (m.state !== 'verified') {
      // the state and its reason, wrapped under the figures' columns
      const [first, ...rest] = wrap(stateText(m), SUMMARY_WIDTH - L.method - 1, '');
      lines.push(`${pad(name, L.method)} ${first}`);
      for (const r of rest.slice(0, 2)) lines.push(`${' '.repeat(L.method + 1)}${r}`);
      continue;
    }
    const x = m.extrapolated ? '~' : '';
    if (m.extrapolated) marks.add('~');
    const median = `${x}${formatNs(m.stats.medianNs)}`;
    const fit = fits.get(`${scenario}\0${method}`);
    const fitMark = fit && fit.ok && fit.extrapolatedPoints > 0 ? '~' : '';
    const growth = `${fitMark}${growthText(fit)}`;
    let speed = '';
    let ci = '';
    if (procfs && m.n === nMax && method !== 'procfs') {
      const r = ratioOfMedians(procfs.stats, m.stats, { seed: seedFrom(`${scenario}/${method}/procfs/${nMax}`) });
      const rx = m.extrapolated || procfs.extrapolated ? '~' : '';
      speed = `${rx}${formatRatio(r.ratio)}`;
      ci = `${sig3(r.ciLow)}-${sig3(r.ciHigh)}`;
    }
    lines.push(fit72(`${pad(name, L.method)} ${lpad(median, L.median)}  ${pad(growth, L.growth)} ${lpad(speed, L.speed)} ${ci}`.trimEnd()));
  }
  if (notApplicable.length > 0) lines.push(...wrap(`(nothing to recover for: ${notApplicable.join(', ')})`));
  if (kernelLane.length > 0) {
    lines.push(...wrap(`(kernel lane, needs the patched kernel (npm run bench:vm): ${kernelLane.join(', ')})`));
  }
  return lines;
}

function footnotes(results: ResultsFile, marks: Set<string>): string[] {
  const sizes = [...new Set(results.measurements.map((m) => m.n))].sort((a, b) => a - b);
  const notes: string[] = [];
  notes.push(
    ...wrap(
      `median: time per recovery at the largest N. growth: slope of log(median) vs log(N) over N = ${sizes.join(', ')} (1 = linear, 2 = quadratic). speedup: procfs median / method median at the same N; 95% CI by bootstrap.`,
    ),
  );
  if (marks.has('~')) {
    notes.push(...wrap('~ extrapolated: timed on a sample of the work and scaled up (see results.json, "extrapolation").'));
  }
  if (marks.has('@')) notes.push(...wrap('method@N: not run at the largest N; its largest N is shown.'));
  const warned = results.measurements.filter((m) => m.warnings.some((w) => w !== 'extrapolated'));
  if (warned.length > 0) {
    const counts = new Map<string, number>();
    for (const m of warned) for (const w of m.warnings) if (w !== 'extrapolated') counts.set(w, (counts.get(w) ?? 0) + 1);
    const list = [...counts].map(([w, c]) => `${w} ${c}`).join(', ');
    notes.push(...wrap(`warnings: ${list} (measurements; see results.json).`));
  }
  return notes;
}

function body(results: ResultsFile, L: Layout): { lines: string[]; marks: Set<string> } {
  const fits = new Map<string, GrowthFit | NoFit>();
  for (const f of fitAll(results)) fits.set(`${f.scenario}\0${f.method}`, f.fit);
  const marks = new Set<string>();
  const lines = headerLines(results);
  for (const scenario of scenariosOf(results)) {
    lines.push('');
    lines.push(...scenarioLines(results, scenario, fits, L, marks));
  }
  if (results.measurements.length === 0) lines.push('', 'no measurements yet');
  lines.push('');
  lines.push(...footnotes(results, marks));
  const lane = kernelLaneRows(results);
  if (lane.length) {
    lines.push('', 'kernel lane: the real iterators vs the rest on this kernel', '(time ratio real / other at N; < 1: the real iterator is faster)');
    for (const r of lane) {
      const parts = r.ratios.map((x) => `/${x.reference} ${sig3(x.value.ratio)}`);
      lines.push(...wrap(`${r.scenario}, ${r.label}, N=${r.n}: real ${formatNs(r.realNs)}; ${parts.join(', ')}`));
    }
  }
  const targets = checkTargets(results);
  if (targets.length) lines.push('', 'targets (ratios within this run):', ...formatTargets(targets));
  return { lines, marks };
}

/** summary.txt content; every line at most 72 columns */
export function formatSummary(results: ResultsFile): string {
  return `${body(results, NARROW).lines.map((l) => fit72(l)).join('\n')}\n`;
}

/** the table the CLI prints at the end: the summary, then warnings (one line per measurement) and their hints */
export function formatTable(results: ResultsFile): string {
  const lines = body(results, { ...NARROW, method: 24 }).lines;
  const ctx = { overheadNs: results.overhead?.medianNs };
  const warned = results.measurements.filter((m) => m.warnings.some((w) => w !== 'extrapolated'));
  if (warned.length > 0) {
    lines.push('', 'warnings:');
    const codes = new Set<WarningCode>();
    for (const m of warned) {
      const stats = m.state === 'verified' ? m.stats : undefined;
      const ws = m.warnings.filter((w) => w !== 'extrapolated');
      ws.forEach((w) => codes.add(w));
      lines.push(`  ${m.scenario}/${m.method} N=${m.n}: ${ws.map((w) => warningShort(w, stats, ctx)).join(', ')}`);
    }
    lines.push('hints:');
    for (const c of codes) lines.push(`  ${WARNING_HINTS[c]}`);
  }
  return `${lines.join('\n')}\n`;
}

export const summaryExporter: Exporter = {
  name: 'summary',
  async write(results: ResultsFile, dir: string) {
    await writeFileAtomic(join(dir, SUMMARY_FILE), formatSummary(results));
  },
};
