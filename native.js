'use strict'
// Loads the addon built from source by `npm install` (scripts/build.js).
const path = require('node:path')

const file = path.join(__dirname, 'pls-native.node')
try {
  module.exports = require(file)
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND') {
    throw new Error(
      `pls-native: the native addon ${file} is not built. ` +
        'Run `npm run build` in the package folder (needs cargo).',
      { cause: err },
    )
  }
  throw err
}
