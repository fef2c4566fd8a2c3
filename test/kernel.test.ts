/**
 * The kernel lane (kernel/): each base's patch series (kernel/patches/6.1,
 * kernel/patches/6.12) applies to Debian's linux-source-<base> and reads
 * like a series; the scripts are sound; the config fragments carry what
 * the lane needs; and, when kernels have been built into the cache
 * (npm run kernel:build), the series' selftests pass in a VM (npm run
 * kernel:test, on the patched and debug flavors) and the real iterators
 * recover a small workload exactly. Without a built kernel those tests are
 * skipped with a message saying how to build one (CI does not build
 * kernels), and so is the 6.12 apply test when linux-source-6.12 is not
 * installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Coverage, ResultsFile } from '../bench/schema.js';
import { realIterObject } from '../kernel/real-iter-obj.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KERNEL = path.join(REPO, 'kernel');
const BASES = ['6.1', '6.12'] as const;
type Base = (typeof BASES)[number];
const patchDir = (base: Base): string => path.join(KERNEL, 'patches', base);
const tarball = (base: Base): string => `/usr/src/linux-source-${base}.tar.xz`;
const srcTop = (base: Base): string => `linux-source-${base}`;
const CACHE = process.env.IB_KERNEL_CACHE ?? '/var/cache/iterbench/kernel';

const series = (base: Base = '6.1'): string[] =>
  readFileSync(path.join(patchDir(base), 'series'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

/** paths (relative to the source top) a patch modifies or creates */
function touched(patch: string): string[] {
  const out: string[] = [];
  for (const m of patch.matchAll(/^\+\+\+ b\/(\S+)/gm)) out.push(m[1]);
  return out;
}

/** paths a patch modifies that exist before it */
function modified(patch: string): string[] {
  const out: string[] = [];
  for (const m of patch.matchAll(/^--- a\/(\S+)/gm)) out.push(m[1]);
  return out;
}

/** the Subject header, unfolded */
function subject(patch: string): string {
  return /^Subject: (.*(?:\n[ \t].*)*)/m.exec(patch)?.[1].replace(/\n[ \t]+/g, ' ') ?? '';
}

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, encoding: 'utf8' });
}

/** a pristine source tree kernel/build.sh extracted, if there is one */
function cachedPristine(base: Base): string | undefined {
  const src = path.join(CACHE, 'src');
  if (!existsSync(src)) return undefined;
  for (const v of readdirSync(src)) {
    const d = path.join(src, v, srcTop(base));
    if (existsSync(path.join(d, '.iterbench-extracted'))) return d;
  }
  return undefined;
}

/** the installed source package's version, as kernel/build.sh keys it */
function srcVersion(base: Base = '6.1'): string {
  return execFileSync('dpkg-query', ['-W', '-f=${Version}', srcTop(base)], { encoding: 'utf8' }).trim();
}

/**
 * Into dir/linux-source-<base>: the pristine files the series modifies,
 * from kernel/build.sh's extracted tree when there is one, else from the
 * tarball (which xz has to decompress whole: ~20 s).
 */
function pristineSubset(dir: string, base: Base = '6.1'): string {
  const tb = tarball(base);
  expect(existsSync(tb), `${tb} is missing: apt-get install linux-source-${base}`).toBe(true);
  const all = series(base).map((n) => readFileSync(path.join(patchDir(base), n), 'utf8'));
  const created = new Set(all.flatMap((p) => [...p.matchAll(/^--- \/dev\/null\n\+\+\+ b\/(\S+)/gm)].map((m) => m[1])));
  const files = [...new Set(all.flatMap((p) => modified(p)))].filter((f) => !created.has(f));
  const top = path.join(dir, srcTop(base));
  let pristine = cachedPristine(base);
  if (!pristine) {
    if (!tarSubset[base]) {
      tarSubset[base] = mkdtempSync(path.join(os.tmpdir(), 'iterbench-ksrc-'));
      execFileSync('tar', ['-C', tarSubset[base], '-xJf', tb, ...files.map((f) => `${srcTop(base)}/${f}`)]);
    }
    pristine = path.join(tarSubset[base], srcTop(base));
  }
  for (const f of files) {
    mkdirSync(path.dirname(path.join(top, f)), { recursive: true });
    cpSync(path.join(pristine, f), path.join(top, f));
  }
  return top;
}
const tarSubset: Partial<Record<Base, string>> = {};
afterAll(() => {
  for (const d of Object.values(tarSubset)) rmSync(d, { recursive: true, force: true });
});

describe.each(BASES)('kernel patch series for %s', (base) => {
  const names = series(base);
  const dir = patchDir(base);
  const read = (n: string): string => readFileSync(path.join(dir, n), 'utf8');

  it('lists one UAPI patch, one patch per iterator target and the selftests, in order, as bpf-next v4', () => {
    expect(names.length).toBe(6);
    const subjects = names.map((n) => subject(read(n)));
    expect(subjects[0]).toMatch(/^\[PATCH bpf-next v4 1\/6\] bpf: .*bpf_iter_link_info/);
    expect(subjects[1]).toMatch(/^\[PATCH bpf-next v4 2\/6\] io_uring: .*registered buffers/);
    expect(subjects[2]).toMatch(/^\[PATCH bpf-next v4 3\/6\] io_uring: .*registered files/);
    expect(subjects[3]).toMatch(/^\[PATCH bpf-next v4 4\/6\] epoll: .*epoll items/);
    expect(subjects[4]).toMatch(/^\[PATCH bpf-next v4 5\/6\] selftests\/bpf: .*io_uring/);
    expect(subjects[5]).toMatch(/^\[PATCH bpf-next v4 6\/6\] selftests\/bpf: .*epoll/);
    expect(subject(read('0000-cover-letter.patch'))).toMatch(/^\[PATCH bpf-next v4 0\/6\] /);
  });

  it('has format-patch headers, a commit message and a sign-off with the placeholder identity', () => {
    for (const n of names) {
      const p = read(n);
      expect(p, n).toMatch(/^From [0-9a-f]{40} /);
      expect(p, n).toMatch(/^From: iterbench <iterbench@localhost>$/m);
      expect(p, n).toMatch(/^Signed-off-by: iterbench <iterbench@localhost>$/m);
      const body = p.slice(p.indexOf('\n\n') + 2, p.indexOf('\n---\n'));
      expect(body.split('\n').filter((l) => l.trim()).length, `${n}: commit message`).toBeGreaterThan(8);
      for (const l of body.split('\n')) expect(l.length, `${n}: line too long: ${l}`).toBeLessThanOrEqual(75);
    }
  });

  it('has a cover letter that says where it departs from v3, the selftests, and a place for the numbers', () => {
    const c = read('0000-cover-letter.patch');
    for (const topic of [/ctx == NULL/, /NULL/, /bpf_page_to_pfn/, /ino/, /ABBA|AB-BA/, /init_seq_private/, /fini_seq_private/, /EBUSY/]) {
      expect(c).toMatch(topic);
    }
    expect(c).toMatch(/^Changes from v3$/m);
    expect(c).toMatch(/^Selftests$/m);
    expect(c).toMatch(/^Numbers$/m);
  });

  it('quotes the numbers of the committed kernel-lane runs of both bases, as they are', () => {
    const c = read('0000-cover-letter.patch');
    const numbers = c.slice(c.indexOf('\nNumbers\n'));
    for (const b of BASES) {
      const summary = readFileSync(path.join(REPO, 'results', `kernel-lane-${b}-patched`, 'summary.txt'), 'utf8');
      const section = numbers.slice(numbers.indexOf(`Linux ${b} (`), (numbers.indexOf('Linux ', numbers.indexOf(`Linux ${b} (`) + 6) + 1 || numbers.length + 1) - 1);
      let rows = 0;
      for (const m of summary.matchAll(/^ {2}(\w+): bpf-iter-all over (procfs|kcmp-tree|pidfd-getfd|bpf-all): ([\d.]+x)/gm)) {
        const row = new RegExp(`^ +${m[1]} +.*${m[3].replace('.', '\\.')}`, 'm');
        expect(section, `${b} ${m[1]} over ${m[2]}`).toMatch(row);
        rows++;
      }
      expect(rows, `${b}: the committed run's kernel-lane lines`).toBe(20);
    }
  });

  it('keeps the UAPI header and its tools/ copy in step, and updates the btf_dump expectation', () => {
    const p = read(names[0]);
    expect(touched(p).sort()).toEqual([
      'include/uapi/linux/bpf.h',
      'tools/include/uapi/linux/bpf.h',
      'tools/testing/selftests/bpf/prog_tests/btf_dump.c',
    ]);
    const hunks = p.split(/^diff --git /m).slice(1);
    const strip = (h: string) => h.split('\n').filter((l) => /^[+-][^+-]/.test(l)).join('\n');
    expect(strip(hunks[0])).toBe(strip(hunks[1]));
    expect(p).toMatch(/__u32\s+io_uring_fd;/);
    expect(p).toMatch(/__u32\s+epoll_fd;/);
    expect(p).toMatch(/\.io_uring = \(struct\)\{\.io_uring_fd = \(__u32\)1,\},\.epoll = \(struct\)\{\.epoll_fd = \(__u32\)1,\}/);
  });

  it('takes the ring lock with a trylock (EDEADLK), EBUSY during unregister, ep->mtx and a file reference in the epoll walk', () => {
    const uring = read(names[1]) + read(names[2]);
    expect(uring).toMatch(/mutex_trylock\(&info->ctx->uring_lock\)/);
    expect(uring).toMatch(/-EDEADLK/);
    expect(uring).toMatch(/->quiesce\)\n\+\s+return ERR_PTR\(-EBUSY\)/);
    expect(uring).not.toMatch(/^\+.*\bmutex_lock\(&.*uring_lock/m);
    const ep = read(names[3]);
    expect(ep).toMatch(/mutex_lock_interruptible\(&ep->mtx\)/);
    expect(ep).toMatch(base === '6.1' ? /get_file_rcu\(file\)/ : /epi_fget\(epi\)/);
    expect(ep).toMatch(/fput\(file\)/);
    for (const p of [uring, ep]) {
      expect(p).toMatch(/\.fill_link_info\s*=/);
      expect(p).toMatch(/\.show_fdinfo\s*=/);
    }
  });

  it('holds the target file for the life of an iterator fd (init_seq_private takes it, fini_seq_private drops it)', () => {
    const uring = read(names[1]) + read(names[2]);
    const ep = read(names[3]);
    expect(uring).toMatch(/info->file = get_file\(aux->io_uring\.file\);/);
    expect(ep).toMatch(/info->file = get_file\(aux->epoll\.file\);/);
    for (const p of [uring, ep]) {
      expect(p).not.toMatch(/^\+\s*\.fini_seq_private\s*= NULL/m);
      expect(p).toMatch(/^\+\s*fput\(info->file\);/m);
    }
    // all three targets name their fini
    expect((uring.match(/^\+\s*\.fini_seq_private\s*= bpf_io_uring_fini_seq,/gm) ?? []).length).toBe(2);
    expect(ep).toMatch(/^\+\s*\.fini_seq_private\s*= bpf_epoll_fini_seq,/m);
  });

  it('adds its selftests in the kernel layout (prog_tests + progs)', () => {
    const st = 'tools/testing/selftests/bpf';
    expect(touched(read(names[4])).sort()).toEqual([
      `${st}/prog_tests/bpf_iter_io_uring.c`, `${st}/progs/bpf_iter.h`, `${st}/progs/bpf_iter_io_uring.c`,
    ]);
    expect(touched(read(names[5])).sort()).toEqual([
      `${st}/prog_tests/bpf_iter_epoll.c`, `${st}/progs/bpf_iter.h`, `${st}/progs/bpf_iter_epoll.c`,
    ]);
    const tests = read(names[4]) + read(names[5]);
    for (const sub of ['io_uring_buf', 'io_uring_file', 'empty_ring', 'buf_contended', 'file_contended', 'refused',
      'buf_link_info', 'file_link_info', 'link_and_ring_closed', 'items', 'resume_after_change', 'link_info',
      'link_and_epoll_closed']) {
      expect(tests).toMatch(new RegExp(`test__start_subtest\\("${sub}"\\)`));
    }
    expect(tests).toMatch(/test__skip\(\)/);
  });

  it(
    `applies cleanly, patch by patch, to the installed linux-source-${base}`,
    (ctx) => {
      if (!existsSync(tarball(base))) ctx.skip(`${tarball(base)} is missing: apt-get install linux-source-${base}`);
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'iterbench-kpatch-'));
      try {
        const top = pristineSubset(tmp, base);
        for (const n of names) {
          const r = sh('patch', ['-d', top, '-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-i', path.join(dir, n)]);
          expect(r.status, `${n} does not apply:\n${r.stdout}${r.stderr}`).toBe(0);
          expect(r.stdout, `${n} applies with fuzz or offsets:\n${r.stdout}`).not.toMatch(/fuzz|offset/i);
        }
        const ep = readFileSync(path.join(top, 'fs/eventpoll.c'), 'utf8');
        expect(ep).toMatch(/\.target\s*= "epoll"/);
        const it = readFileSync(path.join(top, 'io_uring/bpf_iter.c'), 'utf8');
        expect(it).toMatch(/\.target\s*= "io_uring_buf"/);
        expect(it).toMatch(/\.target\s*= "io_uring_file"/);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe('kernel lane config fragment', () => {
  const frag = readFileSync(path.join(KERNEL, 'config/iterbench.config'), 'utf8');
  const yes = new Set([...frag.matchAll(/^(CONFIG_[A-Z0-9_]+)=y$/gm)].map((m) => m[1]));
  const needed = [
    'CONFIG_64BIT', 'CONFIG_SMP', 'CONFIG_BPF_SYSCALL', 'CONFIG_BPF_JIT', 'CONFIG_BPF_EVENTS', 'CONFIG_DEBUG_INFO_BTF',
    'CONFIG_IO_URING', 'CONFIG_EPOLL', 'CONFIG_EVENTFD', 'CONFIG_SIGNALFD', 'CONFIG_TIMERFD', 'CONFIG_INOTIFY_USER',
    'CONFIG_KCMP', 'CONFIG_CHECKPOINT_RESTORE', 'CONFIG_CGROUPS', 'CONFIG_CGROUP_FREEZER', 'CONFIG_UNIX', 'CONFIG_INET',
    'CONFIG_9P_FS', 'CONFIG_NET_9P_VIRTIO', 'CONFIG_VIRTIO_PCI', 'CONFIG_PCI', 'CONFIG_SERIAL_8250_CONSOLE',
    'CONFIG_DEVTMPFS', 'CONFIG_TMPFS', 'CONFIG_PROC_FS', 'CONFIG_SYSFS', 'CONFIG_BINFMT_ELF', 'CONFIG_BINFMT_SCRIPT',
    'CONFIG_FUTEX', 'CONFIG_AIO', 'CONFIG_SYSVIPC',
    // without these the guest clocksource falls back to jiffies (4 ms time reads)
    'CONFIG_ACPI', 'CONFIG_HPET_TIMER', 'CONFIG_HIGH_RES_TIMERS',
  ];

  it('asks for everything the lane needs', () => {
    const missing = needed.filter((o) => !yes.has(o));
    expect(missing).toEqual([]);
  });

  it('is what the cached kernels were configured with, all required options =y', () => {
    const dbg = readFileSync(path.join(KERNEL, 'config/debug.config'), 'utf8');
    const dbgYes = [...dbg.matchAll(/^(CONFIG_[A-Z0-9_]+)=y$/gm)].map((m) => m[1]);
    for (const base of BASES) {
      for (const flavor of ['patched', 'stock', 'debug']) {
        const cfg = path.join(CACHE, `${flavor}-${base}`, 'config');
        if (!existsSync(cfg)) continue; // not built: nothing to compare
        const text = readFileSync(cfg, 'utf8');
        const want = flavor === 'debug' ? [...yes, ...dbgYes] : [...yes];
        const dropped = want.filter((o) => !new RegExp(`^${o}=y$`, 'm').test(text));
        expect(dropped, `${flavor} ${base} kernel config`).toEqual([]);
      }
    }
  });

  it('has a debug fragment with KASAN, lockdep and DEBUG_ATOMIC_SLEEP', () => {
    const dbg = readFileSync(path.join(KERNEL, 'config/debug.config'), 'utf8');
    for (const o of ['CONFIG_KASAN', 'CONFIG_PROVE_LOCKING', 'CONFIG_DEBUG_ATOMIC_SLEEP']) {
      expect(dbg).toMatch(new RegExp(`^${o}=y$`, 'm'));
    }
  });
});

describe('kernel lane scripts', () => {
  const scripts = ['build.sh', 'vm.sh', 'test.sh', 'selftests/build.sh'].map((s) => path.join(KERNEL, s));
  const runner = path.join(KERNEL, 'selftests/run.sh');

  it('parse (bash -n, sh -n for the in-VM runner) and pass shellcheck when it is installed', () => {
    for (const s of scripts) {
      const r = sh('bash', ['-n', s]);
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
    }
    expect(sh('sh', ['-n', runner]).status).toBe(0);
    if (sh('sh', ['-c', 'command -v shellcheck']).status === 0) {
      const r = sh('shellcheck', [...scripts, runner]);
      expect(r.status, r.stdout).toBe(0);
    }
  });

  it('print their usage', () => {
    for (const s of scripts) {
      const r = sh('bash', [s, '--help']);
      expect(r.status, s).toBe(0);
      expect(r.stdout).toMatch(/Usage: kernel\//);
    }
  });

  it('build.sh --print-key keys each flavor by sources, patches and config without building', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'iterbench-kkey-'));
    try {
      const env = { ...process.env, IB_KERNEL_CACHE: path.join(tmp, 'cache') };
      const keys = (dir: string, ...more: string[]) => {
        const r = sh('bash', [path.join(dir, 'build.sh'), '--print-key', ...more], { env });
        expect(r.status, r.stderr).toBe(0);
        const lines = r.stdout.trim().split('\n').map((l) => l.split(' '));
        expect(lines.map((l) => l[0])).toEqual(['patched', 'stock']);
        for (const l of lines) {
          expect(l[1]).toMatch(/^[0-9a-f]{16}$/);
          expect(l[2]).toBe(path.join(tmp, 'cache', `${l[0]}-${l[1]}`));
          expect(l[3]).toBe('not-built');
        }
        return { patched: lines[0][1], stock: lines[1][1] };
      };
      const base = keys(KERNEL);
      expect(base.patched).not.toBe(base.stock);
      expect(keys(KERNEL)).toEqual(base); // deterministic
      expect(keys(KERNEL, '--base', '6.1')).toEqual(base); // 6.1 is the default

      // the debug flavor is keyed apart from patched
      const dbg = sh('bash', [path.join(KERNEL, 'build.sh'), '--print-key', '--kernel', 'debug'], { env });
      expect(dbg.status, dbg.stderr).toBe(0);
      const [dname, dkey] = dbg.stdout.trim().split(' ');
      expect(dname).toBe('debug');
      expect(dkey).not.toBe(base.patched);

      // 6.12 has its own series: its keys differ (when its sources are installed)
      if (existsSync(tarball('6.12'))) {
        const b612 = keys(KERNEL, '--base', '6.12');
        expect(b612.patched).not.toBe(base.patched);
        expect(b612.stock).not.toBe(base.stock);
      }

      // a copy of kernel/ with one patch changed: only the patched key moves
      const copy = path.join(tmp, 'kernel');
      cpSync(KERNEL, copy, { recursive: true });
      const p0 = path.join(copy, 'patches', '6.1', series()[3]);
      writeFileSync(p0, readFileSync(p0, 'utf8').replace('Add a BPF iterator', 'Add a BPF iterator (v2)'));
      const changed = keys(copy);
      expect(changed.patched).not.toBe(base.patched);
      expect(changed.stock).toBe(base.stock);

      // a changed config fragment moves both
      const frag = path.join(copy, 'config/iterbench.config');
      writeFileSync(frag, readFileSync(frag, 'utf8') + 'CONFIG_PRINTK_TIME=y\n');
      const changed2 = keys(copy);
      expect(changed2.stock).not.toBe(base.stock);
      expect(changed2.patched).not.toBe(changed.patched);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('build.sh names a patch that does not apply', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'iterbench-kbad-'));
    try {
      const copy = path.join(tmp, 'kernel');
      cpSync(KERNEL, copy, { recursive: true });
      const bad = path.join(copy, 'patches', '6.1', series()[3]);
      writeFileSync(bad, readFileSync(bad, 'utf8').replace(/^ fs_initcall\(eventpoll_init\);$/m, ' fs_initcall(no_such_line);'));
      // a cache holding only the pristine files the series touches: build.sh
      // stops at the patch step, before any configuration or make
      const cache = path.join(tmp, 'cache');
      const top = pristineSubset(path.join(cache, 'src', srcVersion()));
      writeFileSync(path.join(top, '.iterbench-extracted'), '');
      writeFileSync(path.join(top, 'Makefile'), '');
      const env = { ...process.env, IB_KERNEL_CACHE: cache };
      const r = sh('bash', [path.join(copy, 'build.sh'), '--kernel', 'patched'], { env });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`patch ${series()[3].replace(/[.]/g, '\\.')} does not apply`));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);

  it('vm.sh refuses to run without a built kernel and says how to build one', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'iterbench-kvm-'));
    try {
      const r = sh('bash', [path.join(KERNEL, 'vm.sh'), '--', 'true'], { env: { ...process.env, IB_KERNEL_CACHE: path.join(tmp, 'none') } });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/no built patched 6\.1 kernel .* run npm run kernel:build/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('kernel lane VM', () => {
  const bz = path.join(CACHE, 'patched-6.1', 'bzImage');
  // this tree's object for that kernel, compiled here (the cache is shared with other clones)
  const real = existsSync(bz) ? realIterObject(path.join(CACHE, 'patched-6.1')) : undefined;
  const obj = real?.ok ? real.path : '';
  const built = existsSync(bz) && existsSync(path.join(REPO, 'build/native/iterbench.node'));

  it(
    'boots the patched kernel and the real iterators recover a small workload exactly',
    (ctx) => {
      if (!built) ctx.skip('no built kernel, run npm run kernel:build');
      // a built patched kernel whose types this tree's program does not compile against is a failure
      expect(real?.ok, real && !real.ok ? real.reason : '').toBe(true);
      const release = readFileSync(path.join(CACHE, 'patched-6.1', 'release'), 'utf8').trim();
      const runDir = mkdtempSync(path.join(path.dirname(CACHE), 'vm', 'smoke-'));
      try {
        const methods = ['bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf', 'bpf-iter-epoll', 'bpf-iter-all'];
        const r = sh('bash', [
          path.join(KERNEL, 'vm.sh'), '--kernel', 'patched', '--timeout', '480', '--mem', '2048', '--run-dir', runDir,
          '--env', `IB_MACHINE=vm: qemu TCG (software emulation), kernel ${release}`,
          '--env', `IB_REAL_ITER_OBJ=${obj}`,
          '--', path.join(REPO, 'node_modules/.bin/tsx'), 'bench/cli/bench.ts',
          '--sizes', '64', '--scenarios', 'epoll,io_uring,all', '--methods', methods.join(','),
          '--budget', '5', '--rounds', '2', '--min-rounds', '1', '--replicas', '1', '--no-charts', '--quiet', '--out', '/mnt/smoke',
        ]);
        const vm = JSON.parse(readFileSync(path.join(runDir, 'vm.json'), 'utf8'));
        expect(vm.timedOut, r.stderr.slice(-3000)).toBe(false);
        expect(vm.release).toBe(release);
        expect(vm.clocksource).not.toBe('jiffies');
        expect(r.status, r.stderr.slice(-3000)).toBe(0);
        const res = JSON.parse(readFileSync(path.join(runDir, 'smoke', 'results.json'), 'utf8')) as ResultsFile;
        expect(res.environment.machine).toMatch(/^vm: qemu TCG/);
        expect(res.environment.kernelRelease).toBe(release);
        for (const m of methods) {
          const ms = res.measurements.filter((x) => x.method === m);
          expect(ms.filter((x) => x.state === 'verified').length, m).toBeGreaterThan(0);
          for (const x of ms) {
            // a scenario without the method's objects is "nothing to recover"
            if (x.state === 'skipped' && x.reason.startsWith('nothing to recover')) continue;
            const why = x.state === 'verified' ? '' : x.reason;
            expect(x.state, `${m} ${x.scenario}: ${why}`).toBe('verified');
          }
        }
        const cov = (m: string, k: keyof Coverage): string | undefined => {
          const x = res.measurements.find((y) => y.method === m && y.scenario === 'all');
          return x && x.state === 'verified' ? x.coverage[k] : undefined;
        };
        expect(cov('bpf-iter-epoll', 'epoll.item')).toBe('recovered');
        expect(cov('bpf-iter-epoll', 'epoll.target')).toBe('recovered');
        expect(cov('bpf-iter-io-uring-file', 'uring.file')).toBe('recovered');
        expect(cov('bpf-iter-io-uring-buf', 'uring.buf')).toBe('recovered');
        // the whole state through real iterators; a ring no descriptor reaches cannot be attached to
        for (const k of ['fd', 'fd.identity', 'fd.table', 'epoll.item', 'epoll.target', 'uring.file', 'uring.buf'] as const) {
          expect(cov('bpf-iter-all', k), `bpf-iter-all ${k}`).toMatch(/^(recovered|absent)$/);
        }
        expect(cov('bpf-iter-all', 'uring.ring')).toBe('partial');
        // the emulation on a kernel without kallsyms: its probe-read object, said in the result
        const note = res.measurements.find((x) => x.method === 'bpf-all')?.note;
        if (note !== undefined) expect(note).toMatch(/probe-read object/);
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
    },
    540_000,
  );

  for (const base of BASES) {
    it(
      `${base}: two readers at once on two CPUs read one loaded object's iterators and both answers verify; a contended ring is read on, never again from slot 0`,
      (ctx) => {
        const kdir = path.join(CACHE, `patched-${base}`);
        const kreal = existsSync(path.join(kdir, 'bzImage')) ? realIterObject(kdir) : undefined;
        const kobj = kreal?.ok ? kreal.path : '';
        if (!existsSync(path.join(kdir, 'bzImage'))) {
          ctx.skip(`no built patched ${base} kernel, run npm run kernel:build -- --base ${base}`);
        }
        expect(kreal?.ok, kreal && !kreal.ok ? kreal.reason : '').toBe(true);
        if (os.cpus().length < 2) ctx.skip(`one CPU here: two readers cannot run at once`);
        const runDir = mkdtempSync(path.join(path.dirname(CACHE), 'vm', 'readers-'));
        try {
          const r = sh('bash', [
            path.join(KERNEL, 'vm.sh'), '--base', base, '--kernel', 'patched', '--cpus', '2', '--timeout', '480', '--mem', '2048',
            '--run-dir', runDir, '--env', `IB_REAL_ITER_OBJ=${kobj}`,
            '--', path.join(REPO, 'node_modules/.bin/tsx'), 'kernel/readers.ts', '--files', '2000', '--readers', '2', '--iters', '20', '--out', '/mnt/readers',
          ]);
          expect(r.status, (r.stdout + r.stderr).slice(-3000)).toBe(0);
          const all = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
          const lines = all.filter((l) => 'method' in l) as { method: string; cpus?: number[]; unlike?: number; verified?: boolean[] }[];
          expect(lines.map((l) => l.method)).toEqual(['bpf-iter-epoll', 'bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf']);
          for (const l of lines) {
            expect(l.cpus, l.method).toEqual([0, 1]);
            expect(l.unlike, l.method).toBe(0);
            expect(l.verified, l.method).toEqual([true, true]);
          }
          // the read-on after EDEADLK / EBUSY, deterministic (IB_REAL_ITER_FAULT)
          const checks = all.filter((l) => 'check' in l) as { check: string; ok: boolean }[];
          expect(checks.map((c) => c.check)).toEqual([
            'uncontended', 'read on after EDEADLK:1:2', 'read on after EBUSY:1:2', 'lasting contention after a part: an error',
            'lasting EBUSY: an error', 'lasting contention before anything: tables missing',
          ]);
          for (const c of checks) expect(c.ok, JSON.stringify(c)).toBe(true);
        } finally {
          rmSync(runDir, { recursive: true, force: true });
        }
      },
      540_000,
    );
  }
});

describe('kernel selftests in the VM (npm run kernel:test)', () => {
  const cached = (flavor: string, base: Base): boolean => existsSync(path.join(CACHE, `${flavor}-${base}`, 'bzImage'));

  for (const base of BASES) {
    it(
      `the series selftests pass on the patched and debug ${base} kernels, and skip on stock`,
      (ctx) => {
        const flavors = ['patched', 'debug', 'stock'].filter((f) => cached(f, base));
        if (!flavors.includes('patched') && !flavors.includes('debug')) {
          ctx.skip(`no built ${base} kernel, run npm run kernel:build -- --base ${base} --kernel patched (and debug)`);
        }
        const r = sh('bash', [path.join(KERNEL, 'test.sh'), '--base', base, '--kernel', flavors.join(','), '--timeout', '1500']);
        const out = r.stdout;
        expect(r.status, out.slice(-4000)).toBe(0);
        expect(out).toMatch(new RegExp(`^kernel:test: ${flavors.length} passed, 0 failed, 0 skipped$`, 'm'));
        for (const f of flavors.filter((x) => x !== 'stock')) {
          for (const t of ['bpf_iter_io_uring/link_and_ring_closed', 'bpf_iter_epoll/link_and_epoll_closed',
            'bpf_iter_io_uring/file_contended', 'bpf_iter_epoll/resume_after_change', 'btf_dump/btf_dump: struct_data']) {
            expect(out, `${base}/${f} ${t}`).toMatch(new RegExp(`^${base}/${f}: selftest: ${t.replace(/[/]/g, '\\/')}: OK$`, 'm'));
          }
        }
        if (flavors.includes('stock')) {
          expect(out).toMatch(new RegExp(`^${base}/stock: selftest: bpf_iter_io_uring: SKIP$`, 'm'));
          expect(out).toMatch(new RegExp(`^${base}/stock: selftest: bpf_iter_epoll: SKIP$`, 'm'));
        }
      },
      3 * 1_600_000,
    );
  }
});
