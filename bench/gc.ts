/**
 * A full garbage collection on request, outside every timed part. Checking
 * one answer of 200000 descriptors builds a few hundred MB of short-lived
 * objects (decoded records, the verifier's maps, even for a floor's empty
 * answer); V8 collects them lazily,
 * so with a dozen methods on five instances the heap grew past 1 GiB before
 * it did. Collecting after each big check keeps the harness's peak near its
 * live data. The gc function is taken from V8 at run time (no --expose-gc
 * needed on the command line); where that fails this is a no-op.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      const exposed = (globalThis as { gc?: () => void }).gc;
      if (exposed) gc = exposed;
      else {
        setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as () => void;
      }
    } catch {
      gc = null;
    }
  }
  gc?.();
}

/** answers at least this big (bytes) are followed by a collection */
export const GC_AFTER_BYTES = 4 << 20;
/** and so is every check against a manifest of at least this many descriptors (the verifier's maps) */
export const GC_AFTER_FDS = 50_000;
