/**
 * CLI options as one typed table (vitest cli-config style). Parsing turns bad
 * input into a UsageError: one line, exit 2, never a stack trace.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export type OptionType = 'int' | 'number' | 'string' | 'list' | 'boolean';

export interface OptionSpec {
  type: OptionType;
  description: string;
  /** shown in --help */
  placeholder?: string;
  min?: number;
  max?: number;
  /** allowed values (for string and list) */
  choices?: () => readonly string[];
  hidden?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

export type Parsed<T extends OptionTable> = {
  [K in keyof T]?: T[K]['type'] extends 'int' | 'number'
    ? number
    : T[K]['type'] extends 'boolean'
      ? boolean
      : T[K]['type'] extends 'list'
        ? string[]
        : string;
};

function parseNumber(name: string, raw: string, spec: OptionSpec): number {
  const trimmed = raw.trim();
  const v = spec.type === 'int' ? (/^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : NaN) : Number(trimmed);
  if (trimmed === '' || !Number.isFinite(v)) {
    throw new UsageError(`--${name} takes ${spec.type === 'int' ? 'a whole number' : 'a number'}, not '${raw}'`);
  }
  if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, not ${raw}`);
  if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, not ${raw}`);
  return v;
}

/**
 * `--files -5`: parseArgs will not take a value that starts with '-' for
 * an option ("ambiguous"); join it to its option so the value check names
 * the problem.
 */
function joinNegativeValues(table: OptionTable, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const spec = a.startsWith('--') && !a.includes('=') ? (Object.hasOwn(table, a.slice(2)) ? table[a.slice(2)] : undefined) : undefined;
    if (spec && spec.type !== 'boolean' && i + 1 < argv.length && /^-(?!-)/.test(argv[i + 1])) {
      out.push(`${a}=${argv[++i]}`);
    } else {
      out.push(a);
    }
  }
  return out;
}

export function parseOptions<T extends OptionTable>(table: T, argv: string[]): Parsed<T> & { positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(table)) config[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinNegativeValues(table, argv), options: config, strict: true, allowPositionals: true });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
    const needs = /^Option '(--[\w-]+)[^']*' argument (?:missing|is ambiguous)/.exec(msg);
    if (needs) throw new UsageError(`${needs[1]} needs a value`);
    throw new UsageError(msg.replace(/^Unknown option '(.*?)'.*/, "unknown option '$1' (see --help)"));
  }
  const out: Record<string, unknown> = { positionals: parsed.positionals };
  for (const [name, raw] of Object.entries(parsed.values)) {
    const spec = table[name];
    if (spec.type === 'boolean') {
      out[name] = raw;
      continue;
    }
    const s = String(raw);
    if (spec.type === 'int' || spec.type === 'number') out[name] = parseNumber(name, s, spec);
    else if (spec.type === 'list') {
      const items = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
      if (items.length === 0) throw new UsageError(`--${name} needs at least one value`);
      const choices = spec.choices?.();
      if (choices) {
        for (const it of items) {
          if (!choices.includes(it)) throw new UsageError(`--${name}: unknown value '${it}' (one of: ${choices.join(', ')})`);
        }
      }
      out[name] = items;
    } else {
      if (s === '') throw new UsageError(`--${name} needs a value`);
      const choices = spec.choices?.();
      if (choices && !choices.includes(s)) throw new UsageError(`--${name}: unknown value '${s}' (one of: ${choices.join(', ')})`);
      out[name] = s;
    }
  }
  return out as Parsed<T> & { positionals: string[] };
}

export function helpText(usage: string, table: OptionTable, examples: string[]): string {
  const lines = [usage, '', 'Options:'];
  for (const [name, spec] of Object.entries(table)) {
    if (spec.hidden) continue;
    const flag = `--${name}${spec.type === 'boolean' ? '' : ' ' + (spec.placeholder ?? spec.type.toUpperCase())}`;
    lines.push(`  ${flag.padEnd(26)} ${spec.description}`);
  }
  if (examples.length) lines.push('', 'Examples:', ...examples.map((e) => `  ${e}`));
  return lines.join('\n');
}
