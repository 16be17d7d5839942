#!/usr/bin/env node
// Builds the addon from source: `napi build` when @napi-rs/cli is installed
// (a checkout), plain `cargo build` otherwise (an install from a tarball,
// where devDependencies are absent). Nothing is downloaded.
//   --if-missing  skip when pls-native.node already exists and is newer than every source
//   --debug       debug profile (faster to build, slower to run)
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const output = path.join(root, 'pls-native.node')
const args = new Set(process.argv.slice(2))
const debug = args.has('--debug')

function newestSource(dir) {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full))
    else if (/\.(rs|toml|html)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs)
  }
  return newest
}

function upToDate() {
  if (!fs.existsSync(output)) return false
  const built = fs.statSync(output).mtimeMs
  const sources = Math.max(
    newestSource(path.join(root, 'src')),
    newestSource(path.join(root, 'crates')),
    fs.statSync(path.join(root, 'Cargo.toml')).mtimeMs,
  )
  return built >= sources
}

function run(cmd, cmdArgs) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' })
  if (result.error) throw result.error
  if (result.status !== 0) process.exit(result.status || 1)
}

if (args.has('--if-missing') && upToDate()) {
  process.exit(0)
}

const napiCli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
if (fs.existsSync(napiCli)) {
  // No JS loader is generated (no --platform): index.js is ours, module.exports is the class;
  // the generated typings go to a scratch file, index.d.ts is written by hand.
  const napiArgs = [napiCli, 'build', '-p', 'pls-native', '--dts', 'target/generated.d.ts', '--output-dir', '.']
  if (!debug) napiArgs.push('--release')
  run(process.execPath, napiArgs)
} else {
  // An install from a tarball: build outside the package and clean up, so
  // node_modules does not keep cargo's few hundred MB of intermediates.
  const scratch = process.env.CARGO_TARGET_DIR ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-build-'))
  const targetDir = process.env.CARGO_TARGET_DIR || scratch
  try {
    const result = spawnSync('cargo', ['build', '-p', 'pls-native', ...(debug ? [] : ['--release'])], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CARGO_TARGET_DIR: targetDir },
    })
    if (result.error) throw result.error
    if (result.status !== 0) process.exit(result.status || 1)
    const libName = { darwin: 'libpls_native.dylib', win32: 'pls_native.dll' }[process.platform] || 'libpls_native.so'
    fs.copyFileSync(path.join(targetDir, debug ? 'debug' : 'release', libName), output)
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true })
  }
}
