// The backbone: the same inputs to @alicloud/pls-sdk (the original, a
// devDependency) and to pls-native must give the same request on the wire
// (apart from nonce, timestamp and signature, and both signatures must
// verify), the same result and the same error.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { startCaptureServer } from './support/capture.mjs'
import { stablePairs, signatureVerifies } from './support/wire.mjs'

const require = createRequire(import.meta.url)
const Original = require('pls-sdk-original')
const PLSClient = require('../index.js')

const KEYS = { accessKeyId: 'testId', secretAccessKey: 'test/Secret+=' }
let server
let original
let native

before(async () => {
  server = await startCaptureServer()
  original = new Original(KEYS)
  original.dyplsapiClient.endpoint = server.url
  native = new PLSClient({ ...KEYS, endpoint: server.url })
})
after(() => server.close())

const METHODS = {
  bindAxb: { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-08-05 12:00:00' },
  bindAxn: { PoolKey: 'FC1', PhoneNoA: '18040580000', Expiration: '2030-08-05 12:00:00', NoType: 'NO_95' },
  bindAxnExtension: { PoolKey: 'FC1', PhoneNoA: '18040580000', Extension: '123', Expiration: '2030-08-05 12:00:00' },
  buySecretNo: { PoolKey: 'FC1', SpecId: 1, City: '杭州' },
  releaseSecretNo: { PoolKey: 'FC1', SecretNo: '17000000000' },
  queryRecordFileDownloadUrl: { PoolKey: 'FC1', CallId: 'abc', CallTime: '2030-08-05 12:00:00', ProductType: 'AXB_170' },
  querySubscriptionDetail: { PoolKey: 'FC1', SubsId: '1000000', PhoneNoX: '17000000000' },
  unbindSubscription: { PoolKey: 'FC1', SubsId: '1000000', SecretNo: '17000000000' },
  updateSubscription: { PoolKey: 'FC1', SubsId: '1000000', PhoneNoX: '17000000000', OperateType: 'updateNoA', PhoneNoA: '13900000000' },
}

/** Runs one call on one client and returns what the wire and the caller saw. */
async function observe(client, call) {
  server.take()
  let outcome
  try {
    outcome = { value: await call(client) }
  } catch (error) {
    outcome = { error }
  }
  const requests = server.take()
  return { outcome, requests }
}

/** Compares both SDKs on one call: wire, signature, result or error. */
async function compare(call, { secret = KEYS.secretAccessKey, sameValue = true } = {}) {
  const a = await observe(original, call)
  const b = await observe(native, call)
  assert.equal(a.requests.length, 1, 'original sent one request')
  assert.equal(b.requests.length, 1, 'pls-native sent one request')
  const [ra] = a.requests
  const [rb] = b.requests
  assert.equal(rb.method, ra.method, 'HTTP method')
  assert.equal(rb.url.split('?')[0], ra.url.split('?')[0], 'path')
  assert.deepEqual(stablePairs(rb), stablePairs(ra), 'params on the wire')
  assert.ok(signatureVerifies(ra, secret), 'original signature verifies (the checker is right)')
  assert.ok(signatureVerifies(rb, secret), 'pls-native signature verifies')
  for (const header of ['x-acs-action', 'x-acs-version', 'content-type']) {
    assert.equal(rb.headers[header], ra.headers[header], `header ${header}`)
  }
  if (a.outcome.error) {
    assert.ok(b.outcome.error, `pls-native must reject like the original (${a.outcome.error.message})`)
    const ea = a.outcome.error
    const eb = b.outcome.error
    assert.equal(eb.name, ea.name, 'error name')
    assert.equal(eb.code, ea.code, 'error code')
    assert.deepEqual(JSON.parse(JSON.stringify(eb.data)), JSON.parse(JSON.stringify(ea.data)), 'error data')
    assert.equal(eb.message.split(', URL: ')[0], ea.message.split(', URL: ')[0], 'message before the URL')
    assert.match(eb.message, /, URL: http:\/\/127\.0\.0\.1:\d+\/(\?.*Signature=)?/)
    assert.equal(eb.url.split('?')[0], ea.url.split('?')[0], 'error url')
    assert.ok(eb instanceof Error)
    // err.entry: the exchange as the original reports it (header values differ: user agent, date).
    assert.deepEqual(Object.keys(eb), Object.keys(ea), 'own enumerable error fields')
    assert.equal(eb.entry.url, eb.url)
    assert.equal(eb.entry.response.statusCode, ea.entry.response.statusCode, 'entry.response.statusCode')
    assert.equal(eb.entry.response.headers['content-type'], ea.entry.response.headers['content-type'])
    assert.equal(eb.entry.request.headers['x-acs-action'], ea.entry.request.headers['x-acs-action'])
  } else {
    assert.ok(!b.outcome.error, `pls-native rejected where the original resolved: ${b.outcome.error && b.outcome.error.message}`)
    if (sameValue) {
      assert.equal(JSON.stringify(b.outcome.value), JSON.stringify(a.outcome.value), 'resolved value, key order included')
    }
  }
  return { a, b }
}

for (const [method, params] of Object.entries(METHODS)) {
  test(`${method}: same request and result as the original (GET)`, async () => {
    server.reply({ status: 200, body: '{"RequestId":"8906582E-6722","Code":"OK","Message":"OK","SecretBindDTO":{"SubsId":"1000000","SecretNo":"17000000000","Extension":"130"}}' })
    const { b } = await compare((c) => c[method](params))
    assert.equal(b.outcome.value.Code, 'OK')
  })

  test(`${method}: same request on POST`, async () => {
    server.reply({ status: 200, body: '{"Code":"OK","RequestId":"x"}' })
    const { b } = await compare((c) => c[method](params, { method: 'POST' }))
    assert.equal(b.requests[0].method, 'POST')
    assert.equal(b.requests[0].headers['content-type'], 'application/x-www-form-urlencoded')
  })

  test(`${method}: missing required keys throw the same TypeError synchronously`, async () => {
    server.reply({ status: 200, body: '{"Code":"OK"}' })
    const pending = []
    for (const drop of Object.keys(params)) {
      const partial = { ...params }
      delete partial[drop]
      let ea
      let eb
      try { pending.push(original[method](partial)) } catch (e) { ea = e }
      try { pending.push(native[method](partial)) } catch (e) { eb = e }
      if (!ea) {
        // Optional key: neither may throw synchronously (both return promises).
        assert.equal(eb, undefined, `${method} without ${drop} must not throw`)
        continue
      }
      assert.ok(eb instanceof TypeError, `${method} without ${drop}: TypeError`)
      assert.equal(eb.message, ea.message)
    }
    let ea
    let eb
    try { original[method]() } catch (e) { ea = e }
    try { native[method]() } catch (e) { eb = e }
    assert.equal(eb && eb.message, ea && ea.message, 'no params at all')
    await Promise.allSettled(pending)
    server.take()
  })
}

test('every reserved ASCII character, Chinese text and emoji are encoded alike', async () => {
  let ascii = ''
  for (let c = 32; c < 127; c++) ascii += String.fromCharCode(c)
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  await compare((c) => c.bindAxb({ ...METHODS.bindAxb, OutId: ascii, ExpectCity: '北京', Note: '😀 ü ñ', 'Key With Space!': '~*()' }))
})

test('strings around 128 UTF-8 bytes (the binding reads short ones into a fixed buffer) arrive whole', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  const values = []
  for (let n = 38; n <= 46; n++) values.push('北'.repeat(n))
  for (let k = 118; k <= 130; k++) values.push('a'.repeat(k) + '😀')
  for (const value of values) {
    await compare((c) => c.bindAxb({ ...METHODS.bindAxb, OutId: value, ['K' + 'é'.repeat(62)]: value }))
  }
})

test('numbers, booleans, lower-case keys and arrays are stringified alike', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  await compare((c) =>
    c.bindAxb({
      ...METHODS.bindAxb,
      poolKey: 'lower',
      isRecordingEnabled: true,
      CallTimeout: 30,
      Ratio: 0.5,
      Big: 12345678901234567890,
      Flag: false,
      List: ['a', 'b c', 3],
      Objects: [{ Field: 'x', Nested: ['y'] }, { Field: 'z' }],
      Obj: { a: 1 },
    }),
  )
})

test('formatAction and formatParams false are honoured alike', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  await compare((c) => c.bindAxb({ ...METHODS.bindAxb, lowerKey: 'v' }, { formatParams: false }))
  await compare((c) => (c === original ? c.dyplsapiClient : c).request('queryCallStatus', { x: 1 }, { formatAction: false }))
})

test('request() for any other action matches the original RPC client', async () => {
  server.reply({ status: 200, body: '{"RequestId":"r","Code":"OK","SecretCallStatusDTO":{"Status":4}}' })
  await compare((c) => (c === original ? c.dyplsapiClient : c).request('QueryCallStatus', { PoolKey: 'FC1', SubsId: '1', CallNo: '13800000000' }))
})

test('an empty params object sends only the defaults', async () => {
  server.reply({ status: 200, body: '{"Code":"OK"}' })
  const { b } = await compare((c) => (c === original ? c.dyplsapiClient : c).request('QueryCallStatus', {}))
  const keys = b.requests[0].url.split('?')[1].split('&').map((p) => p.split('=')[0])
  assert.deepEqual(keys, ['AccessKeyId', 'Action', 'Format', 'SignatureMethod', 'SignatureNonce', 'SignatureVersion', 'Timestamp', 'Version', 'Signature'])
})

for (const status of [200, 400, 500]) {
  test(`business and gateway errors at HTTP ${status} reject alike`, async () => {
    server.reply({ status, body: '{"RequestId":"R1","Code":"isv.BIND_CONFLICT","Message":"绑定冲突"}' })
    const { b } = await compare((c) => c.bindAxb(METHODS.bindAxb))
    assert.equal(b.outcome.error.name, 'isv.BIND_CONFLICTError')
    server.reply({ status, body: '{"RequestId":"R2","HostId":"dyplsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:GET&%2F&x","Recommend":"https://x"}' })
    await compare((c) => c.unbindSubscription(METHODS.unbindSubscription))
  })
}

test('Code Success, numeric 200, no Code and a non-OK Code without Message', async () => {
  for (const body of ['{"Code":"Success","Data":1}', '{"Code":200}', '{"RequestId":"no-code"}', '{"Code":"ok"}', '{"Code":400,"Message":"n"}', '{"Code":"","x":[1,{"y":null}]}']) {
    server.reply({ status: 200, body })
    await compare((c) => c.bindAxb(METHODS.bindAxb))
  }
})

test('result keys keep the server order, nested too', async () => {
  server.reply({ status: 200, body: '{"Message":"OK","Code":"OK","RequestId":"r","SecretBindDTO":{"SubsId":"1","Extension":"2","SecretNo":"3"}}' })
  const { b } = await compare((c) => c.bindAxb(METHODS.bindAxb))
  assert.deepEqual(Object.keys(b.outcome.value), ['Message', 'Code', 'RequestId', 'SecretBindDTO'])
  assert.deepEqual(Object.keys(b.outcome.value.SecretBindDTO), ['SubsId', 'Extension', 'SecretNo'])
})

test('integers beyond 2^53 keep every digit', async () => {
  server.reply({ status: 200, body: '{"Code":"OK","ChargeId":12345678901234567890123,"Small":42,"Frac":1.25}' })
  // The original hands back a BigNumber (JSON: "1.2345678901234567890123e+22");
  // pls-native the plain digits as a string. Same number, every digit kept.
  const { a, b } = await compare((c) => c.unbindSubscription(METHODS.unbindSubscription), { sameValue: false })
  assert.equal(b.outcome.value.ChargeId, '12345678901234567890123')
  assert.equal(a.outcome.value.ChargeId.toFixed(), b.outcome.value.ChargeId)
  assert.equal(b.outcome.value.Small, 42)
  assert.equal(b.outcome.value.Frac, 1.25)
})
