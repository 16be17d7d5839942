//! Receipts end to end over real HTTP: a call's receipts pushed to a
//! receiver (axum, in the test) or queued, push retries on the business
//! clock, the pushTwice fault, the answer limit, the delayed ASR report,
//! number reports, and the push settings of the control API.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::clock::parse_beijing;
use crate::tests::{http, rpc, start_at, BIND};
use crate::{start, EmulatorConfig, RunningEmulator, DEMO_ACCESS_KEY_SECRET};

/// How the receiver answers one push: status, body, delay before answering.
type Scripted = (u16, &'static str, u64);

const OK: Scripted = (200, r#"{"code":0,"msg":"成功"}"#, 0);

/// A callback server: records every pushed body, answers from its script
/// (then with OK).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    script: Arc<Mutex<VecDeque<Scripted>>>,
}

impl Receiver {
    async fn start(script: &[Scripted]) -> (String, Receiver) {
        let receiver = Receiver::default();
        receiver
            .script
            .lock()
            .unwrap()
            .extend(script.iter().copied());
        let app = Router::new()
            .route("/hook", post(answer))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, receiver)
    }

    fn bodies(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (real time) until `n` pushes arrived.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.bodies();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} pushes: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    State(receiver): State<Receiver>,
    body: String,
) -> (axum::http::StatusCode, String) {
    receiver
        .got
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
    let (status, text, delay) = receiver.script.lock().unwrap().pop_front().unwrap_or(OK);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        text.to_string(),
    )
}

async fn post_json(emu: &RunningEmulator, path: &str, body: Value) -> (u16, Value) {
    let r = http(emu, "POST", path, &[], &body.to_string())
        .await
        .unwrap();
    (r.status, r.json())
}

async fn get_json(emu: &RunningEmulator, path: &str) -> Value {
    http(emu, "GET", path, &[], "").await.unwrap().json()
}

/// The push entries of the log, oldest first.
async fn pushes(emu: &RunningEmulator) -> Vec<Value> {
    let mut entries: Vec<Value> = get_json(emu, "/__emulator/log").await["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "push")
        .cloned()
        .collect();
    entries.reverse();
    entries
}

async fn wait_for_pushes(emu: &RunningEmulator, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let entries = pushes(emu).await;
        if entries.len() >= n {
            return entries;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} log entries: {entries:?}",
            entries.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Milliseconds from business time `from` to `to` (both log/receipt texts).
fn between(from: &Value, to: &Value) -> i64 {
    let ms = |v: &Value| parse_beijing(v.as_str().unwrap_or_default()).unwrap_or(i64::MIN / 2);
    ms(to) - ms(from)
}

async fn advance(emu: &RunningEmulator, seconds: i64) {
    let (status, _) = post_json(
        emu,
        "/__emulator/clock",
        json!({ "advanceSeconds": seconds }),
    )
    .await;
    assert_eq!(status, 200);
}

/// Binds A and B (with the extra params) and answers X.
async fn bind(emu: &RunningEmulator, extra: &[(&str, &str)]) -> String {
    let mut params = BIND.to_vec();
    params.extend_from_slice(extra);
    let bound = rpc(emu, DEMO_ACCESS_KEY_SECRET, &params).await.json();
    bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn start_pushing(types: &[&str], url: &str) -> RunningEmulator {
    start(EmulatorConfig {
        clock: Some("2018-08-01 00:00:00".into()),
        push: types
            .iter()
            .map(|t| (t.to_string(), Some(url.to_string())))
            .collect(),
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_pushed_for_the_types_with_a_url_and_queued_for_the_rest() {
    let (url, receiver) = Receiver::start(&[]).await;
    let pushed = [
        "SecretStartReport",
        "SecretRingReport",
        "SecretPickUpReport",
        "SecretReport",
    ];
    let emu = start_pushing(&pushed, &url).await;
    let x = bind(
        &emu,
        &[("IsRecordingEnabled", "true"), ("OutId", "order-1")],
    )
    .await;
    let (status, call) = post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "18040580000", "secretNo": x, "durationSeconds": 42 }),
    )
    .await;
    assert_eq!(status, 200, "{call}");
    let deliveries: Vec<(&str, &str)> = call["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["delivery"].as_str().unwrap()))
        .collect();
    assert_eq!(
        deliveries,
        [
            ("SecretStartReport", "push"),
            ("SecretRingReport", "push"),
            ("SecretPickUpReport", "push"),
            ("SecretReport", "push"),
            ("SecretRecording", "mns"),
        ]
    );
    // One batch per type, in the order the service emits them.
    let bodies = receiver.wait_for(4).await;
    let call_id = call["callId"].as_str().unwrap();
    for (body, expected) in bodies.iter().zip(pushed) {
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), 1, "{expected}: {body}");
        assert_eq!(items[0]["call_id"], call_id, "{expected}");
        assert_eq!(items[0]["out_id"], "order-1", "{expected}");
    }
    assert!(
        bodies[0][0].get("control_type").is_some(),
        "the start report"
    );
    assert!(bodies[1][0].get("ring_time").is_some() && bodies[1][0].get("start_time").is_none());
    assert!(
        bodies[2][0].get("start_time").is_some(),
        "the pick-up report"
    );
    let report = &bodies[3][0];
    assert_eq!(report["release_cause"], 16);
    assert!(report.get("sms_number").is_none(), "not in the pushed form");
    assert!(report["record_url"].as_str().unwrap().ends_with(".mp3"));
    // The recording's type has no URL: it waits on its queue.
    let state = get_json(&emu, "/__emulator/state").await;
    let queued = |name: &str| {
        state["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == format!("Alicom-Queue-1234567890-{name}"))
            .map(|q| q["messages"].as_u64().unwrap())
    };
    assert_eq!(queued("SecretRecording"), Some(1));
    assert_eq!(queued("SecretReport"), Some(0));
    assert_eq!(state["push"]["SecretReport"], url.as_str());

    let entries = wait_for_pushes(&emu, 4).await;
    for (entry, expected) in entries.iter().zip(pushed) {
        assert_eq!(entry["type"], expected);
        assert_eq!(
            (entry["outcome"].as_str(), entry["attempt"].as_u64()),
            (Some("delivered"), Some(1))
        );
        assert_eq!(
            (entry["status"].as_u64(), entry["code"].as_u64()),
            (Some(200), Some(0))
        );
        assert_eq!(entry["url"], url.as_str());
        assert_eq!(entry["receipts"], 1);
        assert_eq!(entry["nextAttemptAt"], Value::Null);
        assert_eq!(entry["body"][0]["call_id"], call_id);
    }

    // Numbers bought and released are reported too, once the URL is set.
    let (status, _) = post_json(
        &emu,
        "/__emulator/push",
        json!({ "type": "NumberManagementReport", "url": url }),
    )
    .await;
    assert_eq!(status, 200);
    let bought = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[
            ("Action", "BuySecretNo"),
            ("PoolKey", "FC100000xxxxxx"),
            ("SpecId", "2"),
            ("City", "成都"),
        ],
    )
    .await
    .json();
    let number = bought["SecretBuyInfoDTO"]["SecretNo"].as_str().unwrap();
    let released = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[
            ("Action", "ReleaseSecretNo"),
            ("PoolKey", "FC100000xxxxxx"),
            ("SecretNo", number),
        ],
    )
    .await
    .json();
    assert_eq!(released["Code"], "OK");
    let bodies = receiver.wait_for(6).await;
    for (body, status) in bodies[4..].iter().zip([1, 2]) {
        let r = &body[0];
        assert_eq!(r["secretNo"], number);
        assert_eq!(r["city"], "成都");
        assert_eq!(r["partnerKey"], "FC100000xxxxxx");
        assert_eq!(r["status"], status);
        assert_eq!(r["vendor"], 2, "a 130 number is China Unicom's");
        assert_eq!(&r["operatingTime"].as_str().unwrap()[..10], "2018-08-01");
    }
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_pushes_are_retried_on_the_business_clock_then_dropped() {
    let fail = (500, "oops", 0);
    let bad_body = (200, "OK", 0);
    // The first batch fails twice then is delivered; the second never is.
    let (url, receiver) = Receiver::start(&[fail, bad_body, OK, fail, fail, fail, fail]).await;
    let emu = start_pushing(&["SecretReport"], &url).await;
    let x = bind(&emu, &[]).await;
    post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "18040580000", "secretNo": x }),
    )
    .await;
    let entries = wait_for_pushes(&emu, 1).await;
    assert_eq!(entries[0]["outcome"], "failed");
    assert_eq!(entries[0]["status"], 500);
    assert_eq!(entries[0]["detail"], "HTTP 500");
    assert_eq!(
        between(&entries[0]["time"], &entries[0]["nextAttemptAt"]),
        60_000,
        "1 minute later"
    );
    let pending = get_json(&emu, "/__emulator/push").await["pending"].clone();
    assert_eq!(pending[0]["kind"], "retry");
    assert_eq!(pending[0]["attempt"], 2);
    // Nothing happens until the business clock gets there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.bodies().len(), 1);

    advance(&emu, 60).await;
    let entries = wait_for_pushes(&emu, 2).await;
    assert_eq!(entries[1]["attempt"], 2);
    assert_eq!(entries[1]["outcome"], "failed");
    assert!(
        entries[1]["detail"]
            .as_str()
            .unwrap()
            .contains("numeric code"),
        "{}",
        entries[1]["detail"]
    );
    assert_eq!(
        between(&entries[1]["time"], &entries[1]["nextAttemptAt"]),
        300_000,
        "5 minutes after the second"
    );
    advance(&emu, 300).await;
    let entries = wait_for_pushes(&emu, 3).await;
    assert_eq!(
        (
            entries[2]["attempt"].as_u64(),
            entries[2]["outcome"].as_str()
        ),
        (Some(3), Some("delivered"))
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "a retry is the same batch"
    );
    assert_eq!(entries[0]["batchId"], entries[2]["batchId"]);

    // A batch that always fails: retried after 1, 5 and 10 minutes, then dropped.
    post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "18040580000", "secretNo": x }),
    )
    .await;
    wait_for_pushes(&emu, 4).await;
    for (n, seconds) in [(5, 60), (6, 300), (7, 600)] {
        advance(&emu, seconds).await;
        wait_for_pushes(&emu, n).await;
    }
    let entries = pushes(&emu).await;
    let outcomes: Vec<(u64, &str)> = entries[3..]
        .iter()
        .map(|e| {
            (
                e["attempt"].as_u64().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [(1, "failed"), (2, "failed"), (3, "failed"), (4, "dropped")]
    );
    assert_eq!(entries[6]["nextAttemptAt"], Value::Null);
    assert_eq!(
        get_json(&emu, "/__emulator/push").await["pending"],
        json!([]),
        "nothing left to retry"
    );
    advance(&emu, 3600).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.bodies().len(), 7, "dropped for good");
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_twice_fault_and_the_answer_limit() {
    let slow = (200, r#"{"code":0}"#, 1500);
    let (url, receiver) = Receiver::start(&[OK, OK, slow]).await;
    let emu = start_pushing(&["SecretReport"], &url).await;
    let x = bind(&emu, &[]).await;
    let (status, _) = post_json(
        &emu,
        "/__emulator/faults",
        json!({ "kind": "pushTwice", "action": "SecretReport" }),
    )
    .await;
    assert_eq!(status, 200);
    post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "18040580000", "secretNo": x }),
    )
    .await;
    let bodies = receiver.wait_for(2).await;
    assert_eq!(bodies[0], bodies[1], "the same batch, twice");
    let entries = wait_for_pushes(&emu, 2).await;
    assert_eq!(
        entries
            .iter()
            .map(|e| e["duplicate"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [false, true]
    );
    assert!(entries.iter().all(|e| e["outcome"] == "delivered"));
    assert_eq!(entries[0]["batchId"], entries[1]["batchId"]);

    // An answer later than the limit is a failed push.
    let (status, listing) = post_json(&emu, "/__emulator/push", json!({ "timeoutMs": 300 })).await;
    assert_eq!((status, listing["timeoutMs"].as_u64()), (200, Some(300)));
    post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "18040580000", "secretNo": x }),
    )
    .await;
    let entries = wait_for_pushes(&emu, 3).await;
    assert_eq!(entries[2]["outcome"], "failed");
    assert_eq!(entries[2]["detail"], "no answer within 300 ms");
    assert_eq!(entries[2]["status"], Value::Null);
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asr_report_comes_after_its_delay_on_the_business_clock() {
    let (url, receiver) = Receiver::start(&[]).await;
    let emu = start_pushing(&["SecretAsrReport"], &url).await;
    let x = bind(
        &emu,
        &[("IsRecordingEnabled", "true"), ("ASRStatus", "true")],
    )
    .await;
    let (_, call) = post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "13871140000", "secretNo": x, "durationSeconds": 10, "asrDelaySeconds": 120 }),
    )
    .await;
    let asr = call["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "SecretAsrReport")
        .cloned()
        .unwrap();
    // Released at +15 s (5 s to answer, 10 s of talk), then 120 s.
    assert_eq!(asr["delivery"], "scheduled");
    assert_eq!(
        between(&call["report"]["call_time"], &asr["dueAt"]),
        135_000
    );
    let pending = get_json(&emu, "/__emulator/push").await["pending"].clone();
    assert_eq!(pending[0]["kind"], "receipt");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.bodies().is_empty(), "not before its time");
    advance(&emu, 135).await;
    let bodies = receiver.wait_for(1).await;
    let report = &bodies[0][0];
    assert_eq!(report["callId"], call["callId"]);
    assert_eq!(report["secretNo"], x.as_str());
    assert_eq!(report["bizDuration"], 10_000);
    assert_eq!(report["sentences"].as_array().unwrap().len(), 2);

    // A reset forgets what waits and restores the configured URLs.
    post_json(
        &emu,
        "/__emulator/calls",
        json!({ "caller": "13871140000", "secretNo": x }),
    )
    .await;
    assert_eq!(
        get_json(&emu, "/__emulator/push").await["pending"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    post_json(
        &emu,
        "/__emulator/push",
        json!({ "type": "SecretAsrReport", "url": null }),
    )
    .await;
    assert_eq!(get_json(&emu, "/__emulator/push").await["push"], json!({}));
    post_json(&emu, "/__emulator/reset", json!({})).await;
    let listing = get_json(&emu, "/__emulator/push").await;
    assert_eq!(listing["pending"], json!([]));
    assert_eq!(listing["push"]["SecretAsrReport"], url.as_str());
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_settings_are_checked() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let listing = get_json(&emu, "/__emulator/push").await;
    assert_eq!(listing["push"], json!({}));
    assert_eq!(listing["timeoutMs"], 700);
    assert_eq!(listing["retryDelaysSeconds"], json!([60, 300, 600]));
    assert!(!listing["pushable"]
        .as_array()
        .unwrap()
        .contains(&json!("SecretExceptionPhoneReport")));
    for (body, says) in [
        (
            json!({ "type": "SecretExceptionPhoneReport", "url": "http://127.0.0.1:9/" }),
            "MNS only",
        ),
        (
            json!({ "type": "SmsReport", "url": "http://127.0.0.1:9/" }),
            "unknown receipt type",
        ),
        (
            json!({ "type": "SecretReport", "url": "ftp://127.0.0.1/" }),
            "http://",
        ),
        (json!({ "type": "SecretReport" }), "url"),
        (json!({ "url": "http://127.0.0.1:9/" }), "type"),
        (json!({ "timeoutMs": 0 }), "timeout"),
        (json!({}), "timeoutMs"),
        (
            json!({ "type": "SecretReport", "url": "http://h/", "extra": 1 }),
            "unknown field",
        ),
    ] {
        let (status, reply) = post_json(&emu, "/__emulator/push", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            reply["error"].as_str().unwrap().contains(says),
            "{body}: {reply}"
        );
    }
    let bad = start(EmulatorConfig {
        push: [("SecretReport".to_string(), Some("nope".to_string()))].into(),
        ..Default::default()
    })
    .await;
    assert!(matches!(bad, Err(crate::EmulatorError::Config(m)) if m.contains("not a URL")));
    emu.stop().await.unwrap();
}
