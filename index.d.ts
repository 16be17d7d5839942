// Types of pls-native: the API of @alicloud/pls-sdk 1.0.3, plus the extras
// marked "pls-native". Params keys are sent as given (first letter
// upper-cased unless options.formatParams === false); values as String(v);
// arrays as K.1, K.2, objects in arrays as K.1.Field.
// The request and response types of every action, and the methods beyond the
// original nine, are generated from the API description into api.d.ts.
/// <reference path="./api.d.ts" />
/// <reference path="./receipts.d.ts" />

declare namespace PLSClient {
  /** Constructor options. */
  interface ClientOptions {
    /** AccessKeyId. Passed with secretAccessKey, it wins over every other source; without both, the default credentials chain is used. */
    accessKeyId?: string
    /** AccessKeySecret, with accessKeyId. Never printed. */
    secretAccessKey?: string
    /** pls-native: STS security token (env ALIBABA_CLOUD_SECURITY_TOKEN). */
    securityToken?: string
    /** pls-native: dyplsapi base URL. Default https://dyplsapi.aliyuncs.com, or env PLS_ENDPOINT. */
    endpoint?: string
    /** pls-native: dybaseapi base URL. Default https://dybaseapi.aliyuncs.com, or env PLS_ENDPOINT. */
    dybaseEndpoint?: string
    /** pls-native: MNS base URL. Default https://1943695596114318.mns.cn-hangzhou.aliyuncs.com, or env PLS_ENDPOINT. */
    mnsEndpoint?: string
    /** pls-native: a credentials provider asked before every call, e.g. an `@alicloud/credentials` Client. */
    credentials?: CredentialsProvider
    /** pls-native: 'HMAC-SHA1' (default, the original's RPC signature), 'ACS3-HMAC-SHA256' (signature V3) or 'ACS3-HMAC-SM3' (V3 with SM3). */
    signatureAlgorithm?: 'HMAC-SHA1' | 'ACS3-HMAC-SHA256' | 'ACS3-HMAC-SM3'
    /** pls-native: STS base URL for the chain's role sources. Default https://sts.aliyuncs.com (or by ALIBABA_CLOUD_STS_REGION); env PLS_STS_ENDPOINT, then PLS_ENDPOINT. */
    stsEndpoint?: string
    /** pls-native: ECS instance metadata base URL. Default http://100.100.100.200; env PLS_METADATA_ENDPOINT, then PLS_ENDPOINT. */
    metadataEndpoint?: string
    /** pls-native: limit in ms on each whole call, retries included; also the connect and read timeouts unless those are given. No overall limit by default. */
    timeout?: number
    /** pls-native: time in ms allowed to open a connection (default 3000). */
    connectTimeout?: number
    /** pls-native: time in ms allowed for the whole response, from when the request is written (default 3000). */
    readTimeout?: number
    /**
     * pls-native: CA certificates (PEM) to trust besides Mozilla's bundled roots, the system
     * store and NODE_EXTRA_CA_CERTS, as Node's `tls` option of the same name.
     */
    ca?: string | string[]
    /** pls-native: retries after the first attempt, where a retry is safe (default 2; 0 = never retry, as the original). */
    maxRetries?: number
    /** pls-native: false opens a new connection for every request (default true: pooled, idle ones closed after 4 s). */
    keepAlive?: boolean
    /** pls-native: idle connections kept per host (default: no limit but the 4 s idle time). */
    maxIdleConns?: number
    /**
     * pls-native: the proxy for `http://` endpoints, `http://[user:password@]host:port` or
     * `socks5://` / `socks5h://` (default: env `HTTP_PROXY`, then `http_proxy`).
     */
    httpProxy?: string
    /** pls-native: the proxy for `https://` endpoints, tunnelled with CONNECT (default: env `HTTPS_PROXY`, then `https_proxy`). */
    httpsProxy?: string
    /**
     * pls-native: comma-separated hosts that go direct: names (with their subdomains), IPs,
     * CIDR blocks, or `*` (default: env `NO_PROXY`, then `no_proxy`).
     */
    noProxy?: string
  }

  /** What a `credentials` provider's getCredential() resolves to (the `@alicloud/credentials` Client shape). */
  interface CredentialModel {
    accessKeyId: string
    accessKeySecret: string
    securityToken?: string
  }

  /** pls-native: the `credentials` option. */
  interface CredentialsProvider {
    getCredential(): CredentialModel | Promise<CredentialModel>
  }

  /** Per-call options, as in the original. */
  interface CallOptions {
    /** 'POST' sends the params as an application/x-www-form-urlencoded body. Default GET. */
    method?: 'GET' | 'POST' | string
    /** false: send param keys exactly as given. */
    formatParams?: boolean
    /** false: send the action exactly as given. */
    formatAction?: boolean
    /** Limit in ms on the whole call, retries included; also its connect and read timeouts unless those are given. */
    timeout?: number
    /** Time in ms allowed to open a connection. */
    connectTimeout?: number
    /** Time in ms allowed for the whole response, from when the request is written. */
    readTimeout?: number
    /** pls-native: retries after the first attempt for this call (0 = none). */
    maxRetries?: number
    /** pls-native: cancels the call; it then rejects with an error named 'AbortError'. */
    signal?: AbortSignal
    /** Replaces the default headers (as the original does). */
    headers?: Record<string, string>
    /** pls-native: this call's proxy for `http://` endpoints (over the client's). */
    httpProxy?: string
    /** pls-native: this call's proxy for `https://` endpoints (over the client's). */
    httpsProxy?: string
    /** pls-native: this call's hosts that go direct (over the client's). */
    noProxy?: string
  }

  type ParamValue = string | number | boolean | null | undefined | ParamValue[] | Record<string, unknown>

  /** Params every action accepts. */
  interface CommonParams {
    /** appKey. */
    AccessKeyId?: string
    OwnerId?: number | string
    ResourceOwnerAccount?: string
    ResourceOwnerId?: number | string
    /** Any other key is passed through as given. */
    [key: string]: ParamValue
  }

  interface BindAxbParams extends CommonParams {
    /** Number pool key (号池Key), e.g. FC123456. */
    PoolKey?: string
    /** A's number (mobile, or fixed line with area code and no hyphen). */
    PhoneNoA: string
    /** B's number. */
    PhoneNoB: string
    /** Bind this X (secret number) instead of letting the service choose. */
    PhoneNoX?: string
    /** Prefer an X of this city (e.g. 北京, no suffix). */
    ExpectCity?: string
    /** Binding expiry, 'YYYY-MM-DD HH:mm:ss' (more than a minute from now). */
    Expiration: string
    /** Record every call of this binding. */
    IsRecordingEnabled?: boolean
    /** Your own business field, echoed in receipts. */
    OutId?: string
    CallDisplayType?: number
    CallRestrict?: string
    CallTimeout?: number
    RingConfig?: string
    DtmfConfig?: string
    ASRStatus?: boolean
    ASRModelId?: string
    OutOrderId?: string
  }

  interface BindAxnParams extends CommonParams {
    PoolKey?: string
    PhoneNoA: string
    /** Default callee when someone other than A calls X. */
    PhoneNoB?: string
    PhoneNoX?: string
    Expiration: string
    ExpectCity?: string
    IsRecordingEnabled?: boolean
    /** Number type, e.g. NO_95. */
    NoType?: string
    OutId?: string
  }

  interface BindAxnExtensionParams extends CommonParams {
    PoolKey?: string
    PhoneNoA: string
    /** The extension dialled after X. */
    Extension?: string
    PhoneNoB?: string
    PhoneNoX?: string
    Expiration: string
    ExpectCity?: string
    IsRecordingEnabled?: boolean
    OutId?: string
  }

  interface BuySecretNoParams extends CommonParams {
    PoolKey: string
    /** 1 virtual carrier numbers, 2 carrier numbers, 3 95 numbers. */
    SpecId: number | string
    City: string
    /** A prefix the number should start with. */
    SecretNo?: string
  }

  interface ReleaseSecretNoParams extends CommonParams {
    PoolKey: string
    SecretNo: string
  }

  interface QueryRecordFileDownloadUrlParams extends CommonParams {
    PoolKey?: string
    ProductType?: string
    /** call_id from the call receipt. */
    CallId: string
    /** call_time from the call receipt. */
    CallTime?: string
  }

  interface QuerySubscriptionDetailParams extends CommonParams {
    PoolKey?: string
    ProductType?: string
    SubsId: string
    PhoneNoX: string
  }

  interface UnbindSubscriptionParams extends CommonParams {
    PoolKey?: string
    ProductType?: string
    SubsId: string
    SecretNo: string
  }

  type OperateType =
    | 'updateNoA'
    | 'updateNoB'
    | 'updateExpire'
    | 'updateAxgGroup'
    | 'updateCallRestrict'
    | 'updateCallDisplayType'
    | 'updateOutId'
    | 'updateIsRecordingEnabled'

  interface UpdateSubscriptionParams extends CommonParams {
    PoolKey?: string
    ProductType?: string
    SubsId: string
    PhoneNoX: string
    PhoneNoA?: string
    PhoneNoB?: string
    Expiration?: string
    OperateType: OperateType | string
    GroupId?: number | string
    CallRestrict?: string
    CallDisplayType?: number
    OutId?: string
    IsRecordingEnabled?: boolean
  }

  /** Every successful reply. Integers beyond 2^53 arrive as decimal strings. */
  interface BaseResult {
    RequestId: string
    /** 'OK' on success. */
    Code: string
    Message: string
    [key: string]: unknown
  }

  interface SecretBindDTO {
    /** The binding's id (绑定关系ID). */
    SubsId: string
    /** X, the secret number. */
    SecretNo: string
    Extension?: string
  }

  interface BindResult extends BaseResult {
    SecretBindDTO: SecretBindDTO
  }

  interface BuySecretNoResult extends BaseResult {
    SecretBuyInfoDTO: { SecretNo: string }
  }

  interface QueryRecordFileDownloadUrlResult extends BaseResult {
    DownloadUrl: string
  }

  interface SecretBindDetailDTO {
    SubsId: string
    PhoneNoA: string
    PhoneNoB: string
    PhoneNoX: string
    Extension?: string
    ExpireDate: string
    GmtCreate: string
    NeedRecord: boolean
    CallRestrict?: string
    /** 1 active, 0 released. */
    Status: number
    GroupId?: number
    ASRStatus?: boolean
    ASRModelId?: string
  }

  interface QuerySubscriptionDetailResult extends BaseResult {
    SecretBindDetailDTO: SecretBindDetailDTO
  }

  interface UnbindSubscriptionResult extends BaseResult {
    ChargeId?: string
  }

  /** An API error (name `Code + 'Error'`) or an SDK error (code `SDK.*`). */
  interface PLSError extends Error {
    /** The body's Code (e.g. 'isv.BIND_CONFLICT'), or 'SDK.Timeout', 'SDK.ConnectionFailed', 'SDK.NetworkError', 'SDK.InvalidResponse', 'SDK.Redirect', 'SDK.InvalidArgument', 'SDK.Aborted'. */
    code: string | number
    /** pls-native: requests the call made, retries included (not enumerable). */
    attempts?: number
    /**
     * pls-native: true when a state-changing call failed after its request may have been
     * acted on (a read timeout, a broken connection, a 5xx): check before doing it again
     * (not enumerable).
     */
    outcomeUnknown?: boolean
    /** pls-native, `SDK.Redirect`: the HTTP status of the redirect that was not followed. */
    statusCode?: number
    /** pls-native, `SDK.Redirect`: its `Location` header. */
    location?: string
    /** pls-native, `SDK.ConnectionFailed` through a proxy: the proxy, `scheme://host:port`. */
    proxy?: string
    /** The whole parsed reply, for API errors. */
    data?: Record<string, unknown>
    /** The request URL. */
    url?: string
  }

  /** 0 SecretReport (call receipt), 1 SecretRecording, 2 SecretSmsIntercept. */
  type MessageTypeIndex = 0 | 1 | 2

  /** pls-native: every receipt type, each with its queue (Alicom-Queue-<account>-<type>). */
  type ReceiptType = PLSNativeReceipts.ReceiptType

  /** receiveMsg's `type`: the original's number, or (pls-native) any receipt type by name. */
  type MessageTypeArg = MessageTypeIndex | ReceiptType

  /** The Message element's children, all strings. */
  interface MessageBody {
    MessageId: string
    ReceiptHandle: string
    MessageBodyMD5: string
    /** base64 of a JSON object: see decodeMessage. */
    MessageBody: string
    EnqueueTime: string
    NextVisibleTime: string
    FirstDequeueTime: string
    DequeueCount: string
    Priority: string
  }

  interface ReceiveResult {
    code: number
    headers: Record<string, string>
    body: MessageBody
  }

  /** A call receipt (呼叫结束后话单报告), type 0. */
  type SecretReport = PLSNativeReceipts.SecretReport

  /** A recording is ready (录音状态报告), type 1. */
  type SecretRecording = PLSNativeReceipts.SecretRecording

  /** An SMS to X (短信内容报告), type 2. */
  type SecretSmsIntercept = PLSNativeReceipts.SecretSmsIntercept

  /** pls-native: the receipt of each type, and any receipt. */
  type ReceiptMap = PLSNativeReceipts.ReceiptMap
  type Receipt = PLSNativeReceipts.Receipt

  /** What a queue message decodes to. */
  type QueueMessage = Receipt

  /** pls-native: receiptListener's handler, options and result. */
  type ReceiptHandler = PLSNativeReceipts.ReceiptHandler
  type ReceiptContext = PLSNativeReceipts.ReceiptContext
  type ReceiptListenerOptions = PLSNativeReceipts.ReceiptListenerOptions
  type ReceiptListener = PLSNativeReceipts.ReceiptListener
  type ReceiptStore = PLSNativeReceipts.ReceiptStore

  interface ConsumeOptions {
    /** Long-poll wait per receive, seconds (max 30). Default 10. */
    waitSeconds?: number
    /** Messages handled at once. Default 1. */
    concurrency?: number
    /** Stops the consumer at once (the poll in flight is cancelled); in-flight handlers finish first. Already aborted: consume rejects with an AbortError. */
    signal?: AbortSignal
    /** Told about receive errors, handler errors and failed deletes. */
    onError?: (error: unknown, body?: MessageBody) => void
    /** Ceiling of the first random pause after a failed receive, ms; it doubles per consecutive failure. Default 500. */
    retryDelayMs?: number
    /** Largest pause after failed receives, ms. Default 30000. */
    maxRetryDelayMs?: number
  }

  /** pls-native: options of receiveMsg and deleteMsg. */
  interface QueueCallOptions {
    /** Cancels the request; it then rejects with an error named 'AbortError'. */
    signal?: AbortSignal
  }

  interface ConsumeStats {
    received: number
    handled: number
    failed: number
  }
}

declare class PLSClient {
  /**
   * Throws TypeError('parameter "secretAccessKey" is required') (resp. "accessKeyId") synchronously
   * when one key is passed without the other. With neither, credentials come from the `credentials`
   * option or the default chain, and a chain that finds none rejects the first call with
   * code 'SDK.CredentialsNotFound'.
   */
  constructor(options?: PLSClient.ClientOptions)
  bindAxb(params: PLSClient.BindAxbParams, options?: PLSClient.CallOptions): Promise<PLSClient.BindResult>
  bindAxn(params: PLSClient.BindAxnParams, options?: PLSClient.CallOptions): Promise<PLSClient.BindResult>
  bindAxnExtension(params: PLSClient.BindAxnExtensionParams, options?: PLSClient.CallOptions): Promise<PLSClient.BindResult>
  buySecretNo(params: PLSClient.BuySecretNoParams, options?: PLSClient.CallOptions): Promise<PLSClient.BuySecretNoResult>
  releaseSecretNo(params: PLSClient.ReleaseSecretNoParams, options?: PLSClient.CallOptions): Promise<PLSClient.BaseResult>
  queryRecordFileDownloadUrl(params: PLSClient.QueryRecordFileDownloadUrlParams, options?: PLSClient.CallOptions): Promise<PLSClient.QueryRecordFileDownloadUrlResult>
  querySubscriptionDetail(params: PLSClient.QuerySubscriptionDetailParams, options?: PLSClient.CallOptions): Promise<PLSClient.QuerySubscriptionDetailResult>
  unbindSubscription(params: PLSClient.UnbindSubscriptionParams, options?: PLSClient.CallOptions): Promise<PLSClient.UnbindSubscriptionResult>
  updateSubscription(params: PLSClient.UpdateSubscriptionParams, options?: PLSClient.CallOptions): Promise<PLSClient.BaseResult>
  /** pls-native: any other dyplsapi action of version 2017-05-25, same signing and result rules. */
  request(action: string, params?: PLSClient.CommonParams, options?: PLSClient.CallOptions): Promise<PLSClient.BaseResult>
  /** Long-polls a queue: rejects with name 'MNSMessageNotExistError' when it stays empty. `type` 0, 1, 2 or (pls-native) a receipt type's name. */
  receiveMsg(type: PLSClient.MessageTypeArg, queueName: string, waitSeconds?: number, isDel?: boolean, options?: PLSClient.QueueCallOptions): Promise<PLSClient.ReceiveResult>
  /** pls-native: deletes a received message by its ReceiptHandle. */
  deleteMsg(type: PLSClient.MessageTypeArg, queueName: string, receiptHandle: string, options?: PLSClient.QueueCallOptions): Promise<void>
  /** pls-native: an at-least-once consumer loop; resolves with counts after `signal` aborts. */
  consume<K extends PLSClient.ReceiptType>(
    type: K,
    queueName: string,
    handler: (message: PLSClient.ReceiptMap[K], body: PLSClient.MessageBody) => unknown | Promise<unknown>,
    options?: PLSClient.ConsumeOptions,
  ): Promise<PLSClient.ConsumeStats>
  consume<T = PLSClient.QueueMessage>(
    type: PLSClient.MessageTypeArg,
    queueName: string,
    handler: (message: T, body: PLSClient.MessageBody) => unknown | Promise<unknown>,
    options?: PLSClient.ConsumeOptions,
  ): Promise<PLSClient.ConsumeStats>
  /** pls-native: the JSON inside a message's base64 MessageBody. */
  static decodeMessage<T = PLSClient.QueueMessage>(body: PLSClient.MessageBody | string): T
}

/** One typed method per dyplsapi action beyond the original nine (see api.d.ts). */
interface PLSClient extends PLSNativeApi.Methods<PLSClient.CallOptions> {}

/** pls-native: receipts pushed over HTTP (see receipts.d.ts); also named exports. */
declare namespace PLSClient {
  /**
   * A listener for receipts pushed over HTTP: answers {"code":0,"msg":"成功"}
   * once every handler resolved within `timeoutMs`, 5xx otherwise (the
   * service pushes again), 400/405/413 for requests that are no push.
   */
  function receiptListener(handler: ReceiptHandler, options?: ReceiptListenerOptions): ReceiptListener
  /** The type of a receipt, told by its fields. */
  function classifyReceipt(receipt: unknown): ReceiptType | undefined
  /** A receipt's de-duplication key: its type and natural ids (e.g. 'SecretReport:<call_id>'). */
  function receiptKey(receipt: Record<string, unknown>, type: ReceiptType | undefined): string
  /** The default store: keys in memory for their TTL, at most `maxKeys` (default 100000). */
  class MemoryReceiptStore implements PLSNativeReceipts.CheckThenAddStore, PLSNativeReceipts.ClaimStore {
    constructor(options?: { maxKeys?: number })
    readonly size: number
    has(key: string): boolean
    add(key: string, ttlMs: number): void
    setIfAbsent(key: string, ttlMs: number): boolean
    delete(key: string): boolean
  }
  /** Every receipt type. */
  const RECEIPT_TYPES: readonly ReceiptType[]
}

export = PLSClient
