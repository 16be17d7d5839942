// The install a user gets: `npm run package` makes the tarballs, and they are
// installed into an empty project on a PATH with no Rust toolchain. Slow (a
// second release build), so it runs when PLS_TEST_INSTALL=1, as CI sets it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const enabled = process.env.PLS_TEST_INSTALL === '1'
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64'

// Node and npm, and the shell npm uses, but no cargo or rustc.
const PATH = [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter)
const bare = { ...process.env, PATH }
delete bare.CARGO_HOME
delete bare.RUSTUP_HOME

function sh(cmd, args, options) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...options })
  assert.equal(result.status, 0, `${cmd} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

test('the packed tarballs install without Rust and run the seed demo', { skip: !enabled ? 'set PLS_TEST_INSTALL=1 (it builds the release addon again)' : !onLinuxX64 && 'linux x64 only' }, async (t) => {
  // Only this machine's own platform: the others are npm run test:platforms' (scripts/test-platforms.js).
  sh(process.execPath, [path.join(root, 'scripts', 'package.js'), '--target', 'linux-x64-gnu'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const mainTgz = path.join(root, 'dist', `${pkg.name}-${pkg.version}.tgz`)
  const platformTgz = path.join(root, 'dist', `${pkg.name}-linux-x64-gnu-${pkg.version}.tgz`)
  assert.ok(fs.existsSync(mainTgz) && fs.existsSync(platformTgz), 'npm run package writes both tarballs into dist/')

  for (const tool of ['cargo', 'rustc']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { env: bare })
    assert.notEqual(found.status, 0, `${tool} must not be on the test's PATH`)
  }

  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-install-'))
  t.after(() => fs.rmSync(project, { recursive: true, force: true }))
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({
      name: 'install-check',
      version: '1.0.0',
      private: true,
      dependencies: {
        [pkg.name]: `file:${mainTgz}`,
        // The migration path: the original's name, resolving to pls-native.
        '@alicloud/pls-sdk': `file:${mainTgz}`,
        [`${pkg.name}-linux-x64-gnu`]: `file:${platformTgz}`,
      },
    }),
  )
  const started = process.hrtime.bigint()
  sh('npm', ['install', '--no-audit', '--no-fund'], { cwd: project, env: bare })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  t.diagnostic(`npm install of the two tarballs took ${seconds.toFixed(1)} s`)

  const installed = path.join(project, 'node_modules', pkg.name)
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'))
  for (const hook of ['preinstall', 'install', 'postinstall']) {
    assert.equal(manifest.scripts?.[hook], undefined, `the published package has no ${hook} script`)
  }
  assert.deepEqual(manifest.optionalDependencies[`${pkg.name}-linux-x64-gnu`], pkg.version)
  assert.ok(!fs.existsSync(path.join(installed, 'pls-native.node')), 'nothing was compiled into the package')
  assert.ok(!fs.existsSync(path.join(installed, 'target')), 'no cargo target folder')

  const loaded = sh(process.execPath, ['-e', `const C = require('${pkg.name}'); console.log(typeof C, typeof C.prototype.bindAxb)`], { cwd: project, env: bare })
  assert.equal(loaded.trim(), 'function function')
  // pls-native/testing from the installed package, required and imported.
  const testing = sh(process.execPath, ['-e', `const t = require('${pkg.name}/testing'); import('${pkg.name}/testing').then((m) => console.log(typeof t.startTestEmulator, m.startTestEmulator === t.startTestEmulator))`], { cwd: project, env: bare })
  assert.equal(testing.trim(), 'function true')

  const addon = path.join(project, 'node_modules', `${pkg.name}-linux-x64-gnu`, `${pkg.name}.linux-x64-gnu.node`)
  const symbols = sh('objdump', ['-T', addon])
  const versions = [...symbols.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map(([, a, b]) => Number(a) * 1000 + Number(b))
  assert.ok(versions.length > 0, 'objdump lists GLIBC symbol versions')
  const newest = Math.max(...versions)
  assert.ok(newest <= 2017, `the addon needs GLIBC 2.${newest % 1000}, above the 2.17 floor`)

  // npx pls-emulator from the installed package, then the seed demo through the alias.
  // Its own process group: npx runs the emulator in a child, and both must go.
  const emulator = spawn('npx', ['--no-install', 'pls-emulator', '--clock', '2018-08-01 00:00:00'], {
    cwd: project,
    env: bare,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  })
  t.after(() => process.kill(-emulator.pid, 'SIGTERM'))
  const url = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: emulator.stdout })
    lines.once('line', resolve)
    emulator.once('error', reject)
    emulator.once('exit', (code) => reject(new Error(`pls-emulator exited with ${code}`)))
  })
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  fs.copyFileSync(path.join(root, 'examples', 'seed-demo.js'), path.join(project, 'seed-demo.js'))
  const demo = sh(process.execPath, ['seed-demo.js'], { cwd: project, env: { ...bare, PLS_ENDPOINT: url }, timeout: 30_000 })
  assert.match(demo, /绑定axb成功/)
  assert.match(demo, /SecretNo/)
})
