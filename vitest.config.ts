import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources in tests (the `eddy-source` export
  // condition), so a test never runs against a stale dist/. No `module` condition: vitest hands the
  // conditions to its workers' Node, and packages such as @aws-sdk/* and @opentelemetry/api map
  // `module` to bundler builds plain Node cannot load.
  resolve: { conditions: ['eddy-source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['eddy-source', 'node', 'import', 'default'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
