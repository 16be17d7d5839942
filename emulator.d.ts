/** Options of the emulator; all optional. */
export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: the OS picks a free port. */
  port?: number
  /** Accepted access keys besides the demo's yourAccessKeyId / yourAccessKeySecret. */
  keys?: Array<{ accessKeyId: string; accessKeySecret: string }>
  /** Replaces the default pool FC100000xxxxxx. */
  pools?: Array<{ poolKey: string; numbers: Array<{ number: string; city: string }> }>
  /** Business clock start, 'YYYY-MM-DD HH:mm:ss' Beijing time; default now. */
  clock?: string
  /** MNS account in queue names (Alicom-Queue-<account>-<MessageType>); default 1234567890. */
  account?: string
  /** Benchmark mode: checks signatures, keeps no state, logs no requests. */
  stateless?: boolean
  /**
   * Receipt types pushed over HTTP to a callback URL instead of queued, e.g.
   * `{ SecretReport: 'http://127.0.0.1:3000/receipts' }` (null: queued, the
   * default). Every type but SecretExceptionPhoneReport can be pushed.
   */
  push?: { [type: string]: string | null }
  /** How long a push waits for the receiver's answer, ms (default 700, the service's limit). */
  pushTimeoutMs?: number
  /** The starting state: a seed file's path or the seed itself (the options above win over it). */
  seed?: string | EmulatorSeed
  /** A state file: loaded at start when it exists, written (atomically) by stop(). */
  state?: string
  /** HTTPS: true for a certificate made at start (see `ca`), or your own PEM certificate and key. */
  tls?: boolean | { cert: string | Uint8Array; key: string | Uint8Array }
  /** QPS limits answered with isv.FLOW_LIMIT: true for the documented ones, or { Action: qps }. Off by default. */
  flowLimits?: boolean | Record<string, number>
}

/** A seed: the emulator's starting state. */
export interface EmulatorSeed {
  account?: string
  keys?: Array<{ accessKeyId: string; accessKeySecret: string }>
  /** Numbers listed one by one, or so many generated per city: { cities: { '北京': 5 } }. */
  pools?: Array<{ poolKey: string; numbers?: Array<{ number: string; city: string }>; cities?: Record<string, number> }>
  /** Made at start by the bind actions themselves, in order. */
  bindings?: Array<{
    kind?: 'AXB' | 'AXN' | 'AXN_EXTENSION'
    poolKey?: string
    phoneNoA: string
    phoneNoB?: string
    phoneNoX?: string
    /** 'YYYY-MM-DD HH:mm:ss' Beijing time, or expiresInSeconds. */
    expiration?: string
    expiresInSeconds?: number
    expectCity?: string
    extension?: string
    outId?: string
    isRecordingEnabled?: boolean
    callRestrict?: string
  }>
  clock?: string
  flowLimits?: boolean | Record<string, number>
}

export interface RunningEmulator {
  /** Base URL serving dyplsapi, dybaseapi, MNS and /__emulator/ (https:// with tls). */
  url: string
  /** The CA (PEM) to trust when `tls: true`: a client's `ca` option, or a file for NODE_EXTRA_CA_CERTS. */
  ca?: string
  /** Stops serving; resolves once the port is closed and the state file (if any) is written. */
  stop(): Promise<void>
  /** POSTs `body` to /__emulator/<path> (GET when body is undefined) and returns the JSON reply. */
  control(path: string, body?: unknown): Promise<any>
}

export function startEmulator(options?: EmulatorOptions): Promise<RunningEmulator>
