//! Where receipts go: each type to its MNS queue, or, when a callback URL
//! is set for the type, to [`crate::push`]. What is due later on the
//! business clock (a speech-to-text report, a push retry) waits here, and
//! one task delivers it when the clock gets there, whether it runs there in
//! real time or is set or advanced past it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::clock::format_beijing;
use crate::push::Batch;
use crate::queue_names::queue_name;
use crate::receipts::Receipt;
use crate::App;

/// Something due at a business time.
#[derive(Debug)]
enum Due {
    /// A receipt produced ahead of its time.
    Receipt(Receipt),
    /// A push batch to send again.
    Retry(Batch),
}

#[derive(Debug)]
struct Scheduled {
    due_ms: i64,
    what: Due,
}

/// Receipts and retries waiting for their business time.
#[derive(Debug, Default)]
pub struct Outbox {
    scheduled: Mutex<Vec<Scheduled>>,
    added: Notify,
}

impl Outbox {
    fn schedule(&self, due_ms: i64, what: Due) {
        if let Ok(mut scheduled) = self.scheduled.lock() {
            scheduled.push(Scheduled { due_ms, what });
        }
        self.added.notify_waiters();
    }

    /// Sends `batch` again at business time `due_ms`.
    pub fn retry_at(&self, due_ms: i64, batch: Batch) {
        self.schedule(due_ms, Due::Retry(batch));
    }

    /// Removes and returns what is due at `now_ms`, earliest first.
    fn take_due(&self, now_ms: i64) -> Vec<Due> {
        let Ok(mut scheduled) = self.scheduled.lock() else {
            return Vec::new();
        };
        let mut due: Vec<Scheduled> = Vec::new();
        let mut index = 0;
        while index < scheduled.len() {
            if scheduled[index].due_ms <= now_ms {
                due.push(scheduled.remove(index));
            } else {
                index += 1;
            }
        }
        due.sort_by_key(|s| s.due_ms);
        due.into_iter().map(|s| s.what).collect()
    }

    fn next_due(&self) -> Option<i64> {
        self.scheduled
            .lock()
            .ok()
            .and_then(|s| s.iter().map(|s| s.due_ms).min())
    }

    /// What waits, for `GET /__emulator/push`: receipts not due yet and
    /// batches waiting for a retry, earliest first.
    pub fn pending(&self) -> Vec<Value> {
        let Ok(scheduled) = self.scheduled.lock() else {
            return Vec::new();
        };
        let mut items: Vec<&Scheduled> = scheduled.iter().collect();
        items.sort_by_key(|s| s.due_ms);
        items
            .into_iter()
            .map(|s| match &s.what {
                Due::Receipt(r) => json!({
                    "kind": "receipt", "type": r.message_type, "dueAt": format_beijing(s.due_ms),
                }),
                Due::Retry(b) => json!({
                    "kind": "retry", "type": b.message_type, "batchId": b.id, "url": b.url,
                    "attempt": b.attempts + 1, "receipts": b.receipts.len(), "dueAt": format_beijing(s.due_ms),
                }),
            })
            .collect()
    }

    /// Forgets everything waiting (control reset).
    pub fn clear(&self) {
        if let Ok(mut scheduled) = self.scheduled.lock() {
            scheduled.clear();
        }
        self.added.notify_waiters();
    }
}

/// Delivers receipts now (or schedules those due later), each by its
/// type's channel; receipts of one type pushed together form one batch.
/// Answers, per receipt, how it went: `{type, delivery, dueAt?}`.
pub fn deliver(app: &Arc<App>, receipts: Vec<Receipt>) -> Vec<Value> {
    let now = app.clock.now_ms();
    let mut report = Vec::with_capacity(receipts.len());
    let mut batches: Vec<(&'static str, String, Vec<Value>)> = Vec::new();
    for receipt in receipts {
        if let Some(due_ms) = receipt.due_ms.filter(|due| *due > now) {
            report.push(json!({
                "type": receipt.message_type, "delivery": "scheduled", "dueAt": format_beijing(due_ms),
            }));
            app.outbox.schedule(due_ms, Due::Receipt(receipt));
            continue;
        }
        match app.push.url_for(receipt.message_type) {
            Some(url) => {
                report
                    .push(json!({ "type": receipt.message_type, "delivery": "push", "url": url }));
                match batches
                    .iter_mut()
                    .find(|(t, u, _)| *t == receipt.message_type && *u == url)
                {
                    Some((_, _, bodies)) => bodies.push(receipt.pushed),
                    None => batches.push((receipt.message_type, url, vec![receipt.pushed])),
                }
            }
            None => {
                let queue = queue_name(&app.account, receipt.message_type);
                report.push(
                    json!({ "type": receipt.message_type, "delivery": "mns", "queue": queue }),
                );
                if let Some(q) = app.queues.get(&queue) {
                    q.enqueue(&receipt.queued, &app.ids);
                }
            }
        }
    }
    for (message_type, url, bodies) in batches {
        let batch = app.push.new_batch(message_type, url, bodies);
        crate::push::submit(app, batch);
    }
    report
}

/// The task that delivers what falls due, until the emulator stops.
pub async fn run(app: Arc<App>) {
    let mut shutdown = app.shutdown.clone();
    loop {
        // Registered before looking, so a change in between still wakes us.
        let clock_changed = app.clock.changed();
        let added = app.outbox.added.notified();
        let now = app.clock.now_ms();
        let mut receipts = Vec::new();
        for due in app.outbox.take_due(now) {
            match due {
                Due::Receipt(receipt) => receipts.push(Receipt {
                    due_ms: None,
                    ..receipt
                }),
                Due::Retry(batch) => crate::push::submit(&app, batch),
            }
        }
        if !receipts.is_empty() {
            deliver(&app, receipts);
        }
        // The business clock runs at real speed between changes, so its
        // distance to the next due time is a real wait.
        let wait = app
            .outbox
            .next_due()
            .map_or(Duration::from_secs(3600), |due| {
                Duration::from_millis((due - now).clamp(0, 3_600_000) as u64)
            });
        tokio::select! {
            _ = clock_changed => {}
            _ = added => {}
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                // A dropped sender means the emulator is gone too.
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}
