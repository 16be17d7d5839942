//! Fault injection for the client's reliability tests: the next N matching
//! RPC requests misbehave in a chosen way, or the next N pushed batches of
//! receipts are delivered in a chosen wrong way.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

/// How a request misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// Wait `delayMs`, then answer normally.
    Slow,
    /// HTTP 500 with a gateway error body.
    Http500,
    /// HTTP 503 with a gateway error body.
    Http503,
    /// A body that is not JSON (an HTML proxy page).
    NonJson,
    /// Close the connection without answering.
    Reset,
    /// The gateway's Throttling.User (HTTP 400).
    Throttle,
    /// The business flow limit isv.FLOW_LIMIT (HTTP 200).
    FlowLimit,
    /// A success reply whose `content-length` promises more than is sent
    /// before the connection closes.
    Truncated,
    /// A valid success reply padded to 10 MB.
    HugeBody,
    /// A valid JSON success reply labelled `text/html`.
    WrongContentType,
    /// A success reply sent gzip-compressed (`content-encoding: gzip`).
    Gzip,
    /// Half a success reply, then nothing: the connection stays open, silent.
    StallMidBody,
    /// Half a success reply, then the connection breaks.
    ResetMidBody,
    /// Not an RPC fault: the next HTTP push of a batch of receipts (of the
    /// rule's `action`, read as a receipt type, or of any type) is sent
    /// twice, as the real service may when a response is lost.
    PushTwice,
}

impl FaultKind {
    /// Whether the kind applies to HTTP pushes of receipts, not RPC requests.
    pub fn is_push(self) -> bool {
        matches!(self, FaultKind::PushTwice)
    }
}

/// The padding of a `hugeBody` reply.
pub const HUGE_BODY_BYTES: usize = 10 << 20;

/// The reply of the faults that answer with a broken or unusual success
/// reply; `None` for the other kinds, which the gateway answers itself.
pub fn broken_reply(kind: FaultKind, request_id: &str) -> Option<Response> {
    let body = format!(r#"{{"RequestId":"{request_id}","Code":"OK","Message":"OK"}}"#);
    let half = Bytes::from(body.as_bytes()[..body.len() / 2].to_vec());
    let full_length = body.len();
    let response = match kind {
        FaultKind::Truncated => {
            // The stream ends early; the server must then close the connection.
            with_length(streamed(Body::from(half)), full_length)
        }
        FaultKind::HugeBody => {
            let padding = "x".repeat(HUGE_BODY_BYTES);
            json(Body::from(format!(
                r#"{{"RequestId":"{request_id}","Code":"OK","Message":"OK","Padding":"{padding}"}}"#
            )))
        }
        FaultKind::WrongContentType => {
            let mut response = json(Body::from(body));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            response
        }
        FaultKind::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let compressed = encoder
                .write_all(body.as_bytes())
                .and_then(|()| encoder.finish())
                .ok()?;
            let mut response = json(Body::from(compressed));
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        FaultKind::StallMidBody => {
            let chunks = stream::iter([Ok::<_, std::io::Error>(half)]).chain(stream::pending());
            with_length(json(Body::from_stream(chunks)), full_length)
        }
        FaultKind::ResetMidBody => {
            let broken = std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected reset mid-body",
            );
            let chunks = stream::iter([Ok(half), Err(broken)]);
            with_length(json(Body::from_stream(chunks)), full_length)
        }
        _ => return None,
    };
    Some(response)
}

fn json(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// A body that hyper cannot size, so the `content-length` set here is what it sends.
fn streamed(body: Body) -> Response {
    json(Body::from_stream(body.into_data_stream()))
}

fn with_length(mut response: Response, length: usize) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// A fault as the control API receives it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Only requests of this Action (for a push fault: only batches of this
    /// receipt type); any when absent.
    #[serde(default)]
    pub action: Option<String>,
    /// How many requests it applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// What happens.
    pub kind: FaultKind,
    /// The delay of a `slow` fault (default 5000 ms).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

/// The pending faults. `pending` lets the hot path skip the lock when none
/// are armed, which is the benchmark's case.
#[derive(Debug, Default)]
pub struct Faults {
    pending: AtomicUsize,
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    /// Arms a rule.
    pub fn add(&self, rule: FaultRule) {
        if rule.count == 0 {
            return;
        }
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(rule);
            self.pending.store(rules.len(), Ordering::Release);
        }
    }

    /// Disarms everything.
    pub fn clear(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
            self.pending.store(0, Ordering::Release);
        }
    }

    /// Takes one use of the first RPC rule matching `action`.
    pub fn take(&self, action: &str) -> Option<(FaultKind, u64)> {
        self.take_matching(action, false)
    }

    /// Takes one use of the first push rule matching the receipt type.
    pub fn take_push(&self, message_type: &str) -> Option<FaultKind> {
        self.take_matching(message_type, true).map(|(kind, _)| kind)
    }

    fn take_matching(&self, action: &str, push: bool) -> Option<(FaultKind, u64)> {
        if self.pending.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.rules.lock().ok()?;
        let index = rules.iter().position(|r| {
            r.kind.is_push() == push && r.action.as_deref().is_none_or(|a| a == action)
        })?;
        let rule = &mut rules[index];
        let taken = (rule.kind, rule.delay_ms.unwrap_or(5000));
        rule.count -= 1;
        if rule.count == 0 {
            rules.remove(index);
        }
        self.pending.store(rules.len(), Ordering::Release);
        Some(taken)
    }

    /// The armed rules, for the state dump.
    pub fn snapshot(&self) -> Vec<FaultRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_matches_action() {
        let faults = Faults::default();
        faults.add(FaultRule {
            action: Some("BindAxb".into()),
            count: 2,
            kind: FaultKind::Http503,
            delay_ms: None,
        });
        assert_eq!(faults.take("UnbindSubscription"), None);
        assert_eq!(
            faults.take("BindAxb").map(|f| f.0),
            Some(FaultKind::Http503)
        );
        assert_eq!(
            faults.take("BindAxb").map(|f| f.0),
            Some(FaultKind::Http503)
        );
        assert_eq!(faults.take("BindAxb"), None);
        faults.add(FaultRule {
            action: None,
            count: 1,
            kind: FaultKind::Slow,
            delay_ms: Some(10),
        });
        assert_eq!(faults.take("Anything"), Some((FaultKind::Slow, 10)));
    }

    #[test]
    fn push_rules_and_rpc_rules_do_not_take_each_other() {
        let faults = Faults::default();
        faults.add(FaultRule {
            action: Some("SecretReport".into()),
            count: 1,
            kind: FaultKind::PushTwice,
            delay_ms: None,
        });
        assert_eq!(faults.take("SecretReport"), None, "not an RPC fault");
        assert_eq!(faults.take_push("SecretRecording"), None);
        assert_eq!(faults.take_push("SecretReport"), Some(FaultKind::PushTwice));
        assert_eq!(faults.take_push("SecretReport"), None, "used up");
        faults.add(FaultRule {
            action: None,
            count: 1,
            kind: FaultKind::Http500,
            delay_ms: None,
        });
        assert_eq!(
            faults.take_push("SecretReport"),
            None,
            "an RPC fault is not a push fault"
        );
        assert_eq!(
            faults.take("BindAxb").map(|f| f.0),
            Some(FaultKind::Http500)
        );
    }
}
