/**
 * fd.table: which tasks share one descriptor table. Tasks made with
 * clone(CLONE_FILES) use one table (the manifest's tasks[].table); a method
 * reports it once, under one of them, and for each other one an
 * ib_rec_table naming that task. Two reports of one table (double
 * counting), a task said to share a table it does not, a task naming
 * itself or a task that itself points elsewhere are mismatches.
 */
import type { Ctx } from './context.js';

/** some table of the manifest is used by two tasks or more */
export function tablesPresent(c: Ctx): boolean {
  return [...c.tasksOf.values()].some((ts) => ts.length > 1);
}

export function checkTables(c: Ctx): void {
  if (!c.on('fd.table')) return;
  const K = 'fd.table';
  const { rec } = c;
  /** pids that have records of their own (descriptors, epoll items, rings) */
  const own = new Set<number>([...rec.fds, ...rec.epollItems, ...rec.rings, ...rec.uringRegs].map((r) => r.pid));
  const sameAs = new Map<number, number>();
  for (const t of rec.tables) {
    const where = 'descriptor table';
    if (!c.isTask(t.pid)) {
      c.bad(K, t.pid, where, 'a task of the manifest', `a table record for pid ${t.pid}`);
      continue;
    }
    if (sameAs.has(t.pid)) {
      c.bad(K, t.pid, where, 'one table record', `a second one (same as ${t.sameAs})`);
      continue;
    }
    sameAs.set(t.pid, t.sameAs);
    const mine = c.tableOf.get(t.pid)!;
    if (t.sameAs === t.pid) c.bad(K, t.pid, where, `the table of ${mine}`, 'the same table as itself');
    else if (!c.isTask(t.sameAs)) c.bad(K, t.pid, where, `the table of ${mine}`, `the table of ${t.sameAs}, not a task of the manifest`);
    else if (c.tableOf.get(t.sameAs) !== mine) {
      c.bad(K, t.pid, where, c.tasksOf.get(mine)!.length > 1 ? `the table of ${mine}` : 'a table of its own', `the table of ${t.sameAs}`);
    }
    if (own.has(t.pid)) c.bad(K, t.pid, where, `its table reported under ${t.sameAs} only`, 'records of its own besides its table record');
  }
  // a task named as the holder of another's table must report it itself
  for (const [pid, other] of sameAs) {
    if (other !== pid && sameAs.has(other)) c.bad(K, pid, 'descriptor table', `the table reported by ${other}`, `${other} has a table record itself`);
  }
  for (const [table, pids] of c.tasksOf) {
    if (pids.length < 2) continue;
    c.counts[K].checked += pids.length;
    const reporting = pids.filter((p) => !sameAs.has(p));
    if (reporting.length === 0) c.bad(K, pids[0]!, `descriptor table of ${table}`, `reported once, under one of ${pids.join(', ')}`, 'every task has a table record: nobody reports it');
    else if (reporting.length > 1) c.bad(K, reporting[1]!, `descriptor table of ${table}`, `reported once (tasks ${pids.join(', ')} share it)`, `reported under ${reporting.join(' and ')}`);
  }
}
