//! The call and SMS log: every simulated call and SMS, newest last, so the
//! console (and anyone reading `GET /__emulator/log`) can see what went
//! through which X and where it was routed.

use std::collections::VecDeque;

use serde::Serialize;

/// How many entries are kept; older ones fall off, so a long-running
/// emulator's memory stays flat.
const CAPACITY: usize = 1000;

/// Whether an entry is a call or an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ActivityKind {
    /// A call placed to X.
    Call,
    /// An SMS sent to X.
    Sms,
}

/// One call or SMS as the emulator handled it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub kind: ActivityKind,
    /// Business time, Beijing `YYYY-MM-DD HH:mm:ss`.
    pub time: String,
    /// The caller or sender.
    pub from: String,
    /// The secret number (X) it reached.
    pub secret_no: String,
    /// The extension dialled after X, if any.
    pub extension: String,
    /// Where it was routed ("" when intercepted).
    pub to: String,
    /// The binding that routed it ("" when intercepted).
    pub subs_id: String,
    /// answered, noAnswer, busy, rejected or intercepted for a call;
    /// delivered or intercepted for an SMS.
    pub result: String,
    /// The call's CallId (an SMS's call_id in its receipt).
    pub call_id: String,
    /// Call length in seconds (0 for an SMS or an unanswered call).
    pub duration_seconds: i64,
    /// The SMS text ("" for a call).
    pub content: String,
}

/// The log, oldest first, capped at [`CAPACITY`] entries.
#[derive(Debug, Default)]
pub struct ActivityLog {
    entries: VecDeque<Activity>,
}

impl ActivityLog {
    /// Appends an entry, dropping the oldest when full.
    pub fn push(&mut self, entry: Activity) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The entries, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Activity> {
        self.entries.iter().rev()
    }

    /// Forgets everything (control reset).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(n: usize) -> Activity {
        Activity {
            kind: ActivityKind::Call,
            time: String::new(),
            from: n.to_string(),
            secret_no: String::new(),
            extension: String::new(),
            to: String::new(),
            subs_id: String::new(),
            result: "answered".into(),
            call_id: String::new(),
            duration_seconds: 0,
            content: String::new(),
        }
    }

    #[test]
    fn newest_first_and_capped() {
        let mut log = ActivityLog::default();
        for n in 0..CAPACITY + 5 {
            log.push(call(n));
        }
        let froms: Vec<&str> = log.newest_first().map(|a| a.from.as_str()).collect();
        assert_eq!(froms.len(), CAPACITY);
        assert_eq!(froms[0], (CAPACITY + 4).to_string());
        assert_eq!(froms[CAPACITY - 1], "5", "the five oldest fell off");
        log.clear();
        assert_eq!(log.newest_first().count(), 0);
    }
}
