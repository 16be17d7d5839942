import type { EmulatorOptions } from './emulator'
import PLSClient = require('./index')

/** Options of startTestEmulator: those of startEmulator, plus `env`. */
export interface TestEmulatorOptions extends EmulatorOptions {
  /** Set PLS_ENDPOINT to the emulator while it runs (default true). */
  env?: boolean
}

/** A binding as the emulator holds it. */
export interface EmulatedBinding {
  subsId: string
  poolKey: string
  kind: 'Axb' | 'Axn' | 'AxnExtension' | 'Axg'
  phoneNoA: string
  phoneNoB: string
  secretNo: string
  extension: string
  expireDate: string
  gmtCreate: string
  needRecord: boolean
  outId: string
  released: boolean
  /** Neither released nor expired on the business clock. */
  active: boolean
  [field: string]: unknown
}

/** One request the emulator served. */
export interface EmulatedRequest {
  id: number
  /** Real time, UTC, `YYYY-MM-DDTHH:mm:ss.sssZ`. */
  time: string
  method: string
  path: string
  action: string
  /** HMAC-SHA1, ACS3-HMAC-SHA256, ACS3-HMAC-SM3, MNS or none. */
  signature: string
  accessKeyId: string
  /** Params as sent; Signature, SecurityToken and secrets read `***`. */
  params: Record<string, string>
  /** The signature and x-acs-* / x-mns-* headers, secrets masked. */
  headers: Record<string, string>
  /** The reply's Code, when it has one. */
  code: string | null
  /** null when the connection was dropped unanswered (the `reset` fault). */
  status: number | null
  latencyMs: number
}

export interface FaultRule {
  kind:
    | 'slow' | 'http500' | 'http503' | 'nonJson' | 'reset' | 'throttle' | 'flowLimit'
    | 'truncated' | 'hugeBody' | 'wrongContentType' | 'gzip' | 'stallMidBody' | 'resetMidBody'
  /** Only this Action; any when absent. */
  action?: string
  /** How many requests (default 1). */
  count?: number
  /** The delay of `slow` (default 5000). */
  delayMs?: number
}

export interface TestEmulator {
  /** Base URL (https:// with tls). */
  readonly url: string
  /** The CA to trust when started with `tls: true`. */
  readonly ca?: string
  /** The key pair to sign with: the first configured one, else yourAccessKeyId / yourAccessKeySecret. */
  readonly accessKeyId: string
  readonly accessKeySecret: string
  /** The PoolKey of the first pool (FC100000xxxxxx by default). */
  readonly poolKey: string
  /** Options for `new PLSClient(...)` aimed at this emulator (keys, endpoints, `ca`), merged with `extra`. */
  clientOptions(extra?: PLSClient.ClientOptions): PLSClient.ClientOptions
  /** A pls-native client aimed at this emulator. */
  client(extra?: PLSClient.ClientOptions): PLSClient
  /** Back to the initial state: model, queues, clock, faults and request log. */
  reset(): Promise<void>
  state(): Promise<any>
  bindings(filter?: { active?: boolean; poolKey?: string; phoneNo?: string; secretNo?: string }): Promise<EmulatedBinding[]>
  /** Places a call to X through the bindings; its SecretReport (and SecretRecording) are queued. */
  call(call: {
    caller: string
    secretNo: string
    called?: string
    extension?: string
    durationSeconds?: number
    outcome?: 'answered' | 'noAnswer' | 'busy' | 'rejected'
  }): Promise<{ callId: string; report: Record<string, unknown>; recording: Record<string, unknown> | null }>
  /** Sends an SMS to X; its SecretSmsIntercept is queued. */
  sms(sms: { sender: string; secretNo: string; content?: string; sign?: string }): Promise<Record<string, unknown>>
  /**
   * The next receipt of a message type from its MNS queue (the receipt's
   * JSON body), waiting up to `timeoutMs` (5000); taken off the queue
   * unless `consume: false`. Rejects with code EMULATOR_NO_RECEIPT when none comes.
   */
  nextReceipt(type: string, options?: { timeoutMs?: number; consume?: boolean }): Promise<Record<string, any>>
  /** Every message waiting in a type's queue, bodies decoded, left in place. */
  receipts(type: string): Promise<Array<Record<string, any>>>
  /** The requests served, newest first (the last 1,000). */
  requests(filter?: { action?: string; limit?: number }): Promise<EmulatedRequest[]>
  /** Sets the business clock, 'YYYY-MM-DD HH:mm:ss' Beijing time. */
  setClock(now: string): Promise<{ clock: string }>
  /** Moves the business clock by `seconds`. */
  advanceClock(seconds: number): Promise<{ clock: string }>
  /** Arms a fault for the next matching requests. */
  fault(rule: FaultRule): Promise<unknown>
  /** The whole state, as a state file holds it. */
  snapshot(): Promise<Record<string, unknown>>
  restore(snapshot: Record<string, unknown>): Promise<unknown>
  /** Polls `check` until it returns something truthy, or rejects after `timeoutMs` (5000). */
  waitFor<T>(check: () => T | Promise<T>, options?: { timeoutMs?: number; intervalMs?: number }): Promise<T>
  /** The raw control API under /__emulator/. */
  control(path: string, body?: unknown): Promise<any>
  /** Stops it (once every caller that got it has); PLS_ENDPOINT is restored when none is left. */
  stop(): Promise<void>
}

/**
 * Starts an emulator for this test file (or returns the one started with
 * the same options) and points PLS_ENDPOINT at it.
 */
export function startTestEmulator(options?: TestEmulatorOptions): Promise<TestEmulator>
