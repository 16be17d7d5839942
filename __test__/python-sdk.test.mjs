// Aliyun's official Python SDK, unchanged, runs one life cycle per family
// against the emulator, in each of its signature modes: the classic one
// (signature_algorithm='v2'), its default, ACS3-HMAC-SHA256 (action and
// version in x-acs-* headers, an Authorization header), and ACS3-HMAC-SM3
// (the same with the runtime's own SM3). Skipped, saying why,
// when the Python package is absent (CI installs it and sets
// PLS_TEST_PYTHON_SDK=1, which makes its absence a failure).
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

for (const [mode, label] of [['v2', 'v2 signature'], ['acs3', 'default ACS3 signature'], ['sm3', 'ACS3-HMAC-SM3 signature']]) {
  for (const [family, check] of Object.entries(FAMILY_CHECKS)) {
    test(`Python SDK (${label}): ${family} life cycle`, { skip: missing || false }, async () => {
      check(await runFamily(emu.url, mode, family))
    })
  }
}
