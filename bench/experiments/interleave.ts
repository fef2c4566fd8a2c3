/**
 * Would timing a method's collects alternately with its floor's, inside one
 * block, make their per-round ratio steadier than two back-to-back blocks
 * (what the bench does)? Nothing here is verified: it reuses the bench's
 * collectors on an instance the bench's tests verify.
 *
 * One workload instance (scenario, N), frozen; each pair of methods opened
 * on it. Each round times every pair in each "way" below (the order of the
 * ways, and which method goes first, come from a seeded PRNG):
 *   separate     a block of the method (1 untimed + k timed), then a block
 *                of its floor (1 untimed + k timed): what the bench does
 *   separate3    as separate, with 3 untimed collects at each block's start
 *   interleaved  one untimed of each, then method, floor, method, floor...
 *                (k timed of each)
 *   subblocks    k short blocks of each, alternating, each 1 untimed + 1
 *                timed (every timed collect follows one of its own method)
 * Per round and way, the ratio of the two medians; printed per pair and
 * way: the median ratio, the spread of the per-round ratios (MAD / median)
 * and the 95 % bootstrap CI width of the median over `ci` rounds (the
 * bench's target is judged on such a width). POS=1 also prints how a
 * separate block's 2nd and 3rd timed collects compare with its 1st.
 * DISTURB=<method>: one collect of it before each way (in the bench a block
 * follows a random other unit: procfs's 200 ms of syscalls, say).
 * WAYS=a,b: only these ways; PAIRS=m/f,m/f: these pairs. PROCFS=1 adds procfs / floor-procfs (minutes of
 * collects at N=10000).
 *
 * Measured (2026-11-30, all N=10000, 24-40 rounds, three tries): alternating
 * single collects cut the per-round scatter 2-4x (MAD 1-3 % against 3-10 %
 * for separate blocks; a third warm-up collect did not help), but moved
 * bpf-all / floor-walk from 1.55-1.62 to 1.44-1.45 in every try: a
 * floor-walk collect that follows a bpf-all collect runs in the caches
 * bpf-all's output left (floor-walk repeated alone gets 5-8 % faster over a
 * block, bpf-all 0-1 %), so the floor is charged part of the method's cost.
 * The bench keeps each unit's own blocks. procfs / floor-procfs (one 200 ms
 * collect each) gained nothing from alternating (MAD 6.9 % against 5.8 %).
 *
 *   node --import tsx bench/experiments/interleave.ts [all 10000 rounds=40 k=3 ci=16]
 */
import { mulberry32 } from '../../analysis/prng.js';
import { openMethod, type Collector } from '../native.js';
import { startWorkload } from '../workload.js';
import type { Scenario } from '../manifest.js';

const [scenario = 'all', nArg = '10000', roundsArg = '40', kArg = '3', ciArg = '16'] = process.argv.slice(2);
const N = Number(nArg);
const ROUNDS = Number(roundsArg);
const K = Number(kArg);
const CI_ROUNDS = Number(ciArg);
const PAIRS: [string, string][] = process.env.PAIRS ? process.env.PAIRS.split(',').map((p) => p.split('/') as [string, string]) : [
  ['bpf-all', 'floor-walk'],
  ['bpf-task-file', 'floor-empty-iter'],
  ['bpf-epoll', 'floor-walk-epoll'],
  ...(process.env.PROCFS ? [['procfs', 'floor-procfs'] as [string, string]] : []),
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};
const mad = (xs: number[]) => {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
};

function ciWidth(xs: number[], rng: () => number): number {
  // mean over disjoint windows of CI_ROUNDS rounds: the width of one run's CI
  const widths: number[] = [];
  for (let lo = 0; lo + CI_ROUNDS <= xs.length; lo += CI_ROUNDS) {
    const w = xs.slice(lo, lo + CI_ROUNDS);
    const meds: number[] = [];
    for (let b = 0; b < 1000; b++) meds.push(median(w.map(() => w[Math.floor(rng() * w.length)]!)));
    meds.sort((a, b) => a - b);
    widths.push((meds[974]! - meds[24]!) / median(w));
  }
  return median(widths);
}

const WAYS = (process.env.WAYS ?? 'separate,interleaved,subblocks,separate3').split(',') as ('separate' | 'interleaved' | 'subblocks' | 'separate3')[];
const bufs = () => ({ t: new Float64Array(K + 3), d: new BigUint64Array(K + 3) });

const knownOf = new Map<Collector, BigUint64Array>();

/** n collects in one block (one FIFO section), their times; the answer must stay the one seen first */
function times(c: Collector, n: number): number[] {
  const b = bufs();
  let known = knownOf.get(c);
  if (!known) {
    if (c.block(1, b.t, b.d, new BigUint64Array(0)) !== 1) throw new Error(`${c.method.name}: collect failed`);
    known = BigUint64Array.of(b.d[0]!);
    knownOf.set(c, known);
  }
  if (c.block(n, b.t, b.d, known) !== n) throw new Error(`${c.method.name}: the answer changed`);
  return [...b.t.slice(0, n)];
}

async function main() {
  const started = await startWorkload({ scenario: scenario as Scenario, files: N });
  if (started.state !== 'ready') throw new Error(`workload: ${started.state}`);
  const w = started.workload;
  try {
    await w.freeze();
    const rng = mulberry32(7);
    const d = process.env.DISTURB ? openMethod({ name: process.env.DISTURB, family: 'procfs' }, w.pids) : undefined;
    const disturber = d?.state === 'open' ? d.collector : undefined;
    for (const [a, b] of PAIRS) {
      const oa = openMethod({ name: a, family: 'bpf' }, w.pids);
      const ob = openMethod({ name: b, family: 'bpf' }, w.pids);
      if (oa.state !== 'open' || ob.state !== 'open') {
        console.log(`${a} / ${b}: not open`);
        continue;
      }
      const A = oa.collector;
      const B = ob.collector;
      const abs = Object.fromEntries(WAYS.map((w) => [w, { a: [] as number[], b: [] as number[] }]));
      const pos = { a: [[], [], []] as number[][], b: [[], [], []] as number[][] };
      const ratios = { separate: [] as number[], interleaved: [] as number[], subblocks: [] as number[], separate3: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        const ways = WAYS.map((w) => [rng(), w] as const).sort((x, y) => x[0] - y[0]).map((x) => x[1]);
        for (const way of ways) {
          if (disturber) times(disturber, 1); // what a round of the bench runs before a block: another method
          const aFirst = rng() < 0.5;
          const ta: number[] = [];
          const tb: number[] = [];
          if (way === 'separate' || way === 'separate3') {
            // a block of each, `warm` untimed collects at its start
            const warm = way === 'separate' ? 1 : 3;
            const x = times(aFirst ? A : B, K + warm).slice(warm);
            const y = times(aFirst ? B : A, K + warm).slice(warm);
            (aFirst ? ta : tb).push(...x);
            (aFirst ? tb : ta).push(...y);
            if (way === 'separate') {
              for (let i = 0; i < Math.min(3, K); i++) {
                pos.a[i]!.push(ta[i]! / ta[0]!);
                pos.b[i]!.push(tb[i]! / tb[0]!);
              }
            }
          } else if (way === 'subblocks') {
            // K short blocks of each, alternating: 1 untimed + 1 timed
            for (let i = 0; i < K; i++) {
              if (aFirst) {
                ta.push(times(A, 2)[1]!);
                tb.push(times(B, 2)[1]!);
              } else {
                tb.push(times(B, 2)[1]!);
                ta.push(times(A, 2)[1]!);
              }
            }
          } else {
            times(aFirst ? A : B, 1);
            times(aFirst ? B : A, 1);
            for (let i = 0; i < K; i++) {
              if (aFirst) {
                ta.push(...times(A, 1));
                tb.push(...times(B, 1));
              } else {
                tb.push(...times(B, 1));
                ta.push(...times(A, 1));
              }
            }
          }
          ratios[way].push(median(ta) / median(tb));
          abs[way].a.push(median(ta));
          abs[way].b.push(median(tb));
        }
      }
      for (const way of WAYS) {
        const xs = ratios[way];
        const m = median(xs);
        console.log(
          `${`${a} / ${b}`.padEnd(34)} ${way.padEnd(12)} ratio ${m.toFixed(3)}  MAD/median ${((mad(xs) / m) * 100).toFixed(1)} %  CI width (${CI_ROUNDS} rounds) ${(ciWidth(xs, rng) * 100).toFixed(1)} %  medians ${(median(abs[way]!.a) / 1e6).toFixed(3)} / ${(median(abs[way]!.b) / 1e6).toFixed(3)} ms`,
        );
      }
      if (process.env.POS) console.log(`  separate, collect i / collect 0 of a block (medians): ${a} ${pos.a.map((x) => median(x).toFixed(3)).join(' ')}; ${b} ${pos.b.map((x) => median(x).toFixed(3)).join(' ')}`);
      A.close();
      B.close();
    }
  } finally {
    await w.stop();
  }
}

await main();
