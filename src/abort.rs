//! `options.signal`: an AbortSignal that cancels a call, as fetch's does.
//!
//! The call's future races a flag that the signal's `abort` listener sets on
//! the JS thread. Whichever wins, the call settles once, from the runtime,
//! through the completion channel: aborting drops the request (which closes
//! its connection) and rejects with an `AbortError`. The listener is removed
//! when the call settles, so a long-lived signal shared by many calls keeps
//! no listener per finished call.

use std::ffi::c_void;
use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::sys::{self, napi_env, napi_value};
use napi::{Error, Result, Status};
use tokio::sync::Notify;

use crate::js;

/// Set once by the signal's listener; the call's future waits on it.
#[derive(Default)]
pub struct AbortFlag {
    aborted: AtomicBool,
    notify: Notify,
}

impl AbortFlag {
    fn raise(&self) {
        self.aborted.store(true, Ordering::Release);
        // One waiter at most (the call); a permit is stored if it is not
        // waiting yet, so an abort is never missed.
        self.notify.notify_one();
    }

    async fn raised(&self) {
        if self.aborted.load(Ordering::Acquire) {
            return;
        }
        self.notify.notified().await;
    }
}

/// What the caller's `options.signal` says about a call about to start.
pub enum Signal {
    /// No signal given.
    Absent,
    /// Already aborted: reject without sending. Holds `signal.reason`.
    Aborted(napi_value),
    /// A live signal with our listener on it.
    Live(Listening),
}

/// The listener on a live signal, and the flag it raises.
pub struct Listening {
    flag: Arc<AbortFlag>,
    signal: sys::napi_ref,
    listener: sys::napi_ref,
}

// SAFETY: the two references are only dereferenced or deleted in `finish`,
// which runs on the JS thread that made them (the completion channel calls
// it there). Elsewhere they are only carried; if the env goes away first the
// settlement is dropped unrun, and the references die with the env.
unsafe impl Send for Listening {}

/// Reads `options.signal`. A value that is not an AbortSignal-like object
/// (with `aborted` and `addEventListener`) is refused.
pub fn read(env: napi_env, options: Option<napi_value>) -> Result<Signal> {
    let Some(options) = options else {
        return Ok(Signal::Absent);
    };
    let kind = js::type_of(env, options)?;
    if kind != sys::ValueType::napi_object && kind != sys::ValueType::napi_function {
        return Ok(Signal::Absent);
    }
    let signal = js::get(env, options, "signal")?;
    if js::is_nullish(env, signal)? {
        return Ok(Signal::Absent);
    }
    let add = match js::type_of(env, signal)? {
        sys::ValueType::napi_object => js::get(env, signal, "addEventListener")?,
        _ => js::undefined(env)?,
    };
    if js::type_of(env, add)? != sys::ValueType::napi_function {
        return Err(Error::new(
            Status::InvalidArg,
            "options.signal must be an AbortSignal".to_owned(),
        ));
    }
    if js::is_truthy(env, js::get(env, signal, "aborted")?)? {
        return Ok(Signal::Aborted(js::get(env, signal, "reason")?));
    }
    listen(env, signal, add).map(Signal::Live)
}

fn listen(env: napi_env, signal: napi_value, add: napi_value) -> Result<Listening> {
    let flag = Arc::new(AbortFlag::default());
    let listener = make_listener(env, &flag)?;
    let options = js::make_object(env)?;
    js::set(env, options, "once", js::boolean(env, true)?)?;
    let abort = js::make_string(env, "abort")?;
    js::call(env, signal, add, &[abort, listener, options])?;
    let signal_ref = js::make_ref(env, signal)?;
    let listener_ref = match js::make_ref(env, listener) {
        Ok(listener_ref) => listener_ref,
        Err(err) => {
            js::delete_ref(env, signal_ref);
            return Err(err);
        }
    };
    Ok(Listening {
        flag,
        signal: signal_ref,
        listener: listener_ref,
    })
}

/// A JS function that raises `flag`; the function owns one count of the Arc,
/// given back by its finalizer when the function is collected.
fn make_listener(env: napi_env, flag: &Arc<AbortFlag>) -> Result<napi_value> {
    let data = Arc::into_raw(Arc::clone(flag)) as *mut c_void;
    let name = "onabort";
    let mut function = ptr::null_mut();
    // SAFETY: `env` is the live env of this JS-thread call; the name pointer
    // and length describe a static str; `data` stays valid while the function
    // lives because the finalizer added below is what releases it.
    let status = unsafe {
        sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(on_abort),
            data,
            &mut function,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: `data` came from `Arc::into_raw` above and nothing else owns it.
        drop(unsafe { Arc::from_raw(data as *const AbortFlag) });
        return Err(Error::new(
            Status::from(status),
            "N-API call failed: create the abort listener".to_owned(),
        ));
    }
    // SAFETY: `function` was just created in this env; `release_flag` takes
    // back exactly the count that `data` holds, once, when it is collected.
    let status = unsafe {
        sys::napi_add_finalizer(
            env,
            function,
            data,
            Some(release_flag),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        // Without a finalizer the count would leak; a listener whose data
        // could dangle must not be handed out either, so fail the call.
        // SAFETY: no finalizer was attached, so this is the only release.
        drop(unsafe { Arc::from_raw(data as *const AbortFlag) });
        return Err(Error::new(
            Status::from(status),
            "N-API call failed: finalize the abort listener".to_owned(),
        ));
    }
    Ok(function)
}

unsafe extern "C" fn on_abort(env: napi_env, info: sys::napi_callback_info) -> napi_value {
    let mut data = ptr::null_mut();
    // SAFETY: N-API calls this with the env and callback info of a live call;
    // null argc/argv/this ask for none of them.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &mut data,
        )
    };
    if status == sys::Status::napi_ok && !data.is_null() {
        // SAFETY: `data` is the pointer given to napi_create_function, kept
        // alive by the function's own count until its finalizer runs, which
        // cannot happen while the function is running.
        let flag = unsafe { &*(data as *const AbortFlag) };
        flag.raise();
    }
    ptr::null_mut()
}

unsafe extern "C" fn release_flag(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the count given to the listener function in
    // `make_listener`; N-API runs a finalizer once.
    drop(unsafe { Arc::from_raw(data as *const AbortFlag) });
}

impl Listening {
    /// Runs `work` until it finishes or the signal aborts (then `None`);
    /// dropping `work` on abort cancels its request and frees the connection.
    pub fn guard<F: Future>(&self, work: F) -> impl Future<Output = Option<F::Output>> {
        let flag = Arc::clone(&self.flag);
        async move {
            tokio::select! {
                biased;
                output = work => Some(output),
                () = flag.raised() => None,
            }
        }
    }

    /// On the JS thread, once the call has settled or is about to: removes
    /// the listener, drops the references, and hands back `signal.reason`.
    pub fn finish(self, env: napi_env) -> Result<napi_value> {
        let signal = js::ref_value(env, self.signal);
        let listener = js::ref_value(env, self.listener);
        js::delete_ref(env, self.signal);
        js::delete_ref(env, self.listener);
        let (signal, listener) = (signal?, listener?);
        let remove = js::get(env, signal, "removeEventListener")?;
        if js::type_of(env, remove)? == sys::ValueType::napi_function {
            let abort = js::make_string(env, "abort")?;
            js::call(env, signal, remove, &[abort, listener])?;
        }
        js::get(env, signal, "reason")
    }
}
