//! The dypls business model: pools of secret numbers (X), bindings
//! (subscriptions) and the calls routed through them, with one function per
//! RPC action. Everything here is synchronous and runs under the model lock.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::action_result::{biz, ActionResult, BizError};
use crate::clock::{format_beijing, parse_beijing};
use crate::params::Params;
use crate::{PoolConfig, SecretNumberConfig};

/// How many live AXB pairs one X serves at most (Aliyun's BindAxb reference:
/// "一个 X 号码可同时绑定 200 组手机号码").
pub const MAX_AXB_PAIRS_PER_X: usize = 200;

/// The demo's PoolKey, present unless the configuration replaces the pools.
pub const DEFAULT_POOL_KEY: &str = "FC100000xxxxxx";

/// The default pool's numbers: twenty X numbers spread over five cities.
pub fn default_pools() -> Vec<PoolConfig> {
    const CITIES: [&str; 5] = ["北京", "上海", "杭州", "广州", "深圳"];
    let numbers = (0..20)
        .map(|i| SecretNumberConfig {
            number: format!("170000000{i:02}"),
            city: CITIES[i % CITIES.len()].to_string(),
        })
        .collect();
    vec![PoolConfig {
        pool_key: DEFAULT_POOL_KEY.to_string(),
        numbers,
    }]
}

/// The kind of binding, which decides how calls to X are routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindKind {
    /// A and B reach each other through X.
    Axb,
    /// Anyone calling X reaches A.
    Axn,
    /// Anyone calling X and dialling the extension reaches A.
    AxnExtension,
    /// A and the numbers of a group (GroupId) reach each other through X.
    Axg,
}

/// One binding (subscription) of phone numbers to a secret number X.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub subs_id: String,
    pub pool_key: String,
    pub kind: BindKind,
    pub phone_no_a: String,
    pub phone_no_b: String,
    pub secret_no: String,
    pub extension: String,
    #[serde(skip)]
    pub expire_ms: i64,
    pub expire_date: String,
    pub gmt_create: String,
    pub need_record: bool,
    pub call_restrict: String,
    pub call_display_type: String,
    pub group_id: String,
    pub out_id: String,
    pub asr_status: bool,
    pub asr_model_id: String,
    /// Set by UnbindSubscription; an expired binding stays unreleased but
    /// is inactive all the same.
    pub released: bool,
}

impl Binding {
    /// Live on the business clock: not released and not yet expired.
    pub fn is_active(&self, now_ms: i64) -> bool {
        !self.released && self.expire_ms > now_ms
    }

    fn involves(&self, phone: &str) -> bool {
        self.phone_no_a == phone || (!self.phone_no_b.is_empty() && self.phone_no_b == phone)
    }
}

/// A pool of secret numbers, in the order they were added.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    pub pool_key: String,
    pub numbers: Vec<SecretNumberConfig>,
}

/// A call that went through the emulator, kept for recording downloads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub call_id: String,
    pub pool_key: String,
    pub sub_id: u64,
    pub call_time_ms: i64,
    pub recorded: bool,
}

/// Where the service sends a call or SMS that reaches X.
#[derive(Debug, Clone)]
pub struct Route {
    /// The binding that routed it, or None when intercepted.
    pub binding: Option<Binding>,
    /// The party it was sent to ("" when intercepted).
    pub peer: String,
    /// 0 A->B (or to A for AXN), 1 B->A, 4 intercepted.
    pub call_type: u8,
}

/// The whole business state.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) pools: BTreeMap<String, Pool>,
    pub(crate) bindings: BTreeMap<u64, Binding>,
    pub(crate) calls: HashMap<String, CallRecord>,
    pub(crate) next_subs_id: u64,
    pub(crate) next_number_serial: u64,
    /// The state of the actions beyond the original nine (groups, locks,
    /// blacklists, track numbers, ...).
    pub(crate) extra: crate::actions::Extra,
}

/// Where a new binding goes and who is in it.
pub(crate) struct Slot<'a> {
    pub kind: BindKind,
    pub pool_key: &'a str,
    pub a: &'a str,
    pub b: &'a str,
    pub x: String,
    pub extension: String,
}

const CALL_RESTRICTS: [&str; 3] = [
    "CONTROL_AX_DISABLE",
    "CONTROL_BX_DISABLE",
    "CONTROL_CLEAR_DISABLE",
];

pub(crate) fn require<'a>(p: &'a Params, key: &str) -> Result<&'a str, BizError> {
    match p.get(key) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(biz(
            "isv.INVALID_PARAMETERS",
            format!("参数非法: {key} is required"),
        )),
    }
}

/// An 11-digit mobile number starting with 1, or a fixed line written as
/// 0 + area code + number without a hyphen (10 to 12 digits).
pub fn validate_phone(phone: &str) -> Result<(), BizError> {
    let all_digits = !phone.is_empty() && phone.bytes().all(|b| b.is_ascii_digit());
    let mobile = all_digits && phone.len() == 11 && phone.starts_with('1');
    let fixed = all_digits && (10..=12).contains(&phone.len()) && phone.starts_with('0');
    if mobile || fixed {
        Ok(())
    } else {
        Err(biz(
            "isv.MOBILE_NUMBER_ILLEGAL",
            format!("号码格式非法: {phone}"),
        ))
    }
}

/// Expiration must be a Beijing `YYYY-MM-DD HH:mm:ss` more than a minute
/// after the business clock.
pub(crate) fn parse_expiration(value: &str, now_ms: i64) -> Result<i64, BizError> {
    match parse_beijing(value) {
        Some(ms) if ms > now_ms + 60_000 => Ok(ms),
        Some(_) => Err(biz(
            "isv.EXPIRE_DATE_ILLEGAL",
            "过期时间非法: Expiration must be more than one minute later than now",
        )),
        None => Err(biz(
            "isv.EXPIRE_DATE_ILLEGAL",
            format!("过期时间非法: {value} is not YYYY-MM-DD HH:mm:ss"),
        )),
    }
}

pub(crate) fn parse_bool(value: Option<&str>) -> Result<bool, BizError> {
    match value {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(biz(
            "isv.INVALID_PARAMETERS",
            format!("参数非法: {v} is not true or false"),
        )),
    }
}

pub(crate) fn one(key: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    m
}

impl Model {
    /// A model holding the given pools and nothing else.
    pub fn new(pools: &[PoolConfig]) -> Self {
        let pools = pools
            .iter()
            .map(|p| {
                (
                    p.pool_key.clone(),
                    Pool {
                        pool_key: p.pool_key.clone(),
                        numbers: p.numbers.clone(),
                    },
                )
            })
            .collect();
        Model {
            pools,
            bindings: BTreeMap::new(),
            calls: HashMap::new(),
            next_subs_id: 1_000_000_000_001,
            next_number_serial: 1,
            extra: crate::actions::Extra::default(),
        }
    }

    pub(crate) fn pool(&self, key: &str) -> Result<&Pool, BizError> {
        self.pools
            .get(key)
            .ok_or_else(|| biz("isv.POOLKEY_NOT_EXISTS", format!("号池不存在: {key}")))
    }

    pub(crate) fn active_on<'a>(
        &'a self,
        x: &'a str,
        now_ms: i64,
    ) -> impl Iterator<Item = &'a Binding> + 'a {
        self.bindings
            .values()
            .filter(move |b| b.secret_no == x && b.is_active(now_ms))
    }

    /// Whether X already serves the most AXB pairs one X may serve.
    pub(crate) fn x_full(&self, x: &str, kind: BindKind, now_ms: i64) -> bool {
        kind == BindKind::Axb
            && self
                .active_on(x, now_ms)
                .filter(|b| b.kind == BindKind::Axb)
                .count()
                >= MAX_AXB_PAIRS_PER_X
    }

    /// Whether X can take a new binding of `kind` for `parties` without
    /// making a call to X ambiguous.
    pub(crate) fn x_accepts(&self, x: &str, kind: BindKind, parties: &[&str], now_ms: i64) -> bool {
        // A locked number takes no new binding.
        if self.extra.is_locked(x) || self.x_full(x, kind, now_ms) {
            return false;
        }
        self.active_on(x, now_ms).all(|b| match (kind, b.kind) {
            (BindKind::Axb | BindKind::Axg, BindKind::Axb | BindKind::Axg) => {
                !parties.iter().any(|p| !p.is_empty() && b.involves(p))
            }
            (BindKind::AxnExtension, BindKind::AxnExtension) => b.phone_no_a != parties[0],
            _ => false,
        })
    }

    /// Picks X: PhoneNoX when given, else ExpectCity's numbers first, then
    /// the rest of the pool.
    pub(crate) fn choose_x(
        &self,
        p: &Params,
        pool_key: &str,
        kind: BindKind,
        parties: &[&str],
        now_ms: i64,
    ) -> Result<String, BizError> {
        let pool = self.pool(pool_key)?;
        if let Some(x) = p.get("PhoneNoX").filter(|x| !x.is_empty()) {
            if !pool.numbers.iter().any(|n| n.number == x) {
                return Err(biz(
                    "isv.NO_NOT_EXIST",
                    format!("号码不存在: {x} is not in pool {pool_key}"),
                ));
            }
            if self.extra.is_locked(x) {
                return Err(biz(
                    "isv.NO_AVAILABLE_NUMBER",
                    format!("无可用号码: {x} is locked"),
                ));
            }
            if self.x_full(x, kind, now_ms) {
                return Err(biz(
                    "isv.NO_AVAILABLE_NUMBER",
                    format!("无可用号码: {x} already serves {MAX_AXB_PAIRS_PER_X} A/B pairs"),
                ));
            }
            if !self.x_accepts(x, kind, parties, now_ms) {
                return Err(biz(
                    "isv.BIND_CONFLICT",
                    format!("绑定冲突: a party is already bound on {x}"),
                ));
            }
            return Ok(x.to_string());
        }
        let city = p.get("ExpectCity").unwrap_or("");
        let in_city = pool
            .numbers
            .iter()
            .filter(|n| !city.is_empty() && n.city == city);
        let others = pool
            .numbers
            .iter()
            .filter(|n| city.is_empty() || n.city != city);
        in_city
            .chain(others)
            .find(|n| self.x_accepts(&n.number, kind, parties, now_ms))
            .map(|n| n.number.clone())
            .ok_or_else(|| biz("isv.NO_AVAILABLE_NUMBER", "无可用号码"))
    }

    /// The one way a binding is made, for all three kinds: read the
    /// parties, pick X (and for an extension binding a free extension),
    /// store the binding and answer its SecretBindDTO.
    fn bind(&mut self, p: &Params, kind: BindKind, now_ms: i64) -> ActionResult {
        let Parties {
            pool_key,
            a,
            b,
            expire_ms,
        } = match kind {
            BindKind::Axb | BindKind::Axg => axb_parties(p, now_ms)?,
            BindKind::Axn | BindKind::AxnExtension => axn_parties(p, now_ms)?,
        };
        let wanted_extension = match kind {
            BindKind::AxnExtension => wanted_extension(p)?,
            BindKind::Axb | BindKind::Axn | BindKind::Axg => None,
        };
        // X must not already route a call from these parties elsewhere.
        let exclusive: &[&str] = match kind {
            BindKind::Axb | BindKind::Axg => &[a, b],
            BindKind::Axn | BindKind::AxnExtension => &[a],
        };
        let x = self.choose_x(p, pool_key, kind, exclusive, now_ms)?;
        let extension = match kind {
            BindKind::AxnExtension => self.free_extension(&x, wanted_extension, now_ms)?,
            BindKind::Axb | BindKind::Axn | BindKind::Axg => String::new(),
        };
        let binding = self.new_binding(
            p,
            Slot {
                kind,
                pool_key,
                a,
                b,
                x,
                extension,
            },
            expire_ms,
            now_ms,
        )?;
        Ok(Self::bind_dto(&binding))
    }

    /// Stores a binding of `slot` until `expire_ms`, with the options every
    /// kind of binding takes from `p`. The SubsId is spent only once every
    /// param has been accepted.
    pub(crate) fn new_binding(
        &mut self,
        p: &Params,
        slot: Slot,
        expire_ms: i64,
        now_ms: i64,
    ) -> Result<Binding, BizError> {
        let Slot {
            kind,
            pool_key,
            a,
            b,
            x,
            extension,
        } = slot;
        let call_restrict = p.get("CallRestrict").unwrap_or("").to_string();
        if !call_restrict.is_empty() && !CALL_RESTRICTS.contains(&call_restrict.as_str()) {
            return Err(biz(
                "isv.INVALID_PARAMETERS",
                format!("参数非法: CallRestrict {call_restrict}"),
            ));
        }
        let binding = Binding {
            subs_id: self.next_subs_id.to_string(),
            pool_key: pool_key.to_string(),
            kind,
            phone_no_a: a.to_string(),
            phone_no_b: b.to_string(),
            secret_no: x,
            extension,
            expire_ms,
            expire_date: format_beijing(expire_ms),
            gmt_create: format_beijing(now_ms),
            need_record: parse_bool(p.get("IsRecordingEnabled"))?,
            call_restrict,
            call_display_type: p.get("CallDisplayType").unwrap_or("").to_string(),
            group_id: p.get("GroupId").unwrap_or("").to_string(),
            out_id: p.get("OutId").unwrap_or("").to_string(),
            asr_status: parse_bool(p.get("ASRStatus"))?,
            asr_model_id: p.get("ASRModelId").unwrap_or("").to_string(),
            released: false,
        };
        self.bindings.insert(self.next_subs_id, binding.clone());
        self.next_subs_id += 1;
        Ok(binding)
    }

    /// A binding's `SecretBindDTO`, as every bind action answers it.
    pub(crate) fn bind_dto(b: &Binding) -> Map<String, Value> {
        one(
            "SecretBindDTO",
            json!({"SubsId": b.subs_id, "SecretNo": b.secret_no, "Extension": b.extension}),
        )
    }

    /// The extension for a new binding on `x`: the one asked for if it is
    /// free, else the lowest free one from 100 to 999.
    fn free_extension(
        &self,
        x: &str,
        wanted: Option<&str>,
        now_ms: i64,
    ) -> Result<String, BizError> {
        let taken: Vec<&str> = self
            .active_on(x, now_ms)
            .map(|b| b.extension.as_str())
            .collect();
        match wanted {
            Some(e) if taken.contains(&e) => Err(biz(
                "isv.BIND_CONFLICT",
                format!("绑定冲突: extension {e} is taken on {x}"),
            )),
            Some(e) => Ok(e.to_string()),
            None => (100..=999)
                .map(|n: u32| n.to_string())
                .find(|e| !taken.contains(&e.as_str()))
                .ok_or_else(|| biz("isv.NO_AVAILABLE_NUMBER", "无可用号码: no free extension")),
        }
    }

    /// BindAxb: A and B reach each other through a free X.
    pub fn bind_axb(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        self.bind(p, BindKind::Axb, now_ms)
    }

    /// BindAxn: anyone calling X reaches A; X is A's alone.
    pub fn bind_axn(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        self.bind(p, BindKind::Axn, now_ms)
    }

    /// BindAxnExtension: one X shared by many A, told apart by a 3-digit
    /// extension the caller dials after X.
    pub fn bind_axn_extension(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        self.bind(p, BindKind::AxnExtension, now_ms)
    }

    /// Finds a binding by SubsId and checks that it is on `x`.
    pub(crate) fn binding_mut(&mut self, subs_id: &str, x: &str) -> Result<&mut Binding, BizError> {
        let binding = subs_id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.bindings.get_mut(&id))
            .ok_or_else(|| biz("isv.SUBS_NOT_EXIST", format!("绑定关系不存在: {subs_id}")))?;
        if binding.secret_no != x {
            return Err(biz(
                "isv.NO_NOT_EXIST",
                format!("号码不存在: {x} is not the secret number of {subs_id}"),
            ));
        }
        Ok(binding)
    }

    fn check_pool_if_given(&self, p: &Params) -> Result<(), BizError> {
        match p.get("PoolKey").filter(|k| !k.is_empty()) {
            Some(k) => self.pool(k).map(|_| ()),
            None => Ok(()),
        }
    }

    /// UnbindSubscription: releases a live binding.
    pub fn unbind(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        self.check_pool_if_given(p)?;
        let binding = self.binding_mut(require(p, "SubsId")?, require(p, "SecretNo")?)?;
        if !binding.is_active(now_ms) {
            return Err(biz(
                "isv.SUBS_NOT_EXIST",
                format!("绑定关系不存在: {} is released or expired", binding.subs_id),
            ));
        }
        binding.released = true;
        Ok(one(
            "ChargeId",
            Value::String(format!("{}0", binding.subs_id)),
        ))
    }

    /// QuerySubscriptionDetail: the binding's fields; Status 0 once released
    /// or expired.
    pub fn query_detail(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        self.check_pool_if_given(p)?;
        let b = self.binding_mut(require(p, "SubsId")?, require(p, "PhoneNoX")?)?;
        Ok(one(
            "SecretBindDetailDTO",
            json!({
                "SubsId": b.subs_id, "PhoneNoA": b.phone_no_a, "PhoneNoB": b.phone_no_b, "PhoneNoX": b.secret_no,
                "Extension": b.extension, "ExpireDate": b.expire_date, "GmtCreate": b.gmt_create,
                "NeedRecord": b.need_record, "CallRestrict": b.call_restrict, "Status": i32::from(b.is_active(now_ms)),
                "GroupId": b.group_id, "ASRStatus": b.asr_status, "ASRModelId": b.asr_model_id,
            }),
        ))
    }

    /// UpdateSubscription: one field per OperateType.
    pub fn update(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        self.check_pool_if_given(p)?;
        let subs_id = require(p, "SubsId")?;
        let x = require(p, "PhoneNoX")?;
        let operate = require(p, "OperateType")?;
        let (kind, id, a, b) = {
            let binding = self.binding_mut(subs_id, x)?;
            if !binding.is_active(now_ms) {
                return Err(biz(
                    "isv.SUBS_NOT_EXIST",
                    format!("绑定关系不存在: {subs_id} is released or expired"),
                ));
            }
            (
                binding.kind,
                binding.subs_id.clone(),
                binding.phone_no_a.clone(),
                binding.phone_no_b.clone(),
            )
        };
        // A new party must not already be bound on X by another binding.
        let conflicts = |model: &Model, phone: &str| {
            model
                .active_on(x, now_ms)
                .any(|o| o.subs_id != id && kind == BindKind::Axb && o.involves(phone))
        };
        let value = |key: &str| require(p, key).map(str::to_string);
        let new_a = if operate == "updateNoA" {
            Some(value("PhoneNoA")?)
        } else {
            None
        };
        let new_b = if operate == "updateNoB" {
            Some(value("PhoneNoB")?)
        } else {
            None
        };
        for phone in new_a.iter().chain(new_b.iter()) {
            validate_phone(phone)?;
            if conflicts(self, phone) || *phone == a || *phone == b {
                return Err(biz(
                    "isv.BIND_CONFLICT",
                    format!("绑定冲突: {phone} is already bound on {x}"),
                ));
            }
        }
        let new_expire = if operate == "updateExpire" {
            Some(parse_expiration(require(p, "Expiration")?, now_ms)?)
        } else {
            None
        };
        let binding = self.binding_mut(subs_id, x)?;
        match operate {
            "updateNoA" => binding.phone_no_a = new_a.unwrap_or_default(),
            "updateNoB" => binding.phone_no_b = new_b.unwrap_or_default(),
            "updateExpire" => {
                let ms = new_expire.unwrap_or(binding.expire_ms);
                binding.expire_ms = ms;
                binding.expire_date = format_beijing(ms);
            }
            "updateAxgGroup" => binding.group_id = value("GroupId")?,
            "updateCallRestrict" => {
                let v = value("CallRestrict")?;
                if !CALL_RESTRICTS.contains(&v.as_str()) {
                    return Err(biz(
                        "isv.INVALID_PARAMETERS",
                        format!("参数非法: CallRestrict {v}"),
                    ));
                }
                binding.call_restrict = v;
            }
            "updateCallDisplayType" => {
                let v = value("CallDisplayType")?;
                if !v.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(biz(
                        "isv.INVALID_PARAMETERS",
                        format!("参数非法: CallDisplayType {v}"),
                    ));
                }
                binding.call_display_type = v;
            }
            "updateOutId" => binding.out_id = value("OutId")?,
            "updateIsRecordingEnabled" => {
                binding.need_record = parse_bool(Some(require(p, "IsRecordingEnabled")?))?
            }
            other => {
                return Err(biz(
                    "isv.INVALID_PARAMETERS",
                    format!("参数非法: OperateType {other}"),
                ))
            }
        }
        Ok(Map::new())
    }

    /// BuySecretNo: adds a fresh number in City to the pool.
    pub fn buy_secret_no(&mut self, p: &Params) -> ActionResult {
        let pool_key = require(p, "PoolKey")?.to_string();
        self.pool(&pool_key)?;
        let prefix = match require(p, "SpecId")? {
            "1" => "171",
            "2" => "130",
            "3" => "145",
            other => {
                return Err(biz(
                    "isv.INVALID_PARAMETERS",
                    format!("参数非法: SpecId {other}"),
                ))
            }
        };
        let city = require(p, "City")?.to_string();
        // SecretNo, when given, is the prefix the buyer wants.
        let prefix = match p.get("SecretNo").filter(|s| !s.is_empty()) {
            Some(s) if s.len() < 11 && s.bytes().all(|c| c.is_ascii_digit()) => s.to_string(),
            Some(s) => {
                return Err(biz(
                    "isv.INVALID_PARAMETERS",
                    format!("参数非法: SecretNo {s}"),
                ))
            }
            None => prefix.to_string(),
        };
        let width = 11 - prefix.len();
        let limit = 10u64.saturating_pow(width as u32);
        let number = loop {
            if self.next_number_serial >= limit {
                return Err(biz("isv.NO_AVAILABLE_NUMBER", "无可用号码"));
            }
            let candidate = format!("{prefix}{:0width$}", self.next_number_serial);
            self.next_number_serial += 1;
            if !self
                .pools
                .values()
                .any(|pl| pl.numbers.iter().any(|n| n.number == candidate))
            {
                break candidate;
            }
        };
        if let Some(pool) = self.pools.get_mut(&pool_key) {
            pool.numbers.push(SecretNumberConfig {
                number: number.clone(),
                city,
            });
        }
        Ok(one("SecretBuyInfoDTO", json!({ "SecretNo": number })))
    }

    /// ReleaseSecretNo: removes an unused number from the pool.
    pub fn release_secret_no(&mut self, p: &Params, now_ms: i64) -> ActionResult {
        let pool_key = require(p, "PoolKey")?;
        let x = require(p, "SecretNo")?;
        if !self.pool(pool_key)?.numbers.iter().any(|n| n.number == x) {
            return Err(biz("isv.NO_NOT_EXIST", format!("号码不存在: {x}")));
        }
        if self.active_on(x, now_ms).next().is_some() {
            return Err(biz(
                "isv.NO_USED_BY_OTHERS",
                format!("号码被占用: {x} has live bindings"),
            ));
        }
        if let Some(pool) = self.pools.get_mut(pool_key) {
            pool.numbers.retain(|n| n.number != x);
        }
        Ok(Map::new())
    }

    /// QueryRecordFileDownloadUrl: a URL for a recorded call.
    pub fn record_download_url(&self, p: &Params, base_url: &str, now_ms: i64) -> ActionResult {
        let call_id = require(p, "CallId")?;
        match self.calls.get(call_id) {
            Some(call) if call.recorded => {
                let expires = now_ms / 1000 + 3600;
                Ok(one(
                    "DownloadUrl",
                    Value::String(format!(
                        "{base_url}/__emulator/recordings/{call_id}.mp3?Expires={expires}"
                    )),
                ))
            }
            Some(_) => Err(biz(
                "isv.INVALID_PARAMETERS",
                format!("参数非法: call {call_id} was not recorded"),
            )),
            None => Err(biz(
                "isv.INVALID_PARAMETERS",
                format!("参数非法: no call {call_id}"),
            )),
        }
    }

    /// Routes a call or SMS from `caller` to X (and an extension for AXN
    /// extension bindings) through the live bindings.
    pub fn route(&self, caller: &str, x: &str, extension: Option<&str>, now_ms: i64) -> Route {
        let mut axn = None;
        for b in self.active_on(x, now_ms) {
            match b.kind {
                BindKind::Axb if b.phone_no_a == caller => {
                    return Route {
                        binding: Some(b.clone()),
                        peer: b.phone_no_b.clone(),
                        call_type: 0,
                    }
                }
                BindKind::Axb if b.phone_no_b == caller => {
                    return Route {
                        binding: Some(b.clone()),
                        peer: b.phone_no_a.clone(),
                        call_type: 1,
                    }
                }
                BindKind::Axn if b.phone_no_a == caller && !b.phone_no_b.is_empty() => {
                    return Route {
                        binding: Some(b.clone()),
                        peer: b.phone_no_b.clone(),
                        call_type: 0,
                    }
                }
                BindKind::Axn if b.phone_no_a != caller => axn = Some(b),
                BindKind::Axg if b.phone_no_a == caller && !b.phone_no_b.is_empty() => {
                    return Route {
                        binding: Some(b.clone()),
                        peer: b.phone_no_b.clone(),
                        call_type: 0,
                    }
                }
                BindKind::Axg
                    if b.phone_no_b == caller || self.extra.group_has(&b.group_id, caller) =>
                {
                    axn = Some(b)
                }
                BindKind::AxnExtension
                    if extension == Some(b.extension.as_str()) && b.phone_no_a != caller =>
                {
                    axn = Some(b)
                }
                _ => {}
            }
        }
        match axn {
            Some(b) => Route {
                binding: Some(b.clone()),
                peer: b.phone_no_a.clone(),
                call_type: 1,
            },
            None => Route {
                binding: None,
                peer: String::new(),
                call_type: 4,
            },
        }
    }

    /// Remembers a call so QueryRecordFileDownloadUrl can find it.
    pub fn record_call(&mut self, call: CallRecord) {
        self.calls.insert(call.call_id.clone(), call);
    }

    /// The pools, for the control API.
    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.values()
    }

    /// The bindings, for the control API.
    pub fn bindings(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.values()
    }

    /// How many calls were placed.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }
}

/// Who a new binding is for, where, and until when (ms on the business clock).
struct Parties<'p> {
    pool_key: &'p str,
    a: &'p str,
    /// "" when an AXN binding has no default B.
    b: &'p str,
    expire_ms: i64,
}

/// AXB params: pool, two valid and different numbers, the expiry.
fn axb_parties<'p>(p: &'p Params, now_ms: i64) -> Result<Parties<'p>, BizError> {
    let pool_key = require(p, "PoolKey")?;
    let a = require(p, "PhoneNoA")?;
    let b = require(p, "PhoneNoB")?;
    validate_phone(a)?;
    validate_phone(b)?;
    if a == b {
        return Err(biz(
            "isv.INVALID_PARAMETERS",
            "参数非法: PhoneNoA and PhoneNoB must differ",
        ));
    }
    let expire_ms = parse_expiration(require(p, "Expiration")?, now_ms)?;
    Ok(Parties {
        pool_key,
        a,
        b,
        expire_ms,
    })
}

/// The params every AXN flavour starts with: pool, a valid A, an optional
/// valid default B, and the expiry.
fn axn_parties<'p>(p: &'p Params, now_ms: i64) -> Result<Parties<'p>, BizError> {
    let pool_key = require(p, "PoolKey")?;
    let a = require(p, "PhoneNoA")?;
    validate_phone(a)?;
    let b = p.get("PhoneNoB").unwrap_or("");
    if !b.is_empty() {
        validate_phone(b)?;
    }
    let expire_ms = parse_expiration(require(p, "Expiration")?, now_ms)?;
    Ok(Parties {
        pool_key,
        a,
        b,
        expire_ms,
    })
}

/// The Extension asked for, when given: up to four digits.
fn wanted_extension<'p>(p: &'p Params) -> Result<Option<&'p str>, BizError> {
    match p.get("Extension").filter(|e| !e.is_empty()) {
        Some(e) if e.len() > 4 || !e.bytes().all(|c| c.is_ascii_digit()) => Err(biz(
            "isv.INVALID_PARAMETERS",
            format!("参数非法: Extension {e}"),
        )),
        wanted => Ok(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2018-08-01 00:00:00";

    fn now() -> i64 {
        parse_beijing(NOW).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Params<'static> {
        Params::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn axb(a: &str, b: &str, extra: &[(&str, &str)]) -> Params<'static> {
        let mut p = vec![
            ("PoolKey", DEFAULT_POOL_KEY),
            ("PhoneNoA", a),
            ("PhoneNoB", b),
            ("Expiration", "2018-08-05 12:00:00"),
        ];
        p.extend_from_slice(extra);
        params(&p)
    }

    fn secret_no(r: &Map<String, Value>) -> String {
        r["SecretBindDTO"]["SecretNo"].as_str().unwrap().to_string()
    }

    fn subs_id(r: &Map<String, Value>) -> String {
        r["SecretBindDTO"]["SubsId"].as_str().unwrap().to_string()
    }

    fn small_pool(n: usize) -> Model {
        let numbers = (0..n)
            .map(|i| SecretNumberConfig {
                number: format!("1710000000{i}"),
                city: if i == 0 { "北京" } else { "上海" }.into(),
            })
            .collect();
        Model::new(&[PoolConfig {
            pool_key: "P".into(),
            numbers,
        }])
    }

    #[test]
    fn binds_and_never_reuses_x_for_the_same_party() {
        let mut m = Model::new(&default_pools());
        let first = m
            .bind_axb(&axb("18040580000", "13871140000", &[]), now())
            .unwrap();
        assert_eq!(secret_no(&first), "17000000000");
        assert!(subs_id(&first).bytes().all(|c| c.is_ascii_digit()));
        // A again with another B must get another X, or A calling X is ambiguous.
        let second = m
            .bind_axb(&axb("18040580000", "13900000000", &[]), now())
            .unwrap();
        assert_ne!(secret_no(&second), secret_no(&first));
        // Unrelated parties may share the first X.
        let third = m
            .bind_axb(&axb("13500000000", "13600000000", &[]), now())
            .unwrap();
        assert_eq!(secret_no(&third), secret_no(&first));
    }

    #[test]
    fn phone_no_x_conflict_and_unknown() {
        let mut m = Model::new(&default_pools());
        m.bind_axb(
            &axb("18040580000", "13871140000", &[("PhoneNoX", "17000000003")]),
            now(),
        )
        .unwrap();
        let err = m
            .bind_axb(
                &axb("13871140000", "13000000000", &[("PhoneNoX", "17000000003")]),
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code, "isv.BIND_CONFLICT");
        let err = m
            .bind_axb(
                &axb("13100000000", "13000000000", &[("PhoneNoX", "19999999999")]),
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code, "isv.NO_NOT_EXIST");
    }

    #[test]
    fn expect_city_preferred_then_fallback() {
        let mut m = small_pool(2);
        let r = m
            .bind_axb(
                &{
                    let mut p = axb("13100000001", "13100000002", &[("ExpectCity", "上海")]);
                    p.set("PoolKey", "P");
                    p
                },
                now(),
            )
            .unwrap();
        assert_eq!(secret_no(&r), "17100000001");
        // Beijing's only number is busy for this A, so the fallback is Shanghai's.
        let mut p = axb(
            "13100000003",
            "13100000004",
            &[("ExpectCity", "北京"), ("PhoneNoX", "17100000000")],
        );
        p.set("PoolKey", "P");
        m.bind_axb(&p, now()).unwrap();
        let mut p = axb("13100000003", "13100000005", &[("ExpectCity", "北京")]);
        p.set("PoolKey", "P");
        assert_eq!(secret_no(&m.bind_axb(&p, now()).unwrap()), "17100000001");
    }

    #[test]
    fn no_available_number_then_free_after_expiry_on_the_clock() {
        let mut m = small_pool(1);
        let mut p = axb("13100000001", "13100000002", &[]);
        p.set("PoolKey", "P");
        p.set("Expiration", "2018-08-01 00:10:00");
        m.bind_axb(&p, now()).unwrap();
        let mut q = axb("13100000001", "13100000003", &[]);
        q.set("PoolKey", "P");
        assert_eq!(
            m.bind_axb(&q, now()).unwrap_err().code,
            "isv.NO_AVAILABLE_NUMBER"
        );
        let later = parse_beijing("2018-08-01 00:10:00").unwrap();
        assert!(m.bind_axb(&q, later).is_ok(), "an expired binding frees X");
    }

    #[test]
    fn illegal_numbers_and_expiration() {
        let mut m = Model::new(&default_pools());
        for bad in [
            "1804058000",
            "28040580000",
            "010-12345678",
            "1804058000a",
            "",
        ] {
            let err = m
                .bind_axb(&axb(bad, "13871140000", &[]), now())
                .unwrap_err();
            assert!(
                err.code == "isv.MOBILE_NUMBER_ILLEGAL" || err.code == "isv.INVALID_PARAMETERS",
                "{bad}: {err:?}"
            );
        }
        assert!(
            m.bind_axb(&axb("01012345678", "13871140000", &[]), now())
                .is_ok(),
            "fixed line"
        );
        let mut p = axb("13100000001", "13100000002", &[]);
        p.set("Expiration", "2018-08-01 00:01:00");
        assert_eq!(
            m.bind_axb(&p, now()).unwrap_err().code,
            "isv.EXPIRE_DATE_ILLEGAL"
        );
        p.set("Expiration", "2018/08/05 12:00:00");
        assert_eq!(
            m.bind_axb(&p, now()).unwrap_err().code,
            "isv.EXPIRE_DATE_ILLEGAL"
        );
        p.set("Expiration", "2018-08-01 00:01:01");
        assert!(m.bind_axb(&p, now()).is_ok());
        p.set("PoolKey", "nope");
        assert_eq!(
            m.bind_axb(&p, now()).unwrap_err().code,
            "isv.POOLKEY_NOT_EXISTS"
        );
    }

    #[test]
    fn update_query_unbind() {
        let mut m = Model::new(&default_pools());
        let r = m
            .bind_axb(&axb("18040580000", "13871140000", &[]), now())
            .unwrap();
        let (id, x) = (subs_id(&r), secret_no(&r));
        let upd = |op: &str, k: &str, v: &str| {
            params(&[
                ("SubsId", &id),
                ("PhoneNoX", &x),
                ("OperateType", op),
                (k, v),
            ])
        };
        m.update(&upd("updateNoA", "PhoneNoA", "13300000000"), now())
            .unwrap();
        m.update(&upd("updateNoB", "PhoneNoB", "13400000000"), now())
            .unwrap();
        m.update(
            &upd("updateExpire", "Expiration", "2019-01-01 00:00:00"),
            now(),
        )
        .unwrap();
        m.update(&upd("updateAxgGroup", "GroupId", "42"), now())
            .unwrap();
        m.update(
            &upd("updateCallRestrict", "CallRestrict", "CONTROL_AX_DISABLE"),
            now(),
        )
        .unwrap();
        m.update(&upd("updateCallDisplayType", "CallDisplayType", "2"), now())
            .unwrap();
        m.update(&upd("updateOutId", "OutId", "order-7"), now())
            .unwrap();
        m.update(
            &upd("updateIsRecordingEnabled", "IsRecordingEnabled", "true"),
            now(),
        )
        .unwrap();
        assert_eq!(
            m.update(&upd("updateNothing", "X", "1"), now())
                .unwrap_err()
                .code,
            "isv.INVALID_PARAMETERS"
        );
        assert_eq!(
            m.update(&upd("updateExpire", "Expiration", NOW), now())
                .unwrap_err()
                .code,
            "isv.EXPIRE_DATE_ILLEGAL"
        );
        let d = m
            .query_detail(&params(&[("SubsId", &id), ("PhoneNoX", &x)]), now())
            .unwrap();
        let d = &d["SecretBindDetailDTO"];
        assert_eq!(d["PhoneNoA"], "13300000000");
        assert_eq!(d["PhoneNoB"], "13400000000");
        assert_eq!(d["ExpireDate"], "2019-01-01 00:00:00");
        assert_eq!(d["GroupId"], "42");
        assert_eq!(d["CallRestrict"], "CONTROL_AX_DISABLE");
        assert_eq!(d["NeedRecord"], true);
        assert_eq!(d["Status"], 1);
        assert_eq!(
            m.query_detail(
                &params(&[("SubsId", &id), ("PhoneNoX", "17000000019")]),
                now()
            )
            .unwrap_err()
            .code,
            "isv.NO_NOT_EXIST"
        );
        assert_eq!(
            m.unbind(
                &params(&[("SubsId", &id), ("SecretNo", "17000000019")]),
                now()
            )
            .unwrap_err()
            .code,
            "isv.NO_NOT_EXIST"
        );
        assert!(m
            .unbind(&params(&[("SubsId", &id), ("SecretNo", &x)]), now())
            .unwrap()
            .contains_key("ChargeId"));
        assert_eq!(
            m.unbind(&params(&[("SubsId", &id), ("SecretNo", &x)]), now())
                .unwrap_err()
                .code,
            "isv.SUBS_NOT_EXIST"
        );
        assert_eq!(
            m.query_detail(&params(&[("SubsId", &id), ("PhoneNoX", &x)]), now())
                .unwrap()["SecretBindDetailDTO"]["Status"],
            0
        );
        assert_eq!(
            m.unbind(&params(&[("SubsId", "999"), ("SecretNo", &x)]), now())
                .unwrap_err()
                .code,
            "isv.SUBS_NOT_EXIST"
        );
    }

    #[test]
    fn axn_and_extension_routing() {
        let mut m = Model::new(&default_pools());
        let base = [
            ("PoolKey", DEFAULT_POOL_KEY),
            ("PhoneNoA", "13100000001"),
            ("Expiration", "2018-08-05 12:00:00"),
        ];
        let r = m.bind_axn(&params(&base), now()).unwrap();
        let x = secret_no(&r);
        let route = m.route("13999999999", &x, None, now());
        assert_eq!((route.peer.as_str(), route.call_type), ("13100000001", 1));
        // X is A's alone: an AXB must go elsewhere.
        let r2 = m
            .bind_axb(&axb("13200000001", "13200000002", &[]), now())
            .unwrap();
        assert_ne!(secret_no(&r2), x);
        let e1 = m.bind_axn_extension(&params(&base), now()).unwrap();
        let mut other = base.to_vec();
        other[1] = ("PhoneNoA", "13100000002");
        let e2 = m.bind_axn_extension(&params(&other), now()).unwrap();
        assert_eq!(secret_no(&e1), secret_no(&e2), "one X multiplexed");
        let ext2 = e2["SecretBindDTO"]["Extension"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(ext2.len(), 3);
        assert_ne!(
            e1["SecretBindDTO"]["Extension"],
            e2["SecretBindDTO"]["Extension"]
        );
        assert_eq!(
            m.route("13999999999", &secret_no(&e2), Some(&ext2), now())
                .peer,
            "13100000002"
        );
        assert_eq!(
            m.route("13999999999", "17000000019", None, now()).call_type,
            4
        );
    }

    #[test]
    fn every_kind_of_bind_checks_its_params_and_a_failure_spends_no_subs_id() {
        let mut m = Model::new(&default_pools());
        let base = [
            ("PoolKey", DEFAULT_POOL_KEY),
            ("PhoneNoA", "13100000001"),
            ("Expiration", "2018-08-05 12:00:00"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut p = base.to_vec();
            p.extend_from_slice(extra);
            params(&p)
        };
        let code = |r: ActionResult| r.unwrap_err().code;
        assert_eq!(
            code(m.bind_axb(&axb("13100000001", "13100000001", &[]), now())),
            "isv.INVALID_PARAMETERS"
        );
        assert_eq!(
            code(m.bind_axn(&with(&[("PhoneNoB", "123")]), now())),
            "isv.MOBILE_NUMBER_ILLEGAL"
        );
        assert_eq!(
            code(m.bind_axn_extension(&with(&[("Extension", "12345")]), now())),
            "isv.INVALID_PARAMETERS"
        );
        assert_eq!(
            code(m.bind_axn(&with(&[("CallRestrict", "NOPE")]), now())),
            "isv.INVALID_PARAMETERS"
        );
        assert_eq!(
            code(m.bind_axn(&with(&[("IsRecordingEnabled", "maybe")]), now())),
            "isv.INVALID_PARAMETERS"
        );
        let first = m
            .bind_axn_extension(&with(&[("Extension", "7")]), now())
            .unwrap();
        assert_eq!(subs_id(&first), "1000000000001", "failures spent no SubsId");
        assert_eq!(first["SecretBindDTO"]["Extension"], "7");
        let mut other = base.to_vec();
        other[1] = ("PhoneNoA", "13100000002");
        other.push(("Extension", "7"));
        assert_eq!(
            code(m.bind_axn_extension(&params(&other), now())),
            "isv.BIND_CONFLICT"
        );
        let axn = m.bind_axn(&with(&[]), now()).unwrap();
        assert_eq!(axn["SecretBindDTO"]["Extension"], "");
        assert_ne!(secret_no(&axn), secret_no(&first), "an AXN X is A's alone");
    }

    #[test]
    fn one_x_serves_at_most_200_axb_pairs() {
        let mut m = small_pool(2);
        let bind = |m: &mut Model, n: usize, x: Option<&str>| {
            let a = format!("131{n:08}");
            let b = format!("132{n:08}");
            let mut p = axb(&a, &b, &[]);
            p.set("PoolKey", "P");
            if let Some(x) = x {
                p.set("PhoneNoX", x);
            }
            m.bind_axb(&p, now())
        };
        for n in 0..MAX_AXB_PAIRS_PER_X {
            let r = bind(&mut m, n, Some("17100000000")).unwrap();
            assert_eq!(secret_no(&r), "17100000000");
        }
        let err = bind(&mut m, 900, Some("17100000000")).unwrap_err();
        assert_eq!(err.code, "isv.NO_AVAILABLE_NUMBER");
        assert!(err.message.contains("200"), "{}", err.message);
        let next = bind(&mut m, 901, None).unwrap();
        assert_eq!(secret_no(&next), "17100000001", "a full X is skipped");
        let first: u64 = m.bindings.keys().next().copied().unwrap();
        m.bindings.get_mut(&first).unwrap().released = true;
        assert!(
            bind(&mut m, 902, Some("17100000000")).is_ok(),
            "a released pair frees a place"
        );
    }

    #[test]
    fn buy_and_release_numbers() {
        let mut m = Model::new(&default_pools());
        let r = m
            .buy_secret_no(&params(&[
                ("PoolKey", DEFAULT_POOL_KEY),
                ("SpecId", "1"),
                ("City", "成都"),
            ]))
            .unwrap();
        let x = r["SecretBuyInfoDTO"]["SecretNo"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(x.len(), 11);
        let bound = m
            .bind_axb(
                &axb("13100000001", "13100000002", &[("ExpectCity", "成都")]),
                now(),
            )
            .unwrap();
        assert_eq!(secret_no(&bound), x);
        let rel = params(&[("PoolKey", DEFAULT_POOL_KEY), ("SecretNo", &x)]);
        assert_eq!(
            m.release_secret_no(&rel, now()).unwrap_err().code,
            "isv.NO_USED_BY_OTHERS"
        );
        m.unbind(
            &params(&[("SubsId", &subs_id(&bound)), ("SecretNo", &x)]),
            now(),
        )
        .unwrap();
        m.release_secret_no(&rel, now()).unwrap();
        assert_eq!(
            m.release_secret_no(&rel, now()).unwrap_err().code,
            "isv.NO_NOT_EXIST"
        );
        assert_eq!(
            m.buy_secret_no(&params(&[
                ("PoolKey", DEFAULT_POOL_KEY),
                ("SpecId", "9"),
                ("City", "x")
            ]))
            .unwrap_err()
            .code,
            "isv.INVALID_PARAMETERS"
        );
    }
}
