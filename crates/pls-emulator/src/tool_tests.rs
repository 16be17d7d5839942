//! End-to-end tests of what makes the emulator a test tool: HTTPS with a
//! certificate made at start, seeds, saved state across a restart and over
//! HTTP, the request log, the next receipt of a type, health, ACS3-HMAC-SM3
//! and the optional QPS limits.

use std::path::PathBuf;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tests::{acs3_headers, http, rpc, start_at, v3_headers, BIND};
use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pls-emulator-{name}-{}-{}",
        std::process::id(),
        clock::real_now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn get_json(emu: &RunningEmulator, path: &str) -> Value {
    http(emu, "GET", path, &[], "").await.unwrap().json()
}

async fn post_json(emu: &RunningEmulator, path: &str, body: &Value) -> (u16, Value) {
    let r = http(emu, "POST", path, &[], &body.to_string())
        .await
        .unwrap();
    (r.status, r.json())
}

/// GET over HTTPS, trusting only `ca_pem`, naming the server `name`.
async fn https_get(emu: &RunningEmulator, ca_pem: &str, name: &str, path: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(emu.local_addr()).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: {name}\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_certificate_made_at_start() {
    let emu = start(EmulatorConfig {
        tls: Some(TlsOption::Generate(true)),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(emu.url().starts_with("https://127.0.0.1:"), "{}", emu.url());
    let ca = emu.ca_pem().unwrap();
    for name in ["127.0.0.1", "localhost"] {
        let reply = https_get(&emu, &ca, name, "/__emulator/health").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains(r#""tls":true"#), "{reply}");
    }
    // Plain HTTP on the TLS port gets no HTTP answer (at most a TLS alert).
    let plain = http(&emu, "GET", "/__emulator/health", &[], "").await;
    assert!(
        plain.as_ref().is_none_or(|r| r.status == 0),
        "{:?}",
        plain.map(|r| r.body)
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_sets_the_start_and_reset_returns_to_it() {
    let emu = start(EmulatorConfig {
        seed: Some(
            serde_json::from_value(json!({
                "account": "777",
                "clock": "2018-08-01 00:00:00",
                "pools": [{"poolKey": "SEEDED", "cities": {"杭州": 2}}],
                "bindings": [{"phoneNoA": "13100000001", "phoneNoB": "13100000002", "expiration": "2018-08-02 00:00:00"}]
            }))
            .unwrap(),
        ),
        ..Default::default()
    })
    .await
    .unwrap();
    let state = get_json(&emu, "/__emulator/state").await;
    assert_eq!(state["account"], "777");
    assert_eq!(state["pools"][0]["poolKey"], "SEEDED");
    assert_eq!(state["bindings"].as_array().unwrap().len(), 1);
    let mut bind = BIND.to_vec();
    bind[1] = ("PoolKey", "SEEDED");
    assert_eq!(
        rpc(&emu, DEMO_ACCESS_KEY_SECRET, &bind).await.json()["Code"],
        "OK"
    );
    assert_eq!(
        get_json(&emu, "/__emulator/state").await["bindings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    post_json(&emu, "/__emulator/reset", &json!({})).await;
    let state = get_json(&emu, "/__emulator/state").await;
    assert_eq!(
        state["bindings"].as_array().unwrap().len(),
        1,
        "back to the seed"
    );
    assert_eq!(state["bindings"][0]["phoneNoA"], "13100000001");
    emu.stop().await.unwrap();

    let err = start(EmulatorConfig {
        seed: Some(serde_json::from_value(json!({"bindings": [{"phoneNoA": "1"}]})).unwrap()),
        ..Default::default()
    })
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("seed binding #1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart() {
    let dir = temp_dir("restart");
    let file = dir.join("emulator-state.json");
    let config = EmulatorConfig {
        clock: Some("2018-08-01 00:00:00".into()),
        state: Some(file.display().to_string()),
        ..Default::default()
    };
    let emu = start(config.clone()).await.unwrap();
    let bound = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json();
    let x = bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = post_json(
        &emu,
        "/__emulator/calls",
        &json!({"caller": "18040580000", "secretNo": x}),
    )
    .await;
    assert_eq!(status, 200);
    post_json(
        &emu,
        "/__emulator/clock",
        &json!({"now": "2018-08-03 00:00:00"}),
    )
    .await;
    emu.stop().await.unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        (saved["format"].as_str(), saved["version"].as_u64()),
        (Some(state::FORMAT), Some(1))
    );

    let again = start(config.clone()).await.unwrap();
    let state = get_json(&again, "/__emulator/state").await;
    assert_eq!(
        state["bindings"][0]["subsId"],
        bound["SecretBindDTO"]["SubsId"]
    );
    assert!(
        state["clock"].as_str().unwrap().starts_with("2018-08-03"),
        "{}",
        state["clock"]
    );
    let queues = get_json(&again, "/__emulator/queues").await;
    let report = queues["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"].as_str().unwrap().ends_with("SecretReport"))
        .unwrap();
    assert_eq!(
        report["messages"][0]["body"]["secret_no"],
        x.as_str(),
        "the receipt survived"
    );
    // The next binding continues the SubsId sequence.
    let mut other = BIND.to_vec();
    other[2] = ("PhoneNoA", "13900000001");
    other[3] = ("PhoneNoB", "13900000002");
    other[4] = ("Expiration", "2018-08-05 12:00:00");
    let next = rpc(&again, DEMO_ACCESS_KEY_SECRET, &other).await.json();
    assert_ne!(
        next["SecretBindDTO"]["SubsId"],
        bound["SecretBindDTO"]["SubsId"]
    );
    again.stop().await.unwrap();

    // A file of another version is refused at start, and left as it was.
    let mut future = saved.clone();
    future["version"] = json!(99);
    std::fs::write(&file, future.to_string()).unwrap();
    let err = start(config).await.err().unwrap().to_string();
    assert!(
        err.contains("version 99") && err.contains(&file.display().to_string()),
        "{err}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(&file).unwrap()).unwrap()["version"],
        99
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_restore_over_http() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let snapshot = get_json(&emu, "/__emulator/snapshot").await;
    assert_eq!(
        rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json()["Code"],
        "OK"
    );
    let (status, _) = post_json(&emu, "/__emulator/restore", &snapshot).await;
    assert_eq!(status, 200);
    assert!(get_json(&emu, "/__emulator/state").await["bindings"]
        .as_array()
        .unwrap()
        .is_empty());
    let (status, body) = post_json(&emu, "/__emulator/restore", &json!({"format": "x"})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not a pls-emulator state"),
        "{body}"
    );
    emu.stop().await.unwrap();
}

/// A V3 request signed with ACS3-HMAC-SM3 by the test signer.
fn sm3_headers(secret: &str, query: &str, nonce: &str) -> Vec<(&'static str, String)> {
    use sm3::{Digest, Sm3};
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = Hmac::<Sm3>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };
    v3_headers(
        ("ACS3-HMAC-SM3", |d| Sm3::digest(d).to_vec(), hmac),
        secret,
        query,
        "",
        nonce,
        None,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sm3_requests_are_verified_and_the_log_shows_every_kind() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let query = "Expiration=2018-08-05%2012%3A00%3A00&PhoneNoA=18040580000&PhoneNoB=13871140000&PoolKey=FC100000xxxxxx";
    let path = format!("/?{query}");
    let ok = http(
        &emu,
        "GET",
        &path,
        &sm3_headers(DEMO_ACCESS_KEY_SECRET, query, "sm3-1"),
        "",
    )
    .await
    .unwrap();
    assert_eq!(ok.json()["Code"], "OK", "{}", ok.body);
    let wrong = http(
        &emu,
        "GET",
        &path,
        &sm3_headers("wrong", query, "sm3-2"),
        "",
    )
    .await
    .unwrap();
    assert_eq!(wrong.json()["Code"], "SignatureDoesNotMatch");
    assert!(wrong.json()["Message"]
        .as_str()
        .unwrap()
        .contains("string to sign is:ACS3-HMAC-SM3\n"));
    let sha = http(
        &emu,
        "GET",
        &path,
        &acs3_headers(DEMO_ACCESS_KEY_SECRET, query, "", "sha-1", None),
        "",
    )
    .await
    .unwrap();
    assert_eq!(sha.json()["Code"], "OK", "{}", sha.body);
    let classic = rpc(
        &emu,
        DEMO_ACCESS_KEY_SECRET,
        &[
            ("Action", "QuerySubscriptionDetail"),
            ("SubsId", "1"),
            ("PhoneNoX", "1"),
        ],
    )
    .await;
    assert_eq!(classic.json()["Code"], "isv.SUBS_NOT_EXIST");

    let log = get_json(&emu, "/__emulator/requests").await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{log}");
    let kinds: Vec<(&str, &str, &str, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["signature"].as_str().unwrap(),
                e["code"].as_str().unwrap_or(""),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "QuerySubscriptionDetail",
                "HMAC-SHA1",
                "isv.SUBS_NOT_EXIST",
                200
            ),
            ("BindAxb", "ACS3-HMAC-SHA256", "OK", 200),
            ("BindAxb", "ACS3-HMAC-SM3", "SignatureDoesNotMatch", 400),
            ("BindAxb", "ACS3-HMAC-SM3", "OK", 200),
        ],
        "newest first"
    );
    let classic = &entries[0];
    assert_eq!(classic["params"]["Signature"], request_log::MASK);
    assert_eq!(classic["params"]["SubsId"], "1");
    assert!(classic["latencyMs"].as_f64().unwrap() >= 0.0);
    assert!(entries[3]["headers"]["authorization"]
        .as_str()
        .unwrap()
        .ends_with("Signature=***"));
    assert_eq!(entries[3]["params"]["PoolKey"], "FC100000xxxxxx");
    let only = get_json(
        &emu,
        "/__emulator/requests?action=QuerySubscriptionDetail&limit=5",
    )
    .await;
    assert_eq!(only["entries"].as_array().unwrap().len(), 1);
    post_json(&emu, "/__emulator/reset", &json!({})).await;
    assert!(get_json(&emu, "/__emulator/requests").await["entries"]
        .as_array()
        .unwrap()
        .is_empty());
    emu.stop().await.unwrap();

    // The benchmark's stateless mode keeps no log.
    let stateless = start(EmulatorConfig {
        stateless: true,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        rpc(&stateless, DEMO_ACCESS_KEY_SECRET, &BIND).await.json()["Code"],
        "OK"
    );
    assert!(
        get_json(&stateless, "/__emulator/requests").await["entries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        get_json(&stateless, "/__emulator/health").await["requestLog"],
        false
    );
    stateless.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_receipt_peeks_consumes_and_waits() {
    let emu = start_at("2018-08-01 00:00:00").await;
    let bound = rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json();
    let x = bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, none) = post_json(
        &emu,
        "/__emulator/queues/next",
        &json!({"type": "SecretReport"}),
    )
    .await;
    assert_eq!(status, 404, "{none}");
    let (status, unknown) =
        post_json(&emu, "/__emulator/queues/next", &json!({"type": "Nope"})).await;
    assert_eq!(status, 400);
    assert!(
        unknown["error"].as_str().unwrap().contains("SecretReport"),
        "{unknown}"
    );

    let waiting = {
        let url = emu.local_addr();
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(url).await.unwrap();
            let body = r#"{"type":"SecretReport","waitMs":20000}"#;
            stream
                .write_all(format!("POST /__emulator/queues/next HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes())
                .await
                .unwrap();
            let mut raw = String::new();
            let _ = stream.read_to_string(&mut raw).await;
            raw
        })
    };
    post_json(
        &emu,
        "/__emulator/calls",
        &json!({"caller": "18040580000", "secretNo": x}),
    )
    .await;
    let raw = waiting.await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.contains(r#""secret_no":""#) && raw.contains(r#""consumed":true"#),
        "{raw}"
    );

    post_json(
        &emu,
        "/__emulator/calls",
        &json!({"caller": "18040580000", "secretNo": x}),
    )
    .await;
    let (_, peeked) = post_json(
        &emu,
        "/__emulator/queues/next",
        &json!({"type": "SecretReport", "consume": false}),
    )
    .await;
    let (_, taken) = post_json(
        &emu,
        "/__emulator/queues/next",
        &json!({"type": "SecretReport"}),
    )
    .await;
    assert_eq!(
        peeked["message"]["messageId"], taken["message"]["messageId"],
        "a peek leaves it for the next reader"
    );
    emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_limits_answer_isv_flow_limit_when_asked_for() {
    let emu = start(EmulatorConfig {
        clock: Some("2018-08-01 00:00:00".into()),
        flow_limits: Some(FlowLimitsOption::Custom(
            [("QuerySubscriptionDetail".to_string(), 1)].into(),
        )),
        ..Default::default()
    })
    .await
    .unwrap();
    let query = [
        ("Action", "QuerySubscriptionDetail"),
        ("SubsId", "1"),
        ("PhoneNoX", "1"),
    ];
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(
            rpc(&emu, DEMO_ACCESS_KEY_SECRET, &query).await.json()["Code"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(codes[0], "isv.SUBS_NOT_EXIST", "the first passes");
    assert!(codes.iter().any(|c| c == "isv.FLOW_LIMIT"), "{codes:?}");
    assert_eq!(
        rpc(&emu, DEMO_ACCESS_KEY_SECRET, &BIND).await.json()["Code"],
        "OK",
        "other actions are not limited"
    );
    assert_eq!(
        get_json(&emu, "/__emulator/health").await["flowLimits"]["QuerySubscriptionDetail"],
        1
    );
    emu.stop().await.unwrap();
}
