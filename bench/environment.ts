/** What a reviewer needs to know about the machine a run was made on. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from './native.js';
import type { Environment } from './schema.js';

const CONFIG_KEYS = [
  'CONFIG_BPF_SYSCALL', 'CONFIG_BPF_JIT', 'CONFIG_DEBUG_INFO_BTF', 'CONFIG_IO_URING', 'CONFIG_EPOLL',
  'CONFIG_KCMP', 'CONFIG_CHECKPOINT_RESTORE', 'CONFIG_CGROUP_FREEZER', 'CONFIG_HZ', 'CONFIG_PREEMPT',
  'CONFIG_PREEMPT_DYNAMIC', 'CONFIG_BPF_ITER_IO_URING', 'CONFIG_BPF_ITER_EPOLL',
];

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: REPO_ROOT, timeout: 5000 }).trim();
  } catch {
    return 'unknown';
  }
}

function kernelConfig(): Record<string, string> {
  let text = '';
  try {
    if (existsSync('/proc/config.gz')) text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    else if (existsSync(`/boot/config-${os.release()}`)) text = readFileSync(`/boot/config-${os.release()}`, 'utf8');
  } catch {
    /* unknown config */
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m && CONFIG_KEYS.includes(m[1])) out[m[1]] = m[2];
  }
  if (!text) out.source = 'unavailable (no /proc/config.gz or /boot/config)';
  return out;
}

function readOr(path: string, dflt: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return dflt;
  }
}

export function collectEnvironment(commandLine: string, freezer: string): Environment {
  const cpu = readOr('/proc/cpuinfo', '').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  const rev = run('git', ['rev-parse', '--short=12', 'HEAD']);
  return {
    kernelRelease: os.release(),
    kernelConfig: kernelConfig(),
    cpuModel: cpu.trim(),
    nproc: os.availableParallelism(),
    memTotalBytes: os.totalmem(),
    node: process.version,
    clang: run('clang', ['--version']).split('\n')[0] ?? 'unknown',
    libbpf: run('pkg-config', ['--modversion', 'libbpf']),
    bpftool: run('bpftool', ['version']).split('\n')[0] ?? 'unknown',
    liburing: run('pkg-config', ['--modversion', 'liburing']),
    gitRevision: rev === 'unknown' ? rev : rev + (dirty && dirty !== 'unknown' ? '-dirty' : ''),
    commandLine,
    freezer,
    machine: process.env.IB_MACHINE ?? 'host',
    clocksource: readOr('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'unknown'),
    hostname: os.hostname(),
  };
}

/** CPU model + nproc + kernel release: absolute times compare only within one fingerprint. */
export function fingerprint(env: Pick<Environment, 'cpuModel' | 'nproc' | 'kernelRelease'>): string {
  return `${env.cpuModel} x${env.nproc} ${env.kernelRelease}`;
}
