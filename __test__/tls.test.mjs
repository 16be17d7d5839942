// HTTPS trust: the bundled Mozilla roots, the system store, NODE_EXTRA_CA_CERTS
// and the `ca` option, against local HTTPS servers whose certificates come
// from a throwaway CA made here with the openssl command.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { needsOpenssl } from './support/tls-ca.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')
const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'index.js')

const KEYS = { accessKeyId: 'id', secretAccessKey: 'tls-test-secret' }
const REPLY = '{"RequestId":"R","Code":"OK","Message":"OK"}'
let dir
const servers = {}

// Without openssl on Windows, the tests that need certificates skip saying why.
const skip = needsOpenssl

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/** A certificate for `names`, signed by the throwaway CA, valid for `days` (negative: already expired). */
function issue(name, subjectAltName, days) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=pls-native test server')
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`)
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', `${name}.ext`)
}

async function serve(name) {
  const server = https.createServer(
    { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.pem`)) },
    (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(REPLY)
    },
  )
  // A failed handshake is the point of some tests; keep it off stderr.
  server.on('tlsClientError', () => {})
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `https://localhost:${server.address().port}` }
}

before(async () => {
  if (skip) return
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-tls-'))
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pls-native throwaway test CA')
  issue('good', 'DNS:localhost,IP:127.0.0.1', 2)
  issue('expired', 'DNS:localhost,IP:127.0.0.1', -1)
  issue('wronghost', 'DNS:somewhere-else.example', 2)
  for (const name of ['good', 'expired', 'wronghost']) servers[name] = await serve(name)
})

after(() => {
  for (const { server } of Object.values(servers)) {
    server.closeAllConnections()
    server.close()
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

const caPem = () => fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8')

async function outcome(promise) {
  try {
    return { value: await promise }
  } catch (error) {
    return { error }
  }
}

/** One call from a fresh Node process (trust roots are read once per process). */
async function callInChild(url, env) {
  const script = `
    const PLSClient = require(${JSON.stringify(entry)})
    new PLSClient(${JSON.stringify({ ...KEYS, endpoint: url })}).request('QueryCallStatus', { PoolKey: 'FC1' }, { maxRetries: 0 })
      .then((r) => console.log(JSON.stringify({ ok: r.Code })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`
  // Asynchronous: the servers answering the child live in this process.
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: 30_000 })
  return JSON.parse(stdout.trim().split('\n').pop())
}

test('an unknown CA is refused with SDK.TlsError, saying so', { skip }, async () => {
  const client = new PLSClient({ ...KEYS, endpoint: servers.good.url })
  const { error } = await outcome(client.request('QueryCallStatus', { PoolKey: 'FC1' }))
  assert.ok(error, 'the call must fail')
  assert.equal(error.code, 'SDK.TlsError')
  assert.match(error.message, /unknown issuer/)
  assert.doesNotMatch(error.message, /tls-test-secret|Signature=/)
})

test('the ca option (a PEM string, or an array) makes the CA trusted', { skip }, async () => {
  for (const ca of [caPem(), [caPem()]]) {
    const client = new PLSClient({ ...KEYS, endpoint: servers.good.url, ca })
    const result = await client.request('QueryCallStatus', { PoolKey: 'FC1' })
    assert.equal(result.Code, 'OK')
  }
})

test('an expired certificate and a wrong host name each say why they failed', { skip }, async () => {
  const expired = await outcome(new PLSClient({ ...KEYS, endpoint: servers.expired.url, ca: caPem() }).request('QueryCallStatus', {}))
  assert.equal(expired.error?.code, 'SDK.TlsError')
  assert.match(expired.error.message, /expired/)
  const wrongHost = await outcome(new PLSClient({ ...KEYS, endpoint: servers.wronghost.url, ca: caPem() }).request('QueryCallStatus', {}))
  assert.equal(wrongHost.error?.code, 'SDK.TlsError')
  assert.match(wrongHost.error.message, /not valid for this host name/)
})

test('a ca option that holds no certificate is a TypeError at construction', () => {
  assert.throws(() => new PLSClient({ ...KEYS, ca: '/etc/ssl/certs/my-ca.pem' }), (err) => {
    assert.equal(err.name, 'TypeError')
    assert.match(err.message, /"ca"/)
    return true
  })
  assert.throws(() => new PLSClient({ ...KEYS, ca: [42] }), TypeError)
})

test('NODE_EXTRA_CA_CERTS is trusted, as Node trusts it', { skip }, async () => {
  const pemFile = path.join(dir, 'ca.pem')
  assert.equal((await callInChild(servers.good.url, {})).code, 'SDK.TlsError')
  assert.deepEqual(await callInChild(servers.good.url, { NODE_EXTRA_CA_CERTS: pemFile }), { ok: 'OK' })
})

test('with no system CA store at all, clients build and NODE_EXTRA_CA_CERTS still works', { skip }, async () => {
  const empty = fs.mkdtempSync(path.join(dir, 'empty-store-'))
  const noStore = { SSL_CERT_FILE: path.join(empty, 'none.pem'), SSL_CERT_DIR: empty }
  assert.deepEqual(
    await callInChild(servers.good.url, { ...noStore, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') }),
    { ok: 'OK' },
  )
  // Plain HTTP (the emulator) needs no roots at all, and must not be refused for lack of them.
  const emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
  try {
    const reply = await callInChild(emu.url, noStore)
    // The emulator answers (it refuses this test's key with an API error): no SDK.* failure.
    assert.equal(reply.code, 'InvalidAccessKeyId.NotFound', JSON.stringify(reply))
  } finally {
    await emu.stop()
  }
})
