'use strict'
// The emulator of dyplsapi, dybaseapi and MNS, served from this process.
//   const { startEmulator } = require('pls-native/emulator')
//   const emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
//   ... PLS_ENDPOINT = emu.url ...
//   await emu.stop()
const native = require('./native.js')

/** A PEM given as a string, Buffer or Uint8Array, as text. */
function pemText(value, name) {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8')
  throw new TypeError(`emulator option tls.${name} must be a PEM string or Buffer`)
}

/**
 * Starts an emulator. Options (all optional): host, port, keys
 * ([{accessKeyId, accessKeySecret}]), pools ([{poolKey, numbers: [{number, city}]}]),
 * clock ('YYYY-MM-DD HH:mm:ss', Beijing time), account, stateless,
 * push ({ SecretReport: 'http://...' }: receipt types pushed, not queued), pushTimeoutMs,
 * seed (a file path or the seed object), state (a state file path),
 * tls (true, or { cert, key } PEM), flowLimits (true or { Action: qps }).
 */
async function startEmulator(options = {}) {
  let config = options || {}
  if (config.tls && typeof config.tls === 'object') {
    config = { ...config, tls: { cert: pemText(config.tls.cert, 'cert'), key: pemText(config.tls.key, 'key') } }
  }
  const handle = await native.startEmulator(JSON.stringify(config))
  const url = handle.url
  return {
    url,
    /** The CA (PEM) to trust when serving HTTPS with a certificate made at start. */
    ca: handle.ca || undefined,
    /** Stops serving; resolves once the port is closed and the state file (if any) is written. */
    stop: () => handle.stop(),
    /** Calls the control API: `control('calls', {...})`, `control('state')`. */
    async control(path, body) {
      const { status, text } = await send(`${url}/__emulator/${path}`, body, handle.ca)
      const value = text ? JSON.parse(text) : undefined
      if (status < 200 || status > 299) {
        const err = new Error(`emulator control ${path} failed with ${status}: ${text}`)
        err.status = status
        err.body = value
        throw err
      }
      return value
    },
  }
}

/** GET (body undefined) or POST JSON; over HTTPS trusting `ca` when given. */
function send(target, body, ca) {
  const secure = target.startsWith('https:')
  const transport = secure ? require('node:https') : require('node:http')
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: payload === undefined ? 'GET' : 'POST',
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        ...(secure && ca ? { ca } : {}),
      },
      (response) => {
        const chunks = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') }))
        response.on('error', reject)
      },
    )
    request.on('error', reject)
    request.end(payload)
  })
}

module.exports = { startEmulator }
