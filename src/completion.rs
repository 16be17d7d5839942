//! Settling promises from the runtime: one thread-safe function per JS
//! thread (main or worker) carries every finished call back to it.
//!
//! napi-rs's `spawn_future` creates a thread-safe function (a uv_async
//! handle, a cleanup hook, locks) for every call; that set-up and teardown
//! was a large share of a call's CPU. Here the channel is made once per JS
//! thread, and completions that arrive together are settled in one wake-up.
//!
//! Teardown safety (a worker terminated with calls in flight): the runtime
//! threads reach the thread-safe function only through `Shared`, under its
//! lock. Our env cleanup hook, registered after the function was created and
//! so run before Node's own, takes it out under that lock; a call finishing
//! later finds nothing and drops its result. Nothing the futures own is
//! freed by the env going away.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use napi::sys::{self, napi_env, napi_value};
use napi::{Error, Result, Status};

use crate::{js, runtime};

/// How a finished call settles its promise, computed on the JS thread.
pub enum Settlement {
    /// `resolve(value)`.
    Resolve(napi_value),
    /// `reject(reason)`.
    Reject(napi_value),
}

/// Turns a call's Rust outcome into JS on the JS thread.
type Settle = Box<dyn FnOnce(napi_env) -> Result<Settlement> + Send>;

/// One finished call on its way to the JS thread.
struct Finished {
    /// The promise's `napi_deferred`, only ever touched on its JS thread.
    deferred: usize,
    settle: Settle,
}

/// The thread-safe function, shared with the runtime threads.
struct TsfnHandle(sys::napi_threadsafe_function);
// SAFETY: the handle is only passed to N-API's thread-safe entry points
// (call and release), which are documented as callable from any thread.
unsafe impl Send for TsfnHandle {}

type Shared = Arc<Mutex<Option<TsfnHandle>>>;

/// JS-thread state behind the thread-safe function's context pointer.
struct JsThreadState {
    tsfn: Cell<sys::napi_threadsafe_function>,
    /// Calls not yet settled: the channel keeps Node's loop alive only while > 0.
    pending: Cell<usize>,
}

/// This JS thread's channel.
#[derive(Clone)]
struct Channel {
    shared: Shared,
    state: *const JsThreadState,
}

thread_local! {
    static CHANNEL: RefCell<Option<Channel>> = const { RefCell::new(None) };
}

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

fn channel(env: napi_env) -> Result<Channel> {
    if let Some(channel) = CHANNEL.with(|slot| slot.borrow().clone()) {
        return Ok(channel);
    }
    let state = Box::into_raw(Box::new(JsThreadState {
        tsfn: Cell::new(ptr::null_mut()),
        pending: Cell::new(0),
    }));
    let name = js::make_string(env, "pls-native")?;
    let mut tsfn = ptr::null_mut();
    let created = check(
        // SAFETY: `env` is this JS thread's env; `state` is a live heap
        // allocation handed over as both the finalize data (freed by
        // `free_state` when the function is finalized) and the call context.
        unsafe {
            sys::napi_create_threadsafe_function(
                env,
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                state.cast(),
                Some(free_state),
                state.cast(),
                Some(settle_on_js_thread),
                &mut tsfn,
            )
        },
        "create the completion channel",
    );
    if let Err(err) = created {
        // SAFETY: creation failed, so no finalizer owns `state`; this is its only owner.
        drop(unsafe { Box::from_raw(state) });
        return Err(err);
    }
    // SAFETY: `state` stays allocated until the function is finalized, which
    // cannot happen before this function returns (we hold no release yet).
    unsafe { (*state).tsfn.set(tsfn) };
    // Idle until a call is in flight: an unused client never holds the process open.
    // SAFETY: `tsfn` was just created on this thread, in this env.
    check(
        unsafe { sys::napi_unref_threadsafe_function(env, tsfn) },
        "unref the completion channel",
    )?;
    let shared: Shared = Arc::new(Mutex::new(Some(TsfnHandle(tsfn))));
    let hook_arg = Arc::into_raw(Arc::clone(&shared)) as *mut c_void;
    // SAFETY: `hook_arg` is one count of `shared`, taken back by `close_on_teardown`.
    let hooked = check(
        unsafe { sys::napi_add_env_cleanup_hook(env, Some(close_on_teardown), hook_arg) },
        "add cleanup hook",
    );
    if let Err(err) = hooked {
        // SAFETY: the hook was not added, so this count has no other owner.
        drop(unsafe { Arc::from_raw(hook_arg as *const Mutex<Option<TsfnHandle>>) });
        return Err(err);
    }
    let channel = Channel { shared, state };
    CHANNEL.with(|slot| *slot.borrow_mut() = Some(channel.clone()));
    Ok(channel)
}

/// Runs `future` on the runtime and returns a promise that `to_js` settles
/// with its output, on this JS thread.
pub fn spawn<F, T, S>(env: napi_env, future: F, to_js: S) -> Result<napi_value>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    S: FnOnce(napi_env, T) -> Result<Settlement> + Send + 'static,
{
    let runtime = runtime::get().map_err(|reason| Error::new(Status::GenericFailure, reason))?;
    let channel = channel(env)?;
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: `env` is this JS thread's env; both out-pointers outlive the call.
    check(
        unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) },
        "create promise",
    )?;

    // SAFETY: `state` lives until the channel's function is finalized, which
    // only happens at env teardown, after which no JS callback runs here.
    let state = unsafe { &*channel.state };
    let pending = state.pending.get();
    if pending == 0 {
        // SAFETY: the function belongs to this thread's env.
        let held = check(
            unsafe { sys::napi_ref_threadsafe_function(env, state.tsfn.get()) },
            "ref the completion channel",
        );
        if let Err(err) = held {
            // Without the loop held open the promise could outlive the
            // process silently; settle it now instead of spawning.
            reject_deferred_now(env, deferred, &err);
            return Ok(promise);
        }
    }
    state.pending.set(pending + 1);

    runtime.spawn(Delivery {
        work: future,
        settle: Some((channel.shared, deferred as usize, to_js)),
    });
    Ok(promise)
}

fn deliver(shared: &Shared, finished: Box<Finished>) {
    let guard = shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let data = Box::into_raw(finished);
    let queued = match guard.as_ref() {
        Some(tsfn) => {
            // SAFETY: under the lock the handle is still open (teardown takes
            // it out under the same lock before releasing it); on success the
            // callback owns `data`.
            let status = unsafe {
                sys::napi_call_threadsafe_function(
                    tsfn.0,
                    data.cast(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
            status == sys::Status::napi_ok
        }
        None => false,
    };
    if !queued {
        // The JS thread is gone (a terminated worker): nobody awaits this.
        // SAFETY: the call was not queued, so `data` is still ours alone.
        drop(unsafe { Box::from_raw(data) });
    }
}

/// A reason to reject with when making the real one failed: the pending JS
/// exception, else an Error naming the failure, else `undefined`. Never
/// null, which N-API refuses (and the promise would stay pending).
fn fallback_reason(env: napi_env, err: &Error) -> napi_value {
    if let Some(exception) = js::take_exception(env) {
        return exception;
    }
    if let Ok(error) = js::make_error(env, &format!("pls-native: {}", err.reason), false) {
        return error;
    }
    let _ = js::take_exception(env);
    let mut undefined = ptr::null_mut();
    // SAFETY: `env` is the live env of this JS-thread callback.
    let status = unsafe { sys::napi_get_undefined(env, &mut undefined) };
    if status != sys::Status::napi_ok {
        // Only an env in teardown fails here; the caller checks the reject.
        return ptr::null_mut();
    }
    undefined
}

/// Rejects `deferred` at once because setting up its call failed.
fn reject_deferred_now(env: napi_env, deferred: sys::napi_deferred, err: &Error) {
    let reason = fallback_reason(env, err);
    // SAFETY: `deferred` is unsettled and belongs to this env.
    let _ = check(
        unsafe { sys::napi_reject_deferred(env, deferred, reason) },
        "reject promise",
    );
}

/// Settles `deferred` by `settlement`, and if N-API refuses that (an
/// exception pending, a value it will not take), rejects it with a reason
/// that cannot be refused: every promise settles.
fn settle_deferred(env: napi_env, deferred: sys::napi_deferred, settlement: Settlement) {
    // SAFETY: `deferred` is unsettled and belongs to this env; the values
    // are live handles of this callback's scope.
    let status = unsafe {
        match settlement {
            Settlement::Resolve(value) => sys::napi_resolve_deferred(env, deferred, value),
            Settlement::Reject(reason) => sys::napi_reject_deferred(env, deferred, reason),
        }
    };
    if status == sys::Status::napi_ok {
        return;
    }
    // A refused settle leaves the deferred unsettled (N-API frees it only on
    // success), so a second attempt is sound.
    let reason = fallback_reason(
        env,
        &Error::new(
            Status::from(status),
            "the promise could not be settled".to_owned(),
        ),
    );
    // SAFETY: as above; `deferred` is still unsettled.
    let status = unsafe { sys::napi_reject_deferred(env, deferred, reason) };
    // The last resort failed too: only an env in teardown gets here, and its
    // promises are gone with it.
    let _ = status;
}

unsafe extern "C" fn settle_on_js_thread(
    env: napi_env,
    _js_callback: napi_value,
    context: *mut c_void,
    data: *mut c_void,
) {
    // SAFETY: `data` is the `Finished` that `deliver` queued; the queue hands
    // each item to exactly one call of this function.
    let finished = unsafe { Box::from_raw(data.cast::<Finished>()) };
    if env.is_null() {
        // The channel is being torn down with this call still queued.
        return;
    }
    let deferred = finished.deferred as sys::napi_deferred;
    let settlement = match (finished.settle)(env) {
        Ok(settlement) => settlement,
        Err(err) => Settlement::Reject(fallback_reason(env, &err)),
    };
    settle_deferred(env, deferred, settlement);
    // SAFETY: `context` is the `JsThreadState` given at creation, freed only
    // by the finalizer, which does not run while a call is being delivered.
    let state = unsafe { &*context.cast::<JsThreadState>() };
    let pending = state.pending.get().saturating_sub(1);
    state.pending.set(pending);
    if pending == 0 {
        // SAFETY: the function belongs to this thread's env.
        let status = unsafe { sys::napi_unref_threadsafe_function(env, state.tsfn.get()) };
        // If it fails the loop stays held one call longer; the next settle unrefs again.
        let _ = status;
    }
}

unsafe extern "C" fn free_state(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `JsThreadState` boxed in `channel`; N-API runs
    // the finalizer once, after the last call was delivered.
    drop(unsafe { Box::from_raw(data.cast::<JsThreadState>()) });
}

unsafe extern "C" fn close_on_teardown(arg: *mut c_void) {
    // SAFETY: `arg` is the count of `Shared` given in `channel`; the hook runs once.
    let shared = unsafe { Arc::from_raw(arg as *const Mutex<Option<TsfnHandle>>) };
    let taken = shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(tsfn) = taken {
        // SAFETY: the handle was taken out under the lock, so no runtime
        // thread can call it any more; releasing it once is its last use.
        let status = unsafe {
            sys::napi_release_threadsafe_function(tsfn.0, sys::ThreadsafeFunctionReleaseMode::abort)
        };
        // The env is ending: a refused release is freed with it.
        let _ = status;
    }
    CHANNEL.with(|slot| slot.borrow_mut().take());
}

/// A call's future and what settles its promise: polled to the end, then
/// its output goes to the JS thread. A panic while polling it becomes a
/// rejection instead of unwinding into the runtime.
///
/// Written out rather than as an `async` block: an async block that owns a
/// future and awaits it keeps two copies of it in the task, and the task's
/// size is copied several times per call and decides whether its allocation
/// takes malloc's slow path for large blocks.
struct Delivery<F, S> {
    work: F,
    /// The channel, the promise's `napi_deferred` and the JS conversion;
    /// taken when the work finishes.
    settle: Option<(Shared, usize, S)>,
}

impl<F, T, S> Future for Delivery<F, S>
where
    F: Future<Output = T>,
    T: Send + 'static,
    S: FnOnce(napi_env, T) -> Result<Settlement> + Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: structural pinning of `work` only: it is never moved out
        // of the pinned `Delivery` (which has no Drop impl); `settle` is not
        // pinned and is only ever taken by value.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `work` stays where it is until dropped in place.
        let work = unsafe { Pin::new_unchecked(&mut this.work) };
        // Progress: keep the worker awake a little longer (see runtime::spin).
        runtime::spin::touch();
        let outcome = match catch_unwind(AssertUnwindSafe(|| work.poll(cx))) {
            Ok(Poll::Ready(output)) => Ok(output),
            Ok(Poll::Pending) => return Poll::Pending,
            Err(_) => Err(()),
        };
        let Some((shared, deferred, to_js)) = this.settle.take() else {
            return Poll::Ready(());
        };
        let settle: Settle = match outcome {
            Ok(output) => Box::new(move |env| to_js(env, output)),
            Err(()) => Box::new(|env| {
                Ok(Settlement::Reject(js::make_error(
                    env,
                    "pls-native: internal error (a panic was caught)",
                    false,
                )?))
            }),
        };
        deliver(&shared, Box::new(Finished { deferred, settle }));
        Poll::Ready(())
    }
}
