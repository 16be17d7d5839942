//! Fault injection for the client's reliability tests: the next N matching
//! RPC requests misbehave in a chosen way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How a request misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// Wait `delayMs`, then answer normally.
    Slow,
    /// HTTP 500 with a gateway error body.
    Http500,
    /// HTTP 503 with a gateway error body.
    Http503,
    /// A body that is not JSON (an HTML proxy page).
    NonJson,
    /// Close the connection without answering.
    Reset,
    /// The gateway's Throttling.User (HTTP 400).
    Throttle,
    /// The business flow limit isv.FLOW_LIMIT (HTTP 200).
    FlowLimit,
}

/// A fault as the control API receives it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Only requests of this Action; any Action when absent.
    #[serde(default)]
    pub action: Option<String>,
    /// How many requests it applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// What happens.
    pub kind: FaultKind,
    /// The delay of a `slow` fault (default 5000 ms).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

/// The pending faults. `pending` lets the hot path skip the lock when none
/// are armed, which is the benchmark's case.
#[derive(Debug, Default)]
pub struct Faults {
    pending: AtomicUsize,
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    /// Arms a rule.
    pub fn add(&self, rule: FaultRule) {
        if rule.count == 0 {
            return;
        }
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(rule);
            self.pending.store(rules.len(), Ordering::Release);
        }
    }

    /// Disarms everything.
    pub fn clear(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
            self.pending.store(0, Ordering::Release);
        }
    }

    /// Takes one use of the first rule matching `action`.
    pub fn take(&self, action: &str) -> Option<(FaultKind, u64)> {
        if self.pending.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.rules.lock().ok()?;
        let index = rules
            .iter()
            .position(|r| r.action.as_deref().is_none_or(|a| a == action))?;
        let rule = &mut rules[index];
        let taken = (rule.kind, rule.delay_ms.unwrap_or(5000));
        rule.count -= 1;
        if rule.count == 0 {
            rules.remove(index);
        }
        self.pending.store(rules.len(), Ordering::Release);
        Some(taken)
    }

    /// The armed rules, for the state dump.
    pub fn snapshot(&self) -> Vec<FaultRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_matches_action() {
        let faults = Faults::default();
        faults.add(FaultRule {
            action: Some("BindAxb".into()),
            count: 2,
            kind: FaultKind::Http503,
            delay_ms: None,
        });
        assert_eq!(faults.take("UnbindSubscription"), None);
        assert_eq!(
            faults.take("BindAxb").map(|f| f.0),
            Some(FaultKind::Http503)
        );
        assert_eq!(
            faults.take("BindAxb").map(|f| f.0),
            Some(FaultKind::Http503)
        );
        assert_eq!(faults.take("BindAxb"), None);
        faults.add(FaultRule {
            action: None,
            count: 1,
            kind: FaultKind::Slow,
            delay_ms: Some(10),
        });
        assert_eq!(faults.take("Anything"), Some((FaultKind::Slow, 10)));
    }
}
