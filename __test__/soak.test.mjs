// Soak: 10,000 calls in flight against the emulator, in a child process
// (see support/soak.cjs): every one settles, RSS stays bounded, the open
// file descriptors come back to their baseline once the server has gone,
// and the process exits by itself soon after its last promise.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

test('soak: 10,000 calls in flight all settle, memory and descriptors come back, the process exits', { skip: process.platform !== 'linux' && 'reads /proc/self/fd' }, async () => {
  const child = spawn(process.execPath, [path.join(here, 'support', 'soak.cjs')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000)
  const [code, signal] = await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  const exitedAt = Date.now()
  clearTimeout(killer)
  assert.equal(signal, null, `killed by ${signal} (hung?)\n${stderr}`)
  assert.equal(code, 0, stderr)
  const report = JSON.parse(stdout.trim().split('\n').pop())
  assert.equal(report.settled, report.calls, JSON.stringify(report))
  assert.equal(report.rejected, 0, `rejections: ${report.codes.join(', ')}`)
  // About 34 KB per call in flight (a connection each, both ways buffered).
  assert.ok(report.rssGrowthMB < 768, `RSS grew ${report.rssGrowthMB.toFixed(0)} MB`)
  assert.ok(report.inFlightFds > report.baselineFds, 'the calls really were in flight together')
  assert.ok(report.fdsAfter <= report.baselineFds, `${report.fdsAfter} descriptors open, ${report.baselineFds} before`)
  // Nothing of ours holds the loop open once the last promise has settled.
  assert.ok(exitedAt - report.lastSettledAt < 1000, `exited ${exitedAt - report.lastSettledAt} ms after its last promise`)
})
