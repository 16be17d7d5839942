//! Optional per-action QPS limits, answered as the business flow limit
//! `isv.FLOW_LIMIT` (HTTP 200). Off unless asked for (`flowLimits` in the
//! options or the seed, `--flow-limits` on the command line): `true` takes
//! the limits Aliyun documents for dyplsapi, an object sets your own.
//!
//! Each action has a token bucket on the real clock: `limit` tokens, one
//! back every `1000 / limit` ms, so a burst of `limit` requests passes and
//! the rate settles at `limit` per second.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Deserialize;

/// The documented single-user QPS limits ("本接口的单用户 QPS 限制为 ...").
/// Actions whose reference states no limit are not limited.
pub const DOCUMENTED: [(&str, u32); 4] = [
    // help.aliyun.com/document_detail/59476.html (BindAxb)
    ("BindAxb", 5000),
    // help.aliyun.com/zh/pnp/api-46788f (BindAxn)
    ("BindAxn", 5000),
    // help.aliyun.com/zh/pnp/api-bfd56c (UnbindSubscription)
    ("UnbindSubscription", 5000),
    // help.aliyun.com/document_detail/400488.html (UpdateSubscription)
    ("UpdateSubscription", 10000),
];

/// The `flowLimits` option.
#[derive(Debug, Clone)]
pub enum FlowLimitsOption {
    /// `true`: the documented limits; `false`: none.
    Documented(bool),
    /// Action name to requests per second (0: not limited).
    Custom(BTreeMap<String, u32>),
}

impl<'de> Deserialize<'de> for FlowLimitsOption {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(on) => Ok(FlowLimitsOption::Documented(on)),
            value @ serde_json::Value::Object(_) => BTreeMap::<String, u32>::deserialize(value)
                .map(FlowLimitsOption::Custom)
                .map_err(|e| D::Error::custom(format!("flowLimits: {e}"))),
            _ => Err(D::Error::custom(
                "flowLimits must be true, false or { Action: qps }",
            )),
        }
    }
}

impl FlowLimitsOption {
    /// The limits to enforce; None when there are none.
    pub fn limits(&self) -> Option<FlowLimits> {
        let table: BTreeMap<String, u32> = match self {
            FlowLimitsOption::Documented(false) => return None,
            FlowLimitsOption::Documented(true) => DOCUMENTED
                .iter()
                .map(|(action, qps)| (action.to_string(), *qps))
                .collect(),
            FlowLimitsOption::Custom(table) => table.clone(),
        };
        let buckets: BTreeMap<String, Mutex<Bucket>> = table
            .into_iter()
            .filter(|(_, qps)| *qps > 0)
            .map(|(action, qps)| (action, Mutex::new(Bucket::new(qps))))
            .collect();
        (!buckets.is_empty()).then_some(FlowLimits { buckets })
    }
}

#[derive(Debug)]
struct Bucket {
    qps: u32,
    tokens: f64,
    last_ms: Option<i64>,
}

impl Bucket {
    fn new(qps: u32) -> Self {
        Bucket {
            qps,
            tokens: f64::from(qps),
            last_ms: None,
        }
    }

    fn take(&mut self, now_ms: i64) -> bool {
        let capacity = f64::from(self.qps);
        if let Some(last) = self.last_ms {
            let elapsed = (now_ms - last).max(0) as f64;
            self.tokens = (self.tokens + elapsed * capacity / 1000.0).min(capacity);
        }
        self.last_ms = Some(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The enforced limits, one bucket per limited action.
#[derive(Debug)]
pub struct FlowLimits {
    buckets: BTreeMap<String, Mutex<Bucket>>,
}

impl FlowLimits {
    /// Whether a request of `action` arriving at `now_ms` (real clock) may
    /// run; unlimited actions always may.
    pub fn admit(&self, action: &str, now_ms: i64) -> bool {
        match self.buckets.get(action) {
            Some(bucket) => bucket.lock().map(|mut b| b.take(now_ms)).unwrap_or(true),
            None => true,
        }
    }

    /// Action and QPS of every limit, for the health report.
    pub fn table(&self) -> BTreeMap<String, u32> {
        self.buckets
            .iter()
            .map(|(action, b)| (action.clone(), b.lock().map(|b| b.qps).unwrap_or(0)))
            .collect()
    }

    /// Refills every bucket (control reset).
    pub fn reset(&self) {
        for bucket in self.buckets.values() {
            if let Ok(mut b) = bucket.lock() {
                *b = Bucket::new(b.qps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limits = FlowLimitsOption::Custom([("BindAxb".to_string(), 2)].into())
            .limits()
            .unwrap();
        assert!(limits.admit("BindAxb", 0));
        assert!(limits.admit("BindAxb", 0));
        assert!(!limits.admit("BindAxb", 10), "the third in the same second");
        assert!(limits.admit("UnbindSubscription", 10), "not limited");
        assert!(limits.admit("BindAxb", 510), "one token back after 500 ms");
        assert!(!limits.admit("BindAxb", 520));
        assert!(limits.admit("BindAxb", 5000));
        limits.reset();
        assert!(limits.admit("BindAxb", 5000) && limits.admit("BindAxb", 5000));
    }

    #[test]
    fn documented_table_and_off() {
        let documented = FlowLimitsOption::Documented(true).limits().unwrap();
        assert_eq!(documented.table()["BindAxb"], 5000);
        assert_eq!(documented.table()["UpdateSubscription"], 10000);
        assert!(FlowLimitsOption::Documented(false).limits().is_none());
        assert!(
            FlowLimitsOption::Custom([("BindAxb".to_string(), 0)].into())
                .limits()
                .is_none()
        );
        let parsed: FlowLimitsOption = serde_json::from_str(r#"{"BindAxn": 3}"#).unwrap();
        assert_eq!(parsed.limits().unwrap().table()["BindAxn"], 3);
    }
}
