// Types of the receipts (回执消息) of number privacy protection, as Aliyun's
// product documentation describes them, and of PLSClient.receiptListener.
// Integers beyond 2^53 arrive as decimal strings (hence `number | string`
// for the long ids). Referenced from index.d.ts.
/// <reference types="node" />

declare namespace PLSNativeReceipts {
  /** Every receipt type (MessageType): the name of its MNS queue's suffix and of its push setting. */
  type ReceiptType =
    | 'SecretStartReport'
    | 'SecretRingReport'
    | 'SecretPickUpReport'
    | 'SecretReport'
    | 'SecretRecording'
    | 'SecretAsrReport'
    | 'SecretSmsIntercept'
    | 'SecretExceptionPhoneReport'
    | 'SmartLogisticsReport'
    | 'NumberManagementReport'

  /** 0 A calls B (phone_no calls peer_no), 1 the peer calls A, 4 intercepted. */
  type CallType = 0 | 1 | 4

  /** The fields SecretStartReport and SecretReport share. */
  interface CallReceipt {
    pool_key: string
    /** The binding (SubsId). */
    sub_id: number | string
    /** Unique per call (up to 100 characters). */
    call_id: string
    /** A. */
    phone_no: string
    /** X. */
    secret_no: string
    /** B, the AXN caller, or the AXG group member. */
    peer_no: string
    called_display_no: string
    call_type: CallType
    /** Dialled, 'YYYY-MM-DD HH:mm:ss' (Beijing). */
    call_time: string
    out_id?: string
    /** X's city. */
    city?: string
    partner_key?: string
    /** 0 connected, 1 blacklist, 2 no binding, 3 call restriction, 4 other. */
    unconnected_cause?: number
    /** The connection stage, e.g. 'CONTINUE' (put through) or 'IVR'. */
    control_type?: string
    /** 'NO_SUBS_EXIST' when no binding routes the call. */
    control_msg?: string
  }

  /** SecretStartReport (呼叫发起时话单报告): a call reached X. */
  interface SecretStartReport extends CallReceipt {
    /** The record's id. */
    id?: string
  }

  /** SecretRingReport (呼叫响铃时报告): the callee's phone rings. Some carriers only. */
  interface SecretRingReport {
    phone_no: string
    secret_no: string
    peer_no: string
    call_type: CallType | string
    call_id: string
    call_time: string
    pool_key: string
    ring_time: string
    sub_id: number | string
    city?: string
    out_id?: string
    /** The extension dialled after X (AXN extension bindings). */
    extension?: string
  }

  /** SecretPickUpReport (呼叫接听时报告): the callee answered. Some carriers only. */
  interface SecretPickUpReport extends SecretRingReport {
    /** Answered. */
    start_time: string
  }

  /** SecretReport (呼叫结束后话单报告): the call record, once the call ended. */
  interface SecretReport extends CallReceipt {
    /** Answered (billing starts); release_time when never answered. */
    start_time: string
    /** The callee's side dialled; call_time when never dialled. */
    call_out_time: string
    /** The callee's phone rang; call_out_time when it never rang. */
    ring_time: string
    /** Later than call_out_time when the callee really rang; equal when not. */
    free_ring_time: string
    /** Released (billing ends); release_time - start_time is the talk time. */
    release_time: string
    /** MNS messages only. */
    sms_number?: number
    /** 0 the platform, 1 the caller, 2 the callee hung up. */
    release_dir: number
    /** Q.850 cause: 16 normal clearing, 17 busy, 19 no answer, 21 rejected, 31 normal unspecified, ... */
    release_cause: number
    /** The recording, when the binding records calls. */
    record_url?: string
    ring_record_url?: string
    id?: number | string
  }

  /** SecretRecording (录音状态报告): a call's recording is ready. */
  interface SecretRecording {
    pool_key: string
    sub_id: number | string
    call_id: string
    /** Dialled, in ms since the epoch. */
    call_time: number | string
    out_id?: string
  }

  /** One sentence of SecretAsrReport. */
  interface SecretAsrSentence {
    /** ms into the call. */
    beginTime: number
    endTime: number
    /** The audio channel. */
    channelId: number
    /** 1 to 10: how strong the emotion is. */
    emotionValue: string
    /** Seconds of silence before it. */
    silenceDuration: string
    /** Characters per minute. */
    speechRate: string
    text: string
  }

  /** SecretAsrReport (录音ASR状态报告): a recorded call as text (camelCase). */
  interface SecretAsrReport {
    callId: string
    /** Recognised audio, ms. */
    bizDuration: number
    secretNo: string
    partnerKey: string
    /** '21050000' when recognition succeeded. */
    statusCode: string
    sentences: SecretAsrSentence[]
  }

  /** SecretSmsIntercept (短信内容报告): an SMS through X. */
  interface SecretSmsIntercept {
    id: number | string
    partner_key?: string
    pool_key: string
    out_id?: string
    sub_id: number | string
    /** 1 intercepted SMS, 3 smart SMS. */
    sms_type: number
    send_no: string
    secret_no: string
    receive_no: string
    sms_content: string
    sms_sign?: string
    /** 1 sent, 2 not sent. */
    status?: number | string
    /** 'NORMAL', 'SUBS_NOT_EXISTS', 'CONTROL_DISABLE' or 'CALLED_NOT_EXISTS'. */
    sms_intercept_type?: string
    call_id: string
    /** 'DELIVRD', 'REJECTD', 'UNDELIV', 'EXPIRED' or 'ACCEPTD'. */
    code: string
    start_time: string
  }

  /** SecretExceptionPhoneReport (异常号码状态推送, MNS only). */
  interface SecretExceptionPhoneReport {
    secretNo: string
    partnerKey: string
    /** 0 abnormal, 1 normal. */
    noStatus: number
    /** ms since the epoch. */
    timestamp: number
  }

  /** NumberManagementReport (号码管理信息): a number joined or left a pool. */
  interface NumberManagementReport {
    secretNo: string
    city: string
    partnerKey: string
    operatingTime: string
    /** 1 created, 2 deleted. */
    status: number
    /** 1 China Mobile, 2 China Unicom, 3 China Telecom. */
    vendor?: number
  }

  /** SmartLogisticsReport (电商物流详细报告): its fields are not published. */
  interface SmartLogisticsReport {
    [field: string]: unknown
  }

  /** The receipt of each type. */
  interface ReceiptMap {
    SecretStartReport: SecretStartReport
    SecretRingReport: SecretRingReport
    SecretPickUpReport: SecretPickUpReport
    SecretReport: SecretReport
    SecretRecording: SecretRecording
    SecretAsrReport: SecretAsrReport
    SecretSmsIntercept: SecretSmsIntercept
    SecretExceptionPhoneReport: SecretExceptionPhoneReport
    SmartLogisticsReport: SmartLogisticsReport
    NumberManagementReport: NumberManagementReport
  }

  /** Any receipt. */
  type Receipt = ReceiptMap[ReceiptType]

  /** What a handler gets besides the receipt and its type. */
  interface ReceiptContext {
    /** The receipt's de-duplication key. */
    key: string
    /** Aborted when the batch ran out of time or another handler failed. */
    signal: AbortSignal
    /** The receipt's position in its batch. */
    index: number
    /** The whole pushed batch. */
    batch: readonly Record<string, unknown>[]
  }

  /**
   * A handler's arguments: a receipt and its type, told apart by the type
   * (`if (type === 'SecretReport') receipt.release_cause`); `undefined`
   * when a URL serving several types got a receipt of no known shape.
   */
  type ReceiptArgs =
    | { [K in ReceiptType]: [receipt: ReceiptMap[K], type: K, context: ReceiptContext] }[ReceiptType]
    | [receipt: Record<string, unknown>, type: undefined, context: ReceiptContext]

  /** Resolves when the receipt is safely handled; throws (rejects) to have it pushed again. */
  type ReceiptHandler = (...args: ReceiptArgs) => unknown

  /** A de-duplication store checked, then written after the handler succeeded. */
  interface CheckThenAddStore {
    has(key: string): boolean | Promise<boolean>
    add(key: string, ttlMs: number): unknown
  }

  /**
   * An atomic de-duplication store shared by several processes (e.g. Redis
   * SET NX PX): the key is claimed before the handler and deleted when the
   * handler fails. With `set`, the claim lasts `leaseMs` and `set` keeps the
   * key for `ttlMs` once the handler succeeded, so a process that dies
   * mid-handler does not leave the receipt marked as seen.
   */
  interface ClaimStore {
    /** Stores the key for ttlMs unless present; true when it stored it. */
    setIfAbsent(key: string, ttlMs: number): boolean | Promise<boolean>
    delete(key: string): unknown
    set?(key: string, ttlMs: number): unknown
  }

  type ReceiptStore = CheckThenAddStore | ClaimStore

  interface ReceiptListenerOptions {
    /** The type every receipt of this URL has; without it, each receipt's type is told by its fields. */
    type?: ReceiptType
    /** Time allowed for reading the body and every handler, ms (default 600: the service waits 700). */
    timeoutMs?: number
    /** The largest body accepted, bytes (default 1 MiB); larger ones get 413. */
    maxBodyBytes?: number
    /** Handlers of one batch run at once (default 1: one at a time, in the batch's order). */
    concurrency?: number
    /** false turns de-duplication off (default on). */
    dedupe?: boolean
    /** Where handled keys are kept (default: in memory, bounded, per process). */
    store?: ReceiptStore
    /** How long a handled receipt's key is kept, ms (default 24 hours). */
    ttlMs?: number
    /** How long a ClaimStore claim lasts before set() extends it, ms (default 30 s). */
    leaseMs?: number
    /** The de-duplication key of a receipt (default: receiptKey). */
    key?: (receipt: Record<string, unknown>, type: ReceiptType | undefined) => string
    /** Told of handler errors, timeouts, refused bodies and store errors. */
    onError?: (error: unknown, info: { receipt?: Record<string, unknown>; type?: ReceiptType; key?: string }) => void
  }

  /** Counts since the listener was made. */
  interface ReceiptListenerStats {
    batches: number
    receipts: number
    handled: number
    duplicates: number
    failed: number
    refused: number
    timedOut: number
  }

  /**
   * `(req, res)` for node:http and Express (a body parser's `req.body` is
   * used), Fastify `(request, reply)`, Koa `(ctx.req, ctx.res)` with
   * `ctx.respond = false`. Resolves once it has answered; never rejects.
   */
  interface ReceiptListener {
    (req: import('node:http').IncomingMessage | { raw: import('node:http').IncomingMessage; body?: unknown }, res: import('node:http').ServerResponse | { raw: import('node:http').ServerResponse; hijack?(): unknown }, next?: (err?: unknown) => void): Promise<void>
    readonly stats: ReceiptListenerStats
  }
}
