// native.js: which addon it loads, and what it says when there is none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function requireLoaderFrom(dir, env = {}) {
  const script = `try { const m = require(${JSON.stringify(path.join(dir, 'native.js'))}); console.log('loaded', typeof m.PLSClient) } catch (e) { console.log(e.message) }`
  const { NAPI_RS_NATIVE_LIBRARY_PATH: _, ...inherited } = process.env
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...inherited, ...env } }).stdout
}

test('with no addon anywhere, one error names the platform, what was tried, and how to build', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(root, 'native.js'), path.join(dir, 'native.js'))
  const out = requireLoaderFrom(dir)
  const platform = process.platform === 'linux' ? `linux-${process.arch}-` : `${process.platform}-${process.arch}`
  assert.match(out, new RegExp(`cannot load the native addon for ${platform}`))
  assert.match(out, /pls-native\.node: not installed/)
  assert.match(out, /pls-native-[a-z0-9-]+: not installed/)
  assert.match(out, /npm run build/)
})

test('NAPI_RS_NATIVE_LIBRARY_PATH points the loader at a given addon', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(root, 'native.js'), path.join(dir, 'native.js'))
  const out = requireLoaderFrom(dir, { NAPI_RS_NATIVE_LIBRARY_PATH: path.join(root, 'pls-native.node') })
  assert.equal(out.trim(), 'loaded function')
})
