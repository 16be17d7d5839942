// The official Python SDK in its default mode (ACS3-HMAC-SHA256: action and
// version in x-acs-* headers, an Authorization header) runs the same life
// cycles against the emulator. Skipped, saying why, when the Python package
// is absent or the emulator does not verify ACS3 signatures yet.
import { test, before, after } from 'node:test'
import { createRequire } from 'node:module'
import { FAMILY_CHECKS, pythonSdkMissing, runFamily } from './support/python-sdk.mjs'

const require = createRequire(import.meta.url)
const { startEmulator } = require('../emulator.js')

// Set to true once the emulator's gateway verifies ACS3-HMAC-SHA256 requests.
const EMULATOR_VERIFIES_ACS3 = false

const missing =
  pythonSdkMissing() ||
  (EMULATOR_VERIFIES_ACS3 ? null : 'the emulator does not verify ACS3-HMAC-SHA256 signatures yet (every call is MissingVersion)')
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
