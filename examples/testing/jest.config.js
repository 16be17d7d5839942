// Jest for the examples in jest/: each file is its own test module with
// its own emulator, so files run in parallel workers safely.
module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/jest'],
  testEnvironment: 'node',
  testMatch: ['**/*.test.js'],
  watchman: false,
}
