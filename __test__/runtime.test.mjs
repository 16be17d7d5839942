// The runtime's busy window (PLS_NATIVE_SPIN_US): calls work with it on and
// off, and once calls stop the worker goes back to sleep instead of spinning.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..')

// In a child: 300 calls against an in-process emulator, then CPU time
// over an idle second. Prints { ok, idleCpuMs }.
const script = `
const PLSClient = require(${JSON.stringify(path.join(root, 'index.js'))})
const { startEmulator } = require(${JSON.stringify(path.join(root, 'emulator.js'))})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
;(async () => {
  const emulator = await startEmulator({ stateless: true })
  const client = new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret', endpoint: emulator.url })
  const bind = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-08-05 12:00:00' }
  let ok = 0
  for (let lane = 0; lane < 3; lane++) {
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 10; i++) if ((await client.bindAxb(bind)).Code === 'OK') ok++
    }))
  }
  await sleep(100)
  const before = process.cpuUsage()
  await sleep(1000)
  const idle = process.cpuUsage(before)
  await emulator.stop()
  console.log(JSON.stringify({ ok, idleCpuMs: (idle.user + idle.system) / 1000 }))
})().catch((err) => { console.error(err); process.exit(1) })
`

function run(spinUs) {
  const env = { ...process.env }
  if (spinUs === undefined) delete env.PLS_NATIVE_SPIN_US
  else env.PLS_NATIVE_SPIN_US = String(spinUs)
  const child = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout.trim().split('\n').pop())
}

for (const spinUs of [undefined, 0, 5000]) {
  test(`PLS_NATIVE_SPIN_US=${spinUs ?? '(default)'}: every call succeeds and the idle process burns no CPU`, () => {
    const report = run(spinUs)
    assert.equal(report.ok, 300)
    // A worker still spinning would burn most of the idle second.
    assert.ok(report.idleCpuMs < 150, `${report.idleCpuMs.toFixed(1)} ms of CPU in an idle second`)
  })
}
