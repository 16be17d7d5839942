//! `receiveMsg` and its companions: JS arguments in, the original's
//! `{ code, headers, body }` out. The MNS work is in `pls_core::queue`.

use std::future::Future;
use std::sync::Arc;

use napi::sys::{napi_env, napi_value};
use napi::{Env, Result};

use pls_core::{MessageType, MnsReply, PlsClient, SdkError};

use crate::abort::Signal;
use crate::completion::{self, Settlement};
use crate::credentials::PendingCredentials;
use crate::{errors, js, Resolved};

/// `{ code, headers: {}, body }` where body holds the Message's children as strings.
fn reply_to_js(env: napi_env, reply: &MnsReply) -> Result<napi_value> {
    let object = js::make_object(env)?;
    js::set(
        env,
        object,
        "code",
        js::make_number(env, f64::from(reply.code))?,
    )?;
    let headers = js::make_object(env)?;
    for (name, value) in &reply.headers {
        js::set(env, headers, name, js::make_string(env, value)?)?;
    }
    js::set(env, object, "headers", headers)?;
    let body = match &reply.body {
        Some(fields) => {
            let body = js::make_object(env)?;
            for (name, value) in fields {
                js::set(env, body, name, js::make_string(env, value)?)?;
            }
            body
        }
        None => js::undefined(env)?,
    };
    js::set(env, object, "body", body)?;
    Ok(object)
}

/// `receiveMsg`'s arguments read as the original reads them: `type` indexes
/// the list of message types (so `'1'` works), `waitSeconds` defaults to 10
/// and 0 means no wait parameter, `isDel` by truthiness. Beyond it, `type`
/// may also name any receipt type (`'SecretStartReport'`, ...).
pub struct ReceiveArgs {
    kind: std::result::Result<MessageType, SdkError>,
    queue_name: String,
    wait_seconds: u32,
    delete: bool,
}

impl ReceiveArgs {
    /// Converts the JS arguments; the type's range is checked by the core.
    pub fn read(
        env: napi_env,
        msg_type: napi_value,
        queue_name: napi_value,
        wait_seconds: Option<napi_value>,
        is_del: Option<napi_value>,
    ) -> Result<Self> {
        let number = |value: napi_value| -> Result<f64> {
            Ok(match js::number(env, value)? {
                Some(n) => n,
                None => js::to_string(env, value)?
                    .trim()
                    .parse()
                    .unwrap_or(f64::NAN),
            })
        };
        let kind = read_type(env, msg_type)?;
        let wait_seconds = match wait_seconds {
            Some(value) if !js::is_nullish(env, value)? => {
                let wait = number(value)?;
                if wait.is_finite() && wait > 0.0 {
                    wait.min(f64::from(u32::MAX)) as u32
                } else {
                    0
                }
            }
            _ => 10,
        };
        let delete = match is_del {
            Some(value) => js::is_truthy(env, value)?,
            None => false,
        };
        Ok(ReceiveArgs {
            kind,
            queue_name: js::to_string(env, queue_name)?,
            wait_seconds,
            delete,
        })
    }

    /// The core's checks of type and queue name, without any request; a
    /// failure is thrown as the Error a call would reject with.
    pub fn check(&self, env: napi_env) -> Result<()> {
        if let Err(err) = &self.kind {
            return Err(errors::rejection(env, err));
        }
        pls_core::check_queue_name(&self.queue_name).map_err(|err| errors::rejection(env, &err))
    }
}

/// A type number as the original reads it (`'1'` is 1; out of range stays
/// out of range, as u32::MAX, so the core names it), or a type's name.
fn read_type(
    env: napi_env,
    value: napi_value,
) -> Result<std::result::Result<MessageType, SdkError>> {
    let number = match js::number(env, value)? {
        Some(n) => n,
        None => {
            let text = js::to_string(env, value)?;
            match text.trim().parse::<f64>() {
                Ok(n) => n,
                Err(_) if js::type_of(env, value)? == napi::sys::ValueType::napi_string => {
                    return Ok(MessageType::from_name(&text));
                }
                Err(_) => f64::NAN,
            }
        }
    };
    let index = if number.fract() == 0.0 && (0.0..3.0).contains(&number) {
        number as u32
    } else {
        u32::MAX
    };
    Ok(MessageType::from_number(index))
}

/// Long-polls the queue of the message type; deletes the message first when asked.
/// With a `credentials` provider, its answer is awaited first and left
/// where the queue token request signs from.
pub fn receive(
    env: &Env,
    client: Arc<PlsClient>,
    args: ReceiveArgs,
    signal: Signal,
    credentials: Option<PendingCredentials>,
) -> Result<Resolved> {
    let work = async move {
        let kind = args.kind?;
        if let Some(credentials) = credentials {
            credentials.wait().await?;
        }
        client
            .receive_message(kind, &args.queue_name, args.wait_seconds, args.delete)
            .await
    };
    spawn_cancellable(env.raw(), "ReceiveMessage", work, signal, |env, reply| {
        reply_to_js(env, &reply)
    })
}

/// Deletes one received message by its ReceiptHandle; resolves to undefined.
pub fn delete(
    env: &Env,
    client: Arc<PlsClient>,
    args: ReceiveArgs,
    receipt_handle: String,
    signal: Signal,
) -> Result<Resolved> {
    let work = async move {
        client
            .delete_message(args.kind?, &args.queue_name, &receipt_handle)
            .await
    };
    spawn_cancellable(env.raw(), "DeleteMessage", work, signal, |env, ()| {
        js::undefined(env)
    })
}

/// Runs a queue operation that `signal` may cancel: already aborted rejects
/// without sending; aborted in flight drops the request and rejects.
fn spawn_cancellable<F, T>(
    env: napi_env,
    operation: &'static str,
    work: F,
    signal: Signal,
    to_js: fn(napi_env, T) -> Result<napi_value>,
) -> Result<Resolved>
where
    F: Future<Output = std::result::Result<T, SdkError>> + Send + 'static,
    T: Send + 'static,
{
    let promise = match signal {
        Signal::Absent => completion::spawn(env, work, move |env, outcome| {
            errors::settle(env, outcome, to_js)
        })?,
        Signal::Aborted(reason) => {
            js::rejected_promise(env, errors::abort_error(env, operation, Some(reason))?)?
        }
        Signal::Live(listening) => {
            let guarded = listening.guard(work);
            completion::spawn(env, guarded, move |env, finished| {
                let reason = listening.finish(env);
                match finished {
                    Some(outcome) => errors::settle(env, outcome, to_js),
                    None => Ok(Settlement::Reject(errors::abort_error(
                        env,
                        operation,
                        reason.ok(),
                    )?)),
                }
            })?
        }
    };
    Ok(Resolved(promise))
}
