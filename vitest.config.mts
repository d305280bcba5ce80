import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.test.ts'],
    globalSetup: ['__test__/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    // One broker on a 2-core machine: run files one after another so timing-sensitive
    // tests (timeouts, kill/restart) are not starved.
    fileParallelism: false,
    pool: 'forks',
  },
})
