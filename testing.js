'use strict'
// The emulator as a test tool, for node:test, Jest, Vitest and the rest:
//
//   const { startTestEmulator } = require('pls-native/testing')
//   const emu = await startTestEmulator({ clock: '2018-08-01 00:00:00' })
//   beforeEach(() => emu.reset())
//   after(() => emu.stop())
//
// One emulator per test file: it starts in-process in milliseconds on its
// own port, so files running in parallel (node:test and Jest run each file
// in a worker process, Vitest in a fork or thread) never share state, and
// nothing needs a global setup. PLS_ENDPOINT is set for the code under
// test while it runs. Within one file, reset() between tests.
const { isMainThread } = require('node:worker_threads')
const { startEmulator } = require('./emulator.js')
const native = require('./native.js')

const DEMO_KEYS = { accessKeyId: 'yourAccessKeyId', accessKeySecret: 'yourAccessKeySecret' }
const DEFAULT_POOL_KEY = 'FC100000xxxxxx'

// Emulators started by this module instance, by their options, so a
// second startTestEmulator() with the same options in the same file gets
// the same one.
const running = new Map()
// PLS_ENDPOINT as it was before the first emulator set it.
let savedEndpoint = null

let warnedWorker = false

function setEndpoint(url) {
  if (savedEndpoint === null) savedEndpoint = { value: process.env.PLS_ENDPOINT }
  process.env.PLS_ENDPOINT = url
  // Jest gives each test file a copy of process.env that clients (which
  // read the process environment) never see; set that one too. Worker
  // threads share the process environment, so setting it there would let
  // parallel files see each other's emulator: leave it, and say so.
  if (isMainThread) {
    native.setTestEndpoint(url)
  } else if (!warnedWorker) {
    warnedWorker = true
    process.emitWarning(
      'pls-native/testing runs in a worker thread (e.g. Vitest\'s threads pool), where PLS_ENDPOINT cannot reach the clients without reaching every other thread: create clients with emu.client() or emu.clientOptions(), or use a process pool (Vitest\'s default, forks).',
      { code: 'PLS_TESTING_WORKER_THREAD' },
    )
  }
}

function restoreEndpoint() {
  if (savedEndpoint === null) return
  const { value } = savedEndpoint
  savedEndpoint = null
  if (value === undefined) delete process.env.PLS_ENDPOINT
  else process.env.PLS_ENDPOINT = value
  if (isMainThread) native.setTestEndpoint(value === undefined ? null : value)
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Key for the `running` map: the options as canonical JSON. */
function keyOf(options) {
  const sorted = (value) => {
    if (Array.isArray(value)) return value.map(sorted)
    if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]))
    }
    return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value
  }
  return JSON.stringify(sorted(options))
}

/**
 * Starts an emulator for this test file, or returns the one already
 * started with the same options. Options: those of startEmulator (clock,
 * seed, pools, keys, account, tls, flowLimits, ...), plus `env: false` to
 * leave PLS_ENDPOINT alone.
 */
async function startTestEmulator(options = {}) {
  const { env = true, ...emulatorOptions } = options || {}
  const key = keyOf(emulatorOptions)
  let entry = running.get(key)
  if (!entry) {
    entry = { users: 0, started: startEmulator(emulatorOptions).then((emu) => makeHandle(emu, emulatorOptions, key)) }
    running.set(key, entry)
    entry.started.catch(() => running.delete(key))
  }
  entry.users += 1
  const handle = await entry.started
  entry.url = handle.url
  if (env) setEndpoint(handle.url)
  return handle
}

function makeHandle(emu, options, key) {
  const keys = (options.keys && options.keys[0]) || DEMO_KEYS
  const pools = Array.isArray(options.pools) ? options.pools : null
  let stopped = null

  const handle = {
    /** Base URL of the emulator (https:// with tls). */
    url: emu.url,
    /** The CA to trust when started with `tls: true`. */
    ca: emu.ca,
    /** The key pair tests sign with (the first configured, else the demo pair). */
    accessKeyId: keys.accessKeyId,
    accessKeySecret: keys.accessKeySecret,
    /** The PoolKey of the first pool (FC100000xxxxxx by default). */
    poolKey: pools && pools[0] ? pools[0].poolKey : DEFAULT_POOL_KEY,
    /** The raw control API: control('state'), control('calls', {...}). */
    control: (path, body) => emu.control(path, body),

    /** Options for `new PLSClient(...)` aimed at this emulator. */
    clientOptions(extra = {}) {
      return {
        accessKeyId: handle.accessKeyId,
        secretAccessKey: handle.accessKeySecret,
        endpoint: emu.url,
        dybaseEndpoint: emu.url,
        mnsEndpoint: emu.url,
        ...(emu.ca ? { ca: emu.ca } : {}),
        ...extra,
      }
    },
    /** A pls-native client aimed at this emulator. */
    client(extra = {}) {
      const PLSClient = require('./index.js')
      return new PLSClient(handle.clientOptions(extra))
    },

    /** Back to the initial state: model, queues, clock, faults, request log. */
    async reset() {
      await emu.control('reset', {})
    },
    /** Account, clock, pools, bindings, queues and armed faults. */
    state: () => emu.control('state'),
    /** The bindings, each with `active`; filtered by `{ active, poolKey, phoneNo, secretNo }`. */
    async bindings(filter = {}) {
      const { bindings } = await emu.control('state')
      return bindings.filter(
        (b) =>
          (filter.active === undefined || b.active === filter.active) &&
          (filter.poolKey === undefined || b.poolKey === filter.poolKey) &&
          (filter.secretNo === undefined || b.secretNo === filter.secretNo) &&
          (filter.phoneNo === undefined || b.phoneNoA === filter.phoneNo || b.phoneNoB === filter.phoneNo),
      )
    },
    /** Places a call to X: `{ caller, secretNo, durationSeconds?, outcome? }`; its receipts are queued. */
    call: (call) => emu.control('calls', call),
    /** Sends an SMS to X: `{ sender, secretNo, content? }`. */
    sms: (sms) => emu.control('sms', sms),
    /**
     * The next receipt of a message type (SecretReport, SecretRecording,
     * SecretSmsIntercept, ...), its JSON body, waiting up to `timeoutMs`
     * (5000). Taken off the queue unless `consume: false`.
     */
    async nextReceipt(type, { timeoutMs = 5000, consume = true } = {}) {
      try {
        const { message } = await emu.control('queues/next', { type, waitMs: timeoutMs, consume })
        return message.body
      } catch (err) {
        if (err.status === 404) {
          const e = new Error(`no ${type} receipt arrived within ${timeoutMs} ms`)
          e.code = 'EMULATOR_NO_RECEIPT'
          throw e
        }
        throw err
      }
    },
    /** Every message of a type's queue, bodies decoded, without taking them. */
    async receipts(type) {
      const { queues } = await emu.control('queues')
      const queue = queues.find((q) => q.name.endsWith(`-${type}`))
      if (!queue) throw new Error(`no queue for message type ${JSON.stringify(type)}`)
      return queue.messages.map((m) => m.body)
    },
    /** The requests the emulator served, newest first; `{ action, limit }` narrow them. */
    async requests({ action, limit } = {}) {
      const query = new URLSearchParams()
      if (action) query.set('action', action)
      if (limit) query.set('limit', String(limit))
      const text = query.toString()
      const { entries } = await emu.control(text ? `requests?${text}` : 'requests')
      return entries
    },
    /** Sets the business clock: 'YYYY-MM-DD HH:mm:ss' Beijing time. */
    setClock: (now) => emu.control('clock', { now }),
    /** Moves the business clock by `seconds` (negative: back). */
    advanceClock: (seconds) => emu.control('clock', { advanceSeconds: seconds }),
    /** Arms a fault for the next matching requests: `{ kind, action?, count?, delayMs? }`. */
    fault: (rule) => emu.control('faults', rule),
    /** The whole state, as a state file holds it. */
    snapshot: () => emu.control('snapshot'),
    /** Puts a snapshot back. */
    restore: (snapshot) => emu.control('restore', snapshot),
    /** Waits until `check()` returns a truthy value (polling), or fails after `timeoutMs`. */
    async waitFor(check, { timeoutMs = 5000, intervalMs = 20 } = {}) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const value = await check()
        if (value) return value
        if (Date.now() >= deadline) throw new Error(`waitFor: the condition did not hold within ${timeoutMs} ms`)
        await sleep(intervalMs)
      }
    },
    /**
     * Stops it once every startTestEmulator() that returned it has called
     * stop(); PLS_ENDPOINT goes back to what it was when none is left.
     */
    async stop() {
      const entry = running.get(key)
      if (entry && entry.users > 1) {
        entry.users -= 1
        return
      }
      if (!stopped) {
        running.delete(key)
        if (running.size === 0) restoreEndpoint()
        else if (savedEndpoint !== null) setEndpoint([...running.values()].pop().url)
        stopped = emu.stop()
      }
      return stopped
    },
  }
  return handle
}

module.exports = { startTestEmulator }
