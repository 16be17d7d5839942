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
  /** Benchmark mode: checks signatures, keeps no state. */
  stateless?: boolean
  /**
   * Receipt types pushed over HTTP to a callback URL instead of queued, e.g.
   * `{ SecretReport: 'http://127.0.0.1:3000/receipts' }` (null: queued, the
   * default). Every type but SecretExceptionPhoneReport can be pushed.
   */
  push?: { [type: string]: string | null }
  /** How long a push waits for the receiver's answer, ms (default 700, the service's limit). */
  pushTimeoutMs?: number
}

export interface RunningEmulator {
  /** Base URL serving dyplsapi, dybaseapi, MNS and /__emulator/. */
  url: string
  /** Stops serving; resolves once the port is closed. */
  stop(): Promise<void>
  /** POSTs `body` to /__emulator/<path> (GET when body is undefined) and returns the JSON reply. */
  control(path: string, body?: unknown): Promise<any>
}

export function startEmulator(options?: EmulatorOptions): Promise<RunningEmulator>
