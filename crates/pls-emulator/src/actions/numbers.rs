//! Secret numbers: locks, details, the stock left per city, the binding on
//! an X, and the track numbers of AXN bindings.

use serde_json::{json, Map, Value};

use super::{invalid, need, opt};
use crate::action_result::{biz, ActionResult, BizError};
use crate::clock::format_beijing;
use crate::dypls::{one, BindKind, Model};
use crate::params::Params;

/// Numbers on sale per city and spec before any purchase.
const STOCK_PER_CITY: i64 = 1000;

/// The cities the stock is kept for ("全国" lists them all).
const CITIES: [&str; 5] = ["北京", "上海", "杭州", "广州", "深圳"];

fn in_pool(model: &Model, pool_key: &str, number: &str) -> Result<String, BizError> {
    model
        .pool(pool_key)?
        .numbers
        .iter()
        .find(|n| n.number == number)
        .map(|n| n.city.clone())
        .ok_or_else(|| biz("isv.NO_NOT_EXIST", format!("号码不存在: {number}")))
}

/// LockSecretNo / UnlockSecretNo: a locked number takes no new binding
/// (its live bindings carry on). Both are idempotent.
pub fn lock(model: &mut Model, p: &Params, locked: bool) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    let number = need(p, "SecretNo")?;
    in_pool(model, pool_key, number)?;
    if locked {
        model.extra.locked.insert(number.to_string());
    } else {
        model.extra.locked.remove(number);
    }
    Ok(Map::new())
}

fn province(city: &str) -> &str {
    match city {
        "杭州" => "浙江",
        "广州" | "深圳" => "广东",
        other => other,
    }
}

/// 1 China Mobile, 2 China Unicom, 3 China Telecom, by the number's prefix.
pub(crate) fn vendor(number: &str) -> i64 {
    match number.get(..3) {
        Some("130" | "131" | "132" | "145" | "155" | "156" | "166" | "171" | "175" | "176") => 2,
        Some("133" | "149" | "153" | "173" | "177" | "180" | "181" | "189" | "170") => 3,
        _ => 1,
    }
}

/// QuerySecretNoDetail: where a number of the pool is and whether it is usable.
pub fn detail(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    let number = need(p, "SecretNo")?;
    let city = in_pool(model, pool_key, number)?;
    let seen = *model
        .extra
        .first_seen
        .entry(number.to_string())
        .or_insert(now_ms);
    Ok(one(
        "SecretNoInfoDTO",
        json!({
            "City": city,
            "Province": province(&city),
            "PurchaseTime": format_beijing(seen),
            // 1 usable, 2 locked.
            "SecretStatus": if model.extra.is_locked(number) { 2 } else { 1 },
            "Vendor": vendor(number),
            "CertifyStatus": 1,
        }),
    ))
}

fn remaining(model: &Model, city: &str) -> i64 {
    let taken = model
        .pools()
        .flat_map(|pool| pool.numbers.iter())
        .filter(|n| n.city == city)
        .count() as i64;
    (STOCK_PER_CITY - taken).max(0)
}

/// QuerySecretNoRemain: the stock of a city is a fixed number less the
/// numbers of that city already in pools; "全国" lists every city.
pub fn remain(model: &mut Model, p: &Params) -> ActionResult {
    let city = need(p, "City")?;
    let spec = need(p, "SpecId")?;
    if !matches!(spec, "1" | "2" | "3") {
        return Err(invalid(format!("SpecId {spec}")));
    }
    if let Some(prefix) = opt(p, "SecretNo") {
        if prefix.len() > 10 || !prefix.bytes().all(|c| c.is_ascii_digit()) {
            return Err(invalid(format!("SecretNo {prefix}")));
        }
    }
    let dto = if city == "全国" {
        let list: Vec<Value> = CITIES
            .iter()
            .map(|c| json!({"City": c, "Amount": remaining(model, c)}))
            .collect();
        let total: i64 = CITIES.iter().map(|c| remaining(model, c)).sum();
        json!({"City": city, "Amount": total, "RemainDTOList": {"remainDTO": list}})
    } else {
        json!({"City": city, "Amount": remaining(model, city), "RemainDTOList": {"remainDTO": []}})
    };
    Ok(one("SecretRemainDTO", dto))
}

/// QuerySubsId: the newest live binding on X (in PoolKey when given).
pub fn subs_id(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let x = need(p, "PhoneNoX")?;
    let pool_key = opt(p, "PoolKey");
    if let Some(k) = pool_key {
        model.pool(k)?;
    }
    model
        .active_on(x, now_ms)
        .filter(|b| pool_key.is_none_or(|k| k == b.pool_key))
        .last()
        .map(|b| one("SubsId", Value::String(b.subs_id.clone())))
        .ok_or_else(|| {
            biz(
                "isv.SUBS_NOT_EXIST",
                format!("绑定关系不存在: no live binding on {x}"),
            )
        })
}

/// AddAxnTrackNo: ties a track number to a live AXN binding on X.
pub fn add_track_no(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    model.pool(pool_key)?;
    let subs_id = need(p, "SubsId")?;
    let x = need(p, "PhoneNoX")?;
    let track = need(p, "trackNo")?.to_string();
    let binding = model.binding_mut(subs_id, x)?;
    if !binding.is_active(now_ms) || binding.pool_key != pool_key {
        return Err(biz(
            "isv.SUBS_NOT_EXIST",
            format!("绑定关系不存在: {subs_id}"),
        ));
    }
    if !matches!(binding.kind, BindKind::Axn | BindKind::AxnExtension) {
        return Err(invalid(format!("{subs_id} is not an AXN binding")));
    }
    let id = binding.subs_id.parse::<u64>().unwrap_or(0);
    let ids = model.extra.track_numbers.entry(track).or_default();
    if !ids.contains(&id) {
        ids.push(id);
    }
    Ok(Map::new())
}

/// QueryPhoneNoAByTrackNo: the A numbers of the live bindings holding a
/// track number (on PhoneNoX when given); an unknown one gives an empty list.
pub fn phone_by_track_no(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let track = need(p, "trackNo")?;
    let x = opt(p, "PhoneNoX");
    let ids = model
        .extra
        .track_numbers
        .get(track)
        .cloned()
        .unwrap_or_default();
    let module: Vec<Value> = ids
        .iter()
        .filter_map(|id| model.bindings.get(id))
        .filter(|b| b.is_active(now_ms) && x.is_none_or(|x| x == b.secret_no))
        .map(|b| json!({"PhoneNoA": b.phone_no_a, "PhoneNoX": b.secret_no, "Extension": b.extension}))
        .collect();
    Ok(one("Module", Value::Array(module)))
}
