/**
 * The registry's method descriptors as the harness sees them
 * (MethodDescriptor in bench/schema.ts), from the addon's `methods()`:
 * every fact comes from the method's struct ib_method (bench/native/),
 * parsed strictly by bench/native.ts.
 */
import { listMethods, type MethodInfo } from './native.js';
import type { MethodDescriptor } from './schema.js';

export function toDescriptor(m: MethodInfo): MethodDescriptor {
  return {
    name: m.name,
    family: m.family,
    role: m.role,
    summary: m.summary,
    ...(m.floor !== null ? { floor: m.floor } : {}),
    ...(m.floorLimit > 0 ? { floorLimit: m.floorLimit } : {}),
    speedupOver: [...m.speedupOver],
    subsetOf: [...m.subsetOf],
    ...(m.emulation
      ? { emulation: { method: m.emulation.method, ...(m.emulation.floor ? { floor: m.emulation.floor } : {}), with: [...m.emulation.with] } }
      : {}),
    lane: m.lane,
    needs: [...m.needs],
    sampling: m.sampling.how,
    sweep: m.sweep,
    ...(m.reach !== 'targets' ? { reach: m.reach } : {}),
    ...(m.parallel ? { parallel: true as const } : {}),
    ...(m.sampling.how === 'rows' ? { scaledStage: m.sampling.scales } : {}),
    coverage: m.coverage,
  };
}

/** every method of the registry, in its order */
export function listDescriptors(): MethodDescriptor[] {
  return listMethods().map(toDescriptor);
}
