#!/usr/bin/env node
// `npm run package`: the npm tarballs a release publishes, built on this machine.
//   dist/pls-native-<version>.tgz             the main package: JS, types and the Rust
//                                             sources; no addon and no install script;
//                                             optionalDependencies on every platform package
//   dist/pls-native-<platform>-<version>.tgz  one addon each (scripts/targets.js)
// On linux x64 it builds linux x64/arm64 (glibc and musl) and win32 x64 with
// cargo-zigbuild (zig and cargo-zigbuild from PyPI: `pip install ziglang
// cargo-zigbuild`); on macOS the two darwin targets with cargo. The release
// workflow (.github/workflows/release.yml) runs it on both, then packs every
// addon with --no-build.
//   --target <platform|triple>  only this target (repeatable); default: all that build here
//   --no-build                  pack the addons already in npm/<platform>/
// Each addon is checked before it is packed: the right machine, glibc
// symbols no newer than the floor, musl builds needing musl alone, and the
// Windows DLL importing Windows' own DLLs only.
//
// The optionalDependencies are written into the main package's manifest
// only while it is packed (as napi-rs's prepublish does): in a checkout they
// would name packages that the registry does not have yet, which `npm ci`
// refuses.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { TARGETS, GLIBC_FLOOR, findTarget, buildHost } = require('./targets.js')

const root = path.resolve(__dirname, '..')
const dist = path.join(root, 'dist')
const manifestPath = path.join(root, 'package.json')
const pkg = JSON.parse(fs.readFileSync(manifestPath, 'utf8'))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

// What a DLL built here may import: Windows' own libraries and the UCRT's
// api-ms-win-* sets (part of Windows 10 and later). A mingw runtime DLL
// (libgcc_s, libwinpthread) or node.exe here would fail on a user's machine.
const WINDOWS_SYSTEM_DLLS = /^(api-ms-win-[a-z0-9-]+|kernel32|kernelbase|ntdll|advapi32|bcrypt|bcryptprimitives|crypt32|ncrypt|secur32|ws2_32|userenv|iphlpapi|ole32|oleaut32|shell32|user32|dbghelp|synchronization)\.dll$/i
const ELF_MACHINE = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' }

function run(cmd, args, options = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`)
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options })
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status})`)
}

function output(cmd, args) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
  if (result.error) throw new Error(`${cmd}: ${result.error.message} (binutils has readelf and objdump)`)
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}

function minutes(ms) {
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/** Every npm/<platform> package, checked to be at the main package's version. */
function platformPackages() {
  return TARGETS.map((target) => {
    const dir = path.join(root, 'npm', target.platform)
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    if (manifest.version !== pkg.version) {
      throw new Error(`${manifest.name} is at ${manifest.version}, not ${pkg.version} (run \`napi version\`)`)
    }
    return { target, dir, name: manifest.name, addon: path.join(dir, manifest.main) }
  })
}

/** PATH with the folder pip installs scripts into (cargo-zigbuild) in front. */
function withPipScripts() {
  const result = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], { encoding: 'utf8' })
  const scripts = result.status === 0 ? result.stdout.trim() : ''
  return scripts ? [scripts, process.env.PATH].join(path.delimiter) : process.env.PATH
}

/** Fails early, saying what to install, when the Rust standard library for a target is missing. */
function checkRustTarget(target) {
  const installed = spawnSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' })
  if (installed.error || installed.status !== 0) return // no rustup: cargo itself will say what is missing
  if (installed.stdout.split('\n').includes(target.triple)) return
  throw new Error(
    `Rust's standard library for ${target.triple} is not installed: run \`rustup target add ${target.triple}\`.\n` +
      `If rustup cannot download it, Debian's rustc-web and cargo-web (with libstd-rust-web-dev:arm64 for ` +
      `aarch64-unknown-linux-gnu, or rust-web-src and RUSTC_BOOTSTRAP=1 cargo build -Zbuild-std=std,panic_abort ` +
      `for musl) build the same targets: see README.md, Releasing.`,
  )
}

/**
 * napi-build insists on libnode.dll when it links a windows-gnu addon and
 * adds `-lnode`. The addon links nothing from Node (napi's dyn-symbols
 * feature, Cargo.toml): it takes Node-API from the process that loads it.
 * An empty file and an empty archive answer both.
 */
function emptyLibnode(target) {
  const dir = path.join(root, 'target', target.triple, 'libnode-placeholder')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'libnode.dll'), '')
  fs.writeFileSync(path.join(dir, 'libnode.a'), '!<arch>\n')
  return dir
}

function build(target, addon) {
  checkRustTarget(target)
  const env = { ...process.env }
  if (target.rustflags) env[`CARGO_TARGET_${target.triple.toUpperCase().replace(/-/g, '_')}_RUSTFLAGS`] = target.rustflags.join(' ')
  if (target.os === 'win32') env.LIBNODE_PATH = emptyLibnode(target)
  if (target.where === 'linux-x64') {
    env.PATH = withPipScripts()
    const zigbuild = spawnSync('cargo', ['zigbuild', '--help'], { env, stdio: 'ignore' })
    if (zigbuild.status !== 0) throw new Error('cargo-zigbuild is not installed: pip install ziglang==0.17.1 cargo-zigbuild==0.24.1')
    run('cargo', ['zigbuild', '--release', '-p', pkg.name, '--target', target.zigTarget || target.triple], { env })
  } else {
    run('cargo', ['build', '--release', '-p', pkg.name, '--target', target.triple], { env })
  }
  fs.copyFileSync(path.join(root, 'target', target.triple, 'release', target.library), addon)
}

function checkElf(target, addon) {
  const machine = /Machine:\s+(.+)/.exec(output('readelf', ['-h', addon]))?.[1].trim()
  if (machine !== ELF_MACHINE[target.cpu]) throw new Error(`${addon} is built for ${machine}, not ${target.cpu}`)
  const needed = [...output('readelf', ['-d', addon]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1])
  if (target.libc === 'musl') {
    const foreign = needed.filter((lib) => lib !== 'libc.so')
    if (foreign.length > 0) throw new Error(`the musl addon needs ${foreign.join(', ')}, beyond musl's libc.so`)
    return 'needs musl libc.so only'
  }
  let newest = [0, 0]
  for (const [, major, minor] of output('readelf', ['-W', '--dyn-syms', addon]).matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const version = [Number(major), Number(minor)]
    if (version[0] > newest[0] || (version[0] === newest[0] && version[1] > newest[1])) newest = version
  }
  if (newest[0] > GLIBC_FLOOR[0] || (newest[0] === GLIBC_FLOOR[0] && newest[1] > GLIBC_FLOOR[1])) {
    throw new Error(`the addon needs GLIBC ${newest.join('.')}, above the ${GLIBC_FLOOR.join('.')} floor`)
  }
  return `needs GLIBC ${newest.join('.')} at most`
}

function checkDll(target, addon) {
  const dump = output('objdump', ['-p', addon])
  if (!/file format pei-x86-64/.test(dump)) throw new Error(`${addon} is not an x64 Windows DLL`)
  const imports = [...dump.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1])
  const foreign = imports.filter((dll) => !WINDOWS_SYSTEM_DLLS.test(dll))
  if (foreign.length > 0) throw new Error(`the Windows addon imports ${foreign.join(', ')}, which Windows does not have`)
  if (!/\bnapi_register_module_v1\b/.test(dump)) throw new Error('the Windows addon does not export napi_register_module_v1')
  return `imports ${imports.length} Windows DLLs only`
}

function check(target, addon) {
  if (target.os === 'linux') return checkElf(target, addon)
  if (target.os === 'win32') return checkDll(target, addon)
  return 'not checked here'
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

function parseArgs(argv) {
  const options = { build: true, targets: [] }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--no-build') options.build = false
    else if (argv[i] === '--target' && argv[i + 1]) options.targets.push(findTarget(argv[++i]))
    else if (argv[i].startsWith('--target=')) options.targets.push(findTarget(argv[i].slice('--target='.length)))
    else throw new Error(`unknown argument ${argv[i]} (use --target <platform> or --no-build)`)
  }
  return options
}

function main() {
  const options = parseArgs(process.argv.slice(2))
  const platforms = platformPackages()
  const host = buildHost()
  let chosen = options.targets.length > 0 ? options.targets : TARGETS.filter((t) => options.build && t.where === host)
  if (!options.build && options.targets.length === 0) chosen = platforms.filter((p) => fs.existsSync(p.addon)).map((p) => p.target)
  if (chosen.length === 0) throw new Error('nothing to build on this machine: use --no-build to pack the addons in npm/<platform>/')

  const timings = []
  for (const target of chosen) {
    const { addon } = platforms.find((p) => p.target === target)
    if (options.build) {
      if (target.where !== host) throw new Error(`${target.platform} is built on ${target.where}, not here`)
      const started = Date.now()
      build(target, addon)
      timings.push(`${target.platform}: built in ${minutes(Date.now() - started)}`)
    }
    if (!fs.existsSync(addon)) throw new Error(`${path.relative(root, addon)} is missing`)
    console.log(`${path.relative(root, addon)}: ${check(target, addon)}`)
  }

  fs.mkdirSync(dist, { recursive: true })
  for (const target of chosen) {
    run(npm, ['pack', '--ignore-scripts', '--pack-destination', dist], { cwd: path.join(root, 'npm', target.platform) })
  }
  packMain(platforms)
  for (const line of timings) console.log(line)
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
