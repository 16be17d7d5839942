//! When a failed RPC call may be made again, and how long to wait first.
//!
//! A retry is only safe when the first request cannot have changed anything:
//! the connection was never established, or the service answered that it
//! did nothing (throttled, flow-limited, unavailable). A read-only action
//! (Query*, Get*, List*) may also be repeated after a timeout or an HTTP 5xx;
//! a mutating action whose request may have reached the server never is.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::error::{SdkError, TimeoutPhase};

/// Retries after the first attempt unless the client or the call says otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The first backoff's ceiling; each further retry doubles it.
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);

/// No backoff waits longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// A server's `x-acs-retry-after` (milliseconds) is honoured up to this.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// The header in which the gateway says how long to wait, in milliseconds.
pub const RETRY_AFTER_HEADER: &str = "x-acs-retry-after";

/// Actions that only read: repeating one cannot change anything.
pub fn is_read_only(action: &str) -> bool {
    ["Query", "Get", "List"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
}

/// Codes with which the service says it did nothing with the request.
pub fn service_did_nothing(code: &str) -> bool {
    code.starts_with("Throttling") || code == "isv.FLOW_LIMIT" || code == "ServiceUnavailable"
}

/// Whether a call of `action` that failed with `err` may be made again.
pub fn may_retry(action: &str, err: &SdkError) -> bool {
    match err {
        // The request never left: nothing can have happened.
        SdkError::Connect { .. }
        | SdkError::Proxy { .. }
        | SdkError::Timeout {
            phase: TimeoutPhase::Connect,
            ..
        } => true,
        SdkError::Api { code, .. } if service_did_nothing(code) => true,
        // The caller's own limit on the whole call.
        SdkError::Timeout {
            phase: TimeoutPhase::Total,
            ..
        } => false,
        _ => is_read_only(action) && may_have_acted(err),
    }
}

/// Whether the request may have reached the service and been acted on,
/// with no answer that says: a read timeout, a connection broken before
/// the reply was read, an error page or error from a server in trouble
/// (5xx). A read-only action is retried after these; a state-changing one
/// never is, and its error says the outcome is unknown.
pub fn may_have_acted(err: &SdkError) -> bool {
    match err {
        SdkError::Timeout {
            phase: TimeoutPhase::Read | TimeoutPhase::Total,
            ..
        }
        | SdkError::Network { .. } => true,
        SdkError::InvalidResponse { status, .. } => *status >= 500,
        SdkError::Api { code, entry, .. } => {
            !service_did_nothing(code) && entry.as_ref().is_some_and(|e| e.status >= 500)
        }
        _ => false,
    }
}

/// Whether a call of `action` that failed with `err` may or may not have
/// changed something: a state-changing action whose request may have
/// been acted on (see [`may_have_acted`]). Checking (a `Query*` call)
/// before doing it again is the caller's part.
pub fn outcome_unknown(action: &str, err: &SdkError) -> bool {
    !is_read_only(action) && may_have_acted(err)
}

/// The wait before retry number `retry` (1 for the first): the server's
/// `x-acs-retry-after` when it sent one, else exponential backoff with full
/// jitter (a uniformly random wait up to `min(cap, base * 2^(retry-1))`).
pub fn delay(retry: u32, err: &SdkError) -> Duration {
    if let Some(wait) = retry_after(err) {
        return wait;
    }
    full_jitter(retry, random_unit())
}

/// The backoff for `retry` at the point `unit` (in [0, 1)) of its range.
pub fn full_jitter(retry: u32, unit: f64) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// The `x-acs-retry-after` of an API error's reply, in milliseconds, capped.
pub fn retry_after(err: &SdkError) -> Option<Duration> {
    let SdkError::Api {
        entry: Some(entry), ..
    } = err
    else {
        return None;
    };
    let (_, value) = entry
        .response_headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(RETRY_AFTER_HEADER))?;
    let millis: u64 = value.trim().parse().ok()?;
    (millis > 0).then(|| Duration::from_millis(millis).min(RETRY_AFTER_CAP))
}

/// A random number in [0, 1): std's per-process random hasher keys, spread by hashing.
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HttpEntry;

    fn api(code: &str, status: u16, headers: &[(&str, &str)]) -> SdkError {
        SdkError::Api {
            code: code.into(),
            message: "m".into(),
            data: serde_json::Value::Null,
            url: "u".into(),
            entry: Some(Box::new(HttpEntry {
                request_headers: vec![],
                status,
                response_headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            })),
        }
    }

    fn timeout(phase: TimeoutPhase) -> SdkError {
        SdkError::Timeout {
            action: "A".into(),
            url: "u".into(),
            phase,
            millis: 1,
        }
    }

    #[test]
    fn a_connection_never_made_is_retried_for_every_action() {
        let refused = SdkError::Connect {
            action: "BindAxb".into(),
            url: "u".into(),
            cause: "refused".into(),
        };
        assert!(may_retry("BindAxb", &refused));
        assert!(may_retry("BindAxb", &timeout(TimeoutPhase::Connect)));
    }

    #[test]
    fn a_certificate_that_fails_verification_is_not_retried() {
        // Asking again gets the same certificate: only the wait would differ.
        let refused = SdkError::Tls {
            action: "QuerySubscriptionDetail".into(),
            url: "https://h/".into(),
            reason: "the server's certificate has expired".into(),
            cause: "expired".into(),
        };
        assert!(!may_retry("QuerySubscriptionDetail", &refused));
    }

    #[test]
    fn answers_that_did_nothing_are_retried_for_every_action() {
        for code in [
            "Throttling",
            "Throttling.User",
            "Throttling.Api",
            "isv.FLOW_LIMIT",
            "ServiceUnavailable",
        ] {
            assert!(may_retry("BindAxb", &api(code, 400, &[])), "{code}");
        }
        for code in [
            "isv.BIND_CONFLICT",
            "InternalError",
            "isp.SYSTEM_ERROR",
            "SignatureDoesNotMatch",
        ] {
            assert!(!may_retry("BindAxb", &api(code, 400, &[])), "{code}");
        }
    }

    #[test]
    fn timeouts_and_5xx_are_retried_only_for_read_only_actions() {
        let read = timeout(TimeoutPhase::Read);
        let html = SdkError::InvalidResponse {
            action: "A".into(),
            url: "u".into(),
            status: 502,
            cause: "html".into(),
        };
        let internal = api("InternalError", 500, &[]);
        for action in [
            "QuerySubscriptionDetail",
            "GetSecretAsrDetail",
            "ListXNumbers",
        ] {
            assert!(
                may_retry(action, &read)
                    && may_retry(action, &html)
                    && may_retry(action, &internal),
                "{action}"
            );
        }
        for action in [
            "BindAxb",
            "UnbindSubscription",
            "UpdateSubscription",
            "BuySecretNo",
        ] {
            assert!(
                !may_retry(action, &read)
                    && !may_retry(action, &html)
                    && !may_retry(action, &internal),
                "{action}"
            );
        }
        // The total limit is the caller's own: never retried.
        assert!(!may_retry(
            "QuerySubscriptionDetail",
            &timeout(TimeoutPhase::Total)
        ));
        let reset = SdkError::Network {
            action: "A".into(),
            url: "u".into(),
            cause: "reset".into(),
        };
        assert!(!may_retry("BindAxb", &reset));
        assert!(may_retry("QuerySubscriptionDetail", &reset));
    }

    #[test]
    fn the_outcome_is_unknown_when_a_state_changing_request_may_have_acted() {
        let reset = SdkError::Network {
            action: "A".into(),
            url: "u".into(),
            cause: "reset".into(),
        };
        let html = SdkError::InvalidResponse {
            action: "A".into(),
            url: "u".into(),
            status: 502,
            cause: "html".into(),
        };
        for err in [
            &reset,
            &html,
            &timeout(TimeoutPhase::Read),
            &timeout(TimeoutPhase::Total),
            &api("InternalError", 500, &[]),
        ] {
            assert!(outcome_unknown("BindAxb", err), "{err:?}");
            assert!(!outcome_unknown("QuerySubscriptionDetail", err), "{err:?}");
        }
        let redirect = SdkError::Redirect {
            action: "A".into(),
            url: "u".into(),
            status: 301,
            location: None,
        };
        let proxy = SdkError::Proxy {
            action: "A".into(),
            url: "u".into(),
            proxy: "http://p:1".into(),
            cause: "refused".into(),
        };
        // Answered, or never sent: known.
        for err in [
            &redirect,
            &proxy,
            &timeout(TimeoutPhase::Connect),
            &api("isv.BIND_CONFLICT", 400, &[]),
            &api("ServiceUnavailable", 503, &[]),
        ] {
            assert!(!outcome_unknown("BindAxb", err), "{err:?}");
        }
        assert!(!may_retry("QuerySubscriptionDetail", &redirect));
        assert!(may_retry("BindAxb", &proxy));
    }

    #[test]
    fn backoff_doubles_under_a_cap_and_jitters_over_the_whole_range() {
        assert_eq!(full_jitter(1, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(1, 0.999_999), BACKOFF_BASE.mul_f64(0.999_999));
        assert_eq!(full_jitter(2, 0.5), BACKOFF_BASE);
        assert_eq!(full_jitter(3, 0.5), BACKOFF_BASE * 2);
        assert_eq!(full_jitter(40, 1.0), BACKOFF_CAP);
        let draws: Vec<_> = (0..64).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(
            draws.iter().any(|u| *u < 0.5) && draws.iter().any(|u| *u >= 0.5),
            "{draws:?}"
        );
    }

    #[test]
    fn the_servers_retry_after_wins_and_is_capped() {
        assert_eq!(
            delay(1, &api("Throttling", 400, &[("x-acs-retry-after", "250")])),
            Duration::from_millis(250)
        );
        assert_eq!(
            retry_after(&api(
                "Throttling",
                400,
                &[("X-Acs-Retry-After", " 9999999 ")]
            )),
            Some(RETRY_AFTER_CAP)
        );
        assert_eq!(
            retry_after(&api("Throttling", 400, &[("x-acs-retry-after", "soon")])),
            None
        );
        assert_eq!(
            retry_after(&api("Throttling", 400, &[("x-acs-retry-after", "0")])),
            None
        );
        assert!(delay(1, &api("Throttling", 400, &[])) < BACKOFF_BASE);
    }
}
