//! Pick-up waybills: a courier's time slots for an address, the waybill
//! ordered for a pick-up, and its cancellation.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{invalid, json_param, need, opt};
use crate::action_result::{ActionResult, BizError};
use crate::clock::format_beijing;
use crate::dypls::Model;
use crate::params::Params;

/// A waybill by its OuterOrderCode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Waybill {
    pub mail_no: String,
    pub got_code: String,
    pub cp_code: String,
    pub cancelled: bool,
}

const DEFAULT_CP: &str = "YTO";

/// The waybill replies carry an HTTP status of their own besides Data.
fn reply(data: Value) -> ActionResult {
    let mut m = Map::new();
    m.insert("HttpStatusCode".into(), json!(200));
    m.insert("Data".into(), data);
    Ok(m)
}

/// An address object must name at least a province, a city and a detail.
fn address(p: &Params, key: &str) -> Result<Value, BizError> {
    let v = json_param(p, key)?;
    let text = |field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let nested = v
        .get("AddressInfo")
        .or_else(|| v.get("addressInfo"))
        .cloned();
    let ok = v.is_object()
        && (!text("AddressDetail").is_empty()
            || nested
                .as_ref()
                .and_then(|n| n.get("AddressDetail"))
                .is_some()
            || !text("ProvinceName").is_empty());
    if ok {
        Ok(v)
    } else {
        Err(invalid(format!(
            "{key} needs ProvinceName or AddressDetail"
        )))
    }
}

/// CreatePickUpWaybillPreQuery: the slots of today and tomorrow.
pub fn pre_query(p: &Params, now_ms: i64) -> ActionResult {
    need(p, "OrderChannels")?;
    address(p, "SenderInfo")?;
    address(p, "ConsigneeInfo")?;
    let days: Vec<Value> = (0..2)
        .map(|d| {
            let date = format_beijing(now_ms + d * 86_400_000);
            let day = date.get(..10).unwrap_or("").to_string();
            let slots: Vec<Value> = [("09:00", "11:00"), ("14:00", "16:00"), ("18:00", "20:00")]
                .iter()
                .map(|(start, end)| {
                    json!({"StartTime": format!("{day} {start}:00"), "EndTime": format!("{day} {end}:00"),
                           "Selectable": true, "SelectDisableTip": ""})
                })
                .collect();
            json!({"Date": day, "DateSelectable": true, "TimeList": slots})
        })
        .collect();
    reply(json!({
        "Success": true, "Code": "OK", "Message": "OK", "ErrorCode": "", "ErrorMsg": "",
        "CpTimeSelectList": [{
            "PrePrice": "12.00",
            "RealTime": {"Name": "立即上门", "Selectable": true, "SelectDisableTip": ""},
            "AppointTimes": days,
        }],
    }))
}

/// CreatePickUpWaybill: orders a pick-up; the same OuterOrderCode gives
/// back the same waybill.
pub fn create(model: &mut Model, p: &Params) -> ActionResult {
    let code = need(p, "OuterOrderCode")?.to_string();
    need(p, "OrderChannels")?;
    need(p, "SendName")?;
    need(p, "ConsigneeName")?;
    address(p, "SendAddress")?;
    address(p, "ConsigneeAddress")?;
    if opt(p, "GoodsInfos").is_some() && !json_param(p, "GoodsInfos")?.is_array() {
        return Err(invalid("GoodsInfos must be a JSON list"));
    }
    let cp = opt(p, "CpCode").unwrap_or(DEFAULT_CP).to_string();
    let serial = model.extra.next_id();
    let waybill = model
        .extra
        .waybills
        .entry(code)
        .or_insert_with(|| Waybill {
            mail_no: format!("{cp}{serial}"),
            got_code: format!("{:06}", serial % 1_000_000),
            cp_code: cp,
            cancelled: false,
        })
        .clone();
    reply(json!({
        "Success": "true", "ErrorCode": "", "ErrorMsg": "",
        "MailNo": waybill.mail_no, "GotCode": waybill.got_code, "CpCode": waybill.cp_code,
    }))
}

/// CancelPickUpWaybill: cancels a waybill once.
pub fn cancel(model: &mut Model, p: &Params) -> ActionResult {
    let code = need(p, "OuterOrderCode")?;
    need(p, "CancelDesc")?;
    let failure = |error: &str, message: &str| {
        Ok::<_, BizError>(
            json!({"Success": false, "ErrorCode": error, "ErrorMsg": message, "Message": message}),
        )
    };
    let outcome = match model.extra.waybills.get_mut(code) {
        None => failure("ORDER_NOT_EXIST", "no waybill for this OuterOrderCode")?,
        Some(w) if w.cancelled => failure(
            "ORDER_ALREADY_CANCELLED",
            "the waybill is already cancelled",
        )?,
        Some(w) => {
            w.cancelled = true;
            json!({"Success": true, "ErrorCode": "", "ErrorMsg": "", "Message": "OK"})
        }
    };
    let mut m = Map::new();
    m.insert("Data".into(), outcome);
    Ok(m)
}
