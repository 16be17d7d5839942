//! End-to-end tests over real HTTP: a tiny signer written here (apart from
//! the verifier it tests), a raw HTTP/1.1 client, and the emulator.

use std::time::SystemTime;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// Aliyun's classic recipe: form-encode, then fix `+`, `*` and `~`.
pub(crate) fn pop_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
        .replace('*', "%2A")
        .replace("%7E", "~")
}

fn hmac_b64(key: &str, data: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn utc_now() -> String {
    clock::format_utc_timestamp(clock::real_now_ms())
}

/// Signs `params` (plus the common ones) and returns the full query text.
pub(crate) fn signed_query(
    method: &str,
    secret: &str,
    params: &[(&str, &str)],
    nonce: &str,
    timestamp: &str,
) -> String {
    let mut all: Vec<(String, String)> = vec![
        ("Format".into(), "JSON".into()),
        ("Version".into(), "2017-05-25".into()),
        ("AccessKeyId".into(), DEMO_ACCESS_KEY_ID.into()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), nonce.into()),
        ("Timestamp".into(), timestamp.into()),
    ];
    for (k, v) in params {
        all.retain(|(key, _)| key != k);
        all.push((k.to_string(), v.to_string()));
    }
    all.sort();
    let canonical = all
        .iter()
        .map(|(k, v)| format!("{}={}", pop_encode(k), pop_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let signature = hmac_b64(
        &format!("{secret}&"),
        &format!("{method}&%2F&{}", pop_encode(&canonical)),
    );
    format!("{canonical}&Signature={}", pop_encode(&signature))
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One request on a fresh connection; None when the server closed it
/// without answering.
pub(crate) async fn http(
    emu: &RunningEmulator,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Option<Reply> {
    let mut stream = TcpStream::connect(emu.local_addr()).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    if raw.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Some(Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    })
}

pub(crate) async fn rpc(emu: &RunningEmulator, secret: &str, params: &[(&str, &str)]) -> Reply {
    let nonce = format!(
        "n-{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let query = signed_query("GET", secret, params, &nonce, &utc_now());
    http(emu, "GET", &format!("/?{query}"), &[], "")
        .await
        .unwrap()
}

pub(crate) async fn start_at(clock: &str) -> RunningEmulator {
    start(EmulatorConfig {
        clock: Some(clock.into()),
        ..Default::default()
    })
    .await
    .unwrap()
}

pub(crate) const BIND: [(&str, &str); 5] = [
    ("Action", "BindAxb"),
    ("PoolKey", "FC100000xxxxxx"),
    ("PhoneNoA", "18040580000"),
    ("PhoneNoB", "13871140000"),
    ("Expiration", "2018-08-05 12:00:00"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_axb_over_get_and_post() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = r.json();
    assert_eq!(first["Code"], "OK");
    assert!(first["RequestId"].as_str().unwrap().len() > 10);
    let x1 = first["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(r.headers.contains("application/json"));

    let body = signed_query(
        "POST",
        DEMO_ACCESS_KEY_SECRET,
        &BIND,
        "post-nonce-1",
        &utc_now(),
    );
    let headers = [(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let r = http(&emu, "POST", "/", &headers, &body).await.unwrap();
    assert_eq!(r.json()["Code"], "OK", "{}", r.body);
    assert_ne!(
        r.json()["SecretBindDTO"]["SecretNo"].as_str().unwrap(),
        x1,
        "same A and B need another X"
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_rejections() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let r = rpc(&emu, "wrong", &BIND).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["Code"], "SignatureDoesNotMatch");
    assert!(r.json()["Message"]
        .as_str()
        .unwrap()
        .contains("server string to sign is:GET&%2F&AccessKeyId%3DyourAccessKeyId"));
    assert_eq!(r.json()["HostId"], "dyplsapi.aliyuncs.com");
    assert!(r.json()["Recommend"].is_string());

    let query = signed_query("GET", DEMO_ACCESS_KEY_SECRET, &BIND, "replayed", &utc_now());
    assert_eq!(
        http(&emu, "GET", &format!("/?{query}"), &[], "")
            .await
            .unwrap()
            .json()["Code"],
        "OK"
    );
    let r = http(&emu, "GET", &format!("/?{query}"), &[], "")
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (400, "SignatureNonceUsed")
    );

    let old = clock::format_utc_timestamp(clock::real_now_ms() - 16 * 60 * 1000);
    let query = signed_query("GET", DEMO_ACCESS_KEY_SECRET, &BIND, "old", &old);
    assert_eq!(
        http(&emu, "GET", &format!("/?{query}"), &[], "")
            .await
            .unwrap()
            .json()["Code"],
        "InvalidTimeStamp.Expired"
    );
    let query = signed_query(
        "GET",
        DEMO_ACCESS_KEY_SECRET,
        &BIND,
        "fmt",
        "2018-08-01 00:00:00",
    );
    assert_eq!(
        http(&emu, "GET", &format!("/?{query}"), &[], "")
            .await
            .unwrap()
            .json()["Code"],
        "InvalidTimeStamp.Format"
    );

    let query = signed_query(
        "GET",
        DEMO_ACCESS_KEY_SECRET,
        &[("Action", "BindAxb"), ("AccessKeyId", "nobody")],
        "k",
        &utc_now(),
    );
    let r = http(&emu, "GET", &format!("/?{query}"), &[], "")
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (404, "InvalidAccessKeyId.NotFound")
    );

    let r = http(&emu, "GET", "/?Action=BindAxb&Version=2017-05-25", &[], "")
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (400, "MissingAccessKeyId")
    );
    assert_eq!(
        r.json()["Message"],
        "AccessKeyId is mandatory for this action."
    );

    let r = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[("Action", "BindAxb"), ("Version", "2014-05-26")],
    )
    .await;
    assert_eq!(r.json()["Code"], "InvalidVersion");
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &[("Action", "SendSms")]).await;
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (404, "InvalidAction.NotFound")
    );
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND[..1]).await;
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (400, "MissingPoolKey")
    );

    let mut late = BIND.to_vec();
    late[4] = ("Expiration", "2018-08-01 00:00:30");
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &late).await;
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (200, "isv.EXPIRE_DATE_ILLEGAL")
    );
    emu.stop().await.unwrap();
}

pub(crate) async fn token(emu: &RunningEmulator, message_type: &str) -> (String, String, String) {
    let queue = format!("Alicom-Queue-1234567890-{message_type}");
    let r = rpc(
        emu,
        DEMO_ACCESS_KEY_SECRET,
        &[
            ("Action", "QueryTokenForMnsQueue"),
            ("MessageType", message_type),
            ("QueueName", &queue),
        ],
    )
    .await;
    let dto = &r.json()["MessageTokenDTO"];
    let s = |k: &str| dto[k].as_str().unwrap_or_default().to_string();
    assert!(s("ExpireTime") > s("CreateTime"), "{}", r.body);
    (s("AccessKeyId"), s("AccessKeySecret"), s("SecurityToken"))
}

/// Signs an MNS request the way @alicloud/mns does.
pub(crate) async fn mns(
    emu: &RunningEmulator,
    method: &str,
    resource: &str,
    cred: &(String, String, String),
) -> Reply {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let (md5, ctype) = if method == "GET" {
        ("", "")
    } else {
        ("ZDQxZDhjZDk4ZjAwYjIwNGU5ODAwOTk4ZWNmODQyN2U=", "text/xml")
    };
    let to_sign = format!(
        "{method}\n{md5}\n{ctype}\n{date}\nx-mns-date:{date}\nx-mns-version:2015-06-06\n{resource}"
    );
    let mut headers = vec![
        ("date", date.clone()),
        ("x-mns-date", date.clone()),
        ("x-mns-version", "2015-06-06".to_string()),
        (
            "authorization",
            format!("MNS {}:{}", cred.0, hmac_b64(&cred.1, &to_sign)),
        ),
        ("security-token", cred.2.clone()),
    ];
    if method != "GET" {
        headers.push(("content-type", ctype.to_string()));
        headers.push(("content-md5", md5.to_string()));
    }
    http(emu, method, resource, &headers, "").await.unwrap()
}

pub(crate) fn xml_field<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
        .map(|(v, _)| v)
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_receipt_reaches_the_queue_and_is_deleted() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let mut bind = BIND.to_vec();
    bind.push(("IsRecordingEnabled", "true"));
    let bound = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &bind).await.json();
    let x = bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap()
        .to_string();
    let cred = token(&emu, "SecretReport").await;
    let path = "/queues/Alicom-Queue-1234567890-SecretReport/messages?waitseconds=1";
    let empty = mns(&emu, "GET", path, &cred).await;
    assert_eq!(empty.status, 404);
    assert_eq!(xml_field(&empty.body, "Code"), "MessageNotExist");
    assert_eq!(xml_field(&empty.body, "Message"), "Message not exist.");

    let call = http(
        &emu,
        "POST",
        "/__emulator/calls",
        &[],
        &format!(r#"{{"caller":"13871140000","secretNo":"{x}"}}"#),
    )
    .await
    .unwrap()
    .json();
    let call_id = call["callId"].as_str().unwrap().to_string();
    let got = mns(&emu, "GET", path, &cred).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.headers.contains("content-type: text/xml"));
    assert!(got
        .body
        .contains(r#"<Message xmlns="http://mns.aliyuncs.com/doc/v1/">"#));
    assert_eq!(xml_field(&got.body, "DequeueCount"), "1");
    let body = xml_field(&got.body, "MessageBody");
    let md5: String = md5::Md5::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(xml_field(&got.body, "MessageBodyMD5"), md5);
    let report: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    // phone_no is A and peer_no the other party; call_type 1 says the
    // peer called A.
    assert_eq!(report["call_type"], 1, "B called X");
    assert_eq!(report["phone_no"], "18040580000");
    assert_eq!(report["peer_no"], "13871140000");
    assert_eq!(report["call_id"].as_str().unwrap(), call_id);
    assert!(report["sub_id"].is_u64());
    assert_eq!(&report["call_time"].as_str().unwrap()[..10], "2018-08-01");

    let handle = xml_field(&got.body, "ReceiptHandle").to_string();
    let deleted = mns(
        &emu,
        "DELETE",
        &format!("/queues/Alicom-Queue-1234567890-SecretReport/messages?ReceiptHandle={handle}"),
        &cred,
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let again = mns(
        &emu,
        "DELETE",
        &format!("/queues/Alicom-Queue-1234567890-SecretReport/messages?ReceiptHandle={handle}"),
        &cred,
    )
    .await;
    assert_eq!(
        (again.status, xml_field(&again.body, "Code")),
        (400, "ReceiptHandleError")
    );

    // The recording report and the download URL.
    let rec_cred = token(&emu, "SecretRecording").await;
    let rec = mns(
        &emu,
        "GET",
        "/queues/Alicom-Queue-1234567890-SecretRecording/messages",
        &rec_cred,
    )
    .await;
    assert_eq!(rec.status, 200, "{}", rec.body);
    let url = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[
            ("Action", "QueryRecordFileDownloadUrl"),
            ("CallId", &call_id),
        ],
    )
    .await
    .json();
    assert!(
        url["DownloadUrl"].as_str().unwrap().starts_with(&emu.url()),
        "{url}"
    );

    // Credential and queue checks.
    let wrong = mns(
        &emu,
        "GET",
        "/queues/Alicom-Queue-1234567890-SecretRecording/messages",
        &cred,
    )
    .await;
    assert_eq!(
        (wrong.status, xml_field(&wrong.body, "Code")),
        (404, "QueueNotExist")
    );
    let forged = (cred.0.clone(), "bad".to_string(), cred.2.clone());
    let r = mns(&emu, "GET", path, &forged).await;
    assert_eq!(
        (r.status, xml_field(&r.body, "Code")),
        (403, "SignatureDoesNotMatch")
    );
    let unknown = ("STS.nobody".to_string(), cred.1.clone(), cred.2.clone());
    assert_eq!(mns(&emu, "GET", path, &unknown).await.status, 403);
    let r = mns(
        &emu,
        "GET",
        "/queues/Alicom-Queue-1234567890-SecretReport/messages?waitseconds=31",
        &cred,
    )
    .await;
    assert_eq!(
        (r.status, xml_field(&r.body, "Code")),
        (400, "InvalidArgument")
    );
    http(
        &emu,
        "POST",
        "/__emulator/clock",
        &[],
        r#"{"advanceSeconds": 1860}"#,
    )
    .await
    .unwrap();
    let r = mns(&emu, "GET", path, &cred).await;
    assert_eq!(
        (r.status, xml_field(&r.body, "Code")),
        (403, "SecurityTokenExpired")
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_throttle_reset_and_count() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let arm = |kind: &str, count: u32| {
        format!(r#"{{"action":"BindAxb","count":{count},"kind":"{kind}"}}"#)
    };
    http(&emu, "POST", "/__emulator/faults", &[], &arm("throttle", 1))
        .await
        .unwrap();
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await;
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (400, "Throttling.User")
    );
    assert_eq!(
        rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json()["Code"],
        "OK",
        "count of 1 used up"
    );

    http(&emu, "POST", "/__emulator/faults", &[], &arm("reset", 1))
        .await
        .unwrap();
    let query = signed_query("GET", DEMO_ACCESS_KEY_SECRET, &BIND, "reset-1", &utc_now());
    assert!(
        http(&emu, "GET", &format!("/?{query}"), &[], "")
            .await
            .is_none(),
        "closed without a response"
    );

    http(&emu, "POST", "/__emulator/faults", &[], &arm("http503", 1))
        .await
        .unwrap();
    assert_eq!(
        rpc(
            &emu,
            DEMO_ACCESS_KEY_SECRET,
            &[
                ("Action", "UnbindSubscription"),
                ("SubsId", "1"),
                ("SecretNo", "1")
            ]
        )
        .await
        .json()["Code"],
        "isv.SUBS_NOT_EXIST",
        "other actions unaffected"
    );
    assert_eq!(rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.status, 503);
    http(
        &emu,
        "POST",
        "/__emulator/faults",
        &[],
        &arm("flowLimit", 1),
    )
    .await
    .unwrap();
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await;
    assert_eq!(
        (r.status, r.json()["Code"].as_str().unwrap()),
        (200, "isv.FLOW_LIMIT")
    );
    http(&emu, "POST", "/__emulator/faults", &[], &arm("nonJson", 1))
        .await
        .unwrap();
    assert!(rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND)
        .await
        .json()
        .is_null());
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_state_reset_and_expiry_on_the_clock() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let bound = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json();
    let state = http(&emu, "GET", "/__emulator/state", &[], "")
        .await
        .unwrap()
        .json();
    assert_eq!(state["account"], "1234567890");
    assert_eq!(
        state["bindings"][0]["subsId"],
        bound["SecretBindDTO"]["SubsId"]
    );
    assert_eq!(state["bindings"][0]["active"], true);
    assert_eq!(
        state["queues"].as_array().unwrap().len(),
        queue_names::MESSAGE_TYPES.len(),
        "a queue per receipt type"
    );
    http(
        &emu,
        "POST",
        "/__emulator/clock",
        &[],
        r#"{"now":"2018-08-05 12:00:00"}"#,
    )
    .await
    .unwrap();
    let state = http(&emu, "GET", "/__emulator/state", &[], "")
        .await
        .unwrap()
        .json();
    assert_eq!(
        state["bindings"][0]["active"], false,
        "expired on the business clock"
    );
    assert!(state["clock"]
        .as_str()
        .unwrap()
        .starts_with("2018-08-05 12:00"));
    let r = http(&emu, "POST", "/__emulator/clock", &[], r#"{"now":"soon"}"#)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    http(&emu, "POST", "/__emulator/reset", &[], "")
        .await
        .unwrap();
    let state = http(&emu, "GET", "/__emulator/state", &[], "")
        .await
        .unwrap()
        .json();
    assert_eq!(state["bindings"].as_array().unwrap().len(), 0);
    assert!(state["clock"]
        .as_str()
        .unwrap()
        .starts_with("2018-08-01 00:0"));
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_mode_checks_signatures_but_keeps_nothing() {
    let emu = start(EmulatorConfig {
        stateless: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let query = signed_query("GET", DEMO_ACCESS_KEY_SECRET, &BIND, "same", &utc_now());
    for _ in 0..2 {
        let r = http(&emu, "GET", &format!("/?{query}"), &[], "")
            .await
            .unwrap();
        assert_eq!(
            r.json()["SecretBindDTO"]["SecretNo"],
            "17000000000",
            "{}",
            r.body
        );
    }
    assert_eq!(
        rpc(&emu, "wrong", &BIND).await.json()["Code"],
        "SignatureDoesNotMatch"
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_keys_pools_and_errors() {
    let config: EmulatorConfig = serde_json::from_str(
        r#"{"keys":[{"accessKeyId":"id2","accessKeySecret":"s2"}],"pools":[{"poolKey":"P1","numbers":[{"number":"17100000000","city":"北京"}]}],"clock":"2018-08-01 00:00:00"}"#,
    )
    .unwrap();
    let emu = start(config).await.unwrap();
    let query = signed_query(
        "GET",
        "s2",
        &[
            ("Action", "BindAxb"),
            ("AccessKeyId", "id2"),
            ("PoolKey", "P1"),
            ("PhoneNoA", "13100000001"),
            ("PhoneNoB", "13100000002"),
            ("Expiration", "2018-08-02 00:00:00"),
        ],
        "k2",
        &utc_now(),
    );
    let r = http(&emu, "GET", &format!("/?{query}"), &[], "")
        .await
        .unwrap();
    assert_eq!(
        r.json()["SecretBindDTO"]["SecretNo"],
        "17100000000",
        "{}",
        r.body
    );
    assert_eq!(
        rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json()["Code"],
        "isv.POOLKEY_NOT_EXISTS"
    );

    let port = emu.local_addr().port();
    let clash = start(EmulatorConfig {
        port: Some(port),
        ..Default::default()
    })
    .await;
    let message = clash.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("address already in use"), "{message}");
    let bad = start(EmulatorConfig {
        clock: Some("tomorrow".into()),
        ..Default::default()
    })
    .await;
    assert!(bad
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("clock"));

    emu.stop().await.unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "listener closed after stop"
    );
}

use md5::Digest;

fn sts_params<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("Action", "AssumeRole"),
        ("Version", "2015-04-01"),
        ("RoleArn", "acs:ram::1234567890:role/app"),
        ("RoleSessionName", "test"),
    ];
    params.extend_from_slice(extra);
    params
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_keys_need_their_token_and_expire_on_the_business_clock() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let r = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &sts_params(&[("DurationSeconds", "900")]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let creds = r.json()["Credentials"].clone();
    assert_eq!(
        creds["Expiration"], "2018-07-31T16:15:00Z",
        "900 s after the business clock, in UTC"
    );
    let id = creds["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = creds["AccessKeySecret"].as_str().unwrap().to_owned();
    let token = creds["SecurityToken"].as_str().unwrap().to_owned();

    let with = |token: Option<&'static str>| {
        let mut params: Vec<(&str, &str)> = BIND.to_vec();
        params.push(("AccessKeyId", Box::leak(id.clone().into_boxed_str())));
        if let Some(token) = token {
            params.push(("SecurityToken", token));
        }
        params
    };
    let token: &'static str = Box::leak(token.into_boxed_str());
    assert_eq!(
        rpc(&emu, &secret, &with(None)).await.json()["Code"],
        "MissingSecurityToken"
    );
    assert_eq!(
        rpc(&emu, &secret, &with(Some("CAISforged"))).await.json()["Code"],
        "InvalidSecurityToken.MismatchWithAccessKey"
    );
    assert_eq!(
        rpc(&emu, &secret, &with(Some(token))).await.json()["Code"],
        "OK"
    );
    let r = http(
        &emu,
        "POST",
        "/__emulator/clock",
        &[],
        r#"{"advanceSeconds":901}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        rpc(&emu, &secret, &with(Some(token))).await.json()["Code"],
        "InvalidSecurityToken.Expired"
    );

    let bad = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &sts_params(&[("DurationSeconds", "60")]),
    )
    .await;
    assert_eq!(bad.json()["Code"], "InvalidParameter.DurationSeconds");
    let counts = http(&emu, "GET", "/__emulator/credentials", &[], "")
        .await
        .unwrap()
        .json();
    assert_eq!(counts["assumeRole"], 1);
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_is_anonymous_and_checks_token_and_time() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let ask = |token: &str, timestamp: String| {
        let query = format!(
            "/?Action=AssumeRoleWithOIDC&Version=2015-04-01&Format=JSON&Timestamp={}",
            pop_encode(&timestamp)
        );
        let body = format!(
            "OIDCProviderArn={}&OIDCToken={}&RoleArn={}&RoleSessionName=s",
            pop_encode("acs:ram::1234567890:oidc-provider/ack"),
            pop_encode(token),
            pop_encode("acs:ram::1234567890:role/app")
        );
        (query, body)
    };
    let form = [(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let (query, body) = ask("aGVhZA.Ym9keQ.c2ln", utc_now());
    let r = http(&emu, "POST", &query, &form, &body).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["Credentials"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("STS."));
    let (query, body) = ask("not-a-jwt", utc_now());
    assert_eq!(
        http(&emu, "POST", &query, &form, &body)
            .await
            .unwrap()
            .json()["Code"],
        "InvalidParameter.OIDCToken"
    );
    let (query, body) = ask(
        "a.b.c",
        clock::format_utc_timestamp(clock::real_now_ms() - 16 * 60 * 1000),
    );
    assert_eq!(
        http(&emu, "POST", &query, &form, &body)
            .await
            .unwrap()
            .json()["Code"],
        "InvalidTimeStamp.Expired"
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_metadata_with_imdsv2_tokens() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let refused = http(&emu, "PUT", "/latest/api/token", &[], "")
        .await
        .unwrap();
    assert_eq!(refused.status, 400, "a token needs its ttl header");
    let ttl = [(
        "x-aliyun-ecs-metadata-token-ttl-seconds",
        "21600".to_string(),
    )];
    let token = http(&emu, "PUT", "/latest/api/token", &ttl, "")
        .await
        .unwrap()
        .body;
    let with = [("x-aliyun-ecs-metadata-token", token.clone())];
    let forged = [("x-aliyun-ecs-metadata-token", "forged".to_string())];
    let roles = "/latest/meta-data/ram/security-credentials/";
    assert_eq!(
        http(&emu, "GET", roles, &forged, "").await.unwrap().status,
        401
    );
    let role = http(&emu, "GET", roles, &with, "").await.unwrap().body;
    let r = http(&emu, "GET", &format!("{roles}{role}"), &with, "")
        .await
        .unwrap();
    assert_eq!(r.json()["Code"], "Success", "{}", r.body);
    assert_eq!(
        r.json()["Expiration"],
        "2018-07-31T22:00:00Z",
        "six hours of the business clock"
    );
    assert_eq!(
        http(&emu, "GET", &format!("{roles}other"), &with, "")
            .await
            .unwrap()
            .status,
        404
    );
    emu.stop().await.unwrap();
}

/// A V3 signer written here, apart from the verifier and from pls-core,
/// over SHA-256.
pub(crate) fn acs3_headers(
    secret: &str,
    query: &str,
    body: &str,
    nonce: &str,
    tamper: Option<(&str, &str)>,
) -> Vec<(&'static str, String)> {
    use sha2::{Digest, Sha256};
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };
    v3_headers(
        ("ACS3-HMAC-SHA256", |d| Sha256::digest(d).to_vec(), hmac),
        secret,
        query,
        body,
        nonce,
        tamper,
    )
}

/// A hash of a V3 signature, and its HMAC (key, data).
pub(crate) type V3Hash = fn(&[u8]) -> Vec<u8>;
pub(crate) type V3Mac = fn(&[u8], &[u8]) -> Vec<u8>;

/// The V3 recipe for any hash: `(algorithm name, hash, HMAC)`.
pub(crate) fn v3_headers(
    (algorithm, hash, hmac): (&str, V3Hash, V3Mac),
    secret: &str,
    query: &str,
    body: &str,
    nonce: &str,
    tamper: Option<(&str, &str)>,
) -> Vec<(&'static str, String)> {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let body_hash = hex(&hash(body.as_bytes()));
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", "localhost".into()),
        ("x-acs-action", "BindAxb".into()),
        ("x-acs-content-sha256", body_hash.clone()),
        ("x-acs-date", utc_now()),
        ("x-acs-signature-nonce", nonce.into()),
        ("x-acs-version", "2017-05-25".into()),
    ];
    let names = headers
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "GET\n/\n{query}\n{}\n{names}\n{body_hash}",
        headers
            .iter()
            .map(|(n, v)| format!("{n}:{v}\n"))
            .collect::<String>()
    );
    let to_sign = format!("{algorithm}\n{}", hex(&hash(canonical.as_bytes())));
    let signature = hex(&hmac(secret.as_bytes(), to_sign.as_bytes()));
    headers.retain(|(n, _)| *n != "host");
    if let Some((name, value)) = tamper {
        headers.retain(|(n, _)| *n != name);
        let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
        headers.push((name, value.to_owned()));
    }
    headers.push((
        "authorization",
        format!("{algorithm} Credential={DEMO_ACCESS_KEY_ID},SignedHeaders={names},Signature={signature}"),
    ));
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acs3_requests_are_verified_with_the_real_codes() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let query = "Expiration=2018-08-05%2012%3A00%3A00&PhoneNoA=18040580000&PhoneNoB=13871140000&PoolKey=FC100000xxxxxx";
    let path = format!("/?{query}");
    let send = |headers: Vec<(&'static str, String)>| {
        let path = path.clone();
        let emu = &emu;
        async move { http(emu, "GET", &path, &headers, "").await.unwrap() }
    };
    let ok = send(acs3_headers(
        DEMO_ACCESS_KEY_SECRET,
        query,
        "",
        "v3-1",
        None,
    ))
    .await;
    assert_eq!(ok.json()["Code"], "OK", "{}", ok.body);
    let replay = send(acs3_headers(
        DEMO_ACCESS_KEY_SECRET,
        query,
        "",
        "v3-1",
        None,
    ))
    .await;
    assert_eq!(replay.json()["Code"], "SignatureNonceUsed");
    let wrong = send(acs3_headers("wrong", query, "", "v3-2", None)).await;
    assert_eq!(wrong.json()["Code"], "SignatureDoesNotMatch");
    assert!(wrong.json()["Message"]
        .as_str()
        .unwrap()
        .contains("server string to sign is:ACS3-HMAC-SHA256\n"));
    let hash = send(acs3_headers(
        DEMO_ACCESS_KEY_SECRET,
        query,
        "",
        "v3-3",
        Some(("x-acs-content-sha256", "00")),
    ))
    .await;
    assert_eq!(hash.json()["Code"], "InvalidParameter.ContentSHA256");
    let unsigned = send(acs3_headers(
        DEMO_ACCESS_KEY_SECRET,
        query,
        "",
        "v3-4",
        Some(("x-acs-extra", "1")),
    ))
    .await;
    assert_eq!(unsigned.json()["Code"], "IncompleteSignature");
    let no_version = send(acs3_headers(
        DEMO_ACCESS_KEY_SECRET,
        query,
        "",
        "v3-5",
        Some(("x-acs-version", "")),
    ))
    .await;
    assert_eq!(no_version.json()["Code"], "MissingVersion");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_page_call_log_and_queue_contents() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let page = http(&emu, "GET", "/__emulator/", &[], "").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.headers.contains("content-type: text/html"));
    assert!(page
        .headers
        .contains("content-security-policy: default-src 'none'"));
    assert!(page.body.contains("<title>") && page.body.contains("号码隐私保护"));
    assert!(!page.body.contains("://"), "nothing loaded from elsewhere");
    let bare = http(&emu, "GET", "/__emulator", &[], "").await.unwrap();
    assert_eq!(bare.status, 308);
    assert!(bare.headers.contains("location: /__emulator/"));

    let bound = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json();
    let subs_id = bound["SecretBindDTO"]["SubsId"]
        .as_str()
        .unwrap()
        .to_string();
    let x = bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |path: &'static str, body: String| {
        let emu = &emu;
        async move { http(emu, "POST", path, &[], &body).await.unwrap().json() }
    };
    let call = post(
        "/__emulator/calls",
        format!(r#"{{"caller":"18040580000","secretNo":"{x}","durationSeconds":42}}"#),
    )
    .await;
    let call_id = call["callId"].as_str().unwrap().to_string();
    post(
        "/__emulator/sms",
        format!(r#"{{"sender":"13900000009","secretNo":"{x}","content":"hi"}}"#),
    )
    .await;

    let log = http(&emu, "GET", "/__emulator/log", &[], "")
        .await
        .unwrap()
        .json();
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["kind"], "sms", "newest first");
    assert_eq!(
        entries[0]["result"], "intercepted",
        "the sender is not bound"
    );
    assert_eq!(entries[0]["content"], "hi");
    assert_eq!(entries[1]["kind"], "call");
    assert_eq!(entries[1]["callId"], call_id.as_str());
    assert_eq!(entries[1]["subsId"], subs_id.as_str());
    assert_eq!(entries[1]["to"], "13871140000", "A's call reaches B");
    assert_eq!(entries[1]["result"], "answered");
    assert_eq!(entries[1]["durationSeconds"], 42);
    assert!(
        entries[1]["time"]
            .as_str()
            .unwrap()
            .starts_with("2018-08-01 00:0"),
        "on the business clock"
    );

    let report_queue = |queues: &Value| {
        queues["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == "Alicom-Queue-1234567890-SecretReport")
            .cloned()
            .unwrap()
    };
    let queues = http(&emu, "GET", "/__emulator/queues", &[], "")
        .await
        .unwrap()
        .json();
    assert_eq!(
        queues["queues"].as_array().unwrap().len(),
        queue_names::MESSAGE_TYPES.len()
    );
    let q = report_queue(&queues);
    assert_eq!(q["visibilityTimeoutSeconds"], 30);
    let message = &q["messages"][0];
    assert_eq!(message["body"]["call_id"], call_id.as_str(), "body decoded");
    assert_eq!(message["visible"], true);
    assert_eq!(message["dequeueCount"], 0);

    // A receive hides the message and counts the dequeue.
    let cred = token(&emu, "SecretReport").await;
    let got = mns(
        &emu,
        "GET",
        "/queues/Alicom-Queue-1234567890-SecretReport/messages?waitseconds=1",
        &cred,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let queues = http(&emu, "GET", "/__emulator/queues", &[], "")
        .await
        .unwrap()
        .json();
    let message = &report_queue(&queues)["messages"][0];
    assert_eq!(message["visible"], false);
    assert_eq!(message["dequeueCount"], 1);
    let hidden_for = message["visibleInMs"].as_i64().unwrap();
    assert!((1..=30_000).contains(&hidden_for), "{hidden_for}");

    post("/__emulator/reset", String::new()).await;
    let log = http(&emu, "GET", "/__emulator/log", &[], "")
        .await
        .unwrap()
        .json();
    assert_eq!(
        log["entries"].as_array().unwrap().len(),
        0,
        "reset clears the log"
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_xml_answers_successes_and_errors_in_xml() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let mut bind = BIND.to_vec();
    bind.push(("Format", "XML"));
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &bind).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers.contains("content-type: text/xml"),
        "{}",
        r.headers
    );
    assert!(
        r.body
            .starts_with("<?xml version='1.0' encoding='UTF-8'?><BindAxbResponse><RequestId>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<Code>OK</Code>") && r.body.contains("<SecretBindDTO><SubsId>"));

    // A business error (HTTP 200) keeps the action's root, as the real
    // gateway writes it; a gateway error is an <Error> document.
    let mut illegal = bind.clone();
    illegal.push(("PhoneNoA", "12"));
    let r = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &illegal).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .starts_with("<?xml version='1.0' encoding='UTF-8'?><BindAxbResponse><RequestId>")
            && r.body.contains("<Code>isv.MOBILE_NUMBER_ILLEGAL</Code>")
            && !r.body.contains("<Error>"),
        "{}",
        r.body
    );
    let r = rpc(&emu, "wrong", &bind).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("<Error><RequestId>")
            && r.body.contains("<Code>SignatureDoesNotMatch</Code>")
    );

    // The actions beyond the original nine are served, with their own mandatory params.
    let r = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[("Action", "CreateAxgGroup")],
    )
    .await;
    assert_eq!(r.json()["Code"], "MissingPoolKey");
    let r = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[("Action", "CreateAxgGroup"), ("PoolKey", "FC100000xxxxxx")],
    )
    .await;
    assert_eq!(r.json()["Code"], "OK");
    assert!(r.json()["GroupId"].is_u64());
    emu.stop().await.unwrap();
}
