// DEBUG=pls-native logging (in child processes, since DEBUG is read when
// the package loads) and the pls-native:request:* diagnostics channels.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawn } from 'node:child_process'
import diagnostics from 'node:diagnostics_channel'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')
const { debugEnabled } = require('../observe.js')

const here = path.dirname(fileURLToPath(import.meta.url))
const entry = path.join(here, '..', 'index.js')

const SECRET = 'yourAccessKeySecret'
const WRONG_SECRET = 'wrong-secret-4f1d9c'
const TOKEN = 'sts-token-7c2e5a'
const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2018-08-05 12:00:00' }

let emu
before(async () => {
  emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
})
after(async () => {
  await emu.stop()
})

function client(extra = {}) {
  return new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: SECRET, endpoint: emu.url, ...extra })
}

/** Runs a script in a child node with the given DEBUG; resolves with its output. */
function runChild(debug, script) {
  const env = { ...process.env }
  delete env.DEBUG
  if (debug !== undefined) env.DEBUG = debug
  const child = spawn(process.execPath, ['-e', script], { env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

const LINE = /^\d{4}-\d\d-\d\dT[\d:.]+Z pls-native (\S+) host=(\S+) status=(\S+) code=(\S+) ([\d.]+)ms attempts=(\d+)$/

test('DEBUG is read the way the debug package reads it', () => {
  for (const on of ['pls-native', '*', 'pls-*', 'express,pls-native', 'express pls-native', ' pls-native ,x']) {
    assert.equal(debugEnabled(on), true, on)
  }
  for (const off of [undefined, '', 'pls', 'pls-native2', 'express:*', '*,-pls-native', '-pls-native,*', 'pls.native']) {
    assert.equal(debugEnabled(off), false, String(off))
  }
})

test('DEBUG=pls-native logs one line per call: action, host, status, Code, latency, attempts; no secret, signature or token', async () => {
  const script = `
    const C = require(${JSON.stringify(entry)})
    const url = ${JSON.stringify(emu.url)}
    const bind = ${JSON.stringify(BIND)}
    const good = new C({ accessKeyId: 'yourAccessKeyId', secretAccessKey: ${JSON.stringify(SECRET)}, securityToken: ${JSON.stringify(TOKEN)}, endpoint: url })
    const bad = new C({ accessKeyId: 'yourAccessKeyId', secretAccessKey: ${JSON.stringify(WRONG_SECRET)}, endpoint: url })
    ;(async () => {
      const bound = await good.bindAxb(bind)
      const conflict = await good.bindAxb({ ...bind, PhoneNoX: bound.SecretBindDTO.SecretNo }).catch((e) => e)
      const denied = await bad.bindAxb(bind).catch((e) => e)
      const signatures = [conflict, denied].map((e) => new URL(e.url).searchParams.get('Signature'))
      console.log(JSON.stringify({ codes: [conflict.code, denied.code], signatures }))
    })()`
  const { status, stdout, stderr } = await runChild('pls-native', script)
  assert.equal(status, 0, stderr)
  const { codes, signatures } = JSON.parse(stdout)
  assert.deepEqual(codes, ['isv.BIND_CONFLICT', 'SignatureDoesNotMatch'])
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 3, stderr)
  const fields = lines.map((line) => {
    const m = LINE.exec(line)
    assert.ok(m, `line format: ${line}`)
    return m.slice(1)
  })
  const host = new URL(emu.url).host
  assert.deepEqual(fields.map(([action, h, st, code, , attempts]) => [action, h, st, code, attempts]), [
    ['BindAxb', host, '200', 'OK', '1'],
    ['BindAxb', host, '200', 'isv.BIND_CONFLICT', '1'],
    ['BindAxb', host, '400', 'SignatureDoesNotMatch', '1'],
  ])
  for (const [, , , , ms] of fields) assert.ok(Number(ms) >= 0)
  for (const secret of [SECRET, WRONG_SECRET, TOKEN, 'Signature=', 'SecurityToken', ...signatures]) {
    assert.ok(secret && !stderr.includes(secret), `stderr must not contain ${secret}`)
    assert.ok(!stderr.includes(encodeURIComponent(secret)), `stderr must not contain ${secret}, encoded`)
  }
})

test('DEBUG lists and wildcards turn the log on; a skip or no DEBUG keeps it off', async () => {
  const script = `
    const C = require(${JSON.stringify(entry)})
    new C({ accessKeyId: 'yourAccessKeyId', secretAccessKey: ${JSON.stringify(SECRET)}, endpoint: ${JSON.stringify(emu.url)} })
      .querySubscriptionDetail({ SubsId: '1', PhoneNoX: '17000000000' }).catch(() => {})`
  for (const [debug, logs] of [['*', true], ['express,pls-native', true], ['*,-pls-native', false], [undefined, false], ['other', false]]) {
    const { status, stderr } = await runChild(debug, script)
    assert.equal(status, 0, stderr)
    const line = stderr.split('\n').find((l) => l.includes(' pls-native '))
    if (logs) assert.match(line || '', / pls-native QuerySubscriptionDetail .*code=isv\.SUBS_NOT_EXIST/, `DEBUG=${debug}: ${stderr}`)
    else assert.equal(line, undefined, `DEBUG=${debug}`)
  }
})

/** Subscribes to the three channels; returns the events and an unsubscribe. */
function listen() {
  const events = []
  const handlers = {}
  for (const kind of ['start', 'end', 'error']) {
    handlers[kind] = (message) => events.push({ kind, message, snapshot: { ...message } })
    diagnostics.subscribe(`pls-native:request:${kind}`, handlers[kind])
  }
  return {
    events,
    stop() {
      for (const kind of ['start', 'end', 'error']) diagnostics.unsubscribe(`pls-native:request:${kind}`, handlers[kind])
    },
  }
}

test('diagnostics channels: start, then end with status and Code, on the same object', async () => {
  const { events, stop } = listen()
  try {
    const result = await client().bindAxn({ PoolKey: BIND.PoolKey, PhoneNoA: '13100000077', Expiration: BIND.Expiration })
    assert.equal(result.Code, 'OK')
    assert.deepEqual(events.map((e) => e.kind), ['start', 'end'])
    const [start, end] = events
    assert.equal(start.message, end.message, 'one object per call')
    assert.deepEqual(start.snapshot, { action: 'BindAxn', host: new URL(emu.url).host })
    assert.equal(end.snapshot.status, 200)
    assert.equal(end.snapshot.code, 'OK')
    assert.equal(end.snapshot.attempts, 1)
    assert.equal(typeof end.snapshot.duration, 'number')
    assert.ok(end.snapshot.duration >= 0)
    assert.ok(!('error' in end.snapshot))
  } finally {
    stop()
  }
})

test('diagnostics channels: API, network and argument failures publish error with the error', async () => {
  const { events, stop } = listen()
  try {
    const denied = await client({ secretAccessKey: WRONG_SECRET }).request('QueryCallStatus', { PoolKey: 'x' }).catch((e) => e)
    const refused = await client({ endpoint: 'http://127.0.0.1:1' }).unbindSubscription({ SubsId: '1', SecretNo: '1' }).catch((e) => e)
    assert.throws(() => client().bindAxb({ PoolKey: 'x' }), TypeError)
    assert.deepEqual(events.map((e) => e.kind), ['start', 'error', 'start', 'error', 'start', 'error'])
    const errors = events.filter((e) => e.kind === 'error').map((e) => e.snapshot)
    assert.deepEqual(
      errors.map(({ action, host, status, code }) => ({ action, host, status, code })),
      [
        { action: 'QueryCallStatus', host: new URL(emu.url).host, status: 400, code: 'SignatureDoesNotMatch' },
        { action: 'UnbindSubscription', host: '127.0.0.1:1', status: undefined, code: refused.code },
        { action: 'BindAxb', host: new URL(emu.url).host, status: undefined, code: undefined },
      ],
    )
    assert.equal(errors[0].error, denied)
    assert.equal(errors[1].error, refused)
    assert.equal(errors[2].error.name, 'TypeError')
    // A refused connection is retried (twice by default); the others are not.
    assert.deepEqual(errors.map((e) => e.attempts), [1, 3, 1])
    for (const e of errors) assert.ok(e.duration >= 0)
  } finally {
    stop()
  }
})

test('receiveMsg is traced against the MNS host', async () => {
  const { events, stop } = listen()
  try {
    const c = client({ dybaseEndpoint: emu.url, mnsEndpoint: emu.url })
    const err = await c.receiveMsg(0, 'Alicom-Queue-1234567890-SecretReport', 1).catch((e) => e)
    assert.equal(err.name, 'MNSMessageNotExistError')
    assert.deepEqual(events.map((e) => e.kind), ['start', 'error'])
    assert.equal(events[1].snapshot.action, 'ReceiveMessage')
    assert.equal(events[1].snapshot.host, new URL(emu.url).host)
  } finally {
    stop()
  }
})

test('with nobody listening, calls go straight through: sync TypeErrors and API errors unchanged', async () => {
  assert.equal(diagnostics.channel('pls-native:request:start').hasSubscribers, false)
  assert.throws(() => client().bindAxb({ PoolKey: 'x' }), { name: 'TypeError', message: 'parameter "PhoneNoA" is required' })
  const err = await client().bindAxb({ ...BIND, PhoneNoA: 'bad' }).catch((e) => e)
  assert.equal(err.code, 'isv.MOBILE_NUMBER_ILLEGAL')
  assert.equal(err.data.Code, 'isv.MOBILE_NUMBER_ILLEGAL')
  assert.equal(PLSClient.prototype.bindAxb.name, 'bindAxb')
})
