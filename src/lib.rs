//! The Node binding: JS values in, JS values and JS errors out. Every
//! decision about the wire lives in `pls-core`; this crate only converts.

mod completion;
mod config;
mod emulator;
mod errors;
mod js;
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
}

fn raw(value: &Option<Unknown<'_>>) -> Option<napi_value> {
    value.as_ref().map(|v| v.raw())
}

/// The nine methods of the original: `(params = {}, options = {})` -> Promise,
/// each one action of the table in `pls_core::action`.
macro_rules! rpc_methods {
    ($($(#[$doc:meta])* $name:ident => $method:literal;)*) => {
        #[napi]
        impl PlsClientBinding {
            $(
                $(#[$doc])*
                #[napi]
                pub fn $name(
                    &self,
                    env: &Env,
                    params: Option<Unknown<'_>>,
                    options: Option<Unknown<'_>>,
                ) -> Result<Resolved> {
                    self.invoke(env, $method, params, options)
                }
            )*
        }
    };
}

rpc_methods! {
    /// BindAxb: bind A and B to a secret number X.
    bind_axb => "bindAxb";
    /// BindAxn: bind A to a secret number X for any caller.
    bind_axn => "bindAxn";
    /// BindAxnExtension: bind A to a shared X with an extension.
    bind_axn_extension => "bindAxnExtension";
    /// BuySecretNo: add a number to a pool.
    buy_secret_no => "buySecretNo";
    /// ReleaseSecretNo: remove a number from a pool.
    release_secret_no => "releaseSecretNo";
    /// QueryRecordFileDownloadUrl: where a call recording can be downloaded.
    query_record_file_download_url => "queryRecordFileDownloadUrl";
    /// QuerySubscriptionDetail: one binding's details.
    query_subscription_detail => "querySubscriptionDetail";
    /// UnbindSubscription: end a binding.
    unbind_subscription => "unbindSubscription";
    /// UpdateSubscription: change a binding (OperateType says what).
    update_subscription => "updateSubscription";
}

#[napi]
impl PlsClientBinding {
    /// `new PLSClient({ accessKeyId, secretAccessKey, ... })`.
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<Unknown<'_>>) -> Result<Self> {
        let config = config::read_client_config(env.raw(), raw(&options))?;
        let client = PlsClient::new(config)
            .map_err(|err| js::throw_type_error(env.raw(), &err.to_string()))?;
        Ok(PlsClientBinding {
            inner: Arc::new(client),
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
        queue::receive(env, Arc::clone(&self.inner), args)
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
    fn spawn_rpc(&self, env: &Env, request: &RpcRequest) -> Result<Resolved> {
        let client = Arc::clone(&self.inner);
        let prepared = client.prepare(Service::Dypls, request);
        let promise = completion::spawn(
            env.raw(),
            async move { client.execute_json(&prepared).await },
            |env, outcome| {
                errors::settle(env, outcome, |env, success| match success {
                    Success::Json(text) => js::parse_json(env, &text),
                    Success::Parsed(json) => js::from_json(env, &json),
                })
            },
        )?;
        Ok(Resolved(promise))
    }
}
