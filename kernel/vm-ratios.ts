/**
 * tsx kernel/vm-ratios.ts RESULTS_DIR
 *
 * The kernel lane's figures from one bench run (made in the VM on the
 * patched kernel): per scenario, at the largest size where the real
 * iterator was verified, its median against the emulation (task_file
 * program walking the same objects), procfs and kcmp on the same kernel,
 * as ratios (< 1: the real iterator is faster). Only verified measurements
 * count. Absolute times from a VM are TCG times: ratios are what compares.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Measurement, ResultsFile } from '../bench/types.js';

/** real iterator -> what it is compared with */
const PAIRS: { real: string[]; emulated: string; label: string }[] = [
  { real: ['bpf-iter-epoll'], emulated: 'bpf-epoll', label: 'epoll items' },
  { real: ['bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf'], emulated: 'bpf-io-uring', label: 'io_uring files + buffers' },
];
const OTHERS = ['procfs', 'kcmp-tree', 'kcmp-epoll'];

type Verified = Extract<Measurement, { state: 'verified' }>;

function main(dir: string): void {
  const res = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsFile;
  const ok = res.measurements.filter((m): m is Verified => m.state === 'verified');
  const med = (method: string, scenario: string, n: number) =>
    ok.find((m) => m.method === method && m.scenario === scenario && m.n === n)?.stats.medianNs;
  const fmt = (ns: number | undefined) => (ns === undefined ? '-' : `${(ns / 1e6).toFixed(3)} ms`);
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(3));

  console.log(`${res.runId}: ${res.environment.machine}; clocksource ${res.environment.clocksource}`);
  for (const scenario of res.config.scenarios) {
    for (const pair of PAIRS) {
      const sizes = res.config.sizes.filter((n) => pair.real.every((r) => med(r, scenario, n) !== undefined));
      if (!sizes.length) continue;
      const n = Math.max(...sizes);
      const real = pair.real.reduce((s, r) => s + (med(r, scenario, n) ?? 0), 0);
      const rows: string[] = [`  real (${pair.real.join(' + ')}) ${fmt(real)}`];
      const emu = med(pair.emulated, scenario, n);
      rows.push(`  real/emulated (${pair.emulated} ${fmt(emu)}) = ${ratio(real, emu)}`);
      for (const o of OTHERS) {
        const v = med(o, scenario, n);
        if (v !== undefined) rows.push(`  real/${o} (${fmt(v)}) = ${ratio(real, v)}`);
      }
      console.log(`${scenario}, n=${n}, ${pair.label}:\n${rows.join('\n')}`);
    }
  }
  const cold = ok.filter((m) => m.method.startsWith('bpf-iter-') && m.coldNs !== undefined);
  if (cold.length) {
    const byMethod = new Map<string, number[]>();
    for (const m of cold) byMethod.set(m.method, [...(byMethod.get(m.method) ?? []), m.coldNs!]);
    for (const [m, v] of byMethod) console.log(`cold (load) ${m}: median ${fmt(v.sort((a, b) => a - b)[v.length >> 1])}`);
  }
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: tsx kernel/vm-ratios.ts RESULTS_DIR\n');
  process.exitCode = 2;
} else {
  main(dir);
}
