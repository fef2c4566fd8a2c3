/**
 * CRIU's dump log (`criu dump -o dump.log -v4`) read for its stage times.
 *
 * Every line CRIU itself writes starts with "(SS.uuuuuu)", seconds since
 * criu started; lines of the parasite ("pie: ...") carry none. Per task,
 * cr-dump.c:dump_one_task() logs, in this order:
 *
 *   Dumping task (pid: P comm: C)
 *   Collecting fds (pid: P)          collect_fds: the /proc/P/fd listing
 *   Found N file descriptors
 *   ...                              parasite injected
 *   Dumping opened files (pid: P)    dump_task_files_seized: every fd, drained
 *   ...                              through the parasite, then the epoll
 *                                    queue (flush_eventpoll_dinfo_queue)
 *   Dumping pages (type: T pid: P)   parasite_dump_pages_seized
 *   Dumping core (pid: P)
 *
 * File state of a task = collect fds + dump opened files (up to "Dumping
 * pages"). A task that shares its fd table with another (CLONE_FILES) has
 * neither stage. At -v2 or below the stage lines are not printed.
 */

export interface TaskStages {
  pid: number;
  /** "Found N file descriptors" */
  fds?: number;
  /** Collecting fds -> Found N file descriptors (ms) */
  collectFdsMs?: number;
  /** Dumping opened files -> Dumping pages (ms); undefined when the stage never ended */
  dumpFilesMs?: number;
  /** Dumping pages -> Dumping core (ms): the memory dump of this task */
  dumpPagesMs?: number;
}

export interface DumpLog {
  /** the last time stamp of the log (ms since criu started) */
  lastMs: number;
  /** criu start -> "Dumping processes": kernel feature probing (kerndat), namespaces, mounts */
  startupMs?: number;
  /** "Dumping processes" -> first "Dumping task": seizing the tree, collecting sockets and namespaces */
  seizeMs?: number;
  /** "Dumping task" of the first task -> "Dumping pstree" (every task's own dump) */
  tasksMs?: number;
  tasks: TaskStages[];
  /** sums over tasks (ms) */
  collectFdsMs: number;
  dumpFilesMs: number;
  dumpPagesMs: number;
  /** collectFdsMs + dumpFilesMs */
  fileStateMs: number;
  /** a files stage started but did not reach "Dumping pages" (the dump failed there) */
  filesIncomplete: boolean;
  /** "Dumping finished successfully" was logged */
  finished: boolean;
  /** "Error (file:line): text" lines, without the time stamp */
  errors: string[];
  /** "Warn (file:line): text" lines, without the time stamp */
  warnings: string[];
  /** how many lines had a time stamp */
  lines: number;
}

const STAMP = /^\((\d+)\.(\d{6})\) (.*)$/;

/** ms between two time stamps, to the µs the log has (no float noise) */
const span = (from: number, to: number): number => Math.round((to - from) * 1000) / 1000;
const sum = (a: number | undefined, b: number): number => Math.round(((a ?? 0) + b) * 1000) / 1000;

export function parseDumpLog(text: string): DumpLog {
  const out: DumpLog = {
    lastMs: 0,
    tasks: [],
    collectFdsMs: 0,
    dumpFilesMs: 0,
    dumpPagesMs: 0,
    fileStateMs: 0,
    filesIncomplete: false,
    finished: false,
    errors: [],
    warnings: [],
    lines: 0,
  };
  const byPid = new Map<number, TaskStages>();
  const task = (pid: number): TaskStages => {
    let t = byPid.get(pid);
    if (!t) {
      t = { pid };
      byPid.set(pid, t);
      out.tasks.push(t);
    }
    return t;
  };
  let processesAt: number | undefined;
  let firstTaskAt: number | undefined;
  let collecting: { t: TaskStages; at: number } | undefined;
  let files: { t: TaskStages; at: number } | undefined;
  let pages: { t: TaskStages; at: number } | undefined;
  let m: RegExpExecArray | null;

  for (const line of text.split('\n')) {
    const s = STAMP.exec(line);
    if (!s) continue;
    out.lines++;
    const ms = Number(s[1]) * 1000 + Number(s[2]) / 1000; // ms since criu started
    out.lastMs = ms;
    const msg = s[3];
    if (msg.startsWith('Error ')) out.errors.push(msg);
    else if (msg.startsWith('Warn ')) out.warnings.push(msg);
    else if (msg.startsWith('Dumping processes (')) {
      processesAt ??= ms;
      out.startupMs ??= ms;
    } else if ((m = /^Dumping task \(pid: (\d+)/.exec(msg))) {
      if (firstTaskAt === undefined) {
        firstTaskAt = ms;
        if (processesAt !== undefined) out.seizeMs = span(processesAt, ms);
      }
      task(Number(m[1]));
    } else if ((m = /^Collecting fds \(pid: (\d+)\)/.exec(msg))) {
      collecting = { t: task(Number(m[1])), at: ms };
    } else if ((m = /^Found (\d+) file descriptors/.exec(msg)) && collecting) {
      collecting.t.fds = Number(m[1]);
      collecting.t.collectFdsMs = sum(collecting.t.collectFdsMs, span(collecting.at, ms));
      collecting = undefined;
    } else if ((m = /^Dumping opened files \(pid: (\d+)\)/.exec(msg))) {
      files = { t: task(Number(m[1])), at: ms };
    } else if ((m = /^Dumping pages \(type: \d+ pid: (\d+)\)/.exec(msg))) {
      const t = task(Number(m[1]));
      if (files && files.t === t) {
        t.dumpFilesMs = sum(t.dumpFilesMs, span(files.at, ms));
        files = undefined;
      }
      pages = { t, at: ms };
    } else if ((m = /^Dumping core \(pid: (\d+)\)/.exec(msg))) {
      if (pages && pages.t.pid === Number(m[1])) {
        pages.t.dumpPagesMs = sum(pages.t.dumpPagesMs, span(pages.at, ms));
        pages = undefined;
      }
    } else if (msg.startsWith('Dumping pstree (')) {
      if (firstTaskAt !== undefined) out.tasksMs ??= span(firstTaskAt, ms);
    } else if (msg.startsWith('Dumping finished successfully')) out.finished = true;
  }
  // a files stage cut short by a failure: count it up to the last time stamp
  if (files) {
    files.t.dumpFilesMs = sum(files.t.dumpFilesMs, span(files.at, out.lastMs));
    out.filesIncomplete = true;
  }
  for (const t of out.tasks) {
    out.collectFdsMs = sum(out.collectFdsMs, t.collectFdsMs ?? 0);
    out.dumpFilesMs = sum(out.dumpFilesMs, t.dumpFilesMs ?? 0);
    out.dumpPagesMs = sum(out.dumpPagesMs, t.dumpPagesMs ?? 0);
  }
  out.fileStateMs = sum(out.collectFdsMs, out.dumpFilesMs);
  return out;
}
