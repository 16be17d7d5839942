// Runs a script in a child node with exactly the environment given (plus
// PATH), for what is read from the environment once per process.
import { spawn } from 'node:child_process'
import { once } from 'node:events'

/** Runs `script` (CommonJS) with `env`; resolves with its stdout, stderr and exit code. */
export async function runNode(script, env = {}) {
  const proc = spawn(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d) => (stdout += d))
  proc.stderr.on('data', (d) => (stderr += d))
  const [code] = await once(proc, 'close')
  return { stdout, stderr, code }
}
