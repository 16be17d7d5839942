//! The console at `/__emulator/`: one HTML page, built into the binary, that
//! shows pools, bindings, the call and SMS log and the queues, and drives
//! the control API. Also the two read endpoints it polls besides `state`:
//! `log` (calls and SMS) and `queues` (every message with its delivery state).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::App;

/// The page: plain HTML, CSS and script, no build step and nothing fetched
/// from elsewhere, so it works offline and the emulator stays one binary.
const PAGE: &str = include_str!("console/index.html");

/// The console's routes, merged into the emulator's router.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/__emulator/", get(page))
        .route("/__emulator", get(to_page))
        .route("/__emulator/log", get(log))
        .route("/__emulator/queues", get(queues))
}

/// The page's own script is inline, so the policy allows inline code from
/// this page and nothing from any other origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn page() -> Response {
    let mut r = PAGE.into_response();
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    r
}

/// Without the slash, the page's relative links would resolve one level up.
async fn to_page() -> Redirect {
    Redirect::permanent("/__emulator/")
}

fn json_reply(body: &serde_json::Value) -> Response {
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// GET log: `{ "entries": [...] }`, the calls and SMS newest first.
async fn log(State(app): State<Arc<App>>) -> Response {
    let entries = match app.activity.lock() {
        Ok(log) => serde_json::to_value(log.newest_first().collect::<Vec<_>>()).unwrap_or_default(),
        Err(_) => json!([]),
    };
    json_reply(&json!({ "entries": entries }))
}

/// GET queues: `{ "queues": [...] }`, each with its messages, visibility
/// and DequeueCount.
async fn queues(State(app): State<Arc<App>>) -> Response {
    json_reply(&json!({ "queues": app.queues.contents() }))
}
