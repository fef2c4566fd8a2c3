/**
 * The CRIU lane (bench/criu/): its log and image readers on committed CRIU
 * output (bench/criu/fixtures/), its checker against manifests (doctored
 * ones must come out wrong), and end to end: a real criu dump of small
 * workloads. The end-to-end tests need a usable CRIU: criu from PATH, or one
 * built into the cache; when neither exists and the pinned tarball is on this
 * machine (../shared/third_party/), beforeAll builds it (npm run criu:build:
 * about 1.5 min on 2 CPUs, plus apt-get of the build dependencies the first
 * time). Without any, those tests are skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../bench/native.js';
import type { ResultsFile } from '../bench/schema.js';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../bench/manifest.js';
import { startWorkload, stopAllWorkloads, type Workload } from '../bench/workload.js';
import { checkImages } from '../bench/criu/check.js';
import { contextLine, criuDump, externalStdioFlags, frozenCgroupOf, type CriuResult } from '../bench/criu/dump.js';
import { BUILD_SCRIPT, buildCriu, buildStatus, defaultTarball, findCriu, type CriuFound } from '../bench/criu/find.js';
import { critPython, decodeAll, readImagesWith, WANTED, type CriuImages } from '../bench/criu/images.js';
import { parseJson } from '../bench/criu/json.js';
import { parseDumpLog } from '../bench/criu/log.js';
import { classifyRefusal, headlineError } from '../bench/criu/refusals.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(REPO, 'bench/criu/fixtures');

const fixtureLog = (name: string) => readFileSync(path.join(FIX, name, 'dump.log'), 'utf8');
const fixtureManifest = (name: string) => JSON.parse(readFileSync(path.join(FIX, name, 'manifest.json'), 'utf8')) as Manifest;

/** the committed images of a fixture, decoded from crit's JSON next to them */
async function fixtureImages(name: string): Promise<CriuImages> {
  const dir = path.join(FIX, name);
  const names = readdirSync(dir).filter((n) => n.endsWith('.json') && n !== 'manifest.json').map((n) => (n === 'stats-dump.json' ? 'stats-dump' : n.replace(/\.json$/, '.img')));
  return readImagesWith(names, async (n) => parseJson(readFileSync(path.join(dir, n === 'stats-dump' ? 'stats-dump.json' : n.replace(/\.img$/, '.json')), 'utf8')));
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('CRIU output is read exactly', () => {
  it('crit JSON with u64 fields keeps them exact (epoll data above 2^53)', () => {
    const v = parseJson('{"data": 1945555039024054273, "small": 7, "neg": -3, "f": 1.5, "s": "a\\"b", "l": [true, null]}') as Record<string, unknown>;
    expect(v.data).toBe(0x1b00000000000001n);
    expect(v.small).toBe(7);
    expect(v.neg).toBe(-3);
    expect(v.f).toBe(1.5);
    expect(v.s).toBe('a"b');
    expect(v.l).toEqual([true, null]);
    expect(() => parseJson('{"a": 1,}')).toThrow(/offset/);
  });

  it("the -v4 log's time stamps give each task's fd collection, file dump and memory dump", () => {
    const log = parseDumpLog(fixtureLog('epoll-16'));
    // bench/criu/fixtures/epoll-16/dump.log, lines 440-1353:
    //   11330: Collecting fds 66.384, Found 21 66.445, opened files 66.841, pages 67.705, core 68.354
    //   11331: Collecting fds 69.442, Found 4 69.461, opened files 69.799, pages 69.935, core 70.556
    expect(log.tasks).toEqual([
      { pid: 11330, fds: 21, collectFdsMs: 0.061, dumpFilesMs: 0.864, dumpPagesMs: 0.649 },
      { pid: 11331, fds: 4, collectFdsMs: 0.019, dumpFilesMs: 0.136, dumpPagesMs: 0.621 },
    ]);
    expect(log.collectFdsMs).toBe(0.08);
    expect(log.dumpFilesMs).toBe(1);
    expect(log.fileStateMs).toBe(1.08);
    expect(log.startupMs).toBe(61.689);
    expect(log.seizeMs).toBe(1.896);
    expect(log.tasksMs).toBe(7.392);
    expect(log.lastMs).toBe(71.112);
    expect(log.finished).toBe(true);
    expect(log.filesIncomplete).toBe(false);
    expect(log.errors).toEqual(['Error (criu/util.c:1534): rlimit: Can\'t setup RLIMIT_NOFILE for self: Operation not permitted']);
  });

  it('a file dump cut short by a refusal counts up to the last time stamp and is marked incomplete', () => {
    const log = parseDumpLog(fixtureLog('refused-files-16'));
    expect(log.finished).toBe(false);
    expect(log.filesIncomplete).toBe(true);
    expect(log.tasks).toHaveLength(1);
    expect(log.tasks[0].dumpFilesMs).toBeGreaterThan(0);
    expect(log.tasks[0].dumpPagesMs).toBeUndefined();
  });

  it("the stats-dump image gives CRIU's own freezing, frozen and memory times (µs)", async () => {
    const img = await fixtureImages('epoll-16');
    expect(img.stats).toEqual({
      freezingUs: 319, frozenUs: 8625, memdumpUs: 1037, memwriteUs: 216, pagesScanned: 111, pagesWritten: 71,
      shpagesScanned: 1048576, shpagesWritten: 45, irmapResolveUs: 0,
    });
    expect(img.pstree.map((t) => t.pid)).toEqual([11330, 11331]);
    expect(img.fdinfo.get(11330)).toHaveLength(21);
    expect(img.fdinfo.get(11331)?.map((e) => e.fd)).toEqual([0, 1, 2, 4]);
  });

  it.each([
    ['refused-files-16', 'packetized-pipe', 'Error (criu/pipes.c:490): The packetized mode for pipes is not supported yet'],
    ['refused-epoll-pipe-16', 'packetized-pipe', 'Error (criu/pipes.c:490): The packetized mode for pipes is not supported yet'],
    ['refused-epoll-target-16', 'epoll-target-elsewhere', 'Error (criu/cr-dump.c:1703): Dump eventpoll (pid: 13160) failed with -1'],
    ['refused-io_uring-16', 'io_uring', 'Error (criu/proc_parse.c:502): Unknown shit 600 (anon_inode:[io_uring])'],
    ['refused-files-10000', 'pipe-limit', 'Error (criu/pipes.c:416): OOM storing pipe'],
  ])('a refusal (%s) is classified as %s and quoted with CRIU\'s own line', (name, cause, line) => {
    const text = fixtureLog(name);
    const r = classifyRefusal(text, parseDumpLog(text).errors);
    expect(r.cause).toBe(cause);
    expect(r.lines).toContain(line);
    expect(headlineError(r.lines)).toBe(line);
  });

  it("the epoll refusal quotes the debug line that names the target CRIU could not find", () => {
    const text = fixtureLog('refused-epoll-target-16');
    const r = classifyRefusal(text, parseDumpLog(text).errors);
    expect(r.lines[0]).toBe('epoll: kid_lookup_epoll: no match pid 13160 efd 3 tfd 4 toff 0');
    expect(r.kind).toBe('epoll.target');
  });

  it('an unknown failure keeps every error line', () => {
    const text = '(00.000100) Error (criu/x.c:1): something new\n(00.000200) Error (criu/cr-dump.c:2128): Dumping FAILED.\n';
    const r = classifyRefusal(text, parseDumpLog(text).errors);
    expect(r.cause).toBe('unknown');
    expect(headlineError(r.lines)).toBe('Error (criu/x.c:1): something new');
  });
});

describe('a dump is checked against the manifest, not trusted', () => {
  it('the committed files-3 images agree with their manifest', async () => {
    const c = checkImages(fixtureManifest('files-3'), await fixtureImages('files-3'));
    expect(c.mismatches).toEqual([]);
    expect(c.coverage).toMatchObject({ fd: 'recovered', 'fd.meta': 'partial', 'fd.pos': 'recovered', 'fd.flags': 'recovered', 'fd.identity': 'recovered', 'epoll.item': 'absent' });
    expect(c.counts.fd.checked).toBe(6);
  });

  it('epoll-16: stale tfds rewritten to a holder are partial; the two items of one file through fd and dup collapse to one tfd: wrong', async () => {
    const c = checkImages(fixtureManifest('epoll-16'), await fixtureImages('epoll-16'));
    // case (a): added as tfd 6, moved by dup to 7, 6 reused: the image says 7 (a holder) -> partial
    expect(c.notes).toContain('1 epoll items: CRIU stores a descriptor that holds the target now, not the tfd the item was added with');
    // case (c): one pipe added through fd 8 and its dup fd 10; the image gives both tfd 8
    expect(c.mismatches).toEqual([{
      method: 'criu-dump', kind: 'epoll.item', pid: 11330, where: 'epoll 5 item data=0x1b00000000000004',
      expected: 'tfd 10', got: 'tfd 8, which item data=0x1b00000000000003 has for the same open file (one item lost)',
    }]);
    expect(c.coverage['epoll.item']).toBe('wrong');
    expect(c.coverage['epoll.target']).toBe('recovered');
    expect(c.coverage['fd.identity']).toBe('recovered');
  });

  const doctored: [string, (m: Manifest) => void, string, RegExp][] = [
    ['a regular file position', (m) => { const f = Object.values(m.files).find((x) => x.kind === 'reg')!; f.pos += 1; }, 'fd.pos', /^pos /],
    ['file flags', (m) => { m.files.f4.flags ^= 0o4000; }, 'fd.flags', /^flags /],
    ['a descriptor the dump does not have', (m) => { m.tasks[0].fds.push({ fd: 999, file: 'f4' }); }, 'fd', /^missing$/],
    ['a descriptor missing from the manifest', (m) => { m.tasks[0].fds = m.tasks[0].fds.filter((f) => f.fd !== 4); }, 'fd', /^in the image/],
    ['two open files merged into one label', (m) => { const t = m.tasks[0]; t.fds.find((f) => f.fd === 4)!.file = t.fds.find((f) => f.fd === 3)!.file; }, 'fd.identity', /file id/],
    ['a socket inode', (m) => { const f = Object.values(m.files).find((x) => x.kind === 'socket')!; f.ino += 1; }, 'fd.meta', /^ino /],
    ['a path', (m) => { const f = Object.values(m.files).find((x) => x.kind === 'reg')!; f.path += '.x'; }, 'fd.meta', /\//],
  ];
  it.each(doctored)('files-3 with a doctored manifest (%s) is wrong', async (_what, doctor, kind, got) => {
    const m = clone(fixtureManifest('files-3'));
    doctor(m);
    const c = checkImages(m, await fixtureImages('files-3'));
    expect(c.ok).toBe(false);
    expect(c.coverage[kind as keyof typeof c.coverage]).toBe('wrong');
    expect(c.mismatches.some((x) => x.kind === kind && got.test(x.got))).toBe(true);
  });

  const doctoredEpoll: [string, (m: Manifest) => void, string][] = [
    ['events of an item', (m) => { m.epoll[0].items[1].events ^= 1; }, 'epoll.item'],
    ['an item the dump lacks', (m) => { m.epoll[0].items.push({ ...m.epoll[0].items[1], data: '0x1b000000000000ff' }); }, 'epoll.item'],
    ['an item the manifest lacks', (m) => { m.epoll[0].items.splice(1, 1); }, 'epoll.item'],
    ['the target of an item', (m) => { m.epoll[0].items[1].target = 'f13'; }, 'epoll.target'],
  ];
  it.each(doctoredEpoll)('epoll-16 with a doctored manifest (%s) is wrong', async (_what, doctor, kind) => {
    const m = clone(fixtureManifest('epoll-16'));
    doctor(m);
    const c = checkImages(m, await fixtureImages('epoll-16'));
    expect(c.mismatches.filter((x) => x.kind === kind && !x.where.endsWith('0x1b00000000000004')).length).toBeGreaterThan(0);
    expect(c.coverage[kind as keyof typeof c.coverage]).toBe('wrong');
  });

  it("the tree's stdio (the harness's unix socketpairs) are named to CRIU as external by inode", () => {
    expect(externalStdioFlags(fixtureManifest('files-3'))).toEqual(['--external', 'unix[1599268]', '--external', 'unix[1599270]', '--external', 'unix[1599272]']);
  });
});

describe('npm run criu:build and finding CRIU', () => {
  it('bad input to criu:build is one line and exit 2', () => {
    for (const args of [['--bogus'], ['--src', '/nonexistent.tar.xz'], ['--src'], ['-j', 'x'], ['--src', BUILD_SCRIPT]]) {
      const r = spawnSync('bash', [BUILD_SCRIPT, ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^criu:build: /);
    }
  });

  it('without CRIU in PATH or the cache, the lane is skipped with a reason that says how to build one', () => {
    const r = findCriu({ cache: '/nonexistent-iterbench-criu-cache', usePath: false });
    expect(r.state).toBe('skipped');
    expect(r.state === 'skipped' && r.reason).toMatch(/npm run criu:build -- --src TARBALL/);
  });
});

// ---- end to end ---------------------------------------------------------------
let criu: CriuFound = { state: 'skipped', reason: 'not looked for yet' };
let buildNote = '';

beforeAll(() => {
  criu = findCriu();
  if (criu.state === 'ok') return;
  const src = defaultTarball();
  if (!src) return;
  const st = buildStatus(src);
  const b = buildCriu(src);
  buildNote = b.ok ? `built CRIU from ${src} in ${b.seconds.toFixed(0)} s${st?.cached ? ' (cached)' : ''}` : `building CRIU failed: ${b.error}`;
  process.stderr.write(`criu.test: ${buildNote}\n`);
  criu = findCriu();
  if (criu.state !== 'ok' && !b.ok) criu = { state: 'skipped', reason: `${criu.reason}; ${buildNote}` };
}, 20 * 60_000);

afterAll(() => stopAllWorkloads());

function imagesLeft(): string[] {
  return readdirSync('/dev/shm').filter((n) => n.startsWith(`iterbench-criu-${process.pid}-`));
}

async function withWorkload<T>(scenario: Manifest['scenario'], files: number, fn: (w: Workload) => Promise<T>): Promise<T> {
  const s = await startWorkload({ scenario, files });
  if (s.state !== 'ready') throw new Error(`workload ${scenario} ${files}: ${s.state}: ${s.reason}`);
  try {
    return await fn(s.workload);
  } finally {
    await s.workload.stop();
  }
}

describe('criu dump end to end', () => {
  it('dumps a small files tree (--files 3): verified against the manifest, timed, the tree intact', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const r = await withWorkload('files', 3, async (w) => {
      const res = await criuDump({ rootPid: w.rootPid, manifest: w.manifest }, { criu: c, quietRepeats: 1 });
      expect(w.alive()).toBe(true);
      return res;
    });
    expect(r.state, (r as { reason?: string }).reason).toBe('verified');
    if (r.state !== 'verified') return;
    expect(r.intact).toEqual({ state: 'intact', fds: 6 });
    expect(r.coverage).toMatchObject({ fd: 'recovered', 'fd.pos': 'recovered', 'fd.flags': 'recovered', 'fd.identity': 'recovered' });
    const t = r.timing;
    expect(t.wallMs).toBeGreaterThan(0);
    expect(t.log.finished).toBe(true);
    expect(t.log.tasks).toHaveLength(1);
    expect(t.log.tasks[0].fds).toBe(6);
    expect(t.fileStateMs).toBeGreaterThan(0);
    expect(t.fileStateMs).toBeLessThan(t.wallMs);
    expect(t.fileShare).toBeCloseTo(t.fileStateMs / t.wallMs, 10);
    expect(t.stats?.frozenUs).toBeGreaterThan(0);
    expect(t.quietWallMs).toHaveLength(1);
    expect(r.criu?.flags).toContain('--shell-job');
    expect(contextLine(r)).toMatch(/^of a \d+ ms dump, \d+ ms \(\d+ %\) is file state$/);
    expect(imagesLeft()).toEqual([]);
  });

  it("dumps the CRIU-compatible shared tree (--files 200): sharing across 4 tasks by fork, dup and SCM_RIGHTS checked by CRIU's file ids", async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const s = await startWorkload({ scenario: 'shared', files: 200, criuCompatible: true });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    let r: CriuResult;
    try {
      expect(s.workload.manifest.params.criuCompatible).toBe(true);
      r = await criuDump({ rootPid: s.workload.rootPid, manifest: s.workload.manifest }, { criu: c });
    } finally {
      await s.workload.stop();
    }
    expect(r.state, (r as { reason?: string }).reason).toBe('verified');
    if (r.state !== 'verified') return;
    expect(r.tasks).toBe(4);
    expect(r.coverage['fd.identity']).toBe('recovered');
    expect(r.counts['fd.identity'].checked).toBe(r.fds);
    expect(r.timing.log.tasks).toHaveLength(4);
    expect(r.intact.state).toBe('intact');
  });

  for (const [scenario, files] of [['epoll', 64], ['all', 64]] as const) it(`dumps the CRIU-compatible ${scenario} tree (--files ${files}): case (c) in an instance without stale or reused tfds, every epoll item verified`, async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const s = await startWorkload({ scenario, files, criuCompatible: true });
    if (s.state !== 'ready') throw new Error(`workload: ${s.state}: ${s.reason}`);
    let r: CriuResult;
    try {
      const m = s.workload.manifest;
      expect(m.cases.some((x) => x.startsWith('left out for CRIU: (c) in the instance of (a) and (b)'))).toBe(true);
      // (c)'s two items share one instance, and no item there has a stale or reused tfd
      const withC = m.epoll.filter((e) => e.items.some((it) => it.note?.startsWith('(c)')));
      expect(withC).toHaveLength(1);
      expect(withC[0].items.filter((it) => it.note?.startsWith('(c)'))).toHaveLength(2);
      expect(withC[0].items.some((it) => /^\((a|b)\)/.test(it.note ?? ''))).toBe(false);
      expect(m.epoll.some((e) => e.items.some((it) => it.note?.startsWith('(a)')))).toBe(true);
      r = await criuDump({ rootPid: s.workload.rootPid, manifest: m }, { criu: c });
    } finally {
      await s.workload.stop();
    }
    expect(r.state, (r as { reason?: string }).reason).toBe('verified');
    if (r.state !== 'verified') return;
    // (a)'s stale tfd comes back as a descriptor that holds the target now: partial, not wrong
    expect(r.coverage['epoll.item']).toBe('partial');
    expect(r.counts['epoll.item'].wrong).toBe(0);
    expect(r.counts['epoll.item'].checked).toBe(s.workload.manifest.epoll.reduce((a, e) => a + e.items.length, 0));
    expect(r.intact.state).toBe('intact');
  });

  it('a live dump checked against a doctored manifest is wrong, with the mismatch listed', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const r = await withWorkload('files', 3, async (w) => {
      const m = clone(w.manifest);
      const reg = Object.values(m.files).find((f) => f.kind === 'reg')!;
      reg.pos += 100;
      return criuDump({ rootPid: w.rootPid, manifest: m }, { criu: c });
    });
    expect(r.state).toBe('wrong');
    if (r.state !== 'wrong') return;
    expect(r.reason).toMatch(/^the images disagree with the manifest \(1 mismatches: fd.pos\)/);
    expect(r.mismatches[0]).toMatchObject({ method: 'criu-dump', kind: 'fd.pos' });
    expect(imagesLeft()).toEqual([]);
  });

  it('io_uring is refused by CRIU: a coverage row with its own error line, the tree intact', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const r: CriuResult = await withWorkload('io_uring', 8, (w) => criuDump({ rootPid: w.rootPid, manifest: w.manifest }, { criu: c }));
    expect(r.state).toBe('refused');
    if (r.state !== 'refused') return;
    expect(r.refusal.cause).toBe('io_uring');
    expect(r.reason).toMatch(/^Error \(criu\/proc_parse\.c:\d+\): Unknown shit 600 \(anon_inode:\[io_uring\]\)$/);
    expect(r.intact.state).toBe('intact');
    expect(r.exitCode).toBe(1);
    expect(imagesLeft()).toEqual([]);
  });

  it('a tree the harness froze is dumped through its cgroup (--freeze-cgroup) and stays frozen; without it, errored at once', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    await withWorkload('files', 3, async (w) => {
      const method = await w.freeze();
      if (method === 'sigstop') return ctx.skip('no cgroup freezer here (SIGSTOP)');
      const cg = frozenCgroupOf(w.rootPid);
      expect(cg).toBeDefined();
      const t0 = performance.now();
      const plain = await criuDump({ rootPid: w.rootPid, manifest: w.manifest }, { criu: c });
      expect(plain.state).toBe('errored');
      expect(plain.state === 'errored' && plain.reason).toMatch(/^the tree is frozen in .*: thaw it first, or pass freezeCgroup/);
      expect(performance.now() - t0).toBeLessThan(5000);
      const r = await criuDump({ rootPid: w.rootPid, manifest: w.manifest }, { criu: c, freezeCgroup: cg });
      expect(r.state, (r as { reason?: string }).reason).toBe('verified');
      expect(r.state === 'verified' && r.intact.state).toBe('intact');
      expect(r.criu?.flags).toEqual(expect.arrayContaining(['--freeze-cgroup', cg]));
      expect(frozenCgroupOf(w.rootPid)).toBe(cg);
      await w.thaw();
    });
  });

  it('decoding every image in one pycriu process gives exactly what crit decode gave (committed JSON)', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const python = critPython(c.crit);
    if (!python) return ctx.skip(`${c.crit} has no python with pycriu beside it: the lane decodes image by image`);
    for (const name of ['files-3', 'epoll-16']) {
      const dir = path.join(FIX, name);
      const imgs = readdirSync(dir).filter((n) => WANTED.test(n));
      const docs = await decodeAll(python, imgs.map((n) => path.join(dir, n)));
      expect([...docs.keys()].sort()).toEqual([...imgs].sort());
      for (const n of imgs) {
        const crit = parseJson(readFileSync(path.join(dir, n === 'stats-dump' ? 'stats-dump.json' : n.replace(/\.img$/, '.json')), 'utf8'));
        expect(docs.get(n), `${name}/${n}`).toEqual(crit);
      }
    }
  });

  it('refuses to act on a process the harness did not start', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const m = clone(fixtureManifest('files-3'));
    m.rootPid = 1;
    const r = await criuDump({ rootPid: 1, manifest: m }, { criu: c });
    expect(r.state).toBe('errored');
    expect(r.state === 'errored' && r.reason).toMatch(/is not a child of this harness/);
  });

  it('leaves no workload process and no images directory behind', (ctx) => {
    if (criu.state !== 'ok') return ctx.skip(criu.reason);
    const mine = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'iterbench-workload'], { encoding: 'utf8' }).stdout.trim();
    expect(mine).toBe('');
    expect(imagesLeft()).toEqual([]);
    expect(existsSync(BUILD_SCRIPT)).toBe(true);
  });
});

describe('the CRIU lane in a bench run', () => {
  it('dumps the default tree (refused, with CRIU\'s line) and the variant it can dump (verified), next to the methods on the same tree', async (ctx) => {
    const c = criu;
    if (c.state !== 'ok') return ctx.skip(c.reason);
    const out = mkdtempSync(path.join(tmpdir(), 'iterbench-criu-bench-'));
    const r = await execa(process.execPath, ['--import', 'tsx', 'bench/cli/bench.ts', '--scenarios', 'files', '--sizes', '100', '--criu', 'on', '--methods', 'procfs,kcmp-tree,bpf-all,floor-procfs', '--min-rounds', '2', '--replicas', '1', '--budget', '2', '--no-charts', '--quiet', '--out', out], { cwd: REPO_ROOT, reject: false, timeout: 300_000 });
    try {
      expect(r.exitCode, r.stderr).toBe(0);
      const res = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
      const lane = res.criu!;
      expect(lane.state).toBe('ran');
      if (lane.state !== 'ran') return;
      expect(lane.sizes).toEqual([100]);
      const dflt = lane.dumps.find((d) => !d.variant)!;
      const variant = lane.dumps.find((d) => d.variant === 'criu-compatible')!;
      // the default files tree holds O_DIRECT pipes, which CRIU 4.2 refuses
      expect(dflt.state).toBe('refused');
      if (dflt.state === 'refused') expect(dflt.refusal.lines.join('\n')).toMatch(/packetized mode for pipes/);
      expect(variant.state, 'reason' in variant ? variant.reason : '').toBe('verified');
      // the methods were measured on the variant's tree too, and kept apart from the sweep
      const onVariant = res.measurements.filter((m) => m.instance === variant.instance);
      expect(onVariant.map((m) => m.method).sort()).toEqual(['bpf-all', 'kcmp-tree', 'procfs']);
      expect(onVariant.every((m) => m.variant === 'criu-compatible' && m.state === 'verified')).toBe(true);
      const text = readFileSync(path.join(out, 'summary.txt'), 'utf8').replace(/\s+/g, ' ');
      expect(text).toMatch(/files \(default tree\): REFUSED: an O_DIRECT/);
      expect(text).toMatch(/files \(criu-compatible variant\), \d+ fds: of a \d+ ms dump, \d+ ms \(\d+ %\) is file state; on the same tree here: procfs/);
      expect(imagesLeft()).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
