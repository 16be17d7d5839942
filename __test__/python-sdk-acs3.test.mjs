// The official Python SDK in its default mode (ACS3-HMAC-SHA256: action and
// version in x-acs-* headers, an Authorization header) runs the same life
// cycles against the emulator. Skipped, saying why, when the Python package
// is absent.
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
  test(`Python SDK (default ACS3 signature): ${family} life cycle`, { skip: missing || false }, async () => {
    check(await runFamily(emu.url, 'acs3', family))
  })
}
