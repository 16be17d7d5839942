'use strict'
// module.exports IS the client class, so `require('pls-native')` is a drop-in
// for `require('@alicloud/pls-sdk')`; extras hang off it as properties.
const native = require('./native.js')

const PLSClient = native.PLSClient

/**
 * The JSON object inside a received message: pass the `body` that
 * `receiveMsg` resolved with, or its `MessageBody` string.
 */
PLSClient.decodeMessage = function decodeMessage(body) {
  const text = body && typeof body === 'object' ? body.MessageBody : body
  if (typeof text !== 'string') {
    throw new TypeError('decodeMessage needs a receiveMsg body or its MessageBody string')
  }
  return native.decodeMessageBody(text)
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      if (signal) signal.removeEventListener('abort', done)
      resolve()
    }
    if (signal) signal.addEventListener('abort', done, { once: true })
  })
}

/** A rejection like fetch's when its signal is already aborted. */
function abortError(signal) {
  const err = new Error('consume: the operation was aborted')
  err.name = 'AbortError'
  err.code = 'SDK.Aborted'
  if (signal.reason !== undefined) Object.defineProperty(err, 'cause', { value: signal.reason, writable: true, configurable: true })
  return err
}

/**
 * Consumes a queue until `signal` aborts: polls, decodes, awaits
 * `handler(message, body)`, and deletes the message only once the handler
 * resolves (at-least-once: a handler that throws leaves the message to come
 * back after its visibility timeout). Aborting cancels the poll in flight at
 * once; consume resolves with counts once every in-flight handler has
 * finished. Arguments that could never work reject at once; failed receives
 * are retried after a wait that grows (full jitter, capped) while they last.
 */
PLSClient.prototype.consume = async function consume(type, queueName, handler, options = {}) {
  if (typeof handler !== 'function') {
    throw new TypeError('consume(type, queueName, handler, options): handler must be a function')
  }
  native.checkQueueArgs(type, queueName)
  const { waitSeconds = 10, concurrency = 1, signal, onError, retryDelayMs = 500, maxRetryDelayMs = 30_000 } = options || {}
  if (signal != null && (typeof signal !== 'object' || typeof signal.addEventListener !== 'function')) {
    throw new TypeError('consume: options.signal must be an AbortSignal')
  }
  if (signal && signal.aborted) throw abortError(signal)
  const report = typeof onError === 'function' ? onError : () => {}
  const stats = { received: 0, handled: 0, failed: 0 }
  const firstDelay = Math.max(1, Number(retryDelayMs) || 500)
  const delayCap = Math.max(firstDelay, Number(maxRetryDelayMs) || 30_000)
  const receiveOptions = signal ? { signal } : undefined

  const worker = async () => {
    let failures = 0
    while (!(signal && signal.aborted)) {
      let reply
      try {
        reply = await this.receiveMsg(type, queueName, waitSeconds, false, receiveOptions)
        failures = 0
      } catch (err) {
        if (err && err.name === 'AbortError' && signal && signal.aborted) break
        if (err && err.name === 'MNSMessageNotExistError') {
          failures = 0
          continue
        }
        report(err)
        // Full jitter: a random wait up to a ceiling that doubles per
        // consecutive failure, so many consumers do not retry in step.
        const ceiling = Math.min(delayCap, firstDelay * 2 ** Math.min(failures, 30))
        failures++
        await sleep(Math.random() * ceiling, signal)
        continue
      }
      if (!reply.body || !reply.body.ReceiptHandle) continue
      // A message received is handled even if the signal fired meanwhile:
      // leaving it would only delay it by a visibility timeout.
      stats.received++
      try {
        await handler(PLSClient.decodeMessage(reply.body), reply.body)
      } catch (err) {
        stats.failed++
        report(err, reply.body)
        continue
      }
      try {
        await this.deleteMsg(type, queueName, reply.body.ReceiptHandle)
        stats.handled++
      } catch (err) {
        // Handled but not deleted (e.g. the visibility timeout ran out): it
        // will come again, which at-least-once allows.
        stats.failed++
        report(err, reply.body)
      }
    }
  }

  const workers = Math.max(1, Math.floor(Number(concurrency)) || 1)
  await Promise.all(Array.from({ length: workers }, worker))
  return stats
}

// DEBUG=pls-native logging and the pls-native:request:* diagnostics
// channels, around every calling method (last, so it sees whole calls).
require('./observe.js').instrument(PLSClient, native.clientHosts, native.clientProxy)

module.exports = PLSClient

// Receipts pushed over HTTP (receipts.js): statics of the class, assigned
// through module.exports so ESM can also `import { receiptListener }`.
const receipts = require('./receipts.js')
module.exports.receiptListener = receipts.receiptListener
module.exports.classifyReceipt = receipts.classifyReceipt
module.exports.receiptKey = receipts.receiptKey
module.exports.MemoryReceiptStore = receipts.MemoryReceiptStore
module.exports.RECEIPT_TYPES = receipts.RECEIPT_TYPES
