/**
 * epoll.item (tfd, events, data of every item of every epoll instance) and
 * epoll.target (the open file each item watches). Instances are named by
 * their descriptor, per table. An item is found by its data (unique in a
 * workload's manifest), by data and tfd where a manifest repeats data in
 * one instance. Two records for one item, items or instances the manifest
 * does not have are mismatches.
 *
 * A target a method names by neither key nor holder is unrecovered when the
 * method declared that (partial); with unheldOnly only when no descriptor
 * holds the target. Dev and ino it gives for a target must be the target's.
 */
import type { RecEpollItem } from '../decode.js';
import type { ManifestEpollItem } from '../manifest.js';
import { type Ctx, hex } from './context.js';

export function checkEpoll(c: Ctx): void {
  const items = c.on('epoll.item');
  const targets = c.on('epoll.target');
  if (!items && !targets) return;
  const byInst = new Map<string, RecEpollItem[]>();
  for (const it of c.rec.epollItems) {
    const t = c.tableOf.get(it.pid);
    if (t === undefined) {
      if (items) c.bad('epoll.item', it.pid, `epoll ${it.epfd}`, 'epoll instances of the target tasks only', `an item of pid ${it.pid}, not a task of the manifest`);
      continue;
    }
    const k = `${t}:${it.epfd}`;
    if (!byInst.has(k)) byInst.set(k, []);
    byInst.get(k)!.push(it);
  }
  const manifestInst = new Set<string>();
  for (const ep of c.manifest.epoll) {
    const k = `${c.tableOf.get(ep.pid)}:${ep.epfd}`;
    manifestInst.add(k);
    const got = byInst.get(k) ?? [];
    const dataCount = new Map<string, number>();
    for (const w of ep.items) dataCount.set(hex(w.data), (dataCount.get(hex(w.data)) ?? 0) + 1);
    const keyOf = (data: string | undefined, tfd: number) => {
      const d = hex(data);
      return (dataCount.get(d) ?? 0) > 1 ? `${d}/${tfd}` : d;
    };
    const used = new Set<RecEpollItem>();
    const index = new Map<string, RecEpollItem[]>();
    for (const it of got) {
      if (it.data === undefined) continue;
      const key = keyOf(it.data, it.tfd);
      if (!index.has(key)) index.set(key, []);
      index.get(key)!.push(it);
    }
    for (const want of ep.items) {
      const where = `epoll ${ep.epfd} item data=${hex(want.data)}`;
      const cands = index.get(keyOf(want.data, want.tfd)) ?? [];
      const g = cands[0];
      if (g) used.add(g);
      if (items) {
        c.counts['epoll.item'].checked++;
        if (!g) {
          c.bad('epoll.item', ep.pid, where, `tfd ${want.tfd}`, 'missing');
          continue;
        }
        for (const extra of cands.slice(1)) {
          used.add(extra);
          c.bad('epoll.item', extra.pid, where, 'one record', `two records (tfd ${g.tfd} and tfd ${extra.tfd})`);
        }
        if (g.tfd !== want.tfd) c.bad('epoll.item', g.pid, where, `tfd ${want.tfd}`, `tfd ${g.tfd}`);
        if (g.events === undefined) c.bad('epoll.item', g.pid, where, `events 0x${want.events.toString(16)}`, 'no events');
        else if (g.events !== want.events) c.bad('epoll.item', g.pid, where, `events 0x${want.events.toString(16)}`, `events 0x${g.events.toString(16)}`);
      }
      if (targets && g) checkTarget(c, ep.pid, where, want, g);
    }
    if (items) {
      for (const it of got) {
        if (!used.has(it)) c.bad('epoll.item', it.pid, `epoll ${ep.epfd} item tfd=${it.tfd}`, 'no such item', `data=${it.data ?? '?'}`);
      }
    }
  }
  if (items) {
    for (const [k, list] of byInst) {
      if (!manifestInst.has(k)) c.bad('epoll.item', list[0]!.pid, `epoll ${list[0]!.epfd}`, 'not an epoll instance of the manifest', `${list.length} items`);
    }
  }
}

function checkTarget(c: Ctx, pid: number, where: string, want: ManifestEpollItem, g: RecEpollItem): void {
  const K = 'epoll.target';
  c.counts[K].checked++;
  const tf = c.file(want.target);
  if (tf && g.targetIno !== undefined && g.targetIno !== tf.ino) c.bad(K, g.pid, where, `target ino ${tf.ino}`, `ino ${g.targetIno}`);
  if (tf && g.targetDev !== undefined && g.targetDev !== tf.dev) c.bad(K, g.pid, where, `target dev ${tf.dev}`, `dev ${g.targetDev}`);
  const why = c.ref(g.target, want.target, { kind: K, pid: g.pid, where });
  if (why === 'none') {
    const holder = c.heldBy.get(want.target);
    if (c.mayLeave(K, holder !== undefined)) c.counts[K].unrecovered++;
    else c.bad(K, g.pid, where, holder ? `${want.target} (held by ${holder})` : want.target, 'no identity');
  } else if (why) c.bad(K, pid, where, want.target, why);
}
