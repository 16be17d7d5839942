//! The Node binding: JS values in, JS values and JS errors out. Every
//! decision about the wire lives in `pls-core`; this crate only converts.

mod completion;
mod config;
mod credentials;
mod emulator;
mod errors;
mod js;
mod observe;
// One method per action, written by scripts/generate-api.js: left as generated.
#[rustfmt::skip]
mod methods_generated;
mod params;
mod queue;
mod runtime;

use std::sync::Arc;

use napi::bindgen_prelude::ToNapiValue;
use napi::sys::{napi_env, napi_value};
use napi::{Env, JsValue, Result, Unknown};
use napi_derive::napi;

use pls_core::action::{self, Action};
use pls_core::response::Success;
use pls_core::{PlsClient, RpcRequest, Service};

/// A JS value made on the JS thread, handed to napi-rs as the resolution.
pub struct Resolved(napi_value);

impl ToNapiValue for Resolved {
    unsafe fn to_napi_value(_env: napi_env, value: Self) -> Result<napi_value> {
        Ok(value.0)
    }
}

/// The client of `@alicloud/pls-sdk`: same constructor, same methods, same
/// promises. The secret lives only in Rust, so `util.inspect(client)` and
/// `JSON.stringify(client)` show nothing of it.
#[napi(js_name = "PLSClient")]
pub struct PlsClientBinding {
    inner: Arc<PlsClient>,
    /// The `credentials` option's provider, asked before each call.
    js_credentials: Option<credentials::JsCredentials>,
}

fn raw(value: &Option<Unknown<'_>>) -> Option<napi_value> {
    value.as_ref().map(|v| v.raw())
}

#[napi]
impl PlsClientBinding {
    /// `new PLSClient({ accessKeyId, secretAccessKey, ... })`.
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<Unknown<'_>>) -> Result<Self> {
        let (config, js_credentials) = config::read_client_config(env.raw(), raw(&options))?;
        let client = PlsClient::new(config)
            .map_err(|err| js::throw_type_error(env.raw(), &err.to_string()))?;
        Ok(PlsClientBinding {
            inner: Arc::new(client),
            js_credentials,
        })
    }

    /// Any other dyplsapi action of version 2017-05-25, signed and checked
    /// by the same rules: `client.request('QueryCallStatus', params, options)`.
    #[napi]
    pub fn request(
        &self,
        env: &Env,
        action: String,
        params: Option<Unknown<'_>>,
        options: Option<Unknown<'_>>,
    ) -> Result<Resolved> {
        self.prepare_and_spawn(env, action, &params, &options)
    }

    /// The original's `receiveMsg(type, queueName, waitSeconds = 10, isDel = false)`:
    /// type 0 SecretReport, 1 SecretRecording, 2 SecretSmsIntercept.
    #[napi]
    pub fn receive_msg(
        &self,
        env: &Env,
        msg_type: Unknown<'_>,
        queue_name: Unknown<'_>,
        wait_seconds: Option<Unknown<'_>>,
        is_del: Option<Unknown<'_>>,
    ) -> Result<Resolved> {
        let args = queue::ReceiveArgs::read(
            env.raw(),
            msg_type.raw(),
            queue_name.raw(),
            raw(&wait_seconds),
            raw(&is_del),
        )?;
        let pending = match self.ask_credentials(env.raw()) {
            Ok(pending) => pending,
            Err(rejected) => return rejected,
        };
        queue::receive(env, Arc::clone(&self.inner), args, pending)
    }

    /// Deletes a received message by its ReceiptHandle (what `consume` does
    /// once a handler succeeds).
    #[napi]
    pub fn delete_msg(
        &self,
        env: &Env,
        msg_type: Unknown<'_>,
        queue_name: Unknown<'_>,
        receipt_handle: String,
    ) -> Result<Resolved> {
        let args =
            queue::ReceiveArgs::read(env.raw(), msg_type.raw(), queue_name.raw(), None, None)?;
        queue::delete(env, Arc::clone(&self.inner), args, receipt_handle)
    }
}

/// Settles a call whose reply V8 parses.
fn settle_json(
    env: napi_env,
    outcome: std::result::Result<Success, pls_core::SdkError>,
) -> Result<completion::Settlement> {
    errors::settle(env, outcome, |env, success| match success {
        Success::Json(text) => js::parse_json(env, &text),
        Success::Parsed(json) => js::from_json(env, &json),
    })
}

/// A promise rejected with the failure of reading a call's arguments.
fn reject_now(env: napi_env, err: napi::Error) -> Result<Resolved> {
    let reason = errors::argument_rejection(env, err)?;
    Ok(Resolved(js::rejected_promise(env, reason)?))
}

/// The JSON object inside a message's base64 `MessageBody`.
#[napi]
pub fn decode_message_body(env: Env, body_base64: String) -> Result<Resolved> {
    match pls_core::decode_message_body(&body_base64) {
        Ok(json) => Ok(Resolved(js::from_json(env.raw(), &json)?)),
        Err(err) => Err(errors::rejection(env.raw(), &err)),
    }
}

impl PlsClientBinding {
    /// Checks required keys synchronously (TypeError before any I/O), then
    /// hands the owned request to the runtime.
    fn invoke(
        &self,
        env: &Env,
        method: &str,
        params: Option<Unknown<'_>>,
        options: Option<Unknown<'_>>,
    ) -> Result<Resolved> {
        let action: &Action = action::by_method(method)
            .ok_or_else(|| napi::Error::from_reason(format!("unknown method {method}")))?;
        let raw_env = env.raw();
        match params::missing_required(raw_env, raw(&params), action) {
            Ok(Some(key)) => {
                return Err(js::throw_type_error(
                    raw_env,
                    &format!("parameter \"{key}\" is required"),
                ))
            }
            Ok(None) => {}
            Err(err) => return reject_now(raw_env, err),
        }
        self.prepare_and_spawn(env, action.name.to_owned(), &params, &options)
    }

    /// Reads params and options; a failure there rejects the promise.
    fn prepare_and_spawn(
        &self,
        env: &Env,
        action: String,
        params: &Option<Unknown<'_>>,
        options: &Option<Unknown<'_>>,
    ) -> Result<Resolved> {
        let raw_env = env.raw();
        let read = || -> Result<RpcRequest> {
            Ok(RpcRequest {
                action,
                params: params::read_params(raw_env, raw(params))?,
                options: params::read_call_options(raw_env, raw(options))?,
            })
        };
        match read() {
            Ok(request) => self.spawn_rpc(env, &request),
            Err(err) => reject_now(raw_env, err),
        }
    }

    /// The future owns everything it touches (an Arc of the client), so a
    /// worker thread that ends with calls in flight frees nothing they use.
    /// Static keys (and a provider's fresh cached ones) sign here on the JS
    /// thread; otherwise the call gets its credentials on the runtime first.
    fn spawn_rpc(&self, env: &Env, request: &RpcRequest) -> Result<Resolved> {
        let client = Arc::clone(&self.inner);
        let pending = match self.ask_credentials(env.raw()) {
            Ok(pending) => pending,
            Err(rejected) => return rejected,
        };
        // Only without a JS provider: its answer is awaited even when an
        // earlier one is held, since the provider decides freshness.
        let ready = if pending.is_none() {
            client.try_prepare(Service::Dypls, request)
        } else {
            None
        };
        let promise = match (pending, ready) {
            (None, Some(prepared)) => completion::spawn(
                env.raw(),
                async move { client.execute_json(&prepared).await },
                settle_json,
            )?,
            (pending, _) => {
                let request = request.clone();
                let call = async move {
                    let prepared = match pending {
                        Some(pending) => {
                            let credentials = pending.wait().await?;
                            client.prepare_with(Service::Dypls, &request, &credentials)
                        }
                        None => client.prepare(Service::Dypls, &request).await?,
                    };
                    client.execute_json(&prepared).await
                };
                completion::spawn(env.raw(), call, settle_json)?
            }
        };
        Ok(Resolved(promise))
    }

    /// Asks the `credentials` option's provider, when there is one; a
    /// provider that throws rejects the call's promise with what it threw.
    fn ask_credentials(
        &self,
        env: napi_env,
    ) -> std::result::Result<Option<credentials::PendingCredentials>, Result<Resolved>> {
        let Some(provider) = &self.js_credentials else {
            return Ok(None);
        };
        match provider.ask(env) {
            Ok(pending) => Ok(Some(pending)),
            Err(credentials::AskError::Threw(reason)) => {
                Err(js::rejected_promise(env, reason).map(Resolved))
            }
            Err(credentials::AskError::Napi(err)) => Err(reject_now(env, err)),
        }
    }
}
