//! `receiveMsg` and its companions: JS arguments in, the original's
//! `{ code, headers, body }` out. The MNS work is in `pls_core::queue`.

use std::sync::Arc;

use napi::sys::{napi_env, napi_value};
use napi::{Env, Result};

use pls_core::{MnsReply, PlsClient};

use crate::{completion, errors, js, Resolved};

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
/// and 0 means no wait parameter, `isDel` by truthiness.
pub struct ReceiveArgs {
    msg_type: u32,
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
        let kind = number(msg_type)?;
        // Out of range stays out of range (u32::MAX), so the core names it.
        let msg_type = if kind.fract() == 0.0 && (0.0..3.0).contains(&kind) {
            kind as u32
        } else {
            u32::MAX
        };
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
            msg_type,
            queue_name: js::to_string(env, queue_name)?,
            wait_seconds,
            delete,
        })
    }
}

/// Long-polls the queue of the message type; deletes the message first when asked.
pub fn receive(env: &Env, client: Arc<PlsClient>, args: ReceiveArgs) -> Result<Resolved> {
    let promise = completion::spawn(
        env.raw(),
        async move {
            client
                .receive_msg(
                    args.msg_type,
                    &args.queue_name,
                    args.wait_seconds,
                    args.delete,
                )
                .await
        },
        |env, outcome| errors::settle(env, outcome, |env, reply| reply_to_js(env, &reply)),
    )?;
    Ok(Resolved(promise))
}

/// Deletes one received message by its ReceiptHandle; resolves to undefined.
pub fn delete(
    env: &Env,
    client: Arc<PlsClient>,
    args: ReceiveArgs,
    receipt_handle: String,
) -> Result<Resolved> {
    let promise = completion::spawn(
        env.raw(),
        async move {
            client
                .delete_msg(args.msg_type, &args.queue_name, &receipt_handle)
                .await
        },
        |env, outcome| errors::settle(env, outcome, |env, ()| js::undefined(env)),
    )?;
    Ok(Resolved(promise))
}
