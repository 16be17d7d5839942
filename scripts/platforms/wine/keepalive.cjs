// Test-only, preloaded into every node.exe that scripts/test-platforms.js
// runs under wine (NODE_OPTIONS=--require). Node turns TCP keep-alive on for
// its own HTTP clients (fetch, http.Agent) before connecting, and libuv then
// sets TCP_KEEPINTVL and TCP_KEEPCNT, which wine 8's winsock refuses, so the
// connect fails with UNKNOWN. Windows itself accepts them. Keep-alive does
// not matter to a test that lasts seconds, so it is left off here.
'use strict'
const net = require('node:net')

net.Socket.prototype.setKeepAlive = function setKeepAlive() {
  return this
}
