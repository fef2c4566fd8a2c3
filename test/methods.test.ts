/**
 * Every method x every scenario at small N, on real frozen workloads,
 * verified against the generator's ground truth — the hard cases included.
 * Timing here is minimal: speed is the bench's business, not the tests'.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecords } from '../bench/decode.js';
import { scenarioNames, type Scenario } from '../bench/manifest.js';
import { rowsForPairs } from '../bench/measure.js';
import {
  kernelLaneMethods,
  listMethods,
  loadAddon,
  nativeSched,
  nativeSchedThreads,
  openMethod,
  parseMethods,
  RegistryError,
  type Collector,
  type MethodInfo,
  type RawMethod,
} from '../bench/native.js';
import { listDescriptors } from '../bench/descriptors.js';
import { COVERAGE_KINDS, type Measurement } from '../bench/schema.js';
import { verify } from '../bench/verify/index.js';
import { freezePids, isFrozen, type Frozen } from '../bench/freezer.js';
import { startWorkload, type Workload } from '../bench/workload.js';
import { measureOnce } from './support/measure-once.js';

/** The scenarios a default run takes, as the generator lists them. */
/** every scenario the generator lists: the default run's and the others (threads, tree) */
const SCENARIOS = scenarioNames();

/** Real io_uring / epoll iterators exist only on the patched kernel (kernel/, npm run bench:vm). */
const KERNEL_LANE = new Set(kernelLaneMethods());
const byName = (n: string): MethodInfo => {
  const m = listMethods().find((x) => x.name === n);
  if (!m) throw new Error(`no method ${n}`);
  return m;
};

const EXPECTED_METHODS = [
  'procfs', 'procfs-parallel', 'pidfd-getfd', 'kcmp-pairwise', 'kcmp-tree', 'kcmp-epoll',
  'bpf-task-file', 'bpf-task-file-sys', 'bpf-cgroup-fds', 'bpf-epoll', 'bpf-io-uring', 'bpf-all',
  'floor-procfs', 'floor-procfs-parallel', 'floor-empty-iter', 'floor-sys-iter', 'floor-cgroup-walk', 'floor-walk', 'floor-walk-epoll', 'floor-walk-io-uring',
];
/** every registered method that runs on this kernel: the scenario tests take them all, not a list */
const HOST_METHODS = listMethods().filter((m) => !KERNEL_LANE.has(m.name)).map((m) => m.name);

function explain(m: Measurement): string {
  if (m.state === 'wrong') return `${m.reason}\n${m.mismatches.map((x) => `  ${x.kind} ${x.pid} ${x.where}: expected ${x.expected}, got ${x.got}`).join('\n')}`;
  if (m.state === 'errored' || m.state === 'skipped') return m.reason;
  return '';
}

describe('the method registry', () => {
  const raw = (): RawMethod[] => structuredClone(loadAddon().methods());

  it('lists every recovery method with a family and a coverage declaration', () => {
    const names = listMethods().map((m) => m.name);
    for (const n of EXPECTED_METHODS) expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
    for (const m of listMethods()) {
      expect(['procfs', 'kcmp', 'bpf', 'floor']).toContain(m.family);
      for (const c of Object.values(m.coverage)) expect(c.level === 'full' || c.why).toBeTruthy();
    }
  });

  it('has every method declare every kind of state, with a reason where it is not full', () => {
    for (const m of raw()) {
      expect(Object.keys(m.coverage).sort(), m.name).toEqual([...COVERAGE_KINDS].sort());
      for (const [k, c] of Object.entries(m.coverage)) {
        expect(['full', 'partial', 'none'], `${m.name} ${k}`).toContain(c.level);
        expect(typeof c.unheldOnly, `${m.name} ${k}`).toBe('boolean');
        if (c.level !== 'full') expect(c.why, `${m.name} ${k}`).toBeTruthy();
      }
    }
  });

  it('refuses a coverage level it does not know, an undeclared kind and a missing reason', () => {
    const typo = raw();
    typo[0].coverage['fd.pos'].level = 'ful';
    expect(() => parseMethods(typo)).toThrow(RegistryError);
    expect(() => parseMethods(typo)).toThrow(/coverage of fd.pos is "ful"/);
    const undeclared = raw();
    undeclared[1].coverage['uring.buf'] = { level: 'undeclared', why: null }; // a C descriptor that left it out
    expect(() => parseMethods(undeclared)).toThrow(/coverage of uring.buf is "undeclared"/);
    const missing = raw();
    delete missing[2].coverage['epoll.item'];
    expect(() => parseMethods(missing)).toThrow(/coverage of epoll.item missing/);
    const noReason = raw();
    noReason[3].coverage['fd.pos'] = { level: 'none', why: null };
    expect(() => parseMethods(noReason)).toThrow(/without a reason/);
    const unheld = raw(); // only a partial kind may leave out the items no descriptor holds
    unheld[0].coverage['fd.pos'] = { level: 'full', why: null, unheldOnly: true };
    expect(() => parseMethods(unheld)).toThrow(/coverage of fd.pos is full, only a partial one/);
  });

  it('refuses an unknown family, role, lane, sampling or a name that is not registered', () => {
    const mutate = (f: (m: RawMethod[]) => void) => {
      const r = raw();
      f(r);
      return () => parseMethods(r);
    };
    expect(mutate((r) => (r[0].family = 'bfp'))).toThrow(/family is "bfp"/);
    expect(mutate((r) => (r[0].role = 'undeclared'))).toThrow(/role is "undeclared"/);
    expect(mutate((r) => (r[0].lane = 'vm'))).toThrow(/lane is "vm"/);
    expect(mutate((r) => (r[0].sampling = { how: 'rows', scales: 'kcmp' }))).toThrow(/sampling.scales/);
    expect(mutate((r) => (r[0].floor = 'floor-procf'))).toThrow(/floor names "floor-procf", not a registered method/);
    expect(mutate((r) => r[0].speedupOver.push('kcmp-treee'))).toThrow(/speedupOver names "kcmp-treee"/);
    expect(mutate((r) => r[0].subsetOf.push(r[0].name))).toThrow(/names the method itself/);
  });

  it('names only registered methods as floors, references and supersets', () => {
    const names = new Set(listMethods().map((m) => m.name));
    for (const m of listMethods()) {
      for (const n of [...(m.floor ? [m.floor] : []), ...m.speedupOver, ...m.subsetOf]) expect(names.has(n), `${m.name} -> ${n}`).toBe(true);
    }
  });

  it('gives floors the floor role and methods a floor with the floor role', () => {
    for (const m of listMethods()) {
      expect(m.role === 'floor', m.name).toBe(m.family === 'floor');
      if (m.role === 'floor') {
        expect(m.floor, m.name).toBeNull();
        expect(m.speedupOver, m.name).toEqual([]);
      } else {
        expect(m.subsetOf, `${m.name}: only floors declare supersets`).toEqual([]);
      }
      if (m.floor) expect(byName(m.floor).role, `${m.name}'s floor ${m.floor}`).toBe('floor');
      // a target ratio needs a floor to be a ratio of
      if (m.floorLimit > 0) expect(m.floor, m.name).not.toBeNull();
    }
    // the bench's targets: bpf methods within 2x of their floors, procfs within 1.2x
    expect(byName('procfs')).toMatchObject({ floor: 'floor-procfs', floorLimit: 1.2 });
    for (const n of ['bpf-task-file', 'bpf-epoll', 'bpf-io-uring', 'bpf-all']) expect(byName(n).floorLimit, n).toBe(2);
  });

  it('has subset chains without cycles that put each floor below its methods', () => {
    // floor -> the methods whose work includes it: subsetOf, and every method it is the floor of
    const above = new Map<string, string[]>();
    for (const m of listMethods()) {
      above.set(m.name, [...(above.get(m.name) ?? []), ...m.subsetOf]);
      if (m.floor) above.set(m.floor, [...(above.get(m.floor) ?? []), m.name]);
    }
    const reach = (from: string): Set<string> => {
      const seen = new Set<string>();
      const stack = [...(above.get(from) ?? [])];
      while (stack.length) {
        const x = stack.pop()!;
        if (seen.has(x)) continue;
        seen.add(x);
        stack.push(...(above.get(x) ?? []));
      }
      return seen;
    };
    for (const m of listMethods()) expect(reach(m.name).has(m.name), `a cycle through ${m.name}`).toBe(false);
    // the chains the analysis checks
    expect([...reach('floor-empty-iter')]).toEqual(expect.arrayContaining(['floor-walk-epoll', 'floor-walk-io-uring', 'floor-walk', 'bpf-all', 'bpf-task-file']));
    expect([...reach('floor-walk-io-uring')]).toEqual(expect.arrayContaining(['floor-walk', 'bpf-all', 'bpf-io-uring']));
    expect([...reach('floor-walk-epoll')]).toEqual(expect.arrayContaining(['floor-walk', 'bpf-all', 'bpf-epoll']));
    expect([...reach('floor-procfs')]).toEqual(['procfs']);
    expect([...reach('floor-procfs-parallel')]).toEqual(['procfs-parallel']);
  });

  it('compares the bpf methods that recover what procfs does with procfs, kcmp-tree and the strongest baselines; the whole real-iterator pass also with bpf-all', () => {
    const perKind = ['bpf-iter-epoll', 'bpf-iter-io-uring-buf', 'bpf-iter-io-uring-file'];
    for (const m of listMethods().filter((x) => x.family === 'bpf' && !perKind.includes(x.name))) {
      expect(m.speedupOver, m.name).toEqual(expect.arrayContaining(['procfs', 'kcmp-tree', 'procfs-parallel', 'pidfd-getfd']));
      // the summary's speedup column is over the first entry most methods share
      expect(m.speedupOver[0], m.name).toBe('procfs');
    }
    // equal work: the emulation's one pass
    expect(byName('bpf-iter-all').speedupOver).toContain('bpf-all');
    expect(byName('bpf-iter-all').emulation).toBeNull();
  });

  it('compares each per-kind real iterator only with its emulation\'s same-kind work, the descriptor walk subtracted', () => {
    // a per-kind iterator does a part of what procfs and the emulation's passes do: no speedup over them
    for (const n of ['bpf-iter-epoll', 'bpf-iter-io-uring-buf', 'bpf-iter-io-uring-file']) expect(byName(n).speedupOver, n).toEqual([]);
    expect(byName('bpf-iter-epoll').emulation).toEqual({ method: 'bpf-epoll', floor: 'floor-empty-iter', with: [] });
    // the io_uring emulation walks both tables: both real iterators together
    expect(byName('bpf-iter-io-uring-file').emulation).toEqual({ method: 'bpf-io-uring', floor: 'floor-empty-iter', with: ['bpf-iter-io-uring-buf'] });
    expect(byName('bpf-iter-io-uring-buf').emulation).toBeNull();
    // only real iterators declare one, and the floor subtracted is a floor of the emulation's own chain
    for (const m of listMethods().filter((x) => x.emulation)) {
      expect(m.lane, m.name).toBe('patched-kernel');
      expect(byName(m.emulation!.method).lane).toBe('host');
      expect(byName(m.emulation!.floor!).role).toBe('floor');
    }
    expect(() => parseMethods(loadAddon().methods().map((r) => (r.name === 'bpf-iter-epoll' ? { ...r, emulation: { method: 'bpf-epol', floor: null, with: [] } } : r)))).toThrow(/emulation\.method names "bpf-epol"/);
  });

  it('describes the stronger baselines: procfs on every CPU with its own floor, pidfd_getfd with identity', () => {
    // both are procfs baselines (family procfs): the recovery methods of that family are what a bpf speedup is over
    expect(listMethods().filter((m) => m.family === 'procfs').map((m) => m.name).sort()).toEqual(['pidfd-getfd', 'procfs', 'procfs-parallel']);
    expect(byName('procfs-parallel')).toMatchObject({ role: 'recovery', floor: 'floor-procfs-parallel', floorLimit: 1.2, speedupOver: ['procfs'] });
    expect(byName('procfs-parallel').coverage).toEqual(byName('procfs').coverage);
    // the caller waits for its workers: its off-CPU time is the method's, and only these two do that
    expect(listMethods().filter((m) => m.parallel).map((m) => m.name).sort()).toEqual(['floor-procfs-parallel', 'procfs-parallel']);
    expect(byName('floor-procfs-parallel')).toMatchObject({ family: 'floor', role: 'floor', floor: null, subsetOf: [] });
    const pg = byName('pidfd-getfd');
    expect(pg).toMatchObject({ role: 'recovery', floor: null, floorLimit: 0, speedupOver: ['procfs', 'kcmp-tree'] });
    expect(Object.fromEntries(Object.entries(pg.coverage).map(([k, c]) => [k, c.level]))).toEqual({
      fd: 'full', 'fd.meta': 'full', 'fd.pos': 'full', 'fd.flags': 'full', 'fd.identity': 'full', 'fd.table': 'full',
      'epoll.item': 'full', 'epoll.target': 'partial', 'uring.ring': 'partial', 'uring.file': 'partial', 'uring.buf': 'full',
    });
  });

  it('puts the real iterators, and only them, in the kernel lane', () => {
    expect(kernelLaneMethods().sort()).toEqual(['bpf-iter-all', 'bpf-iter-epoll', 'bpf-iter-io-uring-buf', 'bpf-iter-io-uring-file']);
  });

  it('says which method samples its work and which stage scales', () => {
    const sampling = listMethods().filter((m) => m.sampling.how !== 'none');
    expect(sampling.map((m) => m.name)).toEqual(['kcmp-pairwise']);
    expect(byName('kcmp-pairwise').sampling).toEqual({ how: 'rows', scales: 'identity' });
  });

  it('hands the harness every fact of the descriptors (listDescriptors)', () => {
    const d = new Map(listDescriptors().map((x) => [x.name, x]));
    expect([...d.keys()]).toEqual(listMethods().map((m) => m.name));
    for (const m of listMethods()) {
      const x = d.get(m.name)!;
      expect(x, m.name).toMatchObject({ family: m.family, role: m.role, lane: m.lane, speedupOver: m.speedupOver, subsetOf: m.subsetOf, sampling: m.sampling.how });
      expect(x.floor ?? null, m.name).toBe(m.floor);
      expect(x.floorLimit ?? 0, m.name).toBe(m.floorLimit);
      expect(x.scaledStage, m.name).toBe(m.sampling.how === 'rows' ? m.sampling.scales : undefined);
    }
    expect(d.get('bpf-all')).toMatchObject({ floor: 'floor-walk', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree', 'procfs-parallel', 'pidfd-getfd'] });
    expect(d.get('kcmp-pairwise')).toMatchObject({ sampling: 'rows', scaledStage: 'identity' });
    expect(d.get('bpf-iter-epoll')).toMatchObject({ lane: 'patched-kernel' });
  });

  it('refuses open() options it does not know and sampling on a method that does not sample', () => {
    const a = loadAddon();
    expect(() => a.open('procfs', Int32Array.from([process.pid]), { maxRows: 3 } as never)).toThrow(/unknown option or wrong type: maxRows/);
    const o = openMethod(byName('procfs'), [process.pid]);
    expect(o.state).toBe('open');
    if (o.state !== 'open') return;
    try {
      expect(() => o.collector.setSampling(3, 1)).toThrow(/procfs does not sample/);
      expect(() => o.collector.setSampling(0, 1)).not.toThrow();
    } finally {
      o.collector.close();
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

    for (const name of HOST_METHODS) {
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

    it('gives the same answer, byte for byte, on every collect (what block() checks the timed answers by)', () => {
      for (const m of listMethods().filter((x) => !KERNEL_LANE.has(x.name))) {
        const o = openMethod(m, w.pids);
        expect(o.state, m.name).toBe('open');
        if (o.state !== 'open') continue;
        try {
          if (m.sampling.how === 'rows') o.collector.setSampling(5, 11);
          expect(o.collector.collect().ok, m.name).toBe(true);
          const d = o.collector.digest();
          const times = new Float64Array(3);
          const digests = new BigUint64Array(3);
          const off = new Float64Array(3).fill(-1);
          expect(o.collector.block(3, times, digests, BigUint64Array.from([d]), undefined, off), m.name).toBe(3);
          expect([...digests], m.name).toEqual([d, d, d]);
          expect(times.every((t) => t > 0), m.name).toBe(true);
          // the timing thread's time off the CPU inside each collect: some part of it, never negative
          expect([...off].every((x, i) => x >= 0 && x <= times[i]!), m.name).toBe(true);
        } finally {
          o.collector.close();
        }
      }
    });

    it("procfs-parallel's answer is procfs's, byte for byte (the same per-descriptor code on every CPU)", () => {
      const answer = (name: string) => {
        const o = openMethod(byName(name), w.pids);
        expect(o.state, name).toBe('open');
        if (o.state !== 'open') return undefined;
        try {
          const r = o.collector.collect();
          if (!r.ok) throw new Error(`${name}: ${r.error}`);
          return Buffer.from(r.out.buffer);
        } finally {
          o.collector.close();
        }
      };
      const a = answer('procfs');
      const b = answer('procfs-parallel');
      expect(a && b && a.equals(b)).toBe(true);
    });

    it('begins a fast method\'s block with one untimed collect, checked like the timed ones', async () => {
      const method = listDescriptors().find((m) => m.name === 'floor-empty-iter')!;
      const t = { scenario, n: 48, manifest: w.manifest, pids: w.pids, alive: () => w.alive() };
      const warm = await measureOnce(method, t, 2);
      expect(warm.state, explain(warm)).toBe('verified');
      if (warm.state !== 'verified') return;
      expect(warm.warmup).toBe(1);
      expect(warm.answers.timed).toBe(warm.samples.ns.length);
      // every collect's answer is checked: the warm-up's too (one per block)
      expect(warm.answers.sameDigest + warm.answers.reverified).toBe(warm.answers.timed + 2);
      const cold = await measureOnce(method, t, 2, { warmupBelowNs: 0 });
      expect(cold.state, explain(cold)).toBe('verified');
      if (cold.state !== 'verified') return;
      expect(cold.warmup).toBeUndefined();
      expect(cold.answers.sameDigest + cold.answers.reverified).toBe(cold.answers.timed);
    });

    it('times its blocks as SCHED_FIFO and gives the thread its own policy back (ITERBENCH_SCHED=other keeps it)', () => {
      // field 41 of /proc/thread-self/stat: the thread's scheduling policy (0 SCHED_OTHER)
      const policy = () => {
        const s = readFileSync('/proc/thread-self/stat', 'utf8');
        return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[38]);
      };
      const o = openMethod(byName('floor-empty-iter'), w.pids);
      expect(o.state).toBe('open');
      if (o.state !== 'open') return;
      try {
        expect(o.collector.collect().ok).toBe(true);
        const known = BigUint64Array.from([o.collector.digest()]);
        const before = policy();
        expect(o.collector.block(2, new Float64Array(2), new BigUint64Array(2), known)).toBe(2);
        expect(policy()).toBe(before);
        // root here (BPF needs it), so the thread may raise itself
        expect(nativeSched()).toBe(before === 0 ? 'SCHED_FIFO' : expect.any(String));
        process.env.ITERBENCH_SCHED = 'other';
        try {
          expect(o.collector.block(2, new Float64Array(2), new BigUint64Array(2), known)).toBe(2);
          expect(nativeSched()).toBe('SCHED_OTHER (ITERBENCH_SCHED=other)');
        } finally {
          delete process.env.ITERBENCH_SCHED;
        }
      } finally {
        o.collector.close();
      }
    });

    it('reports the real-iterator lane as skipped on a kernel without the series', () => {
      for (const m of listMethods().filter((x) => KERNEL_LANE.has(x.name))) {
        const o = openMethod(m, w.pids);
        if (o.state === 'open') o.collector.close();
        expect(o.state, m.name).toBe('skipped');
        if (o.state === 'skipped') {
          expect(o.code, m.name).toBe('kernel-lane');
          expect(o.reason).toMatch(/kernel/);
        }
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
      expect(cov('pidfd-getfd')?.['fd.identity']).toBe('recovered');
      // procfs on every CPU says exactly what procfs says
      expect(cov('procfs-parallel')).toEqual(cov('procfs'));
      if (w.manifest.epoll.length) {
        expect(cov('bpf-all')?.['epoll.target']).toBe('recovered');
        expect(cov('procfs')?.['epoll.target']).toBe('partial');
      }
      if (w.manifest.io_uring.length) {
        expect(cov('bpf-all')?.['uring.file']).toBe('recovered');
        expect(cov('bpf-all')?.['uring.buf']).toBe('recovered');
        expect(cov('procfs')?.['uring.file']).toBe('partial');
      }
      // a ring no descriptor reaches: the BPF emulation finds it in the thread's
      // registered-ring table, procfs cannot see it
      if (w.manifest.io_uring.some((r) => r.fd === null)) {
        expect(cov('bpf-all')?.['uring.ring']).toBe('recovered');
        expect(cov('bpf-io-uring')?.['uring.ring']).toBe('recovered');
        expect(cov('procfs')?.['uring.ring']).toBe('partial');
      }
      // one table seen from several tasks: each method reported it once
      const shared = new Set(w.manifest.tasks.map((t) => t.table ?? t.pid)).size < w.manifest.tasks.length;
      for (const [name, m] of results) {
        if (m.state !== 'verified' || byName(name).role === 'floor') continue;
        expect(m.coverage['fd.table'], name).toBe(shared ? 'recovered' : 'absent');
      }
      if (scenario === 'threads') expect(shared).toBe(true);
    });
  });
}

describe('pidfd-getfd on a cgroup-frozen tree', () => {
  it('takes every descriptor of the frozen tasks (no code of theirs runs) and leaves them frozen', async (ctx) => {
    const s = await startWorkload({ scenario: 'shared', files: 64, tasks: 3 });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    const w = s.workload;
    let frozen: Frozen | undefined;
    try {
      for (const how of ['cgroup2', 'cgroup1-freezer'] as const) {
        frozen = await freezePids(w.pids, how).catch(() => undefined);
        if (frozen) break;
      }
      if (!frozen) return ctx.skip('no cgroup freezer here');
      expect(isFrozen(frozen)).toBe(true);
      const m = await measureOnce(listDescriptors().find((x) => x.name === 'pidfd-getfd')!, { scenario: 'shared', n: 64, manifest: w.manifest, pids: w.pids, alive: () => w.alive() });
      expect(m.state, explain(m)).toBe('verified');
      if (m.state === 'verified') expect(m.coverage['fd.identity']).toBe('recovered');
      expect(isFrozen(frozen)).toBe(true);
    } finally {
      await frozen?.thaw();
      await w.stop();
    }
  });
});

describe("procfs-parallel's workers and the timed block's scheduling policy", () => {
  /** tids of this process's threads at SCHED_FIFO (field 41 of /proc/self/task/TID/stat) */
  const fifoThreads = (): Set<number> => {
    const out = new Set<number>();
    for (const tid of readdirSync('/proc/self/task')) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // a thread that ended meanwhile
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields 3.. of stat
      if (Number(fields[41 - 3]) === 1) out.add(Number(tid));
    }
    return out;
  };

  it('gives the workers the policy block() times the calling thread under, and the caller\'s own back after', async () => {
    const s = await startWorkload({ scenario: 'files', files: 200 });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    const w = s.workload;
    try {
      await w.freeze();
      const o = openMethod(byName('procfs-parallel'), w.pids);
      expect(o.state).toBe('open');
      if (o.state !== 'open') return;
      try {
        const before = fifoThreads();
        expect(o.collector.collect().ok).toBe(true);
        const d = o.collector.digest();
        expect(o.collector.block(2, new Float64Array(2), new BigUint64Array(2), BigUint64Array.from([d]))).toBe(2);
        // the run needs root, so block() raised the caller: every worker but
        // the caller (worker 0) was raised with it, outside the timed collects
        expect(nativeSched()).toBe('SCHED_FIFO');
        expect(nativeSchedThreads()).toBe(availableParallelism() - 1);
        // and after the block, the caller and its workers have their own policy back
        expect([...fifoThreads()].filter((t) => !before.has(t))).toEqual([]);
        // a single-threaded method has no threads to give it to
        const p = openMethod(byName('procfs'), w.pids);
        expect(p.state).toBe('open');
        if (p.state === 'open') {
          expect(p.collector.collect().ok).toBe(true);
          expect(p.collector.block(1, new Float64Array(1), new BigUint64Array(1), BigUint64Array.of(p.collector.digest()))).toBe(1);
          expect(nativeSchedThreads()).toBe(0);
          p.collector.close();
        }
      } finally {
        o.collector.close();
      }
    } finally {
      await w.thaw();
      await w.stop();
    }
  });
});

describe('kcmp-pairwise on a sample of rows', () => {
  let w: Workload;
  beforeAll(async () => {
    const s = await startWorkload({ scenario: 'shared', files: 120, tasks: 3 });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    w = s.workload;
    await w.freeze();
  });
  afterAll(async () => {
    await w?.thaw();
    await w?.stop();
  });
  const F = () => w.manifest.tasks.reduce((a, t) => a + t.fds.length, 0);

  it('compares each sampled row with every other descriptor and says how much of the work it did', () => {
    const method = byName('kcmp-pairwise');
    const o = openMethod(method, w.pids);
    expect(o.state).toBe('open');
    if (o.state !== 'open') return;
    try {
      const f = F();
      const rows = 7;
      o.collector.setSampling(rows, 42);
      const r = o.collector.collect();
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      // 7 rows against all others, the 21 pairs of two sampled rows once
      expect(r.out.sample).toEqual({ rows, rowsTotal: f, made: rows * (f - 1) - (rows * (rows - 1)) / 2, total: (f * (f - 1)) / 2 });
      expect(r.out.calls).toBe(r.out.sample!.made);
      expect(rowsForPairs(f, r.out.sample!.made)).toBe(rows);
      const rec = decodeRecords(r.out.buffer);
      expect(rec.fds.length).toBe(f);
      // sampled rows' classes are complete; the rest carry no identity
      const complete = rec.fds.filter((x) => x.idClass);
      expect(complete.length).toBeGreaterThanOrEqual(rows);
      expect(complete.length).toBeLessThan(f);
      for (const x of rec.fds) expect(x.id.how, `fd ${x.pid}/${x.fd}`).toBe(x.idClass ? 'key' : 'none');
      const v = verify(w.manifest, rec, method, { sampled: true, sampleRows: rows });
      expect(v.mismatches).toEqual([]);
      expect(v.coverage['fd.identity']).toBe('partial');

      // the same seed, the same rows (every timed answer equals the verified one)
      const d1 = o.collector.digest();
      o.collector.collect();
      expect(o.collector.digest()).toBe(d1);
      // another seed, other rows
      o.collector.setSampling(rows, 43);
      o.collector.collect();
      expect(o.collector.digest()).not.toBe(d1);

      // rows = 0: the full method, every class complete
      o.collector.setSampling(0, 42);
      const full = o.collector.collect();
      expect(full.ok && full.out.sample).toEqual({ rows: f, rowsTotal: f, made: (f * (f - 1)) / 2, total: (f * (f - 1)) / 2 });
      if (full.ok) {
        const fr = decodeRecords(full.out.buffer);
        expect(fr.fds.every((x) => x.idClass)).toBe(true);
        expect(verify(w.manifest, fr, method).mismatches).toEqual([]);
      }
    } finally {
      o.collector.close();
    }
  });

  it('is measured on a sample the way the bench does it, every answer checked on the sampled rows', async () => {
    const m = await measureOnce(listDescriptors().find((d) => d.name === 'kcmp-pairwise')!, { scenario: 'shared', n: 120, manifest: w.manifest, pids: w.pids }, 3, { samplePairs: 500 });
    expect(m.state, explain(m)).toBe('verified');
    if (m.state !== 'verified') return;
    expect(m.extrapolated).toBe(true);
    expect(m.coverage['fd.identity']).toBe('partial');
    expect(m.answers.timed).toBeGreaterThan(0);
  });

  it('is caught when a sampled class is split or merged, or a member loses its identity', () => {
    const method = byName('kcmp-pairwise');
    const o = openMethod(method, w.pids);
    expect(o.state).toBe('open');
    if (o.state !== 'open') return;
    try {
      o.collector.setSampling(40, 5);
      const r = o.collector.collect();
      if (!r.ok) throw new Error(r.error);
      const label = new Map(w.manifest.tasks.flatMap((t) => t.fds.map((f) => [`${t.pid}:${f.fd}`, f.file] as const)));
      const rec = () => decodeRecords(r.out.buffer);
      // a complete class of two or more descriptors (shared by dup, fork or SCM_RIGHTS)
      const base = rec();
      const byKey = new Map<string, typeof base.fds>();
      for (const x of base.fds) if (x.idClass && x.id.how === 'key') byKey.set(x.id.key, [...(byKey.get(x.id.key) ?? []), x]);
      const shared = [...byKey.values()].find((c) => c.length >= 2);
      expect(shared, 'a sampled class with two descriptors').toBeDefined();
      const at = (rr: ReturnType<typeof rec>, x: { pid: number; fd: number }) => rr.fds.findIndex((y) => y.pid === x.pid && y.fd === x.fd);

      const split = rec(); // one member gets a key of its own: a method that never merged
      split.fds[at(split, shared![1])].id = { how: 'key', key: 'f00d' };
      expect(verify(w.manifest, split, method, { sampled: true, sampleRows: 40 }).ok).toBe(false);

      const lost = rec(); // one member without identity although its class is complete
      const li = at(lost, shared![1]);
      lost.fds[li] = { ...lost.fds[li], id: { how: 'none' } };
      delete lost.fds[li].idClass;
      expect(verify(w.manifest, lost, method, { sampled: true, sampleRows: 40 }).ok).toBe(false);

      const merged = rec(); // another open file's descriptor joins the class
      const other = merged.fds.findIndex((y) => label.get(`${y.pid}:${y.fd}`) !== label.get(`${shared![0].pid}:${shared![0].fd}`));
      merged.fds[other] = { ...merged.fds[other], id: { how: 'key', key: (shared![0].id as { key: string }).key }, idClass: true };
      expect(verify(w.manifest, merged, method, { sampled: true, sampleRows: 40 }).ok).toBe(false);

      const none = rec(); // no complete class at all
      for (const x of none.fds) {
        x.id = { how: 'none' };
        delete x.idClass;
      }
      expect(verify(w.manifest, none, method, { sampled: true, sampleRows: 40 }).ok).toBe(false);
    } finally {
      o.collector.close();
    }
  });
});

describe('the probe-read build of the BPF program (kernels before 6.2: the VM lane)', () => {
  it('loads and recovers what the default build recovers, shared tables and rings no descriptor reaches included', async () => {
    for (const scenario of ['all', 'threads']) {
      const s = await startWorkload({ scenario, files: 40, tasks: 2, buffers: 4 });
      if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
      const w = s.workload;
      try {
        await w.freeze();
        for (const name of ['bpf-all', 'bpf-io-uring', 'bpf-epoll']) {
          const method = byName(name);
          if (name !== 'bpf-all' && scenario === 'threads') continue;
          const answers = [];
          for (const compat of [false, true]) {
            if (compat) process.env.IB_BPF_COMPAT = '1';
            try {
              const o = openMethod(method, w.pids);
              if (o.state !== 'open') throw new Error(`${name} (compat ${compat}): ${o.state}: ${o.reason}`);
              const r = o.collector.collect();
              o.collector.close();
              if (!r.ok) throw new Error(`${name} (compat ${compat}): ${r.error}`);
              const rec = decodeRecords(r.out.buffer);
              const v = verify(w.manifest, rec, method);
              expect(v.mismatches, `${name} ${scenario} compat ${compat}`).toEqual([]);
              answers.push({ coverage: v.coverage, counts: [rec.fds.length, rec.epollItems.length, rec.rings.length, rec.uringFiles.length, rec.uringBufs.length, rec.tables.length, rec.uringRegs.length] });
            } finally {
              delete process.env.IB_BPF_COMPAT;
            }
          }
          expect(answers[1], `${name} ${scenario}`).toEqual(answers[0]);
        }
      } finally {
        await w.thaw();
        await w.stop();
      }
    }
  });
});

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
      // the measurement: errored with the count, never timed, never verified
      const m = await measureOnce(listDescriptors().find((d) => d.name === 'bpf-epoll')!, { scenario: 'epoll', n: 3000, manifest: w.manifest, pids: w.pids }, 1, { native: { ringbufBytes: 4096 } });
      expect(m.state).toBe('errored');
      if (m.state === 'errored') expect(m.reason).toMatch(/ring buffer of 4096 bytes full: \d+ records dropped/);
    } finally {
      await w.thaw();
      await w.stop();
    }
  });
});

describe('one loaded BPF object for the units of a method', () => {
  it('units on two instances share a load: interleaved answers verify, each unit keeps its own links, one outlives the other', async () => {
    const ws: Workload[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = await startWorkload({ scenario: 'all', files: 40, tasks: 2, buffers: 4 });
        if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
        ws.push(s.workload);
        await s.workload.freeze();
      }
      const check = (name: string, w: Workload, r: ReturnType<Collector['collect']>, where: string) => {
        if (!r.ok) throw new Error(`${name} ${where}: ${r.error}`);
        const v = verify(w.manifest, decodeRecords(r.out.buffer), byName(name));
        expect(v.mismatches, `${name} ${where}`).toEqual([]);
      };
      for (const name of ['bpf-all', 'bpf-task-file', 'bpf-io-uring', 'floor-walk']) {
        const a = openMethod(byName(name), ws[0]!.pids);
        const b = openMethod(byName(name), ws[1]!.pids);
        if (a.state !== 'open' || b.state !== 'open') throw new Error(`${name}: ${a.state} ${b.state}`);
        try {
          // each collect answers for its own unit's instance, whichever ran before it
          for (let i = 0; i < 3; i++) {
            check(name, ws[0]!, a.collector.collect(), `instance 1, collect ${i + 1}`);
            check(name, ws[1]!, b.collector.collect(), `instance 2, collect ${i + 1}`);
          }
          check(name, ws[1]!, b.collector.collect(), 'instance 2 twice in a row');
          a.collector.close();
          check(name, ws[1]!, b.collector.collect(), 'instance 2 after instance 1 closed');
        } finally {
          a.collector.close();
          b.collector.close();
        }
        // and a fresh load once both are gone
        const c = openMethod(byName(name), ws[0]!.pids);
        if (c.state !== 'open') throw new Error(`${name}: ${c.state}`);
        try {
          expect(c.coldNs).toBeGreaterThan(0);
          check(name, ws[0]!, c.collector.collect(), 'reopened');
        } finally {
          c.collector.close();
        }
      }
    } finally {
      for (const w of ws) {
        await w.thaw();
        await w.stop();
      }
    }
  });
});
