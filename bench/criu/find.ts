/**
 * Which CRIU the lane uses: `criu` from PATH when it is new enough and
 * passes `criu check` (with a `crit` to decode its images), else the one
 * bench/criu/build.sh built into the cache (npm run criu:build). Otherwise
 * the lane is skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CRIU_MIN_MAJOR = 4;
export const PINNED_TARBALL = 'criu-4.2-22-g2cf8f13.tar.xz';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BUILD_SCRIPT = path.join(HERE, 'build.sh');
const REPO = path.resolve(HERE, '..', '..');

export type CriuFound =
  | {
      state: 'ok';
      /** the criu binary */
      bin: string;
      /** crit (image decoder) */
      crit: string;
      /** "4.2" as `criu --version` prints it */
      version: string;
      source: 'path' | 'cache';
      /** the cache directory (source cache) */
      dir?: string;
    }
  | { state: 'skipped'; reason: string };

export function criuCache(): string {
  return process.env.IB_CRIU_CACHE ?? '/var/cache/iterbench/criu';
}

/** The pinned source tarball when it is on this machine (../shared/third_party/), else undefined. */
export function defaultTarball(): string | undefined {
  const env = process.env.IB_CRIU_TARBALL;
  if (env) return existsSync(env) ? env : undefined;
  for (const d of [path.resolve(REPO, '..', 'shared', 'third_party'), '/work/shared/third_party']) {
    const f = path.join(d, PINNED_TARBALL);
    if (existsSync(f)) return f;
  }
  return undefined;
}

function run(bin: string, args: string[], timeoutMs = 30_000): { ok: boolean; out: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function which(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) {
    if (!d) continue;
    const f = path.join(d, name);
    try {
      if (statSync(f).isFile()) return f;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** "Version: 4.2" -> "4.2" */
export function parseVersion(out: string): string | undefined {
  return /Version:\s*(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1];
}

const checked = new Map<string, { ok: true; version: string } | { ok: false; why: string }>();

/** Is this criu usable here: version >= 4.0 and `criu check` passes? (cached per binary) */
export function usable(bin: string): { ok: true; version: string } | { ok: false; why: string } {
  const hit = checked.get(bin);
  if (hit) return hit;
  const v = run(bin, ['--version']);
  const version = parseVersion(v.out);
  let res: { ok: true; version: string } | { ok: false; why: string };
  if (!v.ok || !version) res = { ok: false, why: `${bin} --version failed: ${v.out.split('\n').at(-1) ?? ''}` };
  else if (Number(version.split('.')[0]) < CRIU_MIN_MAJOR) res = { ok: false, why: `${bin} is CRIU ${version}, the lane needs >= ${CRIU_MIN_MAJOR}.0 (older vDSO handling fails on recent kernels)` };
  else {
    const c = run(bin, ['check']);
    const last = c.out.split('\n').filter((l) => !/kdat cache/.test(l)).at(-1) ?? '';
    res = c.ok ? { ok: true, version } : { ok: false, why: `${bin} check failed: ${last}` };
  }
  checked.set(bin, res);
  return res;
}

function critWorks(crit: string): boolean {
  return run(crit, ['--help']).ok;
}

/** Cache entries built by build.sh (with an `ok` stamp), newest first. */
export function cachedBuilds(cache = criuCache()): string[] {
  if (!existsSync(cache)) return [];
  return [...new Set(readdirSync(cache).map((n) => realpathSync(path.join(cache, n))))]
    .filter((d) => existsSync(path.join(d, 'ok')) && existsSync(path.join(d, 'bin', 'criu')))
    .sort((a, b) => statSync(path.join(b, 'ok')).mtimeMs - statSync(path.join(a, 'ok')).mtimeMs);
}

export function findCriu(opts: { cache?: string; usePath?: boolean } = {}): CriuFound {
  if (process.getuid?.() !== 0) return { state: 'skipped', reason: 'criu dump needs root (CAP_SYS_ADMIN, ptrace of the tree)' };
  const why: string[] = [];
  if (opts.usePath !== false) {
    const bin = which('criu');
    if (bin) {
      const u = usable(bin);
      const crit = which('crit');
      if (u.ok && crit && critWorks(crit)) return { state: 'ok', bin, crit, version: u.version, source: 'path' };
      why.push(u.ok ? `${bin} has no working crit in PATH` : u.why);
    }
  }
  for (const d of cachedBuilds(opts.cache)) {
    const bin = path.join(d, 'bin', 'criu');
    const crit = path.join(d, 'bin', 'crit');
    const u = usable(bin);
    if (u.ok && critWorks(crit)) return { state: 'ok', bin, crit, version: u.version, source: 'cache', dir: d };
    why.push(u.ok ? `${crit} does not run` : u.why);
  }
  if (!why.length) why.push(`no criu in PATH and none built in ${opts.cache ?? criuCache()}`);
  return { state: 'skipped', reason: `no usable CRIU: ${why.join('; ')} (build one: npm run criu:build -- --src TARBALL)` };
}

export interface BuildResult {
  ok: boolean;
  /** the cache directory (ok) */
  dir?: string;
  /** wall time of build.sh, s (0 when cached) */
  seconds: number;
  cached: boolean;
  /** the error line (not ok) */
  error?: string;
}

/** The cache directory build.sh would use for a tarball, and whether it is built. */
export function buildStatus(src: string): { dir: string; cached: boolean } | undefined {
  const r = spawnSync('bash', [BUILD_SCRIPT, '--src', src, '--print-dir'], { encoding: 'utf8' });
  const m = /^(\S+) (\S+) (\S+) (cached|not-built)$/m.exec(r.stdout ?? '');
  return m ? { dir: m[3], cached: m[4] === 'cached' } : undefined;
}

/** Run bench/criu/build.sh (apt-get for missing dependencies, then make; minutes). */
export function buildCriu(src: string, opts: { jobs?: number; nice?: boolean; log?: (line: string) => void } = {}): BuildResult {
  const t0 = performance.now();
  const args = [BUILD_SCRIPT, '--src', src, ...(opts.jobs ? ['-j', String(opts.jobs)] : [])];
  const cmd = opts.nice === false ? 'bash' : 'nice';
  const r = spawnSync(cmd, opts.nice === false ? args : ['-n', '19', 'bash', ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  const err = (r.stderr ?? '').trim().split('\n');
  for (const l of err) if (l.startsWith('[criu:build')) opts.log?.(l);
  if (r.status !== 0) return { ok: false, seconds, cached: false, error: err.filter((l) => l.startsWith('criu:build')).at(-1) ?? err.at(-1) ?? `exit ${r.status}` };
  const dir = (r.stdout ?? '').trim().split('\n').at(-1);
  return { ok: true, dir, seconds, cached: err.some((l) => /: cached \(/.test(l)) };
}

/** The build time build.sh recorded for a cache entry (s), if any. */
export function recordedBuildSeconds(dir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(dir, 'build-seconds'), 'utf8').trim());
  } catch {
    return undefined;
  }
}
