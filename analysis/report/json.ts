/**
 * results.json: the ResultsFile object as is (schema field included), plus
 * `analysis` (the figures the reports print, derived from it; `npm run
 * report` recomputes them), atomically. Arrays of numbers (the samples) are
 * written on one line each, so the file stays readable and small.
 */
import { join } from 'node:path';
import type { ResultsFile } from '../../bench/schema.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';

export const JSON_FILE = 'results.json';

/** JSON with two-space indentation, arrays of numbers kept on one line */
export function stringifyResults(obj: unknown): string {
  return JSON.stringify(obj, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, body: string) => `[${body.replace(/,\s+/g, ',')}]`);
}

export const jsonExporter: Exporter = {
  name: 'json',
  async write(results: ResultsFile, dir: string, ctx) {
    await writeFileAtomic(join(dir, JSON_FILE), `${stringifyResults({ ...results, analysis: ctx.analysis() })}\n`);
  },
};
