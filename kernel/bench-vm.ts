/**
 * npm run bench:vm -- [--base 6.1|6.12] --kernel patched|stock [bench flags]
 *
 * Runs the same bench (bench/cli/bench.ts) inside a VM booted from a
 * kernel-lane kernel: `patched` = Debian's Linux <base> (6.1 or 6.12) with
 * kernel/patches/<base>/ (the io_uring_file, io_uring_buf and epoll
 * iterator targets, so the bpf-iter-* methods run), `stock` = the same
 * sources without them (the emulation's CO-RE fallbacks for that base's
 * layouts). The kernel comes from kernel/build.sh's cache (built first
 * when missing or out of date), the VM from kernel/vm.sh (qemu, software
 * emulation). The results come back into results/<run-id>/ (or --out) with
 * environment.machine saying "vm: qemu TCG ...", so that nobody compares
 * their absolute times with the host's: ratios within one run are the
 * comparable figures. The last stdout line is the results directory.
 *
 * Own flags: --base 6.1|6.12 (default 6.1), --kernel patched|stock
 * (default patched), --vm-timeout SEC
 * (default 7200), --vm-mem MB (default 4096). Everything else is passed to
 * bench/cli/bench.ts.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

class UsageError extends Error {}

interface VmFacts {
  kernel: string;
  release: string;
  clocksource: string;
  bootSeconds: number | null;
  commandSeconds: number | null;
  wallSeconds: number;
  exitCode: number | null;
  timedOut: boolean;
}

interface Args {
  base: '6.1' | '6.12';
  kernel: 'patched' | 'stock';
  timeoutS: number;
  memMb: number;
  out?: string;
  bench: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { base: '6.1', kernel: 'patched', timeoutS: 7200, memMb: 4096, bench: [] };
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const take = (name: string): string => (inline !== undefined ? inline : value(i++, name));
    switch (flag) {
      case '--kernel': {
        const k = take('--kernel');
        if (k !== 'patched' && k !== 'stock') throw new UsageError(`--kernel ${k}: expected patched or stock`);
        a.kernel = k;
        break;
      }
      case '--base': {
        const b = take('--base');
        if (b !== '6.1' && b !== '6.12') throw new UsageError(`--base ${b}: expected 6.1 or 6.12`);
        a.base = b;
        break;
      }
      case '--vm-timeout':
        a.timeoutS = Number(take('--vm-timeout'));
        if (!Number.isInteger(a.timeoutS) || a.timeoutS < 10) throw new UsageError('--vm-timeout takes whole seconds >= 10');
        break;
      case '--vm-mem':
        a.memMb = Number(take('--vm-mem'));
        if (!Number.isInteger(a.memMb) || a.memMb < 512) throw new UsageError('--vm-mem takes whole MB >= 512');
        break;
      case '--out':
        a.out = path.resolve(take('--out'));
        break;
      case '--json':
        throw new UsageError('--json is not supported through the VM (read results.json in the results directory)');
      default:
        a.bench.push(argv[i]);
    }
  }
  return a;
}

/** Run a command; stderr passes through, stdout is returned. Killed with us. */
function run(cmd: string, args: string[], opts: { passStdout?: boolean } = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    // setpriv: the child dies with this process even on SIGKILL
    const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', cmd, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (opts.passStdout) process.stderr.write(d);
    });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve({ code: code ?? (signal ? 128 + 15 : 1), stdout });
    });
  });
}

function lastLine(s: string): string {
  return s.trimEnd().split('\n').pop() ?? '';
}

function runId(base: string, kernel: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-vm-${base}-${kernel}`;
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (a.bench.includes('--help')) {
    process.stdout.write(
      'usage: npm run bench:vm -- [--base 6.1|6.12] [--kernel patched|stock] [--vm-timeout SEC] [--vm-mem MB] [bench flags]\n' +
        'Runs bench/cli/bench.ts inside a qemu VM on a kernel-lane kernel (see npm run bench -- --help).\n',
    );
    return 0;
  }

  // 1. the kernel: built or reused (instant when the cache is current)
  process.stderr.write(`bench:vm: kernel ${a.base} ${a.kernel}: checking the cache (kernel/build.sh)\n`);
  const b = await run('bash', [path.join(REPO, 'kernel/build.sh'), '--base', a.base, '--kernel', a.kernel]);
  if (b.code !== 0) throw new Error(`kernel/build.sh --base ${a.base} --kernel ${a.kernel} failed (exit ${b.code})`);
  const kdir = lastLine(b.stdout);
  const release = readFileSync(path.join(kdir, 'release'), 'utf8').trim();
  const obj = path.join(kdir, 'real_iter.bpf.o');

  // 2. the bench inside the VM, writing into the run directory (/mnt there)
  const id = runId(a.base, a.kernel);
  const cacheRoot = process.env.IB_KERNEL_CACHE ?? '/var/cache/iterbench/kernel';
  const runDir = path.join(path.dirname(cacheRoot), 'vm', id);
  mkdirSync(runDir, { recursive: true });
  // The emulation's default object calls the bpf_rdonly_cast kfunc (6.2+),
  // which the verifier resolves through kallsyms: a kernel built without
  // CONFIG_KALLSYMS refuses it ("cannot find address for kernel function").
  // Such a kernel gets the probe-read object, as 6.1 does anyway.
  const kconfig = existsSync(path.join(kdir, 'config')) ? readFileSync(path.join(kdir, 'config'), 'utf8') : '';
  const compat = !/^CONFIG_KALLSYMS=y$/m.test(kconfig);
  const machine = `vm: qemu TCG (software emulation), kernel ${release}` + (compat ? ', emulation: probe-read object (no kallsyms)' : '');
  const env = [`IB_MACHINE=${machine}`];
  if (compat) {
    env.push('IB_BPF_COMPAT=1');
    process.stderr.write('bench:vm: the kernel has no CONFIG_KALLSYMS (kfuncs cannot be resolved): the emulation uses its probe-read object\n');
  }
  if (existsSync(obj)) env.push(`IB_REAL_ITER_OBJ=${obj}`);
  const vmArgs = [
    path.join(REPO, 'kernel/vm.sh'),
    '--kernel', a.kernel,
    '--base', a.base,
    '--bzimage', path.join(kdir, 'bzImage'),
    '--timeout', String(a.timeoutS),
    '--mem', String(a.memMb),
    '--run-dir', runDir,
    ...env.flatMap((e) => ['--env', e]),
    '--',
    path.join(REPO, 'node_modules/.bin/tsx'), 'bench/cli/bench.ts', ...a.bench, '--out', `/mnt/${id}`,
  ];
  process.stderr.write(`bench:vm: booting ${release} under qemu (software emulation); run dir ${runDir}\n`);
  const v = await run('bash', vmArgs, { passStdout: true });
  let facts: VmFacts | undefined;
  try {
    facts = JSON.parse(readFileSync(path.join(runDir, 'vm.json'), 'utf8')) as VmFacts;
  } catch {
    facts = undefined;
  }

  // 3. results back into the repository
  const inner = path.join(runDir, id);
  if (!existsSync(path.join(inner, 'results.json'))) {
    throw new Error(`the bench in the VM wrote no results (exit ${v.code}); see ${runDir}`);
  }
  const dest = a.out ?? path.join(REPO, 'results', id);
  if (existsSync(dest)) rmSync(dest, { recursive: true });
  mkdirSync(path.dirname(dest), { recursive: true });
  cpSync(inner, dest, { recursive: true });
  if (facts) writeFileSync(path.join(dest, 'vm.json'), JSON.stringify(facts, null, 2) + '\n');
  if (facts) {
    process.stderr.write(
      `bench:vm: ${release}, clocksource ${facts.clocksource}, boot ${facts.bootSeconds ?? '?'} s, ` +
        `bench ${facts.commandSeconds ?? '?'} s, VM wall ${facts.wallSeconds} s\n`,
    );
  }
  process.stdout.write(dest + '\n');
  return v.code;
}

main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`bench:vm: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench:vm: error: ${(e as Error).message ?? String(e)}\n`);
      process.exitCode = 1;
    }
  });
