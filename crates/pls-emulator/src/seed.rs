//! Seeds: the emulator's starting state in one JSON document (a file or an
//! object): the account, extra keys, pools with their X numbers (listed, or
//! so many per city), bindings made at start, the business clock and the
//! QPS limits. The options given beside a seed win over it; without either,
//! the defaults hold (the demo pool, account `1234567890`, real time).
//! A seed's bindings are made by the model's own bind actions, so a seed
//! obeys the same rules a client does, and a bad one says which binding
//! failed and why.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;

use crate::clock::parse_beijing;
use crate::dypls::{validate_phone, Model};
use crate::flow_limit::FlowLimitsOption;
use crate::params::Params;
use crate::{
    EmulatorConfig, EmulatorError, KeyPair, PoolConfig, SecretNumberConfig, DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
};

/// The account used when neither the options nor the seed name one.
pub const DEFAULT_ACCOUNT: &str = "1234567890";

/// Where a seed comes from: a file path, or the document itself.
#[derive(Debug, Clone)]
pub enum SeedSource {
    /// A JSON file, read at start.
    Path(String),
    /// The document.
    Inline(Box<Seed>),
}

impl<'de> Deserialize<'de> for SeedSource {
    /// A string is a path, an object the seed; an object's own error
    /// (an unknown key, a wrong type) is reported as it is.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(path) => Ok(SeedSource::Path(path)),
            value @ serde_json::Value::Object(_) => Seed::deserialize(value)
                .map(|seed| SeedSource::Inline(Box::new(seed)))
                .map_err(|e| D::Error::custom(format!("seed: {e}"))),
            _ => Err(D::Error::custom(
                "seed must be a file path or a seed object",
            )),
        }
    }
}

/// A seed document. Unknown keys are refused, so a typo is an error
/// rather than a silently ignored line.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// The MNS account in queue names.
    pub account: Option<String>,
    /// Accepted key pairs besides the demo pair.
    #[serde(default)]
    pub keys: Vec<KeyPair>,
    /// Replaces the default pool set.
    pub pools: Option<Vec<SeedPool>>,
    /// Bindings made at start, in order.
    #[serde(default)]
    pub bindings: Vec<SeedBinding>,
    /// Business clock start, `YYYY-MM-DD HH:mm:ss` Beijing time.
    pub clock: Option<String>,
    /// QPS limits: `true` for the documented ones, or `{Action: qps}`.
    pub flow_limits: Option<FlowLimitsOption>,
}

/// A pool in a seed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPool {
    pub pool_key: String,
    /// Numbers listed one by one.
    #[serde(default)]
    pub numbers: Vec<SecretNumberConfig>,
    /// So many generated numbers per city, `{"北京": 5}`, in the order given.
    #[serde(default, deserialize_with = "cities_in_order")]
    pub cities: Vec<(String, u32)>,
}

/// A binding in a seed, made as the matching bind action would make it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedBinding {
    /// `AXB` (default), `AXN` or `AXN_EXTENSION`.
    pub kind: Option<String>,
    /// Default: the first pool.
    pub pool_key: Option<String>,
    pub phone_no_a: String,
    pub phone_no_b: Option<String>,
    pub phone_no_x: Option<String>,
    /// `YYYY-MM-DD HH:mm:ss` Beijing time ...
    pub expiration: Option<String>,
    /// ... or so many seconds after the start.
    pub expires_in_seconds: Option<i64>,
    pub expect_city: Option<String>,
    pub extension: Option<String>,
    pub out_id: Option<String>,
    pub is_recording_enabled: Option<bool>,
    pub call_restrict: Option<String>,
}

/// A `{city: count}` object as pairs in the order written.
fn cities_in_order<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, u32)>, D::Error> {
    use serde::de::Error;
    serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?
        .into_iter()
        .map(|(city, count)| match count.as_u64() {
            Some(n) if n <= 100_000 => Ok((city, n as u32)),
            _ => Err(D::Error::custom(format!(
                "cities.{city} must be a count from 0 to 100000, got {count}"
            ))),
        })
        .collect()
}

/// The effective starting point: options over seed over defaults.
#[derive(Debug)]
pub struct Setup {
    pub account: String,
    pub keys: HashMap<String, String>,
    pub pools: Vec<PoolConfig>,
    /// Business clock start, epoch ms; None for real time.
    pub clock: Option<i64>,
    pub bindings: Vec<SeedBinding>,
    pub flow_limits: Option<FlowLimitsOption>,
}

fn config_error(message: impl Into<String>) -> EmulatorError {
    EmulatorError::Config(message.into())
}

/// Reads a seed from its source.
pub fn load(source: &SeedSource) -> Result<Seed, EmulatorError> {
    match source {
        SeedSource::Inline(seed) => Ok((**seed).clone()),
        SeedSource::Path(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| config_error(format!("cannot read seed file {path}: {e}")))?;
            serde_json::from_str(&text)
                .map_err(|e| config_error(format!("seed file {path} is not a valid seed: {e}")))
        }
    }
}

fn parse_clock(text: &str) -> Result<i64, EmulatorError> {
    parse_beijing(text).ok_or_else(|| {
        config_error(format!(
            "clock must be YYYY-MM-DD HH:mm:ss (Beijing time), got {text:?}"
        ))
    })
}

/// Expands a seed pool's per-city counts into numbers `172` + 8 digits,
/// skipping any number already taken.
fn expand_pools(
    pools: Vec<SeedPool>,
    taken: &mut BTreeSet<String>,
) -> Result<Vec<PoolConfig>, EmulatorError> {
    let mut serial: u64 = 0;
    let mut out = Vec::with_capacity(pools.len());
    for pool in pools {
        if pool.pool_key.is_empty() {
            return Err(config_error("every seed pool needs a poolKey"));
        }
        let mut numbers = pool.numbers;
        for (city, count) in pool.cities {
            for _ in 0..count {
                let number = loop {
                    serial += 1;
                    if serial >= 100_000_000 {
                        return Err(config_error("a seed asks for more numbers than fit"));
                    }
                    let candidate = format!("172{serial:08}");
                    if !taken.contains(&candidate) {
                        break candidate;
                    }
                };
                taken.insert(number.clone());
                numbers.push(SecretNumberConfig {
                    number,
                    city: city.clone(),
                });
            }
        }
        out.push(PoolConfig {
            pool_key: pool.pool_key,
            numbers,
        });
    }
    Ok(out)
}

/// Pool keys unique, numbers valid and each in one pool only.
fn check_pools(pools: &[PoolConfig]) -> Result<(), EmulatorError> {
    let mut keys = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for pool in pools {
        if !keys.insert(pool.pool_key.as_str()) {
            return Err(config_error(format!(
                "pool {} is listed twice",
                pool.pool_key
            )));
        }
        for n in &pool.numbers {
            validate_phone(&n.number).map_err(|_| {
                config_error(format!(
                    "pool {}: {:?} is not a phone number",
                    pool.pool_key, n.number
                ))
            })?;
            if !numbers.insert(n.number.as_str()) {
                return Err(config_error(format!(
                    "number {} is in more than one pool",
                    n.number
                )));
            }
        }
    }
    Ok(())
}

impl Setup {
    /// Options first, then the seed, then the defaults.
    pub fn resolve(config: &EmulatorConfig) -> Result<Setup, EmulatorError> {
        let seed = match &config.seed {
            Some(source) => load(source)?,
            None => Seed::default(),
        };
        let clock = match config.clock.as_deref().or(seed.clock.as_deref()) {
            Some(text) => Some(parse_clock(text)?),
            None => None,
        };
        let pools = match (&config.pools, seed.pools) {
            (Some(pools), _) => pools.clone(),
            (None, Some(seed_pools)) => {
                let mut taken: BTreeSet<String> = seed_pools
                    .iter()
                    .flat_map(|p| p.numbers.iter().map(|n| n.number.clone()))
                    .collect();
                let pools = expand_pools(seed_pools, &mut taken)?;
                check_pools(&pools)?;
                pools
            }
            (None, None) => crate::dypls::default_pools(),
        };
        let mut keys: HashMap<String, String> = seed
            .keys
            .iter()
            .chain(config.keys.iter())
            .filter(|k| !k.access_key_id.is_empty())
            .map(|k| (k.access_key_id.clone(), k.access_key_secret.clone()))
            .collect();
        keys.insert(DEMO_ACCESS_KEY_ID.into(), DEMO_ACCESS_KEY_SECRET.into());
        let account = config
            .account
            .clone()
            .filter(|a| !a.is_empty())
            .or(seed.account.filter(|a| !a.is_empty()))
            .unwrap_or_else(|| DEFAULT_ACCOUNT.into());
        Ok(Setup {
            account,
            keys,
            pools,
            clock,
            bindings: seed.bindings,
            flow_limits: config.flow_limits.clone().or(seed.flow_limits),
        })
    }

    /// The model at start: the pools, then each seed binding made at
    /// business time `now_ms`.
    pub fn model(&self, now_ms: i64) -> Result<Model, EmulatorError> {
        let mut model = Model::new(&self.pools);
        for (index, binding) in self.bindings.iter().enumerate() {
            bind(&mut model, &self.pools, binding, now_ms).map_err(|why| {
                config_error(format!(
                    "seed binding #{} ({} {}): {why}",
                    index + 1,
                    binding.kind.as_deref().unwrap_or("AXB"),
                    binding.phone_no_a
                ))
            })?;
        }
        Ok(model)
    }
}

/// Makes one seed binding through the bind action of its kind.
fn bind(
    model: &mut Model,
    pools: &[PoolConfig],
    b: &SeedBinding,
    now_ms: i64,
) -> Result<(), String> {
    let expiration = match (&b.expiration, b.expires_in_seconds) {
        (Some(text), _) => text.clone(),
        (None, Some(seconds)) => {
            crate::clock::format_beijing(now_ms + seconds.saturating_mul(1000))
        }
        (None, None) => return Err("give expiration or expiresInSeconds".into()),
    };
    let pool_key = match (&b.pool_key, pools.first()) {
        (Some(key), _) => key.clone(),
        (None, Some(pool)) => pool.pool_key.clone(),
        (None, None) => return Err("there is no pool to bind in".into()),
    };
    let recording = b.is_recording_enabled.map(|r| r.to_string());
    let pairs: [(&str, Option<&str>); 9] = [
        ("PoolKey", Some(&pool_key)),
        ("PhoneNoA", Some(&b.phone_no_a)),
        ("PhoneNoB", b.phone_no_b.as_deref()),
        ("PhoneNoX", b.phone_no_x.as_deref()),
        ("Expiration", Some(&expiration)),
        ("ExpectCity", b.expect_city.as_deref()),
        ("Extension", b.extension.as_deref()),
        ("OutId", b.out_id.as_deref()),
        ("IsRecordingEnabled", recording.as_deref()),
    ];
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            form.append_pair(key, value);
        }
    }
    if let Some(restrict) = b.call_restrict.as_deref() {
        form.append_pair("CallRestrict", restrict);
    }
    let form = form.finish();
    let mut params = Params::default();
    params.extend_from_form(form.as_bytes());
    let result = match b
        .kind
        .as_deref()
        .unwrap_or("AXB")
        .to_ascii_uppercase()
        .as_str()
    {
        "AXB" => model.bind_axb(&params, now_ms),
        "AXN" => model.bind_axn(&params, now_ms),
        "AXN_EXTENSION" => model.bind_axn_extension(&params, now_ms),
        other => {
            return Err(format!(
                "kind must be AXB, AXN or AXN_EXTENSION, got {other:?}"
            ))
        }
    };
    result
        .map(|_| ())
        .map_err(|e| format!("{} {}", e.code, e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: serde_json::Value) -> EmulatorConfig {
        EmulatorConfig {
            seed: Some(serde_json::from_value(seed).unwrap()),
            ..EmulatorConfig::default()
        }
    }

    #[test]
    fn a_seed_sets_pools_keys_account_clock_and_bindings() {
        let setup = Setup::resolve(&config(serde_json::json!({
            "account": "42",
            "keys": [{"accessKeyId": "k", "accessKeySecret": "s"}],
            "clock": "2018-08-01 00:00:00",
            "pools": [{"poolKey": "P1", "numbers": [{"number": "17200000001", "city": "北京"}], "cities": {"上海": 2}}],
            "bindings": [
                {"phoneNoA": "13100000001", "phoneNoB": "13100000002", "expectCity": "上海", "expiresInSeconds": 3600},
                {"kind": "AXN", "phoneNoA": "13100000003", "expiration": "2018-08-05 12:00:00", "outId": "o-1"}
            ]
        })))
        .unwrap();
        assert_eq!(setup.account, "42");
        assert_eq!(setup.keys["k"], "s");
        assert!(setup.keys.contains_key(DEMO_ACCESS_KEY_ID));
        let numbers: Vec<&str> = setup.pools[0]
            .numbers
            .iter()
            .map(|n| n.number.as_str())
            .collect();
        assert_eq!(
            numbers,
            ["17200000001", "17200000002", "17200000003"],
            "the listed number is skipped"
        );
        let ordered: Seed = serde_json::from_value(
            serde_json::json!({"pools": [{"poolKey": "P", "cities": {"北京": 1, "上海": 1}}]}),
        )
        .unwrap();
        assert_eq!(
            ordered.pools.unwrap()[0].cities[0].0,
            "北京",
            "cities keep the order written"
        );
        let now = setup.clock.unwrap();
        let model = setup.model(now).unwrap();
        let bindings: Vec<_> = model.bindings().collect();
        assert_eq!(bindings.len(), 2);
        assert_eq!(bindings[0].secret_no, "17200000002", "ExpectCity 上海");
        assert_eq!(bindings[0].expire_date, "2018-08-01 01:00:00");
        assert_eq!(bindings[1].out_id, "o-1");
    }

    #[test]
    fn options_win_over_the_seed() {
        let mut c = config(serde_json::json!({"account": "1", "clock": "2018-08-01 00:00:00"}));
        c.account = Some("2".into());
        c.clock = Some("2020-01-01 00:00:00".into());
        let setup = Setup::resolve(&c).unwrap();
        assert_eq!(setup.account, "2");
        assert_eq!(setup.clock, parse_beijing("2020-01-01 00:00:00"));
        assert_eq!(setup.pools[0].pool_key, crate::dypls::DEFAULT_POOL_KEY);
    }

    #[test]
    fn bad_seeds_say_what_is_wrong() {
        let err = |seed: serde_json::Value| {
            let c = config(seed);
            match Setup::resolve(&c).and_then(|s| s.model(s.clock.unwrap_or(0))) {
                Ok(_) => panic!("accepted"),
                Err(e) => e.to_string(),
            }
        };
        let conflict = err(serde_json::json!({
            "clock": "2018-08-01 00:00:00",
            "pools": [{"poolKey": "P", "numbers": [{"number": "17200000001", "city": "北京"}]}],
            "bindings": [
                {"phoneNoA": "13100000001", "phoneNoB": "13100000002", "expiresInSeconds": 3600},
                {"phoneNoA": "13100000001", "phoneNoB": "13100000003", "expiresInSeconds": 3600}
            ]
        }));
        assert!(
            conflict.contains("seed binding #2") && conflict.contains("isv.NO_AVAILABLE_NUMBER"),
            "{conflict}"
        );
        let dup = err(serde_json::json!({"pools": [
            {"poolKey": "P", "numbers": [{"number": "17200000001", "city": "x"}]},
            {"poolKey": "Q", "numbers": [{"number": "17200000001", "city": "x"}]}
        ]}));
        assert!(dup.contains("more than one pool"), "{dup}");
        let no_expiry = err(
            serde_json::json!({"bindings": [{"phoneNoA": "13100000001", "phoneNoB": "13100000002"}]}),
        );
        assert!(no_expiry.contains("expiresInSeconds"), "{no_expiry}");
        let unknown = serde_json::from_value::<SeedSource>(serde_json::json!({"pool": []}))
            .err()
            .unwrap()
            .to_string();
        assert!(
            unknown.contains("unknown field `pool`"),
            "a misspelt key is named: {unknown}"
        );
        let count = serde_json::from_value::<SeedSource>(
            serde_json::json!({"pools": [{"poolKey": "P", "cities": {"x": -1}}]}),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(count.contains("cities.x"), "{count}");
        let missing = Setup::resolve(&EmulatorConfig {
            seed: Some(SeedSource::Path("no-such-seed-file.json".into())),
            ..EmulatorConfig::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(missing.contains("cannot read seed file"), "{missing}");
    }
}
