/**
 * One schema at the bottom: bpf/kinds.h and bpf/records.h define the kinds
 * of files and the records every method writes; bench/decode.ts carries
 * TypeScript's copy. These tests parse the headers (the enums, the bit
 * definitions, the IB_SIZE/IB_LAYOUT lines the compiler checks) and fail on
 * any difference, and they feed the decoder malformed buffers: each must be
 * a clear DecodeError, never a silent wrong answer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DecodeError, HAVE, ID_HOW, KINDS, LAYOUT, NOTE, REC, URING_STATUS, decodeRecords } from '../bench/decode.js';
import { REPO_ROOT } from '../bench/native.js';
import { COVERAGE_KINDS, STAGES } from '../bench/schema.js';

const header = (rel: string) => readFileSync(path.join(REPO_ROOT, rel), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
const kindsH = header('bpf/kinds.h');
const recordsH = header('bpf/records.h');
const methodH = header('bench/native/method.h');

/** NAME -> value of the enumerators of `enum name { ... }` (explicit or implicit values) */
function parseEnum(text: string, name: string, prefix: string): Map<string, number> {
  const m = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(text);
  if (!m) throw new Error(`enum ${name} not found`);
  const out = new Map<string, number>();
  let next = 0;
  for (const part of m[1].split(',')) {
    const e = /^\s*(\w+)\s*(?:=\s*(\w+))?\s*$/.exec(part);
    if (!e) continue;
    const v = e[2] === undefined ? next : Number(e[2]);
    next = v + 1;
    if (!e[1].startsWith(prefix) || e[1].endsWith('__N')) continue;
    out.set(e[1].slice(prefix.length), v);
  }
  return out;
}

/** NAME -> value of `#define <prefix>NAME (1u << n)` lines */
function parseBits(text: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`#define\\s+${prefix}(\\w+)\\s+\\(1u\\s*<<\\s*(\\d+)\\)`, 'g'))) {
    out.set(m[1], 2 ** Number(m[2]));
  }
  return out;
}

/** the string literals of a `#define NAME { "a", "b", ... }` */
function parseNames(text: string, define: string): string[] {
  const m = new RegExp(`#define\\s+${define}\\s*\\\\?\\s*\\{([^}]*)\\}`).exec(text);
  if (!m) throw new Error(`${define} not found`);
  return [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]);
}

const SNAKE = (s: string) => s.toUpperCase();

describe('the kinds of files (bpf/kinds.h)', () => {
  it('has the same values and names as the decoder', () => {
    const e = parseEnum(kindsH, 'ib_kind', 'IB_K_');
    expect(e.size).toBeGreaterThan(10);
    for (const [name, v] of e) expect(KINDS[v], `IB_K_${name}`).toBe(name.toLowerCase());
    expect(KINDS.length).toBe(e.size);
    expect(parseNames(kindsH, 'IB_KIND_NAMES')).toEqual([...KINDS]);
  });
});

describe('the record format (bpf/records.h)', () => {
  it('has the record types, identity kinds and note codes of the decoder', () => {
    expect(Object.fromEntries(parseEnum(recordsH, 'ib_rec_type', 'IB_REC_'))).toEqual(REC);
    expect(Object.fromEntries(parseEnum(recordsH, 'ib_id_how', 'IB_ID_'))).toEqual(ID_HOW);
    expect(Object.fromEntries(parseEnum(recordsH, 'ib_note_code', 'IB_NOTE_'))).toEqual(NOTE);
  });

  it('has the have bits and ring status bits of the decoder', () => {
    expect(Object.fromEntries(parseBits(recordsH, 'IB_HAVE_'))).toEqual(HAVE);
    expect(Object.fromEntries(parseBits(recordsH, 'IB_URING_'))).toEqual(URING_STATUS);
  });

  it('lays every struct out as the decoder reads it (the IB_SIZE and IB_LAYOUT lines)', () => {
    const sizes = [...recordsH.matchAll(/^IB_SIZE\((\w+),\s*(\d+)\);/gm)].map((m) => [m[1], Number(m[2])] as const);
    const fields = [...recordsH.matchAll(/^IB_LAYOUT\((\w+),\s*(\w+),\s*(\d+)\);/gm)].map((m) => [m[1], m[2], Number(m[3])] as const);
    expect(sizes.length).toBe(Object.keys(LAYOUT).length);
    const layout = LAYOUT as Record<string, { size: number; fields: Record<string, number> }>;
    for (const [s, size] of sizes) expect(layout[s]?.size, `size of struct ${s}`).toBe(size);
    const fromHeader: Record<string, Record<string, number>> = {};
    for (const [s, f, off] of fields) (fromHeader[s] ??= {})[f] = off;
    for (const [s, l] of Object.entries(layout)) expect(fromHeader[s], `fields of struct ${s}`).toEqual(l.fields);
  });

  it('names the kinds of state and the stages as TypeScript does (method.h)', () => {
    expect(parseNames(methodH, 'IB_COV_NAMES')).toEqual([...COVERAGE_KINDS]);
    expect([...parseEnum(methodH, 'ib_cov', 'IB_COV_').keys()].length).toBe(COVERAGE_KINDS.length);
    expect(parseNames(methodH, 'IB_STAGE_NAMES')).toEqual([...STAGES]);
    expect([...parseEnum(methodH, 'ib_stage', 'IB_STAGE_').keys()].length).toBe(STAGES.length);
  });
});

/** a record buffer built field by field, as C would write it */
class Builder {
  private parts: Uint8Array[] = [];
  add(type: number, size: number, pid: number, fill: (v: DataView) => void, total = size): this {
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    v.setUint16(0, type, true);
    v.setUint16(2, total, true);
    v.setInt32(4, pid, true);
    fill(v);
    this.parts.push(b);
    return this;
  }
  fd(pid: number, fd: number, o: { kind?: number; have?: number; key?: bigint; how?: number } = {}): this {
    const F = LAYOUT.ib_rec_fd.fields;
    return this.add(REC.FD, LAYOUT.ib_rec_fd.size, pid, (v) => {
      v.setInt32(F.fd, fd, true);
      v.setUint32(F.kind, o.kind ?? 1, true);
      v.setUint32(F.have, o.have ?? HAVE.KIND | HAVE.DEV | HAVE.INO | HAVE.POS | HAVE.FLAGS, true);
      v.setUint32(F.flags, 0o2, true);
      v.setBigUint64(F.dev, 66306n, true);
      v.setBigUint64(F.ino, 1234n, true);
      v.setBigUint64(F.pos, 42n, true);
      v.setBigUint64(F.id + LAYOUT.ib_ref.fields.key, o.key ?? 0xabcn, true);
      v.setUint32(F.id + LAYOUT.ib_ref.fields.how, o.how ?? ID_HOW.KEY, true);
    });
  }
  bytes(): ArrayBuffer {
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out.buffer;
  }
}

const slice = (b: ArrayBuffer, n: number) => b.slice(0, n);
function patch(b: ArrayBuffer, at: number, set: (v: DataView) => void): ArrayBuffer {
  const c = b.slice(0);
  set(new DataView(c, at));
  return c;
}
const decodeError = (b: ArrayBuffer) => {
  try {
    decodeRecords(b);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as Error).message;
  }
  throw new Error('decoded without an error');
};

describe('the record decoder', () => {
  it('reads well-formed records field by field', () => {
    const r = decodeRecords(new Builder().fd(7, 3).fd(7, 4, { have: HAVE.ID_CLASS, key: 0x99n }).bytes());
    expect(r.fds).toEqual([
      { pid: 7, fd: 3, kind: 'reg', flags: 2, dev: 66306, ino: 1234, pos: 42, id: { how: 'key', key: 'abc' } },
      { pid: 7, fd: 4, id: { how: 'key', key: '99' }, idClass: true },
    ]);
  });

  it('reads a table record and a registered ring', () => {
    const T = LAYOUT.ib_rec_table.fields;
    const G = LAYOUT.ib_rec_uring_reg.fields;
    const b = new Builder()
      .add(REC.TABLE, LAYOUT.ib_rec_table.size, 8, (v) => v.setInt32(T.same_as, 7, true))
      .add(REC.URING_REG, LAYOUT.ib_rec_uring_reg.size, 7, (v) => {
        v.setInt32(G.ring_fd, -1, true);
        v.setInt32(G.tid, 9, true);
        v.setUint32(G.index, 2, true);
        v.setBigUint64(G.ring + LAYOUT.ib_ref.fields.key, 0x5n, true);
        v.setUint32(G.ring + LAYOUT.ib_ref.fields.how, ID_HOW.KEY, true);
      })
      .bytes();
    const r = decodeRecords(b);
    expect(r.tables).toEqual([{ pid: 8, sameAs: 7 }]);
    expect(r.uringRegs).toEqual([{ pid: 7, ringFd: -1, tid: 9, index: 2, ring: { how: 'key', key: '5' } }]);
  });

  it('refuses a registered ring whose handle could be a descriptor, and a truncated table record', () => {
    const reg = new Builder().add(REC.URING_REG, LAYOUT.ib_rec_uring_reg.size, 7, (v) => v.setInt32(LAYOUT.ib_rec_uring_reg.fields.ring_fd, 3, true)).bytes();
    expect(decodeError(reg)).toMatch(/registered ring handle 3 is not negative/);
    expect(decodeError(new Builder().add(REC.TABLE, 8, 1, () => undefined).bytes())).toMatch(/table record of 8 bytes, its fixed part is 16/);
  });

  it('reads an empty answer as nothing recovered', () => {
    expect(decodeRecords(new ArrayBuffer(0)).fds).toEqual([]);
  });

  const good = new Builder().fd(7, 3).fd(7, 4).bytes();
  const second = LAYOUT.ib_rec_fd.size;

  it('refuses a truncated header', () => {
    expect(decodeError(slice(good, second + 5))).toMatch(/truncated header/);
  });

  it('refuses a truncated record', () => {
    expect(decodeError(slice(good, second + 40))).toMatch(/truncated fd record \(40 of 72 bytes\)/);
  });

  it('refuses a size that is not a multiple of 8', () => {
    expect(decodeError(patch(good, second, (v) => v.setUint16(2, 68, true)))).toMatch(/size 68 is not a multiple of 8/);
  });

  it('refuses a size smaller than the fixed part of its type', () => {
    expect(decodeError(patch(good, second, (v) => v.setUint16(2, 64, true)))).toMatch(/fd record of 64 bytes, its fixed part is 72/);
    expect(decodeError(new Builder().add(REC.NOTE, 8, 1, () => undefined).bytes())).toMatch(/note record of 8 bytes/);
  });

  it('refuses an unknown record type', () => {
    expect(decodeError(patch(good, second, (v) => v.setUint16(0, 99, true)))).toMatch(/unknown record type 99/);
  });

  it('refuses an unknown kind value', () => {
    expect(decodeError(new Builder().fd(7, 3, { kind: KINDS.length }).bytes())).toMatch(new RegExp(`unknown kind ${KINDS.length}`));
  });

  it('refuses an unknown identity kind, have bit, note code or ring status', () => {
    expect(decodeError(new Builder().fd(7, 3, { how: 9 }).bytes())).toMatch(/unknown identity kind 9/);
    expect(decodeError(new Builder().fd(7, 3, { have: 1 << 12 }).bytes())).toMatch(/unknown have bits 0x1000/);
    expect(
      decodeError(new Builder().add(REC.NOTE, LAYOUT.ib_rec_note.size, 1, (v) => v.setUint32(LAYOUT.ib_rec_note.fields.code, 77, true)).bytes()),
    ).toMatch(/unknown note code 77/);
    expect(
      decodeError(
        new Builder().add(REC.URING_RING, LAYOUT.ib_rec_uring_ring.size, 1, (v) => v.setUint32(LAYOUT.ib_rec_uring_ring.fields.status, 8, true)).bytes(),
      ),
    ).toMatch(/unknown ring status bits 0x8/);
  });

  it('refuses a complete identity class without a key', () => {
    expect(decodeError(new Builder().fd(7, 3, { have: HAVE.ID_CLASS, how: ID_HOW.NONE }).bytes())).toMatch(/complete identity class without a key/);
  });

  it('refuses a path without its terminator and a figure beyond 2^53', () => {
    const withPath = new Builder().fd(7, 3, { have: HAVE.PATH }).bytes(); // no bytes after the fixed part
    expect(decodeError(withPath)).toMatch(/string without its NUL terminator/);
    const unterminated = new Builder().add(REC.FD, 72, 7, (v) => {
      v.setUint32(LAYOUT.ib_rec_fd.fields.have, HAVE.PATH, true);
      for (let i = 72; i < 80; i++) v.setUint8(i, 0x61);
    }, 80).bytes();
    expect(decodeError(unterminated)).toMatch(/NUL terminator/);
    const huge = patch(new Builder().fd(7, 3).bytes(), 0, (v) => v.setBigUint64(LAYOUT.ib_rec_fd.fields.pos, 1n << 60n, true));
    expect(decodeError(huge)).toMatch(/pos 1152921504606846976 is beyond 2\^53/);
  });

  it('says where the bad record is', () => {
    expect(decodeError(patch(good, second, (v) => v.setUint16(0, 99, true)))).toMatch(new RegExp(`record at byte ${second}:`));
  });
});
