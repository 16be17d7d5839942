// The soak run, in a process of its own so that its file descriptors, RSS
// and exit are its own: 10,000 calls in flight against an emulator in
// another process, then the emulator stops (closing every connection), then
// one last call. Prints one JSON line of measurements; the test judges them.
'use strict'
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')

const PLSClient = require('../../index.js')

const CALLS = Number(process.env.SOAK_CALLS || 10_000)
const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-08-05 12:00:00' }

const openFds = () => fs.readdirSync('/proc/self/fd').length
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function startEmulatorProcess() {
  const bin = path.join(__dirname, '..', '..', 'bin', 'pls-emulator.js')
  const child = spawn(process.execPath, [bin, '--stateless'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: child.stdout })
  const url = await new Promise((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)))
  })
  lines.close()
  return { url, child }
}

async function main() {
  const emulator = await startEmulatorProcess()
  const client = new PLSClient({ ...KEYS, endpoint: emulator.url, timeout: 120_000 })
  // Warm up: the runtime, the pool and the completion channel exist before the baseline.
  await client.bindAxb(BIND)
  const baseline = { fds: openFds(), rss: process.memoryUsage().rss }

  const started = Date.now()
  const results = await Promise.allSettled(Array.from({ length: CALLS }, () => client.bindAxb(BIND)))
  const seconds = (Date.now() - started) / 1000
  const peakRss = process.memoryUsage().rss
  const rejected = results.filter((r) => r.status === 'rejected')
  const codes = [...new Set(rejected.map((r) => r.reason && r.reason.code))]
  const inFlightFds = openFds()

  // The emulator's exit closes every pooled connection from its side.
  const exited = new Promise((resolve) => emulator.child.once('exit', resolve))
  emulator.child.kill('SIGTERM')
  await exited
  let fds = openFds()
  for (let i = 0; i < 100 && fds > baseline.fds; i++) {
    await sleep(50)
    fds = openFds()
  }

  // One more call (refused now), and nothing after it: the process must end on its own.
  await client.bindAxb(BIND, { maxRetries: 0 }).catch(() => {})
  process.stdout.write(
    JSON.stringify({
      calls: CALLS,
      settled: results.length,
      rejected: rejected.length,
      codes,
      seconds,
      baselineFds: baseline.fds,
      inFlightFds,
      fdsAfter: fds,
      rssGrowthMB: (peakRss - baseline.rss) / 2 ** 20,
      lastSettledAt: Date.now(),
    }) + '\n',
  )
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
