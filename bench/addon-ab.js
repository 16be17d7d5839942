#!/usr/bin/env node
// A/B of two builds of the addon on the same workload: calls per second of
// bindAxb with a static key pair against one stateless emulator (in its own
// process), each build in its own child process, rounds alternating.
//   node bench/addon-ab.js A.node B.node [--rounds 5] [--seconds 3] [--concurrency 64] [--signature HMAC-SHA1]
// Prints per build the median calls/s, client CPU per call (all threads) and
// peak RSS, and the paired per-round ratios B/A.
// Use it to check that a change leaves the static-key path as fast as before.
'use strict'

const { fork } = require('node:child_process')
const { once } = require('node:events')
const path = require('node:path')

const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2099-01-01 00:00:00' }

async function worker([addon, url, seconds, concurrency, signature]) {
  const { PLSClient } = require(path.resolve(addon))
  const options = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret', endpoint: url }
  if (signature !== 'HMAC-SHA1') options.signatureAlgorithm = signature
  const client = new PLSClient(options)
  const run = async (ms) => {
    let done = 0
    const end = Date.now() + ms
    await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
      while (Date.now() < end) {
        await client.bindAxb(BIND)
        done++
      }
    }))
    return done
  }
  await run(500)
  const cpu = process.cpuUsage()
  const calls = await run(Number(seconds) * 1000)
  const used = process.cpuUsage(cpu)
  // CPU per call: every thread of the client process (V8, libuv, the runtime).
  process.send({ perSecond: calls / Number(seconds), cpuPerCall: (used.user + used.system) / calls, maxRss: process.resourceUsage().maxRSS })
}

async function server(addon) {
  const native = require(path.resolve(addon))
  const handle = await native.startEmulator(JSON.stringify({ stateless: true }))
  process.send({ url: handle.url })
  // The emulator runs on the addon's threads; keep this process until killed.
  setInterval(() => {}, 1 << 30)
}

async function main() {
  const args = process.argv.slice(2)
  const flag = (name, fallback) => {
    const at = args.indexOf(`--${name}`)
    return at >= 0 ? args.splice(at, 2)[1] : fallback
  }
  const rounds = Number(flag('rounds', 5))
  const seconds = flag('seconds', 3)
  const concurrency = flag('concurrency', 64)
  const signature = flag('signature', 'HMAC-SHA1')
  const [a, b] = args
  if (!a || !b) throw new Error('usage: node bench/addon-ab.js A.node B.node [--rounds N] [--seconds S] [--concurrency C] [--signature ALG]')
  const emulator = fork(__filename, ['--server', b])
  const [{ url }] = await once(emulator, 'message')
  const results = { [a]: [], [b]: [] }
  const cpu = { [a]: [], [b]: [] }
  const rss = { [a]: [], [b]: [] }
  for (let round = 0; round < rounds; round++) {
    for (const addon of round % 2 ? [b, a] : [a, b]) {
      const child = fork(__filename, ['--worker', addon, url, seconds, concurrency, signature])
      const [{ perSecond, cpuPerCall, maxRss }] = await once(child, 'message')
      await once(child, 'exit')
      results[addon].push(perSecond)
      cpu[addon].push(cpuPerCall)
      rss[addon].push(maxRss / 1024)
    }
  }
  emulator.kill()
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  for (const addon of [a, b]) {
    console.log(`${addon}: median ${Math.round(median(results[addon]))} calls/s  rounds ${results[addon].map(Math.round).join(' ')}` +
      `  CPU/call median ${median(cpu[addon]).toFixed(1)} us  rounds ${cpu[addon].map((x) => x.toFixed(1)).join(' ')}  peak RSS median ${median(rss[addon]).toFixed(1)} MB`)
  }
  // Paired by round, so drift on a noisy machine cancels out of the ratio.
  const ratios = (xs) => median(results[b].map((_, i) => xs[b][i] / xs[a][i])).toFixed(3)
  console.log(`B/A: throughput ${ratios(results)}  CPU/call ${ratios(cpu)}  peak RSS ${ratios(rss)}`)
}

if (process.argv[2] === '--worker') worker(process.argv.slice(3)).then(() => process.exit(0))
else if (process.argv[2] === '--server') server(process.argv[3])
else main().catch((err) => { console.error(err.message); process.exit(1) })
