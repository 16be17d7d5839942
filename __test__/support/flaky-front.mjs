// A load balancer in front of the emulator that closes keep-alive
// connections the way real ones do: after an idle time (with FIN or RST),
// after every Nth response, or right as the next request arrives on a
// connection it has decided to retire (the race a client loses when it
// writes to a connection the server is closing). It counts every request it
// killed that way, so a test can show the race happened.
import http from 'node:http'

/**
 * Starts the front. `policy`:
 *   idleMs, idleKill ('fin'|'rst')  close a connection idle this long
 *   raceEvery, raceKill            kill every Nth request that arrives on a reused
 *                                  connection, before forwarding it (the idle timer
 *                                  firing as it arrives)
 *   closeAfter                     FIN after every Nth response on a connection, without
 *                                  `Connection: close`; sent when the next request arrives
 *                                  (or `closeLagMs` later), so that request is the one lost
 *   keepAliveHeader                `Keep-Alive: timeout=N` on every response
 *   delayMs                        wait this long before forwarding each request
 *   readThenReset(req, info)       forward the request, then reset instead of answering
 */
export async function startFlakyFront(upstream, policy = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const stats = { connections: 0, requests: 0, forwarded: 0, closedUnderRequest: 0, idleClosed: 0, readThenReset: 0, reusedArrivals: 0 }
  const states = new WeakMap()
  const kill = (socket, how) => {
    states.get(socket).dead = true
    if (socket.destroyed) return
    if (how === 'rst') {
      socket.resetAndDestroy()
    } else {
      socket.end()
      // The client's next bytes (if any) are read and dropped; then it is gone.
      setTimeout(() => socket.destroy(), 50).unref()
    }
  }

  const server = http.createServer((req, res) => {
    const socket = req.socket
    const state = states.get(socket)
    clearTimeout(state.timer)
    stats.requests++
    if (state.closing || state.dead) {
      // Closed (or closing) under this request: it is never forwarded.
      stats.closedUnderRequest++
      clearTimeout(state.closing)
      kill(socket, 'fin')
      return
    }
    if (state.served > 0 && policy.raceEvery) {
      if (stats.reusedArrivals++ % policy.raceEvery === 0) {
        stats.closedUnderRequest++
        kill(socket, policy.raceKill || 'fin')
        return
      }
    }
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => setTimeout(forward, policy.delayMs || 0))
    const forward = () => {
      stats.forwarded++
      const forwarded = http.request(upstream + req.url, { method: req.method, headers: req.headers, agent }, (up) => {
        const body = []
        up.on('data', (chunk) => body.push(chunk))
        up.on('end', () => {
          if (policy.readThenReset && policy.readThenReset(req, state)) {
            stats.readThenReset++
            socket.resetAndDestroy()
            return
          }
          const headers = { 'content-type': up.headers['content-type'] || 'application/json' }
          if (policy.keepAliveHeader) headers['keep-alive'] = `timeout=${policy.keepAliveHeader}`
          res.writeHead(up.statusCode, headers)
          res.end(Buffer.concat(body))
        })
      })
      forwarded.on('error', () => socket.destroy())
      forwarded.end(Buffer.concat(chunks))
    }
    res.on('finish', () => {
      state.served++
      if (policy.closeAfter && state.served % policy.closeAfter === 0) {
        state.closing = setTimeout(() => kill(socket, 'fin'), policy.closeLagMs ?? 5)
        return
      }
      if (policy.idleMs) {
        state.timer = setTimeout(() => {
          stats.idleClosed++
          kill(socket, policy.idleKill || 'fin')
        }, policy.idleMs)
      }
    })
  })
  // Connections live as this front decides, not as Node's defaults do.
  server.keepAliveTimeout = 0
  server.on('connection', (socket) => {
    stats.connections++
    states.set(socket, { served: 0, timer: null, closing: null, dead: false })
    socket.on('error', () => {})
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    close() {
      agent.destroy()
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
