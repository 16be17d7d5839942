//! MNS queues at `/queues/{queue}/messages`: ReceiveMessage with long
//! polling and visibility timeouts, DeleteMessage by ReceiptHandle, the
//! request signature check, and MNS's XML reply and error documents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use md5::{Digest, Md5};
use serde::Serialize;
use tokio::sync::Notify;

use crate::clock::real_now_ms;
use crate::ids::Ids;
use crate::queue_names::{queue_name, MESSAGE_TYPES};
use crate::signature::{mns_signature, mns_string_to_sign, signatures_equal};
use crate::App;

const NAMESPACE: &str = "http://mns.aliyuncs.com/doc/v1/";
const DEFAULT_VISIBILITY_MS: i64 = 30_000;
const MAX_WAIT_SECONDS: u64 = 30;
const SKEW_MS: i64 = 15 * 60 * 1000;

/// One message and its delivery state (times on the real clock).
#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    body_md5: String,
    enqueue_ms: i64,
    next_visible_ms: i64,
    first_dequeue_ms: i64,
    dequeue_count: u32,
    receipt_handle: Option<String>,
}

impl Message {
    fn view(&self, now_ms: i64) -> MessageView {
        // Bodies are base64 of JSON the emulator wrote itself; anything odd
        // is shown as the raw text rather than hidden.
        let body = base64::engine::general_purpose::STANDARD
            .decode(&self.body)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_else(|| serde_json::Value::String(self.body.clone()));
        MessageView {
            message_id: self.id.clone(),
            enqueue_time: self.enqueue_ms,
            visible: self.next_visible_ms <= now_ms,
            visible_in_ms: (self.next_visible_ms - now_ms).max(0),
            dequeue_count: self.dequeue_count,
            body,
        }
    }
}

#[derive(Debug)]
struct QueueState {
    messages: Vec<Message>,
    visibility_ms: i64,
}

/// A queue: its messages behind a lock, and a Notify that wakes long polls
/// when a message is enqueued.
#[derive(Debug)]
pub struct Queue {
    state: Mutex<QueueState>,
    arrived: Notify,
}

/// What a receive hands out: a copy of the message as delivered.
#[derive(Debug, Clone)]
pub struct Delivery {
    message_id: String,
    receipt_handle: String,
    body_md5: String,
    body: String,
    enqueue_ms: i64,
    next_visible_ms: i64,
    first_dequeue_ms: i64,
    dequeue_count: u32,
}

/// A queue's counts, for the state dump.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSummary {
    name: String,
    messages: usize,
    visible: usize,
    in_flight: usize,
    visibility_timeout_seconds: i64,
}

/// A queue and every message in it, for the console.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueContents {
    name: String,
    visibility_timeout_seconds: i64,
    messages: Vec<MessageView>,
}

/// One message as the console shows it: its delivery state and its body
/// decoded from base64 (the JSON object a consumer would get).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    message_id: String,
    /// Real time, epoch milliseconds (MNS runs on the real clock).
    enqueue_time: i64,
    /// Whether a receive would hand it out now.
    visible: bool,
    /// Milliseconds until it becomes visible again (0 when visible).
    visible_in_ms: i64,
    dequeue_count: u32,
    body: serde_json::Value,
}

/// Outcome of one receive attempt.
enum Attempt {
    Got(Delivery),
    /// Nothing visible; the earliest real time a message becomes visible.
    Empty(Option<i64>),
}

impl Queue {
    fn new() -> Self {
        Queue {
            state: Mutex::new(QueueState {
                messages: Vec::new(),
                visibility_ms: DEFAULT_VISIBILITY_MS,
            }),
            arrived: Notify::new(),
        }
    }

    /// Enqueues a JSON object as a base64 MessageBody and wakes waiters.
    pub fn enqueue(&self, payload: &serde_json::Value, ids: &Ids) {
        let body = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
        let body_md5 = Md5::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let now = real_now_ms();
        let message = Message {
            id: ids.hex(32),
            body,
            body_md5,
            enqueue_ms: now,
            next_visible_ms: now,
            first_dequeue_ms: 0,
            dequeue_count: 0,
            receipt_handle: None,
        };
        if let Ok(mut state) = self.state.lock() {
            state.messages.push(message);
        }
        self.arrived.notify_waiters();
    }

    fn try_receive(&self, now_ms: i64, ids: &Ids) -> Attempt {
        let Ok(mut state) = self.state.lock() else {
            return Attempt::Empty(None);
        };
        let visibility = state.visibility_ms;
        match state
            .messages
            .iter_mut()
            .find(|m| m.next_visible_ms <= now_ms)
        {
            Some(m) => {
                m.next_visible_ms = now_ms + visibility;
                m.dequeue_count += 1;
                if m.first_dequeue_ms == 0 {
                    m.first_dequeue_ms = now_ms;
                }
                // A new handle per receive, so a consumer that lost its
                // lease cannot delete a message someone else now holds.
                let handle = format!("1-{}", ids.hex(32));
                m.receipt_handle = Some(handle.clone());
                Attempt::Got(Delivery {
                    message_id: m.id.clone(),
                    receipt_handle: handle,
                    body_md5: m.body_md5.clone(),
                    body: m.body.clone(),
                    enqueue_ms: m.enqueue_ms,
                    next_visible_ms: m.next_visible_ms,
                    first_dequeue_ms: m.first_dequeue_ms,
                    dequeue_count: m.dequeue_count,
                })
            }
            None => Attempt::Empty(state.messages.iter().map(|m| m.next_visible_ms).min()),
        }
    }

    /// Long-polls up to `wait` for a visible message.
    async fn receive(
        &self,
        wait: Duration,
        ids: &Ids,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<Delivery> {
        self.wait_for(wait, shutdown, |now| match self.try_receive(now, ids) {
            Attempt::Got(d) => Ok(d),
            Attempt::Empty(next_visible) => Err(next_visible),
        })
        .await
    }

    /// Tries `attempt` (given real now) until it yields, waking when a
    /// message arrives or when the earliest invisible one it names becomes
    /// visible; None at the end of `wait` or at shutdown.
    async fn wait_for<T>(
        &self,
        wait: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
        mut attempt: impl FnMut(i64) -> Result<T, Option<i64>>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so an enqueue between the look and
            // the wait still wakes us.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let now = real_now_ms();
            let wake_at = match attempt(now) {
                Ok(got) => return Some(got),
                Err(next_visible) => {
                    let next = next_visible.map(|t| {
                        tokio::time::Instant::now() + Duration::from_millis((t - now).max(1) as u64)
                    });
                    next.map_or(deadline, |n| n.min(deadline))
                }
            };
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::select! {
                _ = arrived => {}
                _ = tokio::time::sleep_until(wake_at) => {}
                _ = shutdown.changed() => return None,
            }
        }
    }

    /// Deletes by the handle of the latest receive, while still invisible.
    fn delete(&self, handle: &str, now_ms: i64) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let before = state.messages.len();
        state.messages.retain(|m| {
            !(m.receipt_handle.as_deref() == Some(handle) && m.next_visible_ms > now_ms)
        });
        state.messages.len() != before
    }

    fn summary(&self, name: &str) -> QueueSummary {
        let now = real_now_ms();
        match self.state.lock() {
            Ok(s) => {
                let visible = s
                    .messages
                    .iter()
                    .filter(|m| m.next_visible_ms <= now)
                    .count();
                QueueSummary {
                    name: name.to_string(),
                    messages: s.messages.len(),
                    visible,
                    in_flight: s.messages.len() - visible,
                    visibility_timeout_seconds: s.visibility_ms / 1000,
                }
            }
            Err(_) => QueueSummary {
                name: name.to_string(),
                messages: 0,
                visible: 0,
                in_flight: 0,
                visibility_timeout_seconds: 0,
            },
        }
    }

    fn contents(&self, name: &str) -> QueueContents {
        let now = real_now_ms();
        let (visibility_ms, messages) = match self.state.lock() {
            Ok(s) => (
                s.visibility_ms,
                s.messages.iter().map(|m| m.view(now)).collect(),
            ),
            Err(_) => (0, Vec::new()),
        };
        QueueContents {
            name: name.to_string(),
            visibility_timeout_seconds: visibility_ms / 1000,
            messages,
        }
    }

    fn clear(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.messages.clear();
            s.visibility_ms = DEFAULT_VISIBILITY_MS;
        }
    }

    /// Sets how long a received message stays invisible.
    pub fn set_visibility(&self, seconds: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.visibility_ms = (seconds as i64).saturating_mul(1000);
        }
    }
}

/// The account's queues; a fixed set, so long polls can hold on to theirs.
#[derive(Debug)]
pub struct Queues {
    by_name: HashMap<String, Arc<Queue>>,
}

impl Queues {
    /// One queue per message type on the account.
    pub fn new(account: &str) -> Self {
        let by_name = MESSAGE_TYPES
            .iter()
            .map(|t| (queue_name(account, t), Arc::new(Queue::new())))
            .collect();
        Queues { by_name }
    }

    /// A queue by name.
    pub fn get(&self, name: &str) -> Option<&Arc<Queue>> {
        self.by_name.get(name)
    }

    /// Empties every queue (control reset).
    pub fn clear(&self) {
        self.by_name.values().for_each(|q| q.clear());
    }

    /// Every queue's counts, sorted by name.
    pub fn summaries(&self) -> Vec<QueueSummary> {
        let mut all: Vec<QueueSummary> = self.by_name.iter().map(|(n, q)| q.summary(n)).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Every queue with its messages, sorted by name.
    pub fn contents(&self) -> Vec<QueueContents> {
        let mut all: Vec<QueueContents> = self.by_name.iter().map(|(n, q)| q.contents(n)).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

fn escape_xml(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;"),
    )
}

use std::borrow::Cow;

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-mns-request-id", v);
    }
    r
}

/// An MNS error document.
#[derive(Debug)]
pub struct MnsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn mns_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> MnsError {
    MnsError {
        status,
        code,
        message: message.into(),
    }
}

impl MnsError {
    fn into_response(self, app: &App, request_id: &str) -> Response {
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Error xmlns="{NAMESPACE}"><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId><HostId>{}</HostId></Error>"#,
            self.code,
            escape_xml(&self.message),
            escape_xml(&app.base_url),
        );
        xml_response(self.status, body, request_id)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Checks date, credentials, signature, token expiry and the queue grant;
/// returns the queue.
fn verify(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    queue_name: &str,
) -> Result<Arc<Queue>, MnsError> {
    let date = header_str(headers, "date");
    let sent = httpdate::parse_http_date(date).map_err(|_| {
        mns_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "The Date header is missing or not an RFC 1123 date.",
        )
    })?;
    let sent_ms = sent
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    if (real_now_ms() - sent_ms).abs() > SKEW_MS {
        return Err(mns_error(
            StatusCode::REQUEST_TIMEOUT,
            "TimeExpired",
            "The http request you sent is expired.",
        ));
    }
    let not_found = || {
        mns_error(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The access Id you provided is not exist.",
        )
    };
    let (key_id, signature) = header_str(headers, "authorization")
        .strip_prefix("MNS ")
        .and_then(|rest| rest.split_once(':'))
        .ok_or_else(not_found)?;
    let credential = app
        .tokens
        .lock()
        .ok()
        .and_then(|t| t.get(key_id).cloned())
        .ok_or_else(not_found)?;
    if !signatures_equal(
        header_str(headers, "security-token"),
        &credential.security_token,
    ) {
        return Err(mns_error(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The security token you provided is invalid.",
        ));
    }
    let mns_headers: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-mns-"))
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or("")))
        .collect();
    let resource = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let string_to_sign = mns_string_to_sign(
        method.as_str(),
        header_str(headers, "content-md5"),
        header_str(headers, "content-type"),
        date,
        &mns_headers,
        resource,
    );
    if !signatures_equal(
        &mns_signature(&credential.secret, &string_to_sign),
        signature,
    ) {
        return Err(mns_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    if credential.expire_ms <= app.clock.now_ms() {
        return Err(mns_error(
            StatusCode::FORBIDDEN,
            "SecurityTokenExpired",
            "The security token you provided has expired.",
        ));
    }
    match app.queues.get(queue_name) {
        Some(queue) if credential.queue == queue_name => Ok(queue.clone()),
        _ => Err(mns_error(
            StatusCode::NOT_FOUND,
            "QueueNotExist",
            "The queue name you provided is not exist.",
        )),
    }
}

/// The value of a query parameter, taken as sent (MNS clients put the
/// ReceiptHandle in the URL unencoded).
fn raw_query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

fn message_xml(d: &Delivery) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Message xmlns="{NAMESPACE}"><MessageId>{}</MessageId><ReceiptHandle>{}</ReceiptHandle><MessageBodyMD5>{}</MessageBodyMD5><MessageBody>{}</MessageBody><EnqueueTime>{}</EnqueueTime><NextVisibleTime>{}</NextVisibleTime><FirstDequeueTime>{}</FirstDequeueTime><DequeueCount>{}</DequeueCount><Priority>8</Priority></Message>"#,
        d.message_id,
        d.receipt_handle,
        d.body_md5,
        escape_xml(&d.body),
        d.enqueue_ms,
        d.next_visible_ms,
        d.first_dequeue_ms,
        d.dequeue_count,
    )
}

/// GET `/queues/{queue}/messages[?waitseconds=N]`: ReceiveMessage.
pub async fn receive(
    State(app): State<Arc<App>>,
    Path(queue_name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let request_id = app.ids.hex(24);
    let queue = match verify(&app, &method, &uri, &headers, &queue_name) {
        Ok(q) => q,
        Err(e) => return e.into_response(&app, &request_id),
    };
    let wait = match raw_query_param(&uri, "waitseconds").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(n)) if n <= MAX_WAIT_SECONDS => n,
        Some(_) => {
            return mns_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "The value of waitseconds should be between 0 and 30.",
            )
            .into_response(&app, &request_id)
        }
    };
    match queue
        .receive(Duration::from_secs(wait), &app.ids, app.shutdown.clone())
        .await
    {
        Some(delivery) => xml_response(StatusCode::OK, message_xml(&delivery), &request_id),
        None => mns_error(
            StatusCode::NOT_FOUND,
            "MessageNotExist",
            "Message not exist.",
        )
        .into_response(&app, &request_id),
    }
}

/// DELETE `/queues/{queue}/messages?ReceiptHandle=...`: DeleteMessage.
pub async fn delete(
    State(app): State<Arc<App>>,
    Path(queue_name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let request_id = app.ids.hex(24);
    let queue = match verify(&app, &method, &uri, &headers, &queue_name) {
        Ok(q) => q,
        Err(e) => return e.into_response(&app, &request_id),
    };
    let handle = raw_query_param(&uri, "ReceiptHandle").unwrap_or("");
    if queue.delete(handle, real_now_ms()) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            r.headers_mut().insert("x-mns-request-id", v);
        }
        r
    } else {
        mns_error(
            StatusCode::BAD_REQUEST,
            "ReceiptHandleError",
            format!("The receipt handle you provided is not valid: {handle}"),
        )
        .into_response(&app, &request_id)
    }
}

/// A queue as a saved state holds it: its messages (bodies as sent, the
/// delivery counts) and its visibility timeout. A message that was in
/// flight comes back visible: its receipt handle died with the process.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDump {
    pub visibility_timeout_seconds: i64,
    pub messages: Vec<MessageDump>,
}

/// One saved message.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDump {
    pub message_id: String,
    /// The MessageBody as delivered (base64 of the receipt's JSON).
    pub body: String,
    pub enqueue_time: i64,
    pub first_dequeue_time: i64,
    pub dequeue_count: u32,
}

impl Queue {
    /// The queue for a saved state.
    pub(crate) fn dump(&self) -> QueueDump {
        match self.state.lock() {
            Ok(s) => QueueDump {
                visibility_timeout_seconds: s.visibility_ms / 1000,
                messages: s
                    .messages
                    .iter()
                    .map(|m| MessageDump {
                        message_id: m.id.clone(),
                        body: m.body.clone(),
                        enqueue_time: m.enqueue_ms,
                        first_dequeue_time: m.first_dequeue_ms,
                        dequeue_count: m.dequeue_count,
                    })
                    .collect(),
            },
            Err(_) => QueueDump {
                visibility_timeout_seconds: DEFAULT_VISIBILITY_MS / 1000,
                messages: Vec::new(),
            },
        }
    }

    /// Replaces the queue with a saved one; its messages are visible now.
    pub(crate) fn load(&self, dump: &QueueDump) {
        let now = real_now_ms();
        let messages = dump
            .messages
            .iter()
            .map(|m| Message {
                id: m.message_id.clone(),
                body_md5: Md5::digest(m.body.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect(),
                body: m.body.clone(),
                enqueue_ms: m.enqueue_time,
                next_visible_ms: now,
                first_dequeue_ms: m.first_dequeue_time,
                dequeue_count: m.dequeue_count,
                receipt_handle: None,
            })
            .collect();
        if let Ok(mut s) = self.state.lock() {
            s.messages = messages;
            s.visibility_ms = dump.visibility_timeout_seconds.max(0).saturating_mul(1000);
        }
        self.arrived.notify_waiters();
    }

    /// For the control API: waits up to `wait` for a visible message and
    /// returns it decoded, taking it off the queue when `consume`, else
    /// leaving it exactly as it was.
    pub(crate) async fn next_visible(
        &self,
        wait: Duration,
        consume: bool,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<MessageView> {
        self.wait_for(wait, shutdown, |now| {
            let Ok(mut state) = self.state.lock() else {
                return Err(None);
            };
            match state.messages.iter().position(|m| m.next_visible_ms <= now) {
                Some(i) => {
                    let view = state.messages[i].view(now);
                    if consume {
                        state.messages.remove(i);
                    }
                    Ok(view)
                }
                None => Err(state.messages.iter().map(|m| m.next_visible_ms).min()),
            }
        })
        .await
    }
}

impl Queues {
    /// The queue of a message type on `account`, and the known types when
    /// there is none.
    pub(crate) fn of_type(
        &self,
        account: &str,
        message_type: &str,
    ) -> Result<&Arc<Queue>, Vec<String>> {
        self.get(&queue_name(account, message_type)).ok_or_else(|| {
            let prefix = queue_name(account, "");
            let mut types: Vec<String> = self
                .by_name
                .keys()
                .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
                .collect();
            types.sort();
            types
        })
    }

    /// Every queue for a saved state, by message type.
    pub(crate) fn dump(&self, account: &str) -> std::collections::BTreeMap<String, QueueDump> {
        let prefix = queue_name(account, "");
        self.by_name
            .iter()
            .filter_map(|(name, q)| {
                name.strip_prefix(&prefix)
                    .map(|t| (t.to_string(), q.dump()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn no_shutdown() -> tokio::sync::watch::Receiver<bool> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        std::mem::forget(tx);
        rx
    }

    #[tokio::test]
    async fn receive_hides_then_redelivers_with_new_handle() {
        let (q, ids) = (Queue::new(), Ids::new());
        q.set_visibility(1);
        q.enqueue(&serde_json::json!({"call_id": "c1"}), &ids);
        let first = q
            .receive(Duration::ZERO, &ids, no_shutdown())
            .await
            .unwrap();
        assert_eq!(first.dequeue_count, 1);
        assert_eq!(first.body_md5.len(), 32);
        assert!(first.body_md5.chars().all(|c| !c.is_ascii_lowercase()));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&first.body)
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&decoded).unwrap()["call_id"],
            "c1"
        );
        assert!(
            q.receive(Duration::ZERO, &ids, no_shutdown())
                .await
                .is_none(),
            "invisible after receive"
        );
        // A long poll wakes when the visibility timeout ends.
        let second = q
            .receive(Duration::from_secs(3), &ids, no_shutdown())
            .await
            .unwrap();
        assert_eq!(second.dequeue_count, 2);
        assert_eq!(second.message_id, first.message_id);
        assert_eq!(second.first_dequeue_ms, first.first_dequeue_ms);
        assert_ne!(second.receipt_handle, first.receipt_handle);
        assert!(
            !q.delete(&first.receipt_handle, real_now_ms()),
            "stale handle"
        );
        assert!(q.delete(&second.receipt_handle, real_now_ms()));
        assert!(
            !q.delete(&second.receipt_handle, real_now_ms()),
            "already deleted"
        );
        assert!(q
            .receive(Duration::ZERO, &ids, no_shutdown())
            .await
            .is_none());
    }

    #[tokio::test]
    async fn handle_expires_with_visibility() {
        let (q, ids) = (Queue::new(), Ids::new());
        q.enqueue(&serde_json::json!({}), &ids);
        let d = q
            .receive(Duration::ZERO, &ids, no_shutdown())
            .await
            .unwrap();
        assert!(
            !q.delete(&d.receipt_handle, d.next_visible_ms),
            "handle dies when the message is visible again"
        );
        assert!(q.delete(&d.receipt_handle, d.next_visible_ms - 1));
    }

    #[tokio::test]
    async fn long_poll_wakes_on_enqueue() {
        let q = Arc::new(Queue::new());
        let ids = Arc::new(Ids::new());
        let (q2, ids2) = (q.clone(), ids.clone());
        let started = Instant::now();
        let poll = tokio::spawn(async move {
            q2.receive(Duration::from_secs(10), &ids2, no_shutdown())
                .await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        q.enqueue(&serde_json::json!({"n": 1}), &ids);
        let got = poll.await.unwrap();
        assert!(got.is_some());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "woke on enqueue, not at the deadline"
        );
    }

    #[tokio::test]
    async fn empty_poll_waits_its_time() {
        let (q, ids) = (Queue::new(), Ids::new());
        let started = Instant::now();
        assert!(q
            .receive(Duration::from_secs(1), &ids, no_shutdown())
            .await
            .is_none());
        assert!(started.elapsed() >= Duration::from_millis(950));
    }

    #[tokio::test]
    async fn next_visible_peeks_or_consumes_and_dumps_round_trip() {
        let (q, ids) = (Queue::new(), Ids::new());
        assert!(q
            .next_visible(Duration::ZERO, true, no_shutdown())
            .await
            .is_none());
        q.enqueue(&serde_json::json!({"n": 1}), &ids);
        let peeked = q
            .next_visible(Duration::ZERO, false, no_shutdown())
            .await
            .unwrap();
        assert_eq!(peeked.body["n"], 1);
        assert_eq!(q.dump().messages.len(), 1, "a peek leaves it");
        q.set_visibility(7);
        let dump = q.dump();
        let copy = Queue::new();
        copy.load(&dump);
        assert_eq!(copy.dump().visibility_timeout_seconds, 7);
        let taken = copy
            .next_visible(Duration::ZERO, true, no_shutdown())
            .await
            .unwrap();
        assert_eq!(taken.message_id, peeked.message_id);
        assert!(copy.dump().messages.is_empty(), "consumed");
        // A receive delivers the loaded message with the same MD5 as before.
        let d = q
            .receive(Duration::ZERO, &ids, no_shutdown())
            .await
            .unwrap();
        let reloaded = Queue::new();
        reloaded.load(&q.dump());
        let again = reloaded
            .receive(Duration::ZERO, &ids, no_shutdown())
            .await
            .unwrap();
        assert_eq!((again.body_md5, again.dequeue_count), (d.body_md5, 2));
    }

    #[test]
    fn xml_escapes_and_raw_query() {
        assert_eq!(escape_xml("a<b&c"), "a&lt;b&amp;c");
        let uri: Uri = "/queues/q/messages?ReceiptHandle=1-AB+C=&x=1"
            .parse()
            .unwrap();
        assert_eq!(raw_query_param(&uri, "ReceiptHandle"), Some("1-AB+C="));
    }
}
