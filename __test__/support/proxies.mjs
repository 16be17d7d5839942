// Proxies on loopback for the tests: an HTTP proxy that forwards plain
// requests and tunnels CONNECT, and a SOCKS5 proxy, each logging what it
// was asked and optionally requiring a user name and password. Host names
// ending in `.invalid` (which never resolve) are sent to 127.0.0.1, so a
// request that reaches its server can only have gone through the proxy.
import http from 'node:http'
import net from 'node:net'

const target = (host) => (host.endsWith('.invalid') ? '127.0.0.1' : host)

/** The `[user, password]` of a `Proxy-Authorization: Basic ...` header, if any. */
function basicAuth(header) {
  const match = /^Basic\s+(\S+)$/i.exec(header || '')
  if (!match) return null
  const text = Buffer.from(match[1], 'base64').toString('utf8')
  const at = text.indexOf(':')
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)]
}

/** An HTTP proxy: forwards absolute-form requests, tunnels CONNECT. `auth`: `[user, password]` it requires. */
export async function startHttpProxy({ auth } = {}) {
  const log = []
  const allowed = (header) => {
    if (!auth) return true
    const given = basicAuth(header)
    return !!given && given[0] === auth[0] && given[1] === auth[1]
  }
  const server = http.createServer((req, res) => {
    const entry = { kind: 'forward', url: req.url, authorized: allowed(req.headers['proxy-authorization']) }
    log.push(entry)
    if (!entry.authorized) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-type': 'text/plain' })
      res.end('proxy authentication required')
      return
    }
    let url
    try {
      url = new URL(req.url)
    } catch {
      res.writeHead(400)
      res.end()
      return
    }
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    delete headers['proxy-connection']
    const upstream = http.request(
      { host: target(url.hostname), port: url.port || 80, path: url.pathname + url.search, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => {
      res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  server.on('connect', (req, socket, head) => {
    const entry = { kind: 'connect', url: req.url, authorized: allowed(req.headers['proxy-authorization']) }
    log.push(entry)
    socket.on('error', () => {})
    if (!entry.authorized) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const at = req.url.lastIndexOf(':')
    const upstream = net.connect(Number(req.url.slice(at + 1)), target(req.url.slice(0, at).replace(/^\[|\]$/g, '')))
    upstream.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'))
    upstream.on('connect', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head && head.length) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
  })
  server.on('clientError', (_err, socket) => socket.destroy())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    take: () => log.splice(0, log.length),
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

/** A SOCKS5 proxy (RFC 1928, CONNECT only; RFC 1929 user/password when `auth` is given). */
export async function startSocks5Proxy({ auth } = {}) {
  const log = []
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    let buffer = Buffer.alloc(0)
    let stage = 'greeting'
    const entry = { target: null, authorized: !auth }
    const onData = (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        if (stage === 'greeting') {
          if (buffer.length < 2 || buffer.length < 2 + buffer[1]) return
          const methods = [...buffer.subarray(2, 2 + buffer[1])]
          buffer = buffer.subarray(2 + buffer[1])
          const method = auth ? 0x02 : 0x00
          if (!methods.includes(method)) {
            socket.end(Buffer.from([5, 0xff]))
            return
          }
          socket.write(Buffer.from([5, method]))
          stage = auth ? 'auth' : 'request'
        } else if (stage === 'auth') {
          if (buffer.length < 2) return
          const ulen = buffer[1]
          if (buffer.length < 3 + ulen) return
          const plen = buffer[2 + ulen]
          if (buffer.length < 3 + ulen + plen) return
          const user = buffer.subarray(2, 2 + ulen).toString()
          const pass = buffer.subarray(3 + ulen, 3 + ulen + plen).toString()
          buffer = buffer.subarray(3 + ulen + plen)
          entry.authorized = user === auth[0] && pass === auth[1]
          if (!entry.authorized) {
            log.push(entry)
            socket.end(Buffer.from([1, 1]))
            return
          }
          socket.write(Buffer.from([1, 0]))
          stage = 'request'
        } else if (stage === 'request') {
          if (buffer.length < 5) return
          const atyp = buffer[3]
          const addrLength = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buffer[4]
          if (buffer.length < 4 + addrLength + 2) return
          let host
          if (atyp === 1) host = [...buffer.subarray(4, 8)].join('.')
          else if (atyp === 3) host = buffer.subarray(5, 5 + buffer[4]).toString()
          else host = buffer.subarray(4, 20).toString('hex').match(/.{4}/g).join(':')
          const port = buffer.readUInt16BE(4 + addrLength)
          const rest = buffer.subarray(4 + addrLength + 2)
          entry.target = `${host}:${port}`
          log.push(entry)
          socket.removeListener('data', onData)
          const upstream = net.connect(port, target(host))
          upstream.on('error', () => socket.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])))
          upstream.on('connect', () => {
            socket.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
            if (rest.length) upstream.write(rest)
            upstream.pipe(socket)
            socket.pipe(upstream)
          })
          return
        }
      }
    }
    socket.on('data', onData)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const sockets = new Set()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  return {
    port,
    url: `socks5://127.0.0.1:${port}`,
    log,
    take: () => log.splice(0, log.length),
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
