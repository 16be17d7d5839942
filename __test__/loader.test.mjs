// native.js: which addon it loads, how it tells musl from glibc, and what it
// says when there is none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

/** The addon file this process loaded through native.js. */
function loadedAddon() {
  require(path.join(root, 'native.js'))
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  assert.equal(addons.length, 1, `one addon loaded: ${addons.join(', ')}`)
  return addons[0]
}

/** A folder with only a copy of native.js: no addon beside it, none installed. */
function lonelyLoader(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(root, 'native.js'), path.join(dir, 'native.js'))
  return dir
}

function requireLoaderFrom(dir, { env = {}, preload } = {}) {
  const script = `try { const m = require(${JSON.stringify(path.join(dir, 'native.js'))}); console.log('loaded', typeof m.PLSClient) } catch (e) { console.log(e.message) }`
  const { NAPI_RS_NATIVE_LIBRARY_PATH: _, ...inherited } = process.env
  const args = [...(preload ? ['--require', preload] : []), '-e', script]
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...inherited, ...env } }).stdout
}

function expectedPlatform() {
  if (process.platform === 'win32') return `win32-${process.arch}-gnu`
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`
  const report = process.report.getReport()
  return `linux-${process.arch}-${report.header.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

test('with no addon anywhere, one error names the platform, what was tried, the likely causes and the fixes', (t) => {
  const out = requireLoaderFrom(lonelyLoader(t))
  const platform = expectedPlatform()
  assert.match(out, new RegExp(`cannot load the native addon for ${platform} \\(node v`))
  assert.match(out, /pls-native\.node: not built/)
  assert.match(out, new RegExp(`pls-native-${platform}: not installed`))
  const published = ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-gnu']
  if (published.includes(platform)) {
    // The two usual ways a published platform package goes missing, each with its fix.
    assert.match(out, /--omit=optional/)
    assert.match(out, /install again without that option/)
    assert.match(out, /npm\/cli#4828/)
    assert.match(out, /delete node_modules and package-lock\.json and run `npm install` again/)
  } else {
    assert.match(out, /No prebuilt addon is published/)
  }
  assert.match(out, /npm run build/)
})

test('NAPI_RS_NATIVE_LIBRARY_PATH points the loader at a given addon', (t) => {
  const out = requireLoaderFrom(lonelyLoader(t), { env: { NAPI_RS_NATIVE_LIBRARY_PATH: loadedAddon() } })
  assert.equal(out.trim(), 'loaded function')
})

test('a NAPI_RS_NATIVE_LIBRARY_PATH that does not load is an error naming it, not a fall back to another addon', () => {
  const missing = path.join(os.tmpdir(), 'no-such-dir', 'pls-native.node')
  const out = requireLoaderFrom(root, { env: { NAPI_RS_NATIVE_LIBRARY_PATH: missing } })
  assert.match(out, /cannot load NAPI_RS_NATIVE_LIBRARY_PATH=/)
  assert.ok(out.includes(missing), out)
})

test('the platform package this process loaded is the one for its platform and libc', { skip: !fs.existsSync(path.join(root, 'node_modules', `pls-native-${expectedPlatform()}`)) && 'no platform package installed here (a build from source is loaded)' }, () => {
  const addon = loadedAddon()
  assert.ok(addon.endsWith(`pls-native.${expectedPlatform()}.node`), addon)
})

test("musl is told from glibc by Node's report, with no ldd anywhere on PATH", { skip: process.platform !== 'linux' && 'Linux only' }, (t) => {
  const out = requireLoaderFrom(lonelyLoader(t), { env: { PATH: '' } })
  assert.match(out, new RegExp(`for ${expectedPlatform()} `))
})

test('without a report the loader asks the ldd on PATH, wherever it is', { skip: process.platform !== 'linux' && 'Linux only' }, (t) => {
  const dir = lonelyLoader(t)
  // A runtime without process.report, and an ldd that is musl's (which answers on stderr, exit 1).
  fs.writeFileSync(path.join(dir, 'no-report.cjs'), "Object.defineProperty(process, 'report', { value: undefined, configurable: true })\n")
  fs.mkdirSync(path.join(dir, 'bin'))
  fs.writeFileSync(path.join(dir, 'bin', 'ldd'), '#!/bin/sh\necho "musl libc (x86_64)" >&2\necho "Version 1.2.5" >&2\nexit 1\n', { mode: 0o755 })
  const musl = requireLoaderFrom(dir, { env: { PATH: path.join(dir, 'bin') }, preload: path.join(dir, 'no-report.cjs') })
  assert.match(musl, new RegExp(`for linux-${process.arch}-musl `))
  fs.writeFileSync(path.join(dir, 'bin', 'ldd'), '#!/bin/sh\necho "ldd (Debian GLIBC 2.36-9) 2.36"\n', { mode: 0o755 })
  const glibc = requireLoaderFrom(dir, { env: { PATH: path.join(dir, 'bin') }, preload: path.join(dir, 'no-report.cjs') })
  assert.match(glibc, new RegExp(`for linux-${process.arch}-gnu `))
})

test('the report is taken without network details, and the setting is left as it was', { skip: typeof process.report?.excludeNetwork !== 'boolean' && 'this Node has no process.report.excludeNetwork' }, (t) => {
  const dir = lonelyLoader(t)
  const script = `process.report.excludeNetwork = false; try { require(${JSON.stringify(path.join(dir, 'native.js'))}) } catch {} console.log(process.report.excludeNetwork)`
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout
  assert.equal(out.trim(), 'false')
})
