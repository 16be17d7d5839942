#!/usr/bin/env node
// A fixed number of bindAxb calls against the stateless emulator, for
// instruction counts (valgrind --tool=callgrind) or CPU profiles (perf record)
// that do not depend on how busy the machine is.
//   node bench/cpu-loop.js ADDON.node [--calls 2000] [--concurrency 64] [--tool callgrind|perf|none]
// The emulator runs in this process; the measured client is a child process
// that makes --calls calls after an unmeasured warm-up. With callgrind it runs
// twice (--calls and --calls/5) so start-up cancels out of the per-call figure.
'use strict'

const { spawnSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2099-01-01 00:00:00' }

async function client([addon, url, calls, concurrency]) {
  const { PLSClient } = require(path.resolve(addon))
  // Generous timeouts: under valgrind the client runs some 50 times slower.
  const client = new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret', endpoint: url, timeout: 600000 })
  const run = async (total) => {
    let left = total
    await Promise.all(Array.from({ length: Math.min(Number(concurrency), total) }, async () => {
      while (left > 0) {
        left--
        await client.bindAxb({ ...BIND })
      }
    }))
  }
  await run(200)
  await run(Number(calls))
}

function collect(file) {
  // The "summary:" / "totals:" line of a callgrind output file: instructions of every thread.
  const text = fs.readFileSync(file, 'utf8')
  const line = text.split('\n').find((l) => l.startsWith('totals:')) || text.split('\n').find((l) => l.startsWith('summary:'))
  return Number(line.split(/\s+/)[1])
}

function runUnder(tool, addon, url, calls, concurrency, tag) {
  const args = [__filename, '--client', addon, url, String(calls), String(concurrency)]
  if (tool === 'callgrind') {
    const out = path.join(os.tmpdir(), `cpu-loop-${process.pid}-${tag}.callgrind`)
    const r = spawnSync('valgrind', ['--tool=callgrind', '--quiet', `--callgrind-out-file=${out}`, process.execPath, ...args], { stdio: 'inherit' })
    if (r.status !== 0) throw new Error(`valgrind exited with ${r.status}`)
    return { out, instructions: collect(out) }
  }
  if (tool === 'perf') {
    const out = path.join(os.tmpdir(), `cpu-loop-${process.pid}-${tag}.perf.data`)
    const r = spawnSync('perf', ['record', '-e', 'cpu-clock', '-F', '4999', '-g', '-o', out, '--', process.execPath, '--perf-basic-prof', ...args], { stdio: 'inherit' })
    if (r.status !== 0) throw new Error(`perf exited with ${r.status}`)
    return { out }
  }
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`client exited with ${r.status}`)
  return {}
}

async function main() {
  const args = process.argv.slice(2)
  const flag = (name, fallback) => {
    const at = args.indexOf(`--${name}`)
    return at >= 0 ? args.splice(at, 2)[1] : fallback
  }
  const calls = Number(flag('calls', 2000))
  const concurrency = Number(flag('concurrency', 64))
  const tool = flag('tool', 'callgrind')
  const [addon] = args
  if (!addon) throw new Error('usage: node bench/cpu-loop.js ADDON.node [--calls N] [--concurrency C] [--tool callgrind|perf|none]')
  // The emulator comes from the same addon, on its own threads in this process.
  const native = require(path.resolve(addon))
  const handle = await native.startEmulator(JSON.stringify({ stateless: true }))
  // Run the children asynchronously so this process's loop keeps serving.
  const result = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--measure', tool, addon, handle.url, String(calls), String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (chunk) => { text += chunk })
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`measure exited with ${code}`))))
  })
  console.log(JSON.stringify({ addon, calls, concurrency, tool, ...result }))
  process.exit(0)
}

function measure([tool, addon, url, calls, concurrency]) {
  const n = Number(calls)
  const big = runUnder(tool, addon, url, n, concurrency, 'big')
  if (tool !== 'callgrind') return process.stdout.write(JSON.stringify(big))
  const small = runUnder(tool, addon, url, Math.round(n / 5), concurrency, 'small')
  const perCall = (big.instructions - small.instructions) / (n - Math.round(n / 5))
  process.stdout.write(JSON.stringify({ instructionsPerCall: Math.round(perCall), big, small }))
}

if (process.argv[2] === '--client') client(process.argv.slice(3)).then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
else if (process.argv[2] === '--measure') measure(process.argv.slice(3))
else main().catch((err) => { console.error(err.message); process.exit(1) })
