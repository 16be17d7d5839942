#!/usr/bin/env node
// `npm run test:platforms`: every platform package in dist/ (from `npm run
// package`), installed and run with that platform's own Node on this linux
// x64 machine: arm64 under qemu-user, musl with a musl Node, Windows under
// wine (scripts/platforms/runtimes.js says which Node builds, and
// scripts/platforms/setup-debian.sh prepares the machine). For each one:
//   1. npm installs the tarballs into an empty project, choosing the
//      optional platform package as it would on that platform (--os, --cpu,
//      --libc), with no Rust on PATH;
//   2. that platform's node requires the package (which must load the
//      platform package's addon), starts the installed pls-emulator CLI and
//      runs the seed demo, unchanged, against it;
//   3. the whole node suite (scripts/run-tests.js) runs in a copy of this
//      checkout whose node_modules holds the installed platform package, so
//      every test and every process a test starts loads that addon.
// linux-x64-gnu runs on Node 18, 20, 22 and 24; the others on Node 22. Bun
// and Deno (from npm) then run the emulator CLI and the seed demo.
//   --target <platform>  only this platform (repeatable)
//   --node <major>       only this Node major (repeatable)
//   --no-suite           steps 1 and 2 only
// Output of each step goes to a log under the cache folder, named when a
// step fails. The last line sums up the suites: "N passed, N failed".
'use strict'

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { TARGETS, findTarget } = require('./targets.js')
const { CACHE, runtimeFor, stopWine, nodeMajors, otherRuntime, OTHER_RUNTIMES } = require('./platforms/runtimes.js')

const root = path.resolve(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const dist = path.join(root, 'dist')
const logs = path.join(CACHE, 'logs')
const SUITE_TIMEOUT_MS = 45 * 60_000
const STEP_TIMEOUT_MS = 5 * 60_000

function parseArgs(argv) {
  const options = { targets: [], majors: [], suite: true }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target' && argv[i + 1]) options.targets.push(findTarget(argv[++i]).platform)
    else if (argv[i] === '--node' && argv[i + 1]) options.majors.push(Number(argv[++i]))
    else if (argv[i] === '--no-suite') options.suite = false
    else throw new Error(`unknown argument ${argv[i]} (use --target <platform>, --node <major>, --no-suite)`)
  }
  return options
}

function seconds(ms) {
  const s = Math.round(ms / 1000)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

function tarball(platform) {
  return path.join(dist, platform ? `${pkg.name}-${platform}-${pkg.version}.tgz` : `${pkg.name}-${pkg.version}.tgz`)
}

/**
 * Runs a command with its output in a log file (wine's node cannot write to
 * a Unix pipe), echoed to this terminal while it runs when `echo` is set.
 * Resolves with { code, signal, output }.
 */
function runLogged(command, args, { cwd, env, log, timeoutMs, echo = false, onOutput }) {
  fs.mkdirSync(path.dirname(log), { recursive: true })
  const fd = fs.openSync(log, 'w')
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] })
  fs.closeSync(fd)
  let shown = 0
  const pump = () => {
    const text = fs.readFileSync(log, 'utf8')
    if (echo && text.length > shown) process.stdout.write(text.slice(shown))
    shown = text.length
    if (onOutput) onOutput(text)
  }
  const ticker = setInterval(pump, 250)
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const done = new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      clearInterval(ticker)
      clearTimeout(timer)
      pump()
      resolve({ code, signal, output: fs.readFileSync(log, 'utf8') })
    })
  })
  return { child, done }
}

function fail(message, log) {
  throw new Error(log ? `${message} (log: ${log})` : message)
}

/** Step 1: npm install into an empty project, as on the target platform. */
function installProject(target, project) {
  const platforms = TARGETS.filter((t) => fs.existsSync(tarball(t.platform)))
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'platform-check',
        version: '1.0.0',
        private: true,
        dependencies: { [pkg.name]: `file:${tarball()}`, '@alicloud/pls-sdk': `file:${tarball()}` },
        // The registry's role: the main package's optionalDependencies resolve to the tarballs here.
        overrides: Object.fromEntries(platforms.map((t) => [`${pkg.name}-${t.platform}`, `file:${tarball(t.platform)}`])),
      },
      null,
      2,
    ),
  )
  // npm and node, but no cargo: nothing may compile at install time.
  const PATH = [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter)
  const platformFlags = [`--os=${target.os}`, `--cpu=${target.cpu}`, ...(target.libc ? [`--libc=${target.libc}`] : [])]
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', ...platformFlags], {
    cwd: project,
    env: { ...process.env, PATH },
    encoding: 'utf8',
  })
  if (result.status !== 0) fail(`npm install for ${target.platform} failed:\n${result.stdout}${result.stderr}`)
  const installed = fs.readdirSync(path.join(project, 'node_modules')).filter((name) => name.startsWith(`${pkg.name}-`))
  if (installed.join() !== `${pkg.name}-${target.platform}`) {
    fail(`npm installed ${installed.join(', ') || 'no platform package'} for ${target.platform}, not ${pkg.name}-${target.platform} alone`)
  }
}

/** Step 2: the platform's node loads the installed package, serves the emulator CLI and runs the seed demo. */
async function seedDemo(target, runtime, project, logPrefix, { addonFile = true } = {}) {
  const node = (args, log, { env, onOutput } = {}) =>
    runLogged(runtime.command, [...runtime.prefixArgs, ...args], { cwd: project, env: { ...runtime.env, ...env }, log, timeoutMs: STEP_TIMEOUT_MS, onOutput })

  fs.writeFileSync(
    path.join(project, 'which-addon.js'),
    "const C = require('pls-native')\n" +
      "console.log(JSON.stringify({ addons: Object.keys(require.cache || {}).filter((f) => f.endsWith('.node')),\n" +
      "  alias: require('@alicloud/pls-sdk') === C, bindAxb: typeof C.prototype.bindAxb }))\n",
  )
  const whichLog = `${logPrefix}-load.log`
  const loaded = await node(['which-addon.js'], whichLog).done
  if (loaded.code !== 0) fail(`require('pls-native') failed`, whichLog)
  const facts = JSON.parse(loaded.output.trim().split('\n').pop())
  const expected = `${pkg.name}.${target.platform}.node`
  if (addonFile && (facts.addons.length !== 1 || !facts.addons[0].includes(`${pkg.name}-${target.platform}`) || !facts.addons[0].endsWith(expected))) {
    fail(`the loader took ${facts.addons.join(', ') || 'no addon'}, not ${pkg.name}-${target.platform}/${expected}`, whichLog)
  }
  if (!facts.alias || facts.bindAxb !== 'function') fail('@alicloud/pls-sdk is not the same class as pls-native', whichLog)

  fs.copyFileSync(path.join(root, 'examples', 'seed-demo.js'), path.join(project, 'seed-demo.js'))
  const cli = runtime.path(path.join(project, 'node_modules', pkg.name, 'bin', 'pls-emulator.js'))
  const emulatorLog = `${logPrefix}-emulator.log`
  let url = null
  let settleUrl
  const urlSeen = new Promise((resolve, reject) => (settleUrl = { resolve, reject }))
  const emulator = node([cli, '--clock', '2018-08-01 00:00:00'], emulatorLog, {
    onOutput: (text) => {
      const match = /^http:\/\/127\.0\.0\.1:\d+$/m.exec(text)
      if (match && !url) settleUrl.resolve((url = match[0]))
    },
  })
  emulator.done.then(({ code, signal }) => settleUrl.reject(new Error(`pls-emulator exited (${code ?? signal}) before serving`)))
  const timer = setTimeout(() => settleUrl.reject(new Error('pls-emulator printed no URL in 5 minutes')), STEP_TIMEOUT_MS)
  try {
    const served = await urlSeen
    const demoLog = `${logPrefix}-seed-demo.log`
    const demo = await node(['seed-demo.js'], demoLog, { env: { PLS_ENDPOINT: served } }).done
    if (demo.code !== 0 || !/绑定axb成功/.test(demo.output) || !/SecretNo: ['"]170\d{8}['"]/.test(demo.output)) {
      fail('the seed demo did not bind against the emulator', demoLog)
    }
  } catch (err) {
    throw new Error(`${err.message} (emulator log: ${emulatorLog})`)
  } finally {
    clearTimeout(timer)
    if (emulator.child.exitCode === null && emulator.child.signalCode === null) emulator.child.kill(runtime.stop)
    const { code, signal } = await emulator.done
    // Where the platform has signals, the CLI stops cleanly on SIGTERM: exit 0.
    if (runtime.stop === 'SIGTERM' && url && (code !== 0 || signal)) fail(`pls-emulator exited ${code ?? signal} on SIGTERM`, emulatorLog)
  }
}

/** Files of the checkout (tracked, or new and not ignored). */
function checkoutFiles() {
  const result = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  if (result.status !== 0) fail(`git ls-files failed: the suite copy needs a git checkout\n${result.stderr}`)
  return [...new Set(result.stdout.split('\0').filter(Boolean))]
}

/**
 * Step 3's checkout copy: the checkout's files, its node_modules linked entry
 * by entry (the devDependencies the tests use), the installed platform
 * package beside them, and the examples' links to the package (as
 * @alicloud/pls-sdk and as itself).
 */
function suiteTree(target, project) {
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), `pls-native-suite-${target.platform}-`))
  for (const file of checkoutFiles()) {
    const from = path.join(root, file)
    if (!fs.existsSync(from) || fs.statSync(from).isDirectory()) continue
    fs.mkdirSync(path.join(tree, path.dirname(file)), { recursive: true })
    fs.copyFileSync(from, path.join(tree, file))
  }
  const modules = path.join(tree, 'node_modules')
  fs.mkdirSync(modules)
  for (const entry of fs.readdirSync(path.join(root, 'node_modules'))) {
    if (entry.startsWith(pkg.name) || entry === '.cache' || entry === '.package-lock.json') continue
    fs.symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry))
  }
  const name = `${pkg.name}-${target.platform}`
  fs.symlinkSync(path.join(project, 'node_modules', name), path.join(modules, name))
  // What examples/link.js makes with npm, which not every platform's Node has.
  const alias = path.join(tree, 'examples', 'node_modules', '@alicloud')
  fs.mkdirSync(alias, { recursive: true })
  // Absolute targets: wine does not follow a relative one.
  fs.symlinkSync(tree, path.join(alias, 'pls-sdk'))
  fs.symlinkSync(tree, path.join(tree, 'examples', 'node_modules', pkg.name))
  return tree
}

/** Reads the closing counts of node's test runner (spec or TAP). */
function counts(output) {
  const count = (word) => {
    const all = [...output.matchAll(new RegExp(`^(?:ℹ|#) ${word} (\\d+)\\s*$`, 'gm'))]
    return all.length ? Number(all[all.length - 1][1]) : null
  }
  return { tests: count('tests'), pass: count('pass'), fail: count('fail'), skipped: count('skipped'), cancelled: count('cancelled') }
}

async function suite(target, runtime, project, logPrefix) {
  const tree = suiteTree(target, project)
  // The slow suites' switches belong to the host's CI run; each platform
  // runs what its machine can, and skips the rest saying why.
  const env = Object.fromEntries(Object.entries(runtime.env).filter(([k]) => !k.startsWith('PLS_TEST_') && k !== 'NAPI_RS_NATIVE_LIBRARY_PATH'))
  // Under qemu every instruction is emulated: the stale-connection tests make
  // 600 calls a scenario instead of 3,000 (still hundreds of lost races).
  if (target.platform.includes('arm64') && process.arch !== 'arm64') env.PLS_TEST_STALE_CALLS = '600'
  const log = `${logPrefix}-suite.log`
  const { code, signal, output } = await runLogged(runtime.command, [...runtime.prefixArgs, 'scripts/run-tests.js'], {
    cwd: tree,
    env,
    log,
    timeoutMs: SUITE_TIMEOUT_MS,
    echo: true,
  }).done
  const result = counts(output)
  if (code === 0 && result.fail === 0) fs.rmSync(tree, { recursive: true, force: true })
  else console.log(`the suite's copy of the checkout is kept for a look: ${tree}`)
  return { ...result, ok: code === 0 && result.fail === 0 && result.pass > 0, exit: code ?? signal, log }
}

async function testOne(target, major, options) {
  const runtime = runtimeFor(target.platform, major)
  const label = `${target.platform} on node ${runtime.version}`
  const logPrefix = path.join(logs, `${target.platform}-node${runtime.version}`)
  console.log(`\n=== ${label} ===`)
  const row = { label, install: null, suite: null }
  const project = fs.mkdtempSync(path.join(os.tmpdir(), `pls-native-project-${target.platform}-`))
  try {
    let started = Date.now()
    installProject(target, project)
    await seedDemo(target, runtime, project, logPrefix)
    row.install = Date.now() - started
    console.log(`${label}: installed, loaded ${pkg.name}-${target.platform}, seed demo bound against the emulator (${seconds(row.install)})`)
    if (options.suite) {
      started = Date.now()
      row.result = await suite(target, runtime, project, logPrefix)
      row.suite = Date.now() - started
      console.log(`${label}: suite ${row.result.ok ? 'passed' : 'FAILED'} in ${seconds(row.suite)} (log: ${row.result.log})`)
    }
  } catch (err) {
    row.error = err.message
    console.log(`${label}: FAILED: ${err.message}`)
  } finally {
    if (runtime.wine) stopWine(runtime.wine)
    fs.rmSync(project, { recursive: true, force: true })
  }
  return row
}

/**
 * Bun and Deno: the installed package, the emulator CLI and the seed demo,
 * all run by that runtime (README, "Bun and Deno"). Deno runs a .js file as
 * CommonJS only when package.json says "type": "commonjs".
 */
async function testOtherRuntime(name) {
  const target = findTarget('linux-x64-gnu')
  const label = `${target.platform} on ${name}`
  const row = { label, install: null, suite: null, seedDemoOnly: true }
  const project = fs.mkdtempSync(path.join(os.tmpdir(), `pls-native-project-${name}-`))
  try {
    const runtime = otherRuntime(name)
    row.label = `${label} ${runtime.version}`
    console.log(`\n=== ${row.label} ===`)
    const started = Date.now()
    installProject(target, project)
    const manifest = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'))
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ ...manifest, type: 'commonjs' }, null, 2))
    await seedDemo(target, runtime, project, path.join(logs, `${name}-${runtime.version}`), { addonFile: false })
    row.install = Date.now() - started
    console.log(`${row.label}: loaded pls-native, seed demo bound against the emulator served by ${name} (${seconds(row.install)})`)
  } catch (err) {
    row.error = err.message
    console.log(`${row.label}: FAILED: ${err.message}`)
  } finally {
    fs.rmSync(project, { recursive: true, force: true })
  }
  return row
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  if (!fs.existsSync(tarball())) fail('dist/ has no main package tarball: run `npm run package` first')
  const built = TARGETS.filter((t) => fs.existsSync(tarball(t.platform)) && t.where === 'linux-x64')
  const chosen = options.targets.length ? options.targets.map(findTarget) : built
  for (const target of chosen) {
    if (!fs.existsSync(tarball(target.platform))) fail(`dist/ has no ${target.platform} tarball: run \`npm run package -- --target ${target.platform}\``)
  }
  const started = Date.now()
  const rows = []
  for (const target of chosen) {
    const majors = nodeMajors(target.platform).filter((m) => options.majors.length === 0 || options.majors.includes(m))
    for (const major of majors) rows.push(await testOne(target, major, options))
  }
  if (chosen.some((t) => t.platform === 'linux-x64-gnu') && options.majors.length === 0) {
    for (const name of Object.keys(OTHER_RUNTIMES)) rows.push(await testOtherRuntime(name))
  }

  console.log(`\nplatform tests (${seconds(Date.now() - started)} in all; logs in ${logs}):`)
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const row of rows) {
    const r = row.result
    const suiteText = row.seedDemoOnly ? 'the suite is Node only' : !options.suite ? 'suite not run' : r ? `suite ${r.pass} passed, ${r.fail} failed, ${r.skipped} skipped in ${seconds(row.suite)}` : 'suite not reached'
    const status = row.error || (r && !r.ok) ? 'FAIL' : 'ok'
    console.log(`  ${status.padEnd(4)} ${row.label.padEnd(34)} install + seed demo ${row.install === null ? '-' : seconds(row.install)}; ${suiteText}${row.error ? `; ${row.error.split('\n')[0]}` : ''}`)
    if (r) {
      passed += r.pass || 0
      failed += r.fail || 0
      skipped += r.skipped || 0
    }
    if (row.error || (r && !r.ok)) failed += r && r.fail ? 0 : 1
  }
  console.log(`platforms: ${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exitCode = rows.every((row) => !row.error && (!row.result || row.result.ok)) ? 0 : 1
}

main().catch((err) => {
  console.error(`npm run test:platforms: ${err.message}`)
  process.exitCode = 1
})
