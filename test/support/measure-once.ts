/**
 * One method measured on one live workload the way a bench run does it
 * (open, verify, calibrate, a few rounds of blocks, every answer checked),
 * for tests that need a Measurement but not a whole run.
 */
import { DEFAULT_MEASURE, openUnit } from '../../bench/measure.js';
import type { Manifest, Scenario } from '../../bench/manifest.js';
import type { Measurement, MethodDescriptor } from '../../bench/schema.js';

export interface Target {
  scenario: Scenario;
  n: number;
  manifest: Manifest;
  pids: number[];
  alive?: () => boolean;
}

export async function measureOnce(method: MethodDescriptor, t: Target, rounds = 3, opts: Partial<typeof DEFAULT_MEASURE> = {}): Promise<Measurement> {
  const o = await openUnit(method, { id: 0, replica: 0, scenario: t.scenario, n: t.n, manifest: t.manifest, pids: t.pids, alive: t.alive ?? (() => true) }, { ...DEFAULT_MEASURE, maxBlock: 3, ...opts });
  if (o.kind === 'final') return o.measurement;
  const u = o.unit;
  try {
    for (let r = 0; r < rounds; r++) {
      const b = await u.runBlock(r);
      if (!b.ok) {
        u.commitFailure();
        break;
      }
      let at = r * 1000;
      for (const ns of b.timesNs) {
        u.record(r, at, ns);
        at += ns / 1e6;
      }
    }
    return u.toMeasurement();
  } finally {
    u.close();
  }
}
