// pls-native's own behaviour beyond the original: its deliberate
// improvements, failures that must reject cleanly, and worker safety.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import net from 'node:net'
import util from 'node:util'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { startCaptureServer } from './support/capture.mjs'
import { paramsOf, signatureVerifies } from './support/wire.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const here = path.dirname(fileURLToPath(import.meta.url))

const SECRET = 'very-secret-value-42'
const KEYS = { accessKeyId: 'id', secretAccessKey: SECRET }
const BIND = { PoolKey: 'FC1', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-08-05 12:00:00' }
let server

before(async () => {
  server = await startCaptureServer()
})
after(() => server.close())

function client(extra = {}) {
  return new PLSClient({ ...KEYS, endpoint: server.url, ...extra })
}

test('module.exports is the class; ESM default import is the same class', async () => {
  assert.equal(typeof PLSClient, 'function')
  const esm = await import('../index.js')
  assert.equal(esm.default, PLSClient)
  assert.ok(client() instanceof PLSClient)
})

test('one key without the other throws the original TypeErrors synchronously', () => {
  assert.throws(() => new PLSClient({ accessKeyId: 'x' }), { name: 'TypeError', message: 'parameter "secretAccessKey" is required' })
  assert.throws(() => new PLSClient({ accessKeyId: '', secretAccessKey: 's' }), { name: 'TypeError', message: 'parameter "accessKeyId" is required' })
  assert.throws(() => new PLSClient({ secretAccessKey: 's' }), { name: 'TypeError', message: 'parameter "accessKeyId" is required' })
})

test('an endpoint that is not a base URL is a TypeError naming the option', () => {
  assert.throws(() => new PLSClient({ ...KEYS, endpoint: 'dyplsapi.aliyuncs.com' }), (err) => err instanceof TypeError && /"endpoint"/.test(err.message))
})

test('undefined and null params are left out; as required keys they throw', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  server.take()
  await client().bindAxb({ ...BIND, OutId: undefined, ExpectCity: null, List: [undefined, 'b'] })
  const [captured] = server.take()
  const keys = paramsOf(captured).map(([k]) => k)
  assert.ok(!keys.includes('OutId') && !keys.includes('ExpectCity'), keys.join(','))
  assert.ok(keys.includes('List.2') && !keys.includes('List.1'))
  assert.ok(!captured.url.includes('undefined') && !captured.url.includes('null'))
  assert.throws(() => client().bindAxb({ ...BIND, PhoneNoB: undefined }), { name: 'TypeError', message: 'parameter "PhoneNoB" is required' })
  assert.throws(() => client().bindAxb({ ...BIND, Expiration: null }), { name: 'TypeError', message: 'parameter "Expiration" is required' })
})

test('credentials and endpoint from the environment', () => {
  const script = `
    const C = require(${JSON.stringify(path.join(here, '..', 'index.js'))})
    const c = new C()
    c.request('X', {}).then(() => console.log('resolved'), (e) => console.log(e.code))`
  const result = spawnSync(process.execPath, ['-e', script], {
    env: {
      ...process.env,
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'envId',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'envSecret',
      ALIBABA_CLOUD_SECURITY_TOKEN: 'envToken',
      PLS_ENDPOINT: 'http://127.0.0.1:1',
    },
    encoding: 'utf8',
  })
  assert.equal(result.stdout.trim(), 'SDK.ConnectionFailed', result.stderr)
})

test('securityToken is sent and signed', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  server.take()
  await client({ securityToken: 'sts-token' }).bindAxb(BIND)
  const [captured] = server.take()
  assert.ok(paramsOf(captured).some(([k, v]) => k === 'SecurityToken' && v === 'sts-token'))
  assert.ok(signatureVerifies(captured, SECRET))
})

test('the secret appears in no inspect, JSON, error or message', async () => {
  const c = client()
  assert.ok(!util.inspect(c, { showHidden: true, depth: 5 }).includes(SECRET))
  assert.ok(!JSON.stringify(c).includes(SECRET))
  server.reply({ status: 400, body: '{"Code":"SignatureDoesNotMatch","Message":"bad"}' })
  const err = await c.bindAxb(BIND).catch((e) => e)
  assert.ok(!util.inspect(err, { depth: 5 }).includes(SECRET))
  const refused = await new PLSClient({ ...KEYS, endpoint: 'http://127.0.0.1:1' }).bindAxb(BIND).catch((e) => e)
  assert.ok(!util.inspect(refused, { depth: 5 }).includes(SECRET))
})

test('a server that never answers rejects with SDK.Timeout in time (no hang)', async () => {
  server.reply({ hang: true })
  const started = Date.now()
  const err = await client({ timeout: 300 }).bindAxb(BIND).catch((e) => e)
  assert.equal(err.code, 'SDK.Timeout')
  assert.equal(err.name, 'RequestTimeoutError')
  // `timeout` alone sets the read limit too, and both fire at 300 ms: either
  // message names a limit this call set.
  assert.match(err.message, /^BindAxb: (ReadTimeout: .* \(readTimeout\)|Timeout: .* \(timeout\))/)
  assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`)
  // A per-call timeout overrides the client's.
  const started2 = Date.now()
  const err2 = await client().unbindSubscription({ SubsId: '1', SecretNo: '2' }, { timeout: 200 }).catch((e) => e)
  assert.equal(err2.code, 'SDK.Timeout')
  assert.ok(Date.now() - started2 < 2000)
})

test('a refused connection rejects with SDK.ConnectionFailed naming the action', async () => {
  const closed = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
  const err = await new PLSClient({ ...KEYS, endpoint: `http://127.0.0.1:${closed}` }).bindAxb(BIND).catch((e) => e)
  assert.ok(err instanceof Error)
  assert.equal(err.code, 'SDK.ConnectionFailed')
  assert.match(err.message, /^BindAxb: cannot connect to http:\/\/127\.0\.0\.1:\d+/)
})

test('a body that is not JSON rejects with SDK.InvalidResponse and the status', async () => {
  server.reply({ status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' })
  const err = await client().bindAxb(BIND).catch((e) => e)
  assert.equal(err.code, 'SDK.InvalidResponse')
  assert.match(err.message, /HTTP 502/)
  assert.match(err.message, /Bad Gateway/)
})

test('bad params reject (as the original does, inside its async request), never crash', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  server.take()
  await assert.rejects(client().request('X', 'not an object'), { name: 'TypeError', message: '"params" must be an object' })
  await assert.rejects(client().request('X', { S: Symbol('s') }), TypeError)
  const throwing = { get PhoneNoA() { throw new Error('getter boom') }, PhoneNoB: '1', Expiration: '2' }
  await assert.rejects(client().bindAxb(throwing), /getter boom/)
  await assert.rejects(client().bindAxb({ ...BIND, OutId: 'a\uD800b' }), (err) => err.code === 'SDK.InvalidArgument' && /lone UTF-16 surrogate/.test(err.message))
  await assert.rejects(client().bindAxb(BIND, { get method() { throw new Error('option getter') } }), /option getter/)
  // A real U+FFFD is fine, and goes out as its UTF-8 bytes.
  await client().bindAxb({ ...BIND, OutId: 'a\uFFFDb' })
  assert.ok(server.take()[0].url.includes('OutId=a%EF%BF%BDb'))
  const tooLong = await client().request('X', { Huge: 'x'.repeat(100_000) }).catch((e) => e)
  assert.equal(tooLong.code, 'SDK.InvalidArgument')
  assert.match(tooLong.message, /POST/)
  const res = await client().request('X', { Huge: 'x'.repeat(100_000), Obj: { toString() { return 'custom' } } }, { method: 'POST' })
  assert.equal(res.Code, 'OK')
  const [captured] = server.take()
  assert.ok(captured.body.includes('Obj=custom'))
})

test('terminating worker threads with calls in flight does not crash the process', () => {
  const result = spawnSync(process.execPath, [path.join(here, 'support', 'terminate-workers.cjs')], {
    encoding: 'utf8',
    // Under emulation (qemu, wine) on a loaded machine, 100 workers take minutes to start.
    timeout: 600_000,
  })
  assert.equal(result.status, 0, `exit ${result.status} signal ${result.signal}\n${result.stdout}\n${result.stderr}`)
  assert.match(result.stdout, /survived 25 rounds/)
})
