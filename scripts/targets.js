'use strict'
// The platform packages, one entry each: how its addon is built and what it
// runs on. scripts/package.js builds and checks them, scripts/test-platforms.js
// runs them; npm/<platform>/package.json and package.json's napi.targets list
// the same platforms.
//   where  'linux-x64': built on a linux x64 machine with cargo-zigbuild (zig
//          links against the glibc floor, or musl, or Windows' own DLLs);
//          'darwin': built on macOS with cargo (the release workflow).

/** @typedef {{ platform: string, triple: string, os: string, cpu: string, libc?: string, where: 'linux-x64' | 'darwin', zigTarget?: string, rustflags?: string[], library: string }} Target */

/** The glibc that the gnu builds link against: napi-rs's floor, CentOS 7 and later. */
const GLIBC_FLOOR = [2, 17]

// A musl cdylib must link musl dynamically: Node's own musl libc is the one it loads into.
const MUSL_RUSTFLAGS = ['-C', 'target-feature=-crt-static']

/** @type {Target[]} */
const TARGETS = [
  { platform: 'linux-x64-gnu', triple: 'x86_64-unknown-linux-gnu', os: 'linux', cpu: 'x64', libc: 'glibc', where: 'linux-x64', zigTarget: `x86_64-unknown-linux-gnu.${GLIBC_FLOOR.join('.')}`, library: 'libpls_native.so' },
  { platform: 'linux-arm64-gnu', triple: 'aarch64-unknown-linux-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc', where: 'linux-x64', zigTarget: `aarch64-unknown-linux-gnu.${GLIBC_FLOOR.join('.')}`, library: 'libpls_native.so' },
  { platform: 'linux-x64-musl', triple: 'x86_64-unknown-linux-musl', os: 'linux', cpu: 'x64', libc: 'musl', where: 'linux-x64', rustflags: MUSL_RUSTFLAGS, library: 'libpls_native.so' },
  { platform: 'linux-arm64-musl', triple: 'aarch64-unknown-linux-musl', os: 'linux', cpu: 'arm64', libc: 'musl', where: 'linux-x64', rustflags: MUSL_RUSTFLAGS, library: 'libpls_native.so' },
  { platform: 'win32-x64-gnu', triple: 'x86_64-pc-windows-gnu', os: 'win32', cpu: 'x64', where: 'linux-x64', library: 'pls_native.dll' },
  { platform: 'darwin-x64', triple: 'x86_64-apple-darwin', os: 'darwin', cpu: 'x64', where: 'darwin', library: 'libpls_native.dylib' },
  { platform: 'darwin-arm64', triple: 'aarch64-apple-darwin', os: 'darwin', cpu: 'arm64', where: 'darwin', library: 'libpls_native.dylib' },
]

/** The target named by its platform (linux-arm64-musl) or its Rust triple. */
function findTarget(name) {
  const target = TARGETS.find((t) => t.platform === name || t.triple === name)
  if (!target) throw new Error(`unknown target ${name}; known: ${TARGETS.map((t) => t.platform).join(', ')}`)
  return target
}

/** Where this machine can build: 'linux-x64', 'darwin', or null. */
function buildHost() {
  if (process.platform === 'linux' && process.arch === 'x64') return 'linux-x64'
  if (process.platform === 'darwin') return 'darwin'
  return null
}

module.exports = { TARGETS, GLIBC_FLOOR, findTarget, buildHost }
