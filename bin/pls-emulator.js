#!/usr/bin/env node
// pls-emulator [--port N] [--host H] [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless]
//              [--seed FILE] [--state FILE] [--tls [--ca-out FILE] | --cert FILE --key FILE] [--flow-limits]
//              [--push TYPE=URL ...] [--stop-on-stdin-close]
// Prints the base URL as the first stdout line, then serves until SIGINT or
// SIGTERM (on Windows: Ctrl+C, Ctrl+Break or a closed console), or, with
// --stop-on-stdin-close, until its standard input closes: the way a parent
// process stops it cleanly on Windows, where it cannot send a signal. Then it
// writes the --state file.
'use strict'
const fs = require('node:fs')
const { parseArgs } = require('node:util')
const { startEmulator } = require('../emulator.js')

const usage = [
  'usage: pls-emulator [--port N] [--host H] [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless]',
  '                    [--seed FILE] [--state FILE] [--tls [--ca-out FILE] | --cert FILE --key FILE] [--flow-limits]',
  '                    [--push TYPE=URL ...]  (push receipts of TYPE, e.g. SecretReport, to URL instead of queuing them)',
  '                    [--stop-on-stdin-close]',
].join('\n')

let values
try {
  ;({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      clock: { type: 'string' },
      account: { type: 'string' },
      stateless: { type: 'boolean' },
      seed: { type: 'string' },
      state: { type: 'string' },
      tls: { type: 'boolean' },
      'ca-out': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'flow-limits': { type: 'boolean' },
      push: { type: 'string', multiple: true },
      'stop-on-stdin-close': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }))
} catch (err) {
  console.error(`${err.message}\n${usage}`)
  process.exit(2)
}
if (values.help) {
  console.log(usage)
  process.exit(0)
}

const options = {}
if (values.port !== undefined) {
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be 0-65535\n${usage}`)
    process.exit(2)
  }
  options.port = port
}
for (const key of ['host', 'clock', 'account']) {
  if (values[key] !== undefined) options[key] = values[key]
}
if (values.stateless) options.stateless = true
for (const key of ['seed', 'state']) {
  if (values[key] !== undefined) options[key] = values[key]
}
if (values['flow-limits']) options.flowLimits = true
const fail = (message) => {
  console.error(`pls-emulator: ${message}\n${usage}`)
  process.exit(2)
}
for (const setting of values.push || []) {
  const at = setting.indexOf('=')
  if (at <= 0 || at === setting.length - 1) fail(`--push takes TYPE=URL, got ${JSON.stringify(setting)}`)
  options.push = { ...options.push, [setting.slice(0, at)]: setting.slice(at + 1) }
}
if ((values.cert === undefined) !== (values.key === undefined)) fail('--cert and --key go together')
if (values.cert !== undefined) {
  if (values['ca-out'] !== undefined) fail('--ca-out writes the CA of a certificate made at start; with --cert there is none')
  try {
    options.tls = { cert: fs.readFileSync(values.cert, 'utf8'), key: fs.readFileSync(values.key, 'utf8') }
  } catch (err) {
    fail(`cannot read the certificate or key: ${err.message}`)
  }
} else if (values.tls) {
  options.tls = true
} else if (values['ca-out'] !== undefined) {
  fail('--ca-out needs --tls')
}

startEmulator(options).then(
  (emu) => {
    // The server runs on the addon's threads, so it answers as soon as it
    // is bound: the handlers go in before the URL is out, or a client that
    // reads the URL, calls and signals at once could beat them.
    const keepAlive = setInterval(() => {}, 1 << 30)
    let stopping = false
    const shutdown = async () => {
      // A second signal while the state file is written does not cut it short.
      if (stopping) return
      stopping = true
      clearInterval(keepAlive)
      try {
        await emu.stop()
      } catch (err) {
        // The state file could not be written: say so, and fail.
        console.error(`pls-emulator: ${err.message}`)
        process.exit(1)
      }
      process.exit(0)
    }
    // Node maps Ctrl+Break to SIGBREAK and a closed console window to SIGHUP on Windows.
    const signals = process.platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP'] : ['SIGINT', 'SIGTERM']
    for (const signal of signals) process.on(signal, shutdown)
    if (values['stop-on-stdin-close']) process.stdin.once('end', shutdown).once('error', shutdown).resume()
    if (values['ca-out'] !== undefined) {
      // Written before the URL is printed, so a script that waits for the
      // URL can read the CA at once.
      try {
        fs.writeFileSync(values['ca-out'], emu.ca)
      } catch (err) {
        console.error(`pls-emulator: cannot write --ca-out ${values['ca-out']}: ${err.message}`)
        stopping = true
        emu.stop().finally(() => process.exit(1))
        return
      }
    }
    console.log(emu.url)
    // stdout stays the bare URL for scripts; people get the console's address.
    console.error(`pls-emulator: console at ${emu.url}/__emulator/`)
  },
  (err) => {
    console.error(`pls-emulator: ${err.message}`)
    process.exit(1)
  },
)
