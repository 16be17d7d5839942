//! Temporary queue credentials, cached per message type.
//!
//! As the original: one token per message type, kept 10 minutes and
//! refreshed once less than 2 minutes remain. Beyond it: concurrent callers
//! for one type share one token request, and a token that turned out stale
//! can be dropped without dropping a newer one.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex as AsyncMutex;

use crate::config::Credentials;
use crate::error::SdkError;
use crate::message_type::MessageType;

/// How long the original trusts a queue token.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A token with this much life left, or less, is replaced before use.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(2 * 60);

/// Where the cache reads the time; tests substitute one they can move.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Queue tokens per message type. Each type has its own async lock, held
/// across a token request, so concurrent callers wait for one request
/// instead of each making their own.
pub struct TokenCache {
    slots: [AsyncMutex<Option<CachedToken>>; MessageType::ALL.len()],
    clock: Clock,
    next_generation: AtomicU64,
}

struct CachedToken {
    credentials: Arc<Credentials>,
    expires_at: Instant,
    generation: u64,
}

impl CachedToken {
    /// The original's rule: usable while more than 2 minutes remain.
    fn usable_at(&self, now: Instant) -> bool {
        self.expires_at.saturating_duration_since(now) > TOKEN_REFRESH_MARGIN
    }
}

/// A token handed to one call.
#[derive(Debug, Clone)]
pub struct TokenLease {
    /// The credentials to sign with.
    pub credentials: Arc<Credentials>,
    /// True when this call's own request fetched it (so a fresh one would not differ).
    pub fetched: bool,
    generation: u64,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only whether a type holds a token: the credentials stay out of logs.
        let cached: Vec<&str> = MessageType::ALL
            .iter()
            .filter(
                |kind| matches!(self.slots[kind.index()].try_lock(), Ok(slot) if slot.is_some()),
            )
            .map(|kind| kind.name())
            .collect();
        f.debug_struct("TokenCache")
            .field("cached", &cached)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// An empty cache on the monotonic clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(Instant::now))
    }

    /// An empty cache reading the time from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        TokenCache {
            slots: std::array::from_fn(|_| AsyncMutex::new(None)),
            clock,
            next_generation: AtomicU64::new(1),
        }
    }

    /// The cached token for `kind` if still usable, else the one `fetch`
    /// gets (kept for [`TOKEN_LIFETIME`] from when it arrived). A failed
    /// fetch caches nothing; the next caller tries again.
    pub async fn lease<F, Fut>(&self, kind: MessageType, fetch: F) -> Result<TokenLease, SdkError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Credentials, SdkError>>,
    {
        let mut slot = self.slots[kind.index()].lock().await;
        if let Some(token) = slot
            .as_ref()
            .filter(|token| token.usable_at((self.clock)()))
        {
            return Ok(TokenLease {
                credentials: token.credentials.clone(),
                fetched: false,
                generation: token.generation,
            });
        }
        let credentials = Arc::new(fetch().await?);
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        *slot = Some(CachedToken {
            credentials: credentials.clone(),
            expires_at: (self.clock)() + TOKEN_LIFETIME,
            generation,
        });
        Ok(TokenLease {
            credentials,
            fetched: true,
            generation,
        })
    }

    /// Drops `lease`'s token, unless another caller has already replaced it.
    pub async fn forget(&self, kind: MessageType, lease: &TokenLease) {
        let mut slot = self.slots[kind.index()].lock().await;
        if slot
            .as_ref()
            .is_some_and(|token| token.generation == lease.generation)
        {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct FakeClock {
        start: Instant,
        offset_ms: AtomicU64,
    }

    impl FakeClock {
        fn new() -> Arc<Self> {
            Arc::new(FakeClock {
                start: Instant::now(),
                offset_ms: AtomicU64::new(0),
            })
        }
        fn set(&self, at: Duration) {
            self.offset_ms
                .store(at.as_millis() as u64, Ordering::SeqCst);
        }
        fn as_clock(self: &Arc<Self>) -> Clock {
            let me = self.clone();
            Arc::new(move || me.start + Duration::from_millis(me.offset_ms.load(Ordering::SeqCst)))
        }
    }

    fn temp(id: &str) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            access_key_secret: "tempsecret".into(),
            security_token: Some("temptoken".into()),
        }
    }

    async fn lease_counting(
        cache: &TokenCache,
        kind: MessageType,
        fetches: &AtomicUsize,
    ) -> TokenLease {
        cache
            .lease(kind, || async {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(temp(&format!("STS.{n}")))
            })
            .await
            .unwrap()
    }

    fn mins(m: u64, s: u64) -> Duration {
        Duration::from_secs(m * 60 + s)
    }

    #[tokio::test]
    async fn a_token_is_reused_until_two_minutes_remain() {
        let clock = FakeClock::new();
        let cache = TokenCache::with_clock(clock.as_clock());
        let fetches = AtomicUsize::new(0);
        let kind = MessageType::SecretReport;

        let first = lease_counting(&cache, kind, &fetches).await;
        assert!(first.fetched);
        clock.set(mins(7, 59));
        let reused = lease_counting(&cache, kind, &fetches).await;
        assert!(!reused.fetched);
        assert_eq!(reused.credentials.access_key_id, "STS.1");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // At 8:00 exactly 2 minutes remain, which is not "more than 2" (the original's `>`).
        clock.set(mins(8, 0));
        let refreshed = lease_counting(&cache, kind, &fetches).await;
        assert!(refreshed.fetched);
        assert_eq!(refreshed.credentials.access_key_id, "STS.2");

        // The new token's 10 minutes count from when it arrived.
        clock.set(mins(15, 59));
        assert!(!lease_counting(&cache, kind, &fetches).await.fetched);
        clock.set(mins(16, 1));
        assert!(lease_counting(&cache, kind, &fetches).await.fetched);
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_token_past_eight_minutes_is_replaced() {
        let clock = FakeClock::new();
        let cache = TokenCache::with_clock(clock.as_clock());
        let fetches = AtomicUsize::new(0);
        lease_counting(&cache, MessageType::SecretRecording, &fetches).await;
        clock.set(mins(8, 1));
        assert!(
            lease_counting(&cache, MessageType::SecretRecording, &fetches)
                .await
                .fetched
        );
        clock.set(mins(60, 0));
        assert!(
            lease_counting(&cache, MessageType::SecretRecording, &fetches)
                .await
                .fetched
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn each_type_has_its_own_token() {
        let cache = TokenCache::new();
        let fetches = AtomicUsize::new(0);
        for kind in MessageType::ALL {
            assert!(lease_counting(&cache, kind, &fetches).await.fetched);
        }
        for kind in MessageType::ALL {
            assert!(!lease_counting(&cache, kind, &fetches).await.fetched);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), MessageType::ALL.len());
        let text = format!("{cache:?}");
        assert!(
            text.contains("SecretSmsIntercept")
                && !text.contains("tempsecret")
                && !text.contains("temptoken"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_failed_fetch_caches_nothing() {
        let cache = TokenCache::new();
        let err = cache
            .lease(MessageType::SecretReport, || async {
                Err(SdkError::TokenFailed)
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "SDK.TokenFailed");
        let fetches = AtomicUsize::new(0);
        assert!(
            lease_counting(&cache, MessageType::SecretReport, &fetches)
                .await
                .fetched
        );
    }

    #[tokio::test]
    async fn forgetting_an_old_lease_keeps_a_newer_token() {
        let cache = TokenCache::new();
        let fetches = AtomicUsize::new(0);
        let kind = MessageType::SecretReport;
        let old = lease_counting(&cache, kind, &fetches).await;
        cache.forget(kind, &old).await;
        let newer = lease_counting(&cache, kind, &fetches).await;
        assert!(newer.fetched);
        // A second caller that also held the old token must not drop the new one.
        cache.forget(kind, &old).await;
        assert!(!lease_counting(&cache, kind, &fetches).await.fetched);
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_leases_share_one_fetch() {
        let cache = Arc::new(TokenCache::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .lease(MessageType::SecretReport, || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(temp("STS.shared"))
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().credentials.access_key_id, "STS.shared");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
