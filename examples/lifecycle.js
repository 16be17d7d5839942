// A binding's whole life against the emulator (PLS_ENDPOINT): bind A and B
// to X, A calls X (routed to B), read the call receipt from the queue (or
// see it pushed to examples/receipts-server.js), extend the binding, look
// at it, unbind.
'use strict'
const PLSClient = require('@alicloud/pls-sdk')

const endpoint = process.env.PLS_ENDPOINT
if (!endpoint) {
  console.error('set PLS_ENDPOINT to an emulator URL (npm run emulator)')
  process.exit(2)
}
const client = new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' })
const PoolKey = 'FC100000xxxxxx'
const A = '18040580001'
const B = '13871140001'

async function control(what, body) {
  const response = await fetch(`${endpoint}/__emulator/${what}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  })
  return response.json()
}

async function main() {
  const { account } = await control('state')
  const queueName = `Alicom-Queue-${account}-SecretReport`

  const bound = await client.bindAxb({ PoolKey, PhoneNoA: A, PhoneNoB: B, Expiration: '2018-08-05 12:00:00', IsRecordingEnabled: true })
  const { SubsId, SecretNo } = bound.SecretBindDTO
  console.log(`1. bound A ${A} and B ${B} to X ${SecretNo} (SubsId ${SubsId})`)

  const call = await control('calls', { caller: A, secretNo: SecretNo, durationSeconds: 42 })
  console.log(`2. A called X; the service routed it to B (call ${call.call_id || call.callId})`)

  // The call's receipt is on its queue, unless a receipts server (such as
  // examples/receipts-server.js) had it pushed there instead.
  const pushedTo = ((await control('push')).push || {}).SecretReport
  if (pushedTo) {
    console.log(`3. the call's receipts were pushed to ${pushedTo}`)
  } else {
    const reply = await client.receiveMsg(0, queueName, 5, true)
    const receipt = PLSClient.decodeMessage(reply.body)
    console.log(`3. receipt from ${queueName}: ${receipt.phone_no} -> ${receipt.peer_no} via ${receipt.secret_no}, released ${receipt.release_time}`)
  }

  await client.updateSubscription({ PoolKey, SubsId, PhoneNoX: SecretNo, OperateType: 'updateExpire', Expiration: '2018-08-10 12:00:00' })
  const detail = await client.querySubscriptionDetail({ PoolKey, SubsId, PhoneNoX: SecretNo })
  console.log(`4. extended: expires ${detail.SecretBindDetailDTO.ExpireDate}, status ${detail.SecretBindDetailDTO.Status}`)

  await client.unbindSubscription({ PoolKey, SubsId, SecretNo })
  const after = await client.querySubscriptionDetail({ PoolKey, SubsId, PhoneNoX: SecretNo })
  console.log(`5. unbound: status ${after.SecretBindDetailDTO.Status}`)
}

main().catch((err) => {
  console.error('lifecycle failed:', err)
  process.exitCode = 1
})
