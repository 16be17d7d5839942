// A fuzz loop with a fixed seed: params and options of every JS type
// (Proxies, getters that throw, symbols, BigInt, cycles, deep nesting, 1 MB
// strings, __proto__ keys, ...) thrown at every kind of call. Each call must
// either throw its TypeError synchronously or return a promise that settles
// in time, rejecting (if it does) with an Error; the process must survive.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { startCaptureServer } from './support/capture.mjs'
import { settle, within } from './support/settle.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')

const SEED = 0x5eed2026
const ROUNDS = 600
let server

before(async () => {
  server = await startCaptureServer()
})
after(() => server.close())

/** mulberry32: a small PRNG, so a failing round can be replayed from the seed. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function makeFuzzer(random) {
  const int = (n) => Math.floor(random() * n)
  const pick = (items) => items[int(items.length)]

  function string() {
    switch (int(8)) {
      case 0: return ''
      case 1: return 'x'.repeat(1 << 20) // 1 MB
      case 2: return 'a\uD800b' // a lone surrogate
      case 3: return '北京😀é\u0000\n%&=+?#'
      case 4: return String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x10000)))
      default: return `v${int(1e6)}`
    }
  }

  function thrower(what) {
    return () => {
      throw new Error(`fuzz: ${what}`)
    }
  }

  function primitive() {
    return pick([
      () => undefined,
      () => null,
      () => random() < 0.5,
      () => pick([0, -0, NaN, Infinity, -Infinity, 2 ** 53 + 1, 1e21, 1e-7, random() * 1e6]),
      () => BigInt(int(1e9)) * 10n ** BigInt(int(30)),
      () => Symbol('fuzz'),
      string,
    ])()
  }

  function object(depth) {
    switch (int(14)) {
      case 0: {
        const cycle = { a: 1 }
        cycle.self = cycle
        return cycle
      }
      case 1: {
        const cycle = []
        cycle.push(cycle)
        return cycle
      }
      case 2: {
        let deep = []
        for (let i = 0; i < 10_000; i++) deep = [deep]
        return deep
      }
      case 3: return JSON.parse('{"__proto__":{"polluted":1},"constructor":"x"}')
      case 4: return new Proxy({}, { ownKeys: thrower('ownKeys trap'), get: thrower('get trap') })
      case 5: return new Proxy([1, 2], { get: (target, key) => (key === 'length' ? 3 : target[key]) })
      case 6: return Object.defineProperty({}, 'Key', { enumerable: true, get: thrower('getter') })
      case 7: return { toString: thrower('toString') }
      case 8: return { [Symbol.toPrimitive]: () => ({}) }
      case 9: return Object.create(null)
      case 10: {
        const sparse = []
        sparse.length = 2 ** 32 - 1
        return sparse
      }
      case 11: return pick([new Date(0), new Uint8Array(4), new Map([[1, 2]]), () => 1, /re/g, new Error('e')])
      case 12: return Array.from({ length: int(5) }, () => value(depth + 1))
      default: {
        const out = {}
        for (let i = 0; i < int(6); i++) out[pick(['K', 'poolKey', '__proto__', '', '😀', `k${i}`])] = value(depth + 1)
        return out
      }
    }
  }

  function value(depth = 0) {
    return depth < 3 && random() < 0.4 ? object(depth) : primitive()
  }

  function params() {
    const roll = int(10)
    if (roll === 0) return value()
    const out = roll === 1 ? object(0) : {}
    for (const key of ['PhoneNoA', 'PhoneNoB', 'Expiration', 'PoolKey', pick(['OutId', 'List', 'X', '__proto__'])]) {
      if (random() < 0.8) {
        try {
          out[key] = value()
        } catch {
          // A Proxy or frozen value that refuses the key: keep what we have.
        }
      }
    }
    return out
  }

  function options() {
    if (random() < 0.3) return value()
    const out = { timeout: 2_000 }
    const choices = {
      method: () => pick(['GET', 'POST', 'post', 'GE T', '', value()]),
      formatParams: value,
      formatAction: value,
      connectTimeout: () => pick([0, -1, NaN, 1, '500', 1e12, value()]),
      readTimeout: () => pick([0, 1, '300', 1e12, value()]),
      maxRetries: () => pick([0, 1, 2, -1, 1.5, 1e9, value()]),
      headers: () => pick([{ 'x-a': 'b' }, { 'bad\nname': 'v' }, { 'x-b': 'bad\r\nvalue' }, value()]),
      signal: () => pick([new AbortController().signal, AbortSignal.abort(), AbortSignal.timeout(int(50)), value()]),
    }
    for (const [key, make] of Object.entries(choices)) {
      if (random() < 0.3) out[key] = make()
    }
    return out
  }

  return { int, pick, value, params, options }
}

test(`fuzz: ${ROUNDS} seeded calls settle cleanly (seed ${SEED.toString(16)})`, async () => {
  const random = prng(SEED)
  const fuzz = makeFuzzer(random)
  const client = new PLSClient({ accessKeyId: 'id', secretAccessKey: 'secret', endpoint: server.url, dybaseEndpoint: server.url, mnsEndpoint: server.url, timeout: 2_000 })
  const methods = ['bindAxb', 'bindAxn', 'buySecretNo', 'querySubscriptionDetail', 'unbindSubscription']
  let settled = 0
  let thrown = 0
  for (let round = 0; round < ROUNDS; round++) {
    server.reply(fuzz.pick([
      { status: 200, body: '{"RequestId":"R","Code":"OK","Message":"OK"}' },
      { status: 400, body: '{"RequestId":"R","Code":"Throttling.User","Message":"slow down"}' },
      { status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' },
      { status: 200, body: '{"Code":"OK","N":123456789012345678901234567890}' },
    ]))
    const kind = fuzz.int(4)
    const label = `round ${round} (seed ${SEED.toString(16)})`
    let promise
    try {
      if (kind === 0) promise = client[fuzz.pick(methods)](fuzz.params(), fuzz.options())
      else if (kind === 1) promise = client.request(fuzz.pick(['QueryCallStatus', 'x', '', fuzz.value()]), fuzz.params(), fuzz.options())
      else if (kind === 2) promise = client.receiveMsg(fuzz.value(), fuzz.pick(['q', 'a/b', fuzz.value()]), fuzz.pick([0, 1, fuzz.value()]), fuzz.value(), fuzz.options())
      else promise = client.deleteMsg(fuzz.pick([0, 1, fuzz.value()]), 'q', fuzz.pick(['handle', '']), fuzz.options())
    } catch (err) {
      // Only the documented synchronous failures: the original's TypeErrors
      // and napi-rs's own argument type checks.
      assert.ok(err instanceof TypeError || err instanceof Error, `${label}: threw ${String(err)}`)
      thrown++
      continue
    }
    assert.ok(promise instanceof Promise, `${label}: returned ${typeof promise}`)
    const outcome = await within(15_000, settle(promise), label)
    if (outcome.error !== undefined) {
      assert.ok(outcome.error instanceof Error, `${label}: rejected with ${String(outcome.error)}`)
      assert.equal(typeof outcome.error.message, 'string', label)
    }
    settled++
    if (round % 50 === 0) server.take()
  }
  server.take()
  assert.equal(settled + thrown, ROUNDS)
  assert.ok(settled > ROUNDS / 2, `${settled} of ${ROUNDS} calls got as far as a promise`)
})
