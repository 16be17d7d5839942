//! Temporary credentials, cached and refreshed ahead of their expiry.
//!
//! - Held credentials are used until 15 minutes before they expire (the
//!   stale time of Aliyun's own SDKs); after that the next call refreshes.
//! - One refresh at a time: however many calls wait, one request goes out,
//!   and every waiter takes its result (success or failure).
//! - A failed refresh keeps serving the held credentials while they have
//!   not expired, and tries again no sooner than 10 seconds later.

use std::sync::{Arc, Mutex};

use crate::config::Credentials;
use crate::credentials::{BoxFuture, FetchCredentials, ProvideCredentials};
use crate::error::SdkError;
use crate::timefmt::unix_now_ms;

/// How long before expiry credentials count as stale.
pub const REFRESH_AHEAD_MS: i64 = 15 * 60 * 1000;
/// After a failed refresh, how long the held credentials serve before the next try.
pub const RETRY_AFTER_FAILURE_MS: i64 = 10_000;

#[derive(Default)]
struct State {
    held: Option<(Arc<Credentials>, Option<i64>)>,
    /// No refresh before this instant (set after a failure).
    retry_at_ms: i64,
    /// Counts finished fetches, so a waiter can tell one happened meanwhile.
    attempts: u64,
    /// The last fetch's error, shared with the calls that waited for it.
    last_error: Option<SdkError>,
}

/// A source wrapped in the cache.
pub struct Refreshing<F> {
    source: F,
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
    clock: fn() -> i64,
}

impl<F: FetchCredentials> std::fmt::Debug for Refreshing<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshing")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl<F: FetchCredentials> Refreshing<F> {
    /// Caches `source` on the wall clock.
    pub fn new(source: F) -> Self {
        Refreshing::with_clock(source, unix_now_ms)
    }

    /// Caches `source` on `clock` (ms since the epoch), for tests.
    pub fn with_clock(source: F, clock: fn() -> i64) -> Self {
        Refreshing {
            source,
            state: Mutex::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
            clock,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The held credentials when they need no refresh now.
    fn fresh(&self, now: i64) -> Option<Arc<Credentials>> {
        let state = self.state();
        let (credentials, expires_at) = state.held.as_ref()?;
        let usable = match *expires_at {
            None => true,
            Some(expiry) => {
                now < expiry - REFRESH_AHEAD_MS || (now < expiry && now < state.retry_at_ms)
            }
        };
        usable.then(|| Arc::clone(credentials))
    }

    async fn refresh(&self) -> Result<Arc<Credentials>, SdkError> {
        let seen_attempts = self.state().attempts;
        let _only_one = self.refresh.lock().await;
        if let Some(credentials) = self.fresh((self.clock)()) {
            return Ok(credentials);
        }
        {
            // A fetch finished while this call waited and left nothing
            // usable: its error is this call's answer too.
            let state = self.state();
            if state.attempts != seen_attempts {
                if let Some(err) = &state.last_error {
                    return Err(err.clone());
                }
            }
        }
        let outcome = self.source.fetch().await;
        let now = (self.clock)();
        let mut state = self.state();
        state.attempts += 1;
        match outcome {
            Ok(fetched) => {
                let credentials = Arc::new(fetched.credentials);
                state.held = Some((Arc::clone(&credentials), fetched.expires_at_ms));
                state.retry_at_ms = 0;
                state.last_error = None;
                Ok(credentials)
            }
            Err(err) => {
                let still_valid = match &state.held {
                    Some((credentials, expiry)) if expiry.is_none_or(|e| now < e) => {
                        Some(Arc::clone(credentials))
                    }
                    _ => None,
                };
                match still_valid {
                    Some(credentials) => {
                        state.retry_at_ms = now + RETRY_AFTER_FAILURE_MS;
                        state.last_error = None;
                        Ok(credentials)
                    }
                    None => {
                        state.last_error = Some(err.clone());
                        Err(err)
                    }
                }
            }
        }
    }
}

impl<F: FetchCredentials> ProvideCredentials for Refreshing<F> {
    fn current(&self) -> Option<Arc<Credentials>> {
        self.fresh((self.clock)())
    }

    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>> {
        Box::pin(async move {
            match self.fresh((self.clock)()) {
                Some(credentials) => Ok(credentials),
                None => self.refresh().await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{failed, Fetched};
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::time::Duration;

    static NOW: AtomicI64 = AtomicI64::new(0);
    fn test_clock() -> i64 {
        NOW.load(Ordering::SeqCst)
    }

    /// Hands out `STS.<n>` valid for `lifetime_ms`, or fails while `failing` is set.
    #[derive(Debug, Default)]
    struct Counter {
        fetches: AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
        lifetime_ms: i64,
        delay_ms: u64,
    }

    impl FetchCredentials for Counter {
        fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SdkError>> {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
                let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
                if self.failing.load(Ordering::SeqCst) {
                    return Err(failed(format!("fetch {n} refused")));
                }
                Ok(Fetched {
                    credentials: Credentials {
                        access_key_id: format!("STS.{n}"),
                        access_key_secret: "secret".into(),
                        security_token: Some("token".into()),
                    },
                    expires_at_ms: Some(test_clock() + self.lifetime_ms),
                })
            })
        }
    }

    const HOUR: i64 = 3_600_000;

    // One test drives the shared clock through every rule in turn, so no
    // two tests race on it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn caches_refreshes_ahead_keeps_valid_keys_on_failure_and_shares_one_fetch() {
        NOW.store(1_000 * HOUR, Ordering::SeqCst);
        let cache = Arc::new(Refreshing::with_clock(
            Counter {
                lifetime_ms: HOUR,
                delay_ms: 50,
                ..Counter::default()
            },
            test_clock,
        ));
        assert!(cache.current().is_none());

        // 100 concurrent first calls: one fetch, one answer for all.
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.get().await.map(|c| c.access_key_id.clone()) })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap(), "STS.1");
        }
        assert_eq!(cache.source.fetches.load(Ordering::SeqCst), 1);

        // Fresh until 15 minutes before expiry, then refreshed.
        NOW.fetch_add(HOUR - REFRESH_AHEAD_MS - 1, Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().access_key_id, "STS.1");
        NOW.fetch_add(1, Ordering::SeqCst);
        assert!(
            cache.current().is_none(),
            "stale credentials are not handed out without a refresh"
        );
        assert_eq!(cache.get().await.unwrap().access_key_id, "STS.2");
        assert_eq!(cache.source.fetches.load(Ordering::SeqCst), 2);

        // A failed refresh keeps the unexpired credentials, and waits before trying again.
        cache.source.failing.store(true, Ordering::SeqCst);
        NOW.fetch_add(HOUR - REFRESH_AHEAD_MS + 1, Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().access_key_id, "STS.2");
        assert_eq!(cache.source.fetches.load(Ordering::SeqCst), 3);
        assert_eq!(cache.get().await.unwrap().access_key_id, "STS.2");
        assert_eq!(
            cache.source.fetches.load(Ordering::SeqCst),
            3,
            "no new try inside the back-off"
        );
        NOW.fetch_add(RETRY_AFTER_FAILURE_MS, Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().access_key_id, "STS.2");
        assert_eq!(cache.source.fetches.load(Ordering::SeqCst), 4);

        // Once expired, a failure is the answer, and concurrent callers share it.
        NOW.fetch_add(REFRESH_AHEAD_MS, Ordering::SeqCst);
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.get().await.map(|c| c.access_key_id.clone()) })
            })
            .collect();
        for call in calls {
            assert_eq!(
                call.await.unwrap().unwrap_err().code(),
                "SDK.CredentialsFailed"
            );
        }
        assert_eq!(
            cache.source.fetches.load(Ordering::SeqCst),
            5,
            "one failing fetch for all waiters"
        );

        // Recovery.
        cache.source.failing.store(false, Ordering::SeqCst);
        assert_eq!(cache.get().await.unwrap().access_key_id, "STS.6");
    }
}
