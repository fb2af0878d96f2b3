import { defineConfig } from 'vitest/config';

// Four projects: `npm run test:unit` runs the first alone in seconds (no database, no browser, no GPU).
// By folder: the store and the jobs core, whose tests run the scheduler against each dialect.
const STORE = ['coordinator/store/**/*.test.ts', 'coordinator/jobs/**/*.test.ts'];
const GPU = ['kernels/dawn.test.ts', 'kernels/matmul-gpu.test.ts', 'kernels/graph/gpu-engine.test.ts', 'test/browser-kernels.test.ts'];
const E2E = ['test/**/*.test.ts'];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**', '.tsbuild/**'],
    testTimeout: 60_000,
    setupFiles: ['test/clean-temp.ts'],
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores here: GPU and e2e files would starve each other if run all at once.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['**/*.test.ts'], exclude: ['node_modules/**', 'dist/**', ...STORE, ...GPU, ...E2E] } },
      { extends: true, test: { name: 'store', include: STORE, globalSetup: ['test/global-setup.ts'] } },
      { extends: true, test: { name: 'gpu', include: GPU } },
      { extends: true, test: { name: 'e2e', include: E2E, exclude: GPU, globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
