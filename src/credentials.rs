//! The `credentials` option: a JS object with `getCredential()` resolving to
//! `{ accessKeyId, accessKeySecret, securityToken }` (the shape of
//! `@alicloud/credentials`' Client). It is asked on the JS thread right
//! before each call; the call awaits its promise on the runtime and signs
//! with the answer. The answer is also left in the core's
//! `SuppliedCredentials`, which parts of a call that sign later read.

use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::{FromNapiValue, Promise};
use napi::sys::{self, napi_env, napi_value};
use napi::Result;

use pls_core::credentials::failed;
use pls_core::{Credentials, SdkError, SuppliedCredentials};

use crate::js;

/// A provider's answer, read on the JS thread. Reading never fails: a
/// wrong shape becomes a message, so the call rejects instead of the
/// promise machinery throwing.
pub struct Provided(std::result::Result<Credentials, String>);

impl FromNapiValue for Provided {
    /// # Safety
    /// napi-rs calls this on the JS thread with a live value of `env`; it is
    /// only read through N-API calls on that thread.
    unsafe fn from_napi_value(env: napi_env, value: napi_value) -> Result<Self> {
        Ok(Provided(read_provided(env, value)))
    }
}

fn read_provided(env: napi_env, value: napi_value) -> std::result::Result<Credentials, String> {
    const SHAPE: &str =
        "getCredential() must resolve to { accessKeyId, accessKeySecret, securityToken }";
    let is_object = js::type_of(env, value)
        .map(|t| t == sys::ValueType::napi_object)
        .unwrap_or(false);
    if !is_object {
        return Err(SHAPE.into());
    }
    let text = |key: &str| -> std::result::Result<Option<String>, String> {
        let field = js::get(env, value, key).map_err(|_| {
            // A throwing getter: drop its exception, report the field.
            let _ = js::take_exception(env);
            format!("reading {key} of the credentials failed")
        })?;
        match js::type_of(env, field) {
            Ok(t) if t == sys::ValueType::napi_string => js::read_string(env, field)
                .map(|s| Some(s).filter(|s| !s.is_empty()))
                .map_err(|_| SHAPE.to_owned()),
            _ => Ok(None),
        }
    };
    match (text("accessKeyId")?, text("accessKeySecret")?) {
        (Some(access_key_id), Some(access_key_secret)) => Ok(Credentials {
            access_key_id,
            access_key_secret,
            security_token: text("securityToken")?,
        }),
        _ => Err(SHAPE.into()),
    }
}

/// The provider object, held by a reference for the life of the client.
pub struct JsCredentials {
    env: napi_env,
    reference: sys::napi_ref,
    supplied: Arc<SuppliedCredentials>,
}

/// An answer on its way: await it off the JS thread.
pub struct PendingCredentials {
    promise: Promise<Provided>,
    supplied: Arc<SuppliedCredentials>,
}

impl PendingCredentials {
    /// The provider's credentials, also left for the parts of the call that sign later.
    pub async fn wait(self) -> std::result::Result<Arc<Credentials>, SdkError> {
        let provided = self.promise.await.map_err(|err| {
            failed(format!(
                "the credentials provider's getCredential() failed: {}",
                err.reason
            ))
        })?;
        let credentials = Arc::new(provided.0.map_err(failed)?);
        self.supplied.supply(Arc::clone(&credentials));
        Ok(credentials)
    }
}

impl JsCredentials {
    /// The `credentials` option when it is an object with a `getCredential`
    /// method; `Ok(None)` when the option is absent; a TypeError otherwise.
    pub fn read(
        env: napi_env,
        options: Option<napi_value>,
        supplied: &Arc<SuppliedCredentials>,
    ) -> Result<Option<Self>> {
        let Some(options) = options else {
            return Ok(None);
        };
        let provider = js::get(env, options, "credentials")?;
        if js::is_nullish(env, provider)? {
            return Ok(None);
        }
        let is_object = js::type_of(env, provider)? == sys::ValueType::napi_object;
        let method = if is_object {
            Some(js::get(env, provider, "getCredential")?)
        } else {
            None
        };
        let callable = match method {
            Some(method) => js::type_of(env, method)? == sys::ValueType::napi_function,
            None => false,
        };
        if !callable {
            return Err(js::throw_type_error(
                env,
                "option \"credentials\" must be an object with a getCredential() method",
            ));
        }
        let mut reference = ptr::null_mut();
        // SAFETY: `env` is the current callback's environment and `provider`
        // a live value in it; the reference is deleted in `Drop` on this thread.
        let status = unsafe { sys::napi_create_reference(env, provider, 1, &mut reference) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason(
                "cannot keep a reference to the credentials provider",
            ));
        }
        Ok(Some(JsCredentials {
            env,
            reference,
            supplied: Arc::clone(supplied),
        }))
    }

    /// Calls `getCredential()` now. A synchronous throw rejects the call
    /// (as a failing promise would); a plain return value is wrapped as
    /// `Promise.resolve` would.
    pub fn ask(&self, env: napi_env) -> std::result::Result<PendingCredentials, AskError> {
        let mut provider = ptr::null_mut();
        // SAFETY: the reference was made in this environment and is alive until `Drop`.
        let status = unsafe { sys::napi_get_reference_value(env, self.reference, &mut provider) };
        if status != sys::Status::napi_ok || provider.is_null() {
            return Err(AskError::Napi(napi::Error::from_reason(
                "the credentials provider is gone",
            )));
        }
        let method = js::get(env, provider, "getCredential").map_err(AskError::Napi)?;
        let mut result = ptr::null_mut();
        // SAFETY: `provider` and `method` are live values of this environment;
        // no arguments are passed.
        let status =
            unsafe { sys::napi_call_function(env, provider, method, 0, ptr::null(), &mut result) };
        if status != sys::Status::napi_ok {
            return Err(match js::take_exception(env) {
                Some(exception) => AskError::Threw(exception),
                None => AskError::Napi(napi::Error::from_reason("calling getCredential() failed")),
            });
        }
        let promise = promise_resolve(env, result).map_err(AskError::Napi)?;
        // SAFETY: `promise` is a native Promise of this environment (made by Promise.resolve).
        let promise = unsafe { Promise::<Provided>::from_napi_value(env, promise) }
            .map_err(AskError::Napi)?;
        Ok(PendingCredentials {
            promise,
            supplied: Arc::clone(&self.supplied),
        })
    }
}

/// Why asking the provider failed on the JS thread.
pub enum AskError {
    /// `getCredential()` threw this value.
    Threw(napi_value),
    /// N-API itself failed.
    Napi(napi::Error),
}

/// `Promise.resolve(value)`.
fn promise_resolve(env: napi_env, value: napi_value) -> Result<napi_value> {
    let mut global = ptr::null_mut();
    // SAFETY: plain N-API calls on the current callback's environment.
    unsafe {
        if sys::napi_get_global(env, &mut global) != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("cannot reach the global object"));
        }
    }
    let promise_class = js::get(env, global, "Promise")?;
    let resolve = js::get(env, promise_class, "resolve")?;
    let mut result = ptr::null_mut();
    let argv = [value];
    // SAFETY: `resolve` is `Promise.resolve`, called with `Promise` as `this`
    // and one live argument of this environment.
    let status = unsafe {
        sys::napi_call_function(env, promise_class, resolve, 1, argv.as_ptr(), &mut result)
    };
    if status != sys::Status::napi_ok {
        let _ = js::take_exception(env);
        return Err(napi::Error::from_reason("Promise.resolve failed"));
    }
    Ok(result)
}

impl Drop for JsCredentials {
    fn drop(&mut self) {
        // SAFETY: the client is finalized on the JS thread of `env`, where
        // the reference was made; deleting a reference is allowed there.
        unsafe {
            sys::napi_delete_reference(self.env, self.reference);
        }
    }
}
