import { describe, expect, it } from 'vitest';
import type { Recovered } from '../bench/decode.js';
import type { Manifest } from '../bench/manifest.js';
import type { DeclaredCoverage, MethodInfo } from '../bench/native.js';
import { COVERAGE_KINDS, type CoverageKind } from '../bench/schema.js';
import { verify } from '../bench/verify.js';

const manifest: Manifest = {
  schema: 1,
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
  },
  epoll: [{ pid: 100, epfd: 6, file: 'ep', items: [{ tfd: 3, events: 1, data: '0x10', target: 'a' }, { tfd: 9, events: 4, data: '0x11', target: 'c' }] }],
  io_uring: [{ pid: 100, fd: 7, file: 'ring', files: ['b', null, 'c'], buffers: [{ addr: '0x7f0000', len: 4096 }] }],
  cases: [],
};

function method(levels: Partial<Record<CoverageKind, DeclaredCoverage['level']>>): Pick<MethodInfo, 'name' | 'coverage'> {
  return {
    name: 'test',
    coverage: Object.fromEntries(COVERAGE_KINDS.map((k) => [k, { level: levels[k] ?? 'full' }])) as MethodInfo['coverage'],
  };
}

/** What a perfect identity-capable method (bpf-all) would report. */
function perfect(): Recovered {
  const key = (l: string) => ({ how: 'key' as const, key: `k${l}` });
  const fd = (pid: number, n: number, l: string) => {
    const f = manifest.files[l];
    return { pid, fd: n, kind: f.kind, dev: f.dev, ino: f.ino, pos: f.pos, flags: f.flags, id: key(l) };
  };
  return {
    fds: [fd(100, 3, 'a'), fd(100, 4, 'a'), fd(100, 5, 'b'), fd(100, 6, 'ep'), fd(100, 7, 'ring'), fd(101, 3, 'a')],
    epollItems: [
      { pid: 100, epfd: 6, tfd: 3, events: 1, data: '0x10', target: key('a') },
      { pid: 100, epfd: 6, tfd: 9, events: 4, data: '0x11', target: key('c') },
    ],
    rings: [{ pid: 100, fd: 7, nrFiles: 3, nrBufs: 1, tablesMissing: false, noFiles: false, noBufs: false }],
    uringFiles: [
      { pid: 100, ringFd: 7, index: 0, file: key('b') },
      { pid: 100, ringFd: 7, index: 2, file: key('c') },
    ],
    uringBufs: [{ pid: 100, ringFd: 7, index: 0, addr: '0x7f0000', len: 4096 }],
    notes: [],
  };
}

describe('verification against the ground truth', () => {
  it('accepts an exact answer and calls every kind recovered', () => {
    const v = verify(manifest, perfect(), method({}));
    expect(v.mismatches).toEqual([]);
    expect(Object.values(v.coverage).every((c) => c === 'recovered')).toBe(true);
  });

  it('catches a dup reported as a separate open file', () => {
    const r = perfect();
    r.fds[1].id = { how: 'key', key: 'kother' };
    const v = verify(manifest, r, method({}));
    expect(v.ok).toBe(false);
    expect(v.coverage['fd.identity']).toBe('wrong');
  });

  it('catches two open files of one inode merged into one', () => {
    const r = perfect();
    r.fds[2].id = { how: 'key', key: 'ka' };
    expect(verify(manifest, r, method({})).coverage['fd.identity']).toBe('wrong');
  });

  it('catches a wrong file position and a missing descriptor', () => {
    const r = perfect();
    r.fds[0].pos = 6;
    r.fds.pop();
    const v = verify(manifest, r, method({}));
    expect(v.coverage['fd.pos']).toBe('wrong');
    expect(v.coverage.fd).toBe('wrong');
    expect(v.mismatches.find((m) => m.kind === 'fd')).toMatchObject({ pid: 101, where: 'fd 3', got: 'missing' });
  });

  it('catches a ghost epoll item and a stale tfd', () => {
    const r = perfect();
    r.epollItems[0].tfd = 4;
    r.epollItems.push({ pid: 100, epfd: 6, tfd: 12, events: 1, data: '0x99', target: { how: 'none' } });
    const v = verify(manifest, r, method({}));
    expect(v.coverage['epoll.item']).toBe('wrong');
    expect(v.mismatches.map((m) => m.where)).toContain('epoll 6 item tfd=12');
  });

  it('catches an empty io_uring slot reported occupied and a wrong buffer length', () => {
    const r = perfect();
    r.uringFiles.push({ pid: 100, ringFd: 7, index: 1, file: { how: 'key', key: 'kx' } });
    r.uringBufs[0].len = 8192;
    const v = verify(manifest, r, method({}));
    expect(v.coverage['uring.file']).toBe('wrong');
    expect(v.coverage['uring.buf']).toBe('wrong');
  });

  it('reports a missing io_uring table (trylock failed) as wrong, never as recovered', () => {
    const r = perfect();
    r.rings[0].tablesMissing = true;
    r.uringFiles = [];
    r.uringBufs = [];
    const v = verify(manifest, r, method({}));
    expect(v.coverage['uring.file']).toBe('wrong');
    expect(v.mismatches[0].got).toMatch(/ring lock contended/);
  });

  it('gives procfs-like answers partial and not-recoverable verdicts instead of guessing', () => {
    const r = perfect();
    for (const f of r.fds) f.id = { how: 'none' };
    r.epollItems[0].target = { how: 'none' };
    r.epollItems[0].targetIno = 10;
    r.epollItems[1].target = { how: 'none' };
    r.epollItems[1].targetIno = 77;
    r.uringFiles[0].file = { how: 'none' };
    r.uringFiles[0].path = '/tmp/a';
    r.uringFiles[1].file = { how: 'none' };
    r.uringFiles[1].path = 'pipe:[77]';
    const v = verify(manifest, r, method({ 'fd.identity': 'none', 'epoll.target': 'partial', 'uring.file': 'partial' }));
    expect(v.mismatches).toEqual([]);
    expect(v.coverage['fd.identity']).toBe('not-recoverable');
    expect(v.coverage['epoll.target']).toBe('partial');
    expect(v.coverage['uring.file']).toBe('partial');
  });

  it('accepts the short name older kernels print for a registered file, and catches a wrong one', () => {
    const r = perfect();
    r.uringFiles[0].file = { how: 'none' };
    r.uringFiles[0].path = 'a';
    const m = method({ 'uring.file': 'partial' });
    expect(verify(manifest, r, m).coverage['uring.file']).toBe('partial');
    r.uringFiles[0].path = 'b';
    expect(verify(manifest, r, m).coverage['uring.file']).toBe('wrong');
  });

  it('catches a procfs-style target inode that does not match', () => {
    const r = perfect();
    r.epollItems[1].target = { how: 'none' };
    r.epollItems[1].targetIno = 78;
    expect(verify(manifest, r, method({ 'epoll.target': 'partial' })).coverage['epoll.target']).toBe('wrong');
  });

  it('resolves holder references through the descriptors of the manifest', () => {
    const r = perfect();
    r.epollItems[0].target = { how: 'holder', pid: 101, fd: 3 };
    expect(verify(manifest, r, method({})).ok).toBe(true);
    r.epollItems[0].target = { how: 'holder', pid: 100, fd: 5 };
    expect(verify(manifest, r, method({})).coverage['epoll.target']).toBe('wrong');
  });

  it('says absent for kinds the scenario does not have', () => {
    const m: Manifest = { ...manifest, epoll: [], io_uring: [] };
    const r = perfect();
    r.epollItems = [];
    r.rings = [];
    r.uringFiles = [];
    r.uringBufs = [];
    const v = verify(m, r, method({}));
    expect(v.coverage['epoll.item']).toBe('absent');
    expect(v.coverage['uring.buf']).toBe('absent');
  });
});
