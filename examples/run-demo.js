#!/usr/bin/env node
// `npm run demo`: starts the emulator with its clock set so that the seed
// demo's 2018 dates are valid, runs the seed demo unchanged (with
// @alicloud/pls-sdk resolving to this package and PLS_ENDPOINT set), then
// the whole-life example, then stops the emulator.
'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { startEmulator } = require('../emulator.js')
const { linkExamples } = require('./link.js')

const examples = __dirname

function run(script, url) {
  console.log(`\n$ PLS_ENDPOINT=${url} node examples/${script}`)
  const result = spawnSync(process.execPath, [path.join(examples, script)], {
    cwd: examples,
    stdio: 'inherit',
    env: { ...process.env, PLS_ENDPOINT: url },
  })
  return result.status === 0
}

async function main() {
  linkExamples()
  const emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
  console.log(`emulator listening on ${emu.url} (business clock 2018-08-01 00:00:00, Beijing time)`)
  try {
    const ok = run('seed-demo.js', emu.url) && run('lifecycle.js', emu.url)
    process.exitCode = ok ? 0 : 1
  } finally {
    await emu.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
