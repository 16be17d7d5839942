//! The X-number product: X is first tied to B (BindXB gives an AuthId),
//! then each call of an A is bound for a while on that X (BindAXBCall gives
//! a BindId, an AXB binding of the model, so simulated calls route). X
//! carries a configuration of its abilities.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{data, data_ok, invalid, need, opt};
use crate::action_result::{biz, ActionResult, BizError};
use crate::clock::format_beijing;
use crate::dypls::{validate_phone, BindKind, Model, Slot};
use crate::params::Params;

/// Longest a BindAXBCall binding lasts, seconds.
const MAX_CALL_BINDING_SECONDS: i64 = 24 * 3600;

/// X tied to B.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    pub pool_key: String,
    pub tel_b: String,
    pub tel_x: String,
    pub bound_ms: i64,
    pub released: bool,
    /// The BindAXBCall bindings made on it.
    pub bindings: Vec<u64>,
}

fn customer_pool<'p>(model: &Model, p: &'p Params) -> Result<&'p str, BizError> {
    let pool_key = need(p, "CustomerPoolKey")?;
    need(p, "ReqId")?;
    model.pool(pool_key)?;
    Ok(pool_key)
}

fn x_of_pool(model: &Model, pool_key: &str, x: &str) -> Result<(), BizError> {
    if model.pool(pool_key)?.numbers.iter().any(|n| n.number == x) {
        Ok(())
    } else {
        Err(biz("isv.NO_NOT_EXIST", format!("号码不存在: {x}")))
    }
}

fn live_auth<'m>(model: &'m Model, auth_id: &str, pool_key: &str) -> Result<&'m Auth, BizError> {
    match model.extra.x_auths.get(auth_id) {
        Some(a) if !a.released && a.pool_key == pool_key => Ok(a),
        _ => Err(invalid(format!("AuthId {auth_id} is not bound"))),
    }
}

/// BindXB: ties X to B; an X holds one B at a time.
pub fn bind_xb(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = customer_pool(model, p)?.to_string();
    let tel_b = need(p, "TelB")?;
    validate_phone(tel_b)?;
    let tel_x = need(p, "TelX")?;
    x_of_pool(model, &pool_key, tel_x)?;
    if model.extra.is_locked(tel_x) {
        return Err(biz(
            "isv.NO_AVAILABLE_NUMBER",
            format!("无可用号码: {tel_x} is locked"),
        ));
    }
    if model
        .extra
        .x_auths
        .values()
        .any(|a| !a.released && a.tel_x == tel_x)
    {
        return Err(biz(
            "isv.BIND_CONFLICT",
            format!("绑定冲突: {tel_x} is bound to a B"),
        ));
    }
    let auth_id = model.extra.next_id().to_string();
    model.extra.x_auths.insert(
        auth_id.clone(),
        Auth {
            pool_key,
            tel_b: tel_b.to_string(),
            tel_x: tel_x.to_string(),
            bound_ms: now_ms,
            released: false,
            bindings: Vec::new(),
        },
    );
    data(json!({ "AuthId": auth_id, "TelX": tel_x }))
}

/// UnBindXB: unties X from B and ends its call bindings.
pub fn unbind_xb(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = customer_pool(model, p)?;
    let auth_id = need(p, "AuthId")?;
    let tel_x = need(p, "TelX")?;
    let auth = live_auth(model, auth_id, pool_key)?;
    if auth.tel_x != tel_x {
        return Err(invalid(format!("AuthId {auth_id} is not on {tel_x}")));
    }
    let ids = auth.bindings.clone();
    for id in ids {
        if let Some(b) = model.bindings.get_mut(&id) {
            if b.is_active(now_ms) {
                b.released = true;
            }
        }
    }
    if let Some(a) = model.extra.x_auths.get_mut(auth_id) {
        a.released = true;
    }
    data_ok()
}

/// BindAXBCall: binds A to the B and X of an AuthId for Expiration seconds.
pub fn bind_axb_call(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = customer_pool(model, p)?.to_string();
    let auth_id = need(p, "AuthId")?;
    let tel_a = need(p, "TelA")?;
    validate_phone(tel_a)?;
    let seconds_text = need(p, "Expiration")?;
    let seconds: i64 = seconds_text.parse().map_err(|_| {
        invalid(format!(
            "Expiration {seconds_text} is not a number of seconds"
        ))
    })?;
    if !(60..=MAX_CALL_BINDING_SECONDS).contains(&seconds) {
        return Err(biz(
            "isv.EXPIRE_DATE_ILLEGAL",
            format!("过期时间非法: Expiration is 60 to {MAX_CALL_BINDING_SECONDS} seconds"),
        ));
    }
    let auth = live_auth(model, auth_id, &pool_key)?.clone();
    if auth.tel_b == tel_a {
        return Err(invalid("TelA must differ from the B of the AuthId"));
    }
    if !model.x_accepts(&auth.tel_x, BindKind::Axb, &[tel_a, &auth.tel_b], now_ms) {
        return Err(biz(
            "isv.BIND_CONFLICT",
            format!("绑定冲突: {tel_a} is already bound on {}", auth.tel_x),
        ));
    }
    let binding = model.new_binding(
        p,
        Slot {
            kind: BindKind::Axb,
            pool_key: &pool_key,
            a: tel_a,
            b: &auth.tel_b,
            x: auth.tel_x.clone(),
            extension: String::new(),
        },
        now_ms + seconds * 1000,
        now_ms,
    )?;
    let id = binding.subs_id.parse::<u64>().unwrap_or(0);
    if let Some(a) = model.extra.x_auths.get_mut(auth_id) {
        a.bindings.push(id);
    }
    data(json!({ "BindId": binding.subs_id }))
}

/// UnBindAXB: ends a BindAXBCall binding.
pub fn unbind_axb(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = customer_pool(model, p)?;
    let bind_id = need(p, "BindId")?;
    let found = bind_id
        .parse::<u64>()
        .ok()
        .and_then(|id| model.bindings.get_mut(&id))
        .filter(|b| b.pool_key == pool_key && b.is_active(now_ms));
    match found {
        Some(b) => {
            b.released = true;
            data_ok()
        }
        None => Err(biz(
            "isv.SUBS_NOT_EXIST",
            format!("绑定关系不存在: {bind_id}"),
        )),
    }
}

fn default_config() -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("CallAbility", "true"),
        ("SmsAbility", "true"),
        ("GNFlag", "false"),
        ("SmsSignMode", "1"),
        ("SequenceStartTime", ""),
        ("SequenceEndTime", ""),
    ] {
        m.insert(k.into(), Value::String(v.into()));
    }
    m
}

/// ConfigX: sets the abilities of X (only the keys given change).
pub fn config(model: &mut Model, p: &Params) -> ActionResult {
    let pool_key = customer_pool(model, p)?;
    let tel_x = need(p, "TelX")?;
    x_of_pool(model, pool_key, tel_x)?;
    let mut changes = Map::new();
    for key in ["CallAbility", "SmsAbility", "GNFlag"] {
        if let Some(v) = opt(p, key) {
            crate::dypls::parse_bool(Some(v))?;
            changes.insert(key.into(), Value::String(v.to_ascii_lowercase()));
        }
    }
    if let Some(mode) = opt(p, "SmsSignMode") {
        changes.insert("SmsSignMode".into(), Value::String(mode.into()));
    }
    if let Some(mode) = opt(p, "SequenceMode") {
        changes.insert("SequenceMode".into(), Value::String(mode.into()));
    }
    if opt(p, "SequenceCalls").is_some() {
        let calls = super::json_param(p, "SequenceCalls")?;
        if !calls.is_array() {
            return Err(invalid("SequenceCalls must be a JSON list"));
        }
        changes.insert("SequenceCalls".into(), calls);
    }
    model
        .extra
        .x_configs
        .entry(tel_x.to_string())
        .or_insert_with(default_config)
        .extend(changes);
    data_ok()
}

/// GetXConfig / GetXDefaultConfig: the current or the default configuration.
pub fn get_config(model: &mut Model, p: &Params, default: bool) -> ActionResult {
    let pool_key = customer_pool(model, p)?;
    let tel_x = need(p, "TelX")?;
    x_of_pool(model, pool_key, tel_x)?;
    let mut config = if default {
        default_config()
    } else {
        model
            .extra
            .x_configs
            .get(tel_x)
            .cloned()
            .unwrap_or_else(default_config)
    };
    let calls = config.remove("SequenceCalls").unwrap_or(json!([]));
    let (calls_key, reach_key) = if default {
        ("SequenceCall", "ReachJson")
    } else {
        ("SequenceCalls", "ReachJsons")
    };
    config.insert(calls_key.into(), calls);
    config.insert(reach_key.into(), json!([]));
    data(Value::Object(config))
}

/// ListXTelephones: the numbers of the customer's pools, a page at a time.
pub fn list(model: &mut Model, p: &Params, _now_ms: i64) -> ActionResult {
    need(p, "ReqId")?;
    let wanted = opt(p, "CustomerPoolKey");
    if let Some(k) = wanted {
        model.pool(k)?;
    }
    let page_no: usize = opt(p, "PageNo")
        .map_or(Ok(1), str::parse)
        .map_err(|_| invalid("PageNo"))?;
    let page_size: usize = opt(p, "PageSize")
        .map_or(Ok(20), str::parse)
        .map_err(|_| invalid("PageSize"))?;
    if page_no == 0 || page_size == 0 || page_size > 100 {
        return Err(invalid("PageNo from 1, PageSize 1 to 100"));
    }
    let all: Vec<Value> = model
        .pools()
        .filter(|pool| wanted.is_none_or(|k| k == pool.pool_key))
        .flat_map(|pool| pool.numbers.iter().map(move |n| (pool, n)))
        .map(|(pool, n)| {
            let auth = model
                .extra
                .x_auths
                .values()
                .find(|a| !a.released && a.tel_x == n.number);
            json!({
                "Telephone": n.number,
                "CustomerPoolKey": pool.pool_key,
                "CustomerPoolName": pool.pool_key,
                "TelephoneStatus": if model.extra.is_locked(&n.number) { "LOCKED" } else { "NORMAL" },
                "SmsStatus": "NORMAL",
                "AuthMsg": auth.map_or(String::new(), |a| a.tel_b.clone()),
                "BindTime": auth.map_or(String::new(), |a| format_beijing(a.bound_ms)),
                "BuyTime": "",
                "ReleaseTime": "",
                "UnbindTime": "",
            })
        })
        .collect();
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip((page_no - 1).saturating_mul(page_size))
        .take(page_size)
        .collect();
    data(json!({"List": page, "PageNo": page_no, "PageSize": page_size, "Total": total}))
}

/// CreateSmsSign: the sign X shows when CallingNo texts CalledNo.
pub fn sms_sign(model: &mut Model, p: &Params) -> ActionResult {
    customer_pool(model, p)?;
    let calling = need(p, "CallingNo")?;
    let called = need(p, "CalledNo")?;
    validate_phone(calling)?;
    validate_phone(called)?;
    let tail = &calling[calling.len().saturating_sub(4)..];
    data(json!({ "CalledNoSign": format!("【{tail}】") }))
}
