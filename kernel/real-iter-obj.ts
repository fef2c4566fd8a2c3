/**
 * The real iterators' object for one built patched kernel: this tree's
 * bpf/real_iter.bpf.c compiled against that kernel's vmlinux.h into this
 * tree's build directory (bpf/Makefile, target real-iter). kernel/build.sh
 * also leaves one in the kernel cache, but that cache is shared by every
 * clone on the machine: an object compiled there from another clone's
 * sources does not match this tree's user space (its maps differ), so the
 * lane never loads it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type RealIterObject = { ok: true; path: string } | { ok: false; reason: string };

/** Compiles (when missing or older than its sources) and returns the object for the kernel build in kdir. */
export function realIterObject(kdir: string): RealIterObject {
  if (!existsSync(path.join(kdir, 'vmlinux.h'))) return { ok: false, reason: `no ${path.join(kdir, 'vmlinux.h')} (not a patched kernel build)` };
  const real = realpathSync(kdir);
  const out = path.join(REPO, 'build', 'bpf');
  const r = spawnSync('make', ['-C', path.join(REPO, 'bpf'), '-s', 'real-iter', `KDIR=${real}`, `O=${out}`], { encoding: 'utf8' });
  const obj = path.join(out, 'kernel', path.basename(real), 'real_iter.bpf.o');
  if (r.status !== 0 || !existsSync(obj)) {
    const why = (r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' / ');
    return { ok: false, reason: `bpf/real_iter.bpf.c does not compile against ${real}/vmlinux.h: ${why}` };
  }
  return { ok: true, path: obj };
}
