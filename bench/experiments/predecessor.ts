/**
 * Does a block get slower when a given method ran just before it? Reads
 * finished runs (results.json: each round's random visiting order and every
 * sample's round), nothing is measured here.
 *
 * For every (scenario, instance, method) block, the block's median is
 * divided by that unit's median over all rounds (so sizes and methods can be
 * pooled); these normalized block times are grouped by the family of the
 * block visited just before (procfs, kcmp, bpf, floor, or "first" in its
 * round). A cache or slab effect of procfs's work on the next walk shows as
 * "after procfs" > "after bpf/floor" for the bpf and floor methods. Random
 * orders make the predecessor random, so the groups see the same machine.
 *
 *   node --import tsx bench/experiments/predecessor.ts results/<run>/ [...]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { blockMedians } from '../../analysis/paired.js';
import { mulberry32 } from '../../analysis/prng.js';
import type { ResultsFile, Verified } from '../schema.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};

/** 95 % bootstrap CI of the median */
function ci(xs: number[], seed = 1): [number, number] {
  const rng = mulberry32(seed);
  const meds: number[] = [];
  for (let b = 0; b < 1000; b++) meds.push(median(xs.map(() => xs[Math.floor(rng() * xs.length)]!)));
  meds.sort((a, b) => a - b);
  return [meds[25]!, meds[974]!];
}

const groups = new Map<string, number[]>(); // "<family of this>|<family before>" -> normalized block medians
for (const dir of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
  const fam = new Map(r.methods.map((m) => [m.name, m.family]));
  const byKey = new Map<string, Verified>();
  for (const m of r.measurements) if (m.state === 'verified') byKey.set(`${m.scenario}/${m.instance}:${m.method}`, m);
  const norm = new Map<string, Map<number, number>>();
  for (const [k, m] of byKey) {
    const b = blockMedians(m.samples);
    const med = median([...b.values()]);
    norm.set(k, new Map([...b].map(([round, v]) => [round, v / med])));
  }
  for (const round of r.rounds) {
    round.order.forEach((key, i) => {
      const k = `${round.scenario}/${key}`;
      const v = norm.get(k)?.get(round.index);
      if (v === undefined) return;
      const self = fam.get(key.split(':')[1]!) ?? '?';
      const before = i === 0 ? 'first' : (fam.get(round.order[i - 1]!.split(':')[1]!) ?? '?');
      const g = `${self}|${before}`;
      groups.set(g, [...(groups.get(g) ?? []), v]);
    });
  }
}
console.log('block median / unit median, by the family of the block before (95 % bootstrap CI of the median)');
for (const g of [...groups.keys()].sort()) {
  const xs = groups.get(g)!;
  const [lo, hi] = ci(xs);
  const [self, before] = g.split('|');
  console.log(`  ${self!.padEnd(7)} after ${before!.padEnd(7)} ${median(xs).toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}]  blocks ${xs.length}`);
}
