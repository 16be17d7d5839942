//! The actions beyond the original package's nine: AXG groups, the X-number
//! product, number locks and details, blacklists, track numbers, call
//! records, the fixed-line and 700 variants, pick-up waybills and A-number
//! reports. Each family keeps its state in [`Extra`] (part of the model, so
//! it lives under the same lock and resets with it).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::action_result::{biz, ActionResult, BizError};
use crate::dypls::Model;
use crate::params::Params;

mod axb700;
mod axg;
mod blacklist;
mod calls;
// Written by scripts/generate-api.js from the API description: left as generated.
#[rustfmt::skip]
pub mod catalog_generated;
mod fixed_line;
pub(crate) mod numbers;
mod reports;
mod waybill;
mod xnumber;

/// State of the families beyond the original nine.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Extra {
    groups: BTreeMap<u64, axg::Group>,
    locked: BTreeSet<String>,
    blacklist: Vec<blacklist::Entry>,
    track_numbers: BTreeMap<String, Vec<u64>>,
    x_auths: BTreeMap<String, xnumber::Auth>,
    x_configs: BTreeMap<String, Map<String, Value>>,
    fixed_lines: BTreeMap<u64, fixed_line::Entry>,
    waybills: BTreeMap<String, waybill::Waybill>,
    #[serde(with = "crate::state::pairs")]
    a_reports: BTreeMap<(String, String), reports::Report>,
    /// When a number was first seen by QuerySecretNoDetail (its stand-in
    /// purchase time).
    first_seen: BTreeMap<String, i64>,
    next_id: u64,
}

impl Extra {
    /// Whether LockSecretNo holds `number`.
    pub fn is_locked(&self, number: &str) -> bool {
        self.locked.contains(number)
    }

    /// Whether `phone` is a member of the AXG group `group_id`.
    pub fn group_has(&self, group_id: &str, phone: &str) -> bool {
        group_id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.groups.get(&id))
            .is_some_and(|g| g.numbers.iter().any(|n| n == phone))
    }

    /// A fresh id, unique across the families (10 digits and up).
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        1_000_000_000 + self.next_id
    }
}

/// A param by its name, or by the name with its first letter upper-cased:
/// the official SDKs send a few keys in lower camel case (`trackNo`) while
/// clients built on the original upper-case every first letter.
pub fn param<'a>(p: &'a Params, key: &str) -> Option<&'a str> {
    p.get(key).or_else(|| {
        let mut chars = key.chars();
        let first = chars.next()?;
        if first.is_ascii_lowercase() {
            p.get(&format!("{}{}", first.to_ascii_uppercase(), chars.as_str()))
        } else {
            None
        }
    })
}

/// A non-empty param, or `isv.INVALID_PARAMETERS`.
fn need<'a>(p: &'a Params, key: &str) -> Result<&'a str, BizError> {
    match param(p, key) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(invalid(format!("{key} is required"))),
    }
}

/// A non-empty param or None.
fn opt<'a>(p: &'a Params, key: &str) -> Option<&'a str> {
    param(p, key).filter(|v| !v.is_empty())
}

fn invalid(detail: impl AsRef<str>) -> BizError {
    biz(
        "isv.INVALID_PARAMETERS",
        format!("参数非法: {}", detail.as_ref()),
    )
}

/// The `Data` + `Success` envelope of the newer actions.
fn data(value: Value) -> ActionResult {
    let mut m = Map::new();
    m.insert("Data".into(), value);
    m.insert("Success".into(), Value::Bool(true));
    Ok(m)
}

/// The inner `{Code, Message, Success}` that several newer actions answer with.
fn data_ok() -> ActionResult {
    data(json!({"Code": "OK", "Message": "OK", "Success": true}))
}

/// A comma-separated list of numbers, each one valid.
fn number_list(text: &str) -> Result<Vec<String>, BizError> {
    let mut numbers = Vec::new();
    for n in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        crate::dypls::validate_phone(n)?;
        if !numbers.iter().any(|m: &String| m == n) {
            numbers.push(n.to_string());
        }
    }
    Ok(numbers)
}

/// A JSON param (the official SDKs send objects and lists as JSON text).
fn json_param(p: &Params, key: &str) -> Result<Value, BizError> {
    serde_json::from_str(need(p, key)?).map_err(|_| invalid(format!("{key} is not valid JSON")))
}

/// The params as form text, so a part of a request (a batch item, a
/// renamed field) can be read back through [`Params`].
fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

/// What an action needs besides the model.
pub struct Context<'a> {
    /// The business clock, ms.
    pub now_ms: i64,
    /// The emulator's base URL, for links it hands out.
    pub base_url: &'a str,
}

/// Runs one of the actions beyond the original nine; None when it is not one.
pub fn dispatch(model: &mut Model, action: &str, p: &Params, cx: &Context) -> Option<ActionResult> {
    let now = cx.now_ms;
    Some(match action {
        "CreateAxgGroup" => axg::create_group(model, p),
        "OperateAxgGroup" => axg::operate_group(model, p, now),
        "DeleteAxgGroup" => axg::delete_group(model, p, now),
        "BindAxg" => axg::bind_axg(model, p, now),
        "BindBatchAxg" => axg::bind_batch(model, p, now),
        "LockSecretNo" => numbers::lock(model, p, true),
        "UnlockSecretNo" => numbers::lock(model, p, false),
        "QuerySecretNoDetail" => numbers::detail(model, p, now),
        "QuerySecretNoRemain" => numbers::remain(model, p),
        "QuerySubsId" => numbers::subs_id(model, p, now),
        "AddAxnTrackNo" => numbers::add_track_no(model, p, now),
        "QueryPhoneNoAByTrackNo" => numbers::phone_by_track_no(model, p, now),
        "AddSecretBlacklist" => blacklist::add(model, p),
        "DeleteSecretBlacklist" => blacklist::delete(model, p),
        "OperateBlackNo" => blacklist::operate(model, p),
        "QuerySoundRecord" => calls::sound_record(model, p, cx),
        "GetTotalPublicUrl" => calls::public_url(model, p, cx),
        "GetSecretAsrDetail" => calls::asr_detail(model, p),
        "BindXB" => xnumber::bind_xb(model, p, now),
        "UnBindXB" => xnumber::unbind_xb(model, p, now),
        "BindAXBCall" => xnumber::bind_axb_call(model, p, now),
        "UnBindAXB" => xnumber::unbind_axb(model, p, now),
        "ConfigX" => xnumber::config(model, p),
        "GetXConfig" => xnumber::get_config(model, p, false),
        "GetXDefaultConfig" => xnumber::get_config(model, p, true),
        "ListXTelephones" => xnumber::list(model, p, now),
        "CreateSmsSign" => xnumber::sms_sign(model, p),
        "BindAxbFixedLine" => fixed_line::bind(model, p, fixed_line::Kind::Axb, now),
        "BindAxnFixedLine" => fixed_line::bind(model, p, fixed_line::Kind::Axn, now),
        "BindAxnExtensionFixedLine" => {
            fixed_line::bind(model, p, fixed_line::Kind::AxnExtension, now)
        }
        "QueryAxbBindFixedLine" => fixed_line::query(model, p, fixed_line::Kind::Axb, now),
        "QueryAxnBindFixedLine" => fixed_line::query(model, p, fixed_line::Kind::Axn, now),
        "QueryAxnExtensionBindFixedLine" => {
            fixed_line::query(model, p, fixed_line::Kind::AxnExtension, now)
        }
        "UpdateAxbBindFixedLine" => fixed_line::update(model, p, fixed_line::Kind::Axb, now),
        "UpdateAxnBindFixedLine" => fixed_line::update(model, p, fixed_line::Kind::Axn, now),
        "UpdateAxnExtensionBindFixedLine" => {
            fixed_line::update(model, p, fixed_line::Kind::AxnExtension, now)
        }
        "DeleteAxbBindFixedLine" => fixed_line::delete(model, p, fixed_line::Kind::Axb, now),
        "DeleteAxnBindFixedLine" => fixed_line::delete(model, p, fixed_line::Kind::Axn, now),
        "DeleteAxnExtensionBindFixedLine" => {
            fixed_line::delete(model, p, fixed_line::Kind::AxnExtension, now)
        }
        "BindAxb700" => axb700::bind_axb(model, p, now),
        "BindGxb700" => axb700::bind_gxb(model, p, now),
        "UnbindSubs700" => axb700::unbind(model, p, now),
        "UpdateSubs700" => axb700::update(model, p, now),
        "CreatePickUpWaybillPreQuery" => waybill::pre_query(p, now),
        "CreatePickUpWaybill" => waybill::create(model, p),
        "CancelPickUpWaybill" => waybill::cancel(model, p),
        "CreatePhoneNoAReport" => reports::create(model, p, "PhoneNoA"),
        "CreateFixedNoAReport" => reports::create(model, p, "FixedNoA"),
        "QuerySecretAPhoneNoToCust" => reports::query(model, p),
        "DeleteSecretAPhoneNoToCust" => reports::delete(model, p),
        "GetDyplsOSSInfoForUploadFile" => reports::oss_info(p, cx),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
