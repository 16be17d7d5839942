#!/usr/bin/env node
// pls-emulator [--port N] [--host H] [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless]
//              [--push TYPE=URL ...]
// Prints the base URL as the first stdout line, then serves until SIGINT/SIGTERM.
'use strict'
const { parseArgs } = require('node:util')
const { startEmulator } = require('../emulator.js')

const usage =
  'usage: pls-emulator [--port N] [--host H] [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless]\n' +
  '                    [--push TYPE=URL ...]  (push receipts of TYPE, e.g. SecretReport, to URL instead of queuing them)'

let values
try {
  ;({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      clock: { type: 'string' },
      account: { type: 'string' },
      stateless: { type: 'boolean' },
      push: { type: 'string', multiple: true },
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
for (const setting of values.push || []) {
  const at = setting.indexOf('=')
  if (at <= 0 || at === setting.length - 1) {
    console.error(`--push takes TYPE=URL, got ${JSON.stringify(setting)}\n${usage}`)
    process.exit(2)
  }
  options.push = { ...options.push, [setting.slice(0, at)]: setting.slice(at + 1) }
}

startEmulator(options).then(
  (emu) => {
    // The server runs on the addon's threads; this keeps Node's loop alive.
    const keepAlive = setInterval(() => {}, 1 << 30)
    const shutdown = async () => {
      clearInterval(keepAlive)
      await emu.stop()
      process.exit(0)
    }
    // Before the URL is printed: whoever reads it may stop us at once.
    process.once('SIGINT', shutdown)
    process.once('SIGTERM', shutdown)
    console.log(emu.url)
    // stdout stays the bare URL for scripts; people get the console's address.
    console.error(`pls-emulator: console at ${emu.url}/__emulator/`)
  },
  (err) => {
    console.error(`pls-emulator: ${err.message}`)
    process.exit(1)
  },
)
