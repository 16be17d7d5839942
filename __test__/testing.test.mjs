// pls-native/testing: startTestEmulator and its helpers, then the examples
// for node:test, Jest and Vitest run for real, the three runners side by
// side, each running its two files in parallel.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { startTestEmulator } = require('../testing.js')
const PLSClient = require('../index.js')
const { linkExamples } = require('../examples/link.js')

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const CLOCK = '2018-08-01 00:00:00'
const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2018-08-05 12:00:00' }

test('the ESM entry is the same module, and the package exports it', async () => {
  const esm = await import('../testing.mjs')
  assert.equal(esm.startTestEmulator, startTestEmulator)
  const manifest = require('../package.json')
  assert.deepEqual(manifest.exports['./testing'], { types: './testing.d.ts', import: './testing.mjs', default: './testing.js' })
  for (const file of ['testing.js', 'testing.mjs', 'testing.d.ts']) assert.ok(manifest.files.includes(file), file)
})

test('the typings compile: options, the handle, and the client it makes', (t) => {
  let tsc
  try {
    tsc = require.resolve('typescript/bin/tsc')
  } catch {
    t.skip('typescript is not installed')
    return
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-testing-types-'))
  const file = path.join(dir, 'use.ts')
  fs.writeFileSync(
    file,
    [
      `import testing = require(${JSON.stringify(path.join(root, 'testing.js'))})`,
      `async function f(): Promise<string | null> {`,
      `  const emu = await testing.startTestEmulator({ clock: 'c', tls: true, flowLimits: { BindAxb: 2 }, seed: { bindings: [{ phoneNoA: '1', expiresInSeconds: 60 }] } })`,
      `  const receipt: Record<string, any> = await emu.nextReceipt('SecretReport', { timeoutMs: 10, consume: false })`,
      `  void receipt`,
      `  const client = emu.client({ signatureAlgorithm: 'ACS3-HMAC-SM3' })`,
      `  await client.bindAxb({ PoolKey: emu.poolKey, PhoneNoA: 'a', PhoneNoB: 'b', Expiration: 'e' })`,
      `  const [active] = await emu.bindings({ active: true })`,
      `  void active.secretNo`,
      `  // @ts-expect-error not a fault kind`,
      `  await emu.fault({ kind: 'nope' })`,
      `  const [sent] = await emu.requests({ action: 'BindAxb' })`,
      `  return sent.code`,
      `}`,
      `void f`,
      ``,
    ].join('\n'),
  )
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--esModuleInterop', '--types', 'node', '--module', 'commonjs', file], {
    encoding: 'utf8',
    cwd: root,
  })
  fs.rmSync(dir, { recursive: true, force: true })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('startTestEmulator points PLS_ENDPOINT at itself, is shared by equal options, and restores it when stopped', async () => {
  const before = process.env.PLS_ENDPOINT
  const emu = await startTestEmulator({ clock: CLOCK })
  assert.equal(process.env.PLS_ENDPOINT, emu.url)
  // A client made with no endpoint reads the process environment: it reaches this emulator.
  const client = new PLSClient({ accessKeyId: emu.accessKeyId, secretAccessKey: emu.accessKeySecret })
  assert.equal((await client.bindAxb(BIND)).Code, 'OK')
  assert.equal((await emu.bindings()).length, 1)

  const same = await startTestEmulator({ clock: CLOCK })
  assert.equal(same, emu, 'the same options share one emulator')
  const other = await startTestEmulator({ clock: CLOCK, account: '42' })
  assert.notEqual(other.url, emu.url)
  assert.equal(process.env.PLS_ENDPOINT, other.url, 'the newest one is the endpoint')
  assert.deepEqual(await other.bindings(), [], 'its own state')
  await other.stop()
  assert.equal(process.env.PLS_ENDPOINT, emu.url)

  await same.stop()
  assert.equal((await emu.state()).bindings.length, 1, 'still serving for the other caller')
  await emu.stop()
  assert.equal(process.env.PLS_ENDPOINT, before)
  await assert.rejects(emu.state(), 'stopped')
  await emu.stop()
})

test('helpers: calls, receipts, requests, clock, faults, snapshots', async () => {
  const emu = await startTestEmulator({ clock: CLOCK, env: false })
  try {
    const client = emu.client()
    const { SecretNo: x, SubsId } = (await client.bindAxb({ ...BIND, IsRecordingEnabled: true, OutId: 'o-1' })).SecretBindDTO

    const [binding] = await emu.bindings({ active: true, phoneNo: BIND.PhoneNoB })
    assert.equal(binding.subsId, SubsId)
    assert.deepEqual(await emu.bindings({ secretNo: 'nobody' }), [])

    await emu.call({ caller: BIND.PhoneNoA, secretNo: x, durationSeconds: 7 })
    assert.equal((await emu.receipts('SecretReport')).length, 1, 'peeked, not taken')
    const peeked = await emu.nextReceipt('SecretReport', { consume: false })
    const report = await emu.nextReceipt('SecretReport')
    assert.deepEqual(peeked, report)
    assert.equal(report.peer_no, BIND.PhoneNoB)
    assert.equal(report.out_id, 'o-1')
    const recording = await emu.nextReceipt('SecretRecording')
    assert.equal(recording.call_id, report.call_id)
    await assert.rejects(emu.nextReceipt('SecretReport', { timeoutMs: 50 }), { code: 'EMULATOR_NO_RECEIPT' })
    await assert.rejects(emu.nextReceipt('NoSuchType'), /SecretReport/)

    // A receipt that arrives while we wait.
    const waiting = emu.nextReceipt('SecretSmsIntercept', { timeoutMs: 10_000 })
    await emu.sms({ sender: BIND.PhoneNoA, secretNo: x, content: 'hello' })
    assert.equal((await waiting).sms_content, 'hello')

    const [sent] = await emu.requests({ action: 'BindAxb' })
    assert.equal(sent.params.OutId, 'o-1')
    assert.equal(sent.params.Signature, '***')
    assert.equal(sent.signature, 'HMAC-SHA1')
    assert.equal(sent.accessKeyId, emu.accessKeyId)
    assert.equal((await emu.requests({ limit: 1 })).length, 1)

    await emu.fault({ kind: 'http500', action: 'QuerySubscriptionDetail', count: 5 })
    const once = emu.client({ maxRetries: 0 })
    await assert.rejects(once.querySubscriptionDetail({ PoolKey: BIND.PoolKey, SubsId, PhoneNoX: x }), { code: 'InternalError' })

    const snapshot = await emu.snapshot()
    await emu.advanceClock(5 * 86400)
    await emu.waitFor(async () => (await emu.bindings({ active: true })).length === 0)
    await emu.restore(snapshot)
    assert.equal((await emu.bindings({ active: true })).length, 1, 'the snapshot brought it back')
    await emu.setClock('2018-08-05 12:00:01')
    assert.equal((await emu.bindings({ active: true })).length, 0)
    await assert.rejects(emu.waitFor(() => false, { timeoutMs: 30 }), /within 30 ms/)

    await emu.reset()
    assert.deepEqual(await emu.bindings(), [])
    assert.deepEqual(await emu.requests(), [])
  } finally {
    await emu.stop()
  }
})

test('nextReceipt on a pushed type says where its receipts go instead of waiting', async () => {
  const emu = await startTestEmulator({ clock: CLOCK, env: false, push: { SecretReport: 'http://127.0.0.1:9/receipts' } })
  try {
    const started = Date.now()
    await assert.rejects(emu.nextReceipt('SecretReport', { timeoutMs: 10_000 }), /pushed to http:\/\/127\.0\.0\.1:9\/receipts/)
    assert.ok(Date.now() - started < 5_000, 'answered at once, not after the wait')
    await emu.control('push', { type: 'SecretReport', url: null })
    await assert.rejects(emu.nextReceipt('SecretReport', { timeoutMs: 50 }), { code: 'EMULATOR_NO_RECEIPT' })
  } finally {
    await emu.stop()
  }
})

test('with tls: true the client options carry the CA', async () => {
  const emu = await startTestEmulator({ clock: CLOCK, tls: true, env: false })
  try {
    assert.match(emu.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.match(emu.ca, /^-----BEGIN CERTIFICATE-----/)
    assert.equal(emu.clientOptions().ca, emu.ca)
    assert.equal((await emu.client().bindAxb(BIND)).Code, 'OK')
    assert.equal((await emu.requests())[0].code, 'OK')
  } finally {
    await emu.stop()
  }
})

/** Runs a command; resolves with its exit code and output. */
function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c) => (output += c))
    child.stderr.on('data', (c) => (output += c))
    child.on('error', reject)
    // Colours off, and any left stripped, so the summaries can be matched.
    child.on('close', (code) => resolve({ code, output: output.replace(/\x1b\[[0-9;]*m/g, '') }))
  })
}

// Vite 7, which Vitest 3 installs here, needs Node 20.19 or later, and
// Rollup's native addon for this platform, an optional dependency npm
// installs per platform; where it is missing or does not load, Vitest is
// skipped saying why.
const [major, minor] = process.versions.node.split('.').map(Number)
function whyNoVitest() {
  if (!(major > 20 || (major === 20 && minor >= 19))) return `Vite 7 needs Node 20.19+, this is ${process.versions.node}`
  try {
    require('rollup/dist/native.js')
  } catch (err) {
    return `Rollup has no native addon installed for ${process.platform}-${process.arch}: ${String(err.message).split('\n')[0]}`
  }
  return null
}
const noVitest = whyNoVitest()

// Jest's resolver (unrs-resolver) chooses its native addon by reading
// /usr/bin/ldd before anything else. A musl Node on a glibc machine (how the
// platform tests run musl) is told "glibc" and gets the wrong addon; on a
// musl system such as Alpine, ldd is musl's and Jest runs.
function whyNoJest() {
  if (process.platform !== 'linux') return null
  let ldd
  try {
    ldd = fs.readFileSync('/usr/bin/ldd', 'utf8')
  } catch {
    return null
  }
  const muslNode = !process.report.getReport().header.glibcVersionRuntime
  return muslNode && !ldd.includes('musl') ? "this Node is musl but /usr/bin/ldd is glibc's, and Jest's resolver reads the latter to choose its addon" : null
}
const noJest = whyNoJest()

test('the node:test, Jest and Vitest examples pass, their files in parallel', { timeout: 300_000 }, async (t) => {
  linkExamples()
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-jest-'))
  // No PLS_ENDPOINT inherited: the helper must set it in each worker.
  // Nor node:test's own marker, which would make the inner run skip its files.
  const env = { ...process.env, PLS_ENDPOINT: undefined, NODE_TEST_CONTEXT: undefined, NODE_OPTIONS: undefined, FORCE_COLOR: '0', NO_COLOR: '1', CI: '1' }
  // Each runner's own bin script with this node: no npx, which not every
  // platform's Node comes with, and no shell.
  const bin = (name) => {
    const manifest = require.resolve(`${name}/package.json`)
    const { bin } = require(manifest)
    return path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin[name])
  }
  const options = { cwd: root, env }
  const nodeExamples = fs
    .readdirSync(path.join(root, 'examples', 'testing', 'node'))
    .filter((name) => name.endsWith('.test.mjs'))
    .map((name) => path.join('examples', 'testing', 'node', name))
  const runners = {
    // The files by name: Node 22 and later read a folder argument as a file pattern.
    'node:test': run(process.execPath, ['--test', '--test-concurrency=2', ...nodeExamples], options),
    jest: !noJest ? run(process.execPath, [bin('jest'), '--config', 'examples/testing/jest.config.js', '--maxWorkers=2', '--cacheDirectory', cache], options) : null,
    vitest: !noVitest ? run(process.execPath, [bin('vitest'), 'run', '--config', 'examples/testing/vitest.config.mjs'], options) : null,
  }
  try {
    const results = Object.fromEntries(
      await Promise.all(Object.entries(runners).map(async ([name, running]) => [name, running && (await running)])),
    )
    const nodeRun = results['node:test']
    assert.equal(nodeRun.code, 0, nodeRun.output)
    // TAP (`# pass 4`) where output is not a terminal, up to Node 22; the spec reporter (`ℹ pass 4`) from Node 23.
    assert.match(nodeRun.output, /^(?:#|ℹ) pass 4\b/m, nodeRun.output)
    const jestRun = results.jest
    if (jestRun) {
      assert.equal(jestRun.code, 0, jestRun.output)
      assert.match(jestRun.output, /Test Suites: 2 passed, 2 total/, jestRun.output)
      assert.match(jestRun.output, /Tests: +4 passed, 4 total/, jestRun.output)
    } else {
      t.diagnostic(`Jest skipped: ${noJest}`)
    }
    if (results.vitest) {
      assert.equal(results.vitest.code, 0, results.vitest.output)
      assert.match(results.vitest.output, /Test Files +2 passed \(2\)/, results.vitest.output)
      assert.match(results.vitest.output, /Tests +4 passed \(4\)/, results.vitest.output)
    } else {
      t.diagnostic(`Vitest skipped: ${noVitest}`)
    }
  } finally {
    fs.rmSync(cache, { recursive: true, force: true })
  }
})
