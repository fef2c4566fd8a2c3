/**
 * Compare what a method recovered with the ground truth (a manifest), one
 * module per kind of state:
 *   tables.ts    fd.table     which tasks share a descriptor table
 *   fd.ts        fd           which descriptors each table holds
 *   meta.ts      fd.meta, fd.pos, fd.flags
 *   identity.ts  fd.identity  which descriptors share an open file (a partition)
 *   epoll.ts     epoll.item, epoll.target
 *   uring.ts     uring.ring, uring.file, uring.buf
 *   notes.ts     what the method said about its own answer
 *
 * Per kind the verdict is: wrong (at least one mismatch), absent (the
 * manifest has none of it), not-recoverable (the method declared it cannot
 * say it, or could see none of it), partial (what it said was right but,
 * as declared, not all of it), recovered (everything matched). `full`
 * means every item and every field: a missing one under `full` is a
 * mismatch, never "unrecovered". Duplicates and records the manifest does
 * not have are mismatches.
 */
import type { Recovered } from '../decode.js';
import type { Manifest } from '../manifest.js';
import { COVERAGE_KINDS, type Coverage, type CoverageKind, type Mismatch } from '../schema.js';
import { Ctx, type KindCount, type Method, type VerifyOptions } from './context.js';
import { checkEpoll } from './epoll.js';
import { checkFds, fdRecords } from './fd.js';
import { checkIdentity } from './identity.js';
import { checkMeta } from './meta.js';
import { checkNotes } from './notes.js';
import { checkTables, tablesPresent } from './tables.js';
import { checkUring } from './uring.js';

export type { VerifyOptions } from './context.js';

export interface Verification {
  ok: boolean;
  coverage: Coverage;
  mismatches: Mismatch[];
  /** per kind: items checked, items the interface could not give, items wrong */
  counts: Record<CoverageKind, KindCount>;
}

export function verify(manifest: Manifest, rec: Recovered, method: Method, opts: VerifyOptions = {}): Verification {
  const c = new Ctx(manifest, rec, method, opts);
  checkTables(c);
  const fds = fdRecords(c);
  checkFds(c, fds);
  checkMeta(c, fds);
  checkIdentity(c, fds);
  checkEpoll(c);
  checkUring(c);
  checkNotes(c);

  const hasFds = manifest.tasks.some((t) => t.fds.length > 0);
  const hasItems = manifest.epoll.some((e) => e.items.length > 0);
  const present: Record<CoverageKind, boolean> = {
    fd: hasFds,
    'fd.meta': hasFds,
    'fd.pos': hasFds,
    'fd.flags': hasFds,
    'fd.identity': hasFds,
    'fd.table': tablesPresent(c),
    'epoll.item': hasItems,
    'epoll.target': hasItems,
    'uring.ring': manifest.io_uring.length > 0,
    'uring.file': manifest.io_uring.some((r) => r.files.length > 0),
    'uring.buf': manifest.io_uring.some((r) => r.buffers.length > 0),
  };
  const coverage = {} as Coverage;
  for (const k of COVERAGE_KINDS) {
    const n = c.counts[k];
    if (n.wrong > 0) coverage[k] = 'wrong';
    else if (!present[k]) coverage[k] = 'absent';
    else if (!c.on(k) || n.checked === 0) coverage[k] = 'not-recoverable';
    else if (n.unrecovered > 0 || c.level(k) === 'partial' || (k === 'fd.identity' && opts.sampled)) coverage[k] = 'partial';
    else coverage[k] = 'recovered';
  }
  return { ok: c.mismatches.length === 0, coverage, mismatches: c.mismatches, counts: c.counts };
}
