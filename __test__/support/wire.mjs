// Reading and checking captured RPC requests, independently of both SDKs.
import crypto from 'node:crypto'

/** The pairs of a query string or form body, still encoded, in order. */
export function pairs(query) {
  return query.split('&').map((p) => {
    const at = p.indexOf('=')
    return [p.slice(0, at), p.slice(at + 1)]
  })
}

/** The params of a captured request (query for GET, body for a form POST). */
export function paramsOf(captured) {
  const query = captured.url.includes('?') ? captured.url.slice(captured.url.indexOf('?') + 1) : ''
  return pairs(captured.body && !query ? captured.body : query)
}

const VOLATILE = new Set(['SignatureNonce', 'Timestamp', 'Signature'])

/** The pairs minus nonce, timestamp and signature: what must match exactly. */
export function stablePairs(captured) {
  return paramsOf(captured).filter(([k]) => !VOLATILE.has(k))
}

function encode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** Recomputes the V1 signature from the spec and compares it with the one sent. */
export function signatureVerifies(captured, secret) {
  const all = paramsOf(captured)
  const sent = all.find(([k]) => k === 'Signature')
  if (!sent) return false
  const rest = all
    .filter(([k]) => k !== 'Signature')
    .map(([k, v]) => [decodeURIComponent(k), decodeURIComponent(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const canonical = rest.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')
  const toSign = `${captured.method}&${encode('/')}&${encode(canonical)}`
  const expected = crypto.createHmac('sha1', secret + '&').update(toSign).digest('base64')
  return decodeURIComponent(sent[1]) === expected
}
