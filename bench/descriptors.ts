/**
 * The registry's method descriptors as the harness sees them
 * (MethodDescriptor in bench/schema.ts), from the addon's `methods()`.
 */
import { listMethods, type MethodInfo } from './native.js';
import type { MethodDescriptor } from './schema.js';

type Extra = Pick<MethodDescriptor, 'role' | 'floor' | 'floorLimit' | 'speedupOver' | 'subsetOf' | 'lane' | 'sampling' | 'scaledStage'>;

/*
 * Interim: the facts below move into struct ib_method (bench/native/) with
 * the registry rework; until the addon exports them, they are kept here and
 * nowhere else.
 */
const INTERIM: Record<string, Partial<Extra>> = {
  procfs: { floor: 'floor-procfs', floorLimit: 1.2 },
  'kcmp-pairwise': { sampling: 'rows', scaledStage: 'identity' },
  'bpf-task-file': { floor: 'floor-empty-iter', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  'bpf-epoll': { floor: 'floor-walk-epoll', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  'bpf-io-uring': { floor: 'floor-walk-io-uring', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  'bpf-all': { floor: 'floor-walk', floorLimit: 2, speedupOver: ['procfs', 'kcmp-tree'] },
  'bpf-iter-io-uring-file': { lane: 'patched-kernel', speedupOver: ['procfs', 'kcmp-tree', 'bpf-io-uring'] },
  'bpf-iter-io-uring-buf': { lane: 'patched-kernel', speedupOver: ['procfs', 'kcmp-tree', 'bpf-io-uring'] },
  'bpf-iter-epoll': { lane: 'patched-kernel', speedupOver: ['procfs', 'kcmp-tree', 'bpf-epoll'] },
  'floor-empty-iter': { subsetOf: ['floor-walk-epoll', 'floor-walk-io-uring'] },
  'floor-walk-epoll': { subsetOf: ['floor-walk'] },
  'floor-walk-io-uring': { subsetOf: ['floor-walk'] },
};

export function toDescriptor(m: MethodInfo): MethodDescriptor {
  const x = INTERIM[m.name] ?? {};
  return {
    name: m.name,
    family: m.family,
    role: m.family === 'floor' ? 'floor' : 'recovery',
    summary: m.summary,
    ...(x.floor ? { floor: x.floor } : {}),
    ...(x.floorLimit ? { floorLimit: x.floorLimit } : {}),
    speedupOver: x.speedupOver ?? [],
    subsetOf: x.subsetOf ?? [],
    lane: x.lane ?? 'host',
    needs: m.needs,
    sampling: x.sampling ?? 'none',
    ...(x.scaledStage ? { scaledStage: x.scaledStage } : {}),
    coverage: m.coverage,
  };
}

/** every method of the registry, in its order */
export function listDescriptors(): MethodDescriptor[] {
  return listMethods().map(toDescriptor);
}
