/**
 * Interim: the schema moved to bench/schema.ts (one module for results
 * types and reading); this re-export keeps branches in flight compiling
 * and goes once they have landed.
 */
export * from './schema.js';

/** @deprecated read `lane` from the method's descriptor */
export const KERNEL_LANE_METHODS: readonly string[] = ['bpf-iter-io-uring-file', 'bpf-iter-io-uring-buf', 'bpf-iter-epoll'];
