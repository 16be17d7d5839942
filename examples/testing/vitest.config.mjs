// Vitest for the examples in vitest/: each file gets its own fork (the
// default pool) and its own emulator, so files run in parallel safely.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['vitest/**/*.test.mjs'],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
  },
})
