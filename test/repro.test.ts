/**
 * npm run repro: the bench run several times and the spread of every paired
 * ratio over the runs. The figures are whatever this machine gives; the test
 * checks what repro does with them (every ratio once per run, the CV
 * computed from those values), never their size.
 */
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../bench/native.js';

const repro = (...args: string[]) => execa(process.execPath, ['--import', 'tsx', 'bench/cli/repro.ts', ...args], { cwd: REPO_ROOT, reject: false, timeout: 240_000 });

describe('npm run repro', () => {
  it('--runs 2 runs a tiny bench twice and gives each ratio per run with its mean and CV', async () => {
    const r = await repro('--runs', '2', '--json', '--scenarios', 'files', '--sizes', '32,64,128', '--methods', 'procfs,bpf-task-file,floor-procfs,floor-empty-iter', '--budget', '2', '--min-rounds', '3', '--replicas', '1');
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runs: string[]; wallS: number[]; spreads: { kind: string; method: string; reference: string; n: number; values: number[]; mean: number; cv: number }[] };
    expect(out.runs.length).toBe(2);
    expect(out.wallS.every((w) => w > 0)).toBe(true);
    const sp = out.spreads.find((s) => s.kind === 'speedup' && s.method === 'bpf-task-file' && s.reference === 'procfs')!;
    expect(sp.n).toBe(128);
    expect(sp.values.length).toBe(2);
    const mean = (sp.values[0]! + sp.values[1]!) / 2;
    expect(sp.mean).toBeCloseTo(mean, 10);
    const sd = Math.abs(sp.values[0]! - sp.values[1]!) / Math.SQRT2;
    expect(sp.cv).toBeCloseTo(sd / mean, 10);
    expect(out.spreads.some((s) => s.kind === 'vs-floor' && s.method === 'bpf-task-file' && s.reference === 'floor-empty-iter')).toBe(true);
    // the text form of the same runs, and a comparison with a second set
    const t = await repro(...out.runs, '--vs', out.runs.join(','));
    expect(t.exitCode, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^files +speedup +bpf-task-file \/ procfs .* CV +\d+\.\d %/m);
    expect(t.stdout).toMatch(/mean moved from these runs to --vs runs/);
    expect(t.stdout).toMatch(/ 0\.0 % met$/m);
  });

  it('bad input exits 2 with one line', async () => {
    for (const args of [['one-dir-only'], ['--runs', '1'], ['--nope', 'a', 'b'], [path.join(REPO_ROOT, 'no-such'), path.join(REPO_ROOT, 'no-such-2')]]) {
      const r = await repro(...args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
