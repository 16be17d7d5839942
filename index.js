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

/**
 * Consumes a queue until `signal` aborts: polls, decodes, awaits
 * `handler(message, body)`, and deletes the message only once the handler
 * resolves (at-least-once: a handler that throws leaves the message to come
 * back after its visibility timeout). Resolves with counts once every
 * in-flight handler has finished.
 */
PLSClient.prototype.consume = async function consume(type, queueName, handler, options = {}) {
  if (typeof handler !== 'function') {
    throw new TypeError('consume(type, queueName, handler, options): handler must be a function')
  }
  const { waitSeconds = 10, concurrency = 1, signal, onError, retryDelayMs = 1000 } = options
  const report = typeof onError === 'function' ? onError : () => {}
  const stats = { received: 0, handled: 0, failed: 0 }

  const worker = async () => {
    while (!(signal && signal.aborted)) {
      let reply
      try {
        reply = await this.receiveMsg(type, queueName, waitSeconds, false)
      } catch (err) {
        if (err && err.name === 'MNSMessageNotExistError') continue
        report(err)
        await sleep(retryDelayMs, signal)
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
require('./observe.js').instrument(PLSClient, native.clientHosts)

module.exports = PLSClient
