//! The families' rules, run against the model directly.

use serde_json::Value;

use super::*;
use crate::clock::parse_beijing;
use crate::dypls::{default_pools, DEFAULT_POOL_KEY};

const POOL: &str = DEFAULT_POOL_KEY;
const LATER: &str = "2018-08-05 12:00:00";

fn now() -> i64 {
    parse_beijing("2018-08-01 00:00:00").unwrap_or(0)
}

/// Runs `action` with `pairs` on `model`.
fn run(model: &mut Model, action: &str, pairs: &[(&str, &str)]) -> ActionResult {
    let encoded = form(pairs);
    let mut p = Params::default();
    p.extend_from_form(encoded.as_bytes());
    let cx = Context {
        now_ms: now(),
        base_url: "http://127.0.0.1:1",
    };
    dispatch(model, action, &p, &cx).unwrap_or_else(|| Err(invalid("not an action here")))
}

fn ok(result: ActionResult) -> Value {
    match result {
        Ok(fields) => Value::Object(fields),
        Err(e) => panic!("expected success, got {} {}", e.code, e.message),
    }
}

fn code(result: ActionResult) -> &'static str {
    match result {
        Ok(_) => "OK",
        Err(e) => e.code,
    }
}

fn model() -> Model {
    Model::new(&default_pools())
}

fn new_group(m: &mut Model, numbers: &str) -> String {
    let reply = ok(run(
        m,
        "CreateAxgGroup",
        &[("PoolKey", POOL), ("Numbers", numbers)],
    ));
    reply["GroupId"].to_string()
}

#[test]
fn axg_group_members_reach_a_and_a_reaches_b() {
    let mut m = model();
    let g = new_group(&mut m, "13900000001,13900000002");
    let bound = ok(run(
        &mut m,
        "BindAxg",
        &[
            ("PhoneNoA", "13800000000"),
            ("PhoneNoB", "13700000000"),
            ("GroupId", &g),
            ("Expiration", LATER),
        ],
    ));
    let x = bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let member = m.route("13900000002", &x, None, now());
    assert_eq!((member.peer.as_str(), member.call_type), ("13800000000", 1));
    let a = m.route("13800000000", &x, None, now());
    assert_eq!((a.peer.as_str(), a.call_type), ("13700000000", 0));
    let stranger = m.route("13500000000", &x, None, now());
    assert!(stranger.binding.is_none(), "not in the group: intercepted");

    // Numbers added later route too; a bound group cannot be deleted or emptied.
    ok(run(
        &mut m,
        "OperateAxgGroup",
        &[
            ("PoolKey", POOL),
            ("GroupId", &g),
            ("OperateType", "addNumbers"),
            ("Numbers", "13500000000"),
        ],
    ));
    assert_eq!(m.route("13500000000", &x, None, now()).peer, "13800000000");
    assert_eq!(
        code(run(
            &mut m,
            "DeleteAxgGroup",
            &[("PoolKey", POOL), ("GroupId", &g)]
        )),
        "isv.INVALID_PARAMETERS"
    );
    assert_eq!(
        code(run(
            &mut m,
            "OperateAxgGroup",
            &[
                ("PoolKey", POOL),
                ("GroupId", &g),
                ("OperateType", "deleteNumbers"),
                ("Numbers", "13900000001,13900000002,13500000000")
            ]
        )),
        "isv.INVALID_PARAMETERS"
    );
    assert_eq!(
        code(run(
            &mut m,
            "OperateAxgGroup",
            &[
                ("PoolKey", POOL),
                ("GroupId", &g),
                ("OperateType", "swap"),
                ("Numbers", "13900000001")
            ]
        )),
        "isv.INVALID_PARAMETERS"
    );
    assert_eq!(
        code(run(
            &mut m,
            "BindAxg",
            &[
                ("PhoneNoA", "13800000001"),
                ("GroupId", "42"),
                ("Expiration", LATER)
            ]
        )),
        "isv.INVALID_PARAMETERS"
    );
}

#[test]
fn an_unbound_group_is_deleted_once() {
    let mut m = model();
    let g = new_group(&mut m, "");
    assert_eq!(
        code(run(
            &mut m,
            "DeleteAxgGroup",
            &[("PoolKey", POOL), ("GroupId", &g)]
        )),
        "OK"
    );
    assert_eq!(
        code(run(
            &mut m,
            "DeleteAxgGroup",
            &[("PoolKey", POOL), ("GroupId", &g)]
        )),
        "isv.INVALID_PARAMETERS"
    );
    assert_eq!(
        code(run(&mut m, "CreateAxgGroup", &[("PoolKey", "FCnope")])),
        "isv.POOLKEY_NOT_EXISTS"
    );
    assert_eq!(
        code(run(
            &mut m,
            "CreateAxgGroup",
            &[("PoolKey", POOL), ("Numbers", "12")]
        )),
        "isv.MOBILE_NUMBER_ILLEGAL"
    );
}

#[test]
fn batch_axg_reports_each_item() {
    let mut m = model();
    let g = new_group(&mut m, "13900000001");
    let list = format!(
        r#"[{{"PhoneNoA":"13800000000","GroupId":"{g}","Expiration":"{LATER}"}},{{"PhoneNoA":"bad","GroupId":"{g}","Expiration":"{LATER}"}}]"#
    );
    let reply = ok(run(
        &mut m,
        "BindBatchAxg",
        &[("PoolKey", POOL), ("AxgBindList", &list)],
    ));
    let items = reply["SecretBindList"]["SecretBind"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["Code"], "OK");
    assert!(items[0]["SubsId"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(items[1]["Code"], "isv.MOBILE_NUMBER_ILLEGAL");
    assert_eq!(
        code(run(&mut m, "BindBatchAxg", &[("AxgBindList", "not json")])),
        "isv.INVALID_PARAMETERS"
    );
}

#[test]
fn a_locked_number_takes_no_new_binding() {
    let mut m = model();
    let all: Vec<String> = m
        .pools()
        .flat_map(|p| p.numbers.iter().map(|n| n.number.clone()))
        .collect();
    for x in &all {
        ok(run(
            &mut m,
            "LockSecretNo",
            &[("PoolKey", POOL), ("SecretNo", x)],
        ));
    }
    let bind = [
        ("PoolKey", POOL),
        ("PhoneNoA", "13800000000"),
        ("PhoneNoB", "13700000000"),
        ("Expiration", LATER),
    ];
    assert_eq!(
        code(m.bind_axb(&params_of(&bind), now())),
        "isv.NO_AVAILABLE_NUMBER"
    );
    let detail = ok(run(
        &mut m,
        "QuerySecretNoDetail",
        &[("PoolKey", POOL), ("SecretNo", &all[0])],
    ));
    assert_eq!(detail["SecretNoInfoDTO"]["SecretStatus"], 2);
    ok(run(
        &mut m,
        "UnlockSecretNo",
        &[("PoolKey", POOL), ("SecretNo", &all[3])],
    ));
    let bound = ok(m.bind_axb(&params_of(&bind), now()));
    assert_eq!(bound["SecretBindDTO"]["SecretNo"], all[3].as_str());
    assert_eq!(
        code(run(
            &mut m,
            "LockSecretNo",
            &[("PoolKey", POOL), ("SecretNo", "17999999999")]
        )),
        "isv.NO_NOT_EXIST"
    );
}

fn params_of(pairs: &[(&str, &str)]) -> Params<'static> {
    let encoded: &'static str = Box::leak(form(pairs).into_boxed_str());
    let mut p = Params::default();
    p.extend_from_form(encoded.as_bytes());
    p
}

#[test]
fn remaining_stock_falls_as_pools_grow() {
    let mut m = model();
    let before = ok(run(
        &mut m,
        "QuerySecretNoRemain",
        &[("City", "北京"), ("SpecId", "1")],
    ));
    let amount = before["SecretRemainDTO"]["Amount"].as_i64().unwrap_or(-1);
    assert_eq!(
        amount,
        1000 - 4,
        "the default pool holds four numbers of 北京"
    );
    ok(m.buy_secret_no(&params_of(&[
        ("PoolKey", POOL),
        ("SpecId", "1"),
        ("City", "北京"),
    ])));
    let after = ok(run(
        &mut m,
        "QuerySecretNoRemain",
        &[("City", "北京"), ("SpecId", "1")],
    ));
    assert_eq!(
        after["SecretRemainDTO"]["Amount"].as_i64(),
        Some(amount - 1)
    );
    let all = ok(run(
        &mut m,
        "QuerySecretNoRemain",
        &[("City", "全国"), ("SpecId", "2")],
    ));
    assert_eq!(
        all["SecretRemainDTO"]["RemainDTOList"]["remainDTO"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert_eq!(
        code(run(
            &mut m,
            "QuerySecretNoRemain",
            &[("City", "北京"), ("SpecId", "9")]
        )),
        "isv.INVALID_PARAMETERS"
    );
}

#[test]
fn track_numbers_find_a_of_live_axn_bindings() {
    let mut m = model();
    let bound = ok(m.bind_axn(
        &params_of(&[
            ("PoolKey", POOL),
            ("PhoneNoA", "13800000000"),
            ("Expiration", LATER),
        ]),
        now(),
    ));
    let subs = bound["SecretBindDTO"]["SubsId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let x = bound["SecretBindDTO"]["SecretNo"]
        .as_str()
        .unwrap_or("")
        .to_string();
    // The official SDK writes trackNo; clients that upper-case first letters write TrackNo.
    ok(run(
        &mut m,
        "AddAxnTrackNo",
        &[
            ("PoolKey", POOL),
            ("SubsId", &subs),
            ("PhoneNoX", &x),
            ("trackNo", "YT100"),
        ],
    ));
    let found = ok(run(
        &mut m,
        "QueryPhoneNoAByTrackNo",
        &[("TrackNo", "YT100")],
    ));
    assert_eq!(found["Module"][0]["PhoneNoA"], "13800000000");
    assert_eq!(found["Module"][0]["PhoneNoX"], x.as_str());
    let none = ok(run(
        &mut m,
        "QueryPhoneNoAByTrackNo",
        &[("trackNo", "nope")],
    ));
    assert_eq!(none["Module"], serde_json::json!([]));
    let sid = ok(run(&mut m, "QuerySubsId", &[("PhoneNoX", &x)]));
    assert_eq!(sid["SubsId"], subs.as_str());
    assert_eq!(
        code(run(&mut m, "QuerySubsId", &[("PhoneNoX", "17999999999")])),
        "isv.SUBS_NOT_EXIST"
    );
}

#[test]
fn blacklists_refuse_by_direction() {
    let mut m = model();
    ok(run(
        &mut m,
        "AddSecretBlacklist",
        &[
            ("PoolKey", POOL),
            ("BlackType", "POINT_TO_POINT_BLACK"),
            ("BlackNo", "13800000000:13700000000"),
            ("WayControl", "PHONEA_REJECT"),
        ],
    ));
    assert!(
        m.blacklist_refusal(POOL, "13700000000", "13800000000")
            .is_some(),
        "the second may not call the first"
    );
    assert!(
        m.blacklist_refusal(POOL, "13800000000", "13700000000")
            .is_none(),
        "the first may call the second"
    );
    assert!(
        m.blacklist_refusal("FCother", "13700000000", "13800000000")
            .is_none(),
        "per pool"
    );
    ok(run(
        &mut m,
        "OperateBlackNo",
        &[
            ("PoolKey", POOL),
            ("BlackNo", "13600000000"),
            ("OperateType", "AddBlack"),
        ],
    ));
    assert!(m
        .blacklist_refusal(POOL, "13600000000", "13800000000")
        .is_some());
    ok(run(
        &mut m,
        "OperateBlackNo",
        &[
            ("PoolKey", POOL),
            ("BlackNo", "13600000000"),
            ("OperateType", "DeleteBlack"),
        ],
    ));
    assert!(m
        .blacklist_refusal(POOL, "13600000000", "13800000000")
        .is_none());
    assert_eq!(
        code(run(
            &mut m,
            "OperateBlackNo",
            &[
                ("PoolKey", POOL),
                ("BlackNo", "13600000000"),
                ("OperateType", "DeleteBlack")
            ]
        )),
        "isv.INVALID_PARAMETERS"
    );
    assert_eq!(
        code(run(
            &mut m,
            "AddSecretBlacklist",
            &[
                ("PoolKey", POOL),
                ("BlackType", "POINT_TO_POINT_BLACK"),
                ("BlackNo", "13800000000")
            ]
        )),
        "isv.INVALID_PARAMETERS"
    );
    assert_eq!(
        code(run(
            &mut m,
            "AddSecretBlacklist",
            &[
                ("PoolKey", POOL),
                ("BlackType", "OTHER"),
                ("BlackNo", "13800000000")
            ]
        )),
        "isv.INVALID_PARAMETERS"
    );
    ok(run(
        &mut m,
        "DeleteSecretBlacklist",
        &[
            ("PoolKey", POOL),
            ("BlackType", "POINT_TO_POINT_BLACK"),
            ("BlackNo", "13800000000:13700000000"),
        ],
    ));
    assert!(m
        .blacklist_refusal(POOL, "13700000000", "13800000000")
        .is_none());
}

#[test]
fn x_numbers_bind_b_then_each_call_of_a() {
    let mut m = model();
    let cp = [("CustomerPoolKey", POOL), ("ReqId", "r1")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        cp.iter().chain(extra.iter()).copied().collect()
    };
    let auth = ok(run(
        &mut m,
        "BindXB",
        &with(&[("TelB", "13700000000"), ("TelX", "17000000001")]),
    ));
    let auth_id = auth["Data"]["AuthId"].as_str().unwrap_or("").to_string();
    assert_eq!(auth["Success"], true);
    assert_eq!(
        code(run(
            &mut m,
            "BindXB",
            &with(&[("TelB", "13700000009"), ("TelX", "17000000001")])
        )),
        "isv.BIND_CONFLICT"
    );
    let mut call = with(&[("TelA", "13800000000"), ("Expiration", "600")]);
    call.push(("AuthId", &auth_id));
    let bound = ok(run(&mut m, "BindAXBCall", &call));
    let bind_id = bound["Data"]["BindId"].as_str().unwrap_or("").to_string();
    let r = m.route("13800000000", "17000000001", None, now());
    assert_eq!(r.peer, "13700000000");
    let mut too_long = with(&[("TelA", "13800000001"), ("Expiration", "999999")]);
    too_long.push(("AuthId", &auth_id));
    assert_eq!(
        code(run(&mut m, "BindAXBCall", &too_long)),
        "isv.EXPIRE_DATE_ILLEGAL"
    );
    let mut unbind = with(&[]);
    unbind.push(("BindId", &bind_id));
    ok(run(&mut m, "UnBindAXB", &unbind));
    assert!(m
        .route("13800000000", "17000000001", None, now())
        .binding
        .is_none());
    assert_eq!(
        code(run(&mut m, "UnBindAXB", &unbind)),
        "isv.SUBS_NOT_EXIST"
    );

    ok(run(
        &mut m,
        "ConfigX",
        &with(&[("TelX", "17000000001"), ("CallAbility", "false")]),
    ));
    let config = ok(run(&mut m, "GetXConfig", &with(&[("TelX", "17000000001")])));
    assert_eq!(config["Data"]["CallAbility"], "false");
    let default = ok(run(
        &mut m,
        "GetXDefaultConfig",
        &with(&[("TelX", "17000000001")]),
    ));
    assert_eq!(default["Data"]["CallAbility"], "true");
    let listed = ok(run(
        &mut m,
        "ListXTelephones",
        &[("ReqId", "r2"), ("PageSize", "5"), ("PageNo", "2")],
    ));
    assert_eq!(listed["Data"]["Total"], 20);
    assert_eq!(listed["Data"]["List"].as_array().map(Vec::len), Some(5));
    // A page far past the end is empty, not an overflow.
    let far = ok(run(
        &mut m,
        "ListXTelephones",
        &[
            ("ReqId", "r3"),
            ("PageNo", "18446744073709551615"),
            ("PageSize", "100"),
        ],
    ));
    assert_eq!(far["Data"]["List"], serde_json::json!([]));
}

#[test]
fn fixed_line_bindings_live_query_update_and_end() {
    let mut m = model();
    let base = [
        ("AppId", POOL),
        ("OrderId", "o1"),
        ("Ts", "20180801000000000"),
    ];
    let mut bind: Vec<(&str, &str)> = base.to_vec();
    bind.extend([
        ("Subts", "20180801000000000"),
        ("BindType", "1"),
        ("Anucode", "100"),
        ("TelA", "01088880000"),
        ("TelB", "13700000000"),
        ("Expiration", LATER),
        ("Extra", r#"{"Callrecording":"1"}"#),
    ]);
    let bound = ok(run(&mut m, "BindAxbFixedLine", &bind));
    let sub = bound["Data"]["Subid"].as_str().unwrap_or("").to_string();
    let mut q: Vec<(&str, &str)> = base.to_vec();
    q.extend([("QueryType", "0"), ("SubId", sub.as_str())]);
    let found = ok(run(&mut m, "QueryAxbBindFixedLine", &q));
    assert_eq!(found["Data"]["TelA"], "01088880000");
    assert_eq!(found["Data"]["Extra"]["Callrecording"], "1");
    assert_eq!(
        code(run(&mut m, "QueryAxnBindFixedLine", &q)),
        "OK",
        "another family: an empty list"
    );
    let mut upd: Vec<(&str, &str)> = base.to_vec();
    upd.extend([
        ("SubId", sub.as_str()),
        ("Subts", "20180801000000001"),
        ("TelB", "13700000001"),
    ]);
    ok(run(&mut m, "UpdateAxbBindFixedLine", &upd));
    assert_eq!(
        ok(run(&mut m, "QueryAxbBindFixedLine", &q))["Data"]["TelB"],
        "13700000001"
    );
    let mut del: Vec<(&str, &str)> = base.to_vec();
    del.push(("SubId", sub.as_str()));
    ok(run(&mut m, "DeleteAxbBindFixedLine", &del));
    assert_eq!(
        code(run(&mut m, "QueryAxbBindFixedLine", &q)),
        "isv.SUBS_NOT_EXIST"
    );
    assert_eq!(
        code(run(&mut m, "DeleteAxbBindFixedLine", &del)),
        "isv.SUBS_NOT_EXIST"
    );
    let mut bad_ts = bind.clone();
    bad_ts[2] = ("Ts", "2018-08-01");
    assert_eq!(
        code(run(&mut m, "BindAxbFixedLine", &bad_ts)),
        "isv.INVALID_PARAMETERS"
    );
}

#[test]
fn bindings_of_the_700_family_are_model_bindings() {
    let mut m = model();
    let bound = ok(run(
        &mut m,
        "BindAxb700",
        &[
            ("PoolKey", POOL),
            ("TelA", "13800000000"),
            ("TelB", "13700000000"),
            ("Expiration", LATER),
        ],
    ));
    let subs = bound["Data"]["SubsId"].as_u64().unwrap_or(0).to_string();
    let x = bound["Data"]["SecretNo"].as_str().unwrap_or("").to_string();
    assert_eq!(m.route("13800000000", &x, None, now()).peer, "13700000000");
    ok(run(
        &mut m,
        "UpdateSubs700",
        &[
            ("PoolKey", POOL),
            ("SubsId", &subs),
            ("TelX", &x),
            ("OperateType", "updateNoB"),
            ("TelB", "13700000001"),
        ],
    ));
    assert_eq!(m.route("13800000000", &x, None, now()).peer, "13700000001");
    ok(run(
        &mut m,
        "UnbindSubs700",
        &[("PoolKey", POOL), ("SubsId", &subs), ("TelX", &x)],
    ));
    assert!(m.route("13800000000", &x, None, now()).binding.is_none());
    let g = new_group(&mut m, "13900000001");
    let gxb = ok(run(
        &mut m,
        "BindGxb700",
        &[
            ("PoolKey", POOL),
            ("TelB", "13600000000"),
            ("GroupId", &g),
            ("Expiration", LATER),
        ],
    ));
    let gx = gxb["Data"]["SecretNo"].as_str().unwrap_or("").to_string();
    assert_eq!(m.route("13900000001", &gx, None, now()).peer, "13600000000");
}

#[test]
fn waybills_and_reports_keep_their_state() {
    let mut m = model();
    let addr = r#"{"ProvinceName":"浙江省","CityName":"杭州市","AddressDetail":"文一西路"}"#;
    let order = [
        ("OuterOrderCode", "w1"),
        ("OrderChannels", "TB"),
        ("SendName", "s"),
        ("ConsigneeName", "c"),
        ("SendAddress", addr),
        ("ConsigneeAddress", addr),
    ];
    let first = ok(run(&mut m, "CreatePickUpWaybill", &order));
    let again = ok(run(&mut m, "CreatePickUpWaybill", &order));
    assert_eq!(first["Data"]["MailNo"], again["Data"]["MailNo"]);
    let cancel = [("OuterOrderCode", "w1"), ("CancelDesc", "no")];
    assert_eq!(
        ok(run(&mut m, "CancelPickUpWaybill", &cancel))["Data"]["Success"],
        true
    );
    assert_eq!(
        ok(run(&mut m, "CancelPickUpWaybill", &cancel))["Data"]["ErrorCode"],
        "ORDER_ALREADY_CANCELLED"
    );
    let slots = ok(run(
        &mut m,
        "CreatePickUpWaybillPreQuery",
        &[
            ("OrderChannels", "TB"),
            ("SenderInfo", addr),
            ("ConsigneeInfo", addr),
        ],
    ));
    assert_eq!(
        slots["Data"]["CpTimeSelectList"][0]["AppointTimes"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    let report = [
        ("ANoWhiteGroupId", "7"),
        ("PhoneNoA", "13800000000"),
        ("CustName", "n"),
        ("DocumentType", "1"),
        ("DocumentNumber", "x"),
        ("IdCardAlivePhoto", "p"),
    ];
    assert_eq!(
        ok(run(&mut m, "CreatePhoneNoAReport", &report))["Data"]["CreateResult"],
        true
    );
    assert_eq!(
        ok(run(&mut m, "CreatePhoneNoAReport", &report))["Data"]["FailType"],
        1
    );
    let key = [("ANoWhiteGroupId", "7"), ("PhoneNoA", "13800000000")];
    assert_eq!(
        ok(run(&mut m, "QuerySecretAPhoneNoToCust", &key))["Data"]["NoType"],
        "MOBILE"
    );
    assert_eq!(
        ok(run(&mut m, "DeleteSecretAPhoneNoToCust", &key))["Data"],
        true
    );
    assert_eq!(
        code(run(&mut m, "QuerySecretAPhoneNoToCust", &key)),
        "isv.NO_NOT_EXIST"
    );
}

#[test]
fn the_catalogue_covers_every_action_dispatch_answers() {
    let mut m = model();
    for (action, _) in catalog_generated::CATALOG {
        let original = matches!(
            *action,
            "BindAxb"
                | "BindAxn"
                | "BindAxnExtension"
                | "BuySecretNo"
                | "ReleaseSecretNo"
                | "QueryRecordFileDownloadUrl"
                | "QuerySubscriptionDetail"
                | "UnbindSubscription"
                | "UpdateSubscription"
        );
        let encoded = String::new();
        let mut p = Params::default();
        p.extend_from_form(encoded.as_bytes());
        let cx = Context {
            now_ms: now(),
            base_url: "",
        };
        assert_eq!(
            dispatch(&mut m, action, &p, &cx).is_some(),
            !original,
            "{action}"
        );
    }
    assert_eq!(catalog_generated::CATALOG.len(), 60);
}

#[test]
fn odd_values_in_every_param_answer_without_panicking() {
    const ODD: [&str; 9] = [
        "x",
        "0",
        "-1",
        "18446744073709551616",
        "{}",
        "[]",
        "[{\"GroupId\":{}}]",
        "1:2:3",
        "北京",
    ];
    let api: Vec<(&str, &[&str])> = catalog_generated::CATALOG.to_vec();
    let mut m = model();
    for (action, required) in api {
        for odd in ODD {
            // Every mandatory param odd, plus the optional ones the rules read.
            let mut pairs: Vec<(&str, &str)> = required.iter().map(|k| (*k, odd)).collect();
            for key in [
                "PoolKey",
                "PageNo",
                "PageSize",
                "TelX",
                "GroupId",
                "Expiration",
            ] {
                if !required.contains(&key) {
                    pairs.push((key, odd));
                }
            }
            let _ = run(&mut m, action, &pairs);
        }
    }
    // The model still answers after all that.
    assert!(ok(run(&mut m, "CreateAxgGroup", &[("PoolKey", POOL)]))["GroupId"].is_u64());
}
