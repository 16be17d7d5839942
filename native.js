'use strict'
// Finds the compiled addon. In order:
//   1. NAPI_RS_NATIVE_LIBRARY_PATH, when set (napi-rs's override): that file
//      and nothing else, so a wrong path is an error rather than a surprise;
//   2. pls-native.node in this folder: a build from source (`npm run build`);
//   3. the prebuilt package for this platform (pls-native-<platform>), which
//      npm installs as an optional dependency, picking it by os/cpu/libc.
// Anything else throws one error that says what was tried, the likely cause
// and what to do about it.
const path = require('node:path')

const PACKAGE = 'pls-native'
// The platform packages published (npm/<platform>/, package.json's napi.targets).
const PREBUILT = new Set([
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
  'win32-x64-gnu',
])

// The libc of this process, from Node's own report: glibc writes its version
// into the header, musl's loader is among the shared objects. Null when the
// report cannot tell (a runtime without one).
function muslFromReport() {
  if (typeof process.report?.getReport !== 'function') return null
  const previous = process.report.excludeNetwork
  let report
  try {
    // A report lists open sockets with their host names unless told not to.
    if (typeof previous === 'boolean') process.report.excludeNetwork = true
    report = process.report.getReport()
    if (typeof report === 'string') report = JSON.parse(report)
  } catch {
    return null
  } finally {
    if (typeof previous === 'boolean') process.report.excludeNetwork = previous
  }
  if (report?.header?.glibcVersionRuntime) return false
  if (Array.isArray(report?.sharedObjects)) {
    if (report.sharedObjects.some((file) => /libc\.musl-|ld-musl-/.test(file))) return true
    if (report.sharedObjects.some((file) => /\blibc\.so\.6$/.test(file))) return false
  }
  return null
}

// The system's ldd, wherever PATH has it: musl's prints its name (on stderr,
// exiting 1), glibc's prints "GNU libc".
function muslFromLdd() {
  try {
    // Required here: loading child_process costs a few ms of every require().
    const { execFileSync } = require('node:child_process')
    return execFileSync('ldd', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).includes('musl')
  } catch (err) {
    return `${err.stdout || ''}${err.stderr || ''}`.includes('musl')
  }
}

function isMusl() {
  const fromReport = muslFromReport()
  return fromReport === null ? muslFromLdd() : fromReport
}

function platformName() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  // Built with the GNU toolchain; it needs no runtime beyond Windows' own DLLs.
  if (platform === 'win32') return `win32-${arch}-gnu`
  return `${platform}-${arch}`
}

function notFound(err, request) {
  return err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(request)
}

/** What to do when the platform package is missing: the two usual ways it goes missing, with the fix for each. */
function missingPrebuiltAdvice(platform) {
  const name = `${PACKAGE}-${platform}`
  return [
    `The prebuilt addon for ${platform} is the package ${name}, which npm installs as an optional dependency. It is usually missing because:`,
    `  - optional dependencies were left out (npm install --omit=optional or --no-optional, or omit=optional in .npmrc):` +
      ` install again without that option;`,
    `  - package-lock.json was written on another platform and lacks ${name} (npm's lock-file bug, npm/cli#4828),` +
      ` so \`npm ci\` skips it: delete node_modules and package-lock.json and run \`npm install\` again,` +
      ` or add ${name} to your own optionalDependencies so that every lock file names it.`,
  ].join('\n')
}

function load() {
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (override) {
    try {
      return require(override)
    } catch (err) {
      throw new Error(`${PACKAGE}: cannot load NAPI_RS_NATIVE_LIBRARY_PATH=${override}: ${err && err.message}`)
    }
  }

  const tried = []
  const fromSource = path.join(__dirname, `${PACKAGE}.node`)
  try {
    return require(fromSource)
  } catch (err) {
    tried.push(`${fromSource}: ${notFound(err, fromSource) ? 'not built' : err && err.message}`)
  }
  // Only now: telling musl from glibc asks Node for a diagnostic report.
  const platform = platformName()
  const prebuilt = `${PACKAGE}-${platform}`
  let prebuiltMissing = false
  try {
    return require(prebuilt)
  } catch (err) {
    prebuiltMissing = notFound(err, prebuilt)
    tried.push(`${prebuilt}: ${prebuiltMissing ? 'not installed' : err && err.message}`)
  }
  const advice = !PREBUILT.has(platform)
    ? `No prebuilt addon is published for ${platform}.`
    : prebuiltMissing
      ? missingPrebuiltAdvice(platform)
      : `${prebuilt} is installed but did not load (above); reinstalling it may help.`
  throw new Error(
    `${PACKAGE}: cannot load the native addon for ${platform} (${process.release?.name || 'node'} ${process.version}).\n` +
      `Tried:\n  ${tried.join('\n  ')}\n` +
      `${advice}\n` +
      `To build from source instead (needs Rust's cargo): run \`npm run build\` in ${__dirname}.`,
  )
}

module.exports = load()
