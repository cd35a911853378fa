import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Stops the run at once, naming every missing program and the apt-get line (test/preflight.ts).
    globalSetup: ['test/preflight.ts'],
    // A safety net only: no test comes near it (each file's slowest test takes a few seconds).
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two files at a time even on two cores: most of a test's time is spent waiting for a server or a
    // child process, not computing, and the default (cores - 1) would run them one after another.
    maxWorkers: 2,
  },
});
