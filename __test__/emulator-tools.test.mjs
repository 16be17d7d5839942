// The emulator's test-tool features from outside: the CLI's --state across a
// restart and its refusal of another version, --tls with --ca-out running
// the seed demo over HTTPS, --cert/--key, --seed, --flow-limits; seeds and
// TLS from startEmulator; the request log of what pls-native sent, in every
// signature kind, never showing a secret.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { needsOpenssl } from './support/tls-ca.mjs'
import { cliPath as cli, killAll, startCli, stopCli as stopCliCleanly } from './support/cli.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')
const { linkExamples } = require('../examples/link.js')

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const CLOCK = '2018-08-01 00:00:00'
const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2018-08-05 12:00:00' }

function tempDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pls-native-${name}-`))
}

after(killAll)

/** Stops the CLI cleanly, which must exit 0. */
async function stopCli(running, signal = 'SIGTERM') {
  const { code, stderr } = await stopCliCleanly(running, signal)
  assert.equal(code, 0, stderr())
}

async function getJson(url, pathname, ca) {
  if (!ca) return (await fetch(`${url}${pathname}`)).json()
  const https = require('node:https')
  return new Promise((resolve, reject) => {
    https.get(`${url}${pathname}`, { ca }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve(JSON.parse(body)))
    }).on('error', reject)
  })
}

function client(url, extra = {}) {
  return new PLSClient({ ...KEYS, endpoint: url, dybaseEndpoint: url, mnsEndpoint: url, ...extra })
}

test('--state: the state survives a restart, written atomically at SIGTERM and SIGINT (on Windows, stdin closed)', async () => {
  const dir = tempDir('state')
  const file = path.join(dir, 'emulator.json')
  try {
    const first = startCli(['--clock', CLOCK, '--state', file])
    const url = await first.url
    const bound = await client(url).bindAxb(BIND)
    await stopCli(first, 'SIGTERM')
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'))
    assert.equal(saved.format, 'pls-emulator-state')
    assert.equal(saved.version, 1)
    assert.deepEqual(fs.readdirSync(dir), ['emulator.json'], 'no temporary file left')

    const second = startCli(['--clock', CLOCK, '--state', file])
    const again = await second.url
    const state = await getJson(again, '/__emulator/state')
    assert.equal(state.bindings.length, 1)
    assert.equal(state.bindings[0].subsId, bound.SecretBindDTO.SubsId)
    const detail = await client(again).querySubscriptionDetail({ PoolKey: BIND.PoolKey, SubsId: bound.SecretBindDTO.SubsId, PhoneNoX: bound.SecretBindDTO.SecretNo })
    assert.equal(detail.SecretBindDetailDTO.Status, 1, 'still live after the restart')
    await client(again).unbindSubscription({ PoolKey: BIND.PoolKey, SubsId: bound.SecretBindDTO.SubsId, SecretNo: bound.SecretBindDTO.SecretNo })
    await stopCli(second, 'SIGINT')
    const resaved = JSON.parse(fs.readFileSync(file, 'utf8'))
    assert.equal(resaved.model.bindings[0].released, true, 'written again at SIGINT')

    // Another version is refused, named, and the file is left as it was.
    fs.writeFileSync(file, JSON.stringify({ ...resaved, version: 7, emulator: '9.0.0' }))
    const refused = spawnSync(process.execPath, [cli, '--state', file], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(refused.status, 1)
    assert.match(refused.stderr, /state format version 7 by pls-emulator 9\.0\.0/)
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).version, 7)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('--tls --ca-out: HTTPS with a CA made at start, and the seed demo binds through it', async () => {
  linkExamples()
  const dir = tempDir('tls')
  const ca = path.join(dir, 'ca.pem')
  try {
    const running = startCli(['--tls', '--ca-out', ca, '--clock', CLOCK])
    const url = await running.url
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, 'the first stdout line is the https URL')
    const pem = fs.readFileSync(ca, 'utf8')
    assert.match(pem, /^-----BEGIN CERTIFICATE-----/)
    // The seed demo, unchanged, trusting the CA through NODE_EXTRA_CA_CERTS.
    const demo = spawnSync(process.execPath, [path.join(root, 'examples', 'seed-demo.js')], {
      cwd: path.join(root, 'examples'),
      encoding: 'utf8',
      env: { ...process.env, PLS_ENDPOINT: url, NODE_EXTRA_CA_CERTS: ca },
      timeout: 30_000,
    })
    assert.match(demo.stdout, /绑定axb成功/, demo.stdout + demo.stderr)
    const [sent] = (await getJson(url, '/__emulator/requests', pem)).entries
    assert.equal(sent.action, 'BindAxb')
    assert.equal(sent.code, 'OK')
    // Without the CA the same client refuses the certificate.
    await assert.rejects(client(url).bindAxb(BIND), { code: 'SDK.TlsError' })
    await stopCli(running)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('--cert/--key serve your own certificate', { skip: needsOpenssl }, async () => {
  const dir = tempDir('cert')
  try {
    // A throwaway CA of our own, and a certificate for 127.0.0.1 it signs.
    const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pls-native test CA')
    openssl('req', ...ec, '-keyout', 'key.pem', '-out', 'cert.csr', '-subj', '/CN=localhost')
    fs.writeFileSync(path.join(dir, 'cert.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
    openssl('x509', '-req', '-in', 'cert.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'cert.ext')
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8')
    const ca = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8')
    const running = startCli(['--cert', path.join(dir, 'cert.pem'), '--key', path.join(dir, 'key.pem'), '--clock', CLOCK])
    const url = await running.url
    assert.match(url, /^https:/)
    assert.equal((await client(url, { ca }).bindAxb(BIND)).Code, 'OK')
    await stopCli(running)

    // The same from JS, with Buffers.
    const emu = await startEmulator({ clock: CLOCK, tls: { cert: Buffer.from(cert), key: fs.readFileSync(path.join(dir, 'key.pem')) } })
    assert.equal(emu.ca, undefined, 'your own certificate: no CA of ours')
    assert.equal((await client(emu.url, { ca }).bindAxb(BIND)).Code, 'OK')
    await emu.stop()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('CLI flags are checked before anything starts', () => {
  for (const [args, message] of [
    [['--cert', 'c.pem'], /--cert and --key go together/],
    [['--ca-out', 'ca.pem'], /--ca-out needs --tls/],
    [['--seed', 'no-such-seed.json'], /cannot read seed file no-such-seed\.json/],
  ]) {
    const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 })
    assert.notEqual(result.status, 0, args.join(' '))
    assert.match(result.stderr, message)
    assert.equal(result.stdout, '', 'no URL printed')
  }
})

test('--seed and --flow-limits', async () => {
  const dir = tempDir('seed')
  const seed = path.join(dir, 'seed.json')
  fs.writeFileSync(
    seed,
    JSON.stringify({
      account: '13635054',
      keys: [{ accessKeyId: 'seeded-id', accessKeySecret: 'seeded-secret' }],
      clock: CLOCK,
      pools: [{ poolKey: 'FC-SEEDED', cities: { 北京: 2, 上海: 1 } }],
      bindings: [{ phoneNoA: '13100000001', phoneNoB: '13100000002', expectCity: '上海', expiresInSeconds: 3600, outId: 'seeded' }],
    }),
  )
  try {
    const running = startCli(['--seed', seed, '--flow-limits'])
    const url = await running.url
    const state = await getJson(url, '/__emulator/state')
    assert.equal(state.account, '13635054')
    assert.equal(state.clock.slice(0, 10), '2018-08-01')
    assert.deepEqual(state.pools[0].numbers.map((n) => n.city), ['北京', '北京', '上海'])
    assert.equal(state.bindings[0].outId, 'seeded')
    assert.equal(state.bindings[0].secretNo, state.pools[0].numbers[2].number, 'ExpectCity 上海')
    const seeded = client(url, { accessKeyId: 'seeded-id', secretAccessKey: 'seeded-secret' })
    assert.equal((await seeded.bindAxb({ ...BIND, PoolKey: 'FC-SEEDED' })).Code, 'OK')
    const health = await getJson(url, '/__emulator/health')
    assert.deepEqual(health.flowLimits, { BindAxb: 5000, BindAxn: 5000, UnbindSubscription: 5000, UpdateSubscription: 10000 })
    await stopCli(running)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('the request log shows what pls-native sent, in each signature kind, and no secret', async () => {
  const emu = await startEmulator({ clock: CLOCK, keys: [{ accessKeyId: 'log-id', accessKeySecret: 'log-secret-value' }] })
  try {
    const keys = { accessKeyId: 'log-id', secretAccessKey: 'log-secret-value' }
    for (const signatureAlgorithm of ['HMAC-SHA1', 'ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3']) {
      // With a security token (its answer does not matter here): logged, the token masked.
      const withToken = client(emu.url, { ...keys, signatureAlgorithm, securityToken: 'sts-token-value' })
      await withToken.querySubscriptionDetail({ PoolKey: BIND.PoolKey, SubsId: '1', PhoneNoX: '1' }).catch(() => {})
      const plain = client(emu.url, { ...keys, signatureAlgorithm })
      const reply = await plain.bindAxb({ ...BIND, PhoneNoA: `1304058000${signatureAlgorithm.length % 10}` })
      assert.equal(reply.Code, 'OK', signatureAlgorithm)
    }
    const { entries } = await emu.control('requests')
    assert.equal(entries.length, 6)
    assert.deepEqual(
      entries.map((e) => e.signature),
      ['ACS3-HMAC-SM3', 'ACS3-HMAC-SM3', 'ACS3-HMAC-SHA256', 'ACS3-HMAC-SHA256', 'HMAC-SHA1', 'HMAC-SHA1'],
    )
    assert.deepEqual(
      entries.map((e) => e.action),
      ['BindAxb', 'QuerySubscriptionDetail', 'BindAxb', 'QuerySubscriptionDetail', 'BindAxb', 'QuerySubscriptionDetail'],
    )
    for (const e of entries) {
      assert.equal(e.accessKeyId, 'log-id')
      assert.ok(e.latencyMs >= 0)
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    }
    assert.equal(entries[0].code, 'OK')
    assert.equal(entries[0].params.PoolKey, BIND.PoolKey)
    assert.equal(entries[5].params.SecurityToken, '***')
    assert.equal(entries[5].params.Signature, '***')
    assert.equal(entries[1].headers['x-acs-security-token'], '***')
    const text = JSON.stringify(entries)
    for (const secret of ['log-secret-value', 'sts-token-value']) assert.ok(!text.includes(secret), `${secret} is never shown`)
    assert.ok(entries.filter((e) => e.signature.startsWith('ACS3')).every((e) => e.headers.authorization.endsWith('Signature=***')))
  } finally {
    await emu.stop()
  }
})

test('startEmulator: a seed object, a bad seed, and a state file that cannot be written', async () => {
  const emu = await startEmulator({ seed: { clock: CLOCK, bindings: [{ kind: 'AXN', phoneNoA: '13100000009', expiration: '2018-08-02 00:00:00' }] } })
  assert.equal((await emu.control('state')).bindings[0].kind, 'Axn')
  await emu.stop()
  await assert.rejects(startEmulator({ seed: { bindings: [{ phoneNoA: '13100000009' }] } }), /seed binding #1.*expiresInSeconds/)
  await assert.rejects(startEmulator({ seed: { pool: [] } }), /unknown field `pool`/)

  const dir = tempDir('unwritable')
  const stateFile = path.join(dir, 'gone', 'state.json')
  try {
    const lost = await startEmulator({ clock: CLOCK, state: stateFile })
    await assert.rejects(lost.stop(), /state file .*state\.json: cannot write it/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
