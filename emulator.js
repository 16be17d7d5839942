'use strict'
// The emulator of dyplsapi, dybaseapi and MNS, served from this process.
//   const { startEmulator } = require('pls-native/emulator')
//   const emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
//   ... PLS_ENDPOINT = emu.url ...
//   await emu.stop()
const native = require('./native.js')

/**
 * Starts an emulator. Options (all optional): host, port, keys
 * ([{accessKeyId, accessKeySecret}]), pools ([{poolKey, numbers: [{number, city}]}]),
 * clock ('YYYY-MM-DD HH:mm:ss', Beijing time), account, stateless,
 * push ({ SecretReport: 'http://...' }: receipt types pushed, not queued), pushTimeoutMs.
 */
async function startEmulator(options = {}) {
  const handle = await native.startEmulator(JSON.stringify(options))
  const url = handle.url
  return {
    url,
    /** Stops serving; resolves once the port is closed. */
    stop: () => handle.stop(),
    /** Calls the control API: `control('calls', {...})`, `control('state')`. */
    async control(path, body) {
      const response = await fetch(`${url}/__emulator/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      const value = text ? JSON.parse(text) : undefined
      if (!response.ok) {
        const err = new Error(`emulator control ${path} failed with ${response.status}: ${text}`)
        err.status = response.status
        err.body = value
        throw err
      }
      return value
    },
  }
}

module.exports = { startEmulator }
