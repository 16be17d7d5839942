//! The ECS instance metadata service, the part the credentials chain uses:
//!
//! - `PUT /latest/api/token` with `x-aliyun-ecs-metadata-token-ttl-seconds`
//!   (1 to 21600) hands out an IMDSv2 session token;
//! - `GET /latest/meta-data/ram/security-credentials/` lists the instance's
//!   RAM role;
//! - `GET /latest/meta-data/ram/security-credentials/<role>` answers the
//!   role's temporary key (valid 6 hours of the business clock), which the
//!   gateway accepts with its SecurityToken.
//!
//! A GET may carry `x-aliyun-ecs-metadata-token`; an unknown or expired one
//! is refused with 401. Without one the request is served as IMDSv1 (the
//! real service allows that unless the instance enforces IMDSv2).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::clock::format_utc_timestamp;
use crate::App;

/// The RAM role attached to the emulated instance.
pub const ROLE_NAME: &str = "pls-emulator-ecs-role";
const CREDENTIAL_SECONDS: i64 = 6 * 3600;

fn text(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// PUT `/latest/api/token`.
pub async fn token(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let ttl = headers
        .get("x-aliyun-ecs-metadata-token-ttl-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let Some(ttl) = ttl.filter(|t| (1..=21_600).contains(t)) else {
        return text(
            StatusCode::BAD_REQUEST,
            "x-aliyun-ecs-metadata-token-ttl-seconds must be 1 to 21600".into(),
        );
    };
    let token = app.ids.alnum(56);
    let expire = app.clock.now_ms() + ttl * 1000;
    match app.sts.lock() {
        Ok(mut store) => {
            let now = app.clock.now_ms();
            store.metadata_sessions.retain(|_, e| *e > now);
            store.metadata_sessions.insert(token.clone(), expire);
            store.metadata_tokens += 1;
        }
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, String::new()),
    }
    text(StatusCode::OK, token)
}

/// Refuses a GET whose session token is unknown or expired.
fn session_ok(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = headers.get("x-aliyun-ecs-metadata-token") else {
        return true;
    };
    let token = token.to_str().unwrap_or("");
    let now = app.clock.now_ms();
    app.sts
        .lock()
        .map(|store| store.metadata_sessions.get(token).is_some_and(|e| *e > now))
        .unwrap_or(false)
}

/// GET `/latest/meta-data/ram/security-credentials/`.
pub async fn roles(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !session_ok(&app, &headers) {
        return text(StatusCode::UNAUTHORIZED, String::new());
    }
    text(StatusCode::OK, ROLE_NAME.into())
}

/// GET `/latest/meta-data/ram/security-credentials/{role}`.
pub async fn credentials(
    State(app): State<Arc<App>>,
    Path(role): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !session_ok(&app, &headers) {
        return text(StatusCode::UNAUTHORIZED, String::new());
    }
    if role != ROLE_NAME {
        return text(StatusCode::NOT_FOUND, String::new());
    }
    let (access_key_id, key) = match crate::sts::issue(&app, CREDENTIAL_SECONDS) {
        Ok(issued) => issued,
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, String::new()),
    };
    if let Ok(mut store) = app.sts.lock() {
        store.metadata_credentials += 1;
    }
    let body = json!({
        "AccessKeyId": access_key_id,
        "AccessKeySecret": key.secret,
        "Expiration": format_utc_timestamp(key.expire_ms),
        "SecurityToken": key.security_token,
        "LastUpdated": format_utc_timestamp(app.clock.now_ms()),
        "Code": "Success",
    });
    let mut response = text(StatusCode::OK, body.to_string());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
