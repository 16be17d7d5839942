// receiveMsg and consume against the emulator's MNS queues: the original
// SDK's receiveMsg (its endpoints redirected) and ours on the same messages,
// delete and visibility semantics, the three message types, token refresh,
// the shared token request, and the at-least-once consumer.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import http from 'node:http'
import { settle, within } from './support/settle.mjs'

const require = createRequire(import.meta.url)
const Original = require('pls-sdk-original')
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')

const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const POOL = 'FC100000xxxxxx'
const EXPIRATION = '2018-08-05 12:00:00'
const A = '18040580000'
const B = '13871140000'
const BODY_KEYS = ['MessageId', 'ReceiptHandle', 'MessageBodyMD5', 'MessageBody', 'EnqueueTime', 'NextVisibleTime', 'FirstDequeueTime', 'DequeueCount', 'Priority']

let emu
let account
const queue = {}

before(async () => {
  emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
  account = (await emu.control('state')).account
  for (const type of ['SecretReport', 'SecretRecording', 'SecretSmsIntercept']) {
    queue[type] = `Alicom-Queue-${account}-${type}`
  }
})
after(async () => {
  await emu.stop()
})

/** The original SDK pointed at the emulator, MNS included. */
function original({ dybase = emu.url } = {}) {
  const o = new Original(KEYS)
  o.dyplsapiClient.endpoint = emu.url
  o.dybaseClient.endpoint = dybase
  const getMNSClient = o._getMNSClient
  o._getMNSClient = async function (...args) {
    const mns = await getMNSClient.apply(this, args)
    mns.endpoint = emu.url
    mns.endpointDomain = new URL(emu.url).host
    return mns
  }
  return o
}

function native(extra = {}) {
  return new PLSClient({ ...KEYS, endpoint: emu.url, dybaseEndpoint: emu.url, mnsEndpoint: emu.url, ...extra })
}

const CLIENTS = [
  ['original', original],
  ['pls-native', native],
]

async function expectEmpty(client, type, name, waitSeconds = 1) {
  const { value, error } = await settle(client.receiveMsg(type, name, waitSeconds))
  assert.ok(error, `expected an empty queue, got ${JSON.stringify(value && value.body)}`)
  assert.equal(error.name, 'MNSMessageNotExistError', error.message)
  return error
}

/** The JSON inside a message, decoded without either SDK. */
function decode(body) {
  return JSON.parse(Buffer.from(body.MessageBody, 'base64').toString('utf8'))
}

/** A fresh state, an AXB binding A-B (recording as asked) and its X. */
async function bound({ record = false } = {}) {
  await emu.control('reset', {})
  const res = await native().bindAxb({ PoolKey: POOL, PhoneNoA: A, PhoneNoB: B, Expiration: EXPIRATION, IsRecordingEnabled: record })
  return res.SecretBindDTO
}

async function queueSummary(name) {
  return (await emu.control('state')).queues.find((q) => q.name === name)
}

async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

for (const [label, make] of CLIENTS) {
  test(`${label}: an empty queue rejects with MNSMessageNotExistError after the long poll`, async () => {
    await emu.control('reset', {})
    const started = Date.now()
    const err = await expectEmpty(make(), 0, queue.SecretReport, 1)
    assert.ok(Date.now() - started >= 900, `waited ${Date.now() - started} ms of a 1 s long poll`)
    assert.match(err.message, new RegExp(`^GET ${emu.url}/queues/${queue.SecretReport}/messages\\?waitseconds=1 failed with 404\\. requestid: \\w+, hostid: .+, message: Message not exist\\.$`))
  })

  test(`${label}: a queue the token does not grant answers MNSQueueNotExistError`, async () => {
    await emu.control('reset', {})
    const { error } = await settle(make().receiveMsg(0, `Alicom-Queue-${account}-NoSuchQueue`, 1))
    assert.equal(error && error.name, 'MNSQueueNotExistError')
    const other = await settle(make().receiveMsg(0, queue.SecretRecording, 1))
    assert.equal(other.error && other.error.name, 'MNSQueueNotExistError', 'a SecretReport token does not grant the SecretRecording queue')
  })

  test(`${label}: isDel=true deletes the message (it does not come back after the visibility timeout)`, async () => {
    const { SecretNo: X } = await bound()
    await emu.control('queues/visibility', { queue: queue.SecretReport, seconds: 1 })
    const c = make()
    await emu.control('calls', { caller: A, secretNo: X })
    const res = await c.receiveMsg(0, queue.SecretReport, 2, true)
    assert.equal(res.code, 200)
    assert.equal(decode(res.body).phone_no, A)
    // Not deleted, it would be visible again after 1 s, inside this 2 s poll.
    await expectEmpty(c, 0, queue.SecretReport, 2)
    assert.equal((await queueSummary(queue.SecretReport)).messages, 0)
  })

  test(`${label}: isDel=false leaves the message, which comes back with DequeueCount 2`, async () => {
    const { SecretNo: X } = await bound()
    await emu.control('queues/visibility', { queue: queue.SecretReport, seconds: 1 })
    const c = make()
    await emu.control('calls', { caller: A, secretNo: X })
    const first = await c.receiveMsg(0, queue.SecretReport, 2)
    assert.equal(first.body.DequeueCount, '1')
    assert.equal((await queueSummary(queue.SecretReport)).inFlight, 1, 'received but not deleted')
    const second = await c.receiveMsg(0, queue.SecretReport, 3, true)
    assert.equal(second.body.MessageId, first.body.MessageId)
    assert.equal(second.body.DequeueCount, '2')
    assert.equal(second.body.FirstDequeueTime, first.body.FirstDequeueTime)
    assert.notEqual(second.body.ReceiptHandle, first.body.ReceiptHandle)
    assert.ok(Number(second.body.NextVisibleTime) > Number(first.body.NextVisibleTime))
    assert.equal((await queueSummary(queue.SecretReport)).messages, 0, 'deleted the second time')
  })

  test(`${label}: SecretRecording arrives when recording is on, not when off`, async () => {
    let { SecretNo: X } = await bound({ record: false })
    await emu.control('calls', { caller: A, secretNo: X })
    await expectEmpty(make(), 1, queue.SecretRecording, 1)
    ;({ SecretNo: X } = await bound({ record: true }))
    const { callId, recording } = await emu.control('calls', { caller: B, secretNo: X })
    const res = await make().receiveMsg(1, queue.SecretRecording, 2, true)
    assert.equal(res.code, 200)
    assert.deepEqual(Object.keys(res.body), BODY_KEYS)
    const message = decode(res.body)
    assert.deepEqual(Object.keys(message), ['pool_key', 'sub_id', 'call_id', 'call_time', 'out_id'])
    assert.deepEqual(message, recording)
    assert.equal(message.call_id, callId)
    assert.equal(message.pool_key, POOL)
  })

  test(`${label}: an SMS to X arrives as SecretSmsIntercept`, async () => {
    const { SecretNo: X, SubsId } = await bound()
    await emu.control('sms', { sender: A, secretNo: X, content: '你好, driver' })
    const res = await make().receiveMsg(2, queue.SecretSmsIntercept, 2, true)
    assert.equal(res.code, 200)
    const message = decode(res.body)
    assert.equal(message.send_no, A)
    assert.equal(message.secret_no, X)
    assert.equal(message.receive_no, B)
    assert.equal(message.sms_content, '你好, driver')
    assert.equal(String(message.sub_id), SubsId)
    assert.equal((await queueSummary(queue.SecretSmsIntercept)).messages, 0)
  })
}

test('pls-native: a call through X gives the SecretReport, every Message field a string; decodeMessage reads it', async () => {
  const { SecretNo: X, SubsId } = await bound()
  const { callId } = await emu.control('calls', { caller: A, secretNo: X })
  const res = await native().receiveMsg(0, queue.SecretReport, 2)
  assert.equal(res.code, 200)
  assert.deepEqual(res.headers, {})
  assert.deepEqual(Object.keys(res), ['code', 'headers', 'body'])
  assert.deepEqual(Object.keys(res.body), BODY_KEYS)
  for (const key of BODY_KEYS) assert.equal(typeof res.body[key], 'string', key)
  assert.equal(res.body.DequeueCount, '1')
  assert.equal(res.body.MessageBodyMD5, crypto.createHash('md5').update(res.body.MessageBody).digest('hex').toUpperCase())
  assert.match(res.body.EnqueueTime, /^\d{13}$/)

  const report = PLSClient.decodeMessage(res.body)
  assert.deepEqual(report, decode(res.body))
  assert.deepEqual(PLSClient.decodeMessage(res.body.MessageBody), report, 'the MessageBody string works too')
  assert.equal(report.phone_no, A)
  assert.equal(report.peer_no, B)
  assert.equal(report.secret_no, X)
  assert.equal(report.call_type, 0)
  assert.equal(report.call_id, callId)
  assert.equal(report.pool_key, POOL)
  assert.equal(String(report.sub_id), SubsId)
  assert.match(report.call_time, /^2018-08-01 \d{2}:\d{2}:\d{2}$/)
  for (const key of ['called_display_no', 'start_time', 'call_out_time', 'ring_time', 'free_ring_time', 'release_time', 'sms_number', 'release_dir', 'release_cause', 'unconnected_cause', 'record_url', 'ring_record_url', 'out_id']) {
    assert.ok(key in report, key)
  }
  assert.throws(() => PLSClient.decodeMessage({}), TypeError)
})

test('the original and pls-native agree on every field of the same kind of message', async () => {
  const { SecretNo: X } = await bound({ record: true })
  await emu.control('calls', { caller: A, secretNo: X })
  await emu.control('calls', { caller: A, secretNo: X })
  const a = await original().receiveMsg(0, queue.SecretReport, 2, true)
  const b = await native().receiveMsg(0, queue.SecretReport, 2, true)
  assert.equal(b.code, a.code)
  assert.deepEqual(b.headers, a.headers)
  assert.deepEqual(Object.keys(b), Object.keys(a))
  assert.deepEqual(Object.keys(b.body), Object.keys(a.body), 'body keys, in order')
  assert.deepEqual(Object.keys(a.body), BODY_KEYS)
  for (const key of BODY_KEYS) {
    assert.equal(typeof a.body[key], 'string', `original ${key}`)
    assert.equal(typeof b.body[key], 'string', `pls-native ${key}`)
  }
  assert.equal(b.body.DequeueCount, a.body.DequeueCount)
  assert.equal(b.body.Priority, a.body.Priority)
  assert.notEqual(b.body.MessageId, a.body.MessageId, 'two messages, one each')
  // The decoded reports: the same keys in the same order, the same values
  // apart from the call's and the record's ids (and the recording URLs that
  // name the call) and times.
  const da = decode(a.body)
  const db = PLSClient.decodeMessage(b.body)
  assert.deepEqual(Object.keys(db), Object.keys(da))
  const VARIES = new Set(['call_id', 'id', 'record_url', 'ring_record_url', 'call_time', 'start_time', 'call_out_time', 'ring_time', 'free_ring_time', 'release_time'])
  const stable = (m) => Object.fromEntries(Object.entries(m).filter(([k]) => !VARIES.has(k)))
  assert.deepEqual(stable(db), stable(da))
  assert.equal(da.phone_no, A)
  assert.equal((await queueSummary(queue.SecretReport)).messages, 0, 'both deleted theirs')

  // And the same errors on an empty queue.
  const ea = await expectEmpty(original(), 0, queue.SecretReport, 1)
  const eb = await expectEmpty(native(), 0, queue.SecretReport, 1)
  assert.equal(eb.message.split('requestid:')[0], ea.message.split('requestid:')[0])
  assert.equal(eb.message.split('message:')[1], ea.message.split('message:')[1])
})

/** A transparent HTTP proxy to the emulator that counts QueryTokenForMnsQueue requests. */
async function startTokenCounter() {
  const target = new URL(emu.url)
  let tokens = 0
  const server = http.createServer((req, res) => {
    if (req.url.includes('Action=QueryTokenForMnsQueue')) tokens++
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode, reply.headers)
      reply.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get tokens() {
      return tokens
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

test('an expired token (business clock + 1 h) is refreshed once and the receive succeeds', async () => {
  await emu.control('reset', {})
  const counter = await startTokenCounter()
  try {
    const o = original()
    const n = native({ dybaseEndpoint: counter.url })
    // Both get a token (waitSeconds 0: no long poll).
    await expectEmpty(o, 0, queue.SecretReport, 0)
    await expectEmpty(n, 0, queue.SecretReport, 0)
    await expectEmpty(n, 0, queue.SecretReport, 0)
    assert.equal(counter.tokens, 1, 'the token is reused while fresh')
    await emu.control('clock', { advanceSeconds: 3600 })
    await emu.control('calls', { caller: A, secretNo: '17000000000' })
    // The emulator now refuses the tokens it issued: the original, which
    // caches for 10 real minutes and does not retry, shows it.
    const { error } = await settle(o.receiveMsg(0, queue.SecretReport, 1))
    assert.equal(error && error.name, 'MNSSecurityTokenExpiredError', error && error.message)
    // pls-native fetches a fresh token once and gets the message.
    const res = await n.receiveMsg(0, queue.SecretReport, 2, true)
    assert.equal(res.code, 200)
    assert.equal(decode(res.body).phone_no, A)
    assert.equal(counter.tokens, 2, 'one refresh')
  } finally {
    await counter.close()
  }
})

test('concurrent receiveMsg calls for one type share one token request (the original sends one each)', async () => {
  await emu.control('reset', {})
  const counter = await startTokenCounter()
  try {
    const n = native({ dybaseEndpoint: counter.url })
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => n.receiveMsg(0, queue.SecretReport, 0)))
    for (const r of results) assert.equal(r.reason && r.reason.name, 'MNSMessageNotExistError')
    assert.equal(counter.tokens, 1, 'pls-native: one token request for five receives')
    // Another type has its own token.
    await expectEmpty(n, 2, queue.SecretSmsIntercept, 0)
    assert.equal(counter.tokens, 2)

    // The counter sees every token request: the original sends five.
    const before = counter.tokens
    const o = original({ dybase: counter.url })
    await Promise.allSettled(Array.from({ length: 5 }, () => o.receiveMsg(0, queue.SecretReport, 0)))
    assert.equal(counter.tokens - before, 5)
  } finally {
    await counter.close()
  }
})

test('consume: a receipt reaches a succeeding handler exactly once, then the queue is empty', async () => {
  const { SecretNo: X } = await bound()
  await emu.control('queues/visibility', { queue: queue.SecretReport, seconds: 1 })
  const { callId } = await emu.control('calls', { caller: A, secretNo: X })
  const seen = []
  const errors = []
  const ac = new AbortController()
  const client = native()
  const p = client.consume(0, queue.SecretReport, async (message, body) => {
    seen.push({ message, body })
  }, { waitSeconds: 1, signal: ac.signal, onError: (e) => errors.push(e) })
  await waitFor(() => seen.length >= 1, 10_000, 'the handler')
  // Had it not been deleted it would be visible again after 1 s.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  ac.abort()
  const stats = await within(10_000, p, 'consume after abort')
  assert.deepEqual(stats, { received: 1, handled: 1, failed: 0 })
  assert.equal(seen.length, 1)
  assert.equal(seen[0].message.call_id, callId)
  assert.equal(seen[0].message.phone_no, A)
  assert.equal(typeof seen[0].body.ReceiptHandle, 'string')
  assert.deepEqual(errors, [])
  const summary = await queueSummary(queue.SecretReport)
  assert.equal(summary.messages, 0, 'deleted')
})

test('consume: a handler that throws sees the message again after the visibility timeout, then it is deleted', async () => {
  const { SecretNo: X } = await bound()
  await emu.control('queues/visibility', { queue: queue.SecretReport, seconds: 1 })
  const { callId } = await emu.control('calls', { caller: A, secretNo: X })
  const calls = []
  const errors = []
  const ac = new AbortController()
  const p = native().consume(0, queue.SecretReport, async (message, body) => {
    calls.push({ id: message.call_id, count: body.DequeueCount })
    if (calls.length === 1) throw new Error('handler failed the first time')
  }, { waitSeconds: 1, signal: ac.signal, onError: (e) => errors.push(e) })
  await waitFor(() => calls.length >= 2, 15_000, 'the second delivery')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  ac.abort()
  const stats = await within(10_000, p, 'consume after abort')
  assert.deepEqual(stats, { received: 2, handled: 1, failed: 1 })
  assert.deepEqual(calls, [{ id: callId, count: '1' }, { id: callId, count: '2' }])
  assert.equal(errors.length, 1)
  assert.equal(errors[0].message, 'handler failed the first time')
  assert.equal((await queueSummary(queue.SecretReport)).messages, 0)
})

test('consume: abort on an idle queue stops the loop and resolves with zero counts', async () => {
  await emu.control('reset', {})
  const ac = new AbortController()
  let handled = 0
  const p = native().consume(0, queue.SecretReport, () => { handled++ }, { waitSeconds: 1, signal: ac.signal })
  await new Promise((resolve) => setTimeout(resolve, 300))
  ac.abort()
  const stats = await within(8_000, p, 'consume after abort')
  assert.deepEqual(stats, { received: 0, handled: 0, failed: 0 })
  // Stopped: a message enqueued now stays in the queue.
  await emu.control('calls', { caller: A, secretNo: '17000000000' })
  await new Promise((resolve) => setTimeout(resolve, 1200))
  assert.equal(handled, 0)
  assert.equal((await queueSummary(queue.SecretReport)).visible, 1)
})

test('bad input rejects with SDK.InvalidArgument, no hang', async () => {
  const n = native()
  for (const type of [7, -1, 3, 1.5, 'x']) {
    const err = await within(5_000, n.receiveMsg(type, queue.SecretReport, 1).then(
      (v) => assert.fail(`receiveMsg(${type}) resolved ${JSON.stringify(v)}`),
      (e) => e,
    ), `receiveMsg(${type})`)
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'SDK.InvalidArgument', `type ${type}: ${err.message}`)
  }
  await assert.rejects(within(5_000, n.consume(0, queue.SecretReport, 'not a function'), 'consume'), TypeError)
})
