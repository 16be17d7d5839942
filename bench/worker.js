'use strict'
// One client in its own process, driven by bench/run.js over IPC, so CPU
// time (process.cpuUsage: every thread, tokio's included) and RSS are this
// client's alone.  `node bench/worker.js original|native URL`
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const [which, url] = process.argv.slice(2)
const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }

function load() {
  if (which === 'original') {
    const PLSClient = require('pls-sdk-original')
    return () => {
      const client = new PLSClient(KEYS)
      client.dyplsapiClient.endpoint = url
      return client
    }
  }
  if (which === 'native') {
    const PLSClient = require(path.resolve(__dirname, '..'))
    return () => new PLSClient({ ...KEYS, endpoint: url })
  }
  throw new Error(`unknown client ${which}`)
}

const make = load()
const client = make()

// A fresh params object per call, as an application would pass.
function call() {
  return client.bindAxb({
    PoolKey: 'FC100000000000001',
    PhoneNoA: '18040580000',
    PhoneNoB: '13871140000',
    Expiration: '2030-08-05 12:00:00',
  })
}

function rss() {
  return process.memoryUsage.rss()
}

/**
 * `concurrency` lanes, each awaiting one call at a time, until `ms` have
 * passed or `calls` have been issued. Latencies (ms) are recorded when asked.
 */
async function run({ concurrency, ms = Infinity, calls = Infinity, record = true, sampleRssMs = 0 }) {
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
