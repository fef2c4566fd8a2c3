/**
 * RT throttling and the timed blocks.
 *
 * block() (addon.c) times at SCHED_FIFO. The kernel lets the real-time tasks
 * of a CPU run at most kernel.sched_rt_runtime_us of every
 * kernel.sched_rt_period_us (950 ms of 1 s by default); past that they are
 * stopped until the period ends ("sched: RT throttling activated" in the
 * kernel log). Back-to-back blocks of the slow methods passed it: here a run
 * of procfs collects at all/N=10000 read 196-206 ms, and one in five (once a
 * second) 243-262 ms, the 50 ms stop inside it. So before each block the
 * harness waits, at its normal policy, until the FIFO time of the last
 * period plus the block's expected time fits in a share (0.98) of the
 * runtime: measured over any window of one period, which covers the
 * kernel's periods wherever they begin, the blocks never reach the limit.
 * The wait is outside every timed region; the run records its total.
 *
 * A block longer than the share (a collect of over 0.9 s) cannot be kept
 * under it: it waits for an empty window and may still be stopped once.
 * An unlimited runtime (-1) or no readable limit: no waits.
 */
import { readFileSync } from 'node:fs';

export interface RtLimits {
  periodNs: number;
  runtimeNs: number;
}

/** the kernel's RT bandwidth, or undefined when unlimited or unreadable */
export function readRtLimits(root = '/proc/sys/kernel'): RtLimits | undefined {
  try {
    const period = Number(readFileSync(`${root}/sched_rt_period_us`, 'utf8').trim());
    const runtime = Number(readFileSync(`${root}/sched_rt_runtime_us`, 'utf8').trim());
    if (!(period > 0) || !(runtime >= 0) || runtime >= period) return undefined;
    return { periodNs: period * 1000, runtimeNs: runtime * 1000 };
  } catch {
    return undefined;
  }
}

export const RT_SHARE = 0.98;

export class RtBudget {
  /** FIFO intervals [start, end] (ns) of the last period, oldest first */
  private readonly spans: [number, number][] = [];
  /** ns waited so far, and how many waits */
  waitedNs = 0;
  waits = 0;

  constructor(
    readonly limits: RtLimits | undefined,
    private readonly share = RT_SHARE,
  ) {}

  private prune(now: number): void {
    const from = now - (this.limits?.periodNs ?? 0);
    while (this.spans.length && this.spans[0]![1] <= from) this.spans.shift();
  }

  /**
   * ns to wait at `now` before a block expected to take `expectedNs`, so
   * that no window of one period holds more FIFO time than the share of
   * the runtime. Pure: it records nothing.
   */
  waitNs(expectedNs: number, now: number): number {
    const l = this.limits;
    if (!l) return 0;
    this.prune(now);
    const cap = this.share * l.runtimeNs;
    const clip = (from: number) => this.spans.map(([s, e]) => [Math.max(s, from), Math.min(e, now)] as const).filter(([s, e]) => e > s);
    if (expectedNs >= cap) {
      // cannot fit: wait until the last period holds no FIFO time at all
      const all = clip(now - l.periodNs);
      const last = all.length ? all[all.length - 1]![1] : -Infinity;
      return Math.max(0, last + l.periodNs - now);
    }
    // A block from t to t + E keeps every window of one period that ends in
    // it under the cap when the FIFO time in (t + E - P, t] is at most
    // cap - E (a window ending earlier gains less of the block than it
    // keeps of the past). Waiting moves t: find the first t >= now.
    const from = now + expectedNs - l.periodNs;
    const spans = clip(from);
    const used = spans.reduce((a, [s, e]) => a + (e - s), 0);
    let excess = used + expectedNs - cap;
    if (excess <= 0) return 0;
    // the window's start (t + E - P) must pass `excess` ns of FIFO time, oldest first
    for (const [s, e] of spans) {
      if (e - s >= excess) return Math.max(0, s + excess - from);
      excess -= e - s;
    }
    return 0; // not reached: excess <= used since expectedNs < cap
  }

  /** a block ran at SCHED_FIFO from start to end (ns, the same clock as now) */
  record(start: number, end: number): void {
    if (!this.limits || !(end > start)) return;
    this.spans.push([start, end]);
    this.prune(end);
  }

  /**
   * a block under the budget: wait as reserve() says, run it, record its
   * span as FIFO time; its value and the ns waited before it
   */
  async run<T>(expectedNs: number, block: () => T | Promise<T>, clock: () => number = nowNs, sleep: (ms: number) => Promise<void> = sleepMs): Promise<{ value: T; waitedNs: number }> {
    const waitedNs = await this.reserve(expectedNs, clock, sleep);
    const t0 = clock();
    try {
      const v = block();
      return { value: v instanceof Promise ? await v : v, waitedNs };
    } finally {
      this.record(t0, clock());
    }
  }

  /** wait (at the caller's normal policy) as waitNs says; resolves, with the ns waited, when the block may start */
  async reserve(expectedNs: number, clock: () => number = nowNs, sleep: (ms: number) => Promise<void> = sleepMs): Promise<number> {
    const w = this.waitNs(expectedNs, clock());
    if (w <= 0) return 0;
    this.waits++;
    const t0 = clock();
    await sleep(Math.ceil(w / 1e6));
    const waited = clock() - t0;
    this.waitedNs += waited;
    return waited;
  }
}

export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** a block's expected time: the unit's estimate per collect, with room for a slower one */
export function expectedBlockNs(estimateNs: number, collects: number): number {
  return 1.1 * estimateNs * collects;
}

/**
 * the one budget of this process: every block() of the harness goes
 * through it (none when ITERBENCH_SCHED=other keeps blocks at the normal
 * policy)
 */
export const rtBudget = new RtBudget(process.env.ITERBENCH_SCHED === 'other' || process.env.ITERBENCH_RTBUDGET === 'off' ? undefined : readRtLimits());
