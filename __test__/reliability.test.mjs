// Timeouts, retries and cancellation seen from Node: what each limit bounds
// and which one an error names, which failures are retried (re-signed) and
// which never are, AbortSignal on every call, the consumer's argument checks
// and backoff, and the server faults the emulator can inject.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { getEventListeners } from 'node:events'
import net from 'node:net'

import { startCaptureServer } from './support/capture.mjs'
import { paramsOf, signatureVerifies } from './support/wire.mjs'
import { settle, within } from './support/settle.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')

const SECRET = 'reliability-secret'
const KEYS = { accessKeyId: 'id', secretAccessKey: SECRET }
const BIND = { PoolKey: 'FC1', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-08-05 12:00:00' }
const QUERY = { SubsId: '1', PhoneNoX: '2' }
const OK = { status: 200, body: '{"RequestId":"R","Code":"OK","Message":"OK"}' }
const EMU_KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const EMU_BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2018-08-05 12:00:00' }

let server
let emu
let queueName

before(async () => {
  server = await startCaptureServer()
  emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
  queueName = `Alicom-Queue-${(await emu.control('state')).account}-SecretReport`
})
after(async () => {
  await server.close()
  await emu.stop()
})

function client(extra = {}) {
  return new PLSClient({ ...KEYS, endpoint: server.url, dybaseEndpoint: server.url, mnsEndpoint: server.url, ...extra })
}

function emulated(extra = {}) {
  return new PLSClient({ ...EMU_KEYS, endpoint: emu.url, dybaseEndpoint: emu.url, mnsEndpoint: emu.url, ...extra })
}

function gatewayError(status, code, headers) {
  return { status, headers, body: JSON.stringify({ RequestId: 'R', HostId: 'h', Code: code, Message: `${code} happened` }) }
}

/** Replies with `first` for the first `n` requests, then with `rest`. */
function firstThen(n, first, rest = OK) {
  let seen = 0
  return () => (seen++ < n ? first : rest)
}

async function rejection(promise, what) {
  const { value, error } = await within(15_000, settle(promise), what)
  assert.ok(error, `${what}: expected a rejection, got ${JSON.stringify(value)}`)
  assert.ok(error instanceof Error, `${what}: an Error`)
  return error
}

async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function closedPort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const nonceOf = (captured) => paramsOf(captured).find(([k]) => k === 'SignatureNonce')[1]

// ---- timeouts ----

test('the read timeout bounds the wait for the response, not connect + read, and the error names it', async () => {
  server.reply({ hang: true })
  server.take()
  const c = client({ connectTimeout: 20_000, readTimeout: 300 })
  // Were the read limit stretched to the connect limit, this would take 20 s.
  const err = await rejection(c.bindAxb(BIND), 'readTimeout 300 with connectTimeout 20000')
  assert.equal(err.code, 'SDK.Timeout')
  assert.equal(err.name, 'RequestTimeoutError')
  assert.match(err.message, /^BindAxb: ReadTimeout: no complete response within 300 ms \(readTimeout\)/)
  // BindAxb may have reached the server: never sent twice.
  assert.equal(server.take().length, 1)
  assert.equal(err.attempts, 1)
})

test('timeout bounds the whole call, retries and their waits included, and the error names it', async () => {
  server.reply({ hang: true })
  server.take()
  // The overall limit is shorter than the read limit, so it is the one that fires.
  const err = await rejection(
    client().querySubscriptionDetail(QUERY, { readTimeout: 20_000, timeout: 400 }),
    'readTimeout 20000 with timeout 400',
  )
  assert.equal(err.code, 'SDK.Timeout')
  assert.match(err.message, /^QuerySubscriptionDetail: Timeout: the call did not complete within 400 ms \(timeout\)/)
  assert.equal(err.attempts, 1)
  assert.equal(server.take().length, 1)

  // A retry whose wait would end after the limit is not made: the last
  // real error stands, and the call ends within its limit.
  server.reply(gatewayError(400, 'Throttling.User', { 'x-acs-retry-after': '300' }))
  const throttled = await rejection(client().bindAxb(BIND, { timeout: 500, maxRetries: 5 }), 'throttled with timeout 500')
  assert.equal(throttled.code, 'Throttling.User')
  assert.equal(throttled.attempts, 2)
  assert.equal(server.take().length, 2)
})

test('calls with many different connect timeouts share one connection pool', async () => {
  server.reply(OK)
  const c = client()
  const batch = (from) => Promise.all(Array.from({ length: 50 }, (_, i) => c.bindAxb(BIND, { connectTimeout: from + i })))
  await batch(1000)
  const before = process.memoryUsage().rss
  for (let from = 2000; from < 3000; from += 50) await batch(from)
  server.take()
  const grown = (process.memoryUsage().rss - before) / 2 ** 20
  // One client (TLS roots and pool) per distinct value costs ~120 KB each.
  assert.ok(grown < 60, `RSS grew ${grown.toFixed(1)} MB over 1,000 distinct connect timeouts`)
})

// ---- retries ----

test('a Throttling answer is retried, re-signed with a fresh nonce and timestamp', async () => {
  server.reply(firstThen(1, gatewayError(400, 'Throttling.User')))
  server.take()
  const res = await client().bindAxb(BIND)
  assert.equal(res.Code, 'OK')
  const [first, second] = server.take()
  assert.ok(first && second, 'two requests')
  assert.notEqual(nonceOf(first), nonceOf(second))
  assert.ok(signatureVerifies(first, SECRET) && signatureVerifies(second, SECRET))
})

test('isv.FLOW_LIMIT and ServiceUnavailable are retried even for a mutating action', async () => {
  for (const reply of [gatewayError(200, 'isv.FLOW_LIMIT'), gatewayError(503, 'ServiceUnavailable')]) {
    server.reply(firstThen(2, reply))
    server.take()
    assert.equal((await client().bindAxb(BIND)).Code, 'OK')
    assert.equal(server.take().length, 3)
  }
})

test('the final error is the last real one, with err.attempts, and maxRetries sets how many', async () => {
  server.reply(gatewayError(400, 'Throttling.User'))
  server.take()
  const err = await rejection(client().bindAxb(BIND), 'always throttled')
  assert.equal(err.code, 'Throttling.User')
  assert.equal(err.name, 'Throttling.UserError')
  assert.equal(err.attempts, 3)
  assert.equal(server.take().length, 3)
  // Not one of the error's own keys: the original's keys stay as they are.
  assert.ok(!Object.keys(err).includes('attempts'))

  // maxRetries: 0 is the original: one request, the error at once.
  const once = await rejection(client({ maxRetries: 0 }).bindAxb(BIND), 'maxRetries 0')
  assert.equal(once.attempts, 1)
  assert.equal(server.take().length, 1)
  // Per call beats the constructor.
  const twice = await rejection(client({ maxRetries: 0 }).bindAxb(BIND, { maxRetries: 1 }), 'per-call maxRetries 1')
  assert.equal(twice.attempts, 2)
  assert.equal(server.take().length, 2)
  const none = await rejection(client().bindAxb(BIND, { maxRetries: 0 }), 'per-call maxRetries 0')
  assert.equal(none.attempts, 1)
  assert.equal(server.take().length, 1)
})

test('a 5xx or a timeout is never retried for a mutating action, and is for a read-only one', async () => {
  const cases = [
    ['a 500', gatewayError(500, 'InternalError'), {}],
    ['an HTML 502', { status: 502, body: '<html>502 Bad Gateway</html>', contentType: 'text/html' }, {}],
    ['a read timeout', { hang: true }, { readTimeout: 200 }],
  ]
  for (const [what, reply, options] of cases) {
    server.reply(reply)
    server.take()
    const mutating = await rejection(client().bindAxb(BIND, options), `BindAxb after ${what}`)
    assert.equal(mutating.attempts, 1, `BindAxb after ${what}`)
    assert.equal(server.take().length, 1, `BindAxb after ${what}`)
    const reading = await rejection(client().querySubscriptionDetail(QUERY, options), `QuerySubscriptionDetail after ${what}`)
    assert.equal(reading.attempts, 3, `QuerySubscriptionDetail after ${what}`)
    assert.equal(server.take().length, 3, `QuerySubscriptionDetail after ${what}`)
  }
  // A business error is an answer: never retried.
  server.reply(gatewayError(200, 'isv.BIND_CONFLICT'))
  server.take()
  assert.equal((await rejection(client().querySubscriptionDetail(QUERY), 'business error')).attempts, 1)
  assert.equal(server.take().length, 1)
})

test('x-acs-retry-after (milliseconds) is waited before the retry', async () => {
  const arrivals = []
  const throttled = gatewayError(400, 'Throttling.User', { 'x-acs-retry-after': '400' })
  const next = firstThen(1, throttled)
  server.reply(() => {
    arrivals.push(Date.now())
    return next()
  })
  server.take()
  assert.equal((await client().bindAxb(BIND)).Code, 'OK')
  assert.equal(arrivals.length, 2)
  // A lower bound only: the backoff alone would be under 100 ms.
  assert.ok(arrivals[1] - arrivals[0] >= 380, `retried after ${arrivals[1] - arrivals[0]} ms`)
})

test('a connection never established is retried for any action', async () => {
  const port = await closedPort()
  const c = new PLSClient({ ...KEYS, endpoint: `http://127.0.0.1:${port}` })
  const err = await rejection(c.bindAxb(BIND), 'refused')
  assert.equal(err.code, 'SDK.ConnectionFailed')
  assert.equal(err.attempts, 3)
})

test('maxRetries that is not a whole number from 0 to 100 is refused', async () => {
  for (const bad of [-1, 1.5, 'x', 101]) {
    assert.throws(() => client({ maxRetries: bad }), (err) => err instanceof TypeError && /maxRetries/.test(err.message))
    const err = await rejection(client().bindAxb(BIND, { maxRetries: bad }), `maxRetries ${bad}`)
    assert.equal(err.code, 'SDK.InvalidArgument')
  }
})

// ---- cancellation ----

test('an already-aborted signal rejects with AbortError without sending', async () => {
  server.reply(OK)
  server.take()
  const ac = new AbortController()
  const reason = new Error('changed my mind')
  ac.abort(reason)
  const c = client()
  for (const [what, call] of [
    ['bindAxb', () => c.bindAxb(BIND, { signal: ac.signal })],
    ['request', () => c.request('QueryCallStatus', {}, { signal: ac.signal })],
    ['receiveMsg', () => c.receiveMsg(0, 'q', 1, false, { signal: ac.signal })],
    ['deleteMsg', () => c.deleteMsg(0, 'q', 'handle', { signal: ac.signal })],
  ]) {
    const err = await rejection(call(), what)
    assert.equal(err.name, 'AbortError', what)
    assert.equal(err.code, 'SDK.Aborted', what)
    assert.equal(err.cause, reason, what)
  }
  await assert.rejects(c.consume(0, 'q', () => {}, { signal: ac.signal }), { name: 'AbortError' })
  assert.equal(server.take().length, 0, 'nothing was sent')
})

test('aborting a call in flight rejects at once, frees its connection and removes its listener', async () => {
  server.reply({ hang: true })
  server.take()
  const ac = new AbortController()
  const pending = client({ timeout: 60_000 }).bindAxb(BIND, { signal: ac.signal })
  await waitFor(() => server.requests.length === 1, 5_000, 'the request')
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1)
  const [captured] = server.take()
  ac.abort()
  const err = await rejection(pending, 'aborted bindAxb')
  assert.equal(err.name, 'AbortError')
  assert.match(err.message, /^BindAxb: the operation was aborted/)
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  // The connection is closed, not left to the never-answering server.
  await within(5_000, captured.connectionClosed, 'the connection to close')
})

test('a signal shared by many calls keeps no listener once they settle; a late abort changes nothing', async () => {
  server.reply(OK)
  const ac = new AbortController()
  const c = client()
  const results = await Promise.all(Array.from({ length: 50 }, () => c.bindAxb(BIND, { signal: ac.signal })))
  assert.ok(results.every((r) => r.Code === 'OK'))
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  ac.abort()
  await new Promise((resolve) => setImmediate(resolve))
  server.take()
})

test('a signal option that is not an AbortSignal is refused', async () => {
  for (const bad of [{}, 'abort', 1]) {
    const err = await rejection(client().bindAxb(BIND, { signal: bad }), `signal ${typeof bad}`)
    assert.equal(err.code, 'SDK.InvalidArgument')
  }
})

test('aborting receiveMsg ends its long poll at once', async () => {
  await emu.control('reset', {})
  const ac = new AbortController()
  const pending = emulated().receiveMsg(0, queueName, 30, false, { signal: ac.signal })
  setTimeout(() => ac.abort(), 300)
  // The poll would otherwise hold for 30 s.
  const err = await rejection(pending, 'aborted receiveMsg')
  assert.equal(err.name, 'AbortError')
})

test('aborting consume ends it at once, even in the middle of a long poll', async () => {
  await emu.control('reset', {})
  const ac = new AbortController()
  const pending = emulated().consume(0, queueName, () => {}, { waitSeconds: 30, signal: ac.signal })
  await new Promise((resolve) => setTimeout(resolve, 300))
  ac.abort()
  assert.deepEqual(await within(5_000, pending, 'consume after abort'), { received: 0, handled: 0, failed: 0 })
})

// ---- the consumer ----

test('consume rejects at once on arguments that could never work', async () => {
  const c = client()
  for (const [type, queue] of [[7, 'q'], [-1, 'q'], ['x', 'q'], [0, ''], [0, 'a/b'], [0, 'q?x=1']]) {
    const err = await within(2_000, settle(c.consume(type, queue, () => {})), `consume(${type}, ${queue})`)
    assert.ok(err.error, `consume(${type}, ${JSON.stringify(queue)}) must reject`)
    assert.equal(err.error.code, 'SDK.InvalidArgument', err.error.message)
  }
  await assert.rejects(c.consume(0, 'q', () => {}, { signal: 'stop' }), TypeError)
})

test('consume backs off after failed receives: the pause doubles per failure, with jitter', async () => {
  const port = await closedPort()
  const c = new PLSClient({ ...KEYS, endpoint: `http://127.0.0.1:${port}`, maxRetries: 0 })
  const random = Math.random
  // The top of each jittered range: pauses of 100, 200, 400, 800 ms.
  Math.random = () => 0.999
  const errors = []
  const ac = new AbortController()
  try {
    const pending = c.consume(0, 'q', () => {}, { signal: ac.signal, retryDelayMs: 100, onError: (e) => errors.push(e) })
    await new Promise((resolve) => setTimeout(resolve, 1_400))
    ac.abort()
    await within(5_000, pending, 'consume after abort')
  } finally {
    Math.random = random
  }
  assert.ok(errors.length >= 2, `${errors.length} errors`)
  assert.ok(errors.every((e) => e.code === 'SDK.ConnectionFailed'))
  // A fixed 100 ms pause would have given about 14 in 1.4 s.
  assert.ok(errors.length <= 6, `${errors.length} failed receives in 1.4 s`)
})

// ---- server faults, through the emulator ----

const FAULTS = [
  ['truncated', {}, (out) => assert.equal(out.error && out.error.code, 'SDK.NetworkError')],
  ['resetMidBody', {}, (out) => assert.equal(out.error && out.error.code, 'SDK.NetworkError')],
  ['stallMidBody', { readTimeout: 500 }, (out) => assert.equal(out.error && out.error.code, 'SDK.Timeout')],
  ['nonJson', {}, (out) => assert.equal(out.error && out.error.code, 'SDK.InvalidResponse')],
  ['hugeBody', {}, (out) => assert.equal(out.value && out.value.Padding.length, 10 * 2 ** 20)],
  ['wrongContentType', {}, (out) => assert.equal(out.value && out.value.Code, 'OK')],
  ['gzip', {}, (out) => assert.equal(out.value && out.value.Code, 'OK')],
  ['reset', {}, (out) => assert.equal(out.error && out.error.code, 'SDK.NetworkError')],
]

// Each fault on a new connection (keepAlive: false), so that a connection
// broken before the reply is a failure and not a stale pooled connection.
for (const [kind, options, check] of FAULTS) {
  test(`fault ${kind}: settles as expected, and the next call works`, async () => {
    await emu.control('reset', {})
    await emu.control('faults', { count: 1, kind, action: 'BindAxb' })
    const c = emulated({ keepAlive: false })
    const out = await within(15_000, settle(c.bindAxb(EMU_BIND, options)), `bindAxb under ${kind}`)
    check(out)
    assert.equal((await c.bindAxb(EMU_BIND)).Code, 'OK')
  })
}

// The same breaks on a pooled connection look like a stale connection: these
// faults come before the emulator acts, so the request is sent again on a new
// connection and binds, once.
for (const kind of ['reset', 'resetMidBody']) {
  test(`fault ${kind} on a pooled connection: sent again on a new one, and binds once`, async () => {
    await emu.control('reset', {})
    const c = emulated({ maxRetries: 0 })
    await c.querySecretNoRemain({ City: '北京', SpecId: 1 }).catch(() => {}) // leaves a pooled connection
    await emu.control('faults', { count: 1, kind, action: 'BindAxb' })
    const out = await within(15_000, settle(c.bindAxb(EMU_BIND)), `bindAxb under ${kind}`)
    assert.equal(out.value && out.value.Code, 'OK', JSON.stringify(out.error && out.error.message))
    const state = await emu.control('state')
    assert.equal(state.bindings.length, 1)
  })
}
