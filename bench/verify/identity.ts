/**
 * fd.identity: which descriptors of all tasks share one open file, checked
 * as a partition. A method names an open file by a key (equal keys = one
 * file) or by a holder (the same file as descriptor P/F). Keys must map one
 * to one onto the manifest's labels, over descriptors, epoll targets,
 * io_uring slots and registered rings together (Ctx.ref); a holder must
 * hold the expected file and must not be the descriptor itself.
 *
 * Sampled (kcmp-pairwise on a sample of rows): a descriptor may have no
 * identity, but every class the method marks complete (IB_HAVE_ID_CLASS)
 * must hold every descriptor of its open file with one key, and at least
 * the sampled rows must be in complete classes.
 */
import type { RecFd } from '../decode.js';
import type { Ctx, FdKey } from './context.js';

export function checkIdentity(c: Ctx, got: Map<FdKey, RecFd>): void {
  if (!c.on('fd.identity')) return;
  const K = 'fd.identity';
  const sampled = !!c.opts.sampled;
  for (const [table, fds] of c.fdsOf) {
    for (const mf of fds) {
      const key = `${table}:${mf.fd}`;
      const g = got.get(key);
      if (!g) continue;
      const where = `fd ${mf.fd}`;
      c.counts[K].checked++;
      const why = c.ref(g.id, mf.file, { kind: K, pid: g.pid, where }, key);
      if (why === 'none') {
        c.counts[K].unrecovered++;
        if (c.level(K) === 'full' && !sampled) c.bad(K, g.pid, where, mf.file, 'no identity');
      } else if (why) c.bad(K, g.pid, where, mf.file, why);
    }
  }
  if (!sampled) return;

  // a class the method marks complete holds every descriptor of that open file, with one key
  const complete = new Map<string, string>(); // label -> key
  let marked = 0;
  for (const [table, fds] of c.fdsOf) {
    for (const mf of fds) {
      const g = got.get(`${table}:${mf.fd}`);
      if (g?.idClass && g.id.how === 'key') {
        marked++;
        if (!complete.has(mf.file)) complete.set(mf.file, g.id.key);
      }
    }
  }
  for (const [table, fds] of c.fdsOf) {
    for (const mf of fds) {
      const key = complete.get(mf.file);
      const g = got.get(`${table}:${mf.fd}`);
      if (key === undefined || !g) continue; // a missing descriptor is the fd check's
      const gotKey = g.id.how === 'key' ? g.id.key : undefined;
      if (gotKey !== key || !g.idClass) {
        c.bad(K, g.pid, `fd ${mf.fd}`, `${mf.file} in its complete class (key ${key})`, gotKey === undefined ? 'no identity' : `key ${gotKey}${g.idClass ? '' : ', class not complete'}`);
      }
    }
  }
  const rows = c.opts.sampleRows;
  if (rows !== undefined && marked < rows) {
    c.bad(K, c.manifest.tasks[0]?.pid ?? 0, 'sampled rows', `${rows} descriptors in complete classes at least`, `${marked}`);
  }
}
