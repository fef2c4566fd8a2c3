/**
 * kernel/readers.ts - two readers of the real iterators at once, inside the
 * kernel lane's VM (test/kernel.test.ts runs it through kernel/vm.sh).
 *
 * Starts one workload with epoll instances and io_uring rings, freezes it,
 * and for each real-iterator method runs `ibcollect -R READERS -n ITERS`:
 * READERS threads, each pinned to its own CPU, collect at the same time on
 * the one loaded object, ITERS times, started together (a barrier before
 * each collect). Every answer must equal reader 0's first byte for byte
 * (ibcollect checks), and each reader's first answer is decoded and
 * verified against the manifest here. Before the programs kept their
 * pointer conversion and the instance being read in globals
 * (bpf/real_iter.bpf.c, bench/native/bpf_real.c), two readers could swap
 * identity keys or write the other's descriptor into their records.
 *
 * Then the io_uring readers under contention, made deterministic with
 * IB_REAL_ITER_FAULT (bench/native/bpf_real.c: reads fail with EDEADLK or
 * EBUSY as while another reader holds the ring lock, the position kept):
 * after a part of the table was read, a few contended reads must be read
 * through on the same iterator fd (the answer verifies, and the collect
 * made exactly the failed reads more, no new iterator and no re-read of a
 * slot); contention that lasts is an error when a part was read, and the
 * tables reported missing when none was.
 *
 * Usage: tsx kernel/readers.ts [--files N] [--readers R] [--iters K] [--out DIR]
 * Prints one JSON line per method ({method, readers, cpus, iters, exit,
 * bytes, verified, mismatches}) and per contention check ({check, ok,
 * ...}); exit 0 when every method verified and every check held, 1
 * otherwise, 77 when the kernel has no real iterators (skipped).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRecords } from '../bench/decode.js';
import { listMethods } from '../bench/native.js';
import { startWorkload } from '../bench/workload.js';
import { verify } from '../bench/verify/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const METHODS = ['bpf-iter-epoll', 'bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf'];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

async function main(): Promise<number> {
  const files = Number(arg('--files', '2000'));
  const readers = Number(arg('--readers', '2'));
  const iters = Number(arg('--iters', '20'));
  const out = arg('--out', os.tmpdir());
  mkdirSync(out, { recursive: true });
  const s = await startWorkload({ scenario: 'all', files, tasks: 2 });
  if (s.state !== 'ready') {
    process.stderr.write(`readers: workload: ${s.state}: ${s.reason}\n`);
    return 1;
  }
  const w = s.workload;
  let failed = 0;
  let skipped = 0;
  try {
    await w.freeze();
    for (const name of METHODS) {
      const method = listMethods().find((m) => m.name === name)!;
      const prefix = path.join(out, `readers-${name}`);
      const r = spawnSync(path.join(REPO, 'build/native/ibcollect'), ['-q', '-R', String(readers), '-n', String(iters), '-w', prefix, name, ...w.pids.map(String)], {
        encoding: 'utf8',
      });
      const line: Record<string, unknown> = { method: name, readers, iters, exit: r.status };
      const said = /^# .*: (\d+) readers on cpus ([\d ]+), .*answers unlike reader 0's first: (\d+); bytes (\d+)$/m.exec(r.stdout);
      if (said) Object.assign(line, { cpus: said[2]!.trim().split(' ').map(Number), unlike: Number(said[3]), bytes: Number(said[4]) });
      if (r.status === 77) {
        skipped++;
        line.skipped = r.stderr.trim();
      } else if (r.status !== 0) {
        failed++;
        line.error = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
      } else {
        const verified: boolean[] = [];
        const mismatches: string[] = [];
        for (let i = 0; i < readers; i++) {
          const buf = readFileSync(`${prefix}.${i}`);
          const rec = decodeRecords(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
          const v = verify(w.manifest, rec, method);
          verified.push(v.ok);
          for (const m of v.mismatches.slice(0, 3)) mismatches.push(`reader ${i}: ${m.kind} pid ${m.pid} ${m.where}: expected ${m.expected}, got ${m.got}`);
        }
        line.verified = verified;
        if (mismatches.length) line.mismatches = mismatches;
        if (!verified.every(Boolean)) failed++;
      }
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    if (skipped === 0) failed += contention(w.pids, w.manifest, out);
  } finally {
    await w.stop();
  }
  if (failed) return 1;
  return skipped === METHODS.length ? 77 : 0;
}

/** one collect of `name` with IB_REAL_ITER_FAULT=fault (or none): exit, calls, the answer, stderr */
function collectOnce(name: string, pids: number[], prefix: string, fault?: string) {
  const env = { ...process.env };
  if (fault) env.IB_REAL_ITER_FAULT = fault;
  else delete env.IB_REAL_ITER_FAULT;
  const r = spawnSync(path.join(REPO, 'build/native/ibcollect'), ['-q', '-w', prefix, name, ...pids.map(String)], { encoding: 'utf8', env });
  const calls = Number(/calls (\d+)/.exec(r.stdout)?.[1] ?? NaN);
  let answer: ReturnType<typeof decodeRecords> | undefined;
  if (r.status === 0) {
    const buf = readFileSync(`${prefix}.0`);
    answer = decodeRecords(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  return { exit: r.status, calls, answer, stderr: r.stderr.trim() };
}

/** the contention checks (see the header); returns how many failed */
function contention(pids: number[], manifest: Parameters<typeof verify>[0], out: string): number {
  const name = 'bpf-iter-io-uring-file';
  const method = listMethods().find((m) => m.name === name)!;
  const prefix = path.join(out, 'contention');
  let failed = 0;
  const report = (check: string, ok: boolean, more: Record<string, unknown>) => {
    if (!ok) failed++;
    process.stdout.write(`${JSON.stringify({ check, ok, ...more })}\n`);
  };
  const base = collectOnce(name, pids, prefix);
  const rings = base.answer?.rings.length ?? 0;
  report('uncontended', base.exit === 0 && rings > 0 && verify(manifest, base.answer!, method).ok, { calls: base.calls, rings });
  for (const fault of ['EDEADLK:1:2', 'EBUSY:1:2']) {
    const r = collectOnce(name, pids, prefix, fault);
    const v = r.answer ? verify(manifest, r.answer, method) : undefined;
    // exactly the two failed reads more per ring: read on, never from slot 0 again
    report(`read on after ${fault}`, r.exit === 0 && v?.ok === true && r.calls === base.calls + 2 * rings, {
      calls: r.calls,
      expectedCalls: base.calls + 2 * rings,
      verified: v?.ok,
      ...(v && !v.ok ? { mismatch: v.mismatches[0] } : {}),
      ...(r.exit !== 0 ? { error: r.stderr } : {}),
    });
  }
  const lasting = collectOnce(name, pids, prefix, 'EDEADLK:1:9');
  report('lasting contention after a part: an error', lasting.exit === 1 && /stayed contended \(EDEADLK\) after \d+ bytes/.test(lasting.stderr), { error: lasting.stderr });
  const busy = collectOnce(name, pids, prefix, 'EBUSY:0:9');
  report('lasting EBUSY: an error', busy.exit === 1 && /being unregistered \(EBUSY\)/.test(busy.stderr), { error: busy.stderr });
  const none = collectOnce(name, pids, prefix, 'EDEADLK:0:9');
  const nv = none.answer ? verify(manifest, none.answer, method) : undefined;
  report(
    'lasting contention before anything: tables missing',
    none.exit === 0 && nv?.ok === false && nv.mismatches.every((m) => /ring lock contended/.test(m.got)) && (none.answer?.notes.length ?? 0) === rings,
    { mismatch: nv?.mismatches[0], notes: none.answer?.notes.length },
  );
  return failed;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`readers: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
