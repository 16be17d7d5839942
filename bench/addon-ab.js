#!/usr/bin/env node
// A/B of two builds of the addon on the same workload: calls per second of
// bindAxb with a static key pair against one stateless emulator (in its own
// process), each build in its own child process, rounds alternating.
//   node bench/addon-ab.js A.node B.node [--rounds 5] [--seconds 3] [--concurrency 64] [--signature HMAC-SHA1]
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
  const calls = await run(Number(seconds) * 1000)
  process.send({ perSecond: calls / Number(seconds) })
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
  for (let round = 0; round < rounds; round++) {
    for (const addon of round % 2 ? [b, a] : [a, b]) {
      const child = fork(__filename, ['--worker', addon, url, seconds, concurrency, signature])
      const [{ perSecond }] = await once(child, 'message')
      await once(child, 'exit')
      results[addon].push(perSecond)
    }
  }
  emulator.kill()
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  for (const addon of [a, b]) {
    console.log(`${addon}: median ${Math.round(median(results[addon]))} calls/s  rounds ${results[addon].map(Math.round).join(' ')}`)
  }
}

if (process.argv[2] === '--worker') worker(process.argv.slice(3)).then(() => process.exit(0))
else if (process.argv[2] === '--server') server(process.argv[3])
else main().catch((err) => { console.error(err.message); process.exit(1) })
