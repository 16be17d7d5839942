//! `startEmulator(configJson)`: the pls-emulator crate served from inside
//! Node, on the addon's runtime, for tests and the demo.

use std::sync::Mutex;

use napi::bindgen_prelude::ToNapiValue;
use napi::{Env, Result};
use napi_derive::napi;

use pls_emulator::{EmulatorConfig, RunningEmulator};

use crate::completion::{self, Settlement};
use crate::{js, Resolved};

/// A running emulator. Dropping it (or `stop()`) closes the listener.
#[napi]
pub struct EmulatorHandle {
    url: String,
    ca: Option<String>,
    running: Mutex<Option<RunningEmulator>>,
}

#[napi]
impl EmulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:43123`.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The PEM of the CA to trust when serving HTTPS with a certificate
    /// made at start; undefined otherwise.
    #[napi(getter)]
    pub fn ca(&self) -> Option<String> {
        self.ca.clone()
    }

    /// Stops serving; resolves once the listener is closed and the state
    /// file (if any) is written, rejects when it could not be. Idempotent.
    #[napi]
    pub fn stop(&self, env: &Env) -> Result<Resolved> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let promise = completion::spawn(
            env.raw(),
            async move {
                match running {
                    Some(running) => running.stop().await.map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            },
            |env, stopped| match stopped {
                Ok(()) => Ok(Settlement::Resolve(js::undefined(env)?)),
                Err(message) => Ok(Settlement::Reject(js::make_error(env, &message, false)?)),
            },
        )?;
        Ok(Resolved(promise))
    }
}

/// Starts an emulator from its JSON config (see `emulator.d.ts`).
// Only JS calls it; a `cargo test` build of the binding sees no caller.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn start_emulator(env: &Env, config_json: String) -> Result<Resolved> {
    let config: EmulatorConfig = serde_json::from_str(&config_json).map_err(|err| {
        napi::Error::new(napi::Status::InvalidArg, format!("emulator options: {err}"))
    })?;
    let promise =
        completion::spawn(
            env.raw(),
            pls_emulator::start(config),
            |env, started| match started {
                Ok(running) => {
                    let handle = EmulatorHandle {
                        url: running.url(),
                        ca: running.ca_pem(),
                        running: Mutex::new(Some(running)),
                    };
                    // SAFETY: the settle callback runs on the JS thread with its
                    // live env, which is all napi-rs needs to wrap the handle.
                    Ok(Settlement::Resolve(unsafe {
                        EmulatorHandle::to_napi_value(env, handle)?
                    }))
                }
                Err(err) => Ok(Settlement::Reject(js::make_error(
                    env,
                    &err.to_string(),
                    false,
                )?)),
            },
        )?;
    Ok(Resolved(promise))
}

/// Sets or clears `PLS_ENDPOINT` in the process environment, where clients
/// read it. For `pls-native/testing` in test runners whose `process.env` is
/// a copy (Jest's sandbox), so the code under test sees the emulator; the
/// name is fixed, so nothing else can be set through it.
// Only JS calls it; a `cargo test` build of the binding sees no caller.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn set_test_endpoint(url: Option<String>) {
    match url {
        Some(url) => std::env::set_var("PLS_ENDPOINT", url),
        None => std::env::remove_var("PLS_ENDPOINT"),
    }
}
