//! The Node binding: JS values in, JS values and JS errors out. Every
//! decision about the wire lives in `pls-core`; this crate only converts.

mod abort;
mod completion;
mod config;
mod credentials;
mod emulator;
mod errors;
mod js;
// Windows only: pins the DLL so that Node cannot unload it under running threads.
#[cfg(windows)]
mod keep_loaded;
// One method per action, written by scripts/generate-api.js: left as generated.
#[rustfmt::skip]
mod methods_generated;
mod observe;
mod params;
mod queue;
mod runtime;

use std::sync::Arc;

use napi::bindgen_prelude::ToNapiValue;
use napi::sys::{napi_env, napi_value};
use napi::{Env, JsValue, Result, Unknown};
use napi_derive::napi;

use pls_core::{Action, Attempted, PlsClient, RpcRequest, Service, Success};

use crate::abort::Signal;
use crate::completion::Settlement;

/// A JS value made on the JS thread, handed to napi-rs as the resolution.
pub struct Resolved(napi_value);

impl ToNapiValue for Resolved {
    /// # Safety
    /// napi-rs calls this on the JS thread with the env the value was made
    /// in; the value is returned as it is, without touching the env.
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
    /// type 0 SecretReport, 1 SecretRecording, 2 SecretSmsIntercept;
    /// `options.signal` cancels the poll.
    #[napi]
    pub fn receive_msg(
        &self,
        env: &Env,
        msg_type: Unknown<'_>,
        queue_name: Unknown<'_>,
        wait_seconds: Option<Unknown<'_>>,
        is_del: Option<Unknown<'_>>,
        options: Option<Unknown<'_>>,
    ) -> Result<Resolved> {
        let raw_env = env.raw();
        let read = || -> Result<(queue::ReceiveArgs, Signal)> {
            let args = queue::ReceiveArgs::read(
                raw_env,
                msg_type.raw(),
                queue_name.raw(),
                raw(&wait_seconds),
                raw(&is_del),
            )?;
            Ok((args, abort::read(raw_env, raw(&options))?))
        };
        match read() {
            Ok((args, signal)) => {
                let pending = match self.ask_credentials(raw_env) {
                    Ok(pending) => pending,
                    Err(rejected) => return rejected,
                };
                queue::receive(env, Arc::clone(&self.inner), args, signal, pending)
            }
            Err(err) => reject_now(raw_env, err),
        }
    }

    /// Deletes a received message by its ReceiptHandle (what `consume` does
    /// once a handler succeeds); `options.signal` cancels it.
    #[napi]
    pub fn delete_msg(
        &self,
        env: &Env,
        msg_type: Unknown<'_>,
        queue_name: Unknown<'_>,
        receipt_handle: String,
        options: Option<Unknown<'_>>,
    ) -> Result<Resolved> {
        let raw_env = env.raw();
        let read = || -> Result<(queue::ReceiveArgs, Signal)> {
            let args =
                queue::ReceiveArgs::read(raw_env, msg_type.raw(), queue_name.raw(), None, None)?;
            Ok((args, abort::read(raw_env, raw(&options))?))
        };
        match read() {
            Ok((args, signal)) => {
                queue::delete(env, Arc::clone(&self.inner), args, receipt_handle, signal)
            }
            Err(err) => reject_now(raw_env, err),
        }
    }
}

/// A promise rejected with the failure of reading a call's arguments.
fn reject_now(env: napi_env, err: napi::Error) -> Result<Resolved> {
    let reason = errors::argument_rejection(env, err)?;
    Ok(Resolved(js::rejected_promise(env, reason)?))
}

/// Throws an Error with code `SDK.InvalidArgument` when `receiveMsg` could
/// never succeed with this type and queue name (`consume` checks up front).
#[napi]
pub fn check_queue_args(env: Env, msg_type: Unknown<'_>, queue_name: Unknown<'_>) -> Result<()> {
    let args = queue::ReceiveArgs::read(env.raw(), msg_type.raw(), queue_name.raw(), None, None)?;
    args.check(env.raw())
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
        let action: &Action = pls_core::by_method(method)
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
        let read = || -> Result<(RpcRequest, Signal)> {
            let request = RpcRequest {
                action,
                params: params::read_params(raw_env, raw(params))?,
                options: params::read_call_options(raw_env, raw(options))?,
            };
            Ok((request, abort::read(raw_env, raw(options))?))
        };
        match read() {
            Ok((request, Signal::Aborted(reason))) => {
                // Already aborted: nothing is sent.
                let error = errors::abort_error(raw_env, &request.action, Some(reason))?;
                Ok(Resolved(js::rejected_promise(raw_env, error)?))
            }
            Ok((request, signal)) => self.spawn_rpc(env, request, signal),
            Err(err) => reject_now(raw_env, err),
        }
    }

    /// Signs the first attempt here, on the JS thread, when the credentials
    /// are at hand (static keys, or a provider's fresh cached ones), and
    /// sends on the runtime; otherwise the call gets its credentials there
    /// first. Later attempts are signed on the runtime. The future owns
    /// everything it touches (an Arc of the client, the request), so a
    /// worker thread that ends with calls in flight frees nothing they use;
    /// the request comes back to be freed on the thread that allocated it.
    fn spawn_rpc(&self, env: &Env, request: RpcRequest, signal: Signal) -> Result<Resolved> {
        let client = Arc::clone(&self.inner);
        let pending = match self.ask_credentials(env.raw()) {
            Ok(pending) => pending,
            Err(rejected) => return rejected,
        };
        // With a JS provider its answer is awaited even when an earlier one
        // is held, since the provider decides freshness.
        let ready = match pending {
            None => client.try_prepare(Service::Dypls, &request),
            Some(_) => None,
        };
        // Named in the AbortError; only kept when the call can be aborted.
        let abort_action = matches!(signal, Signal::Live(_)).then(|| match &ready {
            Some(prepared) => prepared.signed.action.clone(),
            None => request.action.clone(),
        });
        let call = async move {
            let first = match ready {
                Some(prepared) => Ok(prepared),
                None => match pending {
                    Some(pending) => pending.wait().await.map(|credentials| {
                        client.prepare_with(Service::Dypls, &request, &credentials)
                    }),
                    None => client.prepare(Service::Dypls, &request).await,
                },
            };
            let outcome = match first {
                Ok(first) => client.execute_json(Service::Dypls, &request, first).await,
                // No request was sent: the credentials could not be had.
                Err(err) => Attempted {
                    result: Err(err),
                    attempts: 0,
                    sent: None,
                },
            };
            (outcome, request)
        };
        let promise = match signal {
            Signal::Live(listening) => {
                let action = abort_action.unwrap_or_default();
                let guarded = listening.guard(call);
                completion::spawn(
                    env.raw(),
                    guarded,
                    move |env, finished: Option<(Attempted<Success>, RpcRequest)>| {
                        let reason = listening.finish(env);
                        match finished {
                            Some((outcome, _request)) => settle_rpc(env, outcome),
                            None => Ok(Settlement::Reject(errors::abort_error(
                                env,
                                &action,
                                reason.ok(),
                            )?)),
                        }
                    },
                )?
            }
            _ => completion::spawn(env.raw(), call, |env, (outcome, _request)| {
                settle_rpc(env, outcome)
            })?,
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

/// A call's outcome as its settlement: the reply parsed by V8 (or from the
/// exact Rust parse), or the last real error with its attempt count and
/// whether its outcome is unknown.
fn settle_rpc(env: napi_env, outcome: Attempted<Success>) -> Result<Settlement> {
    let outcome_unknown = outcome.outcome_unknown();
    match outcome.result {
        Ok(Success::Json(text)) => Ok(Settlement::Resolve(js::parse_json(env, &text)?)),
        Ok(Success::Parsed(json)) => Ok(Settlement::Resolve(js::from_json(env, &json)?)),
        Err(err) => Ok(Settlement::Reject(errors::call_error(
            env,
            &err,
            outcome.attempts,
            outcome_unknown,
        )?)),
    }
}
