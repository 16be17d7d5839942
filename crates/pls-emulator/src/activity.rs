//! The activity log: every simulated call and SMS, and every HTTP push
//! attempt of receipts, newest last, so the console (and anyone reading
//! `GET /__emulator/log`) can see what went through which X, where it was
//! routed, and whether its receipts reached the customer's server.

use std::collections::VecDeque;

use serde::Serialize;

/// How many entries are kept; older ones fall off, so a long-running
/// emulator's memory stays flat.
const CAPACITY: usize = 1000;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ActivityKind {
    /// A call placed to X.
    Call,
    /// An SMS sent to X.
    Sms,
    /// One HTTP push attempt of a batch of receipts.
    Push,
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

/// One HTTP push attempt of a batch of receipts and how it ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushAttempt {
    /// Always [`ActivityKind::Push`].
    pub kind: ActivityKind,
    /// Business time the attempt ended, Beijing `YYYY-MM-DD HH:mm:ss`.
    pub time: String,
    /// The receipt type (MessageType) of the batch.
    #[serde(rename = "type")]
    pub message_type: String,
    /// Where it was pushed.
    pub url: String,
    /// The batch, the same over its retries.
    pub batch_id: u64,
    /// 1 for the first push, 2 to 4 for the retries.
    pub attempt: u32,
    /// How many receipts the batch holds.
    pub receipts: usize,
    /// delivered, failed (to be pushed again) or dropped (no retry left).
    pub outcome: String,
    /// The HTTP status, when a response came.
    pub status: Option<u16>,
    /// The `code` the receiver answered, when it was a number.
    pub code: Option<serde_json::Value>,
    /// What happened, in words.
    pub detail: String,
    /// Real milliseconds from sending to the outcome.
    pub elapsed_ms: u64,
    /// When the next attempt is due (business time), after a failure.
    pub next_attempt_at: Option<String>,
    /// True for the second push of a batch sent twice (the `pushTwice` fault).
    pub duplicate: bool,
    /// The JSON array that was pushed (null when over 32 KiB).
    pub body: serde_json::Value,
}

/// An entry of the log.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum LogEntry {
    /// A call or an SMS.
    Traffic(Activity),
    /// A push attempt.
    Push(PushAttempt),
}

impl From<Activity> for LogEntry {
    fn from(entry: Activity) -> Self {
        LogEntry::Traffic(entry)
    }
}

impl From<PushAttempt> for LogEntry {
    fn from(entry: PushAttempt) -> Self {
        LogEntry::Push(entry)
    }
}

/// The log, oldest first, capped at [`CAPACITY`] entries.
#[derive(Debug, Default)]
pub struct ActivityLog {
    entries: VecDeque<LogEntry>,
}

impl ActivityLog {
    /// Appends an entry, dropping the oldest when full.
    pub fn push(&mut self, entry: impl Into<LogEntry>) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry.into());
    }

    /// The entries, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &LogEntry> {
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
        let froms: Vec<&str> = log
            .newest_first()
            .map(|entry| match entry {
                LogEntry::Traffic(a) => a.from.as_str(),
                LogEntry::Push(_) => "",
            })
            .collect();
        assert_eq!(froms.len(), CAPACITY);
        assert_eq!(froms[0], (CAPACITY + 4).to_string());
        assert_eq!(froms[CAPACITY - 1], "5", "the five oldest fell off");
        log.clear();
        assert_eq!(log.newest_first().count(), 0);
    }
}
