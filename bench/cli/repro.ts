/**
 * npm run repro -- --runs K [bench flags]   run the bench K times, then report
 * npm run repro -- DIR DIR [...]            report on runs made before
 *     [--vs DIR,DIR,...]  a second set: how far each ratio's mean moved
 *     [--json] [--kind speedup|vs-floor|chain]
 *
 * How reproducible every paired ratio is over runs of the same command: per
 * scenario at the largest N, each run's value, the mean and the coefficient
 * of variation (target: CV <= 5 % over 5 runs), and the bench wall times.
 */
import { execa } from 'execa';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { CV_TARGET, MEAN_MOVE_TARGET, meanMoves, ratioSpread, type Spread } from '../../analysis/repro.js';
import type { RatioKind } from '../../analysis/analyze.js';
import { REPO_ROOT } from '../native.js';
import { UsageError, parseOptions, type OptionTable } from '../options.js';
import { readResults, type ResultsFile } from '../schema.js';
import { runCli } from './main.js';

const OPTIONS = {
  runs: { type: 'int', min: 2, max: 100, placeholder: 'K', description: 'run the bench K times (the other flags go to the bench)' },
  vs: { type: 'list', placeholder: 'DIR,..', description: 'a second set of runs: how far each ratio mean moved (target <= 10 %)' },
  kind: { type: 'string', placeholder: 'KIND', choices: () => ['speedup', 'vs-floor', 'chain'], description: 'only ratios of this kind' },
  json: { type: 'boolean', description: 'machine output' },
  help: { type: 'boolean', description: 'show this help' },
} satisfies OptionTable;

const OWN = new Set(['--runs', '--vs', '--kind', '--json', '--help']);

/** repro's own flags, and the rest (bench flags) */
function split(argv: string[]): { own: string[]; bench: string[] } {
  const own: string[] = [];
  const bench: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (OWN.has(name)) {
      own.push(a);
      if (!a.includes('=') && name !== '--json' && name !== '--help' && i + 1 < argv.length) own.push(argv[++i]!);
    } else bench.push(a);
  }
  return { own, bench };
}

async function benchRuns(k: number, flags: string[]): Promise<{ dirs: string[]; wallS: number[] }> {
  const dirs: string[] = [];
  const wallS: number[] = [];
  const base = mkdtempSync(path.join(tmpdir(), 'iterbench-repro-'));
  for (let i = 0; i < k; i++) {
    const out = path.join(base, `run-${i + 1}`);
    const args = ['--import', 'tsx', 'bench/cli/bench.ts', ...flags, '--quiet', '--no-charts', '--out', out];
    process.stderr.write(`repro: run ${i + 1} of ${k}: node ${args.slice(2).join(' ')}\n`);
    const t0 = Date.now();
    const r = await execa(process.execPath, args, { cwd: REPO_ROOT, reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'inherit' });
    if (r.exitCode === 2) throw new UsageError(`the bench refused its flags (exit 2): ${flags.join(' ')}`);
    if (r.exitCode !== 0 && r.exitCode !== 3) process.stderr.write(`repro: run ${i + 1} exited ${r.exitCode}; its results are used as they are\n`);
    wallS.push((Date.now() - t0) / 1000);
    dirs.push(out);
  }
  return { dirs, wallS };
}

function wallOf(r: ResultsFile): number | undefined {
  return r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : undefined;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

async function main(argv: string[]): Promise<number> {
  const { own, bench } = split(argv);
  const o = parseOptions(OPTIONS, own);
  if (o.help) {
    process.stdout.write('usage: npm run repro -- --runs K [bench flags] | DIR DIR [...] [--vs DIR,...] [--kind K] [--json]\n');
    return 0;
  }
  let dirs: string[];
  if (o.runs !== undefined) {
    const flags = bench;
    dirs = (await benchRuns(o.runs, flags)).dirs;
  } else {
    if (bench.some((a) => a.startsWith('--'))) throw new UsageError(`unknown option '${bench.find((a) => a.startsWith('--'))}' (bench flags need --runs K)`);
    dirs = bench;
    if (dirs.length < 2) throw new UsageError('give --runs K, or at least two results (results.json files or directories)');
  }
  const runs = dirs.map((d) => readResults(d, 'run'));
  const kind = o.kind as RatioKind | undefined;
  const spreads = ratioSpread(runs, kind ? { kind } : {});
  const other = o.vs ? ratioSpread(o.vs.map((d) => readResults(d, 'vs run')), kind ? { kind } : {}) : undefined;
  const moves = other ? meanMoves(spreads, other) : undefined;
  const walls = runs.map(wallOf);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ runs: dirs, wallS: walls, cvTarget: CV_TARGET, spreads, moves })}\n`);
    return 0;
  }
  const lines: string[] = [];
  lines.push(`${runs.length} runs: ${dirs.join(' ')}`);
  lines.push(`bench wall time (s): ${walls.map((w) => (w === undefined ? '?' : w.toFixed(1))).join(' ')}`);
  lines.push(`ratio at the largest N per run, mean, CV (target <= ${CV_TARGET * 100} %), a run's own CV (its CI's)`);
  const line = (s: Spread) => {
    const vals = s.values.map(fmt).join(' ');
    const verdict = s.values.length < runs.length ? 'incomplete' : s.flagged ? `flagged in ${s.flagged}` : s.cv <= CV_TARGET ? 'met' : 'MISSED';
    return `${s.scenario.padEnd(8)} ${s.kind.padEnd(8)} ${`${s.method} / ${s.reference}`.padEnd(42)} ${vals.padEnd(34)} mean ${fmt(s.mean).padStart(6)} CV ${(s.cv * 100).toFixed(1).padStart(5)} % own ${(s.withinCv * 100).toFixed(1).padStart(5)} % ${verdict}${s.beyondCi ? ' (beyond the runs\' CIs)' : ''}`;
  };
  for (const s of spreads) lines.push(line(s));
  const complete = spreads.filter((s) => s.values.length === runs.length && !s.flagged);
  const met = complete.filter((s) => s.cv <= CV_TARGET).length;
  lines.push(`CV target met for ${met} of ${spreads.length} ratios`);
  const missed = complete.filter((s) => s.cv > CV_TARGET);
  if (missed.length) {
    const beyond = missed.filter((s) => s.beyondCi).length;
    lines.push(
      `of the ${missed.length} missed: ${missed.length - beyond} vary between runs as much as their own CIs say (more rounds per run would narrow both), ${beyond} more than their CIs allow (the machine changed between runs)`,
    );
  }
  if (moves) {
    lines.push('', `mean moved from these runs to --vs runs (target <= ${MEAN_MOVE_TARGET * 100} %)`);
    for (const m of moves) {
      lines.push(`${m.scenario.padEnd(8)} ${m.kind.padEnd(8)} ${`${m.method} / ${m.reference}`.padEnd(42)} ${fmt(m.meanA).padStart(7)} -> ${fmt(m.meanB).padStart(7)} ${(100 * m.move).toFixed(1).padStart(6)} % ${Math.abs(m.move) <= MEAN_MOVE_TARGET ? 'met' : 'MISSED'}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

runCli('repro', main);
