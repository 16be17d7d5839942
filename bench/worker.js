'use strict'
// One client in its own process, driven by bench/run.js over IPC, so CPU
// time (process.cpuUsage: every thread, tokio's included) and RSS are this
// client's alone.  `node bench/worker.js CLIENT URL` (CLIENT: a key of KINDS)
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const [which, url] = process.argv.slice(2)
const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const BIND = () => ({
  PoolKey: 'FC100000000000001',
  PhoneNoA: '18040580000',
  PhoneNoB: '13871140000',
  Expiration: '2030-08-05 12:00:00',
})
const HTTPS = url.startsWith('https://')

// Each client: `make()` builds one as an application would, `bind(client,
// fresh)` makes one BindAxb call with a fresh params object; with `fresh`, the
// call opens a new connection (keep-alive off, in each client's own terms).
// Over HTTPS the throwaway CA reaches every client through
// NODE_EXTRA_CA_CERTS, which Node and pls-native both read.
const KINDS = {
  // @alicloud/pls-sdk 1.0.3 (pop-core underneath). Its endpoint is fixed at
  // http://dyplsapi.aliyuncs.com; pointing it at the server means replacing
  // the endpoint and, for https, the keep-alive agent its constructor would
  // have made for an https endpoint.
  original() {
    const PLSClient = require('pls-sdk-original')
    const transport = HTTPS ? require('node:https') : require('node:http')
    const oneShot = new transport.Agent({ keepAlive: false })
    return {
      make() {
        const client = new PLSClient(KEYS)
        client.dyplsapiClient.endpoint = url
        if (HTTPS) client.dyplsapiClient.keepAliveAgent = new transport.Agent({ keepAlive: true, keepAliveMsecs: 3000 })
        return client
      },
      bind: (client, fresh) => client.bindAxb(BIND(), fresh ? { agent: oneShot } : undefined),
    }
  },
  // Aliyun's current runtime: @alicloud/openapi-client's callApi, which every
  // generated @alicloud/<product>2017xxxx client calls, with Params, the
  // request and RuntimeOptions built per call as the generated code does.
  'tea-v2': () => tea('v2'),
  'tea-acs3': () => tea('ACS3-HMAC-SHA256'),
  native: () => native({}),
  'native-acs3': () => native({ signatureAlgorithm: 'ACS3-HMAC-SHA256' }),
}

function tea(signatureAlgorithm) {
  const OpenApi = require('@alicloud/openapi-client')
  const Util = require('@alicloud/tea-util')
  const { host, protocol } = new URL(url)
  return {
    make: () =>
      new OpenApi.default(
        new OpenApi.Config({ ...KEYS, accessKeySecret: KEYS.secretAccessKey, endpoint: host, protocol: protocol.slice(0, -1), signatureAlgorithm }),
      ),
    bind(client) {
      const params = new OpenApi.Params({
        action: 'BindAxb',
        version: '2017-05-25',
        protocol: HTTPS ? 'HTTPS' : 'HTTP',
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      })
      const request = new OpenApi.OpenApiRequest({ query: BIND() })
      return client.callApi(params, request, new Util.RuntimeOptions({}))
    },
  }
}

function native(extra) {
  const PLSClient = require(path.resolve(__dirname, '..'))
  const fresh = new PLSClient({ ...KEYS, ...extra, endpoint: url, keepAlive: false })
  return {
    make: () => new PLSClient({ ...KEYS, ...extra, endpoint: url }),
    bind: (client, wantFresh) => (wantFresh ? fresh : client).bindAxb(BIND()),
  }
}

if (!KINDS[which]) throw new Error(`unknown client ${which}; one of ${Object.keys(KINDS).join(', ')}`)
const kind = KINDS[which]()
const make = kind.make
const client = make()
let fresh = false
const call = () => kind.bind(client, fresh)

function rss() {
  return process.memoryUsage.rss()
}

/**
 * `concurrency` lanes, each awaiting one call at a time, until `ms` have
 * passed or `calls` have been issued. Latencies (ms) are recorded when asked.
 */
async function run({ concurrency, ms = Infinity, calls = Infinity, record = true, sampleRssMs = 0, newConnections = false }) {
  fresh = newConnections
  let issued = 0
  let done = 0
  let errors = 0
  let firstError = null
  let lat = record ? new Float64Array(1 << 16) : null
  let peakRss = rss()
  const samples = []
  let sampler = null
  const started = performance.now()
  if (sampleRssMs > 0) {
    sampler = setInterval(() => {
      const now = rss()
      if (now > peakRss) peakRss = now
      samples.push([Math.round(performance.now() - started), now])
    }, sampleRssMs)
  }
  const deadline = started + ms
  const cpu0 = process.cpuUsage()
  async function lane() {
    while (issued < calls && performance.now() < deadline) {
      issued++
      const t0 = performance.now()
      try {
        await call()
      } catch (err) {
        errors++
        if (!firstError) firstError = `${err && err.code}: ${err && err.message}`.slice(0, 300)
      }
      if (lat) {
        if (done === lat.length) {
          const bigger = new Float64Array(lat.length * 2)
          bigger.set(lat)
          lat = bigger
        }
        lat[done] = performance.now() - t0
      }
      done++
    }
  }
  const lanes = []
  for (let i = 0; i < concurrency; i++) lanes.push(lane())
  await Promise.all(lanes)
  const elapsedMs = performance.now() - started
  const cpu = process.cpuUsage(cpu0)
  if (sampler) clearInterval(sampler)
  const end = rss()
  if (end > peakRss) peakRss = end
  let p50 = null
  let p99 = null
  if (lat && done > 0) {
    const sorted = lat.subarray(0, done).sort()
    p50 = sorted[Math.min(done - 1, Math.floor(done * 0.5))]
    p99 = sorted[Math.min(done - 1, Math.floor(done * 0.99))]
  }
  return {
    calls: done,
    errors,
    firstError,
    elapsedMs,
    throughput: (done / elapsedMs) * 1000,
    p50Ms: p50,
    p99Ms: p99,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    cpuPerCallUs: (cpu.user + cpu.system) / Math.max(1, done),
    cores: (cpu.user + cpu.system) / 1000 / elapsedMs,
    rss: end,
    peakRssSampled: peakRss,
    maxRSS: process.resourceUsage().maxRSS * 1024,
    rssSamples: samples,
  }
}

/** µs per `new PLSClient()` after the first: medians of `batches` batches. */
function construct({ batches = 9, perBatch = 2000 }) {
  make() // not the first any more, whatever happened before
  const perCall = []
  const keep = new Array(perBatch)
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now()
    for (let i = 0; i < perBatch; i++) keep[i] = make()
    perCall.push(((performance.now() - t0) * 1000) / perBatch)
    keep.fill(undefined)
  }
  perCall.sort((a, b) => a - b)
  return { usPerClient: perCall[Math.floor(perCall.length / 2)], batches: perCall }
}

function gc() {
  if (typeof global.gc === 'function') {
    global.gc()
    global.gc()
  }
}

process.on('message', async (msg) => {
  try {
    let result
    switch (msg.op) {
      case 'run':
        result = await run(msg)
        break
      case 'warm':
        await run({ ...msg, record: false })
        result = { ok: true }
        break
      case 'construct':
        result = construct(msg)
        break
      case 'gc':
        gc()
        result = { rss: rss(), maxRSS: process.resourceUsage().maxRSS * 1024 }
        break
      case 'exit':
        process.disconnect()
        return
      default:
        throw new Error(`unknown op ${msg.op}`)
    }
    process.send({ id: msg.id, result })
  } catch (err) {
    process.send({ id: msg.id, error: String((err && err.stack) || err) })
  }
})
process.send({ ready: true, pid: process.pid })
