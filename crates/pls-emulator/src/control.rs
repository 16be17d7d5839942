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

use crate::activity::{Activity, ActivityKind};
use crate::clock::{format_beijing, parse_beijing};
use crate::dypls::{CallRecord, Route};
use crate::faults::FaultRule;
use crate::queue_names::queue_name;
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallRequest {
    caller: String,
    secret_no: String,
    /// Overrides the routed callee in the report (e.g. for intercepted calls).
    called: Option<String>,
    /// The extension dialled after X, for AXN extension bindings.
    extension: Option<String>,
    call_type: Option<u8>,
    duration_seconds: Option<i64>,
    /// answered (default), noAnswer, busy or rejected.
    outcome: Option<String>,
}

fn route(app: &App, caller: &str, secret_no: &str, extension: Option<&str>) -> Route {
    let now = app.clock.now_ms();
    match app.model.lock() {
        Ok(m) => m.route(caller, secret_no, extension, now),
        Err(_) => Route {
            binding: None,
            peer: String::new(),
            call_type: 4,
        },
    }
}

fn log(app: &App, entry: Activity) {
    if let Ok(mut log) = app.activity.lock() {
        log.push(entry);
    }
}

fn enqueue(app: &App, message_type: &str, payload: &Value) {
    if let Some(q) = app.queues.get(&queue_name(&app.account, message_type)) {
        q.enqueue(payload, &app.ids);
    }
}

/// POST calls: routes a call through the bindings, records it, and
/// enqueues its SecretReport (and SecretRecording when recorded).
pub async fn calls(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: CallRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let extension = request
        .extension
        .as_deref()
        .or(request.called.as_deref().filter(|c| c.len() <= 4));
    let routed = route(&app, &request.caller, &request.secret_no, extension);
    let outcome = request.outcome.as_deref().unwrap_or("answered");
    let (release_cause, answered) = match outcome {
        "answered" => (16, true),
        "noAnswer" => (19, false),
        "busy" => (17, false),
        "rejected" => (21, false),
        other => {
            return bad_request(format!(
                "outcome must be answered, noAnswer, busy or rejected, got {other:?}"
            ))
        }
    };
    // A blacklist of the binding's pool refuses the call before it is put through.
    let refusal = match (&routed.binding, app.model.lock()) {
        (Some(b), Ok(m)) => m.blacklist_refusal(&b.pool_key, &request.caller, &routed.peer),
        _ => None,
    };
    let intercepted = routed.binding.is_none() || refusal.is_some();
    let answered = answered && !intercepted;
    let now = app.clock.now_ms();
    let call_id = format!(
        "{}",
        app.ids.next_u64() % 9_000_000_000_000_000 + 1_000_000_000_000_000
    );
    let duration_ms = request.duration_seconds.unwrap_or(30).max(0) * 1000;
    let at = |offset_ms: i64| format_beijing(now + offset_ms);
    let (pool_key, sub_id, out_id, record) = match &routed.binding {
        Some(b) => (
            b.pool_key.clone(),
            b.subs_id.parse::<u64>().unwrap_or(0),
            b.out_id.clone(),
            b.need_record && answered,
        ),
        None => (String::new(), 0, String::new(), false),
    };
    let record_url = if record {
        format!("{}/__emulator/recordings/{call_id}.mp3", app.base_url)
    } else {
        String::new()
    };
    let release_ms = if answered {
        3000 + duration_ms
    } else if intercepted {
        0
    } else {
        20_000
    };
    let mut report = json!({
        "pool_key": pool_key,
        "sub_id": sub_id,
        "call_id": call_id,
        "phone_no": request.caller,
        "secret_no": request.secret_no,
        "peer_no": request.called.clone().filter(|c| c.len() > 4).unwrap_or(routed.peer.clone()),
        "called_display_no": request.secret_no,
        "call_type": request.call_type.unwrap_or(if refusal.is_some() { 4 } else { routed.call_type }),
        "call_time": at(0),
        "start_time": if answered { at(3000) } else { at(0) },
        "call_out_time": if intercepted { String::new() } else { at(1000) },
        "ring_time": if intercepted { String::new() } else { at(2000) },
        "free_ring_time": if answered { at(3000) } else { String::new() },
        "release_time": at(release_ms),
        "sms_number": 0,
        "release_dir": if answered { 1 } else { 0 },
        "release_cause": if refusal.is_some() { 21 } else if intercepted { 31 } else { release_cause },
        // 1 refused by a blacklist, 2 no binding, 4 not answered.
        "unconnected_cause": if refusal.is_some() { 1 } else if intercepted { 2 } else if answered { 0 } else { 4 },
        "record_url": record_url,
        "ring_record_url": "",
        "out_id": out_id,
    });
    if let Some(r) = &refusal {
        report["control_type"] = json!("BLACKLIST");
        report["control_msg"] = json!(format!("{} {}", r.black_type, r.black_no));
    }
    enqueue(&app, "SecretReport", &report);
    let recording = record.then(|| json!({ "pool_key": pool_key, "sub_id": sub_id, "call_id": call_id, "call_time": now, "out_id": out_id }));
    if let Some(r) = &recording {
        enqueue(&app, "SecretRecording", r);
    }
    log(
        &app,
        Activity {
            kind: ActivityKind::Call,
            time: at(0),
            from: request.caller.clone(),
            secret_no: request.secret_no.clone(),
            extension: extension.unwrap_or("").to_string(),
            to: report["peer_no"].as_str().unwrap_or("").to_string(),
            subs_id: routed
                .binding
                .as_ref()
                .map(|b| b.subs_id.clone())
                .unwrap_or_default(),
            result: if intercepted { "intercepted" } else { outcome }.to_string(),
            call_id: call_id.clone(),
            duration_seconds: if answered { duration_ms / 1000 } else { 0 },
            content: String::new(),
        },
    );
    if let Ok(mut m) = app.model.lock() {
        m.record_call(CallRecord {
            call_id: call_id.clone(),
            pool_key: pool_key.clone(),
            sub_id,
            call_time_ms: now,
            recorded: record,
        });
    }
    reply(
        StatusCode::OK,
        &json!({ "callId": call_id, "report": report, "recording": recording }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsRequest {
    sender: String,
    secret_no: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    sign: String,
}

/// POST sms: routes an SMS to X and enqueues its SecretSmsIntercept.
pub async fn sms(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: SmsRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let routed = route(&app, &request.sender, &request.secret_no, None);
    let (pool_key, sub_id, out_id) = match &routed.binding {
        Some(b) => (
            b.pool_key.clone(),
            b.subs_id.parse::<u64>().unwrap_or(0),
            b.out_id.clone(),
        ),
        None => (String::new(), 0, String::new()),
    };
    let message = json!({
        "id": app.ids.next_u64() % 1_000_000_000_000,
        "pool_key": pool_key,
        "sub_id": sub_id,
        "sms_type": 1,
        "send_no": request.sender,
        "secret_no": request.secret_no,
        "receive_no": routed.peer,
        "sms_content": request.content,
        "sms_sign": request.sign,
        "status": if routed.binding.is_some() { 1 } else { 0 },
        "sms_intercept_type": if routed.binding.is_some() { 0 } else { 1 },
        "call_id": app.ids.hex(16),
        "code": if routed.binding.is_some() { "OK" } else { "NO_BINDING" },
        "start_time": format_beijing(app.clock.now_ms()),
        "out_id": out_id,
    });
    enqueue(&app, "SecretSmsIntercept", &message);
    log(
        &app,
        Activity {
            kind: ActivityKind::Sms,
            time: message["start_time"].as_str().unwrap_or("").to_string(),
            from: request.sender.clone(),
            secret_no: request.secret_no.clone(),
            extension: String::new(),
            to: routed.peer.clone(),
            subs_id: routed
                .binding
                .as_ref()
                .map(|b| b.subs_id.clone())
                .unwrap_or_default(),
            result: if routed.binding.is_some() {
                "delivered"
            } else {
                "intercepted"
            }
            .to_string(),
            call_id: message["call_id"].as_str().unwrap_or("").to_string(),
            duration_seconds: 0,
            content: request.content.clone(),
        },
    );
    reply(StatusCode::OK, &message)
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
