//! The request log: every request to the services (the RPC gateway and the
//! MNS queues) with its action, signature kind, params (signatures, tokens
//! and secrets masked), Code, HTTP status and latency, newest last, capped.
//! `GET /__emulator/requests` lists it so a test can see what its code
//! sent. It is a middleware on the service routes only, and is not
//! installed at all in `stateless` (benchmark) mode, where it would cost
//! the hot path a body copy and a lock per request.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{to_bytes, Body, Bytes, HttpBody};
use axum::extract::{Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::clock::{format_utc_timestamp, real_now_ms};
use crate::App;

/// How many requests are kept; older ones fall off.
pub const CAPACITY: usize = 1000;

/// Bodies above this are not read for the log (axum's own default limit).
const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;

/// Replies above this are not read for their Code.
const MAX_PEEKED_REPLY: u64 = 64 * 1024;

/// What replaces a masked value.
pub const MASK: &str = "***";

/// Params whose values are never shown.
const SECRET_PARAMS: [&str; 6] = [
    "Signature",
    "SecurityToken",
    "AccessKeySecret",
    "OIDCToken",
    "Password",
    "SecretAccessKey",
];

/// One request as the emulator saw it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Increases by one per request since the emulator started.
    pub id: u64,
    /// Real time it arrived, UTC `YYYY-MM-DDTHH:mm:ss.sssZ`.
    pub time: String,
    pub method: String,
    pub path: String,
    /// The RPC Action, or ReceiveMessage / DeleteMessage for MNS.
    pub action: String,
    /// HMAC-SHA1, ACS3-HMAC-SHA256, ACS3-HMAC-SM3, MNS or none.
    pub signature: String,
    pub access_key_id: String,
    /// Query and form params in the order sent, secrets masked.
    pub params: Map<String, Value>,
    /// The signature and x-acs-*/x-mns-* headers, secrets masked.
    pub headers: Map<String, Value>,
    /// The reply's Code, when it has one.
    pub code: Option<String>,
    /// The HTTP status; None when the connection was dropped unanswered.
    pub status: Option<u16>,
    /// Time to the reply's head, milliseconds.
    pub latency_ms: f64,
}

/// The log, oldest first.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
}

impl RequestLog {
    fn push(&self, mut entry: Entry) {
        entry.id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() == CAPACITY {
                entries.pop_front();
            }
            entries.push_back(entry);
        }
    }

    /// Entries newest first, of `action` only when given, at most `limit`.
    pub fn newest_first(&self, action: Option<&str>, limit: usize) -> Vec<Entry> {
        let Ok(entries) = self.entries.lock() else {
            return Vec::new();
        };
        entries
            .iter()
            .rev()
            .filter(|e| action.is_none_or(|a| e.action.eq_ignore_ascii_case(a)))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Forgets everything (control reset).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// `UTC YYYY-MM-DDTHH:mm:ss.sssZ` of epoch ms.
fn iso_millis(ms: i64) -> String {
    let seconds = format_utc_timestamp(ms);
    format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        ms.rem_euclid(1000)
    )
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `Signature=...` (ACS3) or the part after `:` (MNS) replaced by the mask.
fn mask_authorization(value: &str) -> String {
    if let Some(at) = value.find("Signature=") {
        let end = value[at..].find(',').map_or(value.len(), |i| at + i);
        return format!("{}Signature={MASK}{}", &value[..at], &value[end..]);
    }
    match value.rsplit_once(':') {
        Some((head, _)) if value.starts_with("MNS ") => format!("{head}:{MASK}"),
        _ => MASK.to_string(),
    }
}

/// What the log shows of a request, before it is answered.
fn describe(parts: &Parts, body: &Bytes) -> Entry {
    let mut params = Map::new();
    let mut add = |form: &[u8]| {
        for (k, v) in form_urlencoded::parse(form) {
            let shown = if SECRET_PARAMS.contains(&k.as_ref()) {
                MASK.to_string()
            } else {
                v.into_owned()
            };
            params.insert(k.into_owned(), Value::String(shown));
        }
    };
    let path = parts.uri.path().to_string();
    let mns = path.starts_with("/queues/");
    if !mns {
        if let Some(query) = parts.uri.query() {
            add(query.as_bytes());
        }
        // The gateway reads a POST body as a form, whatever its type says.
        if parts.method == "POST" {
            add(body);
        }
    } else if let Some(query) = parts.uri.query() {
        // MNS names its params in the query as sent (ReceiptHandle unencoded).
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        let value = value.to_str().unwrap_or("");
        let shown = match name {
            "authorization" => mask_authorization(value),
            "x-acs-security-token" | "security-token" => MASK.to_string(),
            n if n.starts_with("x-acs-") || n.starts_with("x-mns-") => value.to_string(),
            _ => continue,
        };
        headers.insert(name.to_string(), Value::String(shown));
    }
    let authorization = header_text(&parts.headers, "authorization").trim_start();
    let param = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or("");
    let (signature, access_key_id) = if mns {
        let id = authorization
            .strip_prefix("MNS ")
            .and_then(|rest| rest.split_once(':'))
            .map_or("", |(id, _)| id);
        ("MNS".to_string(), id.to_string())
    } else if authorization.starts_with("ACS3-") {
        let algorithm = authorization.split_whitespace().next().unwrap_or("");
        let id = authorization
            .split("Credential=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or("");
        (algorithm.to_string(), id.to_string())
    } else if !param("SignatureMethod").is_empty() {
        (
            param("SignatureMethod").to_string(),
            param("AccessKeyId").to_string(),
        )
    } else {
        ("none".to_string(), String::new())
    };
    let action = if mns {
        match parts.method.as_str() {
            "DELETE" => "DeleteMessage",
            _ => "ReceiveMessage",
        }
        .to_string()
    } else {
        match header_text(&parts.headers, "x-acs-action") {
            "" => param("Action").to_string(),
            from_header => from_header.to_string(),
        }
    };
    Entry {
        id: 0,
        time: iso_millis(real_now_ms()),
        method: parts.method.to_string(),
        path,
        action,
        signature,
        access_key_id,
        params,
        headers,
        code: None,
        status: None,
        latency_ms: 0.0,
    }
}

/// The `Code` of a JSON reply or the `<Code>` of an XML one.
fn code_of(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return value
            .get("Code")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].to_string())
}

/// The middleware: reads the request body once for the log, hands the
/// request on, and reads a small, complete reply for its Code. Streamed or
/// large replies (the body faults, a 10 MB reply) pass untouched.
pub async fn record(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let mut entry = describe(&parts, &Bytes::new());
            entry.status = Some(StatusCode::PAYLOAD_TOO_LARGE.as_u16());
            entry.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            app.requests.push(entry);
            let mut r = Response::new(Body::from("request body too large"));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
    };
    let mut entry = describe(&parts, &body);
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    entry.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let dropped = response
        .extensions()
        .get::<crate::ResetConnection>()
        .is_some();
    let peekable = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_PEEKED_REPLY);
    let response = if dropped {
        response
    } else if peekable {
        let (reply_parts, reply_body) = response.into_parts();
        let bytes = to_bytes(reply_body, MAX_PEEKED_REPLY as usize)
            .await
            .unwrap_or_default();
        entry.status = Some(reply_parts.status.as_u16());
        entry.code = code_of(&bytes);
        Response::from_parts(reply_parts, Body::from(bytes))
    } else {
        entry.status = Some(response.status().as_u16());
        response
    };
    app.requests.push(entry);
    response
}

/// Query of `GET /__emulator/requests`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    action: Option<String>,
    limit: Option<usize>,
}

/// GET requests: `{ "entries": [...] }`, newest first; `?action=` and
/// `?limit=` narrow it.
pub async fn list(State(app): State<Arc<App>>, Query(query): Query<ListQuery>) -> Response {
    let action = query.action.as_deref().filter(|a| !a.is_empty());
    let entries = app
        .requests
        .newest_first(action, query.limit.unwrap_or(CAPACITY));
    let body = json!({ "entries": entries, "capacity": CAPACITY });
    let mut r = Response::new(Body::from(body.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request as HttpRequest;

    fn parts_of(request: HttpRequest<()>) -> Parts {
        request.into_parts().0
    }

    /// Action, signature kind and AccessKeyId of an entry.
    fn who(e: &Entry) -> (&str, &str, &str) {
        (&e.action, &e.signature, &e.access_key_id)
    }

    #[test]
    fn classic_request_is_described_with_secrets_masked() {
        let parts = parts_of(
            HttpRequest::get("/?Action=BindAxb&AccessKeyId=id1&SignatureMethod=HMAC-SHA1&Signature=abc%3D&SecurityToken=tok&PoolKey=P")
                .body(())
                .unwrap(),
        );
        let e = describe(&parts, &Bytes::new());
        assert_eq!(who(&e), ("BindAxb", "HMAC-SHA1", "id1"));
        assert_eq!(e.params["Signature"], MASK);
        assert_eq!(e.params["SecurityToken"], MASK);
        assert_eq!(e.params["PoolKey"], "P");
        assert!(e.time.ends_with('Z') && e.time.contains('.'), "{}", e.time);
    }

    #[test]
    fn acs3_and_mns_requests_are_described() {
        let parts = parts_of(
            HttpRequest::post("/")
                .header("authorization", "ACS3-HMAC-SM3 Credential=id2,SignedHeaders=host;x-acs-action,Signature=deadbeef")
                .header("x-acs-action", "UnbindSubscription")
                .header("x-acs-security-token", "secret-token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(())
                .unwrap(),
        );
        let e = describe(&parts, &Bytes::from_static(b"SubsId=1&SecretNo=170"));
        assert_eq!(who(&e), ("UnbindSubscription", "ACS3-HMAC-SM3", "id2"));
        assert_eq!(e.params["SubsId"], "1");
        assert_eq!(
            e.headers["authorization"],
            "ACS3-HMAC-SM3 Credential=id2,SignedHeaders=host;x-acs-action,Signature=***"
        );
        assert_eq!(e.headers["x-acs-security-token"], MASK);

        let parts = parts_of(
            HttpRequest::delete("/queues/q/messages?ReceiptHandle=1-AB+C=")
                .header("authorization", "MNS STS.key:c2lnbmF0dXJl")
                .body(())
                .unwrap(),
        );
        let e = describe(&parts, &Bytes::new());
        assert_eq!(who(&e), ("DeleteMessage", "MNS", "STS.key"));
        assert_eq!(e.params["ReceiptHandle"], "1-AB+C=");
        assert_eq!(e.headers["authorization"], "MNS STS.key:***");
    }

    #[test]
    fn codes_from_json_and_xml() {
        assert_eq!(
            code_of(br#"{"Code":"isv.BIND_CONFLICT"}"#).as_deref(),
            Some("isv.BIND_CONFLICT")
        );
        assert_eq!(
            code_of(b"<Error><Code>MessageNotExist</Code></Error>").as_deref(),
            Some("MessageNotExist")
        );
        assert_eq!(code_of(b""), None);
    }

    #[test]
    fn log_is_capped_newest_first_and_filtered() {
        let log = RequestLog::default();
        let parts = parts_of(HttpRequest::get("/?Action=A").body(()).unwrap());
        for i in 0..CAPACITY + 3 {
            let mut e = describe(&parts, &Bytes::new());
            if i % 2 == 0 {
                e.action = "B".into();
            }
            log.push(e);
        }
        let all = log.newest_first(None, usize::MAX);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].id, (CAPACITY + 3) as u64);
        assert!(log
            .newest_first(Some("a"), 5)
            .iter()
            .all(|e| e.action == "A"));
        assert_eq!(log.newest_first(Some("A"), 5).len(), 5);
        log.clear();
        assert!(log.newest_first(None, 10).is_empty());
    }
}
