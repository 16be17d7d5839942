'use strict'
// examples/package.json maps @alicloud/pls-sdk and pls-native to the parent
// folder (file:..), so the seed demo runs unchanged and the testing examples
// import the package by its name. This links them once (npm only makes
// symlinks for file: dependencies; nothing is downloaded).
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const examples = __dirname

function linkExamples() {
  const linked = ['@alicloud/pls-sdk', 'pls-native'].every((name) =>
    fs.existsSync(path.join(examples, 'node_modules', name, 'package.json')),
  )
  if (linked) return
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], {
    cwd: examples,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  })
  if (result.status !== 0) throw new Error('could not link @alicloud/pls-sdk and pls-native to this package in examples/')
}

module.exports = { linkExamples }
