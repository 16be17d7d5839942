//! Reading and making JS values with raw N-API calls: the few shapes this
//! binding needs, each one call deep, so the hot path stays short.
//!
//! Every function takes the `napi_env` of the current JS-thread callback;
//! none may be called from another thread.

use std::ptr;

use napi::sys::{self, napi_env, napi_value};
use napi::{Error, Result, Status};
use serde_json::Value;

use pls_core::{classify_number, JsNumber};

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            format!("N-API call failed: {what}"),
        ))
    }
}

/// The JS type of a value.
pub fn type_of(env: napi_env, value: napi_value) -> Result<sys::napi_valuetype> {
    let mut kind = 0;
    // SAFETY: `env` is the env of the JS-thread callback this runs in (this
    // module's contract); the handles passed are live in its scope and the
    // out-pointers are locals that outlive the call.
    check(unsafe { sys::napi_typeof(env, value, &mut kind) }, "typeof")?;
    Ok(kind)
}

/// True for `undefined` and `null`.
pub fn is_nullish(env: napi_env, value: napi_value) -> Result<bool> {
    let kind = type_of(env, value)?;
    Ok(kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null)
}

/// `Array.isArray(value)`.
pub fn is_array(env: napi_env, value: napi_value) -> Result<bool> {
    let mut result = false;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_is_array(env, value, &mut result) },
        "isArray",
    )?;
    Ok(result)
}

/// `String(value)` as UTF-8. A Symbol throws a TypeError in JS, as in the
/// original; a lone surrogate (not Unicode, so it has no UTF-8) is refused
/// rather than silently sent as U+FFFD (the original throws URIError).
pub fn to_string(env: napi_env, value: napi_value) -> Result<String> {
    let string = if type_of(env, value)? == sys::ValueType::napi_string {
        value
    } else {
        let mut coerced = ptr::null_mut();
        check(
            // SAFETY: `env` is the env of the JS-thread callback this runs in (this
            // module's contract); the handles passed are live in its scope and the
            // out-pointers are locals that outlive the call.
            unsafe { sys::napi_coerce_to_string(env, value, &mut coerced) },
            "String(value)",
        )?;
        coerced
    };
    string_value(env, string)
}

/// The text of a value known to be a JS string, refusing lone surrogates.
pub fn string_value(env: napi_env, string: napi_value) -> Result<String> {
    let text = read_string(env, string)?;
    if text.contains('\u{FFFD}') && has_lone_surrogate(env, string)? {
        return Err(Error::new(
            Status::InvalidArg,
            format!(
                "{:?} contains a lone UTF-16 surrogate, which cannot be URL-encoded",
                text
            ),
        ));
    }
    Ok(text)
}

/// Whether a JS string holds an unpaired surrogate (V8 turns it into U+FFFD in UTF-8).
fn has_lone_surrogate(env: napi_env, string: napi_value) -> Result<bool> {
    let mut len = 0;
    check(
        // SAFETY: as for every call here, `env` and `string` are live; a null
        // buffer of size 0 asks N-API for the length only.
        unsafe { sys::napi_get_value_string_utf16(env, string, ptr::null_mut(), 0, &mut len) },
        "string length",
    )?;
    let mut units = vec![0u16; len + 1];
    let mut written = 0;
    check(
        // SAFETY: `units` holds `len + 1` code units, the size passed, so
        // N-API writes inside it; `env` and `string` are live handles.
        unsafe {
            sys::napi_get_value_string_utf16(env, string, units.as_mut_ptr(), len + 1, &mut written)
        },
        "string contents",
    )?;
    units.truncate(written);
    Ok(char::decode_utf16(units).any(|unit| unit.is_err()))
}

/// Takes the pending JS exception, if there is one.
pub fn take_exception(env: napi_env) -> Option<napi_value> {
    let mut pending = false;
    // SAFETY: `env` is this callback's env; `pending` outlives the call.
    if unsafe { sys::napi_is_exception_pending(env, &mut pending) } != sys::Status::napi_ok
        || !pending
    {
        return None;
    }
    let mut exception = ptr::null_mut();
    // SAFETY: `env` is this callback's env; `exception` outlives the call.
    if unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) }
        != sys::Status::napi_ok
    {
        return None;
    }
    Some(exception)
}

/// The UTF-8 text of a JS string (lone surrogates become U+FFFD).
pub fn read_string(env: napi_env, string: napi_value) -> Result<String> {
    // Most keys and values are short: one call into a stack buffer, and a
    // second (sized) call only when the text may not have fit.
    let mut small = [0u8; 128];
    let mut written = 0;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe {
            sys::napi_get_value_string_utf8(
                env,
                string,
                small.as_mut_ptr().cast(),
                small.len(),
                &mut written,
            )
        },
        "string contents",
    )?;
    let bytes = if written + 4 < small.len() {
        // Room for any UTF-8 character was left, so nothing was cut off.
        small[..written].to_vec()
    } else {
        let mut len = 0;
        check(
            // SAFETY: a null buffer of size 0 asks N-API for the length only;
            // `env` and `string` are live handles of this callback.
            unsafe { sys::napi_get_value_string_utf8(env, string, ptr::null_mut(), 0, &mut len) },
            "string length",
        )?;
        let mut buf = vec![0u8; len + 1];
        check(
            // SAFETY: `env` is the env of the JS-thread callback this runs in (this
            // module's contract); the handles passed are live in its scope and the
            // out-pointers are locals that outlive the call.
            unsafe {
                sys::napi_get_value_string_utf8(
                    env,
                    string,
                    buf.as_mut_ptr().cast(),
                    len + 1,
                    &mut written,
                )
            },
            "string contents",
        )?;
        buf.truncate(written);
        buf
    };
    String::from_utf8(bytes)
        .map_err(|_| Error::new(Status::InvalidArg, "string is not valid UTF-8"))
}

/// `Object.keys(object)` with the values: own, enumerable, string keys, in JS order.
pub fn own_entries(env: napi_env, object: napi_value) -> Result<Vec<(String, napi_value)>> {
    let mut names = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe {
            sys::napi_get_all_property_names(
                env,
                object,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut names,
            )
        },
        "Object.keys",
    )?;
    let length = array_length(env, names)?;
    let mut entries = Vec::with_capacity(length as usize);
    for index in 0..length {
        let name = element(env, names, index)?;
        let mut value = ptr::null_mut();
        check(
            // SAFETY: `env` is the env of the JS-thread callback this runs in (this
            // module's contract); the handles passed are live in its scope and the
            // out-pointers are locals that outlive the call.
            unsafe { sys::napi_get_property(env, object, name, &mut value) },
            "property value",
        )?;
        entries.push((read_string(env, name)?, value));
    }
    Ok(entries)
}

/// The own property `key` if the object has it (`hasOwnProperty`), else `None`.
pub fn own_property(env: napi_env, object: napi_value, key: &str) -> Result<Option<napi_value>> {
    let name = make_string(env, key)?;
    let mut has = false;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_has_own_property(env, object, name, &mut has) },
        "hasOwnProperty",
    )?;
    if !has {
        return Ok(None);
    }
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_property(env, object, name, &mut value) },
        "property value",
    )?;
    Ok(Some(value))
}

/// `array.length`.
pub fn array_length(env: napi_env, array: napi_value) -> Result<u32> {
    let mut length = 0;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_array_length(env, array, &mut length) },
        "array length",
    )?;
    Ok(length)
}

/// `array[index]`.
pub fn element(env: napi_env, array: napi_value, index: u32) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_element(env, array, index, &mut value) },
        "array element",
    )?;
    Ok(value)
}

/// A JS string.
pub fn make_string(env: napi_env, text: &str) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    check(
        // SAFETY: the pointer and length describe bytes borrowed for the call;
        // N-API copies them; `env` is this callback's env.
        unsafe {
            sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut value)
        },
        "create string",
    )?;
    Ok(value)
}

/// A JS number.
pub fn make_number(env: napi_env, number: f64) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_create_double(env, number, &mut value) },
        "create number",
    )?;
    Ok(value)
}

/// An empty plain object.
pub fn make_object(env: napi_env) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_create_object(env, &mut value) },
        "create object",
    )?;
    Ok(value)
}

/// `object[key] = value`.
pub fn set(env: napi_env, object: napi_value, key: &str, value: napi_value) -> Result<()> {
    let name = make_string(env, key)?;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_set_property(env, object, name, value) },
        "set property",
    )
}

/// A parsed JSON value as JS: key order kept, integers beyond 2^53 as
/// decimal strings (every digit kept; `JSON.stringify` of the result then
/// matches the original's, whose json-bigint BigNumbers serialise as strings).
pub fn from_json(env: napi_env, json: &Value) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    match json {
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        Value::Null => check(unsafe { sys::napi_get_null(env, &mut value) }, "null")?,
        Value::Bool(b) => check(
            // SAFETY: `env` is the env of the JS-thread callback this runs in (this
            // module's contract); the handles passed are live in its scope and the
            // out-pointers are locals that outlive the call.
            unsafe { sys::napi_get_boolean(env, *b, &mut value) },
            "boolean",
        )?,
        Value::Number(n) => {
            value = match classify_number(n) {
                JsNumber::Double(d) => make_number(env, d)?,
                JsNumber::BigInteger(digits) => make_string(env, &digits)?,
            }
        }
        Value::String(s) => value = make_string(env, s)?,
        Value::Array(items) => {
            check(
                // SAFETY: `env` is the env of the JS-thread callback this runs in (this
                // module's contract); the handles passed are live in its scope and the
                // out-pointers are locals that outlive the call.
                unsafe { sys::napi_create_array_with_length(env, items.len(), &mut value) },
                "array",
            )?;
            for (index, item) in items.iter().enumerate() {
                let item = from_json(env, item)?;
                check(
                    // SAFETY: `env` is the env of the JS-thread callback this runs in (this
                    // module's contract); the handles passed are live in its scope and the
                    // out-pointers are locals that outlive the call.
                    unsafe { sys::napi_set_element(env, value, index as u32, item) },
                    "set element",
                )?;
            }
        }
        Value::Object(map) => {
            value = make_object(env)?;
            for (key, item) in map {
                let item = from_json(env, item)?;
                set(env, value, key, item)?;
            }
        }
    }
    Ok(value)
}

/// An `Error` (or `TypeError`) object with `message`.
pub fn make_error(env: napi_env, message: &str, type_error: bool) -> Result<napi_value> {
    let text = make_string(env, message)?;
    let mut error = ptr::null_mut();
    // SAFETY: `env` is the env of the JS-thread callback this runs in (this
    // module's contract); the handles passed are live in its scope and the
    // out-pointers are locals that outlive the call.
    let status = unsafe {
        if type_error {
            sys::napi_create_type_error(env, ptr::null_mut(), text, &mut error)
        } else {
            sys::napi_create_error(env, ptr::null_mut(), text, &mut error)
        }
    };
    check(status, "create error")?;
    Ok(error)
}

/// Throws `TypeError(message)` and returns the error that tells napi-rs an
/// exception is already pending.
pub fn throw_type_error(env: napi_env, message: &str) -> Error {
    match make_error(env, message, true) {
        Ok(error) => {
            // SAFETY: `error` is a live Error of this scope; throwing leaves it
            // pending for napi-rs to hand to JS when the callback returns.
            let thrown = unsafe { sys::napi_throw(env, error) };
            match check(thrown, "throw") {
                Ok(()) => Error::new(Status::PendingException, message.to_owned()),
                // Nothing pending: napi-rs throws this error itself instead.
                Err(_) => Error::new(Status::InvalidArg, message.to_owned()),
            }
        }
        Err(err) => err,
    }
}

/// `object[key]`, inherited properties included; a throwing getter's
/// exception stays pending and propagates to the caller.
pub fn get(env: napi_env, object: napi_value, key: &str) -> Result<napi_value> {
    let name = make_string(env, key)?;
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_property(env, object, name, &mut value) },
        "property value",
    )?;
    Ok(value)
}

/// JS truthiness (`!!value`).
pub fn is_truthy(env: napi_env, value: napi_value) -> Result<bool> {
    let mut coerced = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_coerce_to_bool(env, value, &mut coerced) },
        "Boolean(value)",
    )?;
    let mut flag = false;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_value_bool(env, coerced, &mut flag) },
        "boolean value",
    )?;
    Ok(flag)
}

/// A JS number's value, if it is one.
pub fn number(env: napi_env, value: napi_value) -> Result<Option<f64>> {
    if type_of(env, value)? != sys::ValueType::napi_number {
        return Ok(None);
    }
    let mut n = f64::NAN;
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_value_double(env, value, &mut n) },
        "number value",
    )?;
    Ok(Some(n))
}

/// `undefined`.
pub fn undefined(env: napi_env) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_get_undefined(env, &mut value) },
        "undefined",
    )?;
    Ok(value)
}

/// A promise already rejected with `reason`.
pub fn rejected_promise(env: napi_env, reason: napi_value) -> Result<napi_value> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    check(
        // SAFETY: `env` is the env of the JS-thread callback this runs in (this
        // module's contract); the handles passed are live in its scope and the
        // out-pointers are locals that outlive the call.
        unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) },
        "create promise",
    )?;
    check(
        // SAFETY: `deferred` was created just above and is settled only here.
        unsafe { sys::napi_reject_deferred(env, deferred, reason) },
        "reject promise",
    )?;
    Ok(promise)
}

/// `JSON.parse(text)` with V8's parser: for replies whose numbers all fit a
/// double, one call instead of a property set per key.
pub fn parse_json(env: napi_env, text: &[u8]) -> Result<napi_value> {
    let mut string = ptr::null_mut();
    check(
        // SAFETY: the pointer and length describe bytes borrowed for the call;
        // N-API copies them; `env` is this callback's env.
        unsafe {
            sys::napi_create_string_utf8(
                env,
                text.as_ptr().cast(),
                text.len() as isize,
                &mut string,
            )
        },
        "create string",
    )?;
    let mut global = ptr::null_mut();
    // SAFETY: `env` is the env of the JS-thread callback this runs in (this
    // module's contract); the handles passed are live in its scope and the
    // out-pointers are locals that outlive the call.
    check(unsafe { sys::napi_get_global(env, &mut global) }, "global")?;
    let json = get(env, global, "JSON")?;
    let parse = get(env, json, "parse")?;
    let mut value = ptr::null_mut();
    check(
        // SAFETY: `&string` points at one live handle, matching the argument
        // count 1; `json` and `parse` are live handles of this scope.
        unsafe { sys::napi_call_function(env, json, parse, 1, &string, &mut value) },
        "JSON.parse",
    )?;
    Ok(value)
}

/// A JS boolean.
pub fn boolean(env: napi_env, flag: bool) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: `env` is this JS-thread callback's env; `value` outlives the call.
    check(
        unsafe { sys::napi_get_boolean(env, flag, &mut value) },
        "boolean",
    )?;
    Ok(value)
}

/// `function.call(this, ...args)`; a JS exception stays pending.
pub fn call(
    env: napi_env,
    this: napi_value,
    function: napi_value,
    args: &[napi_value],
) -> Result<napi_value> {
    let mut result = ptr::null_mut();
    // SAFETY: `args` points at `args.len()` live handles of this scope;
    // `result` outlives the call.
    check(
        unsafe {
            sys::napi_call_function(env, this, function, args.len(), args.as_ptr(), &mut result)
        },
        "call function",
    )?;
    Ok(result)
}

/// A strong reference that keeps `value` alive beyond this callback.
pub fn make_ref(env: napi_env, value: napi_value) -> Result<sys::napi_ref> {
    let mut reference = ptr::null_mut();
    // SAFETY: `value` is a live handle of this scope; `reference` outlives the call.
    check(
        unsafe { sys::napi_create_reference(env, value, 1, &mut reference) },
        "create reference",
    )?;
    Ok(reference)
}

/// The value a reference holds.
pub fn ref_value(env: napi_env, reference: sys::napi_ref) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: `reference` was made by `make_ref` in this env and not yet deleted.
    check(
        unsafe { sys::napi_get_reference_value(env, reference, &mut value) },
        "reference value",
    )?;
    Ok(value)
}

/// Deletes a reference; a failure only leaves it to the env's teardown.
pub fn delete_ref(env: napi_env, reference: sys::napi_ref) {
    // SAFETY: `reference` was made by `make_ref` in this env and is deleted once.
    let status = unsafe { sys::napi_delete_reference(env, reference) };
    // Nothing to recover: the env frees any reference left when it ends.
    let _ = status;
}

/// `object[key] = value` as a property that `Object.keys` and
/// `JSON.stringify` do not list (writable and configurable, not enumerable).
pub fn set_hidden(env: napi_env, object: napi_value, key: &str, value: napi_value) -> Result<()> {
    let name = make_string(env, key)?;
    let descriptor = sys::napi_property_descriptor {
        utf8name: ptr::null(),
        name,
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: sys::PropertyAttributes::writable | sys::PropertyAttributes::configurable,
        data: ptr::null_mut(),
    };
    // SAFETY: one descriptor, alive for the call, naming live handles.
    check(
        unsafe { sys::napi_define_properties(env, object, 1, &descriptor) },
        "define property",
    )
}
