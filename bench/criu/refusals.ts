/**
 * Why CRIU refused to dump a tree, from its log: CRIU's own lines, and a
 * cause when the lines match one we know (found on CRIU 4.2, kernel 6.18).
 * The first matching cause wins; a log no cause matches is `unknown` and
 * still carries CRIU's error lines.
 */
import type { CoverageKind } from '../schema.js';

export type RefusalCause =
  | 'io_uring'
  | 'packetized-pipe'
  | 'pipe-limit'
  | 'epoll-target-elsewhere'
  | 'session'
  | 'external-unix-socket'
  | 'tcp-established'
  | 'file-locks'
  | 'unknown';

export interface Refusal {
  cause: RefusalCause;
  /** the kind of state CRIU could not dump ('fd' when it is a kind of open file) */
  kind: CoverageKind;
  /** one sentence: what in the tree CRIU cannot dump */
  why: string;
  /** CRIU's own lines: the explaining line (debug level, when there is one) and every "Error (...)" line */
  lines: string[];
}

interface KnownCause {
  cause: RefusalCause;
  kind: CoverageKind;
  why: string;
  /** a line of the log that identifies the cause */
  match: RegExp;
  /** a debug line that explains it (quoted before the error lines) */
  context?: RegExp;
}

export const KNOWN_CAUSES: readonly KnownCause[] = [
  {
    cause: 'io_uring',
    kind: 'uring.file',
    why: 'CRIU does not support io_uring: it cannot dump the mapping of an [io_uring] instance (nor the instance)',
    match: /anon_inode:\[io_uring\]|\[io_uring\]/,
  },
  {
    cause: 'packetized-pipe',
    kind: 'fd',
    why: 'an O_DIRECT (packetized) pipe: CRIU cannot dump one',
    match: /The packetized mode for pipes is not supported yet/,
  },
  {
    cause: 'pipe-limit',
    kind: 'fd',
    why: 'more than 1024 pipes with a read end open in the tree (CRIU keeps at most NR_PIPES_WITH_DATA = 1024 per dump)',
    match: /OOM storing pipe/,
  },
  {
    cause: 'epoll-target-elsewhere',
    kind: 'epoll.target',
    why: "an epoll item whose target no descriptor of the epoll's own task holds (e.g. held only by another task): CRIU cannot find it",
    match: /Dump eventpoll \(pid: \d+\) failed|Escaped\/closed fd descriptor/,
    context: /kid_lookup_epoll: (?:no match|pid mismatch)[^\n]*/,
  },
  {
    cause: 'session',
    kind: 'fd',
    why: 'the root task is not a session leader: CRIU needs --shell-job',
    match: /is not a session leader|Consider using --shell-job/,
  },
  {
    cause: 'external-unix-socket',
    kind: 'fd',
    why: 'a unix socket connected outside the tree: CRIU needs --ext-unix-sk',
    match: /External socket is used|Can't dump half of stream unix connection/,
  },
  {
    cause: 'tcp-established',
    kind: 'fd',
    why: 'an established TCP connection: CRIU needs --tcp-established',
    match: /Connected TCP socket, consider using --tcp-established/,
  },
  {
    cause: 'file-locks',
    kind: 'fd',
    why: 'file locks are held: CRIU needs --file-locks',
    match: /file locks are hold without --file-locks|Some file locks are hold/,
  },
];

/** time stamp and level prefix removed: "Error (criu/pipes.c:490): ..." stays as CRIU wrote it */
const stripStamp = (l: string): string => l.replace(/^\(\d+\.\d{6}\) /, '');

export function classifyRefusal(logText: string, errors: string[]): Refusal {
  for (const c of KNOWN_CAUSES) {
    if (!c.match.test(logText)) continue;
    const lines: string[] = [];
    if (c.context) {
      const m = new RegExp(`^\\(\\d+\\.\\d{6}\\) .*${c.context.source}`, 'm').exec(logText);
      if (m) lines.push(stripStamp(m[0]));
    }
    lines.push(...errors);
    return { cause: c.cause, kind: c.kind, why: c.why, lines };
  }
  return { cause: 'unknown', kind: 'fd', why: 'CRIU refused the tree (see its error lines)', lines: [...errors] };
}

/**
 * The first error line that says what failed, for a one-line reason:
 * CRIU's non-fatal complaints (it cannot raise its own RLIMIT_NOFILE without
 * CAP_SYS_RESOURCE) and the closing "Dumping FAILED." are skipped.
 */
export function headlineError(lines: string[]): string | undefined {
  const skip = /Can't setup RLIMIT_NOFILE for self|Dumping FAILED\.|kid_lookup_epoll/;
  return lines.find((l) => /^Error /.test(l) && !skip.test(l)) ?? lines.find((l) => !skip.test(l)) ?? lines[0];
}
