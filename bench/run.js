#!/usr/bin/env node
// `npm run bench [-- options]`: @alicloud/pls-sdk (the devDependency
// pls-sdk-original) against pls-native in the same run, alternating rounds,
// each client in its own child process, against one local server in another
// process. Prints a table and writes bench/results/latest.json.
// See bench/README.md for the options and what each figure means.
'use strict'

const { spawn, spawnSync, fork } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const root = path.resolve(__dirname, '..')
// Every client bench/worker.js can run, in table order.
const ALL_CLIENTS = ['original', 'tea-v2', 'tea-acs3', 'native', 'native-acs3']
const LABEL = {
  original: 'original',
  'tea-v2': 'tea v2',
  'tea-acs3': 'tea ACS3',
  native: 'pls-native',
  'native-acs3': 'pls-n. ACS3',
}
// Each peer and the pls-native client it is compared with: the same
// signature (HMAC-SHA1 for the original and Tea's v2, ACS3-HMAC-SHA256 for
// Tea's default), so a ratio compares clients, not signatures.
const PAIRS = [
  ['original', 'native'],
  ['tea-v2', 'native'],
  ['tea-acs3', 'native-acs3'],
]
// Clients that cannot open a new connection per call. Tea's Node runtime
// sends every request through httpx's one module-wide keep-alive agent, and
// callApi drops RuntimeOptions.keepAlive before the transport sees it, so
// neither an option nor a fresh client turns keep-alive off.
const KEEP_ALIVE_ONLY = new Set(['tea-v2', 'tea-acs3'])
// The package each client comes from, for require() time and footprint.
const PACKAGE_OF = { original: 'original', 'tea-v2': 'tea', 'tea-acs3': 'tea', native: 'native', 'native-acs3': 'native' }

// ---------------------------------------------------------------- options

const DEFAULTS = {
  rounds: 5,
  seconds: 3,
  warmupMs: 500,
  levels: [1, 4, 16, 64, 256, 1024],
  newConnectionLevels: [16],
  clients: ALL_CLIENTS,
  tls: false,
  server: 'emulator',
  serverThreads: 1,
  long: false,
  longOnly: false,
  longCalls: 1_000_000,
  longWarmupCalls: 100_000,
  longConcurrency: 256,
  spawns: 15,
  build: true,
  allowDebug: false,
  out: path.join(__dirname, 'results', 'latest.json'),
}

function usage() {
  return `usage: npm run bench -- [options]
  --rounds N            alternating rounds per concurrency level (${DEFAULTS.rounds})
  --seconds S           measured seconds per round and client (${DEFAULTS.seconds})
  --warmup-ms MS        unmeasured load before each measured round (${DEFAULTS.warmupMs})
  --levels 1,4,...      calls in flight (${DEFAULTS.levels.join(',')}); keep them ascending
  --new-connection-levels 16,...  also these levels with a new connection for every call
                        (keep-alive off in each client's own terms; ${DEFAULTS.newConnectionLevels.join(',')}; 'none' for none)
  --clients a,b,...     which clients (${ALL_CLIENTS.join(',')})
  --tls                 HTTPS: the emulator serves TLS with a throwaway CA that every client
                        trusts through NODE_EXTRA_CA_CERTS
  --server emulator|fixed   the emulator's --stateless serve example (checks signatures),
                        or bench/fixed-server (fixed reply, checks nothing) (${DEFAULTS.server})
  --server-threads N    tokio workers of the server (${DEFAULTS.serverThreads})
  --long                also the long run: ${DEFAULTS.longCalls} calls at ${DEFAULTS.longConcurrency} in flight per client, RSS growth after warm-up
  --long-only           only the long run
  --long-calls N        calls in the long run (${DEFAULTS.longCalls})
  --long-warmup-calls N of them, unmeasured warm-up (${DEFAULTS.longWarmupCalls}); glibc's arenas and
                        the 256-connection pool keep growing for ~1M calls before they plateau
  --spawns N            node processes per variant for the require() time (${DEFAULTS.spawns})
  --quick               1 round of 1 s, levels 1,64,256 (a smoke run; figures are rough)
  --no-build            do not build the server binary (fail if it is missing)
  --allow-debug         benchmark a debug addon anyway (figures are meaningless)
  --out FILE            JSON output (${path.relative(root, DEFAULTS.out)})`
}

function parseArgs(argv) {
  const o = { ...DEFAULTS }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`)
      return argv[++i]
    }
    const num = (v) => {
      const n = Number(v)
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: ${v} is not a positive number`)
      return n
    }
    switch (flag) {
      case '--rounds': o.rounds = Math.round(num(next())); break
      case '--seconds': o.seconds = num(next()); break
      case '--warmup-ms': o.warmupMs = num(next()); break
      case '--levels': o.levels = next().split(',').map((v) => Math.round(num(v))); break
      case '--new-connection-levels': {
        const v = next()
        o.newConnectionLevels = v === 'none' ? [] : v.split(',').map((x) => Math.round(num(x)))
        break
      }
      case '--clients': o.clients = next().split(','); break
      case '--tls': o.tls = true; break
      case '--server': o.server = next(); break
      case '--server-threads': o.serverThreads = Math.round(num(next())); break
      case '--long': o.long = true; break
      case '--long-only': o.long = true; o.longOnly = true; break
      case '--long-calls': o.longCalls = Math.round(num(next())); break
      case '--long-warmup-calls': o.longWarmupCalls = Math.round(num(next())); break
      case '--spawns': o.spawns = Math.round(num(next())); break
      case '--quick': o.rounds = 1; o.seconds = 1; o.warmupMs = 300; o.levels = [1, 64, 256]; o.spawns = 7; break
      case '--no-build': o.build = false; break
      case '--allow-debug': o.allowDebug = true; break
      case '--out': o.out = path.resolve(next()); break
      case '-h': case '--help': console.log(usage()); process.exit(0)
      default: throw new Error(`unknown option ${flag}\n${usage()}`)
    }
  }
  if (!['emulator', 'fixed'].includes(o.server)) throw new Error(`--server: emulator or fixed, not ${o.server}`)
  if (o.tls && o.server !== 'emulator') throw new Error('--tls needs --server emulator (the fixed server speaks plain HTTP)')
  const unknown = o.clients.filter((c) => !ALL_CLIENTS.includes(c))
  if (unknown.length) throw new Error(`--clients: unknown ${unknown.join(', ')}; one of ${ALL_CLIENTS.join(', ')}`)
  o.clients = ALL_CLIENTS.filter((c) => o.clients.includes(c))
  o.pairs = PAIRS.filter(([peer, ours]) => o.clients.includes(peer) && o.clients.includes(ours))
  if (o.pairs.length === 0) throw new Error('--clients: name at least one peer and the pls-native client compared with it')
  o.longWarmupCalls = Math.min(o.longWarmupCalls, Math.floor(o.longCalls / 10))
  return o
}

// ---------------------------------------------------------------- helpers

const median = (xs) => {
  const v = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}
const MB = (bytes) => bytes / (1024 * 1024)

function log(...args) {
  process.stderr.write(args.join(' ') + '\n')
}

function hostTriple() {
  const out = spawnSync('rustc', ['-vV'], { encoding: 'utf8' })
  const line = (out.stdout || '').split('\n').find((l) => l.startsWith('host: '))
  return line ? line.slice(6).trim() : null
}

function newestMtime(dir, re = /\.(rs|toml)$/) {
  let newest = 0
  if (!fs.existsSync(dir)) return 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target' || entry.name === 'node_modules') continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full, re))
    else if (re.test(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs)
  }
  return newest
}

// ---------------------------------------------------------------- the addon must be a release build

/** The section names of an ELF file (64-bit little-endian), or null if it is not one. */
function elfSections(file) {
  const fd = fs.openSync(file, 'r')
  try {
    const head = Buffer.alloc(64)
    fs.readSync(fd, head, 0, 64, 0)
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return null
    const shoff = Number(head.readBigUInt64LE(0x28))
    const shentsize = head.readUInt16LE(0x3a)
    const shnum = head.readUInt16LE(0x3c)
    const shstrndx = head.readUInt16LE(0x3e)
    const table = Buffer.alloc(shentsize * shnum)
    fs.readSync(fd, table, 0, table.length, shoff)
    const strOff = Number(table.readBigUInt64LE(shstrndx * shentsize + 0x18))
    const strSize = Number(table.readBigUInt64LE(shstrndx * shentsize + 0x20))
    const strtab = Buffer.alloc(strSize)
    fs.readSync(fd, strtab, 0, strSize, strOff)
    const names = []
    for (let i = 0; i < shnum; i++) {
      const nameOff = table.readUInt32LE(i * shentsize)
      names.push(strtab.toString('latin1', nameOff, strtab.indexOf(0, nameOff)))
    }
    return names
  } finally {
    fs.closeSync(fd)
  }
}

function sameFile(a, b) {
  try {
    const sa = fs.statSync(a)
    const sb = fs.statSync(b)
    if (sa.size !== sb.size) return false
    const hash = (f) => require('node:crypto').createHash('sha1').update(fs.readFileSync(f)).digest('hex')
    return hash(a) === hash(b)
  } catch {
    return false
  }
}

/**
 * Which cargo profile made pls-native.node. scripts/build.js copies cargo's
 * output (target/<triple>/<profile>/ under napi, target/<profile>/ under plain
 * cargo) to ./pls-native.node, so the file is byte-identical to the artefact
 * of the profile that built it last. If no artefact matches (target/ cleaned),
 * fall back on the ELF: the release profile strips symbols (Cargo.toml:
 * strip = "symbols"), a debug build carries .debug_info (off ELF: > 40 MB).
 */
function addonProfile(file) {
  const lib = { darwin: 'libpls_native.dylib', win32: 'pls_native.dll' }[process.platform] || 'libpls_native.so'
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target')
  const triple = hostTriple()
  for (const profile of ['release', 'debug']) {
    const candidates = [path.join(targetDir, profile, lib)]
    if (triple) candidates.unshift(path.join(targetDir, triple, profile, lib))
    for (const c of candidates) if (sameFile(file, c)) return { profile, how: `identical to ${path.relative(root, c)}` }
  }
  const sections = elfSections(file)
  if (sections) {
    const debug = sections.includes('.debug_info')
    return { profile: debug ? 'debug' : 'release', how: debug ? 'ELF has .debug_info' : 'ELF has no .debug_info' }
  }
  return { profile: fs.statSync(file).size > 40 * 1024 * 1024 ? 'debug' : 'release', how: 'file size' }
}

/** Refuses a debug addon (its figures would mean nothing) unless --allow-debug. */
function checkAddon(o) {
  const file = path.join(root, 'pls-native.node')
  if (!fs.existsSync(file)) {
    throw new Error(`pls-native: ${file} is not built. Run \`npm run build\` (a release build) first.`)
  }
  const size = fs.statSync(file).size
  const { profile, how } = addonProfile(file)
  const sources = Math.max(newestMtime(path.join(root, 'src')), newestMtime(path.join(root, 'crates')))
  const stale = fs.statSync(file).mtimeMs < sources
  const info = { file: path.relative(root, file), bytes: size, profile, how, staleVsSources: stale }
  if (profile !== 'release' && !o.allowDebug) {
    throw new Error(
      `pls-native.node is a DEBUG build (${MB(size).toFixed(0)} MB; ${how}): its figures would be meaningless.\n` +
        'Run `npm run build` (release; several minutes on 2 cores) and try again (--allow-debug overrides).',
    )
  }
  if (stale) log('warning: pls-native.node is older than a source under src/ or crates/; `npm run build` to bench the current code')
  return info
}

// ---------------------------------------------------------------- the server

function serverBinary(o) {
  if (o.server === 'emulator') {
    // The napi build compiles for the explicit host triple; building the
    // example for the same triple shares its dependency artefacts.
    const triple = hostTriple()
    const dir = triple ? path.join(root, 'target', triple, 'release', 'examples') : path.join(root, 'target', 'release', 'examples')
    const bin = path.join(dir, 'serve')
    const cmd = ['build', '--release', '-p', 'pls-emulator', '--example', 'serve', ...(triple ? ['--target', triple] : [])]
    const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < newestMtime(path.join(root, 'crates', 'pls-emulator'))
    const args = ['--port', '0', '--stateless', '--threads', String(o.serverThreads)]
    if (o.tls) args.push('--tls', '--ca-out', o.caFile)
    return { bin, cmd, cwd: root, env: {}, stale, args }
  }
  const dir = path.join(__dirname, 'fixed-server')
  const targetDir = path.join(root, 'target', 'bench-fixed-server')
  const bin = path.join(targetDir, 'release', 'pls-bench-fixed-server')
  const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < newestMtime(dir)
  return {
    bin,
    cmd: ['build', '--release', '--offline'],
    cwd: dir,
    env: { CARGO_TARGET_DIR: targetDir },
    stale,
    args: ['--port', '0', '--threads', String(o.serverThreads)],
  }
}

function buildServer(o) {
  const s = serverBinary(o)
  if (s.stale) {
    if (!o.build) throw new Error(`${s.bin} is missing or stale; run \`cargo ${s.cmd.join(' ')}\` in ${s.cwd}`)
    log(`building the ${o.server} server: cargo ${s.cmd.join(' ')}`)
    const r = spawnSync('cargo', s.cmd, { cwd: s.cwd, env: { ...process.env, ...s.env }, stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) throw new Error(`cargo ${s.cmd.join(' ')} failed`)
  }
  return s
}

function startServer(s) {
  return new Promise((resolve, reject) => {
    const child = spawn(s.bin, s.args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    const timer = setTimeout(() => reject(new Error('the server printed no URL within 10 s')), 10_000)
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`the server exited (${code}) before printing its URL`)))
    child.stdout.on('data', (d) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        child.stdout.resume()
        const url = buf.slice(0, nl).trim().replace('://localhost', '://127.0.0.1')
        if (!/^https?:\/\/127\.0\.0\.1:\d+$/.test(url)) reject(new Error(`unexpected server URL ${url}`))
        resolve({ child, url, pid: child.pid })
      }
    })
  })
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  return Number(r.stdout) || 100
})()

/** User + system CPU seconds of a process (all threads), from /proc. */
function procCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return null
  }
}

/**
 * TCP connections this machine has opened so far (`ActiveOpens` in
 * /proc/net/snmp), or null off Linux. A count rather than a look at the
 * socket table: a client that resets its connections leaves nothing listed
 * (Node resets the TLS connections it closes: OutRsts grows as ActiveOpens).
 */
function tcpActiveOpens() {
  let text
  try {
    text = fs.readFileSync('/proc/net/snmp', 'utf8')
  } catch {
    return null
  }
  const [names, values] = text.split('\n').filter((line) => line.startsWith('Tcp:')).map((line) => line.split(/\s+/))
  const at = names ? names.indexOf('ActiveOpens') : -1
  return at > 0 ? Number(values[at]) : null
}

// ---------------------------------------------------------------- client processes

function startWorker(which, url, env) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'worker.js'), [which, url], {
      cwd: root,
      env: { ...process.env, ...env },
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const pending = new Map()
    let nextId = 1
    child.on('message', (msg) => {
      if (msg.ready) {
        resolve({
          which,
          pid: msg.pid,
          child,
          call(op, args = {}) {
            const id = nextId++
            return new Promise((res, rej) => {
              pending.set(id, { res, rej })
              child.send({ ...args, op, id })
            })
          },
        })
        return
      }
      const p = pending.get(msg.id)
      if (!p) return
      pending.delete(msg.id)
      if (msg.error) p.rej(new Error(`${which}: ${msg.error}`))
      else p.res(msg.result)
    })
    child.on('exit', (code, signal) => {
      for (const p of pending.values()) p.rej(new Error(`${which} worker exited (${code ?? signal})`))
      pending.clear()
      reject(new Error(`${which} worker exited (${code ?? signal}) before it was ready`))
    })
  })
}

async function stopWorker(w) {
  const exited = new Promise((r) => w.child.once('exit', r))
  try {
    w.child.send({ op: 'exit', id: 0 })
  } catch {}
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

// ---------------------------------------------------------------- measurements

/** The measured levels: the keep-alive ones, then those with a new connection per call. */
function levelSpecs(o) {
  return [
    ...o.levels.map((level) => ({ key: String(level), level, newConnections: false })),
    ...o.newConnectionLevels.map((level) => ({ key: `new@${level}`, level, newConnections: true })),
  ]
}

/** Round r's client order: rotated by r/2 and reversed on odd rounds, so no client always goes first or last. */
function roundOrder(clients, r) {
  const k = Math.floor(r / 2) % clients.length
  const rotated = [...clients.slice(k), ...clients.slice(0, k)]
  return r % 2 === 0 ? rotated : rotated.reverse()
}

async function measureLevels(o, workers, server) {
  const perLevel = {}
  for (const spec of levelSpecs(o)) {
    const rounds = []
    const what = spec.newConnections ? `${spec.level} in flight, a new connection per call` : `${spec.level} in flight`
    log(`-- ${what}: ${o.rounds} rounds x ${o.seconds} s per client`)
    const clients = spec.newConnections ? o.clients.filter((c) => !KEEP_ALIVE_ONLY.has(c)) : o.clients
    for (let r = 0; r < o.rounds; r++) {
      const round = {}
      for (const which of roundOrder(clients, r)) {
        const w = workers[which]
        const load = { concurrency: spec.level, newConnections: spec.newConnections }
        await w.call('warm', { ...load, ms: r === 0 ? Math.max(o.warmupMs, 1000) : o.warmupMs })
        const s0 = procCpuSeconds(server.pid)
        const t0 = performance.now()
        const res = await w.call('run', { ...load, ms: o.seconds * 1000 })
        const wall = (performance.now() - t0) / 1000
        const s1 = procCpuSeconds(server.pid)
        res.serverCores = s0 == null ? null : (s1 - s0) / wall
        res.serverCpuPerCallUs = s0 == null ? null : ((s1 - s0) * 1e6) / Math.max(1, res.calls)
        delete res.rssSamples
        round[which] = res
        if (res.errors) log(`   ${which}: ${res.errors} errors, first: ${res.firstError}`)
      }
      rounds.push(round)
      log(
        `   round ${r + 1}: ` +
          clients.map((c) => `${c} ${Math.round(round[c].throughput)}/s p99 ${fmt(round[c].p99Ms, 2)} ms cpu ${round[c].cpuPerCallUs.toFixed(1)} us`).join(' | '),
      )
    }
    const maxRSS = {}
    for (const which of clients) maxRSS[which] = (await workers[which].call('gc')).maxRSS
    perLevel[spec.key] = { spec, clients, rounds, maxRSS }
  }
  return perLevel
}

/** Wall ms of `node args` spawned `n` times per variant, interleaved; medians. */
function requireTimes(o) {
  const variants = { bare: ['-e', '0'] }
  const packages = new Set(o.clients.map((c) => PACKAGE_OF[c]))
  if (packages.has('original')) variants.original = ['-e', "require('pls-sdk-original')"]
  // What a generated Tea client loads: the OpenAPI core and Tea's util.
  if (packages.has('tea')) variants.tea = ['-e', "require('@alicloud/openapi-client'); require('@alicloud/tea-util')"]
  if (packages.has('native')) variants.native = ['-e', `require(${JSON.stringify(root)})`]
  const times = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
  for (let i = 0; i < o.spawns + 1; i++) {
    for (const [name, args] of Object.entries(variants)) {
      const t0 = performance.now()
      const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'ignore' })
      const ms = performance.now() - t0
      if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`)
      if (i > 0) times[name].push(ms) // the first spawn of each warms the file cache
    }
  }
  const bare = median(times.bare)
  const out = { bareMs: bare, samples: times }
  for (const name of Object.keys(variants)) {
    if (name !== 'bare') out[name] = { totalMs: median(times[name]), overBareMs: median(times[name]) - bare }
  }
  return out
}

/** Apparent bytes and disk usage (st_blocks, as du counts) of a tree, and its packages (dirs with a package.json under node_modules). */
function treeSize(dir) {
  let apparent = 0
  let disk = 0
  let packages = 0
  const walk = (d, inNodeModules) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name)
      const st = fs.lstatSync(full)
      apparent += st.size
      disk += st.blocks * 512
      if (e.isDirectory()) {
        if (inNodeModules && !e.name.startsWith('@') && !e.name.startsWith('.') && fs.existsSync(path.join(full, 'package.json'))) packages++
        walk(full, e.name === 'node_modules' || (inNodeModules && e.name.startsWith('@')))
      }
    }
  }
  walk(dir, path.basename(dir) === 'node_modules')
  return { apparent, disk, packages }
}

function scratchDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pls-bench-${name}-`))
}

/**
 * A peer as a user gets it: `npm install --offline` of the version this
 * checkout's lock file holds (`installedAs`: its name under node_modules) of
 * the package `published` into a scratch folder (from npm's cache, nothing
 * downloaded), then the packages and bytes under its node_modules. Without a
 * cached copy, the devDependency's tree in package-lock.json as installed here.
 */
function peerFootprint(installedAs, published) {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'))
  const pkgs = lock.packages || {}
  const start = `node_modules/${installedAs}`
  if (!pkgs[start]) return null
  const version = pkgs[start].version
  const dir = scratchDir(installedAs.replace(/[@/]/g, '-'))
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n')
    const r = spawnSync(npmBin(), ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', `${published}@${version}`], { cwd: dir, encoding: 'utf8', timeout: 120_000 })
    if (r.status === 0 && fs.existsSync(path.join(dir, 'node_modules'))) {
      const t = treeSize(path.join(dir, 'node_modules'))
      return { packages: t.packages, bytes: t.disk, apparentBytes: t.apparent, version, method: `scratch npm install --offline ${published}@${version}; bytes = disk usage (du)` }
    }
    log(`note: scratch npm install of ${published} failed (${(r.stderr || '').trim().split('\n').pop()}); using package-lock.json`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  // Fallback: the devDependency's tree as installed here.
  const seen = new Set()
  const resolve = (from, name) => {
    let base = from
    for (;;) {
      const candidate = `${base}/node_modules/${name}`
      if (pkgs[candidate]) return candidate
      const at = base.lastIndexOf('/node_modules/')
      if (at < 0) return pkgs[`node_modules/${name}`] ? `node_modules/${name}` : null
      base = base.slice(0, at)
    }
  }
  const stack = [start]
  while (stack.length) {
    const loc = stack.pop()
    if (seen.has(loc)) continue
    seen.add(loc)
    const p = pkgs[loc]
    for (const name of Object.keys({ ...(p.dependencies || {}), ...(p.optionalDependencies || {}) })) {
      const dep = resolve(loc, name)
      if (dep) stack.push(dep)
    }
  }
  let disk = 0
  let apparent = 0
  const own = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue // nested packages are counted on their own
      const full = path.join(d, e.name)
      const st = fs.lstatSync(full)
      apparent += st.size
      disk += st.blocks * 512
      if (e.isDirectory()) own(full)
    }
  }
  for (const loc of seen) if (fs.existsSync(path.join(root, loc))) own(path.join(root, loc))
  return { packages: seen.size, bytes: disk, apparentBytes: apparent, version, method: `package-lock.json tree of ${installedAs}; bytes = disk usage (du)` }
}

function npmBin() {
  return process.platform === 'win32' ? 'npm.cmd' : 'npm'
}

/**
 * This package as installed: the files of `npm pack` unpacked, plus the one
 * platform package npm picks from its optionalDependencies (here: the addon
 * in its own package folder).
 */
function nativeFootprint() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const runtimeDeps = Object.keys({ ...(pkg.dependencies || {}), ...(pkg.optionalDependencies || {}), ...(pkg.peerDependencies || {}) })
  const dir = scratchDir('native')
  try {
    const r = spawnSync(npmBin(), ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
    const packed = JSON.parse(r.stdout)[0]
    const pkgDir = path.join(dir, 'node_modules', pkg.name)
    fs.mkdirSync(pkgDir, { recursive: true })
    const x = spawnSync('tar', ['xzf', path.join(dir, packed.filename), '-C', pkgDir, '--strip-components', '1'])
    if (x.status !== 0) throw new Error('tar failed')
    const platformDir = path.join(dir, 'node_modules', `${pkg.name}-${process.platform}-${process.arch}`)
    fs.mkdirSync(platformDir, { recursive: true })
    fs.writeFileSync(path.join(platformDir, 'package.json'), JSON.stringify({ name: path.basename(platformDir), version: pkg.version }))
    fs.copyFileSync(path.join(root, 'pls-native.node'), path.join(platformDir, 'pls-native.node'))
    const t = treeSize(path.join(dir, 'node_modules'))
    return {
      packages: t.packages,
      runtimeDependencies: runtimeDeps,
      bytes: t.disk,
      apparentBytes: t.apparent,
      packageFiles: packed.entryCount,
      addonBytes: fs.statSync(path.join(root, 'pls-native.node')).size,
      method: 'npm pack unpacked + the platform package (the addon); bytes = disk usage (du)',
    }
  } catch (err) {
    log(`note: cannot measure the packed size: ${err.message}`)
    return { packages: 2 + runtimeDeps.length, runtimeDependencies: runtimeDeps, bytes: fs.statSync(path.join(root, 'pls-native.node')).size, method: 'addon only' }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// The long run compares the original with pls-native only: a million calls
// per client is slow, and memory growth is the package's, whatever the signature.
const LONG_CLIENTS = ['original', 'native']

async function longRun(o, workers) {
  const out = {}
  for (const which of LONG_CLIENTS.filter((c) => o.clients.includes(c))) {
    const w = workers[which]
    log(`-- long run, ${which}: ${o.longCalls} calls at ${o.longConcurrency} in flight (${o.longWarmupCalls} of them warm-up)`)
    const warm = await w.call('run', { concurrency: o.longConcurrency, calls: o.longWarmupCalls, record: false })
    const afterWarm = await w.call('gc')
    const main = await w.call('run', {
      concurrency: o.longConcurrency,
      calls: o.longCalls - o.longWarmupCalls,
      record: true,
      sampleRssMs: 1000,
    })
    const end = await w.call('gc')
    const samples = main.rssSamples
    // Growth after warm-up: the median RSS of the last fifth of the samples
    // over that of the first fifth (GC sawtooth averaged out), and after a full GC.
    const fifth = Math.max(1, Math.floor(samples.length / 5))
    const early = median(samples.slice(0, fifth).map((s) => s[1]))
    const late = median(samples.slice(-fifth).map((s) => s[1]))
    out[which] = {
      calls: warm.calls + main.calls,
      errors: warm.errors + main.errors,
      seconds: (warm.elapsedMs + main.elapsedMs) / 1000,
      throughput: main.throughput,
      p99Ms: main.p99Ms,
      cpuPerCallUs: main.cpuPerCallUs,
      rssAfterWarmupGc: afterWarm.rss,
      rssAtEndGc: end.rss,
      growthAfterGcBytes: end.rss - afterWarm.rss,
      rssEarlyMedian: early,
      rssLateMedian: late,
      growthSampledBytes: late - early,
      maxRSS: end.maxRSS,
      rssSamples: samples,
    }
    log(`   ${which}: ${Math.round(main.throughput)}/s, RSS after warm-up ${MB(afterWarm.rss).toFixed(1)} MB -> end ${MB(end.rss).toFixed(1)} MB (sampled ${MB(early).toFixed(1)} -> ${MB(late).toFixed(1)} MB)`)
  }
  return out
}

// ---------------------------------------------------------------- summary and table

const FIGURES = ['throughput', 'p50Ms', 'p99Ms', 'cpuPerCallUs', 'cores', 'serverCores', 'serverCpuPerCallUs']

function summarise(o, perLevel) {
  const levels = {}
  for (const [key, { spec, clients, rounds, maxRSS }] of Object.entries(perLevel)) {
    const entry = { spec, maxRSS, ratio: {} }
    for (const which of clients) {
      entry[which] = Object.fromEntries(FIGURES.map((f) => [f, median(rounds.map((r) => r[which][f]))]))
      entry[which].errors = rounds.reduce((n, r) => n + r[which].errors, 0)
      entry[which].calls = rounds.reduce((n, r) => n + r[which].calls, 0)
    }
    // Per pair and figure: the median of the per-round ratios (paired, so
    // drift cancels) and their spread over the rounds.
    for (const [peer, ours] of o.pairs.filter((pair) => pair.every((c) => clients.includes(c)))) {
      const pair = {}
      for (const f of ['throughput', 'p50Ms', 'p99Ms', 'cpuPerCallUs']) {
        const perRound = rounds.map((r) => r[ours][f] / r[peer][f]).filter(Number.isFinite)
        pair[f] = { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), rounds: perRound }
      }
      pair.maxRSS = maxRSS[ours] / maxRSS[peer]
      entry.ratio[`${ours}/${peer}`] = pair
    }
    levels[key] = entry
  }
  return levels
}

function fmt(x, digits = 0) {
  if (x == null || !Number.isFinite(x)) return '-'
  if (Math.abs(x) >= 10000) return Math.round(x).toLocaleString('en-US')
  return x.toFixed(digits)
}

function fmtRatio(r) {
  if (r == null || !Number.isFinite(r)) return '-'
  return r.toFixed(r < 0.1 ? 3 : 2) + 'x'
}

/** `4.87x` with one round, `4.87x (4.1-5.3)` with several: the median and the range of per-round ratios. */
function fmtSpread(q) {
  if (!q || q.median == null) return '-'
  if (q.rounds.length < 2) return fmtRatio(q.median)
  const d = (x) => x.toFixed(x < 0.1 ? 3 : x < 10 ? 2 : 1)
  return `${fmtRatio(q.median)} (${d(q.min)}-${d(q.max)})`
}

/** The table a user reads: every client's figures, and pls-native against each peer. */
function table(o, results) {
  const header = ['figure', ...o.clients.map((c) => LABEL[c]), ...o.pairs.map(([peer]) => `vs ${LABEL[peer]}`)]
  const rows = [header]
  const row = (name, values, ratios) => rows.push([name, ...values, ...ratios])
  const perClient = (get, digits) => o.clients.map((c) => fmt(get(c), digits))
  // A client left out of a level (it cannot open a new connection per call) shows n/a.
  const perMeasured = (e, get, digits) => o.clients.map((c) => (e[c] ? fmt(get(e[c]), digits) : 'n/a'))
  const L = results.levels || {}
  for (const spec of levelSpecs(o)) {
    const e = L[spec.key]
    if (!e) continue
    const at = spec.newConnections ? `new conn. @${spec.level}` : `@${spec.level}`
    const ratios = (f) => o.pairs.map(([peer, ours]) => {
      const pair = e.ratio[`${ours}/${peer}`]
      return pair ? fmtSpread(pair[f]) : 'n/a'
    })
    row(`throughput ${at} (calls/s)`, perMeasured(e, (x) => x.throughput, 0), ratios('throughput'))
    if (spec.newConnections || [1, 64, 256].includes(spec.level)) {
      row(`  p50 ${at} (ms)`, perMeasured(e, (x) => x.p50Ms, 3), ratios('p50Ms'))
      row(`  p99 ${at} (ms)`, perMeasured(e, (x) => x.p99Ms, 3), ratios('p99Ms'))
      row(`  client CPU/call ${at} (us)`, perMeasured(e, (x) => x.cpuPerCallUs, 1), ratios('cpuPerCallUs'))
      row(`  client cores ${at}`, perMeasured(e, (x) => x.cores, 2), o.pairs.map(() => ''))
      row(`  server CPU/call ${at} (us)`, perMeasured(e, (x) => x.serverCpuPerCallUs, 1), o.pairs.map(() => ''))
    }
  }
  const pairRatio = (value) => o.pairs.map(([peer, ours]) => fmtRatio(value(ours) / value(peer)))
  const rssLevel = o.levels.includes(256) ? 256 : o.levels[o.levels.length - 1]
  for (const level of new Set([rssLevel, o.levels[o.levels.length - 1]])) {
    const e = L[String(level)]
    if (e) row(`peak RSS up to @${level} (MB)`, perClient((c) => MB(e.maxRSS[c]), 1), pairRatio((c) => e.maxRSS[c]))
  }
  // Package-wide figures sit under the first client of each package.
  const firstOfPackage = (c) => o.clients.find((x) => PACKAGE_OF[x] === PACKAGE_OF[c]) === c
  const perPackage = (get, digits) => o.clients.map((c) => (firstOfPackage(c) ? fmt(get(PACKAGE_OF[c]), digits) : ''))
  const packageRatio = (get) => o.pairs.map(([peer, ours]) => fmtRatio(get(PACKAGE_OF[ours]) / get(PACKAGE_OF[peer])))
  if (results.require) {
    const over = (p) => results.require[p] && results.require[p].overBareMs
    row('require() over `node -e 0` (ms)', perPackage(over, 1), packageRatio(over))
  }
  if (results.construct) {
    const us = (c) => results.construct[c] && results.construct[c].usPerClient
    row('new client after the first (us)', perClient(us, 2), pairRatio(us))
  }
  if (results.footprint) {
    const f = results.footprint
    const packages = (p) => f[p] && f[p].packages
    const size = (p) => f[p] && MB(f[p].bytes)
    row('installed packages', perPackage(packages, 0), packageRatio(packages))
    row('installed size, du (MB)', perPackage(size, 1), packageRatio(size))
  }
  if (results.long) {
    const l = results.long
    const has = (c) => l[c] != null
    const longRow = (name, get, digits) => row(name, o.clients.map((c) => (has(c) ? fmt(get(l[c]), digits) : '')), o.pairs.map(() => ''))
    longRow('long run: throughput (calls/s)', (x) => x.throughput, 0)
    longRow('long run: RSS after warm-up (MB)', (x) => MB(x.rssAfterWarmupGc), 1)
    longRow('long run: RSS growth after GC (MB)', (x) => MB(x.growthAfterGcBytes), 1)
    longRow('long run: RSS growth, sampled (MB)', (x) => MB(x.growthSampledBytes), 1)
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

/**
 * The project's own performance targets, against the original: printed for
 * the team after the table (they are goals, not figures users need).
 */
function targets(o, results) {
  if (!o.pairs.some(([peer]) => peer === 'original')) return ''
  const L = results.levels || {}
  const ratio = (level, f) => {
    const e = L[String(level)]
    return e ? e.ratio['native/original'][f].median : null
  }
  const checks = [
    ['p50 @1', ratio(1, 'p50Ms'), '<=', 0.5],
    ['p99 @1', ratio(1, 'p99Ms'), '<=', 0.3],
    ['throughput @64', ratio(64, 'throughput'), '>=', 7],
    ['p99 @64', ratio(64, 'p99Ms'), '<=', 0.25],
    ['client CPU/call @64', ratio(64, 'cpuPerCallUs'), '<=', 0.18],
    ['throughput @256', ratio(256, 'throughput'), '>=', 7],
    ['p99 @256', ratio(256, 'p99Ms'), '<=', 0.2],
  ].filter(([, r]) => r != null)
  const lines = checks.map(([name, r, op, limit]) => {
    const ok = op === '<=' ? r <= limit : r >= limit
    return `  ${name.padEnd(20)} ${fmtRatio(r).padStart(7)}  target ${op} ${limit}x  ${ok ? 'ok' : 'MISS'}`
  })
  const req = results.require && results.require.native
  if (req) lines.push(`  ${'require()'.padEnd(20)} ${fmt(req.overBareMs, 1).padStart(4)} ms  target <= 5 ms  ${req.overBareMs <= 5 ? 'ok' : 'MISS'}`)
  return lines.length ? `targets (pls-native against the original):\n${lines.join('\n')}` : ''
}

// ---------------------------------------------------------------- main

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const addon = checkAddon(o)
  let scratch = null
  if (o.tls) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-bench-tls-'))
    o.caFile = path.join(scratch, 'ca.pem')
  }
  const serverSpec = buildServer(o)
  const server = await startServer(serverSpec)
  // Over HTTPS every client trusts the server's throwaway CA the same way.
  const clientEnv = o.tls ? { NODE_EXTRA_CA_CERTS: o.caFile } : {}
  const started = Date.now()
  const workers = {}
  let killed = false
  const cleanup = () => {
    if (killed) return
    killed = true
    for (const w of Object.values(workers)) w.child.kill('SIGKILL')
    server.child.kill('SIGINT')
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true })
  }
  process.on('SIGINT', () => {
    cleanup()
    process.exit(130)
  })
  try {
    log(`server: ${o.server} (${serverSpec.bin}) at ${server.url}, pid ${server.pid}, ${o.serverThreads} thread(s)`)
    for (const which of o.clients) workers[which] = await startWorker(which, server.url, clientEnv)

    // Sanity calls: every client must succeed against this server, and at
    // the new-connection levels must really open a connection per call.
    for (const which of o.clients) {
      const r = await workers[which].call('run', { concurrency: 1, calls: 3 })
      if (r.errors) throw new Error(`${which} cannot call the server: ${r.firstError}`)
      if (o.newConnectionLevels.length === 0 || KEEP_ALIVE_ONLY.has(which)) continue
      const before = tcpActiveOpens()
      const fresh = await workers[which].call('run', { concurrency: 1, calls: 20, newConnections: true })
      if (fresh.errors) throw new Error(`${which} cannot call the server on new connections: ${fresh.firstError}`)
      // Machine-wide, so other traffic can only add: fewer than 20 means the client kept a connection.
      const opened = before == null ? null : tcpActiveOpens() - before
      if (opened != null && opened < 20) throw new Error(`${which}: 20 calls that should each open a connection opened ${opened}`)
    }

    const results = {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
      machine: { cpus: os.cpus().length, model: os.cpus()[0] && os.cpus()[0].model, node: process.version, platform: `${process.platform}-${process.arch}`, loadavg: os.loadavg() },
      options: { ...o, out: path.relative(root, o.out), caFile: undefined },
      addon,
      server: { kind: o.server, bin: path.relative(root, serverSpec.bin), threads: o.serverThreads, tls: o.tls },
    }

    if (!o.longOnly) {
      const perLevel = await measureLevels(o, workers, server)
      results.levels = summarise(o, perLevel)
      results.raw = perLevel
      log('-- new client()')
      results.construct = {}
      for (const which of o.clients) results.construct[which] = await workers[which].call('construct', {})
    }
    if (o.long) results.long = await longRun(o, workers)
    for (const which of o.clients) {
      await stopWorker(workers[which])
      delete workers[which]
    }

    if (!o.longOnly) {
      log(`-- require() time: ${o.spawns} spawns per variant, interleaved`)
      results.require = requireTimes(o)
      const packages = new Set(o.clients.map((c) => PACKAGE_OF[c]))
      results.footprint = {
        original: packages.has('original') ? peerFootprint('pls-sdk-original', '@alicloud/pls-sdk') : null,
        tea: packages.has('tea') ? peerFootprint('@alicloud/openapi-client', '@alicloud/openapi-client') : null,
        native: packages.has('native') ? nativeFootprint() : null,
      }
    }
    results.seconds = (Date.now() - started) / 1000

    const text = table(o, results)
    results.table = text
    results.targets = targets(o, results)
    fs.mkdirSync(path.dirname(o.out), { recursive: true })
    fs.writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n')
    const how = o.longOnly
      ? 'long run only'
      : `medians of ${o.rounds} alternating rounds of ${o.seconds} s; a ratio is pls-native / peer, the median of per-round ratios (range over rounds)`
    console.log(`\n${results.command}  (${results.machine.cpus} CPUs, node ${process.version}, ${o.tls ? 'HTTPS' : 'HTTP'}, server: ${o.server} with ${o.serverThreads} thread(s); ${how})\n`)
    console.log(text)
    if (results.targets) console.log(`\n${results.targets}`)
    console.log(`\nwritten: ${path.relative(process.cwd(), o.out)} (${results.seconds.toFixed(0)} s)`)
  } finally {
    cleanup()
  }
}

main().catch((err) => {
  console.error(`bench: ${err.message}`)
  process.exit(1)
})
