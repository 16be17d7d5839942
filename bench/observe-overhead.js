#!/usr/bin/env node
// What the DEBUG / diagnostics_channel wrapper costs per call. One client
// calls bindAxb against a stateless emulator in another process, through:
//   raw        the native method itself, as if the wrapper were not there
//   quiet      the wrapper with nobody listening (the default)
//   observed   the wrapper with a no-op subscriber on each channel
// Rounds alternate the order, so drift on a busy machine cancels; the
// figures are medians over rounds of the client's CPU time per call
// (process.cpuUsage: user + system, all threads) and of calls per second.
//   node bench/observe-overhead.js [--rounds 7] [--calls 20000] [--inflight 64]
'use strict'

const { spawn } = require('node:child_process')
const diagnostics = require('node:diagnostics_channel')
const path = require('node:path')
const readline = require('node:readline')
const { parseArgs } = require('node:util')

const native = require('../native.js')
// Taken before the package wraps it.
const raw = native.PLSClient.prototype.bindAxb
const PLSClient = require('..')
const wrapped = PLSClient.prototype.bindAxb

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '20000' }, inflight: { type: 'string', default: '64' } },
})
const rounds = Number(values.rounds)
const calls = Number(values.calls)
const inflight = Number(values.inflight)

const PARAMS = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2030-01-01 00:00:00' }
const noop = () => {}
const CHANNELS = ['start', 'end', 'error'].map((kind) => `pls-native:request:${kind}`)

async function run(client, method) {
  let left = calls
  const lane = async () => {
    while (left-- > 0) await method.call(client, { ...PARAMS })
  }
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: inflight }, lane))
  const wallS = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  return { cpuUs: (used.user + used.system) / calls, perS: calls / wallS }
}

const VARIANTS = {
  raw: (client) => run(client, raw),
  quiet: (client) => run(client, wrapped),
  observed: async (client) => {
    for (const name of CHANNELS) diagnostics.subscribe(name, noop)
    try {
      return await run(client, wrapped)
    } finally {
      for (const name of CHANNELS) diagnostics.unsubscribe(name, noop)
    }
  },
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const server = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'pls-emulator.js'), '--stateless'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const [url] = await new Promise((resolve) => readline.createInterface({ input: server.stdout }).once('line', (line) => resolve([line])))
  try {
    const client = new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret', endpoint: url })
    await run(client, raw) // warm-up
    const names = Object.keys(VARIANTS)
    const results = Object.fromEntries(names.map((n) => [n, []]))
    for (let r = 0; r < rounds; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length])
      for (const name of order) results[name].push(await VARIANTS[name](client))
    }
    const base = median(results.raw.map((x) => x.cpuUs))
    console.log(`bindAxb x ${calls} at ${inflight} in flight, ${rounds} alternating rounds, medians`)
    console.log('variant     CPU/call (us)   vs raw    calls/s')
    for (const name of names) {
      const cpu = median(results[name].map((x) => x.cpuUs))
      const perS = median(results[name].map((x) => x.perS))
      console.log(`${name.padEnd(10)}  ${cpu.toFixed(1).padStart(13)}  ${((cpu - base >= 0 ? '+' : '') + (cpu - base).toFixed(1)).padStart(7)}  ${Math.round(perS).toString().padStart(9)}`)
    }
  } finally {
    server.kill()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
