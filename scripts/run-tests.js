#!/usr/bin/env node
// The node half of `npm test`: every __test__/*.test.mjs, one file at a time,
// with the node that runs this script.
//   node scripts/run-tests.js              all of them
//   node scripts/run-tests.js client tls   only the files whose name contains a word given
// With PLS_TEST_PLATFORMS=1 (CI sets it), a whole run goes on to the platform
// tests: `npm run package` builds every platform package this machine can
// link, and `npm run test:platforms` runs each with its own Node.
// The files are listed here because `node --test __test__/` means different
// things across the supported releases: Node 18 and 20 run the folder, Node
// 22 and later read the argument as a file pattern and find no module.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const words = process.argv.slice(2)

const files = fs
  .readdirSync(path.join(root, '__test__'))
  .filter((name) => name.endsWith('.test.mjs'))
  .filter((name) => words.length === 0 || words.some((word) => name.includes(word)))
  .sort()
  .map((name) => path.join('__test__', name))

if (files.length === 0) {
  console.error(`run-tests: no __test__/*.test.mjs matches ${words.join(' ')}`)
  process.exit(1)
}

function run(args) {
  const started = Date.now()
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (result.error) throw result.error
  return { status: result.status === null ? 1 : result.status, seconds: Math.round((Date.now() - started) / 1000) }
}

const suite = run(['--test', '--test-concurrency=1', ...files])
if (suite.status !== 0 || words.length > 0 || process.env.PLS_TEST_PLATFORMS !== '1') process.exit(suite.status)

for (const script of ['package.js', 'test-platforms.js']) {
  const step = run([path.join(__dirname, script)])
  console.log(`run-tests: scripts/${script} took ${step.seconds} s`)
  if (step.status !== 0) process.exit(step.status)
}
