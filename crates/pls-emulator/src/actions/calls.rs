//! Records of simulated calls: recording links, public links and the
//! speech-to-text (ASR) of a call.

use serde_json::{json, Value};

use super::{data, invalid, need, Context};
use crate::action_result::{ActionResult, BizError};
use crate::dypls::{CallRecord, Model};
use crate::params::Params;

fn call<'m>(model: &'m Model, call_id: &str) -> Result<&'m CallRecord, BizError> {
    model
        .calls
        .get(call_id)
        .ok_or_else(|| invalid(format!("no call {call_id}")))
}

fn recorded<'m>(model: &'m Model, call_id: &str) -> Result<&'m CallRecord, BizError> {
    let c = call(model, call_id)?;
    if c.recorded {
        Ok(c)
    } else {
        Err(invalid(format!("call {call_id} was not recorded")))
    }
}

fn recording_url(cx: &Context, call_id: &str, part: &str) -> String {
    let expires = cx.now_ms / 1000 + 3600;
    format!(
        "{}/__emulator/recordings/{call_id}{part}.mp3?Expires={expires}",
        cx.base_url
    )
}

/// QuerySoundRecord: the recording of a call of the customer's pool.
pub fn sound_record(model: &mut Model, p: &Params, cx: &Context) -> ActionResult {
    let pool_key = need(p, "CustomerPoolKey")?;
    model.pool(pool_key)?;
    let call_id = need(p, "CallId")?;
    let c = recorded(model, call_id)?;
    if c.pool_key != pool_key {
        return Err(invalid(format!("call {call_id} is not of pool {pool_key}")));
    }
    data(json!({ "FileUrl": recording_url(cx, call_id, "") }))
}

/// GetTotalPublicUrl: links to the call recording and the ring tone
/// recording; with CheckSubs=true the call's binding must still be live.
pub fn public_url(model: &mut Model, p: &Params, cx: &Context) -> ActionResult {
    need(p, "PartnerKey")?;
    need(p, "CallTime")?;
    let call_id = need(p, "CallId")?;
    let check_subs = crate::dypls::parse_bool(Some(need(p, "CheckSubs")?))?;
    let c = recorded(model, call_id)?;
    if check_subs {
        let live = model
            .bindings
            .get(&c.sub_id)
            .is_some_and(|b| b.is_active(cx.now_ms));
        if !live {
            return Err(crate::action_result::biz(
                "isv.SUBS_NOT_EXIST",
                format!("绑定关系不存在: the binding of call {call_id} is no longer live"),
            ));
        }
    }
    let mut fields = serde_json::Map::new();
    fields.insert(
        "Data".into(),
        json!({
            "PhonePublicUrl": recording_url(cx, call_id, ""),
            "RingPublicUrl": recording_url(cx, call_id, "-ring"),
        }),
    );
    Ok(fields)
}

/// GetSecretAsrDetail: the transcript of a recorded call whose binding has
/// ASRStatus=true (two sentences, one per channel).
pub fn asr_detail(model: &mut Model, p: &Params) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    model.pool(pool_key)?;
    need(p, "CallTime")?;
    let call_id = need(p, "CallId")?;
    let c = recorded(model, call_id)?;
    let asr = model.bindings.get(&c.sub_id).is_some_and(|b| b.asr_status);
    if !asr {
        return Err(invalid(format!(
            "call {call_id} has no ASR (its binding has ASRStatus false)"
        )));
    }
    let sentences: Vec<Value> = [
        (1, 0, 2100, "您好，我到楼下了。"),
        (2, 2300, 4200, "好的，马上下来。"),
    ]
    .iter()
    .map(|(channel, begin, end, text)| {
        json!({
            "ChannelId": channel, "BeginTime": begin, "EndTime": end, "Text": text,
            "EmotionValue": "6.5", "SilenceDuration": 0, "SpeechRate": 240,
        })
    })
    .collect();
    let mut fields = serde_json::Map::new();
    fields.insert(
        "Data".into(),
        json!({
            "BizDuration": 4200, "BusinessId": call_id, "BusinessKey": c.sub_id.to_string(),
            "Code": "200", "Msg": "success", "RequestId": call_id, "Type": "ASR",
            "Sentences": sentences,
        }),
    );
    Ok(fields)
}
