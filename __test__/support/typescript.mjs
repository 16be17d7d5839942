import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const require = createRequire(import.meta.url)

/**
 * Compiles `lines` of TypeScript strictly (commonjs, esModuleInterop, Node
 * types) from `cwd`; skips the test when typescript is not installed.
 * Resolves with tsc's exit status and output.
 */
export function typecheck(t, lines, cwd) {
  let tsc
  try {
    tsc = require.resolve('typescript/bin/tsc')
  } catch {
    t.skip('typescript is not installed')
    return null
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-types-'))
  const file = path.join(dir, 'use.ts')
  fs.writeFileSync(file, [...lines, ''].join('\n'))
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--esModuleInterop', '--types', 'node', '--module', 'commonjs', file], {
    encoding: 'utf8',
    cwd,
  })
  fs.rmSync(dir, { recursive: true, force: true })
  return { status: result.status, output: result.stdout + result.stderr }
}
