// A receipts server: the app's side of HTTP batch push, on plain node:http
// with an Express-style route. Started next to an emulator (PLS_ENDPOINT),
// it asks the emulator to push every receipt type to it; a call placed
// meanwhile (examples/lifecycle.js) arrives here as its receipts:
//
//   npm run emulator -- --port 8123 --clock "2018-08-01 00:00:00"
//   PLS_ENDPOINT=http://127.0.0.1:8123 node examples/receipts-server.js     # leave it running
//   PLS_ENDPOINT=http://127.0.0.1:8123 node examples/lifecycle.js           # in another shell
//
// Against the real service, give each receipt type this server's public URL
// in the console (HTTP批量推送) instead. PORT picks the port (default: any).
'use strict'
const http = require('node:http')
const fs = require('node:fs/promises')
const os = require('node:os')
const path = require('node:path')
const PLSClient = require('@alicloud/pls-sdk')

// The service waits 700 ms for the answer. So the handler only makes the
// receipt durable (here a local append-only file; in production a message
// queue or a table) and returns; the slow work runs after the answer. A
// handler that throws makes the service push the batch again later.
const journal = process.env.RECEIPTS_JOURNAL || path.join(os.tmpdir(), `pls-receipts-${process.pid}.jsonl`)

async function persist(receipt, type) {
  await fs.appendFile(journal, `${JSON.stringify({ type, receipt })}\n`)
}

/** One line that says what a receipt is about. */
function describe(type, r) {
  switch (type) {
    case 'SecretStartReport':
      return `call ${r.call_id} started: ${r.phone_no} / ${r.peer_no} through ${r.secret_no}`
    case 'SecretRingReport':
      return `call ${r.call_id} ringing at ${r.ring_time}`
    case 'SecretPickUpReport':
      return `call ${r.call_id} answered at ${r.start_time}`
    case 'SecretReport':
      return `call ${r.call_id} ended at ${r.release_time} (release_cause ${r.release_cause}, unconnected_cause ${r.unconnected_cause})`
    case 'SecretRecording':
      return `call ${r.call_id} recorded: fetch it with queryRecordFileDownloadUrl`
    case 'SecretAsrReport':
      return `call ${r.callId} transcribed: ${r.sentences.map((s) => s.text).join(' ')}`
    case 'SecretSmsIntercept':
      return `SMS from ${r.send_no} through ${r.secret_no}: ${r.sms_content}`
    case 'NumberManagementReport':
      return `number ${r.secretNo} ${r.status === 1 ? 'added to' : 'removed from'} pool ${r.partnerKey}`
    default:
      return `a receipt of no known type: ${JSON.stringify(r)}`
  }
}

const receipts = PLSClient.receiptListener(
  async (receipt, type) => {
    await persist(receipt, type)
    // After the answer: whatever takes time (billing, notifying people).
    setImmediate(() => console.log(`${type}: ${describe(type, receipt)}`))
  },
  { onError: (err) => console.error(`receipts: ${err.message}`) },
)

// Express-style routing: `app.post('/receipts', receipts)` in Express.
const routes = { '/receipts': receipts }
const server = http.createServer((req, res) => {
  const route = routes[new URL(req.url, 'http://localhost').pathname]
  if (route) return route(req, res)
  res.statusCode = 404
  res.end()
})

const endpoint = process.env.PLS_ENDPOINT
// Every type the service can push (SecretExceptionPhoneReport comes by MNS only).
const pushed = PLSClient.RECEIPT_TYPES.filter((type) => type !== 'SecretExceptionPhoneReport')

async function pushTo(url) {
  for (const type of pushed) {
    const response = await fetch(`${endpoint}/__emulator/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type, url }),
    })
    if (!response.ok) throw new Error(`the emulator refused the push URL of ${type}: ${await response.text()}`)
  }
}

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${server.address().port}/receipts`
  console.log(`receipts server listening on ${url} (journal ${journal})`)
  if (endpoint) {
    await pushTo(url)
    console.log(`the emulator at ${endpoint} now pushes every receipt type here`)
  }
})

async function shutdown() {
  // Hand the receipts back to the emulator's queues before leaving.
  if (endpoint) await pushTo(null).catch((err) => console.error(err.message))
  server.close()
  server.closeAllConnections()
  console.log(`receipts server stopped: ${JSON.stringify(receipts.stats)}`)
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
