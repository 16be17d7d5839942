#!/usr/bin/env node
// `npm run package`: the npm tarballs a release publishes, built on this machine.
//   dist/pls-native-<version>.tgz                the main package: JS, types and the Rust
//                                                sources; no addon and no install script
//   dist/pls-native-linux-x64-gnu-<version>.tgz  the linux x64 (glibc) addon
// The addon is linked with cargo-zigbuild against glibc 2.17, the floor of
// napi-rs's own build images, so it loads on any glibc distribution from
// CentOS 7 on; zig comes from the `ziglang` PyPI package, no Docker needed.
// Other platforms need their own toolchains and are built by the release
// workflow (.github/workflows/release.yml).
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const dist = path.join(root, 'dist')
const pkg = require(path.join(root, 'package.json'))
const GLIBC_FLOOR = [2, 17]
const platform = 'linux-x64-gnu'
const triple = 'x86_64-unknown-linux-gnu'

function run(cmd, args, options = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`)
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options })
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status})`)
}

/** The newest GLIBC_x.y symbol version the library needs, from `objdump -T`. */
function glibcFloor(file) {
  const result = spawnSync('objdump', ['-T', file], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`objdump -T ${file} failed: ${result.stderr}`)
  let newest = [0, 0]
  for (const [, major, minor] of result.stdout.matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const version = [Number(major), Number(minor)]
    if (version[0] > newest[0] || (version[0] === newest[0] && version[1] > newest[1])) newest = version
  }
  return newest
}

function checkVersions() {
  for (const [name, version] of Object.entries(pkg.optionalDependencies || {})) {
    const platformPkg = require(path.join(root, 'npm', name.slice(`${pkg.name}-`.length), 'package.json'))
    if (version !== pkg.version || platformPkg.version !== pkg.version) {
      throw new Error(`${name} must be at ${pkg.version} in optionalDependencies and npm/ (run \`napi version\`)`)
    }
  }
}

/** PATH with the folder pip installs scripts into (cargo-zigbuild) in front. */
function withPipScripts() {
  const result = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], { encoding: 'utf8' })
  const scripts = result.status === 0 ? result.stdout.trim() : ''
  return scripts ? [scripts, process.env.PATH].join(path.delimiter) : process.env.PATH
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error('npm run package builds the linux-x64-gnu addon and runs on linux x64 only')
  }
  checkVersions()
  // cargo-zigbuild and ziglang come from PyPI: `pip install ziglang cargo-zigbuild`.
  run('cargo', ['zigbuild', '--release', '-p', pkg.name, '--target', `${triple}.${GLIBC_FLOOR.join('.')}`], {
    env: { ...process.env, PATH: withPipScripts() },
  })

  const built = path.join(root, 'target', triple, 'release', 'libpls_native.so')
  const addon = path.join(root, 'npm', platform, `${pkg.napi.binaryName}.${platform}.node`)
  fs.copyFileSync(built, addon)
  const floor = glibcFloor(addon)
  console.log(`${path.relative(root, addon)}: needs GLIBC ${floor.join('.')} at most`)
  if (floor[0] > GLIBC_FLOOR[0] || (floor[0] === GLIBC_FLOOR[0] && floor[1] > GLIBC_FLOOR[1])) {
    throw new Error(`the addon needs GLIBC ${floor.join('.')}, above the ${GLIBC_FLOOR.join('.')} floor`)
  }

  fs.mkdirSync(dist, { recursive: true })
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const pack = ['pack', '--ignore-scripts', '--pack-destination', dist]
  run(npm, pack, { cwd: path.join(root, 'npm', platform) })
  run(npm, pack)
  for (const file of fs.readdirSync(dist).filter((f) => f.endsWith(`${pkg.version}.tgz`))) {
    const size = fs.statSync(path.join(dist, file)).size
    console.log(`dist/${file}  ${(size / 1024 / 1024).toFixed(2)} MB`)
  }
}

try {
  main()
} catch (err) {
  console.error(`npm run package: ${err.message}`)
  process.exit(1)
}
