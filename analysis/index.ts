/** analysis/: numbers into statistics, paired ratios, fits, warnings, verdicts, reports. */
export * from './stats.js';
export * from './paired.js';
export * from './analyze.js';
export * from './fit.js';
export * from './warnings.js';
export * from './units.js';
export * from './repro.js';
export * from './targets.js';
