import { defineConfig } from 'vitest/config';

// Tests start real processes, freeze them and load BPF programs: run test
// files one at a time (two files freezing cgroups at once would measure each
// other), with timeouts that fit real workloads.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
