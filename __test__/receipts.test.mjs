// Receipts end to end: the emulator produces the life of calls, SMS and
// numbers; they reach an app through MNS (receiveMsg and consume, every type
// by name) and through HTTP push to a real node:http server running
// PLSClient.receiptListener: retries on the business clock, duplicates,
// slow handlers, refused requests, body parsers, the classifier, the stores.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { settle, within } from './support/settle.mjs'
import { typecheck } from './support/typescript.mjs'
import { cliPath, killAll, startCli, stopCli } from './support/cli.mjs'

const require = createRequire(import.meta.url)
const { linkExamples } = require('../examples/link.js')
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')
const { receiptListener, classifyReceipt, receiptKey, MemoryReceiptStore, RECEIPT_TYPES } = PLSClient

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const POOL = 'FC100000xxxxxx'
const A = '18040580000'
const B = '13871140000'
const EXPIRATION = '2018-08-05 12:00:00'
const CLOCK = '2018-08-01 00:00:00'
// Every type the service can push.
const PUSHABLE = RECEIPT_TYPES.filter((t) => t !== 'SecretExceptionPhoneReport')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** Epoch ms of a Beijing 'YYYY-MM-DD HH:mm:ss'. */
const beijing = (text) => Date.parse(`${text.replace(' ', 'T')}+08:00`)

async function waitFor(predicate, what, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** A real node:http server around a listener; `seen` records each handler call. */
async function receiver(handler = () => {}, options = {}) {
  const seen = []
  const listener = receiptListener(async (receipt, type, context) => {
    seen.push({ receipt, type, key: context.key })
    await handler(receipt, type, context)
  }, options)
  const server = http.createServer(listener)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/receipts`,
    seen,
    listener,
    types: () => seen.map((s) => s.type),
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

function client(emu) {
  return new PLSClient({ ...KEYS, endpoint: emu.url, dybaseEndpoint: emu.url, mnsEndpoint: emu.url })
}

async function bind(emu, extra = {}) {
  const res = await client(emu).bindAxb({ PoolKey: POOL, PhoneNoA: A, PhoneNoB: B, Expiration: EXPIRATION, ...extra })
  return res.SecretBindDTO
}

async function pushLog(emu) {
  return (await emu.control('log')).entries.filter((e) => e.kind === 'push').reverse()
}

// One emulator pushing every type to one listener, the URL set per test.
let emu
let account
before(async () => {
  emu = await startEmulator({ clock: CLOCK, pushTimeoutMs: 5000 })
  account = (await emu.control('state')).account
})
after(async () => {
  await emu.stop()
})

async function pushEverythingTo(url) {
  await emu.control('reset', {})
  for (const type of PUSHABLE) await emu.control('push', { type, url })
}

test('an answered, recorded, transcribed call reaches the handler as the documented sequence', async () => {
  const app = await receiver()
  try {
    await pushEverythingTo(app.url)
    const { SecretNo: X, SubsId } = await bind(emu, { IsRecordingEnabled: true, ASRStatus: true, OutId: 'order-7' })
    const call = await emu.control('calls', { caller: A, secretNo: X, durationSeconds: 42, asrDelaySeconds: 90 })
    await waitFor(() => app.seen.length >= 5, 'five receipts')
    assert.deepEqual(app.types(), ['SecretStartReport', 'SecretRingReport', 'SecretPickUpReport', 'SecretReport', 'SecretRecording'])
    for (const { receipt, type } of app.seen) {
      assert.equal(receipt.call_id, call.callId, type)
      assert.equal(String(receipt.sub_id), SubsId, type)
      assert.equal(receipt.out_id, 'order-7', type)
    }
    const [start, ring, pickUp, report, recording] = app.seen.map((s) => s.receipt)
    const dialled = beijing(start.call_time)
    assert.ok(dialled >= beijing(CLOCK) && dialled < beijing(CLOCK) + 60_000, start.call_time)
    assert.equal(start.control_type, 'CONTINUE')
    assert.equal(start.unconnected_cause, 0)
    // Rang 2 s after dialling, answered at 5 s, released after 42 s of talk.
    assert.equal(beijing(ring.ring_time) - dialled, 2000)
    assert.equal(beijing(pickUp.start_time) - dialled, 5000)
    assert.deepEqual([report.phone_no, report.peer_no, report.secret_no, report.call_type], [A, B, X, 0])
    assert.equal(beijing(report.release_time) - dialled, 47_000)
    assert.deepEqual([report.release_dir, report.release_cause, report.unconnected_cause], [1, 16, 0])
    assert.equal(report.sms_number, undefined, 'sms_number is in the queue form only')
    assert.match(report.record_url, new RegExp(`${call.callId}\\.mp3$`))
    assert.equal(Math.floor(recording.call_time / 1000) * 1000, dialled, 'epoch ms')
    // The transcript waits for its delay on the business clock.
    await sleep(300)
    assert.equal(app.seen.length, 5)
    await emu.control('clock', { advanceSeconds: 137 })
    await waitFor(() => app.seen.length >= 6, 'the ASR report')
    const asr = app.seen[5]
    assert.equal(asr.type, 'SecretAsrReport')
    assert.equal(asr.receipt.callId, call.callId)
    assert.equal(asr.receipt.statusCode, '21050000')
    assert.equal(asr.receipt.bizDuration, 42_000)
    assert.equal(asr.receipt.sentences.length, 2)
    const log = await pushLog(emu)
    assert.deepEqual(log.map((e) => [e.type, e.outcome, e.attempt]), app.types().map((t) => [t, 'delivered', 1]))
    assert.ok(log.every((e) => e.status === 200 && e.code === 0))
  } finally {
    await app.close()
  }
})

test('unanswered, busy, rejected, blacklisted and unbound calls fill the fields as the service does', async () => {
  const app = await receiver()
  try {
    await pushEverythingTo(app.url)
    const { SecretNo: X } = await bind(emu)
    const lives = {}
    for (const outcome of ['noAnswer', 'busy', 'rejected']) {
      const before = app.seen.length
      const call = await emu.control('calls', { caller: B, secretNo: X, outcome })
      await waitFor(() => app.seen.some((s) => s.type === 'SecretReport' && s.receipt.call_id === call.callId), outcome)
      lives[outcome] = app.seen.slice(before)
    }
    assert.deepEqual(lives.noAnswer.map((s) => s.type), ['SecretStartReport', 'SecretRingReport', 'SecretReport'])
    assert.deepEqual(lives.busy.map((s) => s.type), ['SecretStartReport', 'SecretReport'], 'busy: it never rang')
    assert.deepEqual(lives.rejected.map((s) => s.type), ['SecretStartReport', 'SecretRingReport', 'SecretReport'])
    const report = (life) => life.find((s) => s.type === 'SecretReport').receipt
    const noAnswer = report(lives.noAnswer)
    // B called: phone_no stays A, peer_no is B, call_type 1.
    assert.deepEqual([noAnswer.phone_no, noAnswer.peer_no, noAnswer.call_type], [A, B, 1])
    assert.deepEqual([noAnswer.release_cause, noAnswer.release_dir, noAnswer.unconnected_cause], [19, 0, 4])
    assert.equal(noAnswer.start_time, noAnswer.release_time, 'never answered: start is release')
    const busy = report(lives.busy)
    assert.equal(busy.release_cause, 17)
    assert.equal(busy.ring_time, busy.call_out_time, 'never rang')
    assert.equal(busy.free_ring_time, busy.call_out_time)
    assert.deepEqual([report(lives.rejected).release_cause, report(lives.rejected).release_dir], [21, 2])

    // A blacklist refuses the call before it is put through.
    await client(emu).addSecretBlacklist({ PoolKey: POOL, BlackType: 'PARTNER_GLOBAL_NUMBER_BLACK', BlackNo: A })
    let from = app.seen.length
    const refused = await emu.control('calls', { caller: A, secretNo: X })
    await waitFor(() => app.seen.length >= from + 2, 'the blacklisted call')
    const blacklisted = app.seen.slice(from)
    assert.deepEqual(blacklisted.map((s) => s.type), ['SecretStartReport', 'SecretReport'])
    for (const { receipt } of blacklisted) {
      assert.equal(receipt.call_id, refused.callId)
      assert.equal(receipt.call_type, 4)
      assert.equal(receipt.unconnected_cause, 1)
      assert.equal(receipt.control_type, 'REJECT')
      assert.equal(receipt.control_msg, `PARTNER_GLOBAL_NUMBER_BLACK ${A}`)
    }
    assert.equal(blacklisted[1].receipt.release_cause, 21)
    assert.equal(blacklisted[1].receipt.call_out_time, blacklisted[1].receipt.call_time, 'never dialled')

    // Nobody bound on this X for this caller.
    from = app.seen.length
    await emu.control('calls', { caller: '13900000009', secretNo: X })
    await waitFor(() => app.seen.length >= from + 2, 'the unbound call')
    const [start, end] = app.seen.slice(from).map((s) => s.receipt)
    assert.equal(start.control_msg, 'NO_SUBS_EXIST')
    assert.deepEqual([end.call_type, end.unconnected_cause, end.release_cause, end.peer_no], [4, 2, 31, ''])
    assert.equal(end.pool_key, POOL, "X's own pool")
  } finally {
    await app.close()
  }
})

test('an SMS through X and numbers bought and released are pushed', async () => {
  const app = await receiver()
  try {
    await pushEverythingTo(app.url)
    const { SecretNo: X, SubsId } = await bind(emu)
    await emu.control('sms', { sender: A, secretNo: X, content: '你好, driver' })
    await emu.control('sms', { sender: '13900000009', secretNo: X, content: 'spam' })
    await waitFor(() => app.seen.length >= 2, 'two SMS receipts')
    const [sent, intercepted] = app.seen.map((s) => s.receipt)
    assert.deepEqual(app.types(), ['SecretSmsIntercept', 'SecretSmsIntercept'])
    assert.deepEqual([sent.send_no, sent.receive_no, sent.sms_content, String(sent.sub_id)], [A, B, '你好, driver', SubsId])
    assert.deepEqual([sent.sms_intercept_type, sent.code, sent.status], ['NORMAL', 'DELIVRD', 1])
    assert.deepEqual([intercepted.sms_intercept_type, intercepted.code, intercepted.receive_no], ['SUBS_NOT_EXISTS', 'UNDELIV', ''])

    const c = client(emu)
    const bought = (await c.buySecretNo({ PoolKey: POOL, SpecId: 1, City: '杭州' })).SecretBuyInfoDTO.SecretNo
    await c.releaseSecretNo({ PoolKey: POOL, SecretNo: bought })
    await waitFor(() => app.seen.length >= 4, 'two number reports')
    const numbers = app.seen.slice(2)
    assert.deepEqual(numbers.map((s) => [s.type, s.receipt.secretNo, s.receipt.status]), [
      ['NumberManagementReport', bought, 1],
      ['NumberManagementReport', bought, 2],
    ])
    assert.deepEqual([numbers[0].receipt.city, numbers[0].receipt.partnerKey, numbers[0].receipt.vendor], ['杭州', POOL, 2])
  } finally {
    await app.close()
  }
})

test('a receiver that fails twice gets the batch again at +1 and then +5 minutes of the business clock', async () => {
  let failures = 2
  const app = await receiver(() => {
    if (failures-- > 0) throw new Error('database down')
  }, { type: 'SecretReport' })
  try {
    await emu.control('reset', {})
    await emu.control('push', { type: 'SecretReport', url: app.url })
    const { SecretNo: X } = await bind(emu)
    const call = await emu.control('calls', { caller: A, secretNo: X })
    await waitFor(async () => (await pushLog(emu)).length >= 1, 'the first attempt')
    let log = await pushLog(emu)
    assert.deepEqual([log[0].outcome, log[0].status], ['failed', 500])
    assert.equal(beijing(log[0].nextAttemptAt) - beijing(log[0].time), 60_000, 'a minute later')
    // Real time alone brings nothing for a while: the retry is a minute away.
    await sleep(500)
    assert.equal(app.seen.length, 1)
    await emu.control('clock', { advanceSeconds: 60 })
    await waitFor(async () => (await pushLog(emu)).length >= 2, 'the retry at +1 min')
    log = await pushLog(emu)
    assert.deepEqual([log[1].attempt, log[1].outcome], [2, 'failed'])
    assert.equal(beijing(log[1].nextAttemptAt) - beijing(log[1].time), 300_000, 'five minutes after the second')
    await emu.control('clock', { advanceSeconds: 300 })
    await waitFor(async () => (await pushLog(emu)).length >= 3, 'the retry 5 min later')
    log = await pushLog(emu)
    assert.deepEqual([log[2].attempt, log[2].outcome, log[2].code], [3, 'delivered', 0])
    assert.equal(app.seen.length, 3, 'the handler saw it each time it was pushed')
    assert.ok(app.seen.every((s) => s.receipt.call_id === call.callId))
    assert.deepEqual(app.listener.stats, { batches: 3, receipts: 3, handled: 1, duplicates: 0, failed: 2, refused: 0, timedOut: 0 })
    assert.deepEqual((await emu.control('push')).pending, [], 'nothing left to retry')
  } finally {
    await app.close()
  }
})

test('a batch pushed twice (the pushTwice fault) reaches the handler once', async () => {
  const app = await receiver()
  try {
    await pushEverythingTo(app.url)
    const { SecretNo: X } = await bind(emu)
    await emu.control('faults', { kind: 'pushTwice', action: 'SecretReport' })
    const call = await emu.control('calls', { caller: A, secretNo: X })
    await waitFor(async () => (await pushLog(emu)).filter((e) => e.type === 'SecretReport').length >= 2, 'both pushes')
    const reports = (await pushLog(emu)).filter((e) => e.type === 'SecretReport')
    assert.deepEqual(reports.map((e) => [e.duplicate, e.outcome, e.code]), [[false, 'delivered', 0], [true, 'delivered', 0]])
    assert.deepEqual(reports[0].body, reports[1].body)
    assert.equal(app.seen.filter((s) => s.type === 'SecretReport').length, 1, 'once to the handler')
    assert.equal(app.listener.stats.duplicates, 1)
    assert.equal(app.seen.find((s) => s.type === 'SecretReport').key, `SecretReport:${call.callId}`)
  } finally {
    await app.close()
  }
})

test('a handler slower than the limit gets 503; its late success makes the retry a duplicate', async () => {
  let release
  const gate = new Promise((resolve) => (release = resolve))
  const errors = []
  const app = await receiver(() => gate, { type: 'SecretReport', timeoutMs: 200, onError: (e) => errors.push(e) })
  try {
    await emu.control('reset', {})
    await emu.control('push', { type: 'SecretReport', url: app.url })
    const { SecretNo: X } = await bind(emu)
    await emu.control('calls', { caller: A, secretNo: X })
    await waitFor(async () => (await pushLog(emu)).length >= 1, 'the first attempt')
    const [first] = await pushLog(emu)
    assert.deepEqual([first.status, first.outcome], [503, 'failed'])
    assert.equal(errors[0].code, 'SDK.Timeout')
    release()
    await waitFor(() => app.listener.stats.handled === 1, 'the late handler')
    await emu.control('clock', { advanceSeconds: 60 })
    await waitFor(async () => (await pushLog(emu)).length >= 2, 'the retry')
    const [, retry] = await pushLog(emu)
    assert.deepEqual([retry.outcome, retry.code], ['delivered', 0])
    assert.equal(app.seen.length, 1, 'the retry was acknowledged without calling the handler')
    assert.equal(app.listener.stats.duplicates, 1)
  } finally {
    release()
    await app.close()
  }
})

test('bad JSON, oversize bodies, wrong methods and non-receipts are refused and reach no handler', async () => {
  const app = await receiver(() => {}, { maxBodyBytes: 1024 })
  try {
    const send = async (init) => {
      const res = await fetch(app.url, init)
      return { status: res.status, body: await res.json(), allow: res.headers.get('allow') }
    }
    const post = (body) => send({ method: 'POST', headers: { 'content-type': 'application/json' }, body })
    for (const [body, says] of [
      ['{"call_id":', 'not JSON'],
      ['', 'empty'],
      ['{"call_id":"1"}', 'JSON array'],
      ['[{"call_id":"1"}, 7]', 'receipt 1 is not a JSON object'],
      ['[null]', 'receipt 0'],
    ]) {
      const r = await post(body)
      assert.equal(r.status, 400, body)
      assert.match(r.body.msg, new RegExp(says), body)
    }
    const big = JSON.stringify([{ call_id: '1', sms_content: 'x'.repeat(2000) }])
    const r413 = await post(big)
    assert.equal(r413.status, 413)
    assert.match(r413.body.msg, /larger than 1024 bytes/)
    const r405 = await send({ method: 'GET' })
    assert.deepEqual([r405.status, r405.allow], [405, 'POST'])
    assert.equal((await send({ method: 'PUT', body: '[]' })).status, 405)
    assert.equal(app.seen.length, 0, 'nothing reached the handler')
    assert.equal(app.listener.stats.refused, 8)
    // A chunked body over the limit (no content-length) is cut off too.
    const chunked = await new Promise((resolve, reject) => {
      const req = http.request(app.url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume()
        resolve(res.statusCode)
      })
      req.on('error', reject)
      req.write('[' + '{"a":1},'.repeat(200))
      req.end('{"a":1}]')
    })
    assert.equal(chunked, 413)
    // An empty batch is fine.
    const empty = await post('[]')
    assert.deepEqual([empty.status, empty.body], [200, { code: 0, msg: '成功' }])
  } finally {
    await app.close()
  }
})

test('the listener works behind body parsers (Express req.body, Fastify request/reply) and keeps big integers', async () => {
  const seen = []
  const listener = receiptListener((receipt, type) => seen.push([type, receipt]))
  const report = { call_id: 'big-1', phone_no: A, secret_no: '17000000000', peer_no: B, release_time: '2018-08-01 00:00:10', sub_id: 12345678901234567890 }
  const text = JSON.stringify([report]).replace('12345678901234567000', '12345678901234567890')
  // Express: express.json() has read the stream and left req.body.
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString()
      if (req.url === '/express') {
        req.body = JSON.parse(raw)
        listener(req, res, () => assert.fail('next is never called'))
      } else if (req.url === '/raw') {
        req.body = Buffer.from(raw)
        listener(req, res)
      } else if (req.url === '/lost') {
        // A middleware read the stream and kept nothing: refused at once, not waited for.
        listener(req, res)
      } else {
        // Fastify: (request, reply), the Node objects as .raw.
        let hijacked = false
        listener({ raw: req, body: JSON.parse(raw) }, { raw: res, hijack: () => (hijacked = true) }).then(() => {
          assert.ok(hijacked, 'the reply was hijacked')
        })
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    for (const route of ['/express', '/raw', '/fastify']) {
      const res = await fetch(`${base}${route}`, { method: 'POST', body: text.replace('big-1', `big${route}`) })
      assert.deepEqual([res.status, await res.json()], [200, { code: 0, msg: '成功' }], route)
    }
    assert.deepEqual(seen.map(([type, r]) => [type, r.call_id]), [
      ['SecretReport', 'big/express'],
      ['SecretReport', 'big/raw'],
      ['SecretReport', 'big/fastify'],
    ])
    assert.equal(seen[1][1].sub_id, '12345678901234567890', 'an integer beyond 2^53 keeps every digit')
    const lost = await fetch(`${base}/lost`, { method: 'POST', body: text })
    assert.equal(lost.status, 400)
    assert.match((await lost.json()).msg, /earlier middleware/)
    assert.equal(seen.length, 3)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

test('MNS: answered, unanswered and blacklisted calls, an SMS and numbers, by every type name on its own queue', async () => {
  const mnsEmu = await startEmulator({ clock: CLOCK })
  try {
    const c = client(mnsEmu)
    const acct = (await mnsEmu.control('state')).account
    const queue = (type) => `Alicom-Queue-${acct}-${type}`
    const { SecretNo: X } = await bind(mnsEmu, { IsRecordingEnabled: true, ASRStatus: true })
    const call = await mnsEmu.control('calls', { caller: A, secretNo: X, asrDelaySeconds: 0 })
    // The transcript comes once the call is over (35 s on the business clock).
    await mnsEmu.control('clock', { advanceSeconds: 60 })
    await mnsEmu.control('sms', { sender: B, secretNo: X, content: 'hi' })
    const bought = (await c.buySecretNo({ PoolKey: POOL, SpecId: 1, City: '北京' })).SecretBuyInfoDTO.SecretNo
    const queued = new Set(['SecretStartReport', 'SecretRingReport', 'SecretPickUpReport', 'SecretReport', 'SecretRecording', 'SecretAsrReport', 'SecretSmsIntercept', 'NumberManagementReport'])
    await waitFor(async () => (await mnsEmu.control('state')).queues.find((q) => q.name === queue('SecretAsrReport')).messages === 1, 'the ASR report on its queue')
    for (const type of RECEIPT_TYPES) {
      if (!queued.has(type)) {
        const { error } = await settle(c.receiveMsg(type, queue(type), 0))
        assert.equal(error && error.name, 'MNSMessageNotExistError', type)
        continue
      }
      const res = await c.receiveMsg(type, queue(type), 1, true)
      assert.equal(res.code, 200, type)
      const message = PLSClient.decodeMessage(res.body)
      assert.equal(classifyReceipt(message), type, `${type}: ${JSON.stringify(message)}`)
      if (type === 'NumberManagementReport') assert.equal(message.secretNo, bought)
      else if (type === 'SecretAsrReport') assert.equal(message.callId, call.callId)
      else if (type !== 'SecretSmsIntercept') assert.equal(message.call_id, call.callId, type)
    }
    /** The next message of a type's queue, decoded and deleted. */
    const next = async (type) => PLSClient.decodeMessage((await c.receiveMsg(type, queue(type), 1, true)).body)
    // An unanswered call: started, rang, ended; no pick-up. The queue form
    // of SecretReport has sms_number.
    const unanswered = await mnsEmu.control('calls', { caller: B, secretNo: X, outcome: 'noAnswer' })
    assert.equal((await next('SecretStartReport')).call_id, unanswered.callId)
    assert.equal((await next('SecretRingReport')).call_id, unanswered.callId)
    const report = await next('SecretReport')
    assert.deepEqual([report.call_id, report.release_cause, report.unconnected_cause, report.call_type, report.sms_number], [unanswered.callId, 19, 4, 1, 0])
    assert.equal(report.start_time, report.release_time)
    assert.equal((await settle(c.receiveMsg('SecretPickUpReport', queue('SecretPickUpReport'), 0))).error.name, 'MNSMessageNotExistError')
    // A blacklisted call: started and ended, intercepted.
    await c.addSecretBlacklist({ PoolKey: POOL, BlackType: 'POINT_TO_POINT_BLACK', BlackNo: `${A}:${B}` })
    const refused = await mnsEmu.control('calls', { caller: A, secretNo: X })
    const refusedStart = await next('SecretStartReport')
    const refusedEnd = await next('SecretReport')
    for (const r of [refusedStart, refusedEnd]) {
      assert.deepEqual([r.call_id, r.call_type, r.unconnected_cause, r.control_type], [refused.callId, 4, 1, 'REJECT'])
    }
    assert.equal((await settle(c.receiveMsg('SecretRingReport', queue('SecretRingReport'), 0))).error.name, 'MNSMessageNotExistError')
    await c.deleteSecretBlacklist({ PoolKey: POOL, BlackType: 'POINT_TO_POINT_BLACK', BlackNo: `${A}:${B}` })
    // A type's token grants its own queue only.
    const { error: wrong } = await settle(c.receiveMsg('SecretRingReport', queue('SecretReport'), 0))
    assert.equal(wrong && wrong.name, 'MNSQueueNotExistError')
    // A name that is no type is refused before any request, with the valid names.
    for (const bad of ['secretreport', 'SmsReport', '']) {
      const { error } = await settle(c.receiveMsg(bad, queue('SecretReport'), 0))
      assert.equal(error && error.code, 'SDK.InvalidArgument', bad)
      assert.match(error.message, /NumberManagementReport/)
    }

    // consume by name: the start reports of two calls, in order, deleted
    // once handled.
    await mnsEmu.control('calls', { caller: A, secretNo: X })
    await mnsEmu.control('calls', { caller: B, secretNo: X })
    const got = []
    const ac = new AbortController()
    const done = c.consume('SecretStartReport', queue('SecretStartReport'), (message) => got.push(message), { waitSeconds: 1, signal: ac.signal })
    await waitFor(() => got.length >= 2, 'two start reports')
    ac.abort()
    const stats = await within(10_000, done, 'consume after abort')
    assert.deepEqual(stats, { received: 2, handled: 2, failed: 0 })
    assert.deepEqual(got.map((m) => classifyReceipt(m)), ['SecretStartReport', 'SecretStartReport'])
    assert.deepEqual(got.map((m) => m.call_type), [0, 1])
    assert.equal((await mnsEmu.control('state')).queues.find((q) => q.name === queue('SecretStartReport')).messages, 0)
    const rejected = await settle(c.consume('Nope', queue('SecretReport'), () => {}))
    assert.equal(rejected.error && rejected.error.code, 'SDK.InvalidArgument')
  } finally {
    await mnsEmu.stop()
  }
})

// Receipts as Aliyun's documentation shows them (samples of each type's page).
const SAMPLES = {
  SecretStartReport: { phone_no: '138****0000', pool_key: '12345678', city: '重庆', sub_id: 1000023900381234, out_id: '123456', unconnected_cause: 0, call_time: '2021-08-10 15:35:36', peer_no: '138****0000', called_display_no: '158****0000', call_id: '4461122c480****', partner_key: 'FC1390000****', id: '101407590****', secret_no: '138****0000', call_type: 0, control_type: 'CONTINUE' },
  SecretStartReportMns: { pool_key: 'FC1', sub_id: 1, call_id: 'abcdef1234', phone_no: '150****0000', secret_no: '170****0000', peer_no: '158****0000', called_display_no: '158****0000', call_type: 0, call_time: '2017-09-01 12:00:00', out_id: '123456', control_msg: 'NO_SUBS_EXIST' },
  SecretRingReport: { phone_no: '1314456****', secret_no: '1304984****', peer_no: '1304984****', call_type: '1', call_id: '4461122c480****', call_time: '2021-12-10 10:00:00', pool_key: 'FC2256****', ring_time: '2021-12-10 10:00:03', sub_id: '100004306803****', city: '西安', out_id: '8136812621****' },
  SecretPickUpReport: { phone_no: '1314456****', secret_no: '1304984****', peer_no: '1304984****', call_type: '1', call_id: '4461122c480****', call_time: '2021-12-10 10:00:00', pool_key: 'FC2256****', ring_time: '2021-12-10 10:00:03', start_time: '2021-12-10 10:06:00', sub_id: '100004306803****', city: '西安', out_id: '8136812621****' },
  SecretReport: { phone_no: '171****3225', city: '北京', call_out_time: '2021-08-25 20:11:30', ring_time: '2021-08-25 20:11:35', record_url: 'https://x', ring_record_url: 'https://y', free_ring_time: '2021-08-25 20:11:35', control_msg: 'OK', id: 1014568511234, secret_no: '186****7614', call_type: 1, control_type: 'CONTINUE', release_time: '2021-08-25 20:11:41', pool_key: 'FC1', sub_id: 1000043068031234, unconnected_cause: 0, call_time: '2021-08-25 20:11:29', peer_no: '152****1504', called_display_no: '158****0000', release_dir: 1, call_id: '43612633712c****', start_time: '2021-08-25 20:11:38', partner_key: 'FC1', out_id: '7368136812621****', release_cause: 31 },
  SecretRecording: { pool_key: 'FC10000009708****', call_time: 1629893489000, sub_id: 1000043068031234, out_id: '12**84', call_id: '43612633712c****' },
  SecretRecordingSubsId: { pool_key: 'FC1', call_time: 1629893489000, subs_id: 1000043068031234, out_id: '7368136812621sasa', call_id: '43612633712c****' },
  SecretAsrReport: { callId: '44611dd0c30****', bizDuration: 9140, secretNo: '170****0000', partnerKey: 'FC1', sentences: [{ beginTime: 640, channelId: 1, emotionValue: '5.5', endTime: 1850, silenceDuration: '0', speechRate: '148', text: '喂,你好。' }], statusCode: '21050000' },
  SecretSmsIntercept: { id: 1000032611234, partner_key: 'FC1', pool_key: 'FC1', out_id: '434553330****', sub_id: 1000043215311234, sms_type: 1, send_no: '150***0000', secret_no: '186****7401', receive_no: '180***0000', sms_content: '您好', sms_sign: '号码隐私保护', status: '1', sms_intercept_type: 'NORMAL', call_id: '17679476806051163003****', code: 'DELIVRD', start_time: '2021-08-27 11:42:07' },
  SecretExceptionPhoneReport: { secretNo: '1304984****', partnerKey: 'FC1381111****', noStatus: 0, timestamp: 1635836099080 },
  NumberManagementReport: { secretNo: '1381111****', city: '杭州', partnerKey: 'FC1390000****', operatingTime: '2019-01-01 00:00:00', status: 1, vendor: 1 },
  NumberManagementReportSnake: { secret_no: '1575129****', city: '杭州', partner_key: 'FC10000011080****', operating_time: '2019-01-01 00:00:00', status: 1 },
}

test('the classifier tells every type by its fields, and keys come from natural ids', () => {
  const classified = new Set()
  for (const [name, receipt] of Object.entries(SAMPLES)) {
    // A sample's name is its type, or its type and which variant it is.
    const type = name.replace(/(Mns|SubsId|Snake)$/, '')
    assert.equal(classifyReceipt(receipt), type, name)
    classified.add(type)
  }
  assert.deepEqual([...RECEIPT_TYPES].filter((t) => !classified.has(t)), ['SmartLogisticsReport'], 'a sample of every type whose fields are published')
  for (const unknown of [{}, { foo: 1 }, { call_id: 'x' }, [], null, 'SecretReport', 7]) {
    assert.equal(classifyReceipt(unknown), undefined, JSON.stringify(unknown))
  }
  assert.equal(receiptKey(SAMPLES.SecretReport, 'SecretReport'), 'SecretReport:43612633712c****')
  assert.equal(receiptKey(SAMPLES.SecretStartReport, 'SecretStartReport'), 'SecretStartReport:4461122c480****', 'the same call, another type')
  assert.equal(receiptKey(SAMPLES.SecretAsrReport, 'SecretAsrReport'), 'SecretAsrReport:44611dd0c30****')
  assert.equal(receiptKey(SAMPLES.SecretSmsIntercept, 'SecretSmsIntercept'), 'SecretSmsIntercept:1000032611234')
  assert.equal(receiptKey(SAMPLES.NumberManagementReport, 'NumberManagementReport'), 'NumberManagementReport:1381111****|1|2019-01-01 00:00:00')
  assert.equal(receiptKey(SAMPLES.NumberManagementReportSnake, 'NumberManagementReport'), 'NumberManagementReport:1575129****|1|2019-01-01 00:00:00')
  // No natural ids: a hash of the content, the same for the same content in any key order.
  const a = receiptKey({ b: 1, a: [1, { y: 2, x: 1 }] }, undefined)
  assert.match(a, /^Unknown#[0-9a-f]{40}$/)
  assert.equal(receiptKey({ a: [1, { x: 1, y: 2 }], b: 1 }, undefined), a)
  assert.notEqual(receiptKey({ a: 2 }, undefined), a)
})

test('stores: a failed handler leaves its key unseen; shared claim stores are claimed, released and extended', async () => {
  // A Redis-like store: setIfAbsent (NX) with a TTL, set, delete.
  const calls = []
  const kept = new Map()
  const redis = {
    async setIfAbsent(key, ttl) {
      calls.push(['setIfAbsent', key, ttl])
      if (kept.has(key)) return false
      kept.set(key, ttl)
      return true
    },
    async set(key, ttl) {
      calls.push(['set', key, ttl])
      kept.set(key, ttl)
    },
    async delete(key) {
      calls.push(['delete', key])
      kept.delete(key)
    },
  }
  let fail = true
  const app = await receiver(() => {
    if (fail) throw new Error('not yet')
  }, { store: redis, ttlMs: 3_600_000, leaseMs: 10_000 })
  try {
    const post = async (receipts) => (await fetch(app.url, { method: 'POST', body: JSON.stringify(receipts) })).status
    const report = SAMPLES.SecretReport
    assert.equal(await post([report]), 500)
    assert.deepEqual(calls, [['setIfAbsent', 'SecretReport:43612633712c****', 10_000], ['delete', 'SecretReport:43612633712c****']])
    fail = false
    assert.equal(await post([report]), 200)
    assert.deepEqual(calls.slice(2), [['setIfAbsent', 'SecretReport:43612633712c****', 10_000], ['set', 'SecretReport:43612633712c****', 3_600_000]])
    assert.equal(await post([report, report]), 200, 'duplicates still get code 0')
    assert.equal(app.seen.length, 2, 'handled once after the failure, then never again')
    assert.equal(app.listener.stats.duplicates, 2)
  } finally {
    await app.close()
  }

  // A check-then-add store (e.g. a table), and the in-memory default's bounds.
  const memory = new MemoryReceiptStore({ maxKeys: 3 })
  const checked = await receiver(() => {}, { store: memory, ttlMs: 50 })
  try {
    const post = async (receipts) => (await fetch(checked.url, { method: 'POST', body: JSON.stringify(receipts) })).status
    const recordings = [1, 2, 3, 4].map((n) => ({ ...SAMPLES.SecretRecording, call_id: `c${n}` }))
    assert.equal(await post(recordings), 200)
    assert.equal(memory.size, 3, 'the oldest key is forgotten beyond maxKeys')
    assert.equal(memory.has('SecretRecording:c1'), false)
    assert.equal(memory.has('SecretRecording:c4'), true)
    await sleep(80)
    assert.equal(memory.has('SecretRecording:c4'), false, 'expired after its TTL')
    assert.equal(await post([recordings[3]]), 200)
    assert.equal(checked.seen.length, 5, 'handled again once its key expired')
  } finally {
    await checked.close()
  }
  assert.throws(() => receiptListener(() => {}, { store: {} }), /has\(key\) and add/)
  assert.throws(() => receiptListener(() => {}, { type: 'SmsReport' }), /options.type/)
  assert.throws(() => receiptListener(() => {}, { timeoutMs: -1 }), /timeoutMs/)
  assert.throws(() => receiptListener('nope'), TypeError)
})

test('handlers run one at a time in batch order by default, and side by side with concurrency', async () => {
  const order = []
  const slowFirst = (receipt) => new Promise((resolve) => setTimeout(() => {
    order.push(receipt.call_id)
    resolve()
  }, receipt.call_id === 'c1' ? 60 : 0))
  const batch = JSON.stringify(['c1', 'c2', 'c3'].map((call_id) => ({ ...SAMPLES.SecretRecording, call_id })))
  for (const [concurrency, expected] of [[undefined, ['c1', 'c2', 'c3']], [3, ['c2', 'c3', 'c1']]]) {
    order.length = 0
    const app = await receiver(slowFirst, { concurrency })
    try {
      const res = await fetch(app.url, { method: 'POST', body: batch })
      assert.equal(res.status, 200)
      assert.deepEqual(order, expected, `concurrency ${concurrency}`)
    } finally {
      await app.close()
    }
  }
})

test('the receipt typings compile and narrow a receipt by its type', (t) => {
  const index = JSON.stringify(path.join(root, 'index.js'))
  const result = typecheck(t, [
    `import PLSClient = require(${index})`,
    `import { receiptListener } from ${index}`,
    `const listener = PLSClient.receiptListener(async (receipt, type, context) => {`,
    `  if (type === 'SecretReport') { const cause: number = receipt.release_cause; void cause }`,
    `  else if (type === 'SecretAsrReport') { const text: string = receipt.sentences[0].text; void text }`,
    `  else if (type === 'NumberManagementReport') { const s: number = receipt.status; void s }`,
    `  void context.signal`,
    `}, { timeoutMs: 500, store: new PLSClient.MemoryReceiptStore({ maxKeys: 10 }) })`,
    `const handled: number = listener.stats.handled`,
    `void handled`,
    `void receiptListener(() => undefined, { type: 'SecretRecording' })`,
    `const c = new PLSClient({ accessKeyId: 'a', secretAccessKey: 'b' })`,
    `async function f(): Promise<void> {`,
    `  await c.receiveMsg('SecretStartReport', 'q', 1)`,
    `  await c.consume('SecretRecording', 'q', (m) => { const t: number | string = m.call_time; void t })`,
    `  // @ts-expect-error not a receipt type`,
    `  await c.receiveMsg('SmsReport', 'q')`,
    `}`,
    `void f`,
    `// @ts-expect-error a recording has no release_cause`,
    `PLSClient.receiptListener((receipt, type) => { if (type === 'SecretRecording') void receipt.release_cause })`,
  ], root)
  if (result) assert.equal(result.status, 0, result.output)
})

test('examples: the receipts server gets the receipts of the call examples/lifecycle.js places', async () => {
  const examples = path.join(root, 'examples')
  // As examples/run-demo.js: examples/package.json maps @alicloud/pls-sdk to this package.
  linkExamples()
  const demo = await startEmulator({ clock: CLOCK })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-receipts-example-'))
  const env = { ...process.env, PLS_ENDPOINT: demo.url, RECEIPTS_JOURNAL: path.join(dir, 'journal.jsonl') }
  const server = spawn(process.execPath, [path.join(examples, 'receipts-server.js')], { cwd: examples, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  server.stdout.setEncoding('utf8').on('data', (d) => (out += d))
  server.stderr.setEncoding('utf8').on('data', (d) => (out += d))
  const exited = once(server, 'exit')
  try {
    await waitFor(() => out.includes('now pushes every receipt type here'), `the receipts server: ${out}`)
    assert.equal((await demo.control('push')).push.SecretReport, out.match(/listening on (\S+)/)[1])
    const lifecycle = spawnSync(process.execPath, [path.join(examples, 'lifecycle.js')], { cwd: examples, env, encoding: 'utf8', timeout: 30_000 })
    assert.equal(lifecycle.status, 0, lifecycle.stdout + lifecycle.stderr)
    assert.match(lifecycle.stdout, /3\. the call's receipts were pushed to http:/)
    const callId = lifecycle.stdout.match(/\(call (\d+)\)/)[1]
    await waitFor(() => out.includes('SecretRecording:'), `the receipts: ${out}`)
    const lines = out.split('\n').filter((l) => l.includes(callId)).map((l) => l.split(':')[0])
    assert.deepEqual(lines, ['SecretStartReport', 'SecretRingReport', 'SecretPickUpReport', 'SecretReport', 'SecretRecording'])
    const journal = fs.readFileSync(env.RECEIPTS_JOURNAL, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    assert.deepEqual(journal.map((j) => j.type), lines, 'each receipt made durable before the answer')
    // Its clean stop is Ctrl+C or a signal, which a parent cannot send on Windows.
    if (process.platform !== 'win32') {
      server.kill('SIGTERM')
      const [code] = await within(10_000, exited, 'the receipts server to stop')
      assert.equal(code, 0, out)
      assert.deepEqual((await demo.control('push')).push, {}, 'the receipts went back to their queues')
    }
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
    fs.rmSync(dir, { recursive: true, force: true })
    await demo.stop()
  }
})

test('pls-emulator --push TYPE=URL pushes that type; a malformed or refused --push exits non-zero', async () => {
  const cli = startCli(['--clock', CLOCK, '--push', 'SecretReport=http://127.0.0.1:9/a', '--push', 'SecretRecording=http://127.0.0.1:9/b'])
  try {
    const url = await within(30_000, cli.url, 'the CLI URL')
    const listing = await (await fetch(`${url}/__emulator/push`)).json()
    assert.deepEqual(listing.push, { SecretRecording: 'http://127.0.0.1:9/b', SecretReport: 'http://127.0.0.1:9/a' })
    const { code, stderr } = await within(10_000, stopCli(cli), 'the CLI to stop')
    assert.equal(code, 0, stderr())
  } finally {
    killAll()
  }
  const malformed = spawnSync(process.execPath, [cliPath, '--push', 'SecretReport'], { encoding: 'utf8' })
  assert.equal(malformed.status, 2)
  assert.match(malformed.stderr, /--push takes TYPE=URL/)
  const refused = spawnSync(process.execPath, [cliPath, '--push', 'SecretExceptionPhoneReport=http://127.0.0.1:9/'], { encoding: 'utf8' })
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /MNS only/)
})
