//! The 700 variants: AXB and GXB (a group G reaches B through X) with
//! TelA/TelB/TelX names and integer SubsIds, on the model's bindings.

use serde_json::{json, Map, Value};

use super::{data, form, need, opt};
use crate::action_result::ActionResult;
use crate::dypls::Model;
use crate::params::Params;

/// Runs `f` on the request renamed to the model's own param names.
fn translated<R>(pairs: &[(&str, &str)], f: impl FnOnce(&Params) -> R) -> R {
    let encoded = form(pairs);
    let mut params = Params::default();
    params.extend_from_form(encoded.as_bytes());
    f(&params)
}

fn bind_reply(fields: Map<String, Value>) -> ActionResult {
    let dto = fields.get("SecretBindDTO").cloned().unwrap_or(Value::Null);
    let subs_id = dto
        .get("SubsId")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    data(json!({"SecretNo": dto.get("SecretNo").cloned().unwrap_or(json!("")), "SubsId": subs_id}))
}

fn common<'a>(p: &'a Params) -> Vec<(&'static str, &'a str)> {
    vec![
        ("PoolKey", opt(p, "PoolKey").unwrap_or("")),
        ("PhoneNoX", opt(p, "TelX").unwrap_or("")),
        ("Expiration", opt(p, "Expiration").unwrap_or("")),
        ("IsRecordingEnabled", opt(p, "NeedRecord").unwrap_or("")),
        ("CallRestrict", opt(p, "CallRestrict").unwrap_or("")),
        ("OutId", opt(p, "OutId").unwrap_or("")),
        ("ASRStatus", opt(p, "NeedAsr").unwrap_or("")),
        ("ASRModelId", opt(p, "AsrModelId").unwrap_or("")),
    ]
}

/// BindAxb700: BindAxb by other names.
pub fn bind_axb(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    need(p, "PoolKey")?;
    let mut pairs = common(p);
    pairs.push(("PhoneNoA", need(p, "TelA")?));
    pairs.push(("PhoneNoB", need(p, "TelB")?));
    need(p, "Expiration")?;
    bind_reply(translated(&pairs, |q| model.bind_axb(q, now_ms))?)
}

/// BindGxb700: B is reached through X by the numbers of GroupId (and by
/// DefaultA, whom B reaches when calling X).
pub fn bind_gxb(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    need(p, "PoolKey")?;
    need(p, "Expiration")?;
    let mut pairs = common(p);
    pairs.push(("PhoneNoA", need(p, "TelB")?));
    pairs.push(("PhoneNoB", opt(p, "DefaultA").unwrap_or("")));
    pairs.push(("GroupId", opt(p, "GroupId").unwrap_or("")));
    let grouped = opt(p, "GroupId").is_some();
    bind_reply(translated(&pairs, |q| {
        if grouped {
            super::axg::bind_axg(model, q, now_ms)
        } else {
            // Without a group, anyone calling X reaches B: an AXN binding.
            model.bind_axn(q, now_ms)
        }
    })?)
}

/// UnbindSubs700: UnbindSubscription by other names.
pub fn unbind(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    let pairs = [
        ("PoolKey", need(p, "PoolKey")?),
        ("SubsId", need(p, "SubsId")?),
        ("SecretNo", need(p, "TelX")?),
    ];
    translated(&pairs, |q| model.unbind(q, now_ms))?;
    data(json!({}))
}

/// UpdateSubs700: UpdateSubscription by other names (same OperateTypes).
pub fn update(model: &mut Model, p: &Params, now_ms: i64) -> ActionResult {
    need(p, "PoolKey")?;
    let mut pairs: Vec<(&str, &str)> = common(p)
        .into_iter()
        .filter(|(k, _)| *k != "PhoneNoX")
        .collect();
    pairs.push(("SubsId", need(p, "SubsId")?));
    pairs.push(("PhoneNoX", need(p, "TelX")?));
    pairs.push(("OperateType", need(p, "OperateType")?));
    pairs.push(("PhoneNoA", opt(p, "TelA").unwrap_or("")));
    pairs.push(("PhoneNoB", opt(p, "TelB").unwrap_or("")));
    pairs.push(("GroupId", opt(p, "GroupId").unwrap_or("")));
    translated(&pairs, |q| model.update(q, now_ms))?;
    data(json!({}))
}
