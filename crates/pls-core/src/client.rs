//! `PlsClient`: signs RPC calls and sends them on the shared HTTP client,
//! again where that is safe (see [`crate::retry`]), re-signed each attempt.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::config::{ClientConfig, Credentials, Service, SignatureAlgorithm};
use crate::error::{HttpEntry, SdkError, TimeoutPhase};
use crate::http::{self, Exchange, Failed, Reply};
use crate::proxy::{ProxyOptions, ProxySettings};
use crate::response::Success;
use crate::retry;
use crate::rpc::{make_nonce, CallOptions, RpcRequest, SignedRequest, SigningContext};
use crate::timefmt::rpc_timestamp_now;
use crate::token_cache::TokenCache;
use crate::transport::{PerCallTransports, Route, Transport, TransportOptions};

/// A signed request with its timeouts, ready to send.
#[derive(Debug, Clone)]
pub struct PreparedCall {
    /// The request as it goes on the wire.
    pub signed: SignedRequest,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for the response.
    pub read_timeout: Duration,
}

/// The outcome of a call and how many requests it took.
#[derive(Debug)]
pub struct Attempted<T> {
    /// The result, or the last real failure.
    pub result: Result<T, SdkError>,
    /// Requests sent (or tried): 1 when the first attempt settled it.
    pub attempts: u32,
    /// The last attempt's request, handed back rather than dropped: a
    /// caller that prepared the first attempt on its own thread frees it
    /// there too (allocator locks are taken when one thread frees what
    /// another allocated).
    pub sent: Option<PreparedCall>,
}

impl<T> Attempted<T> {
    /// True when the call failed after its state-changing request may have
    /// been acted on, with nothing to say whether it was (a read timeout, a
    /// broken connection, a 5xx; see [`retry::outcome_unknown`]).
    pub fn outcome_unknown(&self) -> bool {
        match (&self.result, &self.sent) {
            (Err(err), Some(sent)) => retry::outcome_unknown(&sent.signed.action, err),
            _ => false,
        }
    }
}

/// A configured client. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct PlsClient {
    config: ClientConfig,
    /// Where its requests go out: shared by every client configured alike.
    transport: Arc<Transport>,
    /// The transports of calls that pass proxy options of their own.
    per_call: Arc<PerCallTransports>,
    /// Temporary MNS credentials per message type, shared by clones.
    mns_tokens: Arc<TokenCache>,
}

impl PlsClient {
    /// A client for `config`, on the transport (connection pool) of its
    /// configuration: the process-wide one unless it sets `ca`,
    /// `keepAlive`, `maxIdleConns` or proxies (or the environment does).
    pub fn new(config: ClientConfig) -> Result<Self, SdkError> {
        let transport = if config.extra_ca.is_empty()
            && config.keep_alive
            && config.max_idle_conns.is_none()
            && config.proxy.is_empty()
        {
            Transport::environment()?
        } else {
            Transport::for_options(TransportOptions {
                extra_ca: config.extra_ca.clone(),
                keep_alive: config.keep_alive,
                max_idle_per_host: config.max_idle_conns,
                proxy: ProxySettings::from_process(&config.proxy)?,
            })?
        };
        Ok(PlsClient {
            config,
            transport,
            per_call: Arc::default(),
            mns_tokens: Arc::new(TokenCache::new()),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The client's transport (the MNS client sends on it too).
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The transport a call with these options goes out on.
    fn transport_for(&self, options: &CallOptions) -> Result<Option<Arc<Transport>>, SdkError> {
        match &options.proxy {
            None => Ok(None),
            Some(proxy) => self
                .per_call
                .get(self.transport.options(), &self.config.proxy, proxy)
                .map(Some),
        }
    }

    /// The proxy (`scheme://host:port`) a request to `service` goes
    /// through, with a call's own proxy options when it has some; `None`
    /// when it goes direct. For the debug log: nothing is built.
    pub fn proxy_for(
        &self,
        service: Service,
        call: Option<&ProxyOptions>,
    ) -> Result<Option<String>, SdkError> {
        let url = self.config.endpoints.of(service);
        Ok(match call {
            None => self.transport.proxy_for(url).map(|p| p.to_string()),
            Some(call) => ProxySettings::from_process(&call.over(&self.config.proxy))?
                .proxy_for(url)
                .map(|p| p.to_string()),
        })
    }

    /// The per-type cache of temporary MNS credentials (see [`crate::token_cache`]).
    pub(crate) fn mns_tokens(&self) -> &TokenCache {
        &self.mns_tokens
    }

    /// The signing step of one attempt: `request` signed with `credentials`
    /// under a fresh timestamp and nonce, so a retry is never a replay, by
    /// the configured algorithm.
    pub fn sign_attempt(
        &self,
        service: Service,
        request: &RpcRequest,
        credentials: &Credentials,
    ) -> SignedRequest {
        let timestamp = rpc_timestamp_now();
        let nonce = make_nonce();
        let ctx = SigningContext {
            endpoint: self.config.endpoints.of(service),
            credentials,
            user_agent: &self.config.user_agent,
            sdk_client: &self.config.sdk_client,
            timestamp: &timestamp,
            nonce: &nonce,
        };
        match self.config.signature_algorithm {
            SignatureAlgorithm::HmacSha1 => request.sign(&ctx),
            SignatureAlgorithm::Acs3HmacSha256 => {
                crate::signer_acs3::sign_rpc(request, &ctx, crate::signer_acs3::V3Hash::Sha256)
            }
            SignatureAlgorithm::Acs3HmacSm3 => {
                crate::signer_acs3::sign_rpc(request, &ctx, crate::signer_acs3::V3Hash::Sm3)
            }
        }
    }

    /// Signs `request` with `credentials` and fixes its timeouts: the part
    /// of a call that needs no I/O.
    pub fn prepare_with(
        &self,
        service: Service,
        request: &RpcRequest,
        credentials: &Credentials,
    ) -> PreparedCall {
        let opts = &request.options;
        PreparedCall {
            signed: self.sign_attempt(service, request, credentials),
            connect_timeout: opts.connect_timeout.unwrap_or(self.config.connect_timeout),
            read_timeout: opts.read_timeout.unwrap_or(self.config.read_timeout),
        }
    }

    /// Prepares the call now when the credentials are at hand without
    /// waiting (a static key, or a provider's fresh cached value); the Node
    /// binding does this on the JS thread so the caller's strings are freed
    /// on the thread that made them.
    pub fn try_prepare(&self, service: Service, request: &RpcRequest) -> Option<PreparedCall> {
        let credentials = self.config.credentials.now()?;
        Some(self.prepare_with(service, request, &credentials))
    }

    /// Prepares the call, first waiting for the credentials provider when
    /// it must fetch or refresh.
    pub async fn prepare(
        &self,
        service: Service,
        request: &RpcRequest,
    ) -> Result<PreparedCall, SdkError> {
        if let Some(prepared) = self.try_prepare(service, request) {
            return Ok(prepared);
        }
        // Boxed: fetching credentials is a large future that most calls
        // never wait for, and every call's task would carry its size.
        let credentials = Box::pin(self.config.credentials.get()).await?;
        Ok(self.prepare_with(service, request, &credentials))
    }

    /// Sends one RPC call (retrying where safe) and applies the original's result rule.
    pub async fn call(&self, service: Service, request: &RpcRequest) -> Result<Value, SdkError> {
        let first = self.prepare(service, request).await?;
        self.with_retries(service, request, first, interpret_value)
            .await
            .result
    }

    /// Sends a call whose first attempt is `first` (see [`Self::prepare`]),
    /// retrying where safe, and applies the result rule for callers with a
    /// JSON parser of their own (the Node binding hands the bytes to V8's
    /// `JSON.parse`): a plain successful reply is not parsed here.
    pub async fn execute_json(
        &self,
        service: Service,
        request: &RpcRequest,
        first: PreparedCall,
    ) -> Attempted<Success> {
        self.with_retries(service, request, first, interpret_json)
            .await
    }

    /// Sends a prepared call (again on a new connection if a stale pooled
    /// one lost it) and hands back the raw reply.
    pub async fn send(&self, prepared: &PreparedCall) -> Result<Reply, SdkError> {
        http::send(&self.transport, exchange_of(prepared)).await
    }

    /// One attempt: send, then read the reply by `interpret`. A request
    /// lost to a stale pooled connection (the server closed it as idle just
    /// as the request went out) is sent once more on a new connection,
    /// whatever the retry budget: the server never saw it, so this is not
    /// a retry. A state-changing action sends the very same signed request,
    /// so the gateway, which refuses a nonce it has seen, can never act on
    /// it twice; when it does refuse the nonce (the first request did
    /// arrive after all), the first failure stands, and its outcome is
    /// unknown. A read-only action is signed anew. `sent` counts the
    /// requests sent.
    async fn attempt<T>(
        &self,
        transport: &Transport,
        service: Service,
        request: &RpcRequest,
        prepared: &mut PreparedCall,
        sent: &mut u32,
        interpret: fn(&SignedRequest, Reply) -> Result<T, SdkError>,
    ) -> Result<T, SdkError> {
        *sent += 1;
        let first = match http::send_via(transport, Route::Pooled, &exchange_of(prepared)).await {
            Ok(reply) => return interpret(&prepared.signed, reply),
            Err(Failed {
                error,
                stale: false,
            }) => return Err(error),
            Err(Failed { error, .. }) => error,
        };
        let read_only = retry::is_read_only(&prepared.signed.action);
        if read_only {
            *prepared = self.prepare(service, request).await?;
        }
        *sent += 1;
        let second = match http::send_via(transport, Route::Fresh, &exchange_of(prepared)).await {
            Ok(reply) => interpret(&prepared.signed, reply),
            Err(failed) => Err(failed.error),
        };
        match second {
            Err(SdkError::Api { code, .. }) if !read_only && code == NONCE_USED => Err(first),
            other => other,
        }
    }

    /// The attempt loop: `first`, then while the failure is safe to repeat
    /// and retries remain, a wait (backoff with full jitter, or the server's
    /// `x-acs-retry-after`) and a freshly signed attempt. The call's overall
    /// `timeout` bounds all of it; when it fires during an attempt that is
    /// the error, when a wait would outlast it the last real error stands.
    async fn with_retries<T>(
        &self,
        service: Service,
        request: &RpcRequest,
        first: PreparedCall,
        interpret: fn(&SignedRequest, Reply) -> Result<T, SdkError>,
    ) -> Attempted<T> {
        let max_retries = request
            .options
            .max_retries
            .unwrap_or(self.config.max_retries);
        let total = request.options.timeout.or(self.config.timeout);
        let deadline = total.map(|limit| Instant::now() + limit);
        let mut prepared = first;
        let per_call = match self.transport_for(&request.options) {
            Ok(per_call) => per_call,
            Err(err) => {
                return Attempted {
                    result: Err(err),
                    attempts: 0,
                    sent: Some(prepared),
                }
            }
        };
        let transport = per_call.as_deref().unwrap_or(&self.transport);
        let mut attempts = 0;
        let mut tries = 0;
        loop {
            tries += 1;
            // Each arm awaits its own attempt future, built in place: the
            // two never coexist, so the task holds one attempt's state.
            let result = match (deadline, total) {
                (Some(deadline), Some(limit)) => {
                    match tokio::time::timeout_at(
                        deadline,
                        self.attempt(
                            transport,
                            service,
                            request,
                            &mut prepared,
                            &mut attempts,
                            interpret,
                        ),
                    )
                    .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(SdkError::Timeout {
                            action: prepared.signed.action.clone(),
                            url: prepared.signed.url.clone(),
                            phase: TimeoutPhase::Total,
                            millis: limit.as_millis() as u64,
                        }),
                    }
                }
                _ => {
                    self.attempt(
                        transport,
                        service,
                        request,
                        &mut prepared,
                        &mut attempts,
                        interpret,
                    )
                    .await
                }
            };
            let err = match result {
                Ok(value) => {
                    return Attempted {
                        result: Ok(value),
                        attempts,
                        sent: Some(prepared),
                    }
                }
                Err(err) => err,
            };
            if tries > max_retries || !retry::may_retry(&prepared.signed.action, &err) {
                return Attempted {
                    result: Err(err),
                    attempts,
                    sent: Some(prepared),
                };
            }
            let wait = retry::delay(tries, &err);
            if deadline.is_some_and(|deadline| Instant::now() + wait >= deadline) {
                return Attempted {
                    result: Err(err),
                    attempts,
                    sent: Some(prepared),
                };
            }
            tokio::time::sleep(wait).await;
            // Each attempt asks for credentials again: a temporary key may
            // have been refreshed while this call waited.
            prepared = match self.prepare(service, request).await {
                Ok(prepared) => prepared,
                Err(err) => {
                    return Attempted {
                        result: Err(err),
                        attempts,
                        sent: Some(prepared),
                    }
                }
            };
        }
    }
}

/// The gateway's answer to a `SignatureNonce` (or ACS3 nonce) it has seen.
const NONCE_USED: &str = "SignatureNonceUsed";

/// The exchange that sends `prepared`.
fn exchange_of(prepared: &PreparedCall) -> Exchange<'_> {
    let signed = &prepared.signed;
    Exchange {
        action: &signed.action,
        method: &signed.method,
        url: &signed.url,
        headers: &signed.headers,
        body: signed.body.as_deref(),
        connect_timeout: prepared.connect_timeout,
        read_timeout: prepared.read_timeout,
    }
}

/// The original's result rule, parsed in full.
fn interpret_value(signed: &SignedRequest, reply: Reply) -> Result<Value, SdkError> {
    crate::response::interpret(&signed.action, &signed.url, reply.status, &reply.body)
        .map_err(|err| with_entry(err, signed, &reply))
}

/// The original's result rule, leaving plain successes unparsed.
fn interpret_json(signed: &SignedRequest, reply: Reply) -> Result<Success, SdkError> {
    crate::response::interpret_fast(
        &signed.action,
        &signed.url,
        reply.status,
        reply.body.clone(),
    )
    .map_err(|err| with_entry(err, signed, &reply))
}

/// Attaches the exchange to an API error, as the original's `err.entry`.
fn with_entry(err: SdkError, signed: &SignedRequest, reply: &Reply) -> SdkError {
    match err {
        SdkError::Api {
            code,
            message,
            data,
            url,
            ..
        } => {
            let mut response_headers: Vec<(String, String)> =
                Vec::with_capacity(reply.headers.len());
            for (name, value) in &reply.headers {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                match response_headers
                    .iter_mut()
                    .find(|(n, _)| n == name.as_str())
                {
                    Some((_, joined)) => {
                        joined.push_str(", ");
                        joined.push_str(&value);
                    }
                    None => response_headers.push((name.as_str().to_owned(), value)),
                }
            }
            let entry = HttpEntry {
                request_headers: signed
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                    .collect(),
                status: reply.status,
                response_headers,
            };
            SdkError::Api {
                code,
                message,
                data,
                url,
                entry: Some(Box::new(entry)),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;
    use crate::test_support::{scripted, serve, Canned, Received, Server, Step};
    use tokio::net::TcpListener;

    /// A server that answers every request with `reply` (HTTP 400), or never answers.
    async fn answering(reply: Option<&'static str>) -> Server {
        serve(move |_head: &str| match reply {
            Some(body) => Canned::new(400, "application/json", body),
            None => Canned {
                delay: Duration::from_secs(5),
                ..Canned::new(200, "application/json", "{}")
            },
        })
        .await
    }

    fn client(url: &str, read_ms: u64) -> PlsClient {
        let mut config = crate::test_support::config_for(url);
        config.read_timeout = Duration::from_millis(read_ms);
        config.max_retries = 0;
        PlsClient::new(config).unwrap()
    }

    #[tokio::test]
    async fn an_error_body_rejects_whatever_the_status() {
        let server = answering(Some(r#"{"Code":"isv.BIND_CONFLICT","Message":"conflict"}"#)).await;
        let url = server.url.clone();
        let request = RpcRequest::new("BindAxb", vec![("PhoneNoA".into(), ParamValue::from("1"))]);
        let err = client(&url, 3000)
            .call(Service::Dypls, &request)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "isv.BIND_CONFLICT");
        match &err {
            SdkError::Api {
                entry: Some(entry), ..
            } => {
                assert_eq!(entry.status, 400);
                assert!(entry
                    .response_headers
                    .contains(&("content-type".into(), "application/json".into())));
                assert!(entry
                    .request_headers
                    .contains(&("x-acs-action".into(), "BindAxb".into())));
            }
            other => panic!("expected an API error with its entry, got {other:?}"),
        }
        let seen = server.hits("GET").join("");
        assert!(
            seen.starts_with("GET /?AccessKeyId=id&Action=BindAxb&"),
            "{seen}"
        );
        assert!(
            seen.contains("x-acs-action: BindAxb") && seen.contains("x-acs-version: 2017-05-25"),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let server = answering(None).await;
        let url = server.url.clone();
        let started = std::time::Instant::now();
        let err = client(&url, 200)
            .call(Service::Dypls, &RpcRequest::new("BindAxb", vec![]))
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_call_future_stays_small() {
        // Each call's task holds this future, and its size is copied several
        // times per call; a future awaited after being moved (or held in a
        // local and moved into another) is stored twice and would show here.
        // It was 3,976 bytes before the attempt and send futures were built
        // in place, and the credentials wait boxed.
        let client = client("http://127.0.0.1:9", 1000);
        let request = RpcRequest::new("BindAxb", vec![]);
        let prepared = client.try_prepare(Service::Dypls, &request).unwrap();
        let call = client.execute_json(Service::Dypls, &request, prepared.clone());
        let size = std::mem::size_of_val(&call);
        assert!(size <= 3_000, "the call future is {size} bytes");
        let waiting = client.prepare(Service::Dypls, &request);
        let size = std::mem::size_of_val(&waiting);
        assert!(size <= 128, "the prepare future is {size} bytes");
    }

    /// A gateway in front of a stale pool: the first connection answers
    /// once, then the next request on it is lost (`kill`), either before
    /// the gateway saw it or after (`processed`); nonces are checked.
    async fn stale_gateway(
        kill: Step,
        processed: bool,
    ) -> (String, Arc<std::sync::Mutex<Vec<Received>>>) {
        let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        scripted(move |connection, index, head| {
            let nonce = head
                .split(['?', '&', ' '])
                .find_map(|pair| pair.strip_prefix("SignatureNonce="))
                .unwrap_or("")
                .to_owned();
            let lost = connection == 0 && index == 1;
            if lost && !processed {
                return kill;
            }
            if !seen.lock().unwrap().insert(nonce) {
                return Step::Answer(400, r#"{"Code":"SignatureNonceUsed","Message":"Specified signature nonce was used already."}"#);
            }
            if lost {
                kill
            } else {
                Step::Answer(200, r#"{"Code":"OK","Message":"OK"}"#)
            }
        })
        .await
    }

    fn nonces(log: &std::sync::Mutex<Vec<Received>>) -> Vec<String> {
        log.lock()
            .unwrap()
            .iter()
            .map(|r| {
                r.head
                    .split(['?', '&', ' '])
                    .find_map(|pair| pair.strip_prefix("SignatureNonce="))
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    async fn twice(client: &PlsClient, action: &str) -> Attempted<Success> {
        let request = RpcRequest::new(action, vec![]);
        for _ in 0..2 {
            let prepared = client.try_prepare(Service::Dypls, &request).unwrap();
            let outcome = client
                .execute_json(Service::Dypls, &request, prepared)
                .await;
            if outcome.attempts > 1 || outcome.result.is_err() {
                return outcome;
            }
        }
        panic!("the second call was not lost to the stale connection");
    }

    #[tokio::test]
    async fn a_request_lost_to_a_stale_connection_is_resent_even_without_retries() {
        for kill in [Step::Close, Step::Reset] {
            let (url, log) = stale_gateway(kill, false).await;
            let outcome = twice(&client(&url, 3000), "BindAxb").await;
            assert!(
                outcome.result.is_ok(),
                "{kill:?}: {:?}",
                outcome.result.err()
            );
            assert_eq!(outcome.attempts, 2);
            // The very same signed request went again, on a new connection.
            let sent = nonces(&log);
            assert_eq!(sent.len(), 3);
            assert_eq!(sent[1], sent[2]);
            assert_eq!(log.lock().unwrap()[2].connection, 1);
        }
    }

    #[tokio::test]
    async fn a_resend_refused_as_a_used_nonce_keeps_the_first_error_and_the_outcome_is_unknown() {
        let (url, log) = stale_gateway(Step::Reset, true).await;
        let outcome = twice(&client(&url, 3000), "BindAxb").await;
        let err = outcome.result.as_ref().err().unwrap();
        assert_eq!(err.code(), "SDK.NetworkError", "{err}");
        assert!(outcome.outcome_unknown());
        assert_eq!(outcome.attempts, 2);
        let sent = nonces(&log);
        assert_eq!(sent[1], sent[2]);

        // A read-only call is signed anew for the resend, so it succeeds.
        let (url, log) = stale_gateway(Step::Reset, true).await;
        let outcome = twice(&client(&url, 3000), "QuerySubscriptionDetail").await;
        assert!(outcome.result.is_ok(), "{:?}", outcome.result.err());
        assert!(!outcome.outcome_unknown());
        let sent = nonces(&log);
        assert_ne!(sent[1], sent[2]);
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connection_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = client(&url, 1000)
            .call(Service::Dypls, &RpcRequest::new("BindAxb", vec![]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "SDK.ConnectionFailed", "{err}");
        assert!(!err.to_string().contains("secret"));
    }
}
