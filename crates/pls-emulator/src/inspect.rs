//! The control API's reads for test tools: `GET /__emulator/health`, and
//! `POST /__emulator/queues/next`, the next receipt of a message type from
//! its MNS queue, peeked or consumed, waiting for it when asked to.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::format_beijing;
use crate::queue_names::queue_name;
use crate::App;

/// The longest a `next` request may wait.
const MAX_WAIT_MS: u64 = 120_000;

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// GET health: that it serves, and how it was started.
pub async fn health(State(app): State<Arc<App>>) -> Response {
    reply(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "url": app.base_url,
            "uptimeSeconds": app.started.elapsed().as_secs(),
            "account": app.account,
            "clock": format_beijing(app.clock.now_ms()),
            "stateless": app.stateless,
            "tls": app.base_url.starts_with("https://"),
            "stateFile": app.state_file.as_ref().map(|p| p.display().to_string()),
            "requestLog": !app.stateless,
            "flowLimits": app.flow_limits.as_ref().map(|l| l.table()),
        }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NextRequest {
    /// The message type: SecretReport, SecretRecording, ...
    #[serde(rename = "type")]
    message_type: String,
    /// How long to wait for one (default 0: answer at once).
    #[serde(default)]
    wait_ms: u64,
    /// Take it off the queue (default) or leave it there.
    #[serde(default = "yes")]
    consume: bool,
}

fn yes() -> bool {
    true
}

/// POST queues/next `{"type", "waitMs"?, "consume"?}`: the oldest visible
/// message of that type's queue, its body decoded; 404 when none came
/// within `waitMs`. A consumed message is gone for every other reader.
pub async fn next(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let request: NextRequest = match serde_json::from_slice(text) {
        Ok(r) => r,
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                &json!({ "error": format!("invalid JSON body: {e}") }),
            )
        }
    };
    let queue = match app.queues.of_type(&app.account, &request.message_type) {
        Ok(q) => q.clone(),
        Err(known) => {
            return reply(
                StatusCode::BAD_REQUEST,
                &json!({ "error": format!("no queue for message type {:?}; the types are {}", request.message_type, known.join(", ")) }),
            )
        }
    };
    // A pushed type never reaches its queue: say so rather than time out.
    if let Some(url) = app.push.url_for(&request.message_type) {
        return reply(
            StatusCode::CONFLICT,
            &json!({ "error": format!("{} receipts are pushed to {url}, not queued; read them where they are pushed, or queue the type again (POST /__emulator/push with \"url\": null)", request.message_type) }),
        );
    }
    let wait = Duration::from_millis(request.wait_ms.min(MAX_WAIT_MS));
    match queue
        .next_visible(wait, request.consume, app.shutdown.clone())
        .await
    {
        Some(message) => reply(
            StatusCode::OK,
            &json!({
                "type": request.message_type,
                "queue": queue_name(&app.account, &request.message_type),
                "consumed": request.consume,
                "message": message,
            }),
        ),
        None => reply(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no {} receipt arrived within {} ms", request.message_type, wait.as_millis()) }),
        ),
    }
}
