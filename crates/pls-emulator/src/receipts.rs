//! Receipts: what the service reports about a call, an SMS and a number,
//! built type by type with the fields, formats and codes of Aliyun's
//! product documentation (号码隐私保护, 消息回执), then handed to
//! [`crate::outbox`], which queues or pushes each as its type is set up.
//!
//! A simulated call happens at once, on the business clock: its receipts
//! carry the times of the call's timeline (dialled, ringing, answered,
//! released) and are delivered at once, in the order the service emits
//! them; only the speech-to-text report waits, on the business clock.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::activity::{Activity, ActivityKind};
use crate::clock::format_beijing;
use crate::dypls::{CallRecord, Route};
use crate::App;

/// How long after a call its SecretAsrReport comes, on the business clock,
/// unless the call asks otherwise (the service takes minutes; the
/// emulator's choice is one).
pub const DEFAULT_ASR_DELAY_SECONDS: i64 = 60;

/// The status code of a successful recognition in SecretAsrReport.
const ASR_OK: &str = "21050000";

/// One receipt, ready to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Its type (MessageType).
    pub message_type: &'static str,
    /// The JSON object an HTTP push carries.
    pub pushed: Value,
    /// The JSON object an MNS message carries (the same fields, plus those
    /// only the queue form has).
    pub queued: Value,
    /// When it is due on the business clock (epoch ms); None for now.
    pub due_ms: Option<i64>,
}

impl Receipt {
    fn now(message_type: &'static str, body: Value) -> Self {
        Receipt {
            message_type,
            queued: body.clone(),
            pushed: body,
            due_ms: None,
        }
    }
}

/// A simulated call, as `POST /__emulator/calls` takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    caller: String,
    secret_no: String,
    /// Overrides the routed callee in the report (e.g. for intercepted calls).
    called: Option<String>,
    /// The extension dialled after X, for AXN extension bindings.
    extension: Option<String>,
    call_type: Option<u8>,
    duration_seconds: Option<i64>,
    /// answered (default), noAnswer, busy or rejected.
    outcome: Option<String>,
    /// Business seconds until the SecretAsrReport of a transcribed call.
    asr_delay_seconds: Option<i64>,
}

/// An SMS to X, as `POST /__emulator/sms` takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsRequest {
    sender: String,
    secret_no: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    sign: String,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Answered,
    NoAnswer,
    Busy,
    Rejected,
    /// Refused by a blacklist entry (its BlackType and BlackNo).
    Blacklisted(String),
    /// No live binding routes the caller through X.
    Unbound,
    /// The binding's CallRestrict bars the caller.
    Restricted(String),
}

impl Outcome {
    fn requested(text: &str) -> Result<Self, String> {
        match text {
            "answered" => Ok(Outcome::Answered),
            "noAnswer" => Ok(Outcome::NoAnswer),
            "busy" => Ok(Outcome::Busy),
            "rejected" => Ok(Outcome::Rejected),
            other => Err(format!(
                "outcome must be answered, noAnswer, busy or rejected, got {other:?}"
            )),
        }
    }

    /// Refused before the callee's side was dialled.
    fn intercepted(&self) -> bool {
        matches!(
            self,
            Outcome::Blacklisted(_) | Outcome::Unbound | Outcome::Restricted(_)
        )
    }

    /// The activity log's word for it.
    fn result(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::NoAnswer => "noAnswer",
            Outcome::Busy => "busy",
            Outcome::Rejected => "rejected",
            Outcome::Blacklisted(_) | Outcome::Unbound | Outcome::Restricted(_) => "intercepted",
        }
    }
}

/// A call's moments (epoch ms) and release codes, filled as the service
/// documents them: `call_out_time` is `call_time` when the callee's side was
/// never dialled, `ring_time` is `call_out_time` when it never rang,
/// `free_ring_time` equals `call_out_time` when nothing rang, and
/// `start_time` is `release_time` when nobody answered.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timeline {
    call: i64,
    call_out: i64,
    ring: i64,
    free_ring: i64,
    start: i64,
    release: i64,
    rang: bool,
    answered: bool,
    /// 0 the platform, 1 the caller, 2 the callee hung up.
    release_dir: u8,
    /// Q.850 cause: 16 normal clearing, 17 busy, 19 no answer, 21 rejected,
    /// 31 normal, unspecified.
    release_cause: u16,
    /// 0 connected, 1 blacklist, 2 no binding, 3 call restriction, 4 other.
    unconnected_cause: u8,
}

fn timeline(outcome: &Outcome, call: i64, duration_ms: i64) -> Timeline {
    let plain = |release_cause, unconnected_cause| Timeline {
        call,
        call_out: call,
        ring: call,
        free_ring: call,
        start: call,
        release: call,
        rang: false,
        answered: false,
        release_dir: 0,
        release_cause,
        unconnected_cause,
    };
    let dialled = |ring_ms: Option<i64>, release_ms: i64, release_dir, release_cause| {
        let call_out = call + 1000;
        let ring = ring_ms.map_or(call_out, |r| call + r);
        Timeline {
            call,
            call_out,
            ring,
            free_ring: ring,
            start: call + release_ms,
            release: call + release_ms,
            rang: ring_ms.is_some(),
            answered: false,
            release_dir,
            release_cause,
            unconnected_cause: 4,
        }
    };
    match outcome {
        Outcome::Answered => {
            let mut t = dialled(Some(2000), 5000 + duration_ms, 1, 16);
            t.start = call + 5000;
            t.answered = true;
            t.unconnected_cause = 0;
            t
        }
        // Rings for 30 s until the platform gives up.
        Outcome::NoAnswer => dialled(Some(2000), 32_000, 0, 19),
        Outcome::Busy => dialled(None, 2000, 0, 17),
        // Rings for 5 s until the callee declines.
        Outcome::Rejected => dialled(Some(2000), 7000, 2, 21),
        Outcome::Blacklisted(_) => plain(21, 1),
        Outcome::Unbound => plain(31, 2),
        Outcome::Restricted(_) => plain(21, 3),
    }
}

/// What every receipt of one call is built from.
#[derive(Debug, Clone)]
struct CallFacts {
    call_id: String,
    pool_key: String,
    sub_id: u64,
    out_id: String,
    city: String,
    /// The binding's A (the caller when nothing routed the call).
    phone_no: String,
    secret_no: String,
    /// The other party: B, the AXN caller, the AXG group member.
    peer_no: String,
    extension: String,
    call_type: u8,
    outcome: Outcome,
    times: Timeline,
    record_url: String,
    ring_record_url: String,
    /// Talk time, ms.
    duration_ms: i64,
    /// Unique record ids of the start and end reports (their `id`).
    start_id: u64,
    report_id: u64,
}

impl CallFacts {
    /// CONTINUE when the call was put through, REJECT when refused.
    fn control_type(&self) -> &'static str {
        if self.outcome.intercepted() {
            "REJECT"
        } else {
            "CONTINUE"
        }
    }

    /// NO_SUBS_EXIST without a binding (as the documentation says), the
    /// entry or restriction that refused it, OK otherwise.
    fn control_msg(&self) -> String {
        match &self.outcome {
            Outcome::Unbound => "NO_SUBS_EXIST".into(),
            Outcome::Blacklisted(entry) => entry.clone(),
            Outcome::Restricted(restriction) => restriction.clone(),
            _ => "OK".into(),
        }
    }
}

/// SecretStartReport: at once when the call reaches X.
fn start_report(f: &CallFacts) -> Value {
    json!({
        "pool_key": f.pool_key,
        "sub_id": f.sub_id,
        "call_id": f.call_id,
        "phone_no": f.phone_no,
        "secret_no": f.secret_no,
        "peer_no": f.peer_no,
        "called_display_no": f.secret_no,
        "call_type": f.call_type,
        "call_time": format_beijing(f.times.call),
        "out_id": f.out_id,
        "city": f.city,
        "partner_key": f.pool_key,
        "id": f.start_id.to_string(),
        "unconnected_cause": f.times.unconnected_cause,
        "control_type": f.control_type(),
        "control_msg": f.control_msg(),
    })
}

/// SecretRingReport (when the callee's phone rings) or, with `answered`,
/// SecretPickUpReport (when the callee answers): the same fields, and the
/// answer's time in the second.
fn progress_report(f: &CallFacts, answered: bool) -> Value {
    let mut report = Map::new();
    let mut put = |key: &str, value: Value| {
        report.insert(key.to_string(), value);
    };
    put("phone_no", json!(f.phone_no));
    put("secret_no", json!(f.secret_no));
    put("peer_no", json!(f.peer_no));
    put("call_type", json!(f.call_type));
    put("call_id", json!(f.call_id));
    put("call_time", json!(format_beijing(f.times.call)));
    put("pool_key", json!(f.pool_key));
    put("ring_time", json!(format_beijing(f.times.ring)));
    if answered {
        put("start_time", json!(format_beijing(f.times.start)));
    }
    put("sub_id", json!(f.sub_id));
    put("city", json!(f.city));
    put("out_id", json!(f.out_id));
    put("extension", json!(f.extension));
    Value::Object(report)
}

/// SecretReport: the call record once the call ended. The queue form has
/// `sms_number` besides; the pushed form has not.
fn end_report(f: &CallFacts, queue_form: bool) -> Value {
    let t = &f.times;
    let mut report = Map::new();
    let mut put = |key: &str, value: Value| {
        report.insert(key.to_string(), value);
    };
    put("pool_key", json!(f.pool_key));
    put("sub_id", json!(f.sub_id));
    put("call_id", json!(f.call_id));
    put("phone_no", json!(f.phone_no));
    put("secret_no", json!(f.secret_no));
    put("peer_no", json!(f.peer_no));
    put("called_display_no", json!(f.secret_no));
    put("call_type", json!(f.call_type));
    put("call_time", json!(format_beijing(t.call)));
    put("start_time", json!(format_beijing(t.start)));
    put("call_out_time", json!(format_beijing(t.call_out)));
    put("ring_time", json!(format_beijing(t.ring)));
    put("free_ring_time", json!(format_beijing(t.free_ring)));
    put("release_time", json!(format_beijing(t.release)));
    if queue_form {
        put("sms_number", json!(0));
    }
    put("release_dir", json!(t.release_dir));
    put("release_cause", json!(t.release_cause));
    put("unconnected_cause", json!(t.unconnected_cause));
    put("record_url", json!(f.record_url));
    put("ring_record_url", json!(f.ring_record_url));
    put("out_id", json!(f.out_id));
    put("id", json!(f.report_id));
    put("partner_key", json!(f.pool_key));
    put("city", json!(f.city));
    put("control_type", json!(f.control_type()));
    put("control_msg", json!(f.control_msg()));
    Value::Object(report)
}

/// SecretRecording: the recording is ready; `call_time` in epoch ms.
fn recording_report(f: &CallFacts) -> Value {
    json!({
        "pool_key": f.pool_key,
        "sub_id": f.sub_id,
        "call_id": f.call_id,
        "call_time": f.times.call,
        "out_id": f.out_id,
    })
}

/// The two sentences of every emulated transcript: channel, begin and end
/// (ms into the call), text. GetSecretAsrDetail answers the same ones.
pub const TRANSCRIPT: [(u8, i64, i64, &str); 2] = [
    (0, 0, 2100, "您好，我到楼下了。"),
    (1, 2300, 4200, "好的，马上下来。"),
];

/// SecretAsrReport: the transcript, camelCase as the service sends it.
fn asr_report(f: &CallFacts) -> Value {
    let sentences: Vec<Value> = TRANSCRIPT
        .iter()
        .map(|(channel, begin, end, text)| {
            json!({
                "beginTime": begin, "endTime": end, "channelId": channel, "emotionValue": "6.5",
                "silenceDuration": "0", "speechRate": "240", "text": text,
            })
        })
        .collect();
    json!({
        "callId": f.call_id,
        "bizDuration": f.duration_ms.max(TRANSCRIPT[1].2),
        "secretNo": f.secret_no,
        "partnerKey": f.pool_key,
        "statusCode": ASR_OK,
        "sentences": sentences,
    })
}

/// The receipts of a call, in the order the service emits them.
fn call_receipts(f: &CallFacts, recorded: bool, transcribed: Option<i64>) -> Vec<Receipt> {
    let mut receipts = vec![Receipt::now("SecretStartReport", start_report(f))];
    if f.times.rang {
        receipts.push(Receipt::now("SecretRingReport", progress_report(f, false)));
    }
    if f.times.answered {
        receipts.push(Receipt::now("SecretPickUpReport", progress_report(f, true)));
    }
    receipts.push(Receipt {
        message_type: "SecretReport",
        pushed: end_report(f, false),
        queued: end_report(f, true),
        due_ms: None,
    });
    if recorded {
        receipts.push(Receipt::now("SecretRecording", recording_report(f)));
    }
    if let Some(due_ms) = transcribed {
        let mut asr = Receipt::now("SecretAsrReport", asr_report(f));
        asr.due_ms = Some(due_ms);
        receipts.push(asr);
    }
    receipts
}

/// The pool and city of X, from the pool that holds it.
fn number_home(app: &App, number: &str) -> (String, String) {
    app.model
        .lock()
        .ok()
        .and_then(|m| {
            m.pools().find_map(|pool| {
                pool.numbers
                    .iter()
                    .find(|n| n.number == number)
                    .map(|n| (pool.pool_key.clone(), n.city.clone()))
            })
        })
        .unwrap_or_default()
}

fn route(app: &App, caller: &str, secret_no: &str, extension: Option<&str>) -> Route {
    let now = app.clock.now_ms();
    match app.model.lock() {
        Ok(m) => m.route(caller, secret_no, extension, now),
        Err(_) => Route {
            binding: None,
            peer: String::new(),
            call_type: 4,
        },
    }
}

/// The restriction of the binding's CallRestrict that bars `caller`:
/// CONTROL_AX_DISABLE bars A from calling X, CONTROL_BX_DISABLE bars B.
fn restriction(route: &Route, caller: &str) -> Option<String> {
    let binding = route.binding.as_ref()?;
    let barred = match binding.call_restrict.as_str() {
        "CONTROL_AX_DISABLE" => binding.phone_no_a == caller,
        "CONTROL_BX_DISABLE" => !binding.phone_no_b.is_empty() && binding.phone_no_b == caller,
        _ => false,
    };
    barred.then(|| binding.call_restrict.clone())
}

/// The pool, SubsId and OutId of the binding that routed a call or an SMS;
/// without one, X's own pool and no binding.
fn binding_ids(app: &App, routed: &Route, secret_no: &str) -> (String, u64, String) {
    match &routed.binding {
        Some(b) => (
            b.pool_key.clone(),
            b.subs_id.parse::<u64>().unwrap_or(0),
            b.out_id.clone(),
        ),
        None => (number_home(app, secret_no).0, 0, String::new()),
    }
}

fn subs_id(routed: &Route) -> String {
    routed
        .binding
        .as_ref()
        .map(|b| b.subs_id.clone())
        .unwrap_or_default()
}

fn log(app: &App, entry: Activity) {
    if let Ok(mut log) = app.activity.lock() {
        log.push(entry);
    }
}

/// Places a simulated call: routes it, decides how it ends, records it,
/// delivers its receipts, and answers what the control API replies.
pub fn place_call(app: &Arc<App>, request: CallRequest) -> Result<Value, String> {
    let requested = Outcome::requested(request.outcome.as_deref().unwrap_or("answered"))?;
    let extension = request
        .extension
        .as_deref()
        .or(request.called.as_deref().filter(|c| c.len() <= 4));
    let routed = route(app, &request.caller, &request.secret_no, extension);
    // The other party of the binding, seen from A: the callee when A calls,
    // the caller otherwise.
    let (phone_no, peer_no) = match (&routed.binding, routed.call_type) {
        (Some(_), 0) => (request.caller.clone(), routed.peer.clone()),
        (Some(_), _) => (routed.peer.clone(), request.caller.clone()),
        (None, _) => (request.caller.clone(), String::new()),
    };
    // A blacklist of the binding's pool refuses the call before it is put through.
    let refusal = match (&routed.binding, app.model.lock()) {
        (Some(b), Ok(m)) => m.blacklist_refusal(&b.pool_key, &request.caller, &routed.peer),
        _ => None,
    };
    let outcome = if routed.binding.is_none() {
        Outcome::Unbound
    } else if let Some(r) = refusal {
        Outcome::Blacklisted(format!("{} {}", r.black_type, r.black_no))
    } else if let Some(r) = restriction(&routed, &request.caller) {
        Outcome::Restricted(r)
    } else {
        requested
    };
    let now = app.clock.now_ms();
    let duration_ms = request.duration_seconds.unwrap_or(30).max(0) * 1000;
    let times = timeline(&outcome, now, duration_ms);
    let call_id = format!(
        "{}",
        app.ids.next_u64() % 9_000_000_000_000_000 + 1_000_000_000_000_000
    );
    let city = number_home(app, &request.secret_no).1;
    let (pool_key, sub_id, out_id) = binding_ids(app, &routed, &request.secret_no);
    let recorded = times.answered && routed.binding.as_ref().is_some_and(|b| b.need_record);
    let transcribed = recorded && routed.binding.as_ref().is_some_and(|b| b.asr_status);
    let recording_url = |suffix: &str| {
        if recorded {
            format!(
                "{}/__emulator/recordings/{call_id}{suffix}.mp3",
                app.base_url
            )
        } else {
            String::new()
        }
    };
    let facts = CallFacts {
        call_id: call_id.clone(),
        pool_key: pool_key.clone(),
        sub_id,
        out_id,
        city,
        phone_no,
        secret_no: request.secret_no.clone(),
        peer_no: request
            .called
            .clone()
            .filter(|c| c.len() > 4)
            .unwrap_or(peer_no),
        extension: extension.unwrap_or("").to_string(),
        call_type: request.call_type.unwrap_or(if outcome.intercepted() {
            4
        } else {
            routed.call_type
        }),
        outcome: outcome.clone(),
        times,
        record_url: recording_url(""),
        ring_record_url: recording_url("-ring"),
        duration_ms: if times.answered { duration_ms } else { 0 },
        start_id: app.ids.next_u64() % 9_000_000_000_000 + 1_000_000_000_000,
        report_id: app.ids.next_u64() % 9_000_000_000_000 + 1_000_000_000_000,
    };
    let asr_due = transcribed.then(|| {
        let delay = request
            .asr_delay_seconds
            .unwrap_or(DEFAULT_ASR_DELAY_SECONDS)
            .max(0);
        times.release + delay.saturating_mul(1000)
    });
    let receipts = call_receipts(&facts, recorded, asr_due);
    let report = receipts
        .iter()
        .find(|r| r.message_type == "SecretReport")
        .map(|r| r.queued.clone())
        .unwrap_or(Value::Null);
    let recording = receipts
        .iter()
        .find(|r| r.message_type == "SecretRecording")
        .map(|r| r.queued.clone())
        .unwrap_or(Value::Null);
    // Recorded before the receipts go out, so a receiver that asks for the
    // recording as soon as it hears of it finds the call.
    if let Ok(mut m) = app.model.lock() {
        m.record_call(CallRecord {
            call_id: call_id.clone(),
            pool_key,
            sub_id,
            call_time_ms: now,
            recorded,
        });
    }
    log(
        app,
        Activity {
            kind: ActivityKind::Call,
            time: format_beijing(now),
            from: request.caller.clone(),
            secret_no: request.secret_no.clone(),
            extension: facts.extension.clone(),
            to: routed.peer.clone(),
            subs_id: subs_id(&routed),
            result: outcome.result().to_string(),
            call_id: call_id.clone(),
            duration_seconds: facts.duration_ms / 1000,
            content: String::new(),
        },
    );
    let delivered = crate::outbox::deliver(app, receipts);
    Ok(json!({
        "callId": call_id,
        "report": report,
        "recording": recording,
        "receipts": delivered,
    }))
}

/// Sends a simulated SMS to X: routes it and delivers its SecretSmsIntercept.
pub fn send_sms(app: &Arc<App>, request: SmsRequest) -> Value {
    let routed = route(app, &request.sender, &request.secret_no, None);
    let restricted = restriction(&routed, &request.sender);
    let (pool_key, sub_id, out_id) = binding_ids(app, &routed, &request.secret_no);
    // NORMAL when forwarded; SUBS_NOT_EXISTS without a binding;
    // CONTROL_DISABLE when the binding's one-way control bars the sender.
    let (intercept_type, delivered) = match (&routed.binding, &restricted) {
        (None, _) => ("SUBS_NOT_EXISTS", false),
        (Some(_), Some(_)) => ("CONTROL_DISABLE", false),
        (Some(_), None) => ("NORMAL", true),
    };
    let now = app.clock.now_ms();
    let message = json!({
        "id": app.ids.next_u64() % 9_000_000_000_000 + 1_000_000_000_000,
        "partner_key": pool_key,
        "pool_key": pool_key,
        "out_id": out_id,
        "sub_id": sub_id,
        "sms_type": 1,
        "send_no": request.sender,
        "secret_no": request.secret_no,
        "receive_no": if delivered { routed.peer.clone() } else { String::new() },
        "sms_content": request.content,
        "sms_sign": request.sign,
        // 1 sent, 2 not sent; code is the carrier's delivery status.
        "status": if delivered { 1 } else { 2 },
        "sms_intercept_type": intercept_type,
        "call_id": app.ids.hex(16),
        "code": if delivered { "DELIVRD" } else { "UNDELIV" },
        "start_time": format_beijing(now),
    });
    log(
        app,
        Activity {
            kind: ActivityKind::Sms,
            time: format_beijing(now),
            from: request.sender.clone(),
            secret_no: request.secret_no.clone(),
            extension: String::new(),
            to: if delivered {
                routed.peer.clone()
            } else {
                String::new()
            },
            subs_id: subs_id(&routed),
            result: if delivered {
                "delivered"
            } else {
                "intercepted"
            }
            .to_string(),
            call_id: message["call_id"].as_str().unwrap_or("").to_string(),
            duration_seconds: 0,
            content: request.content.clone(),
        },
    );
    crate::outbox::deliver(
        app,
        vec![Receipt::now("SecretSmsIntercept", message.clone())],
    );
    message
}

/// A number joined (BuySecretNo) or left (ReleaseSecretNo) a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberChange {
    number: String,
    city: String,
    pool_key: String,
    /// 1 created, 2 deleted.
    status: u8,
}

impl NumberChange {
    /// What BuySecretNo or ReleaseSecretNo is about to change, read before
    /// the action runs (a released number's city is gone afterwards).
    pub fn before(
        model: &crate::dypls::Model,
        action: &str,
        params: &crate::params::Params,
    ) -> Option<Self> {
        if !matches!(action, "BuySecretNo" | "ReleaseSecretNo") {
            return None;
        }
        let pool_key = params.get("PoolKey")?.to_string();
        match action {
            "BuySecretNo" => Some(NumberChange {
                number: String::new(),
                city: params.get("City").unwrap_or("").to_string(),
                pool_key,
                status: 1,
            }),
            "ReleaseSecretNo" => {
                let number = params.get("SecretNo")?.to_string();
                let city = model
                    .pools()
                    .find(|p| p.pool_key == pool_key)?
                    .numbers
                    .iter()
                    .find(|n| n.number == number)?
                    .city
                    .clone();
                Some(NumberChange {
                    number,
                    city,
                    pool_key,
                    status: 2,
                })
            }
            _ => None,
        }
    }
}

/// Delivers the NumberManagementReport of a successful BuySecretNo or
/// ReleaseSecretNo (`fields` is the action's reply).
pub fn number_changed(app: &Arc<App>, mut change: NumberChange, fields: &Map<String, Value>) {
    if change.status == 1 {
        match fields
            .get("SecretBuyInfoDTO")
            .and_then(|dto| dto.get("SecretNo"))
            .and_then(Value::as_str)
        {
            Some(number) => change.number = number.to_string(),
            None => return,
        }
    }
    let report = json!({
        "secretNo": change.number,
        "city": change.city,
        "partnerKey": change.pool_key,
        "operatingTime": format_beijing(app.clock.now_ms()),
        "status": change.status,
        "vendor": crate::actions::numbers::vendor(&change.number),
    });
    crate::outbox::deliver(app, vec![Receipt::now("NumberManagementReport", report)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_beijing;

    fn at() -> i64 {
        parse_beijing("2018-08-01 10:00:00").unwrap()
    }

    fn facts(outcome: Outcome) -> CallFacts {
        let times = timeline(&outcome, at(), 42_000);
        CallFacts {
            call_id: "c1".into(),
            pool_key: "FC1".into(),
            sub_id: 1_000_000_000_001,
            out_id: "o1".into(),
            city: "北京".into(),
            phone_no: "18040580000".into(),
            secret_no: "17000000000".into(),
            peer_no: "13871140000".into(),
            extension: String::new(),
            call_type: if outcome.intercepted() { 4 } else { 0 },
            outcome,
            times,
            record_url: String::new(),
            ring_record_url: String::new(),
            duration_ms: if times.answered { 42_000 } else { 0 },
            start_id: 1,
            report_id: 2,
        }
    }

    fn types(receipts: &[Receipt]) -> Vec<&str> {
        receipts.iter().map(|r| r.message_type).collect()
    }

    #[test]
    fn an_answered_recorded_transcribed_call_emits_every_type_in_order() {
        let f = facts(Outcome::Answered);
        let receipts = call_receipts(&f, true, Some(at() + 60_000));
        assert_eq!(
            types(&receipts),
            [
                "SecretStartReport",
                "SecretRingReport",
                "SecretPickUpReport",
                "SecretReport",
                "SecretRecording",
                "SecretAsrReport"
            ]
        );
        assert!(receipts[..5].iter().all(|r| r.due_ms.is_none()));
        assert_eq!(receipts[5].due_ms, Some(at() + 60_000));
        let report = &receipts[3];
        assert_eq!(
            report.queued["sms_number"], 0,
            "the queue form has sms_number"
        );
        assert!(
            report.pushed.get("sms_number").is_none(),
            "the pushed form has not"
        );
        assert_eq!(report.pushed["call_time"], "2018-08-01 10:00:00");
        assert_eq!(report.pushed["call_out_time"], "2018-08-01 10:00:01");
        assert_eq!(report.pushed["ring_time"], "2018-08-01 10:00:02");
        assert_eq!(report.pushed["free_ring_time"], "2018-08-01 10:00:02");
        assert_eq!(report.pushed["start_time"], "2018-08-01 10:00:05");
        assert_eq!(
            report.pushed["release_time"], "2018-08-01 10:00:47",
            "42 s of talk"
        );
        assert_eq!(
            (
                report.pushed["release_dir"].as_u64(),
                report.pushed["release_cause"].as_u64()
            ),
            (Some(1), Some(16))
        );
        assert_eq!(report.pushed["unconnected_cause"], 0);
        assert_eq!(report.pushed["control_type"], "CONTINUE");
        assert_eq!(report.pushed["partner_key"], "FC1");
        assert_eq!(receipts[2].pushed["start_time"], "2018-08-01 10:00:05");
        assert_eq!(receipts[4].pushed["call_time"], at(), "epoch ms");
        let asr = &receipts[5].pushed;
        assert_eq!(asr["callId"], "c1");
        assert_eq!(asr["bizDuration"], 42_000);
        assert_eq!(asr["statusCode"], ASR_OK);
        assert_eq!(asr["sentences"][1]["channelId"], 1);
        assert_eq!(
            asr["sentences"][0]["emotionValue"], "6.5",
            "a string, as documented"
        );
    }

    #[test]
    fn outcomes_fill_the_times_and_codes_as_documented() {
        // (outcome, rang, release_dir, release_cause, unconnected_cause, release offset s)
        let cases = [
            (Outcome::NoAnswer, true, 0, 19, 4, 32),
            (Outcome::Busy, false, 0, 17, 4, 2),
            (Outcome::Rejected, true, 2, 21, 4, 7),
            (
                Outcome::Blacklisted("PARTNER_GLOBAL_NUMBER_BLACK 1".into()),
                false,
                0,
                21,
                1,
                0,
            ),
            (Outcome::Unbound, false, 0, 31, 2, 0),
            (
                Outcome::Restricted("CONTROL_AX_DISABLE".into()),
                false,
                0,
                21,
                3,
                0,
            ),
        ];
        for (outcome, rang, dir, cause, unconnected, release_s) in cases {
            let f = facts(outcome.clone());
            let receipts = call_receipts(&f, false, None);
            let expected: Vec<&str> = if rang {
                vec!["SecretStartReport", "SecretRingReport", "SecretReport"]
            } else {
                vec!["SecretStartReport", "SecretReport"]
            };
            assert_eq!(types(&receipts), expected, "{outcome:?}");
            let r = &receipts.last().unwrap().pushed;
            assert_eq!(r["release_dir"], dir, "{outcome:?}");
            assert_eq!(r["release_cause"], cause, "{outcome:?}");
            assert_eq!(r["unconnected_cause"], unconnected, "{outcome:?}");
            let release = format_beijing(at() + release_s * 1000);
            assert_eq!(r["release_time"], release.as_str(), "{outcome:?}");
            assert_eq!(
                r["start_time"], r["release_time"],
                "not answered: start is release"
            );
            if outcome.intercepted() {
                assert_eq!(r["call_out_time"], r["call_time"], "never dialled");
                assert_eq!(r["call_type"], 4);
                assert_eq!(r["control_type"], "REJECT");
                assert_eq!(receipts[0].pushed["unconnected_cause"], unconnected);
            } else {
                assert_eq!(r["call_out_time"], "2018-08-01 10:00:01");
            }
            if !rang {
                assert_eq!(r["ring_time"], r["call_out_time"], "never rang");
                assert_eq!(r["free_ring_time"], r["call_out_time"]);
            }
        }
        assert_eq!(
            start_report(&facts(Outcome::Unbound))["control_msg"],
            "NO_SUBS_EXIST"
        );
    }

    #[test]
    fn requested_outcomes_are_checked() {
        assert_eq!(Outcome::requested("busy"), Ok(Outcome::Busy));
        assert!(Outcome::requested("hangup")
            .unwrap_err()
            .contains("answered, noAnswer, busy or rejected"));
    }
}
