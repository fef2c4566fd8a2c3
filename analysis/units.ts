/** Human units for durations and ratios, fixed width friendly. */

/** 3 significant digits: "812 ns", "4.21 us", "12.3 ms", "1.20 s" */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  const abs = Math.abs(ns);
  const [v, u] = abs < 1e3 ? [ns, 'ns'] : abs < 1e6 ? [ns / 1e3, 'us'] : abs < 1e9 ? [ns / 1e6, 'ms'] : [ns / 1e9, 's'];
  return `${sig3(v)} ${u}`;
}

export function sig3(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** "12.3x" */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  return r >= 1000 ? `${r.toFixed(0)}x` : `${sig3(r)}x`;
}
