/**
 * Verification nobody can fool: every method's real answer, corrupted one
 * record at a time (test/support/mutate.ts: drop, duplicate, add, change
 * each field), must be called wrong under the kind the corruption
 * falsifies, for every kind the method claims. Two live workloads at small
 * N: `all` (every kind of state, a ring no descriptor reaches) and
 * `threads` (one table seen from several tasks). kcmp-pairwise runs in
 * full and on a sample of rows (its identity checked on the sampled
 * classes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, decodeRecords } from '../bench/decode.js';
import { kernelLaneMethods, listMethods, openMethod, type MethodInfo } from '../bench/native.js';
import { COVERAGE_KINDS, type CoverageKind } from '../bench/schema.js';
import { verify, type VerifyOptions } from '../bench/verify/index.js';
import { startWorkload, type Workload } from '../bench/workload.js';
import { MUTATIONS, spans } from './support/mutate.js';

interface Row {
  label: string;
  caught: number;
  total: number;
  missed: string[];
}

const table = new Map<string, Map<CoverageKind, Row>>();
function tally(method: string, kind: CoverageKind): Row {
  if (!table.has(method)) table.set(method, new Map());
  const m = table.get(method)!;
  if (!m.has(kind)) m.set(kind, { label: kind, caught: 0, total: 0, missed: [] });
  return m.get(kind)!;
}

const KERNEL_LANE = new Set(kernelLaneMethods());
const METHODS = listMethods().filter((m) => m.role === 'recovery' && !KERNEL_LANE.has(m.name));

/** collect once, then every applicable mutation of that answer */
function mutateAll(w: Workload, method: MethodInfo, rows = 0): void {
  const o = openMethod(method, w.pids);
  if (o.state !== 'open') throw new Error(`${method.name}: ${o.state}: ${o.reason}`);
  let buf: ArrayBuffer;
  let opts: VerifyOptions = {};
  try {
    if (rows) o.collector.setSampling(rows, 7);
    const r = o.collector.collect();
    if (!r.ok) throw new Error(`${method.name}: ${r.error}`);
    buf = r.out.buffer;
    if (rows) opts = { sampled: true, sampleRows: r.out.sample!.rows };
  } finally {
    o.collector.close();
  }
  const name = rows ? `${method.name} (sampled)` : method.name;
  const rec = decodeRecords(buf);
  const clean = verify(w.manifest, rec, method, opts);
  expect(clean.mismatches, `${name}: its own answer`).toEqual([]);
  const target = { buf, spans: spans(buf), rec, manifest: w.manifest };
  for (const mu of MUTATIONS) {
    const d = method.coverage[mu.kind];
    if (d.level === 'none' || (mu.only && !mu.only(d))) continue;
    const bad = mu.apply(target);
    if (!bad) continue;
    const row = tally(name, mu.kind);
    row.total++;
    let verdict: string;
    try {
      const v = verify(w.manifest, decodeRecords(bad), method, opts);
      verdict = v.coverage[mu.kind];
    } catch (e) {
      verdict = e instanceof DecodeError ? `undecodable: ${e.message}` : `threw: ${(e as Error).message}`;
    }
    if (verdict === 'wrong') row.caught++;
    else row.missed.push(`${mu.name} (${w.manifest.scenario}): ${verdict}`);
  }
}

describe('mutations of real collector output', () => {
  const live: Workload[] = [];
  beforeAll(async () => {
    for (const [scenario, files] of [['all', 40], ['threads', 24]] as const) {
      const s = await startWorkload({ scenario, files, tasks: 2, buffers: 8 });
      if (s.state !== 'ready') throw new Error(`workload ${scenario}: ${s.state}: ${s.reason}`);
      live.push(s.workload);
      await s.workload.freeze();
    }
  });
  afterAll(async () => {
    for (const w of live) {
      await w.thaw();
      await w.stop();
    }
  });

  for (const method of METHODS) {
    it(`catches every corruption of ${method.name}'s answer under the kind it falsifies`, () => {
      for (const w of live) {
        if (method.needs.length && !method.needs.some((n) => (n === 'epoll' ? w.manifest.epoll.some((e) => e.items.length) : w.manifest.io_uring.length))) continue;
        mutateAll(w, method);
        if (method.sampling.how === 'rows') mutateAll(w, method, 6);
      }
      for (const [name, kinds] of table) {
        if (name !== method.name && !name.startsWith(`${method.name} `)) continue;
        // every kind the method claims and the workloads have was corrupted at least once
        for (const k of COVERAGE_KINDS) {
          if (method.coverage[k].level === 'none') continue;
          if (k === 'fd.table' || (name.endsWith('(sampled)') && k !== 'fd.identity' && k !== 'fd')) continue;
          expect(kinds.get(k)?.total ?? 0, `${name}: no mutation of ${k}`).toBeGreaterThan(0);
        }
        for (const row of kinds.values()) expect(row.missed, `${name} ${row.label}`).toEqual([]);
      }
    });
  }

  it('corrupts the shared-table records of every method that claims fd.table', () => {
    for (const m of METHODS.filter((x) => x.coverage['fd.table'].level !== 'none' && x.needs.length === 0)) {
      expect(table.get(m.name)?.get('fd.table')?.total ?? 0, m.name).toBeGreaterThanOrEqual(4);
    }
  });

  afterAll(() => {
    let caught = 0;
    let total = 0;
    const lines = ['method x kind: caught/total'];
    for (const [name, kinds] of table) {
      const cells = COVERAGE_KINDS.filter((k) => kinds.has(k)).map((k) => `${k} ${kinds.get(k)!.caught}/${kinds.get(k)!.total}`);
      for (const r of kinds.values()) {
        caught += r.caught;
        total += r.total;
      }
      lines.push(`  ${name.padEnd(24)} ${cells.join(', ')}`);
    }
    lines.push(`mutations caught ${caught}/${total}`);
    console.log(lines.join('\n'));
  });
});
