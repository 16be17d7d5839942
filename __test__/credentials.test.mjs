// Where the access key comes from when none is in the code: each source of
// the default chain against the emulator (each in a child process with its
// own HOME, files and environment), their order, caching and refresh on the
// emulator's clock, the `credentials` provider option, and ACS3 signing.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'
import { fileURLToPath } from 'node:url'
import { settle } from './support/settle.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')
const here = path.dirname(fileURLToPath(import.meta.url))
const indexPath = path.join(here, '..', 'index.js')

const DEMO = { id: 'yourAccessKeyId', secret: 'yourAccessKeySecret' }
const CLI = { id: 'cliKeyId', secret: 'cli-secret-value' }
const INI = { id: 'iniKeyId', secret: 'ini-secret-value' }
const BIND = { PoolKey: 'FC100000xxxxxx', PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: '2099-01-01 00:00:00' }
const ROLE_ARN = 'acs:ram::1234567890:role/pls-app'
const PROVIDER_ARN = 'acs:ram::1234567890:oidc-provider/ack-rrsa'

let emu
let scratch
const keys = [
  { accessKeyId: CLI.id, accessKeySecret: CLI.secret },
  { accessKeyId: INI.id, accessKeySecret: INI.secret },
]

before(async () => {
  emu = await startEmulator({ keys })
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-credentials-'))
})
after(async () => {
  await emu.stop()
  fs.rmSync(scratch, { recursive: true, force: true })
})

let homes = 0
/** A fresh HOME, with the given files written under it. */
function home(files = {}) {
  const dir = path.join(scratch, `home-${++homes}`)
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

function ini(key, profile = 'default') {
  return `[${profile}]\ntype = access_key\naccess_key_id = ${key.id}\naccess_key_secret = ${key.secret}\n`
}

function cliConfig(profiles, current = profiles[0].name) {
  return JSON.stringify({ current, profiles })
}

const AK_PROFILE = { name: 'dev', mode: 'AK', access_key_id: CLI.id, access_key_secret: CLI.secret }
const ROLE_PROFILE = {
  name: 'role',
  mode: 'RamRoleArn',
  access_key_id: DEMO.id,
  access_key_secret: DEMO.secret,
  ram_role_arn: ROLE_ARN,
  ram_session_name: 'pls-test',
}

/** Runs `body` in a child node with exactly `env` (no inherited ALIBABA_CLOUD_*); resolves with what it printed last as JSON. */
async function child(env, body = 'out(await call(new PLSClient()))') {
  const script = `
    const PLSClient = require(${JSON.stringify(indexPath)})
    const BIND = ${JSON.stringify(BIND)}
    const out = (v) => console.log(JSON.stringify(v))
    const bind = (i) => ({ ...BIND, PhoneNoA: '1804058' + String(i).padStart(4, '0'), PhoneNoB: '1387114' + String(i).padStart(4, '0') })
    const call = (c, p = BIND, o) => c.bindAxb(p, o).then((r) => ({ code: r.Code }), (e) => ({ code: e.code, name: e.name, message: e.message }))
    ;(async () => { ${body} })().catch((e) => out({ crashed: String(e && e.stack) }))`
  const proc = spawn(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH, PLS_ENDPOINT: emu.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d) => (stdout += d))
  proc.stderr.on('data', (d) => (stderr += d))
  await once(proc, 'close')
  const last = stdout.trim().split('\n').pop()
  assert.ok(last, `no output; stderr: ${stderr}`)
  return JSON.parse(last)
}

const NO_METADATA = { ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' }

async function counts() {
  return emu.control('credentials')
}

test('environment variables: new PLSClient() binds with no key in the code', async () => {
  const r = await child({ HOME: home(), ...NO_METADATA, ALIBABA_CLOUD_ACCESS_KEY_ID: DEMO.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: DEMO.secret })
  assert.deepEqual(r, { code: 'OK' })
})

test('INI file: ~/.alibabacloud/credentials, or ALIBABA_CLOUD_CREDENTIALS_FILE with ALIBABA_CLOUD_PROFILE', async () => {
  assert.deepEqual(await child({ HOME: home({ '.alibabacloud/credentials': ini(INI) }), ...NO_METADATA }), { code: 'OK' })
  const elsewhere = path.join(home({ 'shared.ini': ini(CLI, 'default') + ini(INI, 'work') }), 'shared.ini')
  const r = await child({ HOME: home(), ...NO_METADATA, ALIBABA_CLOUD_CREDENTIALS_FILE: elsewhere, ALIBABA_CLOUD_PROFILE: 'work' })
  assert.deepEqual(r, { code: 'OK' })
  // The profile decides: a file whose named profile holds a wrong secret fails the signature.
  const wrong = path.join(home({ 'bad.ini': ini(INI) + ini({ id: INI.id, secret: 'not-it' }, 'work') }), 'bad.ini')
  const refused = await child({ HOME: home(), ...NO_METADATA, ALIBABA_CLOUD_CREDENTIALS_FILE: wrong, ALIBABA_CLOUD_PROFILE: 'work' })
  assert.equal(refused.code, 'SignatureDoesNotMatch')
})

test('Aliyun CLI profile: the current AK profile, and a RamRoleArn profile through STS AssumeRole', async () => {
  const config = cliConfig([AK_PROFILE, ROLE_PROFILE])
  assert.deepEqual(await child({ HOME: home({ '.aliyun/config.json': config }), ...NO_METADATA }), { code: 'OK' })
  await emu.control('reset', {})
  const r = await child({ HOME: home({ '.aliyun/config.json': config }), ...NO_METADATA, ALIBABA_CLOUD_PROFILE: 'role' })
  assert.deepEqual(r, { code: 'OK' })
  assert.equal((await counts()).assumeRole, 1)
})

test('every other mode: CLI StsToken and EcsRamRole, INI ecs_ram_role and ram_role_arn', async () => {
  await emu.control('reset', {})
  const sts = { name: 'sts', mode: 'StsToken', access_key_id: DEMO.id, access_key_secret: DEMO.secret, sts_token: 'ignored-for-long-lived-keys' }
  const ecs = { name: 'ecs', mode: 'EcsRamRole', ram_role_name: 'pls-emulator-ecs-role' }
  const config = cliConfig([sts, ecs])
  assert.deepEqual(await child({ HOME: home({ '.aliyun/config.json': config }), ...NO_METADATA }), { code: 'OK' })
  assert.deepEqual(await child({ HOME: home({ '.aliyun/config.json': config }), ALIBABA_CLOUD_PROFILE: 'ecs' }), { code: 'OK' })
  assert.equal((await counts()).metadataCredentials, 1)
  const roles = '[default]\ntype = ecs_ram_role\nrole_name = pls-emulator-ecs-role\n' +
    `[role]\ntype = ram_role_arn\naccess_key_id = ${DEMO.id}\naccess_key_secret = ${DEMO.secret}\nrole_arn = ${ROLE_ARN}\nrole_session_name = ini\n`
  assert.deepEqual(await child({ HOME: home({ '.alibabacloud/credentials': roles }) }), { code: 'OK' })
  assert.equal((await counts()).metadataCredentials, 2)
  assert.deepEqual(await child({ HOME: home({ '.alibabacloud/credentials': roles }), ...NO_METADATA, ALIBABA_CLOUD_PROFILE: 'role' }), { code: 'OK' })
  assert.equal((await counts()).assumeRole, 1)
})

test('ECS RAM role through instance metadata with IMDSv2', async () => {
  await emu.control('reset', {})
  const r = await child({ HOME: home() })
  assert.deepEqual(r, { code: 'OK' })
  const seen = await counts()
  assert.ok(seen.metadataTokens >= 1, 'an IMDSv2 session token was asked for')
  assert.equal(seen.metadataCredentials, 1)
})

test('OIDC role (RRSA): STS AssumeRoleWithOIDC with the token file', async () => {
  await emu.control('reset', {})
  const dir = home({ 'token': 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwbHMifQ.c2lnbmF0dXJl' })
  const r = await child({
    HOME: dir,
    ...NO_METADATA,
    ALIBABA_CLOUD_ROLE_ARN: ROLE_ARN,
    ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER_ARN,
    ALIBABA_CLOUD_OIDC_TOKEN_FILE: path.join(dir, 'token'),
  })
  assert.deepEqual(r, { code: 'OK' })
  assert.equal((await counts()).assumeRoleWithOidc, 1)
})

/** A credentials URI server answering `reply` (or never answering when `silent`). */
async function uriServer(reply, silent = false) {
  let asked = 0
  const server = http.createServer((req, res) => {
    asked++
    if (silent) return
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(reply))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${server.address().port}/credentials`, asked: () => asked, close: () => { server.closeAllConnections(); server.close() } }
}

const URI_REPLY = { AccessKeyId: DEMO.id, AccessKeySecret: DEMO.secret, SecurityToken: 'unused-by-long-lived-keys', Expiration: '2099-01-01T00:00:00Z' }

test('ALIBABA_CLOUD_CREDENTIALS_URI', async () => {
  const uri = await uriServer(URI_REPLY)
  try {
    assert.deepEqual(await child({ HOME: home(), ...NO_METADATA, ALIBABA_CLOUD_CREDENTIALS_URI: uri.url }), { code: 'OK' })
    assert.equal(uri.asked(), 1)
  } finally {
    uri.close()
  }
})

test('order: environment, OIDC, CLI profile, INI file, ECS metadata, URI; the first that delivers is used', async () => {
  const badCli = cliConfig([{ ...AK_PROFILE, access_key_secret: 'wrong' }])
  const badIni = ini({ id: INI.id, secret: 'wrong' })
  const dir = home({ 'token': 'a.b.c', '.aliyun/config.json': badCli, '.alibabacloud/credentials': badIni })
  const oidc = { ALIBABA_CLOUD_ROLE_ARN: ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE: path.join(dir, 'token') }
  const badUri = await uriServer({ ...URI_REPLY, AccessKeySecret: 'wrong' })
  try {
    await emu.control('reset', {})
    // Environment before OIDC (never asked) before the wrong CLI and INI keys.
    let r = await child({ HOME: dir, ...oidc, ALIBABA_CLOUD_ACCESS_KEY_ID: DEMO.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: DEMO.secret })
    assert.deepEqual(r, { code: 'OK' })
    assert.equal((await counts()).assumeRoleWithOidc, 0)
    // OIDC before the wrong CLI and INI keys.
    assert.deepEqual(await child({ HOME: dir, ...oidc }), { code: 'OK' })
    assert.equal((await counts()).assumeRoleWithOidc, 1)
    // CLI before the wrong INI key.
    const cliFirst = home({ '.aliyun/config.json': cliConfig([AK_PROFILE]), '.alibabacloud/credentials': badIni })
    assert.deepEqual(await child({ HOME: cliFirst }), { code: 'OK' })
    // INI before ECS metadata and the URI.
    const iniFirst = home({ '.alibabacloud/credentials': ini(INI) })
    assert.deepEqual(await child({ HOME: iniFirst, ALIBABA_CLOUD_CREDENTIALS_URI: badUri.url }), { code: 'OK' })
    assert.equal((await counts()).metadataCredentials, 0)
    // ECS metadata before the URI.
    assert.deepEqual(await child({ HOME: home(), ALIBABA_CLOUD_CREDENTIALS_URI: badUri.url }), { code: 'OK' })
    assert.equal((await counts()).metadataCredentials, 1)
    assert.equal(badUri.asked(), 0, 'the URI is last and was never needed')
    // A wrong key from the first source is used as it is: no fall-through on a refused call.
    r = await child({ HOME: home({ '.aliyun/config.json': badCli }), ...NO_METADATA, ALIBABA_CLOUD_CREDENTIALS_URI: badUri.url })
    assert.equal(r.code, 'SignatureDoesNotMatch')
  } finally {
    badUri.close()
  }
})

test('a metadata service that is down or silent falls through to the next source', async () => {
  const closed = net.createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const closedUrl = `http://127.0.0.1:${closed.address().port}`
  closed.close()
  const silent = await uriServer({}, true)
  const uri = await uriServer(URI_REPLY)
  try {
    let r = await child({ HOME: home(), PLS_METADATA_ENDPOINT: closedUrl, ALIBABA_CLOUD_CREDENTIALS_URI: uri.url })
    assert.deepEqual(r, { code: 'OK' })
    // A service that accepts and never answers costs its 1 s timeouts, then the chain moves on.
    r = await child({ HOME: home(), PLS_METADATA_ENDPOINT: silent.url.replace('/credentials', ''), ALIBABA_CLOUD_CREDENTIALS_URI: uri.url })
    assert.deepEqual(r, { code: 'OK' })
    assert.ok(silent.asked() >= 1, 'the silent metadata service was asked first')
    assert.equal(uri.asked(), 2)
  } finally {
    silent.close()
    uri.close()
  }
})

test('no credentials anywhere: construction succeeds, the first call rejects listing what was tried', async () => {
  const r = await child({ HOME: home(), ...NO_METADATA })
  assert.equal(r.code, 'SDK.CredentialsNotFound')
  for (const part of [
    'environment: ALIBABA_CLOUD_ACCESS_KEY_ID is not set',
    'OIDC role: ALIBABA_CLOUD_ROLE_ARN is not set',
    'Aliyun CLI profile:',
    '.aliyun',
    'credentials file:',
    'ECS RAM role: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED',
    'credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set',
  ]) {
    assert.ok(r.message.includes(part), `${part} missing from: ${r.message}`)
  }
})

test('a malformed file is reported with its path and line, never its text', async () => {
  const SECRET = 'leaky-secret-9f8e7d'
  const dir = home({ '.alibabacloud/credentials': `[default]\ntype = access_key\naccess_key_secret ${SECRET}\n` })
  const r = await child({ HOME: dir, ...NO_METADATA })
  assert.equal(r.code, 'SDK.CredentialsNotFound')
  assert.ok(r.message.includes(`${path.join(dir, '.alibabacloud', 'credentials')} line 3`), r.message)
  assert.ok(!r.message.includes(SECRET), r.message)
  const cli = home({ '.aliyun/config.json': `{"current": "dev",\n "profiles": [${SECRET}]}` })
  const broken = await child({ HOME: cli, ...NO_METADATA })
  assert.match(broken.message, /config\.json line 2 column \d+: not valid JSON/)
  assert.ok(!broken.message.includes(SECRET), broken.message)
})

/** Beijing `YYYY-MM-DD HH:mm:ss` of real now plus `offsetMs`. */
function beijing(offsetMs) {
  return new Date(Date.now() + offsetMs + 8 * 3600e3).toISOString().slice(0, 19).replace('T', ' ')
}

test('temporary keys are cached, and refreshed ahead of expiry on the emulator clock', async () => {
  const config = cliConfig([ROLE_PROFILE])
  const threeCalls = 'const c = new PLSClient(); for (let i = 0; i < 3; i++) { const r = await call(c, bind(i)); if (r.code !== "OK") return out(r) } out({ code: "OK" })'
  // Keys that expire 10 minutes from now: inside the 15-minute margin, so every call refreshes them.
  const late = await startEmulator({ keys, clock: beijing(-50 * 60e3) })
  try {
    const r = await child({ HOME: home({ '.aliyun/config.json': config }), ...NO_METADATA, PLS_ENDPOINT: late.url }, threeCalls)
    assert.deepEqual(r, { code: 'OK' })
    assert.equal((await late.control('credentials')).assumeRole, 3)
  } finally {
    await late.stop()
  }
  // Keys good for an hour: fetched once, reused.
  await emu.control('reset', {})
  const r = await child({ HOME: home({ '.aliyun/config.json': config }), ...NO_METADATA }, threeCalls)
  assert.deepEqual(r, { code: 'OK' })
  assert.equal((await counts()).assumeRole, 1)
})

test('single flight: 100 concurrent first calls make one STS request, and one metadata request', async () => {
  const hundred = 'const c = new PLSClient(); const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => call(c, bind(i)))); out({ codes: [...new Set(rs.map((r) => r.code))] })'
  await emu.control('reset', {})
  let r = await child({ HOME: home({ '.aliyun/config.json': cliConfig([ROLE_PROFILE]) }), ...NO_METADATA }, hundred)
  assert.deepEqual(r, { codes: ['OK'] })
  assert.equal((await counts()).assumeRole, 1)
  await emu.control('reset', {})
  r = await child({ HOME: home() }, hundred)
  assert.deepEqual(r, { codes: ['OK'] })
  assert.equal((await counts()).metadataCredentials, 1)
})

function native(extra) {
  return new PLSClient({ endpoint: emu.url, dybaseEndpoint: emu.url, mnsEndpoint: emu.url, ...extra })
}

test('credentials option: getCredential() is asked before each call, keys passed win', async () => {
  let asked = 0
  const provider = {
    async getCredential() {
      asked++
      return { accessKeyId: DEMO.id, accessKeySecret: DEMO.secret, securityToken: undefined }
    },
  }
  const c = native({ credentials: provider })
  assert.equal((await c.bindAxb({ ...BIND, PhoneNoA: '18040589901' })).Code, 'OK')
  assert.equal((await c.bindAxb({ ...BIND, PhoneNoA: '18040589902' })).Code, 'OK')
  assert.equal(asked, 2)
  // A plain (non-promise) answer works too.
  const sync = native({ credentials: { getCredential: () => ({ accessKeyId: CLI.id, accessKeySecret: CLI.secret }) } })
  assert.equal((await sync.bindAxb({ ...BIND, PhoneNoA: '18040589903' })).Code, 'OK')
  // receiveMsg's token request signs with the provider's answer.
  const queue = await settle(c.receiveMsg(0, 'Alicom-Queue-1234567890-SecretReport', 1))
  assert.equal(queue.error && queue.error.name, 'MNSMessageNotExistError', String(queue.error))
  // Keys passed to the constructor win: the provider is never asked.
  const keysWin = native({ accessKeyId: DEMO.id, secretAccessKey: DEMO.secret, credentials: { getCredential() { throw new Error('asked') } } })
  assert.equal((await keysWin.bindAxb({ ...BIND, PhoneNoA: '18040589904' })).Code, 'OK')
})

test('credentials option: a provider that throws, rejects or answers the wrong shape rejects the call', async () => {
  const boom = new Error('provider down')
  let r = await settle(native({ credentials: { getCredential() { throw boom } } }).bindAxb(BIND))
  assert.equal(r.error, boom)
  r = await settle(native({ credentials: { getCredential: async () => { throw new Error('later') } } }).bindAxb(BIND))
  assert.equal(r.error.code, 'SDK.CredentialsFailed')
  assert.match(r.error.message, /getCredential\(\) failed: later/)
  r = await settle(native({ credentials: { getCredential: async () => ({ accessKeyId: 'only-id' }) } }).bindAxb(BIND))
  assert.equal(r.error.code, 'SDK.CredentialsFailed')
  assert.throws(() => native({ credentials: { nope: true } }), { name: 'TypeError', message: /getCredential\(\) method/ })
  assert.throws(() => native({ credentials: 'ak:sk' }), TypeError)
})

test('the secret shows in no inspect, JSON or error, whatever its source', async () => {
  const SECRET = 'provider-secret-5a4b3c'
  const c = native({ credentials: { getCredential: async () => ({ accessKeyId: DEMO.id, accessKeySecret: SECRET }) } })
  assert.ok(!util.inspect(c, { showHidden: true, depth: 5 }).includes(SECRET))
  assert.ok(!JSON.stringify(c).includes(SECRET))
  const { error } = await settle(c.bindAxb(BIND))
  assert.equal(error.code, 'SignatureDoesNotMatch')
  assert.ok(!util.inspect(error, { depth: 8 }).includes(SECRET))
})

test('ACS3-HMAC-SHA256: the emulator accepts GET and POST, with static and temporary keys, and names a bad signature', async () => {
  const v3 = { signatureAlgorithm: 'ACS3-HMAC-SHA256' }
  const c = native({ accessKeyId: DEMO.id, secretAccessKey: DEMO.secret, ...v3 })
  assert.equal((await c.bindAxb({ ...BIND, PhoneNoA: '18040589911' })).Code, 'OK')
  assert.equal((await c.bindAxb({ ...BIND, PhoneNoA: '18040589912' }, { method: 'POST' })).Code, 'OK')
  const wrong = await settle(native({ accessKeyId: DEMO.id, secretAccessKey: 'wrong', ...v3 }).bindAxb(BIND))
  assert.equal(wrong.error.code, 'SignatureDoesNotMatch')
  assert.match(wrong.error.message, /server string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}/)
  // From the default chain: an ECS role's STS key, its token in x-acs-security-token.
  const r = await child({ HOME: home() }, `out(await call(new PLSClient({ signatureAlgorithm: 'ACS3-HMAC-SHA256' }), { ...BIND, PhoneNoA: '18040589913' }))`)
  assert.deepEqual(r, { code: 'OK' })
  assert.throws(() => native({ accessKeyId: DEMO.id, secretAccessKey: DEMO.secret, signatureAlgorithm: 'MD5' }), { name: 'TypeError', message: /signatureAlgorithm/ })
})

