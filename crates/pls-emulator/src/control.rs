//! The control API under `/__emulator/`, for tests and demos: reset, state,
//! the business clock, simulated calls and SMS, faults, queue visibility.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::{format_beijing, parse_beijing};
use crate::faults::FaultRule;
use crate::receipts::{CallRequest, SmsRequest};
use crate::App;

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn bad_request(message: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, &json!({ "error": message.into() }))
}

/// Parses a JSON body; an empty body reads as `{}`.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| format!("invalid JSON body: {e}"))
}

/// POST reset: back to the configured initial state.
pub async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    reply(StatusCode::OK, &json!({ "ok": true }))
}

/// GET state: account, clocks, pools, bindings, queues, faults.
pub async fn state(State(app): State<Arc<App>>) -> Response {
    let now = app.clock.now_ms();
    let (pools, bindings, calls) = match app.model.lock() {
        Ok(m) => (
            serde_json::to_value(m.pools().collect::<Vec<_>>()).unwrap_or_default(),
            m.bindings()
                .map(|b| {
                    let mut v = serde_json::to_value(b).unwrap_or_default();
                    v["active"] = Value::Bool(b.is_active(now));
                    v
                })
                .collect::<Vec<_>>(),
            m.call_count(),
        ),
        Err(_) => (Value::Null, Vec::new(), 0),
    };
    reply(
        StatusCode::OK,
        &json!({
            "account": app.account,
            "clock": format_beijing(now),
            "stateless": app.stateless,
            "pools": pools,
            "bindings": bindings,
            "calls": calls,
            "queues": app.queues.summaries(),
            "push": app.push.snapshot()["push"],
            "faults": app.faults.snapshot(),
        }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockRequest {
    now: Option<String>,
    advance_seconds: Option<i64>,
}

/// POST clock: `{"now": "YYYY-MM-DD HH:mm:ss"}` or `{"advanceSeconds": n}`.
pub async fn clock(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: ClockRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    match (request.now, request.advance_seconds) {
        (Some(now), _) => match parse_beijing(&now) {
            Some(ms) => app.clock.set(Some(ms)),
            None => {
                return bad_request(format!(
                    "now must be YYYY-MM-DD HH:mm:ss (Beijing time), got {now:?}"
                ))
            }
        },
        (None, Some(seconds)) => app.clock.advance(seconds),
        (None, None) => return bad_request("give now or advanceSeconds"),
    }
    reply(
        StatusCode::OK,
        &json!({ "clock": format_beijing(app.clock.now_ms()) }),
    )
}

/// POST calls: places a simulated call through the bindings and delivers
/// its receipts (see `receipts.rs`).
pub async fn calls(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: CallRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    match crate::receipts::place_call(&app, request) {
        Ok(placed) => reply(StatusCode::OK, &placed),
        Err(e) => bad_request(e),
    }
}

/// POST sms: routes an SMS to X and delivers its SecretSmsIntercept.
pub async fn sms(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: SmsRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    reply(StatusCode::OK, &crate::receipts::send_sms(&app, request))
}

/// POST faults: arms a fault rule for the next matching RPC requests.
pub async fn faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let rule: FaultRule = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    app.faults.add(rule);
    reply(StatusCode::OK, &json!({ "faults": app.faults.snapshot() }))
}

#[derive(Deserialize)]
struct VisibilityRequest {
    queue: String,
    seconds: u64,
}

/// POST queues/visibility: sets a queue's visibility timeout.
pub async fn visibility(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: VisibilityRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    match app.queues.get(&request.queue) {
        Some(q) => {
            q.set_visibility(request.seconds);
            reply(
                StatusCode::OK,
                &json!({ "queue": request.queue, "seconds": request.seconds }),
            )
        }
        None => bad_request(format!("no queue {:?}", request.queue)),
    }
}

/// GET recordings/{file}: a stand-in audio file for DownloadUrl.
pub async fn recording(Path(file): Path<String>) -> Response {
    let mut r = Response::new(Body::from(format!("emulated recording {file}")));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_reads_as_empty_object() {
        let parsed: Result<ClockRequest, _> = parse(&Bytes::from_static(b""));
        assert!(parsed.is_ok());
        let bad: Result<ClockRequest, _> = parse(&Bytes::from_static(b"{"));
        assert!(bad.is_err());
    }
}
