/**
 * summary.txt: a fixed-width plain-text table, no line wider than 72
 * columns, to paste into a mailing-list cover letter; and formatTable(), the
 * same table plus warnings with hints, for the terminal.
 *
 * Every ratio printed is paired by round (analysis/paired.ts) with its 95 %
 * CI; a figure flagged suspect says so instead of being printed as a result.
 */
import { join } from 'node:path';
import { checkTargets, formatTargets } from '../targets.js';
import { analyze, inSizeView, largestN, scenariosOf, type Analysis, type RatioRow } from '../analyze.js';
import type { Measurement, ResultsFile, WarningCode } from '../../bench/schema.js';
import type { Scenario } from '../../bench/manifest.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';
import { formatNs, formatRatio, sig3 } from '../units.js';
import { THRESHOLDS, WARNING_HINTS, offCpuCollects, warningShort } from '../warnings.js';

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
  const lead = /^ */.exec(text)![0];
  let line = lead;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line.trim() ? `${line} ${word}` : `${line}${word}`;
    if (candidate.length <= width || !line.trim()) line = candidate;
    else {
      out.push(line);
      line = `${indent}${word}`;
    }
  }
  if (line.trim()) out.push(line);
  return out.map((l) => fit72(l, width));
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
      return `WRONG: ${m.mismatchCount} mismatch${m.mismatchCount === 1 ? '' : 'es'}${m.round !== undefined ? ` (answer changed in round ${m.round})` : ''}`;
    case 'skipped':
      return `skipped: ${m.reason}`;
    case 'errored':
      return `errored: ${m.reason}`;
  }
}

/** the reference of the speedup column: the first speedupOver entry most methods share */
export function speedupReference(results: ResultsFile): string | undefined {
  const counts = new Map<string, number>();
  for (const d of results.methods) if (d.speedupOver[0]) counts.set(d.speedupOver[0], (counts.get(d.speedupOver[0]) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

const ratioText = (r: RatioRow) => `${r.extrapolated ? '~' : ''}${formatRatio(r.value.ratio)}`;
const ciText = (r: RatioRow) => `${sig3(r.value.ciLow)}-${sig3(r.value.ciHigh)}`;

/** over every verified measurement that recorded it: timed collects, those off the CPU past the threshold, the longest such time */
export function offCpuTotals(results: Pick<ResultsFile, 'measurements'>): { timed: number; hit: number; maxNs: number } {
  let timed = 0;
  let hit = 0;
  let maxNs = 0;
  for (const m of results.measurements) {
    if (m.state !== 'verified' || !m.samples.offCpuNs) continue;
    timed += m.samples.ns.length;
    hit += offCpuCollects(m.samples);
    for (const x of m.samples.offCpuNs) if (x > maxNs) maxNs = x;
  }
  return { timed, hit, maxNs };
}

function headerLines(results: ResultsFile): string[] {
  const env = results.environment;
  const date = (results.finishedAt ?? results.startedAt ?? '').slice(0, 10);
  const lines = [
    'iterbench: recovering the file state of a frozen process',
    ...wrap(`kernel ${env?.kernelRelease ?? '?'}, ${env?.cpuModel ?? '?'} (${env?.nproc ?? '?'} CPUs), ${date}`),
  ];
  if (env?.machine && env.machine !== 'host') lines.push(...wrap(`machine: ${env.machine}`));
  if (env?.slowdown) lines.push(...wrap(`TEST RUN: ITERBENCH_SLOWDOWN=${env.slowdown} slowed methods on purpose; not data`));
  if (env?.sched && !env.sched.startsWith('SCHED_FIFO')) lines.push(...wrap(`timed as ${env.sched}: other work on the machine can preempt a collect and its wait counts in the figures`));
  const off = offCpuTotals(results);
  if (off.timed) {
    lines.push(...wrap(`timed collects with the timing thread off the CPU for over ${Math.round(THRESHOLDS.offCpuShare * 100)} % of their time: ${off.hit} of ${off.timed}${off.hit ? ` (the most ${formatNs(off.maxNs)})` : ''}`));
  }
  if (env?.rtThrottle?.waits) {
    const t = env.rtThrottle;
    lines.push(...wrap(`paused ${t.waits} times (${(t.waitedMs / 1000).toFixed(1)} s in all, between blocks) to keep the SCHED_FIFO blocks under ${Math.round(t.share * 100)} % of the kernel's RT limit (${t.runtimeUs / 1000} ms of every ${t.periodUs / 1000} ms): past it a collect is stopped for the rest of the period`));
  }
  if (results.overhead) {
    lines.push(`harness overhead: ${formatNs(results.overhead.medianNs)} per call (median of ${results.overhead.samples})`);
  } else {
    lines.push('harness overhead: not measured');
  }
  lines.push(...memoryLines(results));
  if (results.config?.idleTasks) {
    lines.push(...wrap(`${results.config.idleTasks} unrelated idle processes ran during the run (--idle-tasks): a whole-system pass walks them too`));
  }
  if (!results.complete) {
    lines.push(...wrap(`INCOMPLETE RUN${results.interrupted ? `: ${results.interrupted}` : ''}; figures below are what was measured`));
  }
  return lines;
}

interface Marks {
  extrapolated: boolean;
  below: boolean;
  suspect: boolean;
}

const mib = (kib: number) => (kib >= 1024 * 1024 ? `${sig3(kib / 1024 / 1024)} GiB` : `${sig3(kib / 1024)} MiB`);

/** the harness's peak resident memory, and the workload trees' (PSS when ready) */
function memoryLines(results: ResultsFile): string[] {
  const parts: string[] = [];
  if (results.harnessPeakRssKiB) parts.push(`harness peak RSS ${mib(results.harnessPeakRssKiB)}`);
  const rss = results.instances.filter((i) => i.rssKiB !== undefined);
  if (rss.length) {
    const big = [...rss].sort((a, b) => b.rssKiB! - a.rssKiB!)[0]!;
    parts.push(`workload trees ${mib(rss.reduce((a, i) => a + i.rssKiB!, 0))} in all, largest ${mib(big.rssKiB!)} (${big.scenario} N=${big.n}${big.k !== undefined ? ` K=${big.k}` : ''})`);
  }
  return parts.length ? wrap(`memory: ${parts.join('; ')}`) : [];
}

function scenarioLines(results: ResultsFile, an: Analysis, scenario: Scenario, ref: string | undefined, marks: Marks, wide: boolean): string[] {
  const view = inSizeView(results);
  const ms = results.measurements.filter((m) => m.scenario === scenario && !m.variant && view(m));
  const nMax = largestN(results).get(scenario) ?? Math.max(...ms.map((m) => m.n));
  const lines: string[] = [];
  const inst = results.instances.filter((i) => i.scenario === scenario && i.n === nMax && !i.variant && view(i));
  const first = inst[0];
  const rounds = an.machine.find((x) => x.scenario === scenario)?.rounds ?? 0;
  lines.push(`scenario ${scenario}: N = ${nMax}${first ? `, ${first.fds} fds in ${first.tasks} task${first.tasks === 1 ? '' : 's'}` : ''}`);
  const core = results.config.coreRounds;
  const extra = core !== undefined ? rounds - core : 0;
  // the extra rounds: for the target pairs whose CI was still wide (bench/goal.ts), or (runs before it, a scenario without target pairs) the fast methods at N
  const goal = results.extraRounds?.find((x) => x.scenario === scenario);
  const narrow = goal?.pairs.filter((p) => p.closedBefore !== undefined).length ?? 0;
  const extraFor = goal ? `the target ratios while their CI was wide; ${narrow} of ${goal.pairs.length} narrowed to the goal` : 'fast methods at N';
  const roundsText = extra > 0 ? `${core} core rounds + ${extra} extra (${extraFor})` : `${rounds} rounds`;
  lines.push(...wrap(`${inst.length} instance${inst.length === 1 ? '' : 's'} at N, ${roundsText}; ratios paired by round${ref ? `; speedup over ${ref}` : ''}`));
  const mach = an.machine.find((x) => x.scenario === scenario);
  if (mach && mach.busyRounds > 0) {
    lines.push(...wrap(`WARNING: the machine was busy in ${mach.busyRounds} of ${mach.rounds} rounds (see "machine" below): paired ratios hold, absolute times are inflated`));
  }
  const W = wide ? 24 : 22;
  lines.push(`${pad('method', W)} ${lpad('median', 9)}  ${pad('growth', 15)} ${lpad('speedup', 7)} 95% CI`);
  const byName = new Map(results.methods.map((d) => [d.name, d]));
  const notApplicable: string[] = [];
  const kernelLane: string[] = [];
  const tooLarge: string[] = [];
  for (const method of methodsOf(results, scenario)) {
    const own = ms.filter((m) => m.method === method).sort((a, b) => b.n - a.n);
    const atMax = own.filter((m) => m.n === nMax);
    const m = atMax.find((x) => x.state === 'verified') ?? atMax.find((x) => x.state !== 'skipped') ?? atMax[0] ?? own[0]!;
    if (m.state === 'skipped' && m.skip === 'not-applicable') {
      notApplicable.push(method);
      continue;
    }
    if (m.state === 'skipped' && m.skip === 'kernel-lane') {
      kernelLane.push(method);
      continue;
    }
    let name = method;
    const t = an.times.find((x) => x.scenario === scenario && x.method === method && x.n === nMax);
    if (!t && m.state === 'skipped' && m.skip === 'too-large') {
      tooLarge.push(method);
      continue;
    }
    if (m.state !== 'verified' || !t) {
      const [first, ...rest] = wrap(stateText(m), SUMMARY_WIDTH - W - 1, '');
      lines.push(`${pad(name, W)} ${first ?? ''}`);
      for (const r of rest.slice(0, 2)) lines.push(`${' '.repeat(W + 1)}${r}`);
      continue;
    }
    if (t.extrapolated) marks.extrapolated = true;
    const median = `${t.extrapolated ? '~' : ''}${formatNs(t.medianNs)}`;
    const sl = an.slopes.find((x) => x.scenario === scenario && x.method === method);
    const growth = sl ? `${sl.extrapolated ? '~' : ''}${sl.slope.toFixed(2)}${sl.label ? ` ${sl.label}` : ''}` : 'n/a';
    let speed = '';
    let ci = '';
    const d = byName.get(method);
    const sp = ref && d?.speedupOver.includes(ref) ? an.ratios.find((r) => r.kind === 'speedup' && r.scenario === scenario && r.n === nMax && r.method === method && r.reference === ref) : undefined;
    if (sp) {
      speed = ratioText(sp);
      ci = ciText(sp);
      if (sp.extrapolated) marks.extrapolated = true;
    }
    lines.push(fit72(`${pad(name, W)} ${lpad(median, 9)}  ${pad(growth, 15)} ${lpad(speed, 7)} ${ci}`.trimEnd()));
  }
  // over the strongest user-space baseline (the fastest procfs-family method here)
  const best = an.strongest.find((x) => x.scenario === scenario && x.n === nMax);
  if (best && best.method !== ref) {
    const rows = an.ratios.filter((r) => r.kind === 'speedup' && r.scenario === scenario && r.n === nMax && r.reference === best.method);
    if (rows.length) {
      lines.push(...wrap(`speedup over the strongest procfs baseline here, ${best.method} (${formatNs(best.medianNs)})`));
      for (const r of rows) lines.push(fit72(`  ${pad(r.method, 36)} ${lpad(ratioText(r), 7)} ${ciText(r)}`));
    }
  } else if (best) {
    lines.push(...wrap(`(${best.method} is the strongest procfs baseline here: the speedup column is over it)`));
  }
  // method / floor and subset chains, paired by round
  const vs = an.ratios.filter((r) => (r.kind === 'vs-floor' || r.kind === 'chain') && r.scenario === scenario && r.n === nMax);
  if (vs.length) {
    lines.push('vs floor (method / floor time; a floor is part of its method)');
    for (const r of vs) {
      const lim = byName.get(r.method)?.floor === r.reference ? byName.get(r.method)?.floorLimit : undefined;
      const what = `${r.method} / ${r.reference}`;
      let tail = ciText(r);
      if (r.flags.length) {
        marks.suspect = true;
        tail += ` ${r.flags[0]!.toUpperCase()}`;
      } else if (lim) tail += r.value.ciHigh <= lim ? ` <= ${lim} met` : ` > ${lim} MISSED`;
      if (r.value.ratio < 1 && !r.flags.length) marks.below = true;
      lines.push(fit72(`  ${pad(what, 36)} ${lpad(ratioText(r), 7)} ${tail}`));
    }
  }
  if (tooLarge.length > 0) lines.push(...wrap(`(N = ${nMax} does not fit this scenario here: ${tooLarge.join(', ')}; see results.json)`));
  if (notApplicable.length > 0) lines.push(...wrap(`(nothing to recover for: ${notApplicable.join(', ')})`));
  if (kernelLane.length > 0) {
    lines.push(...wrap(`(kernel lane, needs the patched kernel (npm run bench:vm): ${kernelLane.join(', ')})`));
  }
  lines.push(...taskLines(results, an, scenario, marks));
  return lines;
}

/** at most `max` of xs: the first, the last and evenly spaced ones between */
function pick<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const idx = new Set<number>();
  for (let i = 0; i < max; i++) idx.add(Math.round((i * (xs.length - 1)) / (max - 1)));
  return [...idx].sort((a, b) => a - b).map((i) => xs[i]!);
}

/** the task dimension of a scenario: time vs K per method at each N, growth, cost per task, crossovers */
function taskLines(results: ResultsFile, an: Analysis, scenario: Scenario, marks: Marks): string[] {
  const tv = an.tasks;
  const rows = tv.times.filter((t) => t.scenario === scenario);
  if (!rows.length) return [];
  const lines: string[] = [];
  const byName = new Map(results.methods.map((d) => [d.name, d]));
  for (const n of [...new Set(rows.map((t) => t.n))].sort((a, b) => a - b)) {
    const atN = rows.filter((t) => t.n === n);
    const ksAll = [...new Set(atN.map((t) => t.k))].sort((a, b) => a - b);
    const ks = pick(ksAll, 4);
    lines.push('');
    lines.push(...wrap(`task sweep, scenario ${scenario}: N = ${n}, K = ${ksAll.join(', ')} tasks${ks.length < ksAll.length ? ' (every K in results.csv)' : ''}`));
    lines.push(...wrap('time per recovery at each K; growth: log-log slope of time vs K; per task: time one more task adds at constant N (least squares per round)'));
    const W = 23;
    lines.push(`${pad('method', W)}${ks.map((k) => lpad(`K=${k}`, 8)).join('')}${lpad('growth', 7)}${lpad('per task', 10)}`);
    const methods = [...new Set(atN.map((t) => t.method))];
    const order = results.config?.methods ?? [];
    methods.sort((a, b) => (order.indexOf(a) + 1 || 1e9) - (order.indexOf(b) + 1 || 1e9));
    for (const method of methods) {
      const cells = ks.map((k) => {
        const t = atN.find((x) => x.method === method && x.k === k);
        if (t?.extrapolated) marks.extrapolated = true;
        return t ? `${t.extrapolated ? '~' : ''}${formatNs(t.medianNs)}` : '-';
      });
      const sl = tv.slopes.find((x) => x.scenario === scenario && x.n === n && x.method === method);
      const pt = tv.perTask.find((x) => x.scenario === scenario && x.n === n && x.method === method);
      const growth = sl ? `${sl.extrapolated ? '~' : ''}${sl.slope.toFixed(2)}` : 'n/a';
      const per = pt ? `${pt.extrapolated ? '~' : ''}${formatNs(pt.nsPerTask)}` : 'n/a';
      lines.push(fit72(`${pad(method, W)}${cells.map((c) => lpad(c, 8)).join('')}${lpad(growth, 7)}${lpad(per, 10)}`));
    }
    // where one method overtakes another as K grows: the same-interface
    // alternatives always, any other pair when its lead changes
    const cx = tv.crossovers.filter((c) => c.scenario === scenario && c.n === n && (c.verdict === 'crosses' || (byName.get(c.method)?.family === byName.get(c.reference)?.family && byName.get(c.reference)?.role === 'recovery')));
    if (cx.length) {
      lines.push('x faster than the reference as K grows (paired by round):');
      for (const c of cx) {
        const last = c.ks.length - 1;
        const ends = `${formatRatio(c.ratios[0]!)} at K=${c.ks[0]} to ${formatRatio(c.ratios[last]!)} at K=${c.ks[last]}`;
        const tail =
          c.verdict === 'crosses'
            ? `${c.ratios[last]! > c.ratios[0]! ? 'overtakes' : 'falls behind'} at K~${sig3(c.crossK!)}`
            : c.verdict === 'faster'
              ? 'faster at every K'
              : 'slower at every K';
        lines.push(...wrap(`${c.method} vs ${c.reference}: ${ends}; ${tail}`, SUMMARY_WIDTH - 2, '  ').map((l) => `  ${l}`));
      }
    }
  }
  return lines;
}

function laneLines(results: ResultsFile, an: Analysis): string[] {
  const lane = new Set(results.methods.filter((d) => d.lane === 'patched-kernel').map((d) => d.name));
  const atMax = (r: RatioRow) => lane.has(r.method) && largestN(results).get(r.scenario) === r.n;
  const rows = an.ratios.filter((r) => r.kind === 'speedup' && atMax(r));
  const kinds = an.ratios.filter((r) => r.kind === 'vs-emulation' && atMax(r));
  const lines: string[] = [];
  if (rows.length) {
    lines.push('', 'kernel lane: the real iterators, x faster than (paired by round)');
    for (const r of rows) lines.push(...wrap(`  ${r.scenario}: ${r.method} over ${r.reference}: ${ratioText(r)} (${ciText(r)})`, SUMMARY_WIDTH, '    '));
  }
  if (kinds.length) {
    lines.push('', ...wrap('kernel lane per kind: real / (emulation - its floor), paired by round (the emulation\'s same-kind work: its pass less the descriptor walk)'));
    for (const r of kinds) {
      const real = [r.method, ...(r.with ?? [])].join(' + ');
      const flag = r.flags.length ? ` ${r.flags[0]!.toUpperCase()}` : '';
      lines.push(
        ...wrap(
          `  ${r.scenario}: ${real} / (${r.reference} - ${r.minus ?? '0'}): ${sig3(r.value.ratio)} (${ciText(r)}), ${formatRatio(1 / r.value.ratio)} faster${flag}`,
          SUMMARY_WIDTH,
          '    ',
        ),
      );
    }
  }
  return lines;
}

/** how methods ran here when that was not their usual way (their open() said so) */
function methodNoteLines(results: ResultsFile): string[] {
  const notes = new Map<string, string[]>();
  for (const m of results.measurements) {
    if (!m.note) continue;
    const l = notes.get(m.note) ?? [];
    if (!l.includes(m.method)) l.push(m.method);
    notes.set(m.note, l);
  }
  if (notes.size === 0) return [];
  const lines = ['', 'how methods ran here:'];
  for (const [note, ms] of notes) lines.push(...wrap(`  ${ms.join(', ')}: ${note}`, SUMMARY_WIDTH, '    '));
  return lines;
}

function criuLines(results: ResultsFile, an: Analysis): string[] {
  const lane = results.criu;
  if (!lane) return [];
  if (lane.state === 'skipped') return ['', ...wrap(`CRIU lane: skipped: ${lane.reason}`)];
  const lines = ['', ...wrap(`CRIU ${lane.version}: criu dump --leave-running of the same trees at N = ${lane.sizes.join(', ')} (a sample of the sweep; --criu-sizes for others), images on tmpfs, checked against the manifest`)];
  for (const r of an.criu) {
    const tree = r.variant ? `${r.scenario} (${r.variant} variant)` : `${r.scenario} (default tree)`;
    if (r.state === 'refused') {
      lines.push(...wrap(`  ${tree}: REFUSED: ${r.why ?? ''} ("${r.reason ?? ''}")`, SUMMARY_WIDTH, '    '));
      continue;
    }
    if (r.wallMs === undefined || r.fileStateMs === undefined) {
      lines.push(...wrap(`  ${tree}: ${r.state}${r.reason ? `: ${r.reason}` : ''}`, SUMMARY_WIDTH, '    '));
      continue;
    }
    const here = r.methods.map((m) => `${m.method} ${formatNs(m.medianNs)}`).join(', ');
    const state = r.state === 'verified' ? '' : ` ${r.state.toUpperCase()}: ${r.reason ?? ''};`;
    lines.push(
      ...wrap(
        `  ${tree}, ${r.fds} fds:${state} of a ${r.wallMs.toFixed(0)} ms dump, ${r.fileStateMs.toFixed(0)} ms (${(100 * (r.fileShare ?? 0)).toFixed(0)} %) is file state${here ? `; on the same tree here: ${here}` : ''}`,
        SUMMARY_WIDTH,
        '    ',
      ),
    );
  }
  return lines;
}

function machineLines(an: Analysis): string[] {
  if (!an.machine.length) return [];
  const lines = ['', 'machine during the rounds (busy: load > CPUs, steal > 5 %,', 'or CPU pressure > 20 %)'];
  for (const m of an.machine) {
    const drift = m.memProbeDrift >= 1.15 || m.memProbeDrift <= 0.87 ? ` (${m.memProbeDrift.toFixed(2)}x over the run)` : '';
    lines.push(
      ...wrap(
        `  ${m.scenario}: ${m.busyRounds} of ${m.rounds} rounds busy, load <= ${m.load1Max.toFixed(1)}, steal <= ${m.stealPctMax.toFixed(1)} %${m.cpuPressurePctMax !== undefined ? `, CPU pressure <= ${m.cpuPressurePctMax.toFixed(0)} %` : ''}; memory probe ${formatNs(m.memProbeMedianNs)}${drift}`,
        SUMMARY_WIDTH,
        '    ',
      ),
    );
  }
  return lines;
}

function footnotes(results: ResultsFile, marks: Marks): string[] {
  const sizes = [...new Set(results.measurements.map((m) => m.n))].sort((a, b) => a - b);
  const notes: string[] = [];
  notes.push(
    ...wrap(
      `median: time per recovery at the largest N (median over rounds, geometric mean over instances). growth: median over rounds of the slope of log(time) vs log(N), N = ${sizes.join(', ')}, all sizes measured in the same round (1 = linear, 2 = quadratic). ratios: per round, then the median; 95% CI by bootstrap over instances, then rounds.`,
    ),
  );
  if (marks.extrapolated) notes.push(...wrap('~ extrapolated: timed on a sample of the work and scaled up (see results.json, "extrapolation").'));
  // methods whose work visits every task of the machine (their descriptors say so)
  const system = results.methods.filter((d) => d.reach === 'system' && results.measurements.some((m) => m.method === d.name && m.state === 'verified')).map((d) => d.name);
  if (system.length) {
    const others = results.instances.length > 1 ? ` and the other ${results.instances.length - 1} workload instances alive during the rounds` : '';
    const idle = results.config?.idleTasks ? `, the ${results.config.idleTasks} idle processes` : '';
    notes.push(...wrap(`${system.join(', ')}: walk every task of the machine (the harness${idle}${others}): their time follows what the machine runs, not N or K; their growth is not the method's.`));
  }
  if (marks.suspect) {
    notes.push(...wrap('SUSPECT / CHAIN-BREAK: a floor measured slower than work that includes it (the CI lies below 0.9): a measurement artefact, not a result; UNSURE: the median lies below 0.9 but the CI reaches above it: not a result either, never met; rerun on a quiet machine.'));
  }
  if (marks.below) notes.push(...wrap('a method/floor ratio below 1 whose CI reaches 0.9 or above is within noise of 1.'));
  const warned = results.measurements.filter((m) => m.warnings.some((w) => w !== 'extrapolated'));
  if (warned.length > 0) {
    const counts = new Map<string, number>();
    for (const m of warned) for (const w of m.warnings) if (w !== 'extrapolated') counts.set(w, (counts.get(w) ?? 0) + 1);
    notes.push(...wrap(`warnings: ${[...counts].map(([w, c]) => `${w} ${c}`).join(', ')} (measurements; see results.json).`));
  }
  return notes;
}

function body(results: ResultsFile, wide: boolean, an: Analysis = analyze(results)): string[] {
  const marks: Marks = { extrapolated: false, below: false, suspect: false };
  const lines = headerLines(results);
  const ref = speedupReference(results);
  for (const scenario of scenariosOf(results)) {
    lines.push('');
    lines.push(...scenarioLines(results, an, scenario, ref, marks, wide));
  }
  if (results.measurements.length === 0) lines.push('', 'no measurements yet');
  lines.push(...laneLines(results, an));
  lines.push(...methodNoteLines(results));
  lines.push(...criuLines(results, an));
  lines.push(...machineLines(an));
  const targets = checkTargets(results, an);
  if (targets.length) lines.push('', 'targets (paired ratios within this run; met = whole 95% CI within):', ...formatTargets(targets));
  lines.push('');
  lines.push(...footnotes(results, marks));
  return lines;
}

/** summary.txt content; every line at most 72 columns */
export function formatSummary(results: ResultsFile, an?: Analysis): string {
  return `${body(results, false, an).map((l) => fit72(l)).join('\n')}\n`;
}

/** the table the CLI prints at the end: the summary, then warnings (one line per measurement) and their hints */
export function formatTable(results: ResultsFile, an?: Analysis): string {
  const lines = body(results, true, an);
  const ctx = { overheadNs: results.overhead?.medianNs };
  const warned = results.measurements.filter((m) => m.warnings.some((w) => w !== 'extrapolated'));
  if (warned.length > 0) {
    lines.push('', 'warnings:');
    const codes = new Set<WarningCode>();
    for (const m of warned) {
      const stats = m.state === 'verified' ? m.stats : undefined;
      const ws = m.warnings.filter((w) => w !== 'extrapolated');
      ws.forEach((w) => codes.add(w));
      lines.push(`  ${m.scenario}/${m.method} N=${m.n}${m.k !== undefined ? ` K=${m.k}` : ''}${m.replica ? `#${m.replica + 1}` : ''}: ${ws.map((w) => warningShort(w, stats, ctx)).join(', ')}`);
    }
    lines.push('hints:');
    for (const c of codes) lines.push(`  ${WARNING_HINTS[c]}`);
  }
  return `${lines.join('\n')}\n`;
}

export const summaryExporter: Exporter = {
  name: 'summary',
  async write(results: ResultsFile, dir: string, ctx) {
    await writeFileAtomic(join(dir, SUMMARY_FILE), formatSummary(results, ctx.analysis()));
  },
};
