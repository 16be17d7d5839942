// The emulator against the ORIGINAL SDK (its endpoints redirected): this
// proves the emulator checks what the real gateway checks, independently of
// our signer. Then pls-native against it for the same cases, and both
// compared on the same scenarios. Plus the seed demo, the CLI and faults.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { settle } from './support/settle.mjs'

const require = createRequire(import.meta.url)
const Original = require('pls-sdk-original')
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..')
const examples = path.join(root, 'examples')

const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const POOL = 'FC100000xxxxxx'
const CLOCK = '2018-08-01 00:00:00'
const EXPIRATION = '2018-08-05 12:00:00'
const A = '18040580000'
const B = '13871140000'
const C = '13900000001'

let emu
let small

before(async () => {
  emu = await startEmulator({ clock: CLOCK })
  small = await startEmulator({ clock: CLOCK, pools: [{ poolKey: 'FCSMALL', numbers: [{ number: '17100000000', city: '杭州' }] }] })
})
after(async () => {
  await emu.stop()
  await small.stop()
})

function original(keys = KEYS, url = emu.url) {
  const o = new Original(keys)
  o.dyplsapiClient.endpoint = url
  o.dybaseClient.endpoint = url
  return o
}

function native(keys = KEYS, url = emu.url, extra = {}) {
  return new PLSClient({ ...keys, endpoint: url, dybaseEndpoint: url, mnsEndpoint: url, ...extra })
}

const CLIENTS = [
  ['original', original],
  ['pls-native', native],
]

/** Asserts an API rejection as the original shapes it: name Code+'Error', code, data, message, url. */
async function rejectsWithCode(promise, code, label = code) {
  const { value, error } = await settle(promise)
  assert.ok(error, `${label}: expected a rejection with ${code}, got ${JSON.stringify(value)}`)
  assert.ok(error instanceof Error, `${label}: an Error`)
  assert.equal(error.code, code, `${label}: code (message: ${error.message})`)
  assert.equal(error.name, `${code}Error`, `${label}: name`)
  assert.equal(error.data.Code, code, `${label}: data.Code`)
  assert.match(error.message, /, URL: http:\/\/127\.0\.0\.1:\d+\/\?.*Signature=/, `${label}: message ends with the URL`)
  assert.match(error.url, /^http:\/\/127\.0\.0\.1:\d+\/\?.*&Signature=/, `${label}: url`)
  return error
}

function bindParams(extra = {}) {
  return { PoolKey: POOL, PhoneNoA: A, PhoneNoB: B, Expiration: EXPIRATION, ...extra }
}

/** The keys of a value, recursively (values left out): the result's shape. */
function shape(value) {
  if (Array.isArray(value)) return value.map(shape)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
  }
  return typeof value
}

/** A resolved value without the per-request RequestId. */
function withoutRequestId(value) {
  const { RequestId, ...rest } = value
  assert.equal(typeof RequestId, 'string', 'a RequestId is present')
  return rest
}

async function poolNumbers(e, poolKey) {
  const state = await e.control('state')
  const pool = state.pools.find((p) => p.poolKey === poolKey)
  return pool ? pool.numbers.map((n) => n.number) : []
}

for (const [label, make] of CLIENTS) {
  test(`${label}: every method succeeds where the rules say`, async () => {
    await emu.control('reset', {})
    const c = make()

    const axb = await c.bindAxb(bindParams({ IsRecordingEnabled: true, OutId: 'order-1' }))
    assert.equal(axb.Code, 'OK')
    assert.deepEqual(Object.keys(axb), ['RequestId', 'Code', 'Message', 'SecretBindDTO'])
    assert.deepEqual(Object.keys(axb.SecretBindDTO), ['SubsId', 'SecretNo', 'Extension'])
    const { SubsId, SecretNo: X } = axb.SecretBindDTO
    assert.match(X, /^170\d{8}$/, 'X comes from the default pool')
    assert.ok((await poolNumbers(emu, POOL)).includes(X))

    const axn = await c.bindAxn({ PoolKey: POOL, PhoneNoA: '18040580001', Expiration: EXPIRATION })
    assert.equal(axn.Code, 'OK')
    assert.notEqual(axn.SecretBindDTO.SecretNo, X, 'an AXN X is not shared with a live AXB binding')
    const ext = await c.bindAxnExtension({ PoolKey: POOL, PhoneNoA: '18040580002', Expiration: EXPIRATION })
    assert.equal(ext.Code, 'OK')
    assert.match(ext.SecretBindDTO.Extension, /^\d{3,4}$/)

    const bought = await c.buySecretNo({ PoolKey: POOL, SpecId: 1, City: '杭州' })
    assert.equal(bought.Code, 'OK')
    const boughtNo = bought.SecretBuyInfoDTO.SecretNo
    assert.match(boughtNo, /^\d{11}$/)
    assert.ok((await poolNumbers(emu, POOL)).includes(boughtNo), 'the bought number joins the pool')
    const released = await c.releaseSecretNo({ PoolKey: POOL, SecretNo: boughtNo })
    assert.equal(released.Code, 'OK')
    assert.ok(!(await poolNumbers(emu, POOL)).includes(boughtNo), 'the released number leaves the pool')
    await rejectsWithCode(c.releaseSecretNo({ PoolKey: POOL, SecretNo: X }), 'isv.NO_USED_BY_OTHERS', 'releasing a number in use')

    // A recorded call through X, then its recording's URL.
    const call = await emu.control('calls', { caller: A, secretNo: X })
    assert.equal(call.report.peer_no, B, 'A calling X reaches B')
    assert.ok(call.recording, 'recording is on for this binding')
    const url = await c.queryRecordFileDownloadUrl({ PoolKey: POOL, CallId: call.callId, CallTime: '2018-08-01 00:00:00' })
    assert.equal(url.Code, 'OK')
    assert.ok(url.DownloadUrl.includes(call.callId), url.DownloadUrl)
    await rejectsWithCode(c.queryRecordFileDownloadUrl({ PoolKey: POOL, CallId: '42' }), 'isv.INVALID_PARAMETERS', 'unknown call')

    const detail = await c.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: X })
    assert.equal(detail.Code, 'OK')
    assert.deepEqual(Object.keys(detail.SecretBindDetailDTO), [
      'SubsId', 'PhoneNoA', 'PhoneNoB', 'PhoneNoX', 'Extension', 'ExpireDate', 'GmtCreate',
      'NeedRecord', 'CallRestrict', 'Status', 'GroupId', 'ASRStatus', 'ASRModelId',
    ])
    const d = detail.SecretBindDetailDTO
    assert.deepEqual([d.SubsId, d.PhoneNoA, d.PhoneNoB, d.PhoneNoX, d.ExpireDate, d.NeedRecord, d.Status], [SubsId, A, B, X, EXPIRATION, true, 1])

    const updates = [
      ['updateNoA', { PhoneNoA: C }],
      ['updateNoB', { PhoneNoB: '13900000002' }],
      ['updateExpire', { Expiration: '2018-09-01 00:00:00' }],
      ['updateAxgGroup', { GroupId: '42' }],
      ['updateCallRestrict', { CallRestrict: 'CONTROL_AX_DISABLE' }],
      ['updateCallDisplayType', { CallDisplayType: 2 }],
      ['updateOutId', { OutId: 'order-2' }],
      ['updateIsRecordingEnabled', { IsRecordingEnabled: false }],
    ]
    for (const [OperateType, extra] of updates) {
      const res = await c.updateSubscription({ PoolKey: POOL, SubsId, PhoneNoX: X, OperateType, ...extra })
      assert.equal(res.Code, 'OK', OperateType)
    }
    const after = (await c.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: X })).SecretBindDetailDTO
    assert.deepEqual(
      [after.PhoneNoA, after.PhoneNoB, after.ExpireDate, after.GroupId, after.CallRestrict, after.NeedRecord, after.Status],
      [C, '13900000002', '2018-09-01 00:00:00', '42', 'CONTROL_AX_DISABLE', false, 1],
    )
    await rejectsWithCode(c.updateSubscription({ PoolKey: POOL, SubsId, PhoneNoX: X, OperateType: 'updateNothing' }), 'isv.INVALID_PARAMETERS')

    const unbound = await c.unbindSubscription({ PoolKey: POOL, SubsId, SecretNo: X })
    assert.equal(unbound.Code, 'OK')
    assert.ok('ChargeId' in unbound)
    assert.equal((await c.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: X })).SecretBindDetailDTO.Status, 0)
    await rejectsWithCode(c.unbindSubscription({ PoolKey: POOL, SubsId, SecretNo: X }), 'isv.SUBS_NOT_EXIST', 'unbinding twice')
  })

  test(`${label}: business rules fail with the documented codes`, async () => {
    await emu.control('reset', {})
    const c = make()
    await rejectsWithCode(c.bindAxb(bindParams({ PhoneNoA: '123' })), 'isv.MOBILE_NUMBER_ILLEGAL')
    await rejectsWithCode(c.bindAxb(bindParams({ PhoneNoB: '1387114000a' })), 'isv.MOBILE_NUMBER_ILLEGAL')
    // Within a minute of the business clock (2018-08-01 00:00:00), and in the past.
    await rejectsWithCode(c.bindAxb(bindParams({ Expiration: '2018-08-01 00:00:30' })), 'isv.EXPIRE_DATE_ILLEGAL')
    await rejectsWithCode(c.bindAxb(bindParams({ Expiration: '2018-07-31 12:00:00' })), 'isv.EXPIRE_DATE_ILLEGAL')
    await rejectsWithCode(c.bindAxb(bindParams({ PoolKey: 'FCNOSUCHPOOL' })), 'isv.POOLKEY_NOT_EXISTS')
    // Two minutes later is fine.
    const ok = await c.bindAxb(bindParams({ Expiration: '2018-08-01 00:02:00' }))
    const X = ok.SecretBindDTO.SecretNo
    // A is already bound on X: asking for X again with A is a conflict.
    await rejectsWithCode(c.bindAxb(bindParams({ PhoneNoB: C, PhoneNoX: X })), 'isv.BIND_CONFLICT')
    // Without PhoneNoX another X is chosen for A.
    const other = await c.bindAxb(bindParams({ PhoneNoB: C }))
    assert.notEqual(other.SecretBindDTO.SecretNo, X)
  })

  test(`${label}: an exhausted pool answers isv.NO_AVAILABLE_NUMBER`, async () => {
    await small.control('reset', {})
    const c = make(KEYS, small.url)
    const first = await c.bindAxb(bindParams({ PoolKey: 'FCSMALL' }))
    assert.equal(first.SecretBindDTO.SecretNo, '17100000000')
    // The only X already carries A (and B): no X can route A unambiguously.
    await rejectsWithCode(c.bindAxb(bindParams({ PoolKey: 'FCSMALL', PhoneNoB: C })), 'isv.NO_AVAILABLE_NUMBER')
    await rejectsWithCode(c.bindAxb(bindParams({ PoolKey: 'FCSMALL', PhoneNoA: C })), 'isv.NO_AVAILABLE_NUMBER')
    // Two other parties can share it.
    const shared = await c.bindAxb(bindParams({ PoolKey: 'FCSMALL', PhoneNoA: '13900000003', PhoneNoB: '13900000004' }))
    assert.equal(shared.SecretBindDTO.SecretNo, '17100000000')
  })

  test(`${label}: a wrong secret gets SignatureDoesNotMatch with the server's string to sign`, async () => {
    const c = make({ accessKeyId: KEYS.accessKeyId, secretAccessKey: 'notTheSecret' })
    const err = await rejectsWithCode(c.bindAxb(bindParams()), 'SignatureDoesNotMatch')
    assert.match(err.message, /server string to sign is:GET&%2F&AccessKeyId%3DyourAccessKeyId%26Action%3DBindAxb/)
    assert.equal(typeof err.data.RequestId, 'string')
    assert.equal(typeof err.data.HostId, 'string')
    assert.ok(!err.message.includes('yourAccessKeySecret'))
  })

  test(`${label}: an unknown access key gets InvalidAccessKeyId.NotFound`, async () => {
    const c = make({ accessKeyId: 'noSuchKey', secretAccessKey: 'whatever' })
    await rejectsWithCode(c.bindAxb(bindParams()), 'InvalidAccessKeyId.NotFound')
  })

  test(`${label}: a replayed signed request gets SignatureNonceUsed`, async () => {
    await emu.control('reset', {})
    const c = make()
    // A request the gateway accepted (the business rule then refused it):
    // its URL carries a valid signature and a nonce that is now spent.
    const err = await rejectsWithCode(c.bindAxb(bindParams({ PhoneNoA: '123' })), 'isv.MOBILE_NUMBER_ILLEGAL')
    const replay = await fetch(err.url)
    assert.equal(replay.status, 400)
    const body = await replay.json()
    assert.equal(body.Code, 'SignatureNonceUsed')
    // After a reset the nonce is forgotten: the same URL passes the gateway again,
    // so it was the nonce (not the URL) that was refused.
    await emu.control('reset', {})
    const again = await (await fetch(err.url)).json()
    assert.equal(again.Code, 'isv.MOBILE_NUMBER_ILLEGAL')
  })

  test(`${label}: a binding expires on the business clock and frees X`, async () => {
    await emu.control('reset', {})
    const c = make()
    const bound = await c.bindAxb(bindParams({ Expiration: '2018-08-01 00:10:00' }))
    const { SubsId, SecretNo: X } = bound.SecretBindDTO
    await rejectsWithCode(c.bindAxb(bindParams({ PhoneNoB: C, PhoneNoX: X })), 'isv.BIND_CONFLICT')
    assert.equal((await c.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: X })).SecretBindDetailDTO.Status, 1)
    await emu.control('clock', { advanceSeconds: 11 * 60 })
    assert.equal((await c.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: X })).SecretBindDetailDTO.Status, 0)
    await rejectsWithCode(c.updateSubscription({ PoolKey: POOL, SubsId, PhoneNoX: X, OperateType: 'updateOutId', OutId: 'x' }), 'isv.SUBS_NOT_EXIST')
    const rebound = await c.bindAxb(bindParams({ PhoneNoB: C, PhoneNoX: X, Expiration: '2018-08-02 00:00:00' }))
    assert.equal(rebound.SecretBindDTO.SecretNo, X, 'X is free again for A')
    await emu.control('reset', {})
  })
}

test('original with a stubbed nonce: the second request gets SignatureNonceUsedError', async () => {
  await emu.control('reset', {})
  // pop-core draws its nonce from kitx.makeNonce at each request.
  const popCore = require.resolve('@alicloud/pop-core', { paths: [path.dirname(require.resolve('pls-sdk-original'))] })
  const kitx = createRequire(popCore)('kitx')
  const makeNonce = kitx.makeNonce
  kitx.makeNonce = () => 'fixed-nonce-for-the-replay-test'
  try {
    const o = original()
    const first = await o.bindAxb(bindParams())
    assert.equal(first.Code, 'OK')
    const err = await rejectsWithCode(o.bindAxb(bindParams({ PhoneNoB: C })), 'SignatureNonceUsed')
    assert.ok(err.url.includes('SignatureNonce=fixed-nonce-for-the-replay-test'), 'the stub was used')
    // pls-native with its own nonces is not affected by that spent nonce.
    const n = await native().bindAxb(bindParams({ PhoneNoA: '13900000005', PhoneNoB: C }))
    assert.equal(n.Code, 'OK')
  } finally {
    kitx.makeNonce = makeNonce
  }
})

/** The same scenarios, each from a fresh emulator state, on both clients. */
const SCENARIOS = {
  bindAxb: (c) => c.bindAxb(bindParams({ ExpectCity: '杭州', IsRecordingEnabled: true })),
  bindAxn: (c) => c.bindAxn({ PoolKey: POOL, PhoneNoA: A, Expiration: EXPIRATION }),
  bindAxnExtension: (c) => c.bindAxnExtension({ PoolKey: POOL, PhoneNoA: A, Extension: '123', Expiration: EXPIRATION }),
  buySecretNo: (c) => c.buySecretNo({ PoolKey: POOL, SpecId: 2, City: '北京' }),
  releaseSecretNo: (c) => c.releaseSecretNo({ PoolKey: POOL, SecretNo: '17000000019' }),
  querySubscriptionDetail: async (c) => {
    const { SubsId, SecretNo } = (await c.bindAxb(bindParams())).SecretBindDTO
    return c.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: SecretNo })
  },
  updateSubscription: async (c) => {
    const { SubsId, SecretNo } = (await c.bindAxb(bindParams())).SecretBindDTO
    return c.updateSubscription({ PoolKey: POOL, SubsId, PhoneNoX: SecretNo, OperateType: 'updateExpire', Expiration: '2018-08-06 00:00:00' })
  },
  unbindSubscription: async (c) => {
    const { SubsId, SecretNo } = (await c.bindAxb(bindParams())).SecretBindDTO
    return c.unbindSubscription({ PoolKey: POOL, SubsId, SecretNo })
  },
  queryRecordFileDownloadUrl: async (c) => {
    const { SecretNo } = (await c.bindAxb(bindParams({ IsRecordingEnabled: true }))).SecretBindDTO
    const { callId } = await emu.control('calls', { caller: B, secretNo: SecretNo })
    return c.queryRecordFileDownloadUrl({ PoolKey: POOL, CallId: callId })
  },
  'POST bindAxb': (c) => c.bindAxb(bindParams(), { method: 'POST' }),
  'isv.MOBILE_NUMBER_ILLEGAL': (c) => c.bindAxb(bindParams({ PhoneNoB: '12' })),
  'isv.EXPIRE_DATE_ILLEGAL': (c) => c.bindAxb(bindParams({ Expiration: '2018-08-01 00:00:59' })),
  'isv.BIND_CONFLICT': async (c) => {
    const { SecretNo } = (await c.bindAxb(bindParams())).SecretBindDTO
    return c.bindAxb(bindParams({ PhoneNoA: C, PhoneNoX: SecretNo }))
  },
  'isv.POOLKEY_NOT_EXISTS': (c) => c.bindAxn({ PoolKey: 'FCNONE', PhoneNoA: A, Expiration: EXPIRATION }),
  'isv.SUBS_NOT_EXIST': (c) => c.querySubscriptionDetail({ PoolKey: POOL, SubsId: '999', PhoneNoX: '17000000000' }),
  MissingOperateType: (c) => (c instanceof PLSClient ? c : c.dyplsapiClient).request('UpdateSubscription', { SubsId: '1', PhoneNoX: '17000000000' }),
  'unknown action': (c) => (c instanceof PLSClient ? c : c.dyplsapiClient).request('NoSuchAction', {}),
}

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  test(`both clients agree on ${name}: same result (key order included) or same error`, async () => {
    await emu.control('reset', {})
    const a = await settle(scenario(original()))
    await emu.control('reset', {})
    const b = await settle(scenario(native()))
    if (a.error) {
      assert.ok(b.error, `pls-native resolved where the original rejected with ${a.error.name}: ${JSON.stringify(b.value)}`)
      assert.equal(b.error.name, a.error.name, 'error name')
      assert.equal(b.error.code, a.error.code, 'error code')
      assert.ok(a.error.code && !String(a.error.code).startsWith('SDK.'), `an API error: ${a.error.code}`)
      assert.deepEqual(withoutRequestId(b.error.data), withoutRequestId(a.error.data), 'error body')
      assert.equal(b.error.message.split(', URL: ')[0], a.error.message.split(', URL: ')[0], 'message')
    } else {
      assert.ok(!b.error, `pls-native rejected where the original resolved: ${b.error && b.error.message}`)
      assert.equal(a.value.Code, 'OK')
      assert.deepEqual(shape(b.value), shape(a.value), 'result shape')
      // From the same initial state the emulator is deterministic, so every
      // value except the RequestId is the same too (a DownloadUrl carries the
      // random call id and an expiry on the running clock: those are masked).
      const strip = (v) => JSON.parse(JSON.stringify(withoutRequestId(v)).replace(/recordings\/\d+\.mp3\?Expires=\d+/g, 'recordings/ID.mp3?Expires=N'))
      assert.equal(JSON.stringify(strip(b.value)), JSON.stringify(strip(a.value)), 'result, key order included')
    }
  })
}

function ensureExamplesAlias() {
  // As examples/run-demo.js: examples/package.json maps @alicloud/pls-sdk to this package.
  const alias = path.join(examples, 'node_modules', '@alicloud', 'pls-sdk')
  if (fs.existsSync(alias)) return
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--offline'], { cwd: examples, encoding: 'utf8' })
  assert.equal(result.status, 0, `could not link @alicloud/pls-sdk in examples/: ${result.stderr}`)
}

/** Runs a script with node and resolves with its exit code and output. */
async function runNode(args, options) {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [status, signal] = await once(child, 'exit')
  clearTimeout(timer)
  return { status, signal, stdout, stderr }
}

test('the seed demo, unchanged, binds against the emulator at 2018-08-01 and is refused at today', async () => {
  ensureExamplesAlias()
  const seed = path.join(examples, 'seed-demo.js')
  const source = fs.readFileSync(seed, 'utf8')
  assert.ok(source.includes("require('@alicloud/pls-sdk')") && !source.includes('PLS_ENDPOINT'), 'the seed demo is the unchanged sample')

  const then = await startEmulator({ clock: CLOCK })
  try {
    const r = await runNode([seed], { cwd: examples, env: { ...process.env, PLS_ENDPOINT: then.url } })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /绑定axb成功/)
    assert.match(r.stdout, /SecretNo: '170\d{8}'/)
    const state = await then.control('state')
    assert.equal(state.bindings.length, 1, 'the binding was made in this emulator')
    assert.equal(state.bindings[0].phoneNoA, '18040580000')
  } finally {
    await then.stop()
  }

  const today = await startEmulator({})
  try {
    const r = await runNode([seed], { cwd: examples, env: { ...process.env, PLS_ENDPOINT: today.url } })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /绑定axb失败/)
    assert.match(r.stdout, /isv\.EXPIRE_DATE_ILLEGAL/)
    assert.doesNotMatch(r.stdout, /绑定axb成功/)
  } finally {
    await today.stop()
  }
})

/** Starts the CLI, checks that it prints its URL first and serves a bind, then `stop(child)` must make it exit 0. */
async function cliServesThenStops(extraArgs, stop) {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'pls-emulator.js'), '--port', '0', '--clock', CLOCK, ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'] })
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const exited = once(child, 'exit')
  try {
    const lines = readline.createInterface({ input: child.stdout })
    const [first] = await Promise.race([once(lines, 'line'), exited.then(([code]) => { throw new Error(`exited ${code} before printing: ${stderr}`) })])
    assert.match(first, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.notEqual(new URL(first).port, '0')
    // A bind that only passes with the --clock given (2018 dates).
    const res = await native(KEYS, first, { timeout: 10_000 }).bindAxb(bindParams())
    assert.equal(res.Code, 'OK')
    const state = await (await fetch(`${first}/__emulator/state`)).json()
    assert.equal(state.bindings.length, 1)
    stop(child)
    const [code, signal] = await exited
    assert.equal(signal, null, stderr)
    assert.equal(code, 0, stderr)
  } finally {
    clearTimeout(killer)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

// On Windows child.kill() ends a process at once, whatever the signal: there is no SIGTERM to handle.
test('the CLI prints its URL first, serves, and exits 0 on SIGTERM', { skip: process.platform === 'win32' && 'Windows has no POSIX signals: kill() terminates the process' }, async () => {
  await cliServesThenStops([], (child) => child.kill('SIGTERM'))
})

test('with --stop-on-stdin-close the CLI exits 0 when its standard input closes, on every platform', async () => {
  await cliServesThenStops(['--stop-on-stdin-close'], (child) => child.stdin.end())
})

test('without --stop-on-stdin-close a closed standard input does not stop the CLI', async () => {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'pls-emulator.js'), '--port', '0'], { stdio: ['pipe', 'pipe', 'ignore'] })
  try {
    const lines = readline.createInterface({ input: child.stdout })
    const [url] = await once(lines, 'line')
    child.stdin.end()
    // Still serving after stdin has closed: the state answers.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const res = await fetch(`${url}/__emulator/state`)
    assert.equal(res.status, 200)
    assert.equal(child.exitCode, null)
  } finally {
    child.kill('SIGKILL')
  }
})

test('fault throttle: with maxRetries 0 pls-native rejects with Throttling.User like the original', async () => {
  await emu.control('reset', {})
  const errors = []
  for (const make of [() => original(), () => native(KEYS, emu.url, { maxRetries: 0 })]) {
    await emu.control('faults', { count: 1, kind: 'throttle' })
    errors.push(await rejectsWithCode(make().bindAxb(bindParams()), 'Throttling.User'))
  }
  const [ea, eb] = errors
  assert.equal(eb.name, ea.name)
  assert.equal(eb.message.split(', URL: ')[0], ea.message.split(', URL: ')[0])
  // The fault is used up: the next call binds.
  assert.equal((await native().bindAxb(bindParams())).Code, 'OK')
})

test('fault throttle: by default pls-native retries, re-signed, and binds', async () => {
  await emu.control('reset', {})
  await emu.control('faults', { count: 2, kind: 'throttle' })
  // A replayed nonce would be refused by the gateway: each attempt is signed anew.
  assert.equal((await native().bindAxb(bindParams())).Code, 'OK')
  assert.deepEqual((await emu.control('state')).faults, [])
})

test('fault nonJson: pls-native rejects with SDK.InvalidResponse', async () => {
  await emu.control('reset', {})
  await emu.control('faults', { count: 1, kind: 'nonJson' })
  const { error } = await settle(native().bindAxb(bindParams()))
  assert.ok(error instanceof Error, 'rejected')
  assert.equal(error.code, 'SDK.InvalidResponse', error.message)
  assert.equal((await native().bindAxb(bindParams())).Code, 'OK')
})

test('fault slow: pls-native with timeout 500 rejects with SDK.Timeout', async () => {
  await emu.control('reset', {})
  await emu.control('faults', { count: 1, kind: 'slow', delayMs: 1500 })
  // Had the timeout not fired, the call would have resolved after 1500 ms.
  const { error } = await settle(native(KEYS, emu.url, { timeout: 500 }).bindAxb(bindParams()))
  assert.ok(error instanceof Error, 'rejected')
  assert.equal(error.code, 'SDK.Timeout', error.message)
  assert.equal(error.name, 'RequestTimeoutError')
  assert.equal((await native().bindAxb(bindParams())).Code, 'OK')
})

test('fault slow: the read timeout counts from the request like the original (not connect + read)', async () => {
  await emu.control('reset', {})
  const elapsed = {}
  for (const [label, make] of CLIENTS) {
    await emu.control('faults', { count: 1, kind: 'slow', delayMs: 4000 })
    const started = Date.now()
    const { error } = await settle(make().bindAxb(bindParams(), { timeout: 1000 }))
    elapsed[label] = Date.now() - started
    assert.equal(error && error.name, 'RequestTimeoutError', `${label} timed out`)
  }
  assert.ok(elapsed.original < 1700, `the original gave up after ${elapsed.original} ms`)
  assert.ok(elapsed['pls-native'] < 1700, `pls-native gave up after ${elapsed['pls-native']} ms (original: ${elapsed.original} ms)`)
})

test('fault reset: pls-native rejects with an SDK.* code, and the next call works', async () => {
  await emu.control('reset', {})
  await emu.control('faults', { count: 1, kind: 'reset' })
  const c = native(KEYS, emu.url, { timeout: 5000 })
  const { error } = await settle(c.bindAxb(bindParams()))
  assert.ok(error instanceof Error, 'rejected')
  assert.match(String(error.code), /^SDK\./, error.message)
  assert.equal((await c.bindAxb(bindParams())).Code, 'OK')
})
