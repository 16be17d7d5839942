'use strict'
// Receipts the service pushes over HTTP (HTTP batch push): a listener for
// node:http (and Express, Koa, Fastify) that reads the JSON array, tells
// each receipt's type, drops duplicates, awaits the handler for each, and
// answers {"code":0} only when every handler resolved, in time.
//
// The service's rules (Aliyun's documentation): a POST whose body is a JSON
// array of receipts; the answer must come within 700 ms with HTTP 200 and a
// numeric `code`; otherwise the batch is pushed again 1, 5 and 10 minutes
// later, then dropped; duplicates happen, so receivers must be idempotent.

/** Every receipt type (MessageType) of the product. */
const RECEIPT_TYPES = Object.freeze([
  'SecretStartReport',
  'SecretRingReport',
  'SecretPickUpReport',
  'SecretReport',
  'SecretRecording',
  'SecretAsrReport',
  'SecretSmsIntercept',
  'SecretExceptionPhoneReport',
  'SmartLogisticsReport',
  'NumberManagementReport',
])

const DEFAULT_TIMEOUT_MS = 600
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000
const DEFAULT_LEASE_MS = 30 * 1000
const DEFAULT_MAX_KEYS = 100000

const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key)

function isPlainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// Fields only one type has, or only some types; see classifyReceipt.
const END_OF_CALL_FIELDS = ['release_time', 'release_cause', 'release_dir', 'free_ring_time', 'call_out_time', 'record_url', 'ring_record_url', 'sms_number']
const SMS_FIELDS = ['sms_content', 'send_no', 'receive_no', 'sms_intercept_type', 'sms-intercept-type', 'sms_type']
const CALL_PARTY_FIELDS = ['phone_no', 'secret_no', 'peer_no']

/**
 * The type of a receipt, told by its fields (the service sends no type
 * with a receipt); undefined when no type's fields match.
 */
function classifyReceipt(receipt) {
  if (!isPlainObject(receipt)) return undefined
  const has = (key) => hasOwn(receipt, key)
  // The camelCase types first: their fields appear in no other type.
  if (has('sentences') || (has('callId') && (has('bizDuration') || has('statusCode')))) return 'SecretAsrReport'
  if (has('noStatus')) return 'SecretExceptionPhoneReport'
  if (has('operatingTime') || has('operating_time')) return 'NumberManagementReport'
  if (SMS_FIELDS.some(has)) return 'SecretSmsIntercept'
  if (END_OF_CALL_FIELDS.some(has)) return 'SecretReport'
  if (has('call_id')) {
    const party = CALL_PARTY_FIELDS.some(has)
    // A recording report names the call and nothing about its parties.
    if (!party && has('call_time') && (has('pool_key') || has('sub_id') || has('subs_id'))) return 'SecretRecording'
    if (has('start_time')) return 'SecretPickUpReport'
    if (has('ring_time') || has('ring_Time')) return 'SecretRingReport'
    if (party) return 'SecretStartReport'
  }
  return undefined
}

// The fields that identify one receipt of each type: what a retry or a
// duplicate push repeats, and what two different receipts never share.
const NATURAL_IDS = {
  SecretStartReport: [['call_id']],
  SecretRingReport: [['call_id']],
  SecretPickUpReport: [['call_id']],
  SecretReport: [['call_id']],
  SecretRecording: [['call_id']],
  SecretAsrReport: [['callId']],
  SecretSmsIntercept: [['id', 'call_id']],
  NumberManagementReport: [['secretNo', 'secret_no'], ['status'], ['operatingTime', 'operating_time']],
  SecretExceptionPhoneReport: [['secretNo', 'secret_no'], ['noStatus'], ['timestamp']],
}

/** The receipt's JSON with its keys sorted, so equal receipts hash alike. */
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * The de-duplication key of a receipt: its type and natural ids (e.g.
 * `SecretReport:<call_id>`), or, when those are missing, its type and a
 * hash of its content.
 */
function receiptKey(receipt, type) {
  const name = type || 'Unknown'
  const fields = NATURAL_IDS[name]
  if (fields && isPlainObject(receipt)) {
    const parts = []
    for (const alternatives of fields) {
      const found = alternatives.find((k) => receipt[k] !== undefined && receipt[k] !== null && receipt[k] !== '')
      if (found === undefined) {
        parts.length = 0
        break
      }
      parts.push(String(receipt[found]))
    }
    if (parts.length) return `${name}:${parts.join('|')}`
  }
  // node:crypto on first use: loading it costs a few ms of every require().
  return `${name}#${require('node:crypto').createHash('sha1').update(canonicalJson(receipt)).digest('hex')}`
}

/**
 * The default de-duplication store: keys in memory for a TTL, the oldest
 * forgotten first beyond `maxKeys`, so memory stays bounded. One process
 * only; several processes need a shared store (see receiptListener).
 */
class MemoryReceiptStore {
  #keys = new Map()
  #maxKeys

  constructor({ maxKeys = DEFAULT_MAX_KEYS } = {}) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError('MemoryReceiptStore: maxKeys must be a positive integer')
    this.#maxKeys = maxKeys
  }

  /** How many keys are held (expired ones included until they are swept). */
  get size() {
    return this.#keys.size
  }

  has(key) {
    const expires = this.#keys.get(key)
    if (expires === undefined) return false
    if (expires > Date.now()) return true
    this.#keys.delete(key)
    return false
  }

  add(key, ttlMs) {
    this.#keys.delete(key)
    this.#keys.set(key, Date.now() + ttlMs)
    this.#sweep()
  }

  setIfAbsent(key, ttlMs) {
    if (this.has(key)) return false
    this.add(key, ttlMs)
    return true
  }

  delete(key) {
    return this.#keys.delete(key)
  }

  // Insertion order is expiry order for one TTL: expired keys are at the front.
  #sweep() {
    const now = Date.now()
    for (const [key, expires] of this.#keys) {
      if (expires > now && this.#keys.size <= this.#maxKeys) break
      this.#keys.delete(key)
    }
  }
}

/** How the listener talks to a store: check then add, or claim then release. */
function storeProtocol(store) {
  if (store && typeof store.has === 'function' && typeof store.add === 'function') return 'check'
  if (store && typeof store.setIfAbsent === 'function' && typeof store.delete === 'function') return 'claim'
  throw new TypeError('receiptListener: options.store needs has(key) and add(key, ttlMs), or setIfAbsent(key, ttlMs) and delete(key)')
}

/** An answer the listener gives without calling any handler. */
class Refusal extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

function readStream(req, limit, deadline) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    let done = false
    const timer = setTimeout(() => finish(new Refusal(408, `the body did not arrive within the time limit`)), Math.max(0, deadline - Date.now()))
    function finish(err, body) {
      if (done) return
      done = true
      clearTimeout(timer)
      req.removeListener('data', onData)
      req.removeListener('end', onEnd)
      req.removeListener('error', onError)
      req.removeListener('close', onClose)
      if (err) {
        // Stop reading what will not be used; the connection closes after the answer.
        req.pause()
        reject(err)
      } else resolve(body)
    }
    function onData(chunk) {
      size += chunk.length
      if (size > limit) return finish(new Refusal(413, `the body is larger than ${limit} bytes`))
      chunks.push(chunk)
    }
    const onEnd = () => finish(null, Buffer.concat(chunks, size))
    const onError = (err) => finish(new Refusal(400, `the body could not be read: ${err.message}`))
    const onClose = () => finish(new Refusal(400, 'the request was aborted before its body ended'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/**
 * JSON.parse, except that integers beyond 2^53 keep every digit (as
 * strings), as decodeMessage keeps them for receipts read from MNS.
 */
function parseJson(text) {
  const value = JSON.parse(text)
  if (/\d{16}/.test(text)) {
    try {
      return require('./native.js').decodeMessageBody(Buffer.from(text, 'utf8').toString('base64'))
    } catch {
      // JSON.parse took it (e.g. a lone surrogate escape): its reading stands.
    }
  }
  return value
}

/** The receipts of a request: its body, read or already parsed, checked. */
async function readReceipts(req, body, limit, deadline) {
  let value = body
  if (value === undefined || typeof value === 'string' || Buffer.isBuffer(value) || value instanceof Uint8Array) {
    let bytes
    if (value === undefined) {
      if (req.readableEnded) throw new Refusal(400, 'the body was read by an earlier middleware that did not keep it in req.body')
      const declared = Number(req.headers['content-length'])
      if (declared > limit) throw new Refusal(413, `the body is larger than ${limit} bytes`)
      bytes = await readStream(req, limit, deadline)
    } else {
      bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
      if (bytes.length > limit) throw new Refusal(413, `the body is larger than ${limit} bytes`)
    }
    let text = bytes.toString('utf8')
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    if (!text.trim()) throw new Refusal(400, 'the body is empty; a JSON array of receipts was expected')
    try {
      value = parseJson(text)
    } catch (err) {
      throw new Refusal(400, `the body is not JSON: ${err.message}`)
    }
  }
  if (!Array.isArray(value)) throw new Refusal(400, 'the body must be a JSON array of receipts')
  const bad = value.findIndex((item) => !isPlainObject(item))
  if (bad !== -1) throw new Refusal(400, `receipt ${bad} is not a JSON object`)
  return value
}

/** The Node request and response behind Express, Koa or Fastify arguments. */
function nodeObjects(req, res) {
  // Fastify: (request, reply), the Node objects as .raw; the reply must be
  // hijacked so Fastify does not answer too.
  if (req && req.raw && typeof req.raw.on === 'function' && res && res.raw && typeof res.raw.end === 'function') {
    if (typeof res.hijack === 'function') res.hijack()
    return { request: req.raw, response: res.raw, body: req.body }
  }
  return { request: req, response: res, body: req && req.body }
}

/** The body a body parser left, or undefined when the stream is still unread. */
function parsedBody(request, body) {
  // A parser that did not read the stream (another content type) may still
  // have set req.body = {}: the stream is the truth then.
  const consumed = request.readableEnded === true || request.complete === true && request.readable === false
  return consumed ? body : undefined
}

function answer(response, status, code, msg, headers = {}) {
  if (response.headersSent || response.writableEnded) return
  const body = JSON.stringify({ code, msg })
  response.statusCode = status
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value)
  response.setHeader('content-type', 'application/json;charset=utf-8')
  response.setHeader('content-length', Buffer.byteLength(body))
  response.end(body)
}

function positive(name, value, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`receiptListener: options.${name} must be a positive number, got ${String(value)}`)
  }
  return value
}

/**
 * A listener for receipts pushed over HTTP: `(req, res[, next])` for
 * node:http, Express, Koa (ctx.req, ctx.res) or Fastify (request, reply).
 * Resolves once it has answered. See receipts.d.ts for the options.
 */
function receiptListener(handler, options = {}) {
  if (typeof handler !== 'function') throw new TypeError('receiptListener(handler, options): handler must be a function')
  if (options === null || typeof options !== 'object') throw new TypeError('receiptListener: options must be an object')
  const type = options.type
  if (type !== undefined && !RECEIPT_TYPES.includes(type)) {
    throw new TypeError(`receiptListener: options.type must be one of ${RECEIPT_TYPES.join(', ')}, got ${String(type)}`)
  }
  const timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS)
  const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES)
  const ttlMs = positive('ttlMs', options.ttlMs, DEFAULT_TTL_MS)
  const leaseMs = positive('leaseMs', options.leaseMs, DEFAULT_LEASE_MS)
  const concurrency = Math.floor(positive('concurrency', options.concurrency, 1))
  const keyOf = options.key === undefined ? receiptKey : options.key
  if (typeof keyOf !== 'function') throw new TypeError('receiptListener: options.key must be a function')
  const onError = typeof options.onError === 'function' ? options.onError : () => {}
  const dedupe = options.dedupe !== false
  const store = dedupe ? (options.store === undefined ? new MemoryReceiptStore() : options.store) : null
  const protocol = dedupe ? storeProtocol(store) : null
  const report = (err, info) => {
    try {
      onError(err, info)
    } catch {
      // A failing error reporter must not turn into a second failure.
    }
  }
  // Keys being handled in this process: a duplicate arriving meanwhile
  // waits for the first one's outcome instead of running alongside it.
  const inflight = new Map()
  const stats = { batches: 0, receipts: 0, handled: 0, duplicates: 0, failed: 0, refused: 0, timedOut: 0 }

  async function claim(key) {
    if (protocol === 'check') return !(await store.has(key))
    // With set(), a short lease: a process that dies mid-handler frees the
    // key before the service's first retry; set() then keeps it for ttlMs.
    return Boolean(await store.setIfAbsent(key, typeof store.set === 'function' ? Math.min(leaseMs, ttlMs) : ttlMs))
  }
  async function commit(key) {
    if (protocol === 'check') await store.add(key, ttlMs)
    else if (typeof store.set === 'function') await store.set(key, ttlMs)
  }
  async function release(key) {
    if (protocol === 'claim') await store.delete(key)
  }

  /** Handles one receipt: 'handled' or 'duplicate'; throws what the handler threw. */
  async function handleOne(receipt, receiptType, context) {
    if (!dedupe) {
      await handler(receipt, receiptType, context)
      return 'handled'
    }
    const key = context.key
    while (inflight.has(key)) {
      if (await inflight.get(key)) return 'duplicate'
    }
    let settle
    inflight.set(key, new Promise((resolve) => (settle = resolve)))
    let succeeded = false
    try {
      if (!(await claim(key))) {
        succeeded = true
        return 'duplicate'
      }
      try {
        await handler(receipt, receiptType, context)
      } catch (err) {
        // Not seen: the service's retry must reach the handler again.
        await release(key).catch((storeErr) => report(storeErr, { receipt, type: receiptType, key }))
        throw err
      }
      succeeded = true
      await commit(key).catch((storeErr) => report(storeErr, { receipt, type: receiptType, key }))
      return 'handled'
    } finally {
      inflight.delete(key)
      settle(succeeded)
    }
  }

  async function listen(req, res) {
    const { request, response, body } = nodeObjects(req, res)
    const deadline = Date.now() + timeoutMs
    if (request.method !== 'POST') {
      stats.refused++
      return answer(response, 405, 405, 'receipts are pushed with POST', { allow: 'POST' })
    }
    let receipts
    try {
      receipts = await readReceipts(request, parsedBody(request, body), maxBodyBytes, deadline)
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      stats.refused++
      report(err, {})
      const close = err.status === 413 || err.status === 408 || !request.readableEnded
      return answer(response, err.status, err.status, err.message, close ? { connection: 'close' } : {})
    }
    stats.batches++
    stats.receipts += receipts.length
    const controller = new AbortController()
    const items = receipts.map((receipt, index) => {
      const receiptType = type || classifyReceipt(receipt)
      return { receipt, type: receiptType, key: keyOf(receipt, receiptType), index }
    })
    let failure = null
    let next = 0
    const work = async () => {
      while (!controller.signal.aborted && next < items.length) {
        const item = items[next++]
        const context = { key: item.key, signal: controller.signal, index: item.index, batch: receipts }
        try {
          const outcome = await handleOne(item.receipt, item.type, context)
          if (outcome === 'duplicate') stats.duplicates++
          else stats.handled++
        } catch (err) {
          stats.failed++
          report(err, { receipt: item.receipt, type: item.type, key: item.key })
          if (!failure) failure = { err }
          controller.abort(err)
        }
      }
    }
    const workers = Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, work))
    let timer
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()))))
    const outcome = await Promise.race([workers.then(() => 'done'), late])
    clearTimeout(timer)
    if (outcome === 'late') {
      stats.timedOut++
      const err = new Error(`receipt handlers did not finish within ${timeoutMs} ms`)
      err.code = 'SDK.Timeout'
      controller.abort(err)
      report(err, {})
      // Handlers still running go on; one that succeeds marks its receipt
      // as seen, so the service's retry is answered as a duplicate.
      return answer(response, 503, 503, 'receipts not handled in time; push again')
    }
    if (failure) return answer(response, 500, 500, 'a receipt handler failed; push again')
    return answer(response, 200, 0, '成功')
  }

  const listener = function receiptListenerMiddleware(req, res) {
    return listen(req, res).catch((err) => {
      // Nothing above should throw; if it does, the service must push again.
      report(err, {})
      const { response } = nodeObjects(req, res)
      answer(response, 500, 500, 'internal error; push again')
    })
  }
  Object.defineProperty(listener, 'stats', { value: stats, enumerable: true })
  return listener
}

module.exports = { receiptListener, classifyReceipt, receiptKey, MemoryReceiptStore, RECEIPT_TYPES }
