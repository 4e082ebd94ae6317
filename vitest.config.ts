import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The whole suite runs on PGlite in memory. When PARTNER_GATEWAY_TEST_DATABASE_URL is set, the
// store, queue, log, gateway and erasure suites run again against that PostgreSQL server.
const pgUrl = process.env.PARTNER_GATEWAY_TEST_DATABASE_URL;

export default defineConfig({
  test: {
    // One database server is shared by the postgres project's files: run them one at a time.
    fileParallelism: !pgUrl,
    // vitest's default is one worker fewer than the cores: one on a 2-core machine, where the files
    // then ran one after another although they spend much of their time waiting (emulators' answers,
    // retry delays, child processes). At least two: 8 gateway files took 110 s instead of 155 s (load 13-18).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Every request an emulator takes is held against the partner's published API definition
    // (test/spec/): a test whose adapter sent what the spec does not allow fails, naming the field.
    setupFiles: ['test/spec/setup.ts'],
    projects: [
      {
        test: {
          name: 'default',
          include: ['test/**/*.test.ts', 'adapters/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          env: { PARTNER_GATEWAY_TEST_ENGINE: 'pglite' },
        },
      },
      ...(pgUrl
        ? [
            {
              test: {
                name: 'postgres',
                include: [
                  'test/store/**/*.test.ts',
                  'test/queue/**/*.test.ts',
                  'test/log/**/*.test.ts',
                  'test/gateway/**/*.test.ts',
                  // Erasure's completeness rests on the store's own SQL (links, intents, marks).
                  'test/lifecycle/erasure-*.test.ts',
                ],
                testTimeout: 60_000,
                hookTimeout: 60_000,
                env: { PARTNER_GATEWAY_TEST_ENGINE: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
