//! A numbers reported to a customer's whitelist group (ANoWhiteGroupId),
//! and the upload slot for their documents.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{data, invalid, need, opt, Context};
use crate::action_result::{biz, ActionResult};
use crate::dypls::{validate_phone, Model};
use crate::params::Params;

/// A reported A number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub cust_phone_no: String,
    pub remark: String,
    pub no_type: String,
}

/// The document types accepted: 1 identity card and up to 9 others.
fn document(p: &Params) -> Result<(), crate::action_result::BizError> {
    let kind = need(p, "DocumentType")?;
    match kind.parse::<u8>() {
        Ok(1..=9) => {}
        _ => return Err(invalid(format!("DocumentType {kind}"))),
    }
    need(p, "DocumentNumber")?;
    need(p, "CustName")?;
    need(p, "IdCardAlivePhoto")?;
    Ok(())
}

/// CreatePhoneNoAReport / CreateFixedNoAReport: adds A to the group; a
/// number already there is not created again (CreateResult false, FailType 1).
pub fn create(model: &mut Model, p: &Params, number_key: &str) -> ActionResult {
    let group = need(p, "ANoWhiteGroupId")?;
    if group.parse::<u64>().is_err() {
        return Err(invalid(format!("ANoWhiteGroupId {group}")));
    }
    let number = need(p, number_key)?;
    validate_phone(number)?;
    document(p)?;
    if number_key == "FixedNoA" {
        need(p, "CustType")?;
    }
    let key = (group.to_string(), number.to_string());
    if model.extra.a_reports.contains_key(&key) {
        return data(json!({"CreateResult": false, "FailType": 1}));
    }
    model.extra.a_reports.insert(
        key,
        Report {
            cust_phone_no: opt(p, "CustPhoneNo").unwrap_or("").to_string(),
            remark: opt(p, "Remark").unwrap_or("").to_string(),
            no_type: if number_key == "FixedNoA" {
                "FIXED"
            } else {
                "MOBILE"
            }
            .to_string(),
        },
    );
    data(json!({"CreateResult": true, "FailType": 0}))
}

fn key(p: &Params) -> Result<(String, String), crate::action_result::BizError> {
    Ok((
        need(p, "ANoWhiteGroupId")?.to_string(),
        need(p, "PhoneNoA")?.to_string(),
    ))
}

/// QuerySecretAPhoneNoToCust: the report of A in the group.
pub fn query(model: &mut Model, p: &Params) -> ActionResult {
    let (group, phone) = key(p)?;
    let Some(r) = model.extra.a_reports.get(&(group.clone(), phone.clone())) else {
        return Err(biz(
            "isv.NO_NOT_EXIST",
            format!("号码不存在: {phone} is not reported"),
        ));
    };
    data(json!({
        "ANoWhiteGroupId": group, "PhoneNoA": phone, "CustPhoneNo": r.cust_phone_no,
        "NoType": r.no_type, "Remark": r.remark, "ReportStatus": "SUCCESS", "ReportResult": "OK",
    }))
}

/// DeleteSecretAPhoneNoToCust: removes A from the group (Data: whether it was there).
pub fn delete(model: &mut Model, p: &Params) -> ActionResult {
    let k = key(p)?;
    let removed = model.extra.a_reports.remove(&k).is_some();
    data(Value::Bool(removed))
}

/// GetDyplsOSSInfoForUploadFile: where document photos are uploaded.
pub fn oss_info(p: &Params, cx: &Context) -> ActionResult {
    let biz_type = need(p, "BizType")?;
    let expires = cx.now_ms + 3_600_000;
    data(json!({
        "AccessKeyId": "EMULATOROSSKEY",
        "Host": format!("{}/__emulator/oss", cx.base_url),
        "StartPath": format!("dypls/{biz_type}/"),
        "Policy": "eyJleHBpcmF0aW9uIjoiZW11bGF0b3IifQ==",
        "Signature": "ZW11bGF0b3I=",
        "ExpireTime": (expires / 1000).to_string(),
    }))
}
