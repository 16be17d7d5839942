#!/usr/bin/env node
// `npm run package`: the npm tarballs a release publishes, built on this machine.
//   dist/pls-native-<version>.tgz                the main package: JS, types and the Rust
//                                                sources; no addon and no install script;
//                                                optionalDependencies on every platform package
//   dist/pls-native-linux-x64-gnu-<version>.tgz  the linux x64 (glibc) addon
// The addon is linked with cargo-zigbuild against glibc 2.17, the floor of
// napi-rs's own build images, so it loads on any glibc distribution from
// CentOS 7 on; zig comes from the `ziglang` PyPI package, no Docker needed.
// Other platforms need their own toolchains and are built by the release
// workflow (.github/workflows/release.yml), which runs this script with
// --no-build once their addons are in npm/<platform>/.
//
// The optionalDependencies are written into the main package's manifest
// only while it is packed (as napi-rs's prepublish does): in a checkout they
// would name packages that the registry does not have yet, which `npm ci`
// refuses.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const dist = path.join(root, 'dist')
const manifestPath = path.join(root, 'package.json')
const pkg = JSON.parse(fs.readFileSync(manifestPath, 'utf8'))
const GLIBC_FLOOR = [2, 17]
const HOST_PLATFORM = 'linux-x64-gnu'
const HOST_TRIPLE = 'x86_64-unknown-linux-gnu'
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

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

/** Every npm/<platform> package, checked to be at the main package's version. */
function platformPackages() {
  return fs.readdirSync(path.join(root, 'npm')).map((platform) => {
    const dir = path.join(root, 'npm', platform)
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    if (manifest.version !== pkg.version) {
      throw new Error(`${manifest.name} is at ${manifest.version}, not ${pkg.version} (run \`napi version\`)`)
    }
    return { platform, dir, name: manifest.name, addon: path.join(dir, manifest.main) }
  })
}

/** PATH with the folder pip installs scripts into (cargo-zigbuild) in front. */
function withPipScripts() {
  const result = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], { encoding: 'utf8' })
  const scripts = result.status === 0 ? result.stdout.trim() : ''
  return scripts ? [scripts, process.env.PATH].join(path.delimiter) : process.env.PATH
}

function buildHostAddon(addon) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error('npm run package builds the linux-x64-gnu addon and runs on linux x64 only (use --no-build elsewhere)')
  }
  // cargo-zigbuild and ziglang come from PyPI: `pip install ziglang cargo-zigbuild`.
  run('cargo', ['zigbuild', '--release', '-p', pkg.name, '--target', `${HOST_TRIPLE}.${GLIBC_FLOOR.join('.')}`], {
    env: { ...process.env, PATH: withPipScripts() },
  })
  fs.copyFileSync(path.join(root, 'target', HOST_TRIPLE, 'release', 'libpls_native.so'), addon)
}

function checkGlibcFloor(addon) {
  const floor = glibcFloor(addon)
  console.log(`${path.relative(root, addon)}: needs GLIBC ${floor.join('.')} at most`)
  if (floor[0] > GLIBC_FLOOR[0] || (floor[0] === GLIBC_FLOOR[0] && floor[1] > GLIBC_FLOOR[1])) {
    throw new Error(`the addon needs GLIBC ${floor.join('.')}, above the ${GLIBC_FLOOR.join('.')} floor`)
  }
}

/** Packs the main package with optionalDependencies on every platform package. */
function packMain(platforms) {
  const original = fs.readFileSync(manifestPath, 'utf8')
  const manifest = JSON.parse(original)
  manifest.optionalDependencies = Object.fromEntries(platforms.map(({ name }) => [name, pkg.version]))
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  try {
    run(npm, ['pack', '--ignore-scripts', '--pack-destination', dist])
  } finally {
    fs.writeFileSync(manifestPath, original)
  }
}

function main() {
  const build = !process.argv.includes('--no-build')
  const platforms = platformPackages()
  const host = platforms.find((p) => p.platform === HOST_PLATFORM)
  if (build) buildHostAddon(host.addon)

  fs.mkdirSync(dist, { recursive: true })
  const ready = platforms.filter(({ addon }) => fs.existsSync(addon))
  if (ready.length === 0) throw new Error('no platform addon in npm/<platform>/ to pack')
  for (const { dir, addon } of ready) {
    if (dir === host.dir) checkGlibcFloor(addon)
    run(npm, ['pack', '--ignore-scripts', '--pack-destination', dist], { cwd: dir })
  }
  packMain(platforms)
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
