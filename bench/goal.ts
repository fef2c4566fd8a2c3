/**
 * Where a scenario's extra rounds go: to the target ratios whose CI is
 * still wide.
 *
 * A target ratio (a method with a floor target and its floor,
 * analysis/targets.ts) is judged on its paired 95 % CI at the largest size,
 * and its width shrinks only with rounds (its per-round ratios scatter 5-14
 * % with the host's state, whatever is paired with them: RUN_DEFAULTS).
 * After the core rounds each target pair is looked at: its CI computed
 * exactly as the report will (analysis/analyze.ts pairsFor, ratioSeed, the
 * same bootstrap), and a pair whose CI is no wider than the goal is closed:
 * its units leave the extra rounds, which then cost only what the pairs
 * still open cost. The run stops a scenario's extra rounds when every pair
 * is closed (or at its budget, or maxRounds). In one run's `all` at
 * N=10000 the widths went from 6-10 % (bpf-task-file) to 11-15 % (bpf-all)
 * after 24 rounds: closing the narrow ones gives bpf-all their rounds.
 *
 * Stopping when the interval is narrow enough is a fixed-width sequential
 * interval (Chow and Robbins, Ann. Math. Statist. 1965): the rule looks at
 * the interval's width, never at the ratio, and looks at a fast pair only
 * every few rounds, so it cannot steer the figure; the goal sits below the
 * 10 % target so a pair that merely touched it does not pass by chance.
 * A slow pair (procfs and its floor: 0.2 s a collect, six core rounds, one
 * slow round widens its interval) is looked at after every round, since
 * each of its rounds costs more than the look. While a fast pair is open
 * it gets at most slowExtra extra rounds: what outvotes one slow round
 * among six (the bootstrap's median of six reaches a lone outlier in 6 %
 * of resamples, of eight in 1 %), not the seconds the fast pairs need
 * (0.4 s a round of procfs and its floor at all/N=10000; uncapped, two
 * such pairs left `all` four extra rounds of its BPF pairs). Once every
 * fast pair is closed, what is left of the budget is the slow pairs'.
 *
 * Units in no target pair (the kernel lane's iterators) ride along while
 * any pair is open; a scenario with no target pair at all keeps the plain
 * rule (every fast unit in every extra round, up to maxRounds or budget).
 */
import type { MethodDescriptor, Samples } from './schema.js';
import type { Scenario } from './manifest.js';
import { pairsFor, ratioSeed } from '../analysis/analyze.js';
import { pairedRatio, DEFAULT_ITERATIONS } from '../analysis/paired.js';
import { ciWidth, targetPairs, type TargetDescriptor } from '../analysis/targets.js';

/** What the goal needs of a unit: its key, instance, method, and samples so far. */
export interface GoalUnit {
  readonly key: string;
  readonly method: Pick<MethodDescriptor, 'name'>;
  readonly inst: { id: number; n: number; replica: number; k?: number; variant?: unknown };
  /** the extra rounds' rule: `every` units are the fast ones at the largest size */
  readonly cadence?: 'every' | 'core' | 'even';
  /** collect time, ns (a slow pair is looked at after every round) */
  readonly estimateNs: number;
  /** the samples recorded so far (read, never changed) */
  readonly samples: Samples;
}

export interface GoalOptions {
  scenario: Scenario;
  /** the largest size (and, in a task sweep, its largest K): where targets are judged */
  largest: number;
  kMax?: number;
  /** close a pair when its CI's (high - low) / ratio is at most this */
  goal: number;
  /** look at a fast pair every this many extra rounds (the first look before the first extra round) */
  lookEvery: number;
  /** a pair with a unit this slow (ns a collect) is looked at every round */
  slowNs: number;
  /** the most extra rounds a slow pair is visited in while a fast pair is open */
  slowExtra: number;
  minRounds: number;
  iterations?: number;
}

interface Pair {
  method: string;
  floor: string;
  nums: GoalUnit[];
  dens: GoalUnit[];
  slow: boolean;
  /** the width at the last look */
  width?: number;
  /** closed before this extra round (its width at most the goal) */
  closedAt?: number;
  /** extra rounds it was visited in */
  extra: number;
  /** its extra rounds at the last look (a look with nothing new is skipped) */
  lookedExtra?: number;
}

/** What the goal did with one pair, for the results and the log. */
export interface PairOutcome {
  method: string;
  floor: string;
  /** the width at the last look (after the last round when finish() was called), % */
  widthPct?: number;
  /** the round (index within the scenario) before which it was closed; absent: open to the end */
  closedBefore?: number;
  /** extra rounds it was visited in */
  extraRounds: number;
}

export class WidthGoal {
  private readonly pairs: Pair[] = [];
  private readonly riders: string[] = [];
  private readonly opts: Required<Omit<GoalOptions, 'kMax'>> & { kMax?: number };

  constructor(units: readonly GoalUnit[], targets: readonly TargetDescriptor[], opts: GoalOptions) {
    this.opts = { iterations: DEFAULT_ITERATIONS, ...opts };
    const judged = (u: GoalUnit) => u.inst.n === opts.largest && !u.inst.variant && (opts.kMax === undefined || u.inst.k === opts.kMax);
    const byReplica = (a: GoalUnit, b: GoalUnit) => a.inst.replica - b.inst.replica;
    const inPair = new Set<string>();
    for (const d of targetPairs(targets)) {
      const nums = units.filter((u) => judged(u) && u.method.name === d.method).sort(byReplica);
      const dens = units.filter((u) => judged(u) && u.method.name === d.floor).sort(byReplica);
      if (!nums.length || !dens.length) continue;
      const all = [...nums, ...dens];
      for (const u of all) inPair.add(u.key);
      this.pairs.push({ method: d.method, floor: d.floor, nums, dens, slow: all.some((u) => u.estimateNs >= opts.slowNs), extra: 0 });
    }
    for (const u of units) if ((u.cadence ?? 'every') === 'every' && !inPair.has(u.key)) this.riders.push(u.key);
  }

  /** whether the goal decides the extra rounds (some target pair is measured here) */
  get active(): boolean {
    return this.pairs.length > 0;
  }

  /**
   * The units extra round i (index within the scenario, i >= minRounds)
   * visits: those of the pairs still open after this round's looks, and the
   * riders while any is; undefined when the goal does not decide (no pair).
   * An empty list ends the extra rounds.
   */
  keys(i: number): string[] | undefined {
    if (!this.active) return undefined;
    const extra = i - this.opts.minRounds;
    for (const p of this.pairs) {
      if (p.closedAt !== undefined) continue;
      if (!p.slow && extra % this.opts.lookEvery !== 0) continue;
      if (this.look(p) <= this.opts.goal) p.closedAt = i;
    }
    const fastOpen = this.pairs.some((p) => !p.slow && p.closedAt === undefined);
    const open = this.pairs.filter((p) => p.closedAt === undefined && !(p.slow && fastOpen && p.extra >= this.opts.slowExtra));
    if (!open.length) return [];
    for (const p of open) p.extra++;
    return [...new Set([...open.flatMap((p) => [...p.nums, ...p.dens].map((u) => u.key)), ...this.riders])];
  }

  /** the pair's width now (looked at again only when it was visited since) */
  private look(p: Pair): number {
    if (p.width === undefined || p.lookedExtra !== p.extra) {
      p.lookedExtra = p.extra;
      p.width = this.width(p);
    }
    return p.width;
  }

  /** after the last round: the open pairs' widths on all their rounds (the outcomes' figures) */
  finish(): void {
    for (const p of this.pairs) if (p.closedAt === undefined) this.look(p);
  }

  /** the pair's CI width as the report will compute it; Infinity with too few rounds to say */
  private width(p: Pair): number {
    const pairs = pairsFor(
      p.nums.map((u) => ({ instance: u.inst.id, samples: u.samples })),
      p.dens.map((u) => ({ instance: u.inst.id, samples: u.samples })),
    );
    const r = pairedRatio(pairs, { iterations: this.opts.iterations, seed: ratioSeed('vs-floor', this.opts.scenario, p.method, p.floor, this.opts.largest) });
    // fewer than three paired rounds: no interval worth the name
    if (!(r.rounds >= 3) || !(r.ratio > 0)) return Infinity;
    return ciWidth({ ratio: r.ratio, ciLow: r.ciLow, ciHigh: r.ciHigh });
  }

  outcomes(): PairOutcome[] {
    return this.pairs.map((p) => ({
      method: p.method,
      floor: p.floor,
      ...(p.width !== undefined && Number.isFinite(p.width) ? { widthPct: Math.round(p.width * 1000) / 10 } : {}),
      ...(p.closedAt !== undefined ? { closedBefore: p.closedAt } : {}),
      extraRounds: p.extra,
    }));
  }
}
