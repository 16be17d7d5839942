//! AXG: a number group G in a pool, and bindings where A and every number
//! of G reach each other through X.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{form, invalid, need, number_list, opt};
use crate::action_result::{ActionResult, BizError};
use crate::dypls::{one, parse_expiration, BindKind, Model, Slot};
use crate::params::Params;

/// Most numbers a group holds, and most an operation may name.
const GROUP_LIMIT: usize = 200;

/// A number group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub pool_key: String,
    pub numbers: Vec<String>,
}

fn group_id(p: &Params) -> Result<u64, BizError> {
    let text = need(p, "GroupId")?;
    text.parse::<u64>()
        .map_err(|_| invalid(format!("GroupId {text}")))
}

/// The group `id`, which must belong to `pool_key` when one is given.
fn group<'m>(model: &'m Model, id: u64, pool_key: Option<&str>) -> Result<&'m Group, BizError> {
    match model.extra.groups.get(&id) {
        Some(g) if pool_key.is_none_or(|k| k == g.pool_key) => Ok(g),
        _ => Err(invalid(format!("GroupId {id} does not exist in this pool"))),
    }
}

/// Groups in use by a live AXG binding cannot be deleted or emptied.
fn in_use(model: &Model, id: u64, now_ms: i64) -> bool {
    let id = id.to_string();
    model
        .bindings
        .values()
        .any(|b| b.kind == BindKind::Axg && b.group_id == id && b.is_active(now_ms))
}

/// CreateAxgGroup: a new group in the pool, optionally with its first numbers.
pub fn create_group(model: &mut Model, p: &Params) -> ActionResult {
    let pool_key = need(p, "PoolKey")?.to_string();
    model.pool(&pool_key)?;
    let numbers = number_list(opt(p, "Numbers").unwrap_or(""))?;
    if numbers.len() > GROUP_LIMIT {
        return Err(invalid(format!(
            "a group holds at most {GROUP_LIMIT} numbers"
        )));
    }
    let id = model.extra.next_id();
    model.extra.groups.insert(id, Group { pool_key, numbers });
    Ok(one("GroupId", json!(id)))
}

/// OperateAxgGroup: addNumbers, deleteNumbers or overwriteNumbers.
pub fn operate_group(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    model.pool(pool_key)?;
    let id = group_id(p)?;
    group(model, id, Some(pool_key))?;
    let operate = need(p, "OperateType")?;
    let numbers = number_list(need(p, "Numbers")?)?;
    if numbers.len() > GROUP_LIMIT {
        return Err(invalid(format!("at most {GROUP_LIMIT} numbers at a time")));
    }
    let busy = in_use(model, id, now_ms);
    let Some(g) = model.extra.groups.get_mut(&id) else {
        return Err(invalid(format!("GroupId {id}")));
    };
    match operate {
        "addNumbers" => {
            for n in numbers {
                if !g.numbers.contains(&n) {
                    g.numbers.push(n);
                }
            }
        }
        "deleteNumbers" => g.numbers.retain(|n| !numbers.contains(n)),
        "overwriteNumbers" => g.numbers = numbers,
        other => return Err(invalid(format!("OperateType {other}"))),
    }
    if g.numbers.len() > GROUP_LIMIT {
        g.numbers.truncate(GROUP_LIMIT);
        return Err(invalid(format!(
            "a group holds at most {GROUP_LIMIT} numbers"
        )));
    }
    if busy && g.numbers.is_empty() {
        return Err(invalid(format!(
            "group {id} is bound and cannot be emptied"
        )));
    }
    Ok(Map::new())
}

/// DeleteAxgGroup: removes a group no live binding uses.
pub fn delete_group(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    model.pool(pool_key)?;
    let id = group_id(p)?;
    group(model, id, Some(pool_key))?;
    if in_use(model, id, now_ms) {
        return Err(invalid(format!("group {id} has live AXG bindings")));
    }
    model.extra.groups.remove(&id);
    Ok(Map::new())
}

/// BindAxg: A is bound to X for B and the numbers of group G. PoolKey,
/// when absent, is the group's pool.
pub fn bind_axg(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let id = group_id(p)?;
    let pool_key = match opt(p, "PoolKey") {
        Some(k) => {
            model.pool(k)?;
            k.to_string()
        }
        None => group(model, id, None)?.pool_key.clone(),
    };
    group(model, id, Some(&pool_key))?;
    let a = need(p, "PhoneNoA")?;
    crate::dypls::validate_phone(a)?;
    let b = opt(p, "PhoneNoB").unwrap_or("");
    if !b.is_empty() {
        crate::dypls::validate_phone(b)?;
        if a == b {
            return Err(invalid("PhoneNoA and PhoneNoB must differ"));
        }
    }
    let expire_ms = parse_expiration(need(p, "Expiration")?, now_ms)?;
    let x = model.choose_x(p, &pool_key, BindKind::Axg, &[a, b], now_ms)?;
    let binding = model.new_binding(
        p,
        Slot {
            kind: BindKind::Axg,
            pool_key: &pool_key,
            a,
            b,
            x,
            extension: String::new(),
        },
        expire_ms,
        now_ms,
    )?;
    Ok(Model::bind_dto(&binding))
}

const BATCH_LIMIT: usize = 100;

/// BindBatchAxg: one BindAxg per item of AxgBindList (JSON), each with its
/// own Code; a failing item does not stop the others.
pub fn bind_batch(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let list = super::json_param(p, "AxgBindList")?;
    let Some(items) = list.as_array() else {
        return Err(invalid("AxgBindList must be a JSON list"));
    };
    if items.is_empty() || items.len() > BATCH_LIMIT {
        return Err(invalid(format!(
            "AxgBindList holds 1 to {BATCH_LIMIT} items"
        )));
    }
    let pool_key = opt(p, "PoolKey").unwrap_or("");
    let mut results = Vec::new();
    for item in items {
        let text = |key: &str| match item.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let keys = [
            "PhoneNoA",
            "PhoneNoB",
            "PhoneNoX",
            "GroupId",
            "Expiration",
            "ExpectCity",
            "IsRecordingEnabled",
            "OutId",
            "OutOrderId",
            "CallDisplayType",
            "CallRestrict",
            "ASRStatus",
            "ASRModelId",
        ];
        let values: Vec<String> = keys.iter().map(|k| text(k)).collect();
        let mut pairs: Vec<(&str, &str)> = keys
            .iter()
            .zip(values.iter())
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        pairs.push(("PoolKey", pool_key));
        let encoded = form(&pairs);
        let mut one_item = Params::default();
        one_item.extend_from_form(encoded.as_bytes());
        let outcome = bind_axg(model, &one_item, now_ms);
        let (code, message, dto) = match outcome {
            Ok(fields) => ("OK".to_string(), "OK".to_string(), fields),
            Err(e) => (e.code.to_string(), e.message, Map::new()),
        };
        let dto = dto.get("SecretBindDTO").cloned().unwrap_or(Value::Null);
        results.push(json!({
            "Code": code,
            "Message": message,
            "PhoneNoA": text("PhoneNoA"),
            "GroupId": text("GroupId"),
            "SubsId": dto.get("SubsId").cloned().unwrap_or(json!("")),
            "SecretNo": dto.get("SecretNo").cloned().unwrap_or(json!("")),
            "Extension": dto.get("Extension").cloned().unwrap_or(json!("")),
        }));
    }
    if results.iter().all(|r| r["Code"] != "OK") {
        // Every item failed: the call fails with the first item's reason.
        let first = &results[0];
        return Err(BizError {
            code: leak_code(first["Code"].as_str().unwrap_or("isv.INVALID_PARAMETERS")),
            message: first["Message"].as_str().unwrap_or("").to_string(),
        });
    }
    Ok(one("SecretBindList", json!({ "SecretBind": results })))
}

/// The static code of a known business error (BizError codes are static).
fn leak_code(code: &str) -> &'static str {
    const KNOWN: [&str; 7] = [
        "isv.INVALID_PARAMETERS",
        "isv.BIND_CONFLICT",
        "isv.NO_AVAILABLE_NUMBER",
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.EXPIRE_DATE_ILLEGAL",
        "isv.POOLKEY_NOT_EXISTS",
        "isv.NO_NOT_EXIST",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == code)
        .unwrap_or("isp.SYSTEM_ERROR")
}
