/**
 * Does a pointer chase sized past the L2 track a memory-bound walk's
 * cost from round to round? (The host's other tenants share the L3: a walk
 * whose working set straddles what this VM gets of it costs what they leave.)
 *
 * One frozen instance; each round times a block of a walk and of its floor
 * (1 untimed + 3 timed), then chases of 2, 4, 8 and 16 MiB (random cyclic
 * permutation, ns per dependent load, in JS). Prints each round and the rank
 * correlation of the walk's block median, and of walk / floor, with each
 * chase.
 *
 * Measured (2026-11-30, epoll N=10000, 60 rounds on one instance): the
 * walk's block median moved 1.8-2.8 ms from round to round while the empty
 * iteration held 1.31-1.37 ms; the chases read 14 (2 MiB), 17 (4 MiB),
 * 23-131 (8 MiB) and 117-150 ns (16 MiB) per load, and their rank
 * correlation with the walk was 0.05-0.36 (0.09-0.42 with walk / floor):
 * this VM gets between 4 and 8 MiB of the L3, and what moves the walk is
 * not something a chase between rounds can see. No probe was added.
 *
 *   node --import tsx bench/experiments/cacheprobe.ts [epoll 10000 rounds=60 walk=floor-walk-epoll floor=floor-empty-iter]
 */
import { spearman } from '../../analysis/paired.js';
import { mulberry32 } from '../../analysis/prng.js';
import { openMethod, type Collector } from '../native.js';
import { startWorkload } from '../workload.js';
import type { Scenario } from '../manifest.js';

const [scenario = 'epoll', nArg = '10000', roundsArg = '60', walk = 'floor-walk-epoll', floor = 'floor-empty-iter'] = process.argv.slice(2);
const SIZES_MIB = [2, 4, 8, 16];

function chaseArray(mib: number): Int32Array {
  // one entry per 64-byte line, in a random cycle
  const lines = (mib << 20) >> 6;
  const a = new Int32Array(lines * 16);
  const perm = Array.from({ length: lines }, (_, i) => i);
  const rng = mulberry32(mib);
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  for (let i = 0; i < lines; i++) a[perm[i]! * 16] = perm[(i + 1) % lines]! * 16;
  return a;
}

function chaseNs(a: Int32Array, loads: number): number {
  let x = 0;
  for (let i = 0; i < loads; i++) x = a[x]!; // warm
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < loads; i++) x = a[x]!;
  const ns = Number(process.hrtime.bigint() - t0) / loads;
  if (x < 0) throw new Error('unreachable');
  return ns;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

function block(c: Collector, known: BigUint64Array): number {
  const t = new Float64Array(4);
  const d = new BigUint64Array(4);
  if (c.block(4, t, d, known) !== 4) throw new Error(`${c.method.name}: the answer changed`);
  return median([...t.slice(1)]);
}

const started = await startWorkload({ scenario: scenario as Scenario, files: Number(nArg) });
if (started.state !== 'ready') throw new Error(`workload: ${started.state}`);
const w = started.workload;
try {
  await w.freeze();
  const open = (name: string) => {
    const o = openMethod({ name, family: 'floor' }, w.pids);
    if (o.state !== 'open') throw new Error(`${name}: ${o.state}`);
    const r = o.collector.collect();
    if (!r.ok) throw new Error(`${name}: ${r.error}`);
    return { c: o.collector, known: BigUint64Array.of(o.collector.digest()) };
  };
  const W = open(walk);
  const F = open(floor);
  const arrays = SIZES_MIB.map(chaseArray);
  const rows: { walk: number; floor: number; chase: number[] }[] = [];
  for (let r = 0; r < Number(roundsArg); r++) {
    const wt = block(W.c, W.known);
    const ft = block(F.c, F.known);
    const chase = arrays.map((a) => chaseNs(a, 200_000));
    rows.push({ walk: wt, floor: ft, chase });
    console.log(`round ${r}: ${walk} ${(wt / 1e6).toFixed(3)} ms, ${floor} ${(ft / 1e6).toFixed(3)} ms, chase ${chase.map((c, i) => `${SIZES_MIB[i]} MiB ${c.toFixed(1)}`).join(', ')} ns`);
  }
  for (let i = 0; i < SIZES_MIB.length; i++) {
    const c = rows.map((x) => x.chase[i]!);
    console.log(
      `chase ${SIZES_MIB[i]} MiB: median ${median(c).toFixed(1)} ns (${Math.min(...c).toFixed(1)}-${Math.max(...c).toFixed(1)}); rank correlation with ${walk} ${spearman(c, rows.map((x) => x.walk)).toFixed(2)}, with ${walk} / ${floor} ${spearman(c, rows.map((x) => x.walk / x.floor)).toFixed(2)}`,
    );
  }
  W.c.close();
  F.c.close();
} finally {
  await w.stop();
}
