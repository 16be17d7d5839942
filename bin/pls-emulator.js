#!/usr/bin/env node
// pls-emulator [--port N] [--host H] [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless] [--stop-on-stdin-close]
// Prints the base URL as the first stdout line, then serves until SIGINT or
// SIGTERM (on Windows: Ctrl+C, Ctrl+Break or a closed console), or, with
// --stop-on-stdin-close, until its standard input closes: the way a parent
// process stops it cleanly on Windows, where it cannot send a signal.
'use strict'
const { parseArgs } = require('node:util')
const { startEmulator } = require('../emulator.js')

const usage = 'usage: pls-emulator [--port N] [--host H] [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless] [--stop-on-stdin-close]'

let values
try {
  ;({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      clock: { type: 'string' },
      account: { type: 'string' },
      stateless: { type: 'boolean' },
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

startEmulator(options).then(
  (emu) => {
    // The server runs on the addon's threads; this keeps Node's loop alive.
    const keepAlive = setInterval(() => {}, 1 << 30)
    let stopping = false
    const shutdown = async () => {
      if (stopping) return
      stopping = true
      clearInterval(keepAlive)
      await emu.stop()
      process.exit(0)
    }
    // Node maps Ctrl+Break to SIGBREAK and a closed console window to SIGHUP on Windows.
    const signals = process.platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP'] : ['SIGINT', 'SIGTERM']
    for (const signal of signals) process.once(signal, shutdown)
    if (values['stop-on-stdin-close']) process.stdin.once('end', shutdown).once('error', shutdown).resume()
    // Printed once a stop is handled: whoever reads the URL may stop it at once.
    console.log(emu.url)
    // stdout stays the bare URL for scripts; people get the console's address.
    console.error(`pls-emulator: console at ${emu.url}/__emulator/`)
  },
  (err) => {
    console.error(`pls-emulator: ${err.message}`)
    process.exit(1)
  },
)
