// A throwaway CA and server certificates, made with the openssl command,
// and an HTTPS server that answers every request with one reply.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'

// Windows has no openssl command of its own (Git for Windows brings one):
// there the tests that need certificates skip, saying why; everywhere else
// a missing openssl fails them.
export const needsOpenssl =
  process.platform === 'win32' && spawnSync('openssl', ['version']).error ? 'needs the openssl command, which this Windows machine lacks' : false

/** A CA in a temp folder and a server certificate for `subjectAltName` (e.g. `DNS:localhost,IP:127.0.0.1`). */
export function makeCertificates(subjectAltName) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-native-wire-tls-'))
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pls-native throwaway wire CA')
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pls-native wire test server')
  fs.writeFileSync(path.join(dir, 'server.ext'), `subjectAltName=${subjectAltName}\n`)
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext')
  const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8')
  const result = { ca: read('ca.pem'), key: read('server.key'), cert: read('server.pem') }
  fs.rmSync(dir, { recursive: true, force: true })
  return result
}

/** An HTTPS server on loopback; `handler(req, res)` answers, every request is logged. */
export async function startHttpsServer({ key, cert }, handler) {
  const log = []
  const server = https.createServer({ key, cert }, (req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      log.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() })
      handler(req, res)
    })
  })
  server.on('tlsClientError', () => {})
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    log,
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
