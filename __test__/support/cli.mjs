// The pls-emulator CLI as a child process: started, its URL read from the
// first stdout line, and stopped cleanly: by a signal, or on Windows, which
// has no signal a parent can send for a clean stop, by closing its standard
// input (the CLI's --stop-on-stdin-close).
import { spawn } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

export const cliPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'pls-emulator.js')
const onWindows = process.platform === 'win32'

// Every CLI started here, so that a failed test cannot leave one running.
const running = new Set()

/** Kills whatever is still running (for an `after` hook). */
export function killAll() {
  for (const child of running) child.kill('SIGKILL')
}

/** Starts the CLI: `{ child, url, exited }`, `url` resolving to the first stdout line. */
export function startCli(args, env = {}) {
  const child = spawn(process.execPath, [cliPath, ...args, ...(onWindows ? ['--stop-on-stdin-close'] : [])], {
    stdio: [onWindows ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLS_ENDPOINT: undefined, ...env },
  })
  running.add(child)
  child.on('close', () => running.delete(child))
  let stderr = ''
  child.stderr.on('data', (c) => (stderr += c))
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr: () => stderr })))
  const url = new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout })
    lines.once('line', resolve)
    exited.then(({ code }) => reject(new Error(`pls-emulator exited ${code} before printing its URL: ${stderr}`)))
  })
  return { child, url, exited }
}

/** Stops it the clean way (`signal` off Windows); resolves with `{ code, signal, stderr() }`. */
export function stopCli(started, signal = 'SIGTERM') {
  if (onWindows) started.child.stdin.end()
  else started.child.kill(signal)
  return started.exited
}
