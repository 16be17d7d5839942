//! The tokio runtime the calls run on, sized for the box: Node's own thread
//! is busy converting arguments and settling promises, so one worker (by
//! default) leaves it a core. `PLS_NATIVE_THREADS` overrides.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The process-wide runtime, built on first use.
pub fn get() -> Result<&'static Runtime, String> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let workers = std::env::var("PLS_NATIVE_THREADS")
                .ok()
                .and_then(|text| text.trim().parse::<usize>().ok())
                .filter(|n| (1..=64).contains(n))
                .unwrap_or(1);
            Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("pls-native")
                .enable_all()
                .build()
                .map_err(|err| format!("cannot start the pls-native runtime: {err}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
