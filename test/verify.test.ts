/**
 * The checker on hand-made manifests and answers, one kind of state at a
 * time: what it accepts, and every way it must refuse an answer (a wrong
 * field, a missing field under `full`, a duplicate, an extra, a
 * self-referencing holder, a shared table reported twice, a ring no
 * descriptor reaches).
 */
import { describe, expect, it } from 'vitest';
import type { Recovered } from '../bench/decode.js';
import type { Manifest } from '../bench/manifest.js';
import type { DeclaredCoverage, MethodInfo } from '../bench/native.js';
import { COVERAGE_KINDS, type CoverageKind } from '../bench/schema.js';
import { verify } from '../bench/verify/index.js';

const manifest: Manifest = {
  schema: 2,
  scenario: 'all',
  params: { files: 4, tasks: 2, buffers: 1, epollItems: 2, uringFiles: 2 },
  rootPid: 100,
  tasks: [
    { pid: 100, role: 'root', fds: [{ fd: 3, file: 'a' }, { fd: 4, file: 'a' }, { fd: 5, file: 'b' }, { fd: 6, file: 'ep' }, { fd: 7, file: 'ring' }] },
    { pid: 101, role: 'child-1', fds: [{ fd: 3, file: 'a' }] },
  ],
  files: {
    a: { kind: 'reg', dev: 1, ino: 10, pos: 5, flags: 0o2, path: '/tmp/a' },
    b: { kind: 'reg', dev: 1, ino: 10, pos: 9, flags: 0o0, path: '/tmp/a', note: 'opened-twice' },
    c: { kind: 'pipe', dev: 2, ino: 77, pos: 0, flags: 0o0, note: 'descriptorless' },
    ep: { kind: 'epoll', dev: 3, ino: 1, pos: 0, flags: 0o2 },
    ring: { kind: 'io_uring', dev: 3, ino: 2, pos: 0, flags: 0o2 },
    hidden: { kind: 'io_uring', dev: 3, ino: 3, pos: 0, flags: 0o2, note: 'no descriptor' },
    d: { kind: 'eventfd', dev: 3, ino: 4, pos: 0, flags: 0o2 },
  },
  epoll: [{ pid: 100, epfd: 6, file: 'ep', items: [{ tfd: 3, events: 1, data: '0x10', target: 'a' }, { tfd: 9, events: 4, data: '0x11', target: 'c' }] }],
  io_uring: [
    { pid: 100, fd: 7, file: 'ring', files: ['b', null, 'c'], buffers: [{ addr: '0x7f0000', len: 4096 }] },
    { pid: 100, fd: null, tid: 100, registeredIndex: 0, file: 'hidden', files: ['d'], buffers: [] },
  ],
  cases: [],
};

/** root 200 is multi-threaded, 201 shares its table (clone(CLONE_FILES)), 202 is a forked copy */
const threads: Manifest = {
  schema: 2,
  scenario: 'threads',
  params: { files: 2, tasks: 3, buffers: 0, epollItems: 0, uringFiles: 0 },
  rootPid: 200,
  tasks: [
    { pid: 200, role: 'root', table: 200, threads: [200, 203, 204], fds: [{ fd: 3, file: 'x' }, { fd: 4, file: 'y' }] },
    { pid: 201, role: 'clone-files', table: 200, threads: [201], fds: [{ fd: 3, file: 'x' }, { fd: 4, file: 'y' }] },
    { pid: 202, role: 'fork-copy', table: 202, threads: [202], fds: [{ fd: 3, file: 'x' }, { fd: 4, file: 'y' }] },
  ],
  files: {
    x: { kind: 'eventfd', dev: 3, ino: 5, pos: 0, flags: 0o2 },
    y: { kind: 'reg', dev: 1, ino: 11, pos: 3, flags: 0o1 },
  },
  epoll: [],
  io_uring: [],
  cases: [],
};

type Levels = Partial<Record<CoverageKind, DeclaredCoverage['level'] | DeclaredCoverage>>;
function method(levels: Levels = {}): Pick<MethodInfo, 'name' | 'coverage'> {
  return {
    name: 'test',
    coverage: Object.fromEntries(
      COVERAGE_KINDS.map((k) => {
        const l = levels[k] ?? 'full';
        return [k, typeof l === 'string' ? { level: l, ...(l === 'full' ? {} : { why: 'test' }) } : l];
      }),
    ) as MethodInfo['coverage'],
  };
}

const key = (l: string) => ({ how: 'key' as const, key: `k${l}` });
function fdRec(m: Manifest, pid: number, n: number, l: string) {
  const f = m.files[l];
  return { pid, fd: n, kind: f.kind, dev: f.dev, ino: f.ino, pos: f.pos, flags: f.flags, id: key(l) };
}

/** What a perfect identity-capable method (bpf-all) would report. */
function perfect(): Recovered {
  const fd = (pid: number, n: number, l: string) => fdRec(manifest, pid, n, l);
  return {
    fds: [fd(100, 3, 'a'), fd(100, 4, 'a'), fd(100, 5, 'b'), fd(100, 6, 'ep'), fd(100, 7, 'ring'), fd(101, 3, 'a')],
    epollItems: [
      { pid: 100, epfd: 6, tfd: 3, events: 1, data: '0x10', targetDev: 1, targetIno: 10, target: key('a') },
      { pid: 100, epfd: 6, tfd: 9, events: 4, data: '0x11', target: key('c') },
    ],
    rings: [
      { pid: 100, fd: 7, nrFiles: 3, nrBufs: 1, tablesMissing: false, noFiles: false, noBufs: false },
      { pid: 100, fd: -1, nrFiles: 1, nrBufs: 0, tablesMissing: false, noFiles: false, noBufs: false },
    ],
    uringFiles: [
      { pid: 100, ringFd: 7, index: 0, kind: 'reg', dev: 1, ino: 10, file: key('b') },
      { pid: 100, ringFd: 7, index: 2, file: key('c') },
      { pid: 100, ringFd: -1, index: 0, file: key('d') },
    ],
    uringBufs: [{ pid: 100, ringFd: 7, index: 0, addr: '0x7f0000', len: 4096 }],
    tables: [],
    uringRegs: [{ pid: 100, ringFd: -1, tid: 100, index: 0, ring: key('hidden') }],
    notes: [],
  };
}

/** a perfect answer for the threads manifest: the shared table once, under 200 */
function perfectThreads(): Recovered {
  const fd = (pid: number, n: number, l: string) => fdRec(threads, pid, n, l);
  return {
    fds: [fd(200, 3, 'x'), fd(200, 4, 'y'), fd(202, 3, 'x'), fd(202, 4, 'y')],
    epollItems: [],
    rings: [],
    uringFiles: [],
    uringBufs: [],
    tables: [{ pid: 201, sameAs: 200 }],
    uringRegs: [],
    notes: [],
  };
}

const kindsOf = (v: ReturnType<typeof verify>) => [...new Set(v.mismatches.map((m) => m.kind))];

describe('verification against the ground truth', () => {
  it('accepts an exact answer and calls every present kind recovered', () => {
    const v = verify(manifest, perfect(), method());
    expect(v.mismatches).toEqual([]);
    const { 'fd.table': table, ...rest } = v.coverage;
    expect(table).toBe('absent');
    expect(Object.values(rest).every((c) => c === 'recovered')).toBe(true);
  });

  it('says absent for kinds the scenario does not have, and wrong when a method reports them anyway', () => {
    const m: Manifest = { ...manifest, epoll: [], io_uring: [] };
    const r = perfect();
    r.epollItems = [];
    r.rings = [];
    r.uringFiles = [];
    r.uringBufs = [];
    r.uringRegs = [];
    const v = verify(m, r, method());
    expect(v.coverage['epoll.item']).toBe('absent');
    expect(v.coverage['uring.buf']).toBe('absent');
    const extra = perfect();
    const w = verify(m, extra, method());
    expect(w.coverage['epoll.item']).toBe('wrong');
    expect(w.coverage['uring.ring']).toBe('wrong');
  });
});

describe('fd: which descriptors each table holds', () => {
  it('catches a missing descriptor', () => {
    const r = perfect();
    r.fds.pop();
    const v = verify(manifest, r, method());
    expect(v.coverage.fd).toBe('wrong');
    expect(v.mismatches.find((m) => m.kind === 'fd')).toMatchObject({ pid: 101, where: 'fd 3', got: 'missing' });
  });

  it('catches a descriptor the manifest does not have', () => {
    const r = perfect();
    r.fds.push({ ...r.fds[0], fd: 40 });
    expect(verify(manifest, r, method()).mismatches).toContainEqual(expect.objectContaining({ kind: 'fd', where: 'fd 40', expected: 'not open' }));
  });

  it('catches two records for one descriptor, even when both are right', () => {
    const r = perfect();
    r.fds.push({ ...r.fds[2] });
    const v = verify(manifest, r, method());
    expect(v.coverage.fd).toBe('wrong');
    expect(v.mismatches[0].got).toMatch(/two records/);
  });

  it('catches records of a task the manifest does not have', () => {
    const r = perfect();
    r.fds.push({ ...r.fds[0], pid: 999 });
    expect(verify(manifest, r, method()).mismatches[0]).toMatchObject({ kind: 'fd', pid: 999 });
  });
});

describe('fd.meta, fd.pos, fd.flags: every field under full', () => {
  it('catches a wrong kind, dev, ino, position and flags', () => {
    for (const [field, value, kind] of [['kind', 'pipe', 'fd.meta'], ['dev', 9, 'fd.meta'], ['ino', 99, 'fd.meta'], ['pos', 6, 'fd.pos'], ['flags', 0o1, 'fd.flags']] as const) {
      const r = perfect();
      (r.fds[0] as unknown as Record<string, unknown>)[field] = value;
      const v = verify(manifest, r, method());
      expect(kindsOf(v), field).toEqual([kind]);
    }
  });

  it('calls a missing field a mismatch under full, unrecovered under partial', () => {
    for (const [field, kind] of [['kind', 'fd.meta'], ['dev', 'fd.meta'], ['ino', 'fd.meta'], ['pos', 'fd.pos'], ['flags', 'fd.flags']] as const) {
      const r = perfect();
      delete (r.fds[1] as unknown as Record<string, unknown>)[field];
      const full = verify(manifest, r, method());
      expect(full.coverage[kind], field).toBe('wrong');
      expect(full.mismatches[0].got).toBe(`no ${field}`);
      const partial = verify(manifest, r, method({ [kind]: 'partial' }));
      expect(partial.ok, field).toBe(true);
      expect(partial.coverage[kind], field).toBe('partial');
    }
  });

  it('ignores O_CLOEXEC, which fdinfo shows and F_GETFL does not', () => {
    const r = perfect();
    r.fds[0].flags = r.fds[0].flags! | 0o2000000;
    expect(verify(manifest, r, method()).ok).toBe(true);
  });
});

describe('fd.identity: a partition of all descriptors into open files', () => {
  it('catches a dup reported as a separate open file (a split)', () => {
    const r = perfect();
    r.fds[1].id = { how: 'key', key: 'kother' };
    expect(verify(manifest, r, method()).coverage['fd.identity']).toBe('wrong');
  });

  it('catches two open files of one inode merged into one', () => {
    const r = perfect();
    r.fds[2].id = { how: 'key', key: 'ka' };
    expect(verify(manifest, r, method()).coverage['fd.identity']).toBe('wrong');
  });

  it('catches a key that names two files across kinds (a descriptor and a registered file)', () => {
    const r = perfect();
    r.uringFiles[1].file = key('a');
    const v = verify(manifest, r, method());
    expect(v.coverage['uring.file']).toBe('wrong');
  });

  it('catches a descriptor without identity under full', () => {
    const r = perfect();
    r.fds[5].id = { how: 'none' };
    expect(verify(manifest, r, method()).mismatches[0]).toMatchObject({ kind: 'fd.identity', got: 'no identity' });
  });

  it('resolves holders through the manifest, and refuses a holder that is the descriptor itself', () => {
    const r = perfect();
    r.fds[1].id = { how: 'holder', pid: 101, fd: 3 };
    expect(verify(manifest, r, method()).ok).toBe(true);
    r.fds[1].id = { how: 'holder', pid: 100, fd: 4 };
    const v = verify(manifest, r, method());
    expect(v.mismatches[0]).toMatchObject({ kind: 'fd.identity', got: 'holder 100/4 is the descriptor itself' });
    r.fds[1].id = { how: 'holder', pid: 100, fd: 5 };
    expect(verify(manifest, r, method()).coverage['fd.identity']).toBe('wrong');
  });

  it('checks a sampled answer complete on its marked classes', () => {
    const sampled = () => {
      const r = perfect();
      for (const f of r.fds) f.id = { how: 'none' };
      // the class of open file a is complete (a sampled row was one of its descriptors)
      for (const i of [0, 1, 5]) r.fds[i] = { ...r.fds[i], id: key('a'), idClass: true };
      return r;
    };
    const ok = verify(manifest, sampled(), method(), { sampled: true, sampleRows: 1 });
    expect(ok.mismatches).toEqual([]);
    expect(ok.coverage['fd.identity']).toBe('partial');
    const lost = sampled(); // a member of a complete class without its key
    lost.fds[5] = { ...lost.fds[5], id: { how: 'none' } };
    delete lost.fds[5].idClass;
    expect(verify(manifest, lost, method(), { sampled: true, sampleRows: 1 }).ok).toBe(false);
    // fewer descriptors in complete classes than rows sampled: a method that never merged
    expect(verify(manifest, sampled(), method(), { sampled: true, sampleRows: 4 }).ok).toBe(false);
  });
});

describe('fd.table: a table shared by several tasks is reported once', () => {
  it('accepts the shared table under any one of its tasks, and a table record for each other', () => {
    const v = verify(threads, perfectThreads(), method());
    expect(v.mismatches).toEqual([]);
    expect(v.coverage['fd.table']).toBe('recovered');
    expect(v.coverage.fd).toBe('recovered');
    const r = perfectThreads();
    r.fds = r.fds.map((f) => (f.pid === 200 ? { ...f, pid: 201 } : f));
    r.tables = [{ pid: 200, sameAs: 201 }];
    expect(verify(threads, r, method()).mismatches).toEqual([]);
  });

  it('catches a shared table reported twice (double counting)', () => {
    const r = perfectThreads();
    r.tables = [];
    r.fds.push(...r.fds.filter((f) => f.pid === 200).map((f) => ({ ...f, pid: 201 })));
    const v = verify(threads, r, method());
    expect(v.coverage['fd.table']).toBe('wrong');
    expect(v.coverage.fd).toBe('wrong');
    expect(v.mismatches.some((m) => m.kind === 'fd.table' && /reported under 200 and 201/.test(m.got))).toBe(true);
  });

  it('catches a missing table record, a table record naming itself, a wrong table and a chain', () => {
    const none = perfectThreads();
    none.tables = [];
    expect(verify(threads, none, method()).coverage['fd.table']).toBe('wrong');
    const self = perfectThreads();
    self.tables = [{ pid: 201, sameAs: 201 }];
    expect(verify(threads, self, method()).mismatches.map((m) => m.got)).toContain('the same table as itself');
    const fork = perfectThreads(); // the forked copy has a table of its own
    fork.tables.push({ pid: 202, sameAs: 200 });
    fork.fds = fork.fds.filter((f) => f.pid !== 202);
    const fv = verify(threads, fork, method());
    expect(fv.mismatches).toContainEqual(expect.objectContaining({ kind: 'fd.table', pid: 202, expected: 'a table of its own' }));
    const chain = perfectThreads();
    chain.tables = [{ pid: 201, sameAs: 200 }, { pid: 200, sameAs: 201 }];
    expect(verify(threads, chain, method()).coverage['fd.table']).toBe('wrong');
  });

  it('catches a task with a table record that reports its own descriptors too', () => {
    const r = perfectThreads();
    r.fds.push({ ...r.fds[0], pid: 201 });
    expect(verify(threads, r, method()).mismatches).toContainEqual(expect.objectContaining({ kind: 'fd.table', pid: 201 }));
  });

  it('is absent where no two tasks share a table, yet a false claim of sharing is wrong', () => {
    expect(verify(manifest, perfect(), method()).coverage['fd.table']).toBe('absent');
    const r = perfect();
    r.tables = [{ pid: 101, sameAs: 100 }];
    r.fds = r.fds.filter((f) => f.pid !== 101);
    expect(verify(manifest, r, method()).coverage['fd.table']).toBe('wrong');
  });
});

describe('epoll: items and their targets', () => {
  it('catches a ghost item, a stale tfd and wrong events', () => {
    const r = perfect();
    r.epollItems[0].tfd = 4;
    r.epollItems[1].events = 5;
    r.epollItems.push({ pid: 100, epfd: 6, tfd: 12, events: 1, data: '0x99', target: { how: 'none' } });
    const v = verify(manifest, r, method());
    expect(v.coverage['epoll.item']).toBe('wrong');
    expect(v.mismatches.map((m) => m.where)).toEqual(expect.arrayContaining(['epoll 6 item tfd=12', 'epoll 6 item data=0x10', 'epoll 6 item data=0x11']));
  });

  it('catches a duplicate item, an item without events and an epoll instance the manifest does not have', () => {
    const dup = perfect();
    dup.epollItems.push({ ...dup.epollItems[0] });
    expect(verify(manifest, dup, method()).mismatches[0].got).toMatch(/two records/);
    const noEvents = perfect();
    delete noEvents.epollItems[1].events;
    expect(verify(manifest, noEvents, method()).mismatches[0].got).toBe('no events');
    const extra = perfect();
    extra.epollItems.push({ ...extra.epollItems[0], epfd: 5 });
    expect(verify(manifest, extra, method()).mismatches[0]).toMatchObject({ where: 'epoll 5', expected: 'not an epoll instance of the manifest' });
  });

  it('catches a wrong target key, holder, inode or dev', () => {
    const r = perfect();
    r.epollItems[0].target = { how: 'holder', pid: 101, fd: 3 };
    expect(verify(manifest, r, method()).ok).toBe(true);
    r.epollItems[0].target = { how: 'holder', pid: 100, fd: 5 };
    expect(verify(manifest, r, method()).coverage['epoll.target']).toBe('wrong');
    const k = perfect();
    k.epollItems[1].target = key('b');
    expect(verify(manifest, k, method()).coverage['epoll.target']).toBe('wrong');
    const ino = perfect();
    ino.epollItems[0].targetIno = 11;
    expect(verify(manifest, ino, method()).coverage['epoll.target']).toBe('wrong');
    const dev = perfect();
    dev.epollItems[0].targetDev = 2;
    expect(verify(manifest, dev, method()).coverage['epoll.target']).toBe('wrong');
  });

  it('lets a partial method leave targets unnamed, one limited to unheld targets only those no descriptor holds', () => {
    const r = perfect();
    for (const it of r.epollItems) it.target = { how: 'none' };
    expect(verify(manifest, r, method({ 'epoll.target': 'partial' })).coverage['epoll.target']).toBe('partial');
    const unheld = method({ 'epoll.target': { level: 'partial', why: 'test', unheldOnly: true } });
    const v = verify(manifest, r, unheld); // target a is held by 100/3: it must be named
    expect(v.coverage['epoll.target']).toBe('wrong');
    expect(v.mismatches).toEqual([expect.objectContaining({ kind: 'epoll.target', where: 'epoll 6 item data=0x10', got: 'no identity' })]);
    r.epollItems[0].target = { how: 'holder', pid: 100, fd: 3 }; // c is held by no descriptor: unrecovered is fine
    expect(verify(manifest, r, unheld).coverage['epoll.target']).toBe('partial');
  });

  it('catches a procfs-style target inode that does not match', () => {
    const r = perfect();
    r.epollItems[1].target = { how: 'none' };
    r.epollItems[1].targetIno = 78;
    expect(verify(manifest, r, method({ 'epoll.target': 'partial' })).coverage['epoll.target']).toBe('wrong');
  });
});

describe('io_uring: rings, registered files and buffers', () => {
  it('catches an empty slot reported occupied and a wrong buffer length or address', () => {
    const r = perfect();
    r.uringFiles.push({ pid: 100, ringFd: 7, index: 1, file: { how: 'key', key: 'kx' } });
    r.uringBufs[0].len = 8192;
    const v = verify(manifest, r, method());
    expect(v.coverage['uring.file']).toBe('wrong');
    expect(v.coverage['uring.buf']).toBe('wrong');
    const addr = perfect();
    addr.uringBufs[0].addr = '0x7f1000';
    expect(verify(manifest, addr, method()).coverage['uring.buf']).toBe('wrong');
  });

  it('catches duplicate slots, a slot past the table, a wrong kind or inode of a registered file', () => {
    for (const change of [
      (r: Recovered) => r.uringFiles.push({ ...r.uringFiles[0] }),
      (r: Recovered) => r.uringBufs.push({ ...r.uringBufs[0] }),
      (r: Recovered) => r.uringFiles.push({ ...r.uringFiles[1], index: 3 }),
      (r: Recovered) => r.uringBufs.push({ ...r.uringBufs[0], index: 1 }),
      (r: Recovered) => (r.uringFiles[0].kind = 'pipe'),
      (r: Recovered) => (r.uringFiles[0].ino = 12),
    ]) {
      const r = perfect();
      change(r);
      expect(verify(manifest, r, method()).ok, String(change)).toBe(false);
    }
  });

  it('catches a ring record missing, twice, with wrong slot counts, or of a ring the manifest does not have', () => {
    for (const [change, got] of [
      [(r: Recovered) => r.rings.shift(), 'ring not reported'],
      [(r: Recovered) => r.rings.push({ ...r.rings[0] }), 'two records'],
      [(r: Recovered) => (r.rings[0].nrFiles = 4), '4'],
      [(r: Recovered) => (r.rings[0].nrBufs = 0), '0'],
      [(r: Recovered) => r.rings.push({ ...r.rings[0], fd: 5 }), 'a ring of 3 file and 1 buffer slots'],
    ] as const) {
      const r = perfect();
      change(r);
      const v = verify(manifest, r, method());
      expect(v.coverage['uring.ring'], got).toBe('wrong');
      expect(v.mismatches[0].got).toBe(got);
    }
  });

  it('reports a missing io_uring table (trylock failed) as wrong, never as recovered', () => {
    const r = perfect();
    r.rings[0].tablesMissing = true;
    r.uringFiles = r.uringFiles.filter((f) => f.ringFd !== 7);
    r.uringBufs = [];
    const v = verify(manifest, r, method());
    expect(v.coverage['uring.file']).toBe('wrong');
    expect(v.mismatches[0].got).toMatch(/ring lock contended/);
  });

  it('gives a ring no descriptor reaches: recovered by a method that claims it, not recoverable by one that cannot see it', () => {
    expect(verify(manifest, perfect(), method()).coverage['uring.ring']).toBe('recovered');
    // procfs-like: only the ring its descriptor shows
    const r = perfect();
    r.rings = r.rings.filter((x) => x.fd >= 0);
    r.uringFiles = r.uringFiles.filter((x) => x.ringFd >= 0);
    r.uringRegs = [];
    const partial = method({ 'uring.ring': { level: 'partial', why: 'test', unheldOnly: true } });
    const v = verify(manifest, r, partial);
    expect(v.mismatches).toEqual([]);
    expect(v.coverage['uring.ring']).toBe('partial');
    expect(v.counts['uring.ring']).toEqual({ checked: 2, unrecovered: 1, wrong: 0 });
    expect(v.counts['uring.file'].checked).toBe(3); // the hidden ring's slot is not counted
    // the same answer from a method that claims every ring is wrong
    expect(verify(manifest, r, method()).coverage['uring.ring']).toBe('wrong');
    // and one limited to unheld rings that misses a ring with a descriptor is wrong too
    r.rings = [];
    expect(verify(manifest, r, partial).coverage['uring.ring']).toBe('wrong');
  });

  it('only a method that sees no slot at all of a kind is not-recoverable for it', () => {
    const m: Manifest = { ...manifest, io_uring: [manifest.io_uring[1]] };
    const r = perfect();
    r.rings = [];
    r.uringFiles = [];
    r.uringBufs = [];
    r.uringRegs = [];
    const v = verify(m, r, method({ 'uring.ring': { level: 'partial', why: 'test', unheldOnly: true } }));
    expect(v.ok).toBe(true);
    expect(v.coverage['uring.file']).toBe('not-recoverable');
  });

  it('catches a registered ring under the wrong thread or index, twice, or its handle without a registration', () => {
    for (const change of [
      (r: Recovered) => (r.uringRegs[0].tid = 101),
      (r: Recovered) => (r.uringRegs[0].index = 1),
      (r: Recovered) => r.uringRegs.push({ ...r.uringRegs[0], ringFd: -2 }),
      (r: Recovered) => (r.uringRegs[0].ring = key('ring')),
      (r: Recovered) => (r.uringRegs = []),
    ]) {
      const r = perfect();
      change(r);
      const v = verify(manifest, r, method());
      expect(v.ok, String(change)).toBe(false);
    }
  });

  it('accepts the short name older kernels print for a registered file, and catches a wrong one', () => {
    const r = perfect();
    r.uringFiles[0] = { pid: 100, ringFd: 7, index: 0, file: { how: 'none' }, path: 'a' };
    const m = method({ 'uring.file': 'partial' });
    expect(verify(manifest, r, m).coverage['uring.file']).toBe('partial');
    r.uringFiles[0].path = 'b';
    expect(verify(manifest, r, m).coverage['uring.file']).toBe('wrong');
    r.uringFiles[0].path = 'pipe:[78]';
    expect(verify(manifest, r, m).coverage['uring.file']).toBe('wrong');
  });
});

describe('partial and not-recoverable verdicts', () => {
  it('gives procfs-like answers partial and not-recoverable verdicts instead of guessing', () => {
    const r = perfect();
    for (const f of r.fds) f.id = { how: 'none' };
    r.epollItems[0].target = { how: 'none' };
    r.epollItems[0].targetIno = 10;
    r.epollItems[1].target = { how: 'none' };
    r.epollItems[1].targetIno = 77;
    r.uringFiles[0] = { pid: 100, ringFd: 7, index: 0, file: { how: 'none' }, path: '/tmp/a' };
    r.uringFiles[1] = { pid: 100, ringFd: 7, index: 2, file: { how: 'none' }, path: 'pipe:[77]' };
    r.rings.pop();
    r.uringFiles.pop();
    r.uringRegs = [];
    const v = verify(manifest, r, method({ 'fd.identity': 'none', 'epoll.target': 'partial', 'uring.file': 'partial', 'uring.ring': { level: 'partial', why: 'test', unheldOnly: true } }));
    expect(v.mismatches).toEqual([]);
    expect(v.coverage['fd.identity']).toBe('not-recoverable');
    expect(v.coverage['epoll.target']).toBe('partial');
    expect(v.coverage['uring.file']).toBe('partial');
    expect(v.coverage['uring.ring']).toBe('partial');
  });
});

describe('notes', () => {
  it('refuses an answer whose method says a descriptor vanished, records were dropped or a walk was cut', () => {
    for (const code of [2, 3, 4]) {
      const r = perfect();
      r.notes.push({ pid: 100, code, fd: -1, count: 1, text: '' });
      expect(verify(manifest, r, method()).ok, `note ${code}`).toBe(false);
    }
    const text = perfect();
    text.notes.push({ pid: 100, code: 0, fd: -1, count: 1, text: 'fds=6' });
    expect(verify(manifest, text, method()).ok).toBe(true);
  });
});
