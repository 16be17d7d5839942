//! Core errors as JS `Error` objects with the original's fields.

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::sys::{napi_env, napi_value};
use napi::Result;

use pls_core::{HttpEntry, SdkError};

use crate::completion::Settlement;
use crate::js;

/// The JS error for a failed call: `message`, `name`, `code`, and for API
/// errors `data` (the parsed body) and `url`, as the original sets them.
pub fn to_js_error(env: napi_env, err: &SdkError) -> Result<napi_value> {
    let type_error = matches!(err, SdkError::TokenFailed);
    let error = js::make_error(env, &err.to_string(), type_error)?;
    if !type_error {
        js::set(env, error, "name", js::make_string(env, &err.name())?)?;
    }
    match err {
        SdkError::Api {
            data, url, entry, ..
        } => {
            // The original's `err.code` is the body's Code as parsed (400 stays a number).
            let code = match data.get("Code") {
                Some(code) => js::from_json(env, code)?,
                None => js::make_string(env, &err.code())?,
            };
            // The original's order of assignment: name, data, code, url, entry.
            js::set(env, error, "data", js::from_json(env, data)?)?;
            js::set(env, error, "code", code)?;
            js::set(env, error, "url", js::make_string(env, url)?)?;
            if let Some(entry) = entry {
                js::set(env, error, "entry", entry_to_js(env, url, entry)?)?;
            }
        }
        SdkError::Redirect {
            url,
            status,
            location,
            ..
        } => {
            js::set(env, error, "code", js::make_string(env, &err.code())?)?;
            js::set(env, error, "url", js::make_string(env, url)?)?;
            js::set(
                env,
                error,
                "statusCode",
                js::make_number(env, f64::from(*status))?,
            )?;
            if let Some(location) = location {
                js::set(env, error, "location", js::make_string(env, location)?)?;
            }
        }
        SdkError::Proxy { url, proxy, .. } => {
            js::set(env, error, "code", js::make_string(env, &err.code())?)?;
            js::set(env, error, "url", js::make_string(env, url)?)?;
            js::set(env, error, "proxy", js::make_string(env, proxy)?)?;
        }
        SdkError::Timeout { url, .. }
        | SdkError::Connect { url, .. }
        | SdkError::Tls { url, .. }
        | SdkError::Network { url, .. }
        | SdkError::InvalidResponse { url, .. }
        | SdkError::Mns { url, .. } => {
            js::set(env, error, "code", js::make_string(env, &err.code())?)?;
            js::set(env, error, "url", js::make_string(env, url)?)?;
        }
        // InvalidArgument, TokenFailed, Aborted, Credentials, and kinds added later: a code.
        _ => {
            js::set(env, error, "code", js::make_string(env, &err.code())?)?;
        }
    }
    Ok(error)
}

/// The original's `err.entry`: `{ url, request: { headers }, response: { statusCode, headers } }`.
fn entry_to_js(env: napi_env, url: &str, entry: &HttpEntry) -> Result<napi_value> {
    let headers = |pairs: &[(String, String)]| -> Result<napi_value> {
        let object = js::make_object(env)?;
        for (name, value) in pairs {
            js::set(env, object, name, js::make_string(env, value)?)?;
        }
        Ok(object)
    };
    let request = js::make_object(env)?;
    js::set(env, request, "headers", headers(&entry.request_headers)?)?;
    let response = js::make_object(env)?;
    js::set(
        env,
        response,
        "statusCode",
        js::make_number(env, f64::from(entry.status))?,
    )?;
    js::set(env, response, "headers", headers(&entry.response_headers)?)?;
    let object = js::make_object(env)?;
    js::set(env, object, "url", js::make_string(env, url)?)?;
    js::set(env, object, "request", request)?;
    js::set(env, object, "response", response)?;
    Ok(object)
}

/// A rejection reason napi-rs passes through untouched (for `decodeMessage`, which throws).
pub fn rejection(env: napi_env, err: &SdkError) -> napi::Error {
    // SAFETY: `value` is a live handle made in `env` just now, on this JS thread.
    match to_js_error(env, err).and_then(|value| unsafe { Unknown::from_napi_value(env, value) }) {
        Ok(unknown) => napi::Error::from(unknown),
        Err(conversion_failed) => conversion_failed,
    }
}

/// A failure while reading a call's arguments, as the reason of a rejected
/// promise (the original fails inside its async request, so it rejects):
/// the JS exception itself when one is pending (a throwing getter, a Symbol),
/// otherwise an Error with code `SDK.InvalidArgument`.
pub fn argument_rejection(env: napi_env, err: napi::Error) -> Result<napi_value> {
    match js::take_exception(env) {
        Some(exception) => Ok(exception),
        None => to_js_error(
            env,
            &SdkError::InvalidArgument {
                message: err.reason.clone(),
            },
        ),
    }
}

/// The rejection of a cancelled call: name `AbortError` (as fetch gives),
/// code `SDK.Aborted`, and the signal's reason as `cause`.
pub fn abort_error(env: napi_env, action: &str, reason: Option<napi_value>) -> Result<napi_value> {
    let error = to_js_error(
        env,
        &SdkError::Aborted {
            action: action.to_owned(),
        },
    )?;
    if let Some(reason) = reason {
        if !js::is_nullish(env, reason)? {
            js::set_hidden(env, error, "cause", reason)?;
        }
    }
    Ok(error)
}

/// A call's error with `attempts` (how many requests it made) and, when
/// a state-changing request may have been acted on without an answer
/// saying so, `outcomeUnknown: true`. Not enumerable, so the error's own
/// keys stay those the original sets.
pub fn call_error(
    env: napi_env,
    err: &SdkError,
    attempts: u32,
    outcome_unknown: bool,
) -> Result<napi_value> {
    let error = to_js_error(env, err)?;
    js::set_hidden(
        env,
        error,
        "attempts",
        js::make_number(env, f64::from(attempts))?,
    )?;
    if outcome_unknown {
        js::set_hidden(env, error, "outcomeUnknown", js::boolean(env, true)?)?;
    }
    Ok(error)
}

/// A call's outcome as its promise's settlement.
pub fn settle<T>(
    env: napi_env,
    outcome: std::result::Result<T, SdkError>,
    to_js: impl FnOnce(napi_env, T) -> Result<napi_value>,
) -> Result<Settlement> {
    match outcome {
        Ok(value) => Ok(Settlement::Resolve(to_js(env, value)?)),
        Err(err) => Ok(Settlement::Reject(to_js_error(env, &err)?)),
    }
}
