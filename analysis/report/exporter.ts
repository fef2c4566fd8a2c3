import type { ResultsFile } from '../types.js';

/** One output format (hyperfine src/export/: one exporter per format behind one trait). */
export interface Exporter {
  name: string;
  write(results: ResultsFile, dir: string): Promise<void>;
}
