//! Blacklists of a pool: point-to-point pairs (with a direction) and
//! numbers barred from the whole pool. Simulated calls they cover are refused.

use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::{invalid, need, opt};
use crate::action_result::ActionResult;
use crate::dypls::{validate_phone, Model};
use crate::params::Params;

const POINT_TO_POINT: &str = "POINT_TO_POINT_BLACK";
const POOL_WIDE: &str = "PARTNER_GLOBAL_NUMBER_BLACK";

/// One blacklist entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub pool_key: String,
    pub black_type: String,
    /// One number (pool-wide) or `first:second` (point to point).
    pub black_no: String,
    /// DUPLEX_REJECT (default), PHONEA_REJECT or PHONEB_REJECT.
    pub way_control: String,
}

/// Why a call was refused, for its receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The entry's BlackType.
    pub black_type: String,
    /// The entry's BlackNo.
    pub black_no: String,
}

impl Entry {
    /// Whether this entry refuses a call from `caller` to `callee` in `pool_key`.
    fn refuses(&self, pool_key: &str, caller: &str, callee: &str) -> bool {
        if self.pool_key != pool_key {
            return false;
        }
        if self.black_type == POOL_WIDE {
            return self.black_no == caller;
        }
        let Some((first, second)) = self.black_no.split_once(':') else {
            return false;
        };
        let first_calls_second = caller == first && callee == second;
        let second_calls_first = caller == second && callee == first;
        match self.way_control.as_str() {
            // The first may call the second, not the other way round.
            "PHONEA_REJECT" => second_calls_first,
            // The second may call the first, not the other way round.
            "PHONEB_REJECT" => first_calls_second,
            _ => first_calls_second || second_calls_first,
        }
    }
}

impl Model {
    /// The blacklist entry that refuses a call from `caller` to `callee`
    /// routed through `pool_key`, if any.
    pub fn blacklist_refusal(&self, pool_key: &str, caller: &str, callee: &str) -> Option<Refusal> {
        self.extra
            .blacklist
            .iter()
            .find(|e| e.refuses(pool_key, caller, callee))
            .map(|e| Refusal {
                black_type: e.black_type.clone(),
                black_no: e.black_no.clone(),
            })
    }
}

/// Checks BlackType, BlackNo and WayControl together.
fn read_entry(model: &Model, p: &Params) -> Result<Entry, crate::action_result::BizError> {
    let pool_key = need(p, "PoolKey")?;
    model.pool(pool_key)?;
    let black_type = need(p, "BlackType")?;
    let black_no = need(p, "BlackNo")?;
    let way_control = opt(p, "WayControl").unwrap_or("");
    match black_type {
        POINT_TO_POINT => {
            let Some((first, second)) = black_no.split_once(':') else {
                return Err(invalid(
                    "a point-to-point BlackNo is two numbers joined by ':'",
                ));
            };
            validate_phone(first)?;
            validate_phone(second)?;
            if !matches!(
                way_control,
                "" | "DUPLEX_REJECT" | "PHONEA_REJECT" | "PHONEB_REJECT"
            ) {
                return Err(invalid(format!("WayControl {way_control}")));
            }
        }
        POOL_WIDE => {
            validate_phone(black_no)?;
            if !way_control.is_empty() {
                return Err(invalid("WayControl is for point-to-point blacklists only"));
            }
        }
        other => return Err(invalid(format!("BlackType {other}"))),
    }
    Ok(Entry {
        pool_key: pool_key.to_string(),
        black_type: black_type.to_string(),
        black_no: black_no.to_string(),
        way_control: way_control.to_string(),
    })
}

fn same_list(a: &Entry, b: &Entry) -> bool {
    a.pool_key == b.pool_key && a.black_type == b.black_type && a.black_no == b.black_no
}

/// AddSecretBlacklist: adds (or re-adds, updating its direction) an entry.
pub fn add(model: &mut Model, p: &Params) -> ActionResult {
    let entry = read_entry(model, p)?;
    model.extra.blacklist.retain(|e| !same_list(e, &entry));
    model.extra.blacklist.push(entry);
    Ok(Map::new())
}

/// DeleteSecretBlacklist: removes an entry; one that is absent is an error.
pub fn delete(model: &mut Model, p: &Params) -> ActionResult {
    let entry = read_entry(model, p)?;
    let before = model.extra.blacklist.len();
    model.extra.blacklist.retain(|e| !same_list(e, &entry));
    if model.extra.blacklist.len() == before {
        return Err(invalid(format!("{} is not blacklisted", entry.black_no)));
    }
    Ok(Map::new())
}

/// OperateBlackNo: AddBlack / DeleteBlack of a pool-wide number.
pub fn operate(model: &mut Model, p: &Params) -> ActionResult {
    let pool_key = need(p, "PoolKey")?;
    model.pool(pool_key)?;
    let number = need(p, "BlackNo")?;
    validate_phone(number)?;
    let entry = Entry {
        pool_key: pool_key.to_string(),
        black_type: POOL_WIDE.to_string(),
        black_no: number.to_string(),
        way_control: String::new(),
    };
    match need(p, "OperateType")? {
        "AddBlack" => {
            model.extra.blacklist.retain(|e| !same_list(e, &entry));
            model.extra.blacklist.push(entry);
        }
        "DeleteBlack" => {
            let before = model.extra.blacklist.len();
            model.extra.blacklist.retain(|e| !same_list(e, &entry));
            if model.extra.blacklist.len() == before {
                return Err(invalid(format!("{number} is not blacklisted")));
            }
        }
        other => return Err(invalid(format!("OperateType {other}"))),
    }
    Ok(Map::new())
}
