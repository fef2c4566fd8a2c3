/** results.json: the ResultsFile object as is (schema field included), atomically. */
import { join } from 'node:path';
import type { ResultsFile } from '../types.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';

export const JSON_FILE = 'results.json';

export const jsonExporter: Exporter = {
  name: 'json',
  async write(results: ResultsFile, dir: string) {
    await writeFileAtomic(join(dir, JSON_FILE), `${JSON.stringify(results, null, 2)}\n`);
  },
};
