// A local HTTP server that records every request and answers with a body
// the test chooses: the "wire" both SDKs are compared on.
import http from 'node:http'

export async function startCaptureServer() {
  const requests = []
  let reply = { status: 200, body: '{"RequestId":"R","Code":"OK","Message":"OK"}', contentType: 'application/json' }
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const captured = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      // Not enumerable, so comparisons of captured requests ignore it.
      Object.defineProperty(captured, 'connectionClosed', { value: connectionClosed.get(req.socket) })
      requests.push(captured)
      const { status, body, contentType, hang, headers } = typeof reply === 'function' ? reply(req) : reply
      if (hang) return
      res.writeHead(status, { 'content-type': contentType || 'application/json', ...headers })
      res.end(body)
    })
  })
  const connectionClosed = new WeakMap()
  server.on('connection', (socket) => {
    connectionClosed.set(socket, new Promise((resolve) => socket.on('close', resolve)))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Sets the next replies: `{status, body, headers}` or a function of the request. */
    reply(next) {
      reply = typeof next === 'function' ? next : { contentType: 'application/json', ...next }
    },
    take() {
      return requests.splice(0, requests.length)
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
