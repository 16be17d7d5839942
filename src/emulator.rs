//! `startEmulator(configJson)`: the pls-emulator crate served from inside
//! Node, on the addon's tokio runtime, for tests and the demo.

use std::sync::Mutex;

use napi::bindgen_prelude::PromiseRaw;
use napi::{Env, Result};
use napi_derive::napi;

use pls_emulator::{EmulatorConfig, RunningEmulator};

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
    pub fn stop<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        env.spawn_future(async move {
            if let Some(running) = running {
                running.stop().await;
            }
            Ok(())
        })
    }
}

/// Starts an emulator from its JSON config (see `emulator.d.ts`).
#[napi]
pub fn start_emulator<'env>(env: &'env Env, config_json: String) -> Result<PromiseRaw<'env, EmulatorHandle>> {
    let config: EmulatorConfig = serde_json::from_str(&config_json)
        .map_err(|err| napi::Error::new(napi::Status::InvalidArg, format!("emulator options: {err}")))?;
    env.spawn_future(async move {
        let running = pls_emulator::start(config)
            .await
            .map_err(|err| napi::Error::new(napi::Status::GenericFailure, err.to_string()))?;
        Ok(EmulatorHandle { url: running.url(), running: Mutex::new(Some(running)) })
    })
}
