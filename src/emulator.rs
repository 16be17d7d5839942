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
    running: Mutex<Option<RunningEmulator>>,
}

#[napi]
impl EmulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:43123`.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Stops serving; resolves once the listener is closed. Idempotent.
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
                if let Some(running) = running {
                    running.stop().await;
                }
            },
            |env, ()| Ok(Settlement::Resolve(js::undefined(env)?)),
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
