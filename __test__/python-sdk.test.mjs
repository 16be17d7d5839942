// The official Python SDK, unchanged, with its classic signature
// (signature_algorithm='v2'), runs one life cycle per family against the
// emulator. Skipped, saying why, when the Python package is absent.
import { test, before, after } from 'node:test'
import { createRequire } from 'node:module'
import { FAMILY_CHECKS, pythonSdkMissing, runFamily } from './support/python-sdk.mjs'

const require = createRequire(import.meta.url)
const { startEmulator } = require('../emulator.js')

const missing = pythonSdkMissing()
let emu

before(async () => {
  if (!missing) emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
})
after(async () => {
  if (emu) await emu.stop()
})

for (const [family, check] of Object.entries(FAMILY_CHECKS)) {
  test(`Python SDK (v2 signature): ${family} life cycle`, { skip: missing || false }, async () => {
    check(await runFamily(emu.url, 'v2', family))
  })
}
