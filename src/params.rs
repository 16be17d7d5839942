//! JS params and options in, core types out: the `String(v)` of every leaf,
//! the original's required-key check, and the per-call options.

use std::time::Duration;

use napi::sys::{self, napi_env, napi_value};
use napi::Result;

use pls_core::{Action, CallOptions, ParamValue};

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

/// A top-level value: arrays are spelled out, anything else is `String(v)`.
fn top_level_value(env: napi_env, value: napi_value) -> Result<ParamValue> {
    // One typeof decides the common case (a string) without further calls.
    match js::type_of(env, value)? {
        sys::ValueType::napi_string => Ok(ParamValue::Text(js::string_value(env, value)?)),
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(ParamValue::Absent),
        sys::ValueType::napi_object if js::is_array(env, value)? => list(env, value),
        _ => Ok(ParamValue::Text(js::to_string(env, value)?)),
    }
}

fn list(env: napi_env, array: napi_value) -> Result<ParamValue> {
    let length = js::array_length(env, array)?;
    let mut items = Vec::with_capacity(length as usize);
    for index in 0..length {
        items.push(list_item(env, js::element(env, array, index)?)?);
    }
    Ok(ParamValue::List(items))
}

/// An array element: objects become `K.n.Field` pairs (one level, as in pop-core).
fn list_item(env: napi_env, value: napi_value) -> Result<ParamValue> {
    if js::is_nullish(env, value)? {
        Ok(ParamValue::Absent)
    } else if js::is_array(env, value)? {
        list(env, value)
    } else if js::type_of(env, value)? == sys::ValueType::napi_object {
        let fields = js::own_entries(env, value)?
            .into_iter()
            .map(|(key, field)| Ok((key, top_level_value(env, field)?)))
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
    let (connect, read) = read_timeouts(env, object)?;
    out.connect_timeout = connect;
    out.read_timeout = read;
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

/// `timeout` sets both; `connectTimeout`/`readTimeout` set one each and win
/// over `timeout`. Numbers or numeric strings, in milliseconds, as httpx reads them.
pub fn read_timeouts(
    env: napi_env,
    object: napi_value,
) -> Result<(Option<Duration>, Option<Duration>)> {
    let both = millis(env, present(env, object, "timeout")?)?;
    let connect = millis(env, present(env, object, "connectTimeout")?)?;
    let read = millis(env, present(env, object, "readTimeout")?)?;
    Ok((connect.or(both), read.or(both)))
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
