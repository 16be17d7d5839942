//! The constructor's options object in, a core `ClientConfig` out.

use napi::sys::{self, napi_env, napi_value};
use napi::Result;

use pls_core::{ClientConfig, Credentials, Endpoints};

use crate::js;
use crate::params::{read_max_retries, read_timeouts};

/// Reads `{ accessKeyId, secretAccessKey, securityToken, endpoint,
/// dybaseEndpoint, mnsEndpoint, timeout, connectTimeout, readTimeout,
/// maxRetries }`,
/// falling back to the ALIBABA_CLOUD_* and PLS_ENDPOINT variables. Throws the
/// original's TypeErrors for missing credentials.
pub fn read_client_config(env: napi_env, options: Option<napi_value>) -> Result<ClientConfig> {
    let options = match options {
        Some(value)
            if !js::is_nullish(env, value)?
                && js::type_of(env, value)? == sys::ValueType::napi_object =>
        {
            Some(value)
        }
        _ => None,
    };
    let text = |key: &str| -> Result<Option<String>> {
        let Some(object) = options else {
            return Ok(None);
        };
        match js::get(env, object, key)? {
            value if js::is_truthy(env, value)? => Ok(Some(js::to_string(env, value)?)),
            _ => Ok(None),
        }
    };
    let env_var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());

    let Some(access_key_id) =
        text("accessKeyId")?.or_else(|| env_var("ALIBABA_CLOUD_ACCESS_KEY_ID"))
    else {
        return Err(js::throw_type_error(
            env,
            "parameter \"accessKeyId\" is required",
        ));
    };
    let Some(access_key_secret) =
        text("secretAccessKey")?.or_else(|| env_var("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
    else {
        return Err(js::throw_type_error(
            env,
            "parameter \"secretAccessKey\" is required",
        ));
    };
    let security_token = text("securityToken")?.or_else(|| env_var("ALIBABA_CLOUD_SECURITY_TOKEN"));

    let endpoints = Endpoints::resolve(
        text("endpoint")?.as_deref(),
        text("dybaseEndpoint")?.as_deref(),
        text("mnsEndpoint")?.as_deref(),
        env_var("PLS_ENDPOINT").as_deref(),
    )
    .map_err(|err| js::throw_type_error(env, &err.to_string()))?;

    let mut config = ClientConfig::new(Credentials {
        access_key_id,
        access_key_secret,
        security_token,
    });
    config.endpoints = endpoints;
    config.user_agent = format!(
        "{} pls-native/{}",
        config.user_agent,
        env!("CARGO_PKG_VERSION")
    );
    config.sdk_client = format!("pls-native: {}", env!("CARGO_PKG_VERSION"));
    if let Some(object) = options {
        let timeouts = read_timeouts(env, object)?;
        if let Some(connect) = timeouts.connect {
            config.connect_timeout = connect;
        }
        if let Some(read) = timeouts.read {
            config.read_timeout = read;
        }
        config.timeout = timeouts.total;
        match read_max_retries(env, object) {
            Ok(Some(retries)) => config.max_retries = retries,
            Ok(None) => {}
            Err(err) => return Err(js::throw_type_error(env, &err.reason)),
        }
    }
    Ok(config)
}
