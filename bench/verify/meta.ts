/**
 * fd.meta (kind, dev, ino), fd.pos, fd.flags of every descriptor the method
 * reported. A method that declares a kind `full` must give every field of
 * it: a missing field is a mismatch; under `partial` it is unrecovered.
 */
import type { RecFd } from '../decode.js';
import type { CoverageKind } from '../schema.js';
import type { Ctx, FdKey } from './context.js';

/** O_CLOEXEC is a descriptor flag that fdinfo folds into "flags:"; F_GETFL never shows it. */
const O_CLOEXEC = 0o2000000;

export function checkMeta(c: Ctx, got: Map<FdKey, RecFd>): void {
  const missing = (kind: CoverageKind, pid: number, where: string, expected: string, field: string) => {
    if (c.level(kind) === 'full') c.bad(kind, pid, where, expected, `no ${field}`);
    else c.counts[kind].unrecovered++;
  };
  for (const [table, fds] of c.fdsOf) {
    for (const mf of fds) {
      const g = got.get(`${table}:${mf.fd}`);
      const want = c.file(mf.file);
      if (!g || !want) continue;
      const where = `fd ${mf.fd}`;
      const at = g.pid;
      if (c.on('fd.meta')) {
        c.counts['fd.meta'].checked++;
        if (g.kind === undefined) missing('fd.meta', at, where, `kind ${want.kind}`, 'kind');
        else if (g.kind !== want.kind) c.bad('fd.meta', at, where, `kind ${want.kind}`, `kind ${g.kind}`);
        if (g.dev === undefined) missing('fd.meta', at, where, `dev ${want.dev}`, 'dev');
        else if (g.dev !== want.dev) c.bad('fd.meta', at, where, `dev ${want.dev}`, `dev ${g.dev}`);
        if (g.ino === undefined) missing('fd.meta', at, where, `ino ${want.ino}`, 'ino');
        else if (g.ino !== want.ino) c.bad('fd.meta', at, where, `ino ${want.ino}`, `ino ${g.ino}`);
      }
      if (c.on('fd.pos')) {
        c.counts['fd.pos'].checked++;
        if (g.pos === undefined) missing('fd.pos', at, where, `pos ${want.pos}`, 'pos');
        else if (g.pos !== want.pos) c.bad('fd.pos', at, where, `pos ${want.pos}`, `pos ${g.pos}`);
      }
      if (c.on('fd.flags')) {
        c.counts['fd.flags'].checked++;
        const w = `flags 0${want.flags.toString(8)}`;
        if (g.flags === undefined) missing('fd.flags', at, where, w, 'flags');
        else if ((g.flags & ~O_CLOEXEC) !== (want.flags & ~O_CLOEXEC)) c.bad('fd.flags', at, where, w, `flags 0${g.flags.toString(8)}`);
      }
    }
  }
}
