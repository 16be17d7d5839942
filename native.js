'use strict'
// Finds the compiled addon. In order:
//   1. NAPI_RS_NATIVE_LIBRARY_PATH, when set (napi-rs's override);
//   2. pls-native.node in this folder: a build from source (`npm run build`);
//   3. the prebuilt package for this platform (pls-native-<platform>), which
//      npm installs as an optional dependency, picking it by os/cpu/libc.
// Anything else throws one error that says what was tried and what to do.
const { readFileSync } = require('node:fs')
const path = require('node:path')

const PACKAGE = 'pls-native'
const PREBUILT = new Set([
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
  'win32-x64-msvc',
])

// musl or glibc, detected as napi-rs does: ldd's text, then Node's own
// report (which names the glibc it runs on), then the loaded libraries.
function isMusl() {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {}
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  if (!report) return false
  if (report.header && report.header.glibcVersionRuntime) return false
  return Array.isArray(report.sharedObjects) && report.sharedObjects.some((f) => /libc\.musl-|ld-musl-/.test(f))
}

function platformName() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function load() {
  const platform = platformName()
  const candidates = []
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) candidates.push(process.env.NAPI_RS_NATIVE_LIBRARY_PATH)
  candidates.push(path.join(__dirname, `${PACKAGE}.node`))
  candidates.push(`${PACKAGE}-${platform}`)

  const tried = []
  for (const candidate of candidates) {
    try {
      return require(candidate)
    } catch (err) {
      const missing = err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(candidate)
      tried.push(`${candidate}: ${missing ? 'not installed' : err && err.message}`)
    }
  }
  const prebuilt = PREBUILT.has(platform)
    ? `A prebuilt addon exists for ${platform}: reinstall without --no-optional / --omit=optional, ` +
      `or install ${PACKAGE}-${platform} yourself.`
    : `No prebuilt addon is published for ${platform}.`
  throw new Error(
    `${PACKAGE}: cannot load the native addon for ${platform} (node ${process.version}).\n` +
      `Tried:\n  ${tried.join('\n  ')}\n` +
      `${prebuilt} To build from source (needs Rust's cargo): run \`npm run build\` in ${__dirname}.`,
  )
}

module.exports = load()
