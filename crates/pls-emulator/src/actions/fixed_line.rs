//! The fixed-line variants of AXB, AXN and AXN-extension: the same
//! bindings of the model, named differently (AppId is the pool, TelA/TelB/
//! TelX the parties, Subid the binding), with the request's own timestamp
//! Ts (`yyyyMMddHHmmssSSS`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{data, data_ok, form, invalid, need, opt};
use crate::action_result::{biz, ActionResult, BizError};
use crate::dypls::{parse_expiration, validate_phone, BindKind, Binding, Model, Slot};
use crate::params::Params;

/// Which binding family an action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Axb,
    Axn,
    AxnExtension,
}

impl Kind {
    fn bind_kind(self) -> BindKind {
        match self {
            Kind::Axb => BindKind::Axb,
            Kind::Axn => BindKind::Axn,
            Kind::AxnExtension => BindKind::AxnExtension,
        }
    }

    /// The name of the JSON object of extra settings.
    fn extra_key(self) -> &'static str {
        match self {
            Kind::AxnExtension => "Extraaxx",
            _ => "Extra",
        }
    }
}

/// The fixed-line fields of a binding.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Option<Kind>,
    pub subts: String,
    pub anucode: String,
    pub anucode_called: String,
    pub areacode: String,
    pub t_anucode_connect: String,
    pub remark: String,
    pub extra: Value,
}

/// Ts and Subts are Beijing times to the millisecond, 17 digits.
fn timestamp<'a>(p: &'a Params, key: &str) -> Result<&'a str, BizError> {
    let ts = need(p, key)?;
    if ts.len() == 17 && ts.bytes().all(|c| c.is_ascii_digit()) {
        Ok(ts)
    } else {
        Err(invalid(format!("{key} must be yyyyMMddHHmmssSSS")))
    }
}

fn extra(p: &Params, kind: Kind) -> Result<Value, BizError> {
    match opt(p, kind.extra_key()) {
        Some(_) => {
            let v = super::json_param(p, kind.extra_key())?;
            if v.is_object() {
                Ok(v)
            } else {
                Err(invalid(format!(
                    "{} must be a JSON object",
                    kind.extra_key()
                )))
            }
        }
        None => Ok(json!({})),
    }
}

fn recording(extra: &Value) -> bool {
    matches!(
        extra.get("Callrecording").and_then(Value::as_str),
        Some("1" | "true")
    )
}

/// Bind*FixedLine.
pub fn bind(model: &mut Model, p: &Params, kind: Kind, now_ms: i64) -> ActionResult {
    let pool_key = need(p, "AppId")?.to_string();
    model.pool(&pool_key)?;
    timestamp(p, "Ts")?;
    timestamp(p, "Subts")?;
    need(p, "OrderId")?;
    need(p, "BindType")?;
    let anucode = need(p, "Anucode")?;
    let a = need(p, "TelA")?;
    validate_phone(a)?;
    let b = if kind == Kind::Axb {
        need(p, "TelB")?
    } else {
        opt(p, "TelB").unwrap_or("")
    };
    if !b.is_empty() {
        validate_phone(b)?;
        if a == b {
            return Err(invalid("TelA and TelB must differ"));
        }
    }
    let expire_ms = parse_expiration(need(p, "Expiration")?, now_ms)?;
    let settings = extra(p, kind)?;
    let wanted_ext = if kind == Kind::AxnExtension {
        opt(p, "TelXext").unwrap_or("")
    } else {
        ""
    };
    // Read the request the way the model's own binds do.
    let translated = form(&[
        ("PhoneNoX", opt(p, "TelX").unwrap_or("")),
        ("ExpectCity", opt(p, "Areacode").unwrap_or("")),
        (
            "IsRecordingEnabled",
            if recording(&settings) { "true" } else { "" },
        ),
    ]);
    let mut q = Params::default();
    q.extend_from_form(translated.as_bytes());
    let parties: Vec<&str> = if kind == Kind::Axb {
        vec![a, b]
    } else {
        vec![a]
    };
    let x = model.choose_x(&q, &pool_key, kind.bind_kind(), &parties, now_ms)?;
    let extension = if kind == Kind::AxnExtension {
        let taken: Vec<String> = model
            .active_on(&x, now_ms)
            .map(|b| b.extension.clone())
            .collect();
        if !wanted_ext.is_empty() {
            if taken.iter().any(|t| t == wanted_ext) {
                return Err(biz(
                    "isv.BIND_CONFLICT",
                    format!("绑定冲突: extension {wanted_ext} is taken on {x}"),
                ));
            }
            wanted_ext.to_string()
        } else {
            (100..=999u32)
                .map(|n| n.to_string())
                .find(|e| !taken.contains(e))
                .ok_or_else(|| biz("isv.NO_AVAILABLE_NUMBER", "无可用号码: no free extension"))?
        }
    } else {
        String::new()
    };
    let binding = model.new_binding(
        &q,
        Slot {
            kind: kind.bind_kind(),
            pool_key: &pool_key,
            a,
            b,
            x,
            extension,
        },
        expire_ms,
        now_ms,
    )?;
    let id = binding.subs_id.parse::<u64>().unwrap_or(0);
    model.extra.fixed_lines.insert(
        id,
        Entry {
            kind: Some(kind),
            subts: need(p, "Subts")?.to_string(),
            anucode: anucode.to_string(),
            anucode_called: opt(p, "Anucodecalled").unwrap_or("").to_string(),
            areacode: opt(p, "Areacode").unwrap_or("").to_string(),
            t_anucode_connect: opt(p, "TAnucodeConnect").unwrap_or("").to_string(),
            remark: opt(p, "Remark").unwrap_or("").to_string(),
            extra: settings,
        },
    );
    let mut reply = json!({"Subid": binding.subs_id, "TelX": binding.secret_no});
    if kind == Kind::AxnExtension {
        reply["TelXext"] = Value::String(binding.extension.clone());
    }
    data(reply)
}

/// A live fixed-line binding of this family in pool `app_id`.
fn find(
    model: &Model,
    app_id: &str,
    kind: Kind,
    sub_id: &str,
    now_ms: i64,
) -> Result<u64, BizError> {
    sub_id
        .parse::<u64>()
        .ok()
        .filter(|id| {
            model.extra.fixed_lines.get(id).and_then(|e| e.kind) == Some(kind)
                && model
                    .bindings
                    .get(id)
                    .is_some_and(|b| b.pool_key == app_id && b.is_active(now_ms))
        })
        .ok_or_else(|| biz("isv.SUBS_NOT_EXIST", format!("绑定关系不存在: {sub_id}")))
}

fn describe(b: &Binding, e: &Entry, kind: Kind) -> Value {
    let mut v = json!({
        "Subid": b.subs_id, "TelA": b.phone_no_a, "TelB": b.phone_no_b, "TelX": b.secret_no,
        "Expiration": b.expire_date, "Subts": e.subts, "Anucode": e.anucode,
        "Anucodecalled": e.anucode_called, "Areacode": e.areacode,
        "TAnucodeConnect": e.t_anucode_connect, "Remark": e.remark,
    });
    v[kind.extra_key()] = e.extra.clone();
    if kind == Kind::AxnExtension {
        v["TelXext"] = Value::String(b.extension.clone());
        if let Some(m) = v.as_object_mut() {
            m.remove("TelB");
        }
    }
    v
}

/// Query*BindFixedLine: QueryType 0 by SubId, 1 by TelX, 2 by a party's
/// number (Phone, or TelA for the extension family).
pub fn query(model: &mut Model, p: &Params, kind: Kind, now_ms: i64) -> ActionResult {
    let app_id = need(p, "AppId")?;
    model.pool(app_id)?;
    timestamp(p, "Ts")?;
    need(p, "OrderId")?;
    let query_type = need(p, "QueryType")?;
    let by: Box<dyn Fn(&Binding) -> bool> = match query_type {
        "0" => {
            let sub_id = need(p, "SubId")?.to_string();
            Box::new(move |b: &Binding| b.subs_id == sub_id)
        }
        "1" => {
            let x = need(p, "TelX")?.to_string();
            Box::new(move |b: &Binding| b.secret_no == x)
        }
        "2" => {
            let key = if kind == Kind::AxnExtension {
                "TelA"
            } else {
                "Phone"
            };
            let phone = need(p, key)?.to_string();
            Box::new(move |b: &Binding| b.phone_no_a == phone || b.phone_no_b == phone)
        }
        other => return Err(invalid(format!("QueryType {other}"))),
    };
    let found: Vec<Value> = model
        .bindings
        .iter()
        .filter(|(_, b)| b.pool_key == app_id && b.is_active(now_ms) && by(b))
        .filter_map(|(id, b)| {
            let e = model.extra.fixed_lines.get(id)?;
            (e.kind == Some(kind)).then(|| describe(b, e, kind))
        })
        .collect();
    if kind == Kind::Axb {
        match found.into_iter().next() {
            Some(one) => data(one),
            None => Err(biz("isv.SUBS_NOT_EXIST", "绑定关系不存在")),
        }
    } else {
        data(Value::Array(found))
    }
}

/// Update*BindFixedLine: changes the parties, expiry or remarks given.
pub fn update(model: &mut Model, p: &Params, kind: Kind, now_ms: i64) -> ActionResult {
    let app_id = need(p, "AppId")?;
    model.pool(app_id)?;
    timestamp(p, "Ts")?;
    let subts = timestamp(p, "Subts")?;
    need(p, "OrderId")?;
    let id = find(model, app_id, kind, need(p, "SubId")?, now_ms)?;
    let tel_a = if kind == Kind::AxnExtension {
        Some(need(p, "TelA")?)
    } else {
        opt(p, "TelA")
    };
    let tel_b = opt(p, "TelB").filter(|_| kind != Kind::AxnExtension);
    for phone in tel_a.iter().chain(tel_b.iter()) {
        validate_phone(phone)?;
    }
    let expire = opt(p, "Expiration")
        .map(|e| parse_expiration(e, now_ms))
        .transpose()?;
    let settings = match opt(p, kind.extra_key()) {
        Some(_) => Some(extra(p, kind)?),
        None => None,
    };
    if let Some(b) = model.bindings.get_mut(&id) {
        if let Some(a) = tel_a {
            b.phone_no_a = a.to_string();
        }
        if let Some(nb) = tel_b {
            b.phone_no_b = nb.to_string();
        }
        if let Some(ms) = expire {
            b.expire_ms = ms;
            b.expire_date = crate::clock::format_beijing(ms);
        }
        if let Some(s) = &settings {
            b.need_record = recording(s);
        }
    }
    if let Some(e) = model.extra.fixed_lines.get_mut(&id) {
        e.subts = subts.to_string();
        for (key, field) in [
            ("Anucode", &mut e.anucode),
            ("Anucodecalled", &mut e.anucode_called),
            ("TAnucodeConnect", &mut e.t_anucode_connect),
            ("Remark", &mut e.remark),
        ] {
            if let Some(v) = opt(p, key) {
                *field = v.to_string();
            }
        }
        if let Some(s) = settings {
            e.extra = s;
        }
    }
    data_ok()
}

/// Delete*BindFixedLine: ends the binding.
pub fn delete(model: &mut Model, p: &Params, kind: Kind, now_ms: i64) -> ActionResult {
    let app_id = need(p, "AppId")?;
    model.pool(app_id)?;
    timestamp(p, "Ts")?;
    need(p, "OrderId")?;
    let id = find(model, app_id, kind, need(p, "SubId")?, now_ms)?;
    if let Some(b) = model.bindings.get_mut(&id) {
        b.released = true;
    }
    data_ok()
}
