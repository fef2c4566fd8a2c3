/**
 * JSON.parse that keeps 64-bit integers exact: crit prints u64 fields
 * (epoll item data, inode numbers) as plain JSON numbers, which lose
 * precision above 2^53 in JavaScript. Integers beyond Number's safe range
 * come back as bigint; everything else as JSON.parse would give it.
 */

export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };

export class JsonError extends Error {}

export function parseJson(text: string): Json {
  let i = 0;
  const n = text.length;

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const fail = (what: string): never => {
    throw new JsonError(`${what} at offset ${i}`);
  };

  const str = (): string => {
    // fast path: no escapes
    const start = ++i;
    let j = start;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        i = j + 1;
        return text.slice(start, j);
      }
      if (c === 0x5c) break;
      j++;
    }
    // slow path: let JSON.parse handle the escapes of this one string
    j = start;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 0x5c) j += 2;
      else if (c === 0x22) break;
      else j++;
    }
    if (j >= n) fail('unterminated string');
    const s = JSON.parse(text.slice(start - 1, j + 1)) as string;
    i = j + 1;
    return s;
  };

  const num = (): number | bigint => {
    const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return fail('bad number');
    i += r[0].length;
    if (r[1] === undefined && r[2] === undefined) {
      const v = Number(r[0]);
      return Number.isSafeInteger(v) ? v : BigInt(r[0]);
    }
    return Number(r[0]);
  };

  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o: { [k: string]: Json } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        o[k] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return o;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const a: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (c === 't' && text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (c === 'f' && text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (c === 'n' && text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    return fail(c === undefined ? 'unexpected end' : `unexpected "${c}"`);
  };

  const v = value();
  ws();
  if (i !== n) fail('trailing data');
  return v;
}
