/**
 * fd: which descriptors each descriptor table holds. Checked per table (a
 * table shared by several tasks once, whichever of them the method reports
 * it under): every descriptor of the manifest exactly once, nothing else.
 */
import type { RecFd } from '../decode.js';
import { type Ctx, type FdKey, uniqueBy } from './context.js';

/** The method's descriptor records by table key (the first of duplicates). */
export function fdRecords(c: Ctx): Map<FdKey, RecFd> {
  const on = c.on('fd');
  return uniqueBy(
    c.rec.fds,
    (f) => c.fdKey(f.pid, f.fd),
    (f) => on && c.bad('fd', f.pid, `fd ${f.fd}`, 'one record', 'two records (a duplicate, or a shared table reported twice)'),
    (f) => on && c.bad('fd', f.pid, `fd ${f.fd}`, 'descriptors of the target tasks only', `a record for pid ${f.pid}, not a task of the manifest`),
  );
}

export function checkFds(c: Ctx, got: Map<FdKey, RecFd>): void {
  if (!c.on('fd')) return;
  for (const [table, fds] of c.fdsOf) {
    const pid = c.tasksOf.get(table)![0]!;
    for (const f of fds) {
      c.counts.fd.checked++;
      if (!got.has(`${table}:${f.fd}`)) c.bad('fd', pid, `fd ${f.fd}`, `open (${f.file})`, 'missing');
    }
  }
  for (const [k, f] of got) if (!c.holder.has(k)) c.bad('fd', f.pid, `fd ${f.fd}`, 'not open', `reported (${f.kind ?? '?'})`);
}
