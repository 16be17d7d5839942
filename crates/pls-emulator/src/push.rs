//! HTTP batch push of receipts, as the service does it for a receipt type
//! that has a callback URL: a POST of a JSON array of receipts; delivered
//! only on HTTP 200 with a JSON body whose `code` is a number, within
//! 700 ms; otherwise pushed again 1, 5 and 10 minutes (business clock)
//! after each failed attempt, then dropped.
//!
//! The emulator's own choices: the receipts of one type that one event
//! (a call, an SMS, a number bought) produces form a batch; batches to one
//! URL go out one at a time, in order, and first attempts of one type still
//! waiting when the URL is free are merged, up to 100 receipts; a retry
//! keeps its batch as it was.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::activity::{ActivityKind, PushAttempt};
use crate::clock::format_beijing;
use crate::queue_names::{pushable, MESSAGE_TYPES};
use crate::App;

/// The service's limit on the receiver's answer.
pub const DEFAULT_TIMEOUT_MS: u64 = 700;
/// Waits after the first, second and third failed attempt (business ms).
pub const RETRY_DELAYS_MS: [i64; 3] = [60_000, 300_000, 600_000];
/// The most receipts one push carries.
pub const MAX_BATCH: usize = 100;
/// The most of a receiver's answer that is read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The largest pushed body the log keeps (so a thousand entries of full
/// batches cannot grow the emulator's memory without bound).
const MAX_LOGGED_BODY_BYTES: usize = 32 * 1024;
const MAX_TIMEOUT_MS: u64 = 60_000;

/// Callback URLs by receipt type, and the answer limit.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    urls: BTreeMap<String, String>,
    timeout_ms: u64,
}

/// A batch of receipts of one type for one URL, the same over its retries.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Unique in this emulator run.
    pub id: u64,
    /// The receipt type.
    pub message_type: &'static str,
    /// Where it goes.
    pub url: String,
    /// The receipts, as pushed.
    pub receipts: Vec<Value>,
    /// Attempts made so far.
    pub attempts: u32,
    /// The reset generation it belongs to; a reset drops older batches.
    generation: u64,
}

#[derive(Debug, Default)]
struct Lane {
    waiting: VecDeque<Batch>,
    running: bool,
}

/// The push side of the emulator: settings, one lane per URL, the client.
#[derive(Debug)]
pub struct Pusher {
    settings: Mutex<Settings>,
    initial: Settings,
    lanes: Mutex<HashMap<String, Lane>>,
    client: Result<reqwest::Client, String>,
    next_batch_id: AtomicU64,
    generation: AtomicU64,
}

/// Why a push setting is refused.
fn check_type(message_type: &str) -> Result<&'static str, String> {
    let known = MESSAGE_TYPES
        .iter()
        .copied()
        .find(|t| *t == message_type)
        .ok_or_else(|| {
            format!(
                "unknown receipt type {message_type:?}: one of {}",
                MESSAGE_TYPES.join(", ")
            )
        })?;
    if !pushable(known) {
        return Err(format!(
            "{known} is delivered through MNS only; the service does not push it"
        ));
    }
    Ok(known)
}

fn check_url(message_type: &str, text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("push URL of {message_type} {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "push URL of {message_type} must be http:// or https:// with a host, got {text:?}"
        ));
    }
    Ok(text.to_string())
}

fn check_timeout(ms: u64) -> Result<u64, String> {
    if (1..=MAX_TIMEOUT_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!(
            "push timeout must be 1 to {MAX_TIMEOUT_MS} ms, got {ms}"
        ))
    }
}

/// The client every push goes through: no redirect followed, no proxy
/// from the environment, Mozilla's roots for https callbacks.
fn build_client() -> Result<reqwest::Client, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("cannot configure TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent("pls-emulator")
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the push client: {}", error_chain(&e)))
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

impl Pusher {
    /// The settings of the emulator's configuration, checked.
    pub fn new(
        urls: &BTreeMap<String, Option<String>>,
        timeout_ms: Option<u64>,
    ) -> Result<Self, String> {
        let mut settings = Settings {
            urls: BTreeMap::new(),
            timeout_ms: check_timeout(timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS))?,
        };
        for (message_type, url) in urls {
            let known = check_type(message_type)?;
            if let Some(url) = url {
                settings
                    .urls
                    .insert(known.to_string(), check_url(known, url)?);
            }
        }
        Ok(Pusher {
            initial: settings.clone(),
            settings: Mutex::new(settings),
            lanes: Mutex::new(HashMap::new()),
            client: build_client(),
            next_batch_id: AtomicU64::new(1),
            generation: AtomicU64::new(0),
        })
    }

    /// The callback URL of a receipt type, if it is pushed.
    pub fn url_for(&self, message_type: &str) -> Option<String> {
        self.settings
            .lock()
            .ok()
            .and_then(|s| s.urls.get(message_type).cloned())
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(
            self.settings
                .lock()
                .map_or(DEFAULT_TIMEOUT_MS, |s| s.timeout_ms),
        )
    }

    /// A new batch, numbered.
    pub fn new_batch(
        &self,
        message_type: &'static str,
        url: String,
        receipts: Vec<Value>,
    ) -> Batch {
        Batch {
            id: self.next_batch_id.fetch_add(1, Ordering::Relaxed),
            message_type,
            url,
            receipts,
            attempts: 0,
            generation: self.generation.load(Ordering::Acquire),
        }
    }

    /// Back to the configured settings; batches already made are dropped.
    pub fn reset(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut s) = self.settings.lock() {
            *s = self.initial.clone();
        }
        if let Ok(mut lanes) = self.lanes.lock() {
            for lane in lanes.values_mut() {
                lane.waiting.clear();
            }
        }
    }

    fn current(&self, batch: &Batch) -> bool {
        batch.generation == self.generation.load(Ordering::Acquire)
    }

    /// The settings as the control API shows them.
    pub fn snapshot(&self) -> Value {
        let settings = self
            .settings
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| self.initial.clone());
        json!({
            "push": settings.urls,
            "timeoutMs": settings.timeout_ms,
            "retryDelaysSeconds": RETRY_DELAYS_MS.map(|ms| ms / 1000),
            "maxBatch": MAX_BATCH,
            "pushable": MESSAGE_TYPES.iter().filter(|t| pushable(t)).collect::<Vec<_>>(),
        })
    }

    /// The next batch for `url`: the oldest waiting, with the first
    /// attempts of its type merged into it when it is a first attempt too.
    /// None (and the lane idle) when nothing waits.
    fn next_batch(&self, url: &str) -> Option<Batch> {
        let mut lanes = self.lanes.lock().ok()?;
        let lane = lanes.get_mut(url)?;
        let Some(mut batch) = lane.waiting.pop_front() else {
            lanes.remove(url);
            return None;
        };
        if batch.attempts == 0 {
            let mut index = 0;
            while index < lane.waiting.len() {
                let next = &lane.waiting[index];
                let fits = batch.receipts.len() + next.receipts.len() <= MAX_BATCH;
                if next.attempts == 0
                    && next.message_type == batch.message_type
                    && next.generation == batch.generation
                    && fits
                {
                    if let Some(merged) = lane.waiting.remove(index) {
                        batch.receipts.extend(merged.receipts);
                    }
                } else {
                    index += 1;
                }
            }
        }
        Some(batch)
    }
}

/// Queues `batch` on its URL's lane, starting the lane if idle.
pub fn submit(app: &Arc<App>, batch: Batch) {
    if !app.push.current(&batch) {
        return;
    }
    let url = batch.url.clone();
    let start = match app.push.lanes.lock() {
        Ok(mut lanes) => {
            let lane = lanes.entry(url.clone()).or_default();
            lane.waiting.push_back(batch);
            !std::mem::replace(&mut lane.running, true)
        }
        Err(_) => false,
    };
    if start {
        tokio::spawn(run_lane(app.clone(), url));
    }
}

async fn run_lane(app: Arc<App>, url: String) {
    while let Some(batch) = app.push.next_batch(&url) {
        if *app.shutdown.borrow() {
            return;
        }
        attempt(&app, batch).await;
    }
}

/// How one POST ended.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    delivered: bool,
    status: Option<u16>,
    code: Option<Value>,
    detail: String,
    elapsed_ms: u64,
}

/// The service's rule: HTTP 200 and a JSON body whose `code` is a number.
/// The value of `code` is not looked at.
fn judge(status: u16, location: Option<&str>, body: &[u8]) -> (bool, Option<Value>, String) {
    if status != 200 {
        let moved = location.map_or(String::new(), |l| format!(" to {l} (not followed)"));
        return (false, None, format!("HTTP {status}{moved}"));
    }
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("code").cloned())
        .filter(Value::is_number);
    match code {
        Some(code) if code.as_i64() == Some(0) => (true, Some(code), "code 0".to_string()),
        Some(code) => {
            let detail = format!(
                "code {code}: delivered all the same (only that code is a number is checked)"
            );
            (true, Some(code), detail)
        }
        None => {
            let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            (
                false,
                None,
                format!("HTTP 200 without a numeric code in a JSON body: {shown:?}"),
            )
        }
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &str, timeout: Duration) -> Answer {
    let started = Instant::now();
    let elapsed = |started: Instant| started.elapsed().as_millis() as u64;
    let failed = |detail: String, status: Option<u16>| Answer {
        delivered: false,
        status,
        code: None,
        detail,
        elapsed_ms: elapsed(started),
    };
    let sent = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/json;charset=utf-8")
        .body(body.to_string())
        .timeout(timeout)
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return failed(format!("no answer within {} ms", timeout.as_millis()), None)
        }
        Err(e) => return failed(format!("cannot push: {}", error_chain(&e)), None),
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut answer = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                answer
                    .extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - answer.len())]);
                if answer.len() >= MAX_ANSWER_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return failed(
                    format!(
                        "the answer did not finish within {} ms",
                        timeout.as_millis()
                    ),
                    Some(status),
                )
            }
            Err(e) => {
                return failed(
                    format!("the answer broke off: {}", error_chain(&e)),
                    Some(status),
                )
            }
        }
    }
    let (delivered, code, detail) = judge(status, location.as_deref(), &answer);
    Answer {
        delivered,
        status: Some(status),
        code,
        detail,
        elapsed_ms: elapsed(started),
    }
}

/// Pushes a batch (twice under the `pushTwice` fault), logs each POST, and
/// schedules the retry of a batch that was not delivered.
async fn attempt(app: &Arc<App>, mut batch: Batch) {
    if !app.push.current(&batch) {
        return;
    }
    let body = Value::Array(batch.receipts.clone());
    let text = body.to_string();
    let timeout = app.push.timeout();
    let twice = app.faults.take_push(batch.message_type).is_some();
    let mut answers = Vec::new();
    for _ in 0..if twice { 2 } else { 1 } {
        let answer = match &app.push.client {
            Ok(client) => post(client, &batch.url, &text, timeout).await,
            Err(why) => Answer {
                delivered: false,
                status: None,
                code: None,
                detail: why.clone(),
                elapsed_ms: 0,
            },
        };
        answers.push(answer);
    }
    batch.attempts += 1;
    let delivered = answers.iter().any(|a| a.delivered);
    let now = app.clock.now_ms();
    let retry_at = (!delivered)
        .then(|| RETRY_DELAYS_MS.get(batch.attempts as usize - 1))
        .flatten()
        .map(|delay| now + delay);
    if !app.push.current(&batch) {
        // Reset while this was on the wire: the log it would go to is gone.
        return;
    }
    let last = answers.len() - 1;
    let logged_body = if text.len() <= MAX_LOGGED_BODY_BYTES {
        body
    } else {
        Value::Null
    };
    if let Ok(mut log) = app.activity.lock() {
        for (index, answer) in answers.into_iter().enumerate() {
            // A failed copy of a batch whose other copy was delivered is
            // failed, not dropped: nothing more is lost.
            let outcome = if answer.delivered {
                "delivered"
            } else if delivered || retry_at.is_some() {
                "failed"
            } else {
                "dropped"
            };
            log.push(PushAttempt {
                kind: ActivityKind::Push,
                time: format_beijing(now),
                message_type: batch.message_type.to_string(),
                url: batch.url.clone(),
                batch_id: batch.id,
                attempt: batch.attempts,
                receipts: batch.receipts.len(),
                outcome: outcome.to_string(),
                status: answer.status,
                code: answer.code,
                detail: answer.detail,
                elapsed_ms: answer.elapsed_ms,
                next_attempt_at: retry_at.filter(|_| index == last).map(format_beijing),
                duplicate: index > 0,
                body: logged_body.clone(),
            });
        }
    }
    if let Some(due) = retry_at {
        app.outbox.retry_at(due, batch);
    }
}

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn listing(app: &App) -> Value {
    let mut listing = app.push.snapshot();
    listing["pending"] = Value::Array(app.outbox.pending());
    listing
}

/// GET `/__emulator/push`: the callback URL of each pushed type, the
/// limits, and the receipts and retries waiting for their time.
pub async fn list(State(app): State<Arc<App>>) -> Response {
    reply(StatusCode::OK, &listing(&app))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PushRequest {
    #[serde(rename = "type")]
    message_type: Option<String>,
    /// A URL to push to, or null to queue the type again.
    #[serde(default, deserialize_with = "present")]
    url: Option<Option<String>>,
    timeout_ms: Option<u64>,
}

/// Tells `"url": null` (set back to MNS) from no `url` at all.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// POST `/__emulator/push`: `{"type": "SecretReport", "url": "http://..."}`
/// pushes a type, `"url": null` queues it again; `{"timeoutMs": n}` sets
/// the answer limit.
pub async fn configure(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let bad = |message: String| reply(StatusCode::BAD_REQUEST, &json!({ "error": message }));
    let request: PushRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(format!("invalid JSON body: {e}")),
    };
    let change = match (&request.message_type, &request.url) {
        (Some(t), Some(url)) => match check_type(t).and_then(|known| {
            url.as_deref()
                .map(|u| check_url(known, u))
                .transpose()
                .map(|url| (known, url))
        }) {
            Ok(change) => Some(change),
            Err(e) => return bad(e),
        },
        (Some(_), None) => {
            return bad("give \"url\" with \"type\" (null to queue the type again)".into())
        }
        (None, Some(_)) => return bad("give the receipt \"type\" the url is for".into()),
        (None, None) => None,
    };
    let timeout = match request.timeout_ms.map(check_timeout).transpose() {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    if change.is_none() && timeout.is_none() {
        return bad("give \"type\" and \"url\", or \"timeoutMs\"".into());
    }
    if let Ok(mut settings) = app.push.settings.lock() {
        if let Some((message_type, url)) = change {
            match url {
                Some(url) => settings.urls.insert(message_type.to_string(), url),
                None => settings.urls.remove(message_type),
            };
        }
        if let Some(ms) = timeout {
            settings.timeout_ms = ms;
        }
    }
    reply(StatusCode::OK, &listing(&app))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, Option<&str>)]) -> Result<Pusher, String> {
        let urls = pairs
            .iter()
            .map(|(t, u)| (t.to_string(), u.map(str::to_string)))
            .collect();
        Pusher::new(&urls, None)
    }

    #[test]
    fn settings_are_checked() {
        let ok = settings(&[
            ("SecretReport", Some("http://127.0.0.1:9/r")),
            ("SecretRecording", None),
        ])
        .unwrap();
        assert_eq!(
            ok.url_for("SecretReport").as_deref(),
            Some("http://127.0.0.1:9/r")
        );
        assert_eq!(ok.url_for("SecretRecording"), None, "null keeps the queue");
        let err = settings(&[("SecretExceptionPhoneReport", Some("http://h/"))]).unwrap_err();
        assert!(err.contains("MNS only"), "{err}");
        let err = settings(&[("SmsReport", Some("http://h/"))]).unwrap_err();
        assert!(err.contains("unknown receipt type"), "{err}");
        for bad in ["ftp://h/", "not a url", "http://"] {
            let err = settings(&[("SecretReport", Some(bad))]).unwrap_err();
            assert!(err.contains("SecretReport"), "{bad}: {err}");
        }
        assert!(Pusher::new(&BTreeMap::new(), Some(0)).is_err());
        assert!(Pusher::new(&BTreeMap::new(), Some(MAX_TIMEOUT_MS + 1)).is_err());
    }

    #[test]
    fn only_200_with_a_numeric_code_is_delivered() {
        assert!(judge(200, None, br#"{"code":0,"msg":"ok"}"#).0);
        let (delivered, code, detail) = judge(200, None, br#"{"code":5,"msg":"busy"}"#);
        assert!(delivered, "the value of code is not checked");
        assert_eq!(code, Some(json!(5)));
        assert!(detail.contains("code 5"), "{detail}");
        for body in [&br#"{"code":"0"}"#[..], b"OK", b"", br#"[{"code":0}]"#] {
            assert!(
                !judge(200, None, body).0,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let (delivered, _, detail) = judge(500, None, br#"{"code":0}"#);
        assert!(!delivered);
        assert_eq!(detail, "HTTP 500");
        let (_, _, detail) = judge(302, Some("http://elsewhere/"), b"");
        assert!(detail.contains("not followed"), "{detail}");
    }

    #[test]
    fn first_attempts_of_a_type_merge_and_retries_stay_apart() {
        let pusher = settings(&[]).unwrap();
        let url = "http://127.0.0.1:9/r".to_string();
        let make = |t: &'static str, n: usize, attempts: u32| {
            let mut b = pusher.new_batch(t, url.clone(), vec![json!({}); n]);
            b.attempts = attempts;
            b
        };
        let queued = [
            make("SecretReport", 1, 0),
            make("SecretRecording", 1, 0),
            make("SecretReport", 2, 0),
            make("SecretReport", 1, 1),
            make("SecretReport", MAX_BATCH, 0),
        ];
        pusher.lanes.lock().unwrap().insert(
            url.clone(),
            Lane {
                waiting: queued.into_iter().collect(),
                running: true,
            },
        );
        let sizes: Vec<(&str, usize, u32)> = std::iter::from_fn(|| pusher.next_batch(&url))
            .map(|b| (b.message_type, b.receipts.len(), b.attempts))
            .collect();
        assert_eq!(
            sizes,
            [
                ("SecretReport", 3, 0),
                ("SecretRecording", 1, 0),
                ("SecretReport", 1, 1),
                ("SecretReport", MAX_BATCH, 0),
            ]
        );
        assert!(
            pusher.lanes.lock().unwrap().is_empty(),
            "an idle lane is gone"
        );
    }
}
