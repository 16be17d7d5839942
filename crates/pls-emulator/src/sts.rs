//! STS (version 2015-04-01) and the temporary keys it issues.
//!
//! - `AssumeRole` comes signed like any RPC call (it passes the gateway's
//!   checks first) and needs `RoleArn`, `RoleSessionName`.
//! - `AssumeRoleWithOIDC` is anonymous, as on the real service: the OIDC
//!   token proves the caller. It needs `OIDCProviderArn`, `OIDCToken`,
//!   `RoleArn`, `RoleSessionName` and a valid `Timestamp`.
//! - Both answer `Credentials { AccessKeyId, AccessKeySecret,
//!   SecurityToken, Expiration }`, valid for `DurationSeconds` (900 to
//!   43200, default 3600) of the business clock.
//!
//! The gateway accepts an issued key, with its `SecurityToken`, until it
//! expires on the business clock. Rules the public docs leave open, chosen
//! here: any well-formed role ARN names a role that exists; an OIDC token is
//! any JWT-shaped text (three dot-separated parts).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::clock::format_utc_timestamp;
use crate::gateway::{check_timestamp, gateway_error, json_response, GatewayError};
use crate::params::Params;
use crate::App;

/// The STS API version.
pub const STS_VERSION: &str = "2015-04-01";

/// A temporary key: its secret, token and expiry (business clock).
#[derive(Debug, Clone)]
pub struct TemporaryKey {
    pub secret: String,
    pub security_token: String,
    pub expire_ms: i64,
}

/// Issued temporary keys, and how many of each request were served.
#[derive(Debug, Default)]
pub struct StsStore {
    keys: HashMap<String, TemporaryKey>,
    /// AssumeRole answers.
    pub assume_role: u64,
    /// AssumeRoleWithOIDC answers.
    pub assume_role_with_oidc: u64,
    /// Instance metadata session tokens handed out.
    pub metadata_tokens: u64,
    /// Instance metadata credential answers.
    pub metadata_credentials: u64,
    /// Metadata session tokens and their expiry (business clock).
    pub metadata_sessions: HashMap<String, i64>,
}

impl StsStore {
    /// Forgets every key and count (control reset).
    pub fn clear(&mut self) {
        *self = StsStore::default();
    }

    /// Records a key, dropping ones expired long ago.
    pub fn insert(&mut self, access_key_id: String, key: TemporaryKey, now_ms: i64) {
        self.keys
            .retain(|_, k| k.expire_ms > now_ms - 24 * 3600 * 1000);
        self.keys.insert(access_key_id, key);
    }
}

/// A fresh temporary key valid for `seconds` from business now; returns
/// its id and the key.
pub fn issue(app: &App, seconds: i64) -> Result<(String, TemporaryKey), GatewayError> {
    let now = app.clock.now_ms();
    let access_key_id = format!("STS.{}", app.ids.alnum(24));
    let key = TemporaryKey {
        secret: app.ids.alnum(40),
        security_token: format!("CAIS{}", app.ids.alnum(160)),
        expire_ms: now + seconds * 1000,
    };
    let mut store = app.sts.lock().map_err(|_| {
        gateway_error(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        )
    })?;
    store.insert(access_key_id.clone(), key.clone(), now);
    Ok((access_key_id, key))
}

/// The secret of an access key the gateway accepts: a configured key, or
/// an unexpired temporary one presented with its own security token.
pub fn secret_for(
    app: &App,
    access_key_id: &str,
    security_token: Option<&str>,
) -> Result<String, GatewayError> {
    if let Some(secret) = app.keys.get(access_key_id) {
        return Ok(secret.clone());
    }
    let key = app
        .sts
        .lock()
        .ok()
        .and_then(|store| store.keys.get(access_key_id).cloned());
    let Some(key) = key else {
        return Err(gateway_error(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    };
    match security_token.filter(|t| !t.is_empty()) {
        None => Err(gateway_error(
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        )),
        Some(token) if token != key.security_token => Err(gateway_error(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )),
        Some(_) if app.clock.now_ms() >= key.expire_ms => Err(gateway_error(
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        )),
        Some(_) => Ok(key.secret),
    }
}

fn missing(name: &str) -> GatewayError {
    gateway_error(
        400,
        format!("Missing{name}"),
        format!("{name} is mandatory for this action."),
    )
}

fn required<'p>(params: &'p Params, name: &str) -> Result<&'p str, GatewayError> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}

fn duration_seconds(params: &Params) -> Result<i64, GatewayError> {
    match params.get("DurationSeconds").filter(|v| !v.is_empty()) {
        None => Ok(3600),
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if (900..=43_200).contains(&seconds) => Ok(seconds),
            _ => Err(gateway_error(
                400,
                "InvalidParameter.DurationSeconds",
                "The parameter DurationSeconds must be between 900 and 43200.",
            )),
        },
    }
}

/// `acs:ram::<account digits>:<kind>/<name>`.
fn valid_arn(arn: &str, kind: &str) -> bool {
    let Some(rest) = arn.strip_prefix("acs:ram::") else {
        return false;
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return false;
    };
    let name = resource
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix('/'));
    !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && name.is_some_and(|n| !n.is_empty())
}

fn credentials_reply(
    app: &App,
    request_id: &str,
    role_arn: &str,
    session: &str,
    seconds: i64,
) -> Response {
    let (access_key_id, key) = match issue(app, seconds) {
        Ok(issued) => issued,
        Err(err) => return err.into_response(request_id),
    };
    let body = json!({
        "RequestId": request_id,
        "AssumedRoleUser": {
            "AssumedRoleId": format!("3{}:{session}", app.ids.hex(16)),
            "Arn": format!("{role_arn}/{session}"),
        },
        "Credentials": {
            "SecurityToken": key.security_token,
            "AccessKeyId": access_key_id,
            "AccessKeySecret": key.secret,
            "Expiration": format_utc_timestamp(key.expire_ms),
        },
    });
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
        request_id,
    )
}

fn role_params<'p>(params: &'p Params) -> Result<(&'p str, &'p str, i64), GatewayError> {
    let role_arn = required(params, "RoleArn")?;
    let session = required(params, "RoleSessionName")?;
    if !valid_arn(role_arn, "role") {
        return Err(gateway_error(
            400,
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrong.",
        ));
    }
    Ok((role_arn, session, duration_seconds(params)?))
}

/// An STS action after the gateway's signature and nonce checks.
pub fn handle_signed(app: &App, params: &Params, request_id: &str) -> Response {
    if params.get("Action") != Some("AssumeRole") {
        return gateway_error(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
        .into_response(request_id);
    }
    let (role_arn, session, seconds) = match role_params(params) {
        Ok(found) => found,
        Err(err) => return err.into_response(request_id),
    };
    if let Ok(mut store) = app.sts.lock() {
        store.assume_role += 1;
    }
    credentials_reply(app, request_id, role_arn, session, seconds)
}

/// Whether a request is the anonymous `AssumeRoleWithOIDC`.
pub fn is_oidc(params: &Params) -> bool {
    params.get("Action") == Some("AssumeRoleWithOIDC") && params.get("Version") == Some(STS_VERSION)
}

/// `AssumeRoleWithOIDC`: no signature, the OIDC token instead.
pub fn handle_oidc(app: &App, params: &Params, request_id: &str) -> Response {
    let checked = (|| {
        let timestamp = required(params, "Timestamp")?;
        check_timestamp(timestamp)?;
        let provider = required(params, "OIDCProviderArn")?;
        let token = required(params, "OIDCToken")?;
        let found = role_params(params)?;
        if !valid_arn(provider, "oidc-provider") {
            return Err(gateway_error(
                400,
                "InvalidParameter.OIDCProviderArn",
                "The parameter OIDCProviderArn is wrong.",
            ));
        }
        let parts: Vec<&str> = token.trim().split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(gateway_error(
                400,
                "InvalidParameter.OIDCToken",
                "The parameter OIDCToken is not a valid JWT.",
            ));
        }
        Ok(found)
    })();
    match checked {
        Ok((role_arn, session, seconds)) => {
            if let Ok(mut store) = app.sts.lock() {
                store.assume_role_with_oidc += 1;
            }
            credentials_reply(app, request_id, role_arn, session, seconds)
        }
        Err(err) => err.into_response(request_id),
    }
}

/// GET `/__emulator/credentials`: how many STS and metadata requests were served.
pub async fn counts(State(app): State<Arc<App>>) -> Response {
    let body = match app.sts.lock() {
        Ok(store) => json!({
            "assumeRole": store.assume_role,
            "assumeRoleWithOidc": store.assume_role_with_oidc,
            "metadataTokens": store.metadata_tokens,
            "metadataCredentials": store.metadata_credentials,
            "temporaryKeys": store.keys.len(),
        }),
        Err(_) => json!({ "error": "state unavailable" }),
    };
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_checked_by_shape() {
        assert!(valid_arn("acs:ram::123456:role/app", "role"));
        assert!(valid_arn(
            "acs:ram::123456:oidc-provider/ack",
            "oidc-provider"
        ));
        for bad in [
            "",
            "acs:ram::abc:role/app",
            "acs:ram::1:role/",
            "acs:ram::1:user/app",
            "arn:ram::1:role/x",
        ] {
            assert!(!valid_arn(bad, "role"), "{bad}");
        }
    }

    #[test]
    fn durations_outside_the_range_are_refused() {
        let with = |v: &str| Params::from_pairs(vec![("DurationSeconds".into(), v.into())]);
        assert_eq!(duration_seconds(&Params::default()).unwrap(), 3600);
        assert_eq!(duration_seconds(&with("900")).unwrap(), 900);
        assert!(duration_seconds(&with("899")).is_err() && duration_seconds(&with("x")).is_err());
    }
}
