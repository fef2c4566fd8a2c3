/**
 * Issue 15's targets, read from finished runs' results.json (nothing is
 * measured here):
 *   1. every BPF method's (and floor's) median at scenario `all`, N = 10000,
 *      in default runs vs the same methods alone (both made in one session);
 *   2. the growth slopes (median of per-round log-log slopes, 95 % CI) of the
 *      linear methods, per scenario;
 *   3. the machine during each run (load, CPU pressure, steal, memory probe).
 *
 * Run (default and alone interleaved, so both see the same machine):
 *   for i in 1 2; do
 *     npm run bench -- --files 10000 --no-charts --out /tmp/t/default-$i
 *     npm run bench -- --scenarios all --sizes 10000 --no-charts --out /tmp/t/alone-$i \
 *       --methods bpf-task-file,bpf-all,floor-empty-iter,floor-walk
 *   done
 *   node --import tsx bench/experiments/targets.ts /tmp/t/default-* -- /tmp/t/alone-*
 * Directories before `--` are default runs, after it runs alone; the i-th
 * of each are compared as a pair (run them next to each other).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { analyze } from '../../analysis/analyze.js';
import type { ResultsFile } from '../schema.js';

const LINEAR = ['procfs', 'floor-procfs', 'bpf-task-file', 'bpf-all', 'floor-empty-iter', 'floor-walk'];
const BPF_AT = { scenario: 'all', n: 10000 } as const;

function load(dir: string): ResultsFile {
  return JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
}

const ms = (ns: number) => (ns / 1e6).toFixed(3);
const args = process.argv.slice(2);
const cut = args.indexOf('--');
const defaults = cut < 0 ? args : args.slice(0, cut);
const alone = cut < 0 ? [] : args.slice(cut + 1);

type Row = { run: string; kind: string; method: string; medianNs: number; ciLowNs: number; ciHighNs: number; perInstanceNs: number[] };
const rows: Row[] = [];
for (const [kind, dirs] of [['default', defaults], ['alone', alone]] as const) {
  for (const dir of dirs) {
    const r = load(dir);
    const an = analyze(r, { iterations: 500 });
    const name = path.basename(dir);
    console.log(`\n== ${kind} ${name}: ${r.startedAt} .. ${r.finishedAt ?? '?'} complete=${r.complete}`);
    for (const m of an.machine) {
      console.log(
        `  machine ${m.scenario}: rounds ${m.rounds} (busy ${m.busyRounds}), load1 max ${m.load1Max.toFixed(2)}, ` +
          `cpu pressure max ${(m.cpuPressurePctMax ?? NaN).toFixed(0)} %, steal max ${m.stealPctMax.toFixed(1)} %, ` +
          `mem probe ${ms(m.memProbeMedianNs)} ms (last/first third ${m.memProbeDrift.toFixed(2)})`,
      );
    }
    for (const t of an.times.filter((t) => t.scenario === BPF_AT.scenario && t.n === BPF_AT.n && /^(bpf-|floor-(walk|empty))/.test(t.method))) {
      rows.push({ run: name, kind, method: t.method, medianNs: t.medianNs, ciLowNs: t.ciLowNs, ciHighNs: t.ciHighNs, perInstanceNs: t.perInstanceNs });
      console.log(`  ${t.method.padEnd(20)} ${ms(t.medianNs)} ms [${ms(t.ciLowNs)}, ${ms(t.ciHighNs)}]  per instance ${t.perInstanceNs.map(ms).join(' / ')}`);
    }
    for (const s of an.slopes.filter((s) => LINEAR.includes(s.method))) {
      const ok = s.ciLow >= 0.9 && s.ciHigh <= 1.1 ? 'in' : s.slope >= 0.9 && s.slope <= 1.1 ? 'in (CI out)' : 'OUT';
      console.log(`  slope ${s.scenario.padEnd(9)} ${s.method.padEnd(17)} ${s.slope.toFixed(3)} [${s.ciLow.toFixed(3)}, ${s.ciHigh.toFixed(3)}] ${ok} (${s.rounds} rounds, sizes ${s.sizes.join(',')})`);
    }
  }
}

if (alone.length && defaults.length) {
  console.log(`\n== default / alone at ${BPF_AT.scenario} N=${BPF_AT.n} (median of each run's median)`);
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
  };
  for (const method of [...new Set(rows.filter((r) => r.kind === 'alone').map((r) => r.method))]) {
    const d = rows.filter((r) => r.kind === 'default' && r.method === method).map((r) => r.medianNs);
    const a = rows.filter((r) => r.kind === 'alone' && r.method === method).map((r) => r.medianNs);
    if (!d.length || !a.length) continue;
    const ratio = med(d) / med(a);
    // the i-th default run with the i-th alone run (made next to each other)
    const pairs = d.slice(0, a.length).map((x, i) => x / a[i]!);
    console.log(
      `  ${method.padEnd(20)} default ${d.map(ms).join(' ')} | alone ${a.map(ms).join(' ')} | ratio of medians ${ratio.toFixed(3)}; ` +
        `per pair ${pairs.map((p) => p.toFixed(3)).join(' ')} ${pairs.every((p) => Math.abs(p - 1) <= 0.15) ? 'all within 15 %' : 'NOT all within 15 %'}`,
    );
  }
}
