/**
 * The kernel lane (kernel/): the patch series applies to the installed
 * linux-source-6.1 and reads like a series; the scripts are sound; the
 * config fragment carries what the lane needs; and, when a patched kernel
 * has been built into the cache (npm run kernel:build), the real iterators
 * run in a VM and recover a small workload exactly. Without a built kernel
 * that last test is skipped with a message saying how to build one (the
 * only skip of this project: CI does not build kernels).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Coverage, ResultsFile } from '../bench/schema.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KERNEL = path.join(REPO, 'kernel');
const PATCHES = path.join(KERNEL, 'patches');
const TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const CACHE = process.env.IB_KERNEL_CACHE ?? '/var/cache/iterbench/kernel';
const SRC_TOP = 'linux-source-6.1';

const series = (): string[] =>
  readFileSync(path.join(PATCHES, 'series'), 'utf8')
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
function cachedPristine(): string | undefined {
  const src = path.join(CACHE, 'src');
  if (!existsSync(src)) return undefined;
  for (const v of readdirSync(src)) {
    const d = path.join(src, v, SRC_TOP);
    if (existsSync(path.join(d, '.iterbench-extracted'))) return d;
  }
  return undefined;
}

/** the installed source package's version, as kernel/build.sh keys it */
function srcVersion(): string {
  return execFileSync('dpkg-query', ['-W', '-f=${Version}', SRC_TOP], { encoding: 'utf8' }).trim();
}

/**
 * Into dir/linux-source-6.1: the pristine files the series modifies, from
 * kernel/build.sh's extracted tree when there is one, else from the tarball
 * (which xz has to decompress whole: ~20 s).
 */
function pristineSubset(dir: string): string {
  expect(existsSync(TARBALL), `${TARBALL} is missing: apt-get install linux-source-6.1 (bench/setup.sh)`).toBe(true);
  const all = series().map((n) => readFileSync(path.join(PATCHES, n), 'utf8'));
  const created = new Set(all.flatMap((p) => [...p.matchAll(/^--- \/dev\/null\n\+\+\+ b\/(\S+)/gm)].map((m) => m[1])));
  const files = [...new Set(all.flatMap((p) => modified(p)))].filter((f) => !created.has(f));
  const top = path.join(dir, SRC_TOP);
  let pristine = cachedPristine();
  if (!pristine) {
    if (!tarSubset) {
      tarSubset = mkdtempSync(path.join(os.tmpdir(), 'iterbench-ksrc-'));
      execFileSync('tar', ['-C', tarSubset, '-xJf', TARBALL, ...files.map((f) => `${SRC_TOP}/${f}`)]);
    }
    pristine = path.join(tarSubset, SRC_TOP);
  }
  for (const f of files) cpSync(path.join(pristine, f), path.join(top, f));
  return top;
}
let tarSubset: string | undefined;
afterAll(() => {
  if (tarSubset) rmSync(tarSubset, { recursive: true, force: true });
});

describe('kernel patch series', () => {
  const names = series();

  it('lists one UAPI patch and one patch per iterator target, in order', () => {
    expect(names.length).toBe(4);
    const subjects = names.map((n) => subject(readFileSync(path.join(PATCHES, n), 'utf8')));
    expect(subjects[0]).toMatch(/^\[PATCH 1\/4\] bpf: .*bpf_iter_link_info/);
    expect(subjects[1]).toMatch(/^\[PATCH 2\/4\] io_uring: .*registered buffers/);
    expect(subjects[2]).toMatch(/^\[PATCH 3\/4\] io_uring: .*registered files/);
    expect(subjects[3]).toMatch(/^\[PATCH 4\/4\] epoll: .*epoll items/);
  });

  it('has format-patch headers, a commit message and a sign-off with the placeholder identity', () => {
    for (const n of names) {
      const p = readFileSync(path.join(PATCHES, n), 'utf8');
      expect(p, n).toMatch(/^From [0-9a-f]{40} /);
      expect(p, n).toMatch(/^From: iterbench <iterbench@localhost>$/m);
      expect(p, n).toMatch(/^Signed-off-by: iterbench <iterbench@localhost>$/m);
      const body = p.slice(p.indexOf('\n\n') + 2, p.indexOf('\n---\n'));
      expect(body.split('\n').filter((l) => l.trim()).length, `${n}: commit message`).toBeGreaterThan(8);
      for (const l of body.split('\n')) expect(l.length, `${n}: line too long: ${l}`).toBeLessThanOrEqual(75);
    }
  });

  it('keeps the UAPI header and its tools/ copy in step', () => {
    const p = readFileSync(path.join(PATCHES, names[0]), 'utf8');
    expect(touched(p).sort()).toEqual(['include/uapi/linux/bpf.h', 'tools/include/uapi/linux/bpf.h']);
    const hunks = p.split(/^diff --git /m).slice(1);
    const strip = (h: string) => h.split('\n').filter((l) => /^[+-][^+-]/.test(l)).join('\n');
    expect(strip(hunks[0])).toBe(strip(hunks[1]));
    expect(p).toMatch(/__u32\s+io_uring_fd;/);
    expect(p).toMatch(/__u32\s+epoll_fd;/);
  });

  it('takes the ring lock with a trylock (EDEADLK) and holds ep->mtx and a file reference in the epoll walk', () => {
    const uring = readFileSync(path.join(PATCHES, names[1]), 'utf8') + readFileSync(path.join(PATCHES, names[2]), 'utf8');
    expect(uring).toMatch(/mutex_trylock\(&info->ctx->uring_lock\)/);
    expect(uring).toMatch(/-EDEADLK/);
    expect(uring).not.toMatch(/^\+.*\bmutex_lock\(&.*uring_lock/m);
    const ep = readFileSync(path.join(PATCHES, names[3]), 'utf8');
    expect(ep).toMatch(/mutex_lock_interruptible\(&ep->mtx\)/);
    expect(ep).toMatch(/get_file_rcu\(file\)/);
    expect(ep).toMatch(/fput\(file\)/);
    for (const p of [uring, ep]) {
      expect(p).toMatch(/\.fill_link_info\s*=/);
      expect(p).toMatch(/\.show_fdinfo\s*=/);
    }
  });

  it(
    'applies cleanly, patch by patch, to the installed linux-source-6.1',
    () => {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'iterbench-kpatch-'));
      try {
        const top = pristineSubset(tmp);
        for (const n of names) {
          const r = sh('patch', ['-d', top, '-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-i', path.join(PATCHES, n)]);
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
    for (const flavor of ['patched', 'stock']) {
      const cfg = path.join(CACHE, flavor, 'config');
      if (!existsSync(cfg)) continue; // not built: nothing to compare
      const text = readFileSync(cfg, 'utf8');
      const dropped = [...yes].filter((o) => !new RegExp(`^${o}=y$`, 'm').test(text));
      expect(dropped, `${flavor} kernel config`).toEqual([]);
    }
  });
});

describe('kernel lane scripts', () => {
  const scripts = ['build.sh', 'vm.sh'].map((s) => path.join(KERNEL, s));

  it('parse (bash -n) and pass shellcheck when it is installed', () => {
    for (const s of scripts) {
      const r = sh('bash', ['-n', s]);
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
    }
    if (sh('sh', ['-c', 'command -v shellcheck']).status === 0) {
      const r = sh('shellcheck', scripts);
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
      const keys = (dir: string) => {
        const r = sh('bash', [path.join(dir, 'build.sh'), '--print-key'], { env });
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

      // a copy of kernel/ with one patch changed: only the patched key moves
      const copy = path.join(tmp, 'kernel');
      cpSync(KERNEL, copy, { recursive: true });
      const p0 = path.join(copy, 'patches', series()[3]);
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
      const bad = path.join(copy, 'patches', series()[3]);
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
      expect(r.stderr).toMatch(/no built patched kernel .* run npm run kernel:build/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('kernel lane VM', () => {
  const bz = path.join(CACHE, 'patched', 'bzImage');
  const obj = path.join(CACHE, 'patched', 'real_iter.bpf.o');
  const built = existsSync(bz) && existsSync(obj) && existsSync(path.join(REPO, 'build/native/iterbench.node'));

  it(
    'boots the patched kernel and the real iterators recover a small workload exactly',
    (ctx) => {
      if (!built) ctx.skip('no built kernel, run npm run kernel:build');
      const release = readFileSync(path.join(CACHE, 'patched', 'release'), 'utf8').trim();
      const runDir = mkdtempSync(path.join(path.dirname(CACHE), 'vm', 'smoke-'));
      try {
        const methods = ['bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf', 'bpf-iter-epoll'];
        const r = sh('bash', [
          path.join(KERNEL, 'vm.sh'), '--kernel', 'patched', '--timeout', '480', '--mem', '2048', '--run-dir', runDir,
          '--env', `IB_MACHINE=vm: qemu TCG (software emulation), kernel ${release}`,
          '--env', `IB_REAL_ITER_OBJ=${obj}`,
          '--', path.join(REPO, 'node_modules/.bin/tsx'), 'bench/cli.ts',
          '--sizes', '64', '--scenarios', 'epoll,io_uring,all', '--methods', methods.join(','),
          '--time-ms', '20', '--no-charts', '--quiet', '--out', '/mnt/smoke',
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
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
    },
    540_000,
  );
});
