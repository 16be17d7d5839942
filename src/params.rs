//! JS params and options in, core types out: the `String(v)` of every leaf,
//! the original's required-key check, and the per-call options.

use std::time::Duration;

use napi::sys::{self, napi_env, napi_value};
use napi::Result;

use pls_core::{Action, CallOptions, ParamValue, ProxyOptions};

use crate::js;

/// The first required key that is missing, undefined or null (the caller
/// throws the original's `TypeError('parameter "KEY" is required')`).
pub fn missing_required(
    env: napi_env,
    params: Option<napi_value>,
    action: &Action,
) -> Result<Option<&'static str>> {
    for key in action.required {
        let present = match params {
            Some(object) if is_object_like(env, object)? => {
                match js::own_property(env, object, key)? {
                    Some(value) => !js::is_nullish(env, value)?,
                    None => false,
                }
            }
            _ => false,
        };
        if !present {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// The caller's params in `Object.keys` order. `undefined`/`null` params mean `{}`.
pub fn read_params(env: napi_env, params: Option<napi_value>) -> Result<Vec<(String, ParamValue)>> {
    let Some(object) = params else {
        return Ok(Vec::new());
    };
    if js::is_nullish(env, object)? {
        return Ok(Vec::new());
    }
    if !is_object_like(env, object)? {
        return Err(js::throw_type_error(env, "\"params\" must be an object"));
    }
    js::own_entries(env, object)?
        .into_iter()
        .map(|(key, value)| Ok((key, top_level_value(env, value)?)))
        .collect()
}

fn is_object_like(env: napi_env, value: napi_value) -> Result<bool> {
    let kind = js::type_of(env, value)?;
    Ok(kind == sys::ValueType::napi_object || kind == sys::ValueType::napi_function)
}

/// Arrays nest at most this deep: deeper (or a cycle) is refused rather
/// than recursing until the stack runs out.
const MAX_DEPTH: usize = 32;

/// No array may hold more elements than this (a request could not carry
/// them; a sparse `length` of 2^32-1 would otherwise loop for minutes).
const MAX_ELEMENTS: u32 = 100_000;

fn too_deep() -> napi::Error {
    napi::Error::new(
        napi::Status::InvalidArg,
        format!("params nest arrays more than {MAX_DEPTH} deep (or an array contains itself)"),
    )
}

/// A top-level value: arrays are spelled out, anything else is `String(v)`.
fn top_level_value(env: napi_env, value: napi_value) -> Result<ParamValue> {
    value_at(env, value, 0)
}

fn value_at(env: napi_env, value: napi_value, depth: usize) -> Result<ParamValue> {
    // One typeof decides the common case (a string) without further calls.
    match js::type_of(env, value)? {
        sys::ValueType::napi_string => Ok(ParamValue::Text(js::string_value(env, value)?)),
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(ParamValue::Absent),
        sys::ValueType::napi_object if js::is_array(env, value)? => list(env, value, depth + 1),
        _ => Ok(ParamValue::Text(js::to_string(env, value)?)),
    }
}

fn list(env: napi_env, array: napi_value, depth: usize) -> Result<ParamValue> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let length = js::array_length(env, array)?;
    if length > MAX_ELEMENTS {
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            format!("a params array holds {length} elements; at most {MAX_ELEMENTS} can be sent"),
        ));
    }
    let mut items = Vec::with_capacity(length as usize);
    for index in 0..length {
        items.push(list_item(env, js::element(env, array, index)?, depth)?);
    }
    Ok(ParamValue::List(items))
}

/// An array element: objects become `K.n.Field` pairs (one level, as in pop-core).
fn list_item(env: napi_env, value: napi_value, depth: usize) -> Result<ParamValue> {
    if js::is_nullish(env, value)? {
        Ok(ParamValue::Absent)
    } else if js::is_array(env, value)? {
        list(env, value, depth + 1)
    } else if js::type_of(env, value)? == sys::ValueType::napi_object {
        let fields = js::own_entries(env, value)?
            .into_iter()
            .map(|(key, field)| Ok((key, value_at(env, field, depth)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(ParamValue::Fields(fields))
    } else {
        Ok(ParamValue::Text(js::to_string(env, value)?))
    }
}

/// The original's `options`: method, formatAction, formatParams, timeout,
/// readTimeout, connectTimeout, headers. Unknown keys are ignored, as there.
pub fn read_call_options(env: napi_env, options: Option<napi_value>) -> Result<CallOptions> {
    let mut out = CallOptions::default();
    let Some(object) = options else {
        return Ok(out);
    };
    if !is_object_like(env, object)? {
        return Ok(out);
    }
    if let Some(method) = present(env, object, "method")? {
        out.method = Some(js::to_string(env, method)?);
    }
    out.format_action = !is_false(env, present(env, object, "formatAction")?)?;
    out.format_params = !is_false(env, present(env, object, "formatParams")?)?;
    let timeouts = read_timeouts(env, object)?;
    out.connect_timeout = timeouts.connect;
    out.read_timeout = timeouts.read;
    out.timeout = timeouts.total;
    out.max_retries = read_max_retries(env, object)?;
    let proxy = read_proxy_options(env, object)?;
    if !proxy.is_empty() {
        out.proxy = Some(Box::new(proxy));
    }
    if let Some(headers) = present(env, object, "headers")? {
        if is_object_like(env, headers)? {
            let mut list = Vec::new();
            for (name, value) in js::own_entries(env, headers)? {
                if !js::is_nullish(env, value)? {
                    list.push((name, js::to_string(env, value)?));
                }
            }
            out.headers = Some(list);
        }
    }
    Ok(out)
}

/// The limits read from an options object.
pub struct Timeouts {
    /// `connectTimeout`, else `timeout`.
    pub connect: Option<Duration>,
    /// `readTimeout`, else `timeout`.
    pub read: Option<Duration>,
    /// `timeout`: also bounds the whole call, retries included.
    pub total: Option<Duration>,
}

/// `timeout` sets connect and read (as in the original) and bounds the whole
/// call; `connectTimeout`/`readTimeout` set one each and win over `timeout`.
/// Numbers or numeric strings, in milliseconds, as httpx reads them.
pub fn read_timeouts(env: napi_env, object: napi_value) -> Result<Timeouts> {
    let total = millis(env, present(env, object, "timeout")?)?;
    let connect = millis(env, present(env, object, "connectTimeout")?)?;
    let read = millis(env, present(env, object, "readTimeout")?)?;
    Ok(Timeouts {
        connect: connect.or(total),
        read: read.or(total),
        total,
    })
}

/// `maxRetries`: a whole number from 0 (no retry) to 100; anything else is refused.
pub fn read_max_retries(env: napi_env, object: napi_value) -> Result<Option<u32>> {
    let Some(value) = present(env, object, "maxRetries")? else {
        return Ok(None);
    };
    match js::number(env, value)? {
        Some(n) if n.fract() == 0.0 && (0.0..=100.0).contains(&n) => Ok(Some(n as u32)),
        _ => Err(napi::Error::new(
            napi::Status::InvalidArg,
            "option \"maxRetries\" must be a whole number from 0 to 100".to_owned(),
        )),
    }
}

/// `httpProxy`, `httpsProxy`, `noProxy` (strings; an empty one is not
/// given), checked: a proxy URL that cannot work is refused here.
pub fn read_proxy_options(env: napi_env, object: napi_value) -> Result<ProxyOptions> {
    let text = |key: &str| -> Result<Option<String>> {
        let Some(value) = present(env, object, key)? else {
            return Ok(None);
        };
        if js::type_of(env, value)? != sys::ValueType::napi_string {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                format!("option \"{key}\" must be a string"),
            ));
        }
        js::read_string(env, value).map(Some)
    };
    let options = ProxyOptions {
        http: text("httpProxy")?,
        https: text("httpsProxy")?,
        no_proxy: text("noProxy")?,
    };
    options
        .validate()
        .map_err(|err| napi::Error::new(napi::Status::InvalidArg, err.to_string()))?;
    Ok(options)
}

/// `object[key]` unless it is undefined or null.
fn present(env: napi_env, object: napi_value, key: &str) -> Result<Option<napi_value>> {
    let value = js::get(env, object, key)?;
    Ok(if js::is_nullish(env, value)? {
        None
    } else {
        Some(value)
    })
}

fn is_false(env: napi_env, value: Option<napi_value>) -> Result<bool> {
    match value {
        Some(value) if js::type_of(env, value)? == sys::ValueType::napi_boolean => {
            Ok(!js::is_truthy(env, value)?)
        }
        _ => Ok(false),
    }
}

fn millis(env: napi_env, value: Option<napi_value>) -> Result<Option<Duration>> {
    let Some(value) = value else { return Ok(None) };
    let number = match js::type_of(env, value)? {
        sys::ValueType::napi_number => js::number(env, value)?.unwrap_or(f64::NAN),
        sys::ValueType::napi_string => js::to_string(env, value)?
            .trim()
            .parse()
            .unwrap_or(f64::NAN),
        _ => f64::NAN,
    };
    Ok((number.is_finite() && number >= 0.0)
        .then(|| Duration::from_millis(number.ceil().max(1.0) as u64)))
}
