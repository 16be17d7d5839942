'use strict'
// Seeing what the client does, the two ways Node programs expect:
//   DEBUG=pls-native   one line per call on stderr (the `debug` package's
//                      DEBUG syntax: comma or space lists, `*`, `-name`)
//   node:diagnostics_channel  pls-native:request:start / :end / :error,
//                      for APM tools, as undici publishes its requests.
// A call nobody watches goes straight to the native method: one flag and
// three hasSubscribers reads are all it costs.
const diagnostics = require('node:diagnostics_channel')
const { performance } = require('node:perf_hooks')

const NAMESPACE = 'pls-native'

const channels = {
  start: diagnostics.channel('pls-native:request:start'),
  end: diagnostics.channel('pls-native:request:end'),
  error: diagnostics.channel('pls-native:request:error'),
}

/**
 * Whether a DEBUG value enables `namespace`, read as the `debug` package
 * reads it: names separated by commas or spaces, `*` matching anything, and
 * a name prefixed with `-` disabling it whatever else matches.
 */
function debugEnabled(spec, namespace = NAMESPACE) {
  let enabled = false
  for (const part of String(spec || '').split(/[\s,]+/)) {
    if (!part) continue
    const skip = part[0] === '-'
    const pattern = skip ? part.slice(1) : part
    const source = pattern
      .split('*')
      .map((piece) => piece.replace(/[|\\{}()[\]^$+?.]/g, '\\$&'))
      .join('.*?')
    if (new RegExp(`^${source}$`).test(namespace)) {
      if (skip) return false
      enabled = true
    }
  }
  return enabled
}

// Read once, as `debug` does: the variable is set when the program starts.
const debugOn = debugEnabled(process.env.DEBUG)

const SERVICE = { dypls: 0, dybase: 1, mns: 2 }

/** The nine methods of the original and their actions. */
const RPC_METHODS = {
  bindAxb: 'BindAxb',
  bindAxn: 'BindAxn',
  bindAxnExtension: 'BindAxnExtension',
  buySecretNo: 'BuySecretNo',
  releaseSecretNo: 'ReleaseSecretNo',
  queryRecordFileDownloadUrl: 'QueryRecordFileDownloadUrl',
  querySubscriptionDetail: 'QuerySubscriptionDetail',
  unbindSubscription: 'UnbindSubscription',
  updateSubscription: 'UpdateSubscription',
}

/** Whether a call's options set a proxy of their own. */
function setsProxy(options) {
  return options !== null && typeof options === 'object' &&
    (options.httpProxy != null || options.httpsProxy != null || options.noProxy != null)
}

/**
 * Wraps the client's calling methods so that each call can be logged and
 * published. `clientHosts(client)` names the host of each service;
 * `clientProxy(client, service, options)` the proxy a call goes through.
 */
function instrument(PLSClient, clientHosts, clientProxy) {
  const proto = PLSClient.prototype
  const hosts = new WeakMap()
  const proxies = new WeakMap()
  const hostOf = (client, service) => {
    let list = hosts.get(client)
    if (!list) {
      try {
        list = clientHosts(client)
      } catch {
        list = []
      }
      hosts.set(client, list)
    }
    return list[service] || ''
  }
  // The proxy is fixed per client and service unless the call names its own.
  const proxyOf = (client, service, options) => {
    if (typeof clientProxy !== 'function') return undefined
    try {
      if (setsProxy(options)) return clientProxy(client, service, options) || undefined
      let list = proxies.get(client)
      if (!list) {
        list = [0, 1, 2].map((s) => clientProxy(client, s))
        proxies.set(client, list)
      }
      return list[service] || undefined
    } catch {
      return undefined
    }
  }

  // `optionsAt`: which argument is the call's options object, when it may name a proxy.
  const wrap = (method, actionOf, service, optionsAt) => {
    const descriptor = Object.getOwnPropertyDescriptor(proto, method)
    const original = descriptor && descriptor.value
    if (typeof original !== 'function') return
    const observed = {
      // Five: receiveMsg's (type, queueName, waitSeconds, isDel, options) is the longest.
      [method](a, b, c, d, e) {
        if (!debugOn && !channels.start.hasSubscribers && !channels.end.hasSubscribers && !channels.error.hasSubscribers) {
          return original.call(this, a, b, c, d, e)
        }
        const args = [a, b, c, d, e]
        const proxy = proxyOf(this, service, optionsAt === undefined ? undefined : args[optionsAt])
        return observe(this, original, args, actionOf(a), hostOf(this, service), proxy)
      },
    }[method]
    Object.defineProperty(proto, method, { ...descriptor, value: observed })
  }

  for (const [method, action] of Object.entries(RPC_METHODS)) wrap(method, () => action, SERVICE.dypls, 1)
  wrap('request', (action) => String(action), SERVICE.dypls, 2)
  wrap('receiveMsg', () => 'ReceiveMessage', SERVICE.mns)
  wrap('deleteMsg', () => 'DeleteMessage', SERVICE.mns)
}

/**
 * Runs one call between a `start` and exactly one `end` or `error`; the
 * same object is published on both, so a tracer can keep its span on it.
 */
function observe(client, original, args, action, host, proxy) {
  const context = { action, host }
  // `scheme://host:port` of the proxy the call goes through; absent when direct.
  if (proxy) context.proxy = proxy
  const started = performance.now()
  if (channels.start.hasSubscribers) channels.start.publish(context)
  let promise
  try {
    promise = Reflect.apply(original, client, args)
  } catch (err) {
    // A missing required parameter throws before any request is made.
    finish(context, started, undefined, err)
    throw err
  }
  return Promise.resolve(promise).then(
    (result) => {
      finish(context, started, result, undefined)
      return result
    },
    (err) => {
      finish(context, started, undefined, err)
      throw err
    },
  )
}

/** The HTTP status of the reply, when there was one. */
function statusOf(result, err) {
  if (err) {
    const status = err.entry && err.entry.response && err.entry.response.statusCode
    return typeof status === 'number' ? status : undefined
  }
  // receiveMsg resolves with the reply's status as `code`; an RPC success is
  // a 200 from the service.
  if (result && typeof result.code === 'number') return result.code
  return 200
}

function finish(context, started, result, err) {
  context.duration = performance.now() - started
  context.status = statusOf(result, err)
  const code = err ? err.code : result && result.Code
  context.code = code === undefined || code === null ? undefined : String(code)
  // With retries, an error says how many attempts it took.
  context.attempts = err && Number.isInteger(err.attempts) ? err.attempts : 1
  if (err) {
    context.error = err
    if (channels.error.hasSubscribers) channels.error.publish(context)
  } else if (channels.end.hasSubscribers) {
    channels.end.publish(context)
  }
  if (debugOn) log(context)
}

/** One line per call; only these fields, so no key, signature, token or proxy password. */
function log({ action, host, status, code, duration, attempts, proxy }) {
  const line =
    `${new Date().toISOString()} ${NAMESPACE} ${action} host=${host || '-'} ` +
    `status=${status === undefined ? '-' : status} code=${code === undefined ? '-' : code} ` +
    `${duration.toFixed(1)}ms attempts=${attempts}${proxy ? ` proxy=${proxy}` : ''}\n`
  process.stderr.write(line)
}

module.exports = { instrument, debugEnabled, channels }
