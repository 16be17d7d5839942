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

/// A short busy window for the worker after call activity.
///
/// Between sending a request and reading its reply, and between one call and
/// the next, the worker would otherwise sleep in the kernel, and each arrival
/// would need a thread wake-up: tens of microseconds on a virtual machine,
/// a large share of a call at low concurrency. For a window after each bit
/// of progress a spinner task keeps yielding instead, so the worker polls
/// its sockets (without blocking) and its queue; after the window it sleeps
/// as before, so an idle process burns nothing. `PLS_NATIVE_SPIN_US` sets
/// the window in microseconds; 0 turns it off.
pub mod spin {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::Instant;

    /// The default window: about one loopback round trip to a busy server.
    const DEFAULT_WINDOW_US: u64 = 200;
    /// The longest window allowed, whatever the variable says.
    const MAX_WINDOW_US: u64 = 10_000;

    /// The end of the window, in nanoseconds since [`epoch`].
    static UNTIL: AtomicU64 = AtomicU64::new(0);
    /// Whether the spinner task is running.
    static RUNNING: AtomicBool = AtomicBool::new(false);

    fn epoch() -> Instant {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        *EPOCH.get_or_init(Instant::now)
    }

    fn now_nanos() -> u64 {
        epoch().elapsed().as_nanos() as u64
    }

    fn window_nanos() -> u64 {
        static WINDOW: OnceLock<u64> = OnceLock::new();
        *WINDOW.get_or_init(|| {
            std::env::var("PLS_NATIVE_SPIN_US")
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .unwrap_or(DEFAULT_WINDOW_US)
                .min(MAX_WINDOW_US)
                * 1_000
        })
    }

    /// Called on the runtime whenever a call makes progress: extends the
    /// window and starts the spinner unless it is running.
    pub fn touch() {
        let window = window_nanos();
        if window == 0 {
            return;
        }
        UNTIL.store(now_nanos() + window, Ordering::Relaxed);
        if !RUNNING.swap(true, Ordering::AcqRel) {
            tokio::spawn(spinner());
        }
    }

    async fn spinner() {
        loop {
            if now_nanos() >= UNTIL.load(Ordering::Relaxed) {
                RUNNING.store(false, Ordering::Release);
                // A touch between the check and the store saw the spinner
                // running and left the new window to it: take it up unless
                // another spinner already has.
                let extended = now_nanos() < UNTIL.load(Ordering::Relaxed);
                if !extended || RUNNING.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
            // A yielded task runs again after the worker has polled its
            // sockets with a zero timeout, so the worker never parks.
            tokio::task::yield_now().await;
        }
    }
}
