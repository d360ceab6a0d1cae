import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/**/*.test.ts', 'services/**/*.test.ts', 'tools/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // One NATS server and one FerretDB for the whole run; tests isolate by tenant, stream and database names.
    globalSetup: ['./tests/setup/infra.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Leak tests compare heap sizes after a forced collection.
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
