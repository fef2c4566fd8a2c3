/**
 * Rounds: the measuring loop of a run and of the gate's A/B comparison.
 *
 * Every unit (one method opened on one frozen workload instance, or in the
 * gate one build's method) is visited once per round, one block of
 * collects per visit, in a fresh random order per round (seeded and
 * recorded). Anything that drifts over the run (the host's memory speed, a
 * neighbour's load, what earlier work left in caches) then hits every unit
 * alike and in no fixed order, and two units' blocks of the same round can
 * be compared pairwise (analysis/paired.ts).
 *
 * The scheduler is pure (roundOrder); the executor (runRounds) takes units
 * behind a small interface so the same loop drives in-process collectors
 * and collectors in another process.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Probe, RoundInfo } from './schema.js';
import type { Scenario } from './manifest.js';
import { mulberry32, seedFrom, type Rng } from '../analysis/prng.js';

/** Fisher-Yates with the given generator; returns a new array */
export function shuffle<T>(xs: readonly T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The order of round `index`: a permutation of keys, from (seed, scope,
 * index) only. Keys of the same group (groupOf; a method and its floor on
 * one instance) are visited back to back, in a random order among
 * themselves, the group at a random place among the rest: a ratio of two
 * units then compares blocks taken within a fraction of a second of each
 * other, not anywhere in a round of several seconds (a disturbance of a
 * few hundred ms hits both or neither).
 */
export function roundOrder(keys: readonly string[], seed: number, scope: string, index: number, groupOf?: (key: string) => string | undefined): string[] {
  const rng = mulberry32(seedFrom(`${scope}/${index}`, seed));
  if (!groupOf) return shuffle(keys, rng);
  const groups = new Map<string, string[]>();
  const items: string[][] = [];
  for (const k of keys) {
    const g = groupOf(k);
    if (g === undefined) {
      items.push([k]);
      continue;
    }
    let l = groups.get(g);
    if (!l) {
      groups.set(g, (l = []));
      items.push(l);
    }
    l.push(k);
  }
  return shuffle(items, rng).flatMap((l) => (l.length > 1 ? shuffle(l, rng) : l));
}

/** What one block gave: samples, or why the unit stops. */
export type BlockOutcome =
  | {
      ok: true;
      timesNs: number[];
      /** per timed collect, when measured */
      offCpuNs?: number[];
      /** waited before the first collect, outside the block (RT throttling's budget) */
      waitedMs?: number;
    }
  | { ok: false; state: 'wrong' | 'errored'; reason: string };

/**
 * Which rounds a unit is visited in (counted from the scenario's first):
 *   every  every round, the extra rounds after the core ones too
 *   core   the core rounds (the first minRounds)
 *   even   the even-numbered core rounds (0, 2, 4, ...)
 * The core rounds visit every unit whose cadence admits them; after them,
 * extra rounds visit the `every` units alone while the extra budget lasts.
 * So two units' paired ratio is over the rounds both were visited in: all
 * the rounds for two `every` units, the core (or even) rounds otherwise.
 */
export type Cadence = 'every' | 'core' | 'even';

/** whether a unit of this cadence is visited in round i (of a scenario with minRounds core rounds) */
export function visits(cadence: Cadence, i: number, minRounds: number): boolean {
  if (cadence === 'every') return true;
  if (i >= minRounds) return false;
  return cadence === 'core' || i % 2 === 0;
}

export interface Unit {
  /** "<instance>:<method>" (or "<build>/<instance>:<method>" in the gate) */
  readonly key: string;
  /** collects per block */
  readonly block: number;
  /** the rounds it is visited in (default: every) */
  readonly cadence?: Cadence;
  /** units of the same group are visited back to back (roundOrder) */
  readonly group?: string;
  runBlock(round: number): Promise<BlockOutcome>;
}

/** one timed sample: its time and when it began */
export interface SampleSink {
  /** offCpuNs: the timing thread's time off the CPU inside the collect, when measured */
  add(key: string, round: number, atMs: number, ns: number, offCpuNs?: number): void;
  /** the unit stops: its answer went wrong, or it failed */
  fail(key: string, round: number, outcome: Extract<BlockOutcome, { ok: false }>): void;
}

export interface RoundOptions {
  scenario: Scenario;
  /** scope of the seeded orders (e.g. "bench/all") */
  scope: string;
  seed: number;
  /** the core rounds: every unit is visited in them (as its cadence says) */
  minRounds: number;
  maxRounds: number;
  /**
   * after the core rounds, extra rounds (the `every` units only) until this
   * much time (ms) has passed since the core rounds ended
   */
  budgetMs: number;
  /** ms since the run started */
  clock: () => number;
  signal?: AbortSignal;
  /** run between rounds (outside every timed block) */
  probe?: () => Probe;
  onRound?: (r: RoundInfo) => void | Promise<void>;
  /**
   * the units extra round i visits (i: index within the scenario, from
   * minRounds; called before the round, after the previous one ended);
   * undefined: the `every` units; an empty list ends the extra rounds
   * (bench/goal.ts: the units of the target ratios whose CI is still wide)
   */
  extraKeys?: (i: number) => readonly string[] | undefined;
  /** first round's index (a scenario measured in several passes) */
  firstIndex?: number;
}

/**
 * Run the core rounds (minRounds), then extra rounds over the `every` units
 * (or those extraKeys names) until maxRounds or the budget. A unit whose
 * block fails leaves the remaining rounds (its failure goes to the sink).
 * Returns the rounds run.
 */
export async function runRounds(units: readonly Unit[], sink: SampleSink, opts: RoundOptions): Promise<RoundInfo[]> {
  const live = new Map(units.map((u) => [u.key, u]));
  const rounds: RoundInfo[] = [];
  let coreEnd: number | undefined;
  const first = opts.firstIndex ?? 0;
  for (let i = 0; i < opts.maxRounds && live.size > 0; i++) {
    if (opts.signal?.aborted) break;
    if (i >= opts.minRounds) {
      coreEnd ??= opts.clock();
      if (opts.clock() - coreEnd >= opts.budgetMs) break;
    }
    const index = first + i;
    const chosen = i >= opts.minRounds ? opts.extraKeys?.(i) : undefined;
    const keys = chosen ? chosen.filter((k) => live.has(k)) : [...live.values()].filter((u) => visits(u.cadence ?? 'every', i, opts.minRounds)).map((u) => u.key);
    if (!keys.length) break;
    const order = roundOrder(keys, opts.seed, opts.scope, index, (k) => live.get(k)?.group);
    const meter = startMeter();
    const probe = opts.probe?.();
    const startMs = opts.clock();
    for (const key of order) {
      if (opts.signal?.aborted) break;
      const u = live.get(key)!;
      const at = opts.clock();
      const out = await u.runBlock(index);
      // a turn of the event loop between blocks (outside every timed part):
      // a stop signal is handled here, not at the end of the round
      await new Promise((r) => setImmediate(r));
      if (!out.ok) {
        // a failure a stop signal caused (Ctrl-C reaches the workload's
        // tasks too) is not data: give a pending signal a moment first
        await new Promise((r) => setTimeout(r, 20));
        if (opts.signal?.aborted) break;
        sink.fail(key, index, out);
        live.delete(key);
        continue;
      }
      let t = at + (out.waitedMs ?? 0);
      out.timesNs.forEach((ns, i) => {
        sink.add(key, index, t, ns, out.offCpuNs?.[i]);
        t += ns / 1e6;
      });
    }
    if (opts.signal?.aborted) break;
    const durationMs = opts.clock() - startMs;
    const info: RoundInfo = {
      scenario: opts.scenario,
      index,
      order,
      startMs,
      durationMs,
      probe: { ...(probe ?? { load1: 0, stealPct: 0, memProbeNs: 0 }), ...meter.stop(durationMs) },
    };
    rounds.push(info);
    await opts.onRound?.(info);
  }
  return rounds;
}

// ---------------------------------------------------------------- probes

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** steal and total jiffies from /proc/stat's cpu line */
function cpuTimes(): { steal: number; total: number } | undefined {
  const line = readText('/proc/stat')?.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { steal: v[7] ?? 0, total: v.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) };
}

/** /proc/pressure/cpu "some" total stall time, us */
function cpuPressureUs(): number | undefined {
  const m = /^some .*total=(\d+)/m.exec(readText('/proc/pressure/cpu') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** steal share and CPU pressure over an interval */
function startMeter(): { stop(durationMs: number): Pick<Probe, 'stealPct' | 'cpuPressurePct'> } {
  const c0 = cpuTimes();
  const p0 = cpuPressureUs();
  return {
    stop(durationMs) {
      const c1 = cpuTimes();
      const p1 = cpuPressureUs();
      const stealPct = c0 && c1 && c1.total > c0.total ? (100 * (c1.steal - c0.steal)) / (c1.total - c0.total) : 0;
      const out: Pick<Probe, 'stealPct' | 'cpuPressurePct'> = { stealPct };
      if (p0 !== undefined && p1 !== undefined && durationMs > 0) out.cpuPressurePct = Math.min(100, (100 * (p1 - p0)) / 1000 / durationMs);
      return out;
    },
  };
}

const PROBE_BYTES = 64 << 20;
let probeBuf: Float64Array | undefined;

/**
 * The host's memory speed now: a strided walk (one read per 64-byte line)
 * over 64 MiB, ns. Record-emitting work feels the machine's memory
 * contention, which drifts over minutes on a shared host; the floors barely
 * do (NOTES.md). Taken between rounds, never inside a block.
 */
export function memProbeNs(): number {
  if (!probeBuf) {
    probeBuf = new Float64Array(PROBE_BYTES / 8).fill(1);
    memProbeNs(); // first touch and JIT warm-up, not measured
  }
  const b = probeBuf;
  let s = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < b.length; i += 8) s += b[i]!;
  const ns = Number(process.hrtime.bigint() - t0);
  if (s < 0) throw new Error('unreachable');
  return ns;
}

/** load average, CPU steal and pressure (over the round) and the memory probe */
export function machineProbe(): Probe {
  return { load1: loadavg()[0] ?? 0, stealPct: 0, memProbeNs: memProbeNs() };
}
