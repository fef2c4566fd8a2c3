import type { ResultsFile } from '../../bench/schema.js';
import type { Analysis } from '../analyze.js';

/** What every exporter of one write sees: the results and their analysis (computed once, on demand). */
export interface ReportContext {
  analysis(): Analysis;
}

/** One output format (hyperfine src/export/: one exporter per format behind one trait). */
export interface Exporter {
  name: string;
  write(results: ResultsFile, dir: string, ctx: ReportContext): Promise<void>;
}
