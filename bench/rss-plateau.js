#!/usr/bin/env node
// Does pls-native's memory settle? Runs bindAxb at 256 in flight against a
// server URL and prints RSS and the JS heap after a full GC every 500,000
// calls, up to 3,000,000. A leak grows every step; warm-up stops growing.
//   cargo build --release -p pls-emulator --example serve
//   target/*/release/examples/serve --port 0 --stateless   # prints URL
//   node --expose-gc bench/rss-plateau.js URL
'use strict'
const PLSClient = require('..')

const url = process.argv[2]
if (!url || typeof global.gc !== 'function') {
  console.error('usage: node --expose-gc bench/rss-plateau.js <server URL>')
  process.exit(2)
}
const client = new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret', endpoint: url })
const params = () => ({ PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-08-05 12:00:00' })

let calls = 0
async function lane(limit) {
  while (calls < limit) {
    calls++
    await client.bindAxb(params())
  }
}

async function main() {
  for (let limit = 500_000; limit <= 3_000_000; limit += 500_000) {
    await Promise.all(Array.from({ length: 256 }, () => lane(limit)))
    global.gc()
    global.gc()
    const { rss, heapUsed } = process.memoryUsage()
    console.log(`${limit} calls: rss ${(rss / 1e6).toFixed(1)} MB, JS heap ${(heapUsed / 1e6).toFixed(1)} MB`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
