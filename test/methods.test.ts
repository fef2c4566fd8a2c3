/**
 * Every method x every scenario at small N, on real frozen workloads,
 * verified against the generator's ground truth — the hard cases included.
 * Timing here is minimal: speed is the bench's business, not the tests'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultScenarios, type Scenario } from '../bench/manifest.js';
import { KERNEL_LANE_METHODS, listMethods, openMethod } from '../bench/native.js';
import { listDescriptors } from '../bench/descriptors.js';
import type { Measurement } from '../bench/schema.js';
import { startWorkload, type Workload } from '../bench/workload.js';
import { measureOnce } from './support/measure-once.js';

/** The scenarios a default run takes, as the generator lists them. */
const SCENARIOS = defaultScenarios();

/** Real io_uring / epoll iterators exist only on the patched kernel (kernel/, npm run bench:vm). */
const KERNEL_LANE = new Set(KERNEL_LANE_METHODS);

const EXPECTED_METHODS = [
  'procfs', 'kcmp-pairwise', 'kcmp-tree', 'kcmp-epoll', 'bpf-task-file', 'bpf-epoll', 'bpf-io-uring', 'bpf-all',
  'floor-procfs', 'floor-empty-iter', 'floor-walk', 'floor-walk-epoll', 'floor-walk-io-uring',
];

function explain(m: Measurement): string {
  if (m.state === 'wrong') return `${m.reason}\n${m.mismatches.map((x) => `  ${x.kind} ${x.pid} ${x.where}: expected ${x.expected}, got ${x.got}`).join('\n')}`;
  if (m.state === 'errored' || m.state === 'skipped') return m.reason;
  return '';
}

describe('the method registry', () => {
  it('lists every recovery method with a family and a coverage declaration', () => {
    const names = listMethods().map((m) => m.name);
    for (const n of EXPECTED_METHODS) expect(names).toContain(n);
    for (const m of listMethods()) {
      expect(['procfs', 'kcmp', 'bpf', 'floor']).toContain(m.family);
      for (const c of Object.values(m.coverage)) expect(c.level === 'full' || c.why).toBeTruthy();
    }
  });

  it('returns an error value naming the pid when the process does not exist', async () => {
    const dead = 4_194_400; // above PID_MAX_LIMIT (2^22): never a live process
    for (const m of listMethods().filter((x) => !KERNEL_LANE.has(x.name))) {
      const o = openMethod(m, [dead]);
      let message: string;
      if (o.state === 'open') {
        const r = o.collector.collect();
        o.collector.close();
        expect(r.ok, m.name).toBe(false);
        message = r.ok ? '' : r.error;
      } else {
        expect(o.state, m.name).toBe('errored');
        message = o.reason;
      }
      expect(message, m.name).toMatch(/4194400/);
    }
  });
});

for (const scenario of SCENARIOS as readonly Scenario[]) {
  describe(`the ${scenario} scenario`, () => {
    let w: Workload;
    const results = new Map<string, Measurement>();
    beforeAll(async () => {
      const s = await startWorkload({ scenario, files: 48, tasks: 3, buffers: 8 });
      if (s.state !== 'ready') throw new Error(`workload ${scenario}: ${s.state}: ${s.reason}`);
      w = s.workload;
      await w.freeze();
    });
    afterAll(async () => {
      await w?.thaw();
      await w?.stop();
    });

    for (const name of EXPECTED_METHODS) {
      it(`${name} recovers what the workload created, or has nothing to recover`, async () => {
        const method = listDescriptors().find((m) => m.name === name)!;
        const m = await measureOnce(method, { scenario, n: 48, manifest: w.manifest, pids: w.pids, alive: () => w.alive() });
        results.set(name, m);
        if (m.state === 'skipped') {
          expect(m.skip, name).toBe('not-applicable');
          expect(m.reason, name).toMatch(/^nothing to recover/);
          return;
        }
        // every timed answer was checked, not only the first
        if (m.state === 'verified') expect(m.answers.sameDigest + m.answers.reverified, name).toBeGreaterThanOrEqual(m.answers.timed - m.answers.reverified);
        expect(m.state, explain(m)).toBe('verified');
      });
    }

    it('reports the real-iterator lane as skipped on a kernel without the series', () => {
      for (const m of listMethods().filter((x) => KERNEL_LANE.has(x.name))) {
        const o = openMethod(m, w.pids);
        if (o.state === 'open') o.collector.close();
        expect(o.state, m.name).toBe('skipped');
        if (o.state === 'skipped') expect(o.reason).toMatch(/kernel/);
      }
    });

    it('has a coverage matrix that is honest about what each interface cannot say', () => {
      const cov = (n: string) => {
        const m = results.get(n);
        return m && (m.state === 'verified' || m.state === 'wrong') ? m.coverage : undefined;
      };
      // procfs never claims open-file identity; the BPF pass recovers it.
      expect(cov('procfs')?.['fd.identity']).toBe('not-recoverable');
      expect(cov('bpf-all')?.['fd.identity']).toBe('recovered');
      expect(cov('kcmp-tree')?.['fd.identity']).toBe('recovered');
      if (w.manifest.epoll.length) {
        expect(cov('bpf-all')?.['epoll.target']).toBe('recovered');
        expect(cov('procfs')?.['epoll.target']).toBe('partial');
      }
      if (w.manifest.io_uring.length) {
        expect(cov('bpf-all')?.['uring.file']).toBe('recovered');
        expect(cov('bpf-all')?.['uring.buf']).toBe('recovered');
        expect(cov('procfs')?.['uring.file']).toBe('partial');
      }
    });
  });
}

describe('bounded BPF output', () => {
  it('fails loudly, never silently, when the ring buffer is too small for the items', async () => {
    const s = await startWorkload({ scenario: 'epoll', files: 3000 });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    const w = s.workload;
    try {
      await w.freeze();
      const method = listMethods().find((m) => m.name === 'bpf-epoll')!;
      const o = openMethod(method, w.pids, { ringbufBytes: 4096 });
      expect(o.state).toBe('open');
      if (o.state !== 'open') return;
      const r = o.collector.collect();
      o.collector.close();
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/ring buffer|dropped|lost/i);
    } finally {
      await w.thaw();
      await w.stop();
    }
  });
});
