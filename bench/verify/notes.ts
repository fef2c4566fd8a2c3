/**
 * Notes a method writes about its own answer. A descriptor that vanished
 * while a frozen workload was read means the state changed under it; a
 * walk cut at its bound or records dropped mean the answer is incomplete.
 * Such an answer is never verified: a mismatch (the bpf collectors fail the
 * collect itself when their ring buffer dropped records, so that answer is
 * `errored` before it gets here).
 */
import { NOTE } from '../decode.js';
import type { Ctx } from './context.js';

export function checkNotes(c: Ctx): void {
  for (const n of c.rec.notes) {
    if (n.code === NOTE.FD_VANISHED) {
      c.bad('fd', n.pid, n.fd >= 0 ? `fd ${n.fd}` : 'collector', 'a stable descriptor table', n.text || 'descriptor vanished during the read');
    } else if (n.code === NOTE.RINGBUF_DROPPED || n.code === NOTE.TRUNCATED) {
      c.bad('fd', n.pid, 'collector', 'complete records', n.text || (n.code === NOTE.RINGBUF_DROPPED ? `${n.count} records dropped` : 'walk truncated'));
    }
  }
}
