/** analysis/: numbers into statistics, fits, ratios, warnings and gate verdicts. */
export * from './stats.js';
export * from './fit.js';
export * from './speedup.js';
export * from './warnings.js';
export * from './units.js';
export * from './repro.js';
export * from './gate.js';
