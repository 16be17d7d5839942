//! The constructor's options object in, a core `ClientConfig` out.

use std::sync::Arc;

use napi::sys::{self, napi_env, napi_value};
use napi::Result;

use pls_core::{
    ClientConfig, CredentialSource, Credentials, DefaultChain, Endpoints, Environment,
    SignatureAlgorithm, SuppliedCredentials,
};

use crate::credentials::JsCredentials;
use crate::js;
use crate::params::{read_max_retries, read_proxy_options, read_timeouts};

/// Reads `{ accessKeyId, secretAccessKey, securityToken, credentials,
/// signatureAlgorithm, endpoint, dybaseEndpoint, mnsEndpoint, stsEndpoint,
/// metadataEndpoint, timeout, connectTimeout, readTimeout, keepAlive,
/// maxIdleConns, httpProxy, httpsProxy, noProxy }`, falling back to
/// the ALIBABA_CLOUD_* and PLS_* variables. Keys passed win; then a
/// `credentials` provider; then the default chain, which is consulted at the
/// first call. Throws the original's TypeError when one of the two keys is
/// passed without the other.
pub fn read_client_config(
    env: napi_env,
    options: Option<napi_value>,
) -> Result<(ClientConfig, Option<JsCredentials>)> {
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

    let mut js_credentials = None;
    let credentials = match (text("accessKeyId")?, text("secretAccessKey")?) {
        (Some(access_key_id), Some(access_key_secret)) => {
            let security_token =
                text("securityToken")?.or_else(|| env_var("ALIBABA_CLOUD_SECURITY_TOKEN"));
            CredentialSource::Static(Credentials {
                access_key_id,
                access_key_secret,
                security_token,
            })
        }
        (Some(_), None) => {
            return Err(js::throw_type_error(
                env,
                "parameter \"secretAccessKey\" is required",
            ))
        }
        (None, Some(_)) => {
            return Err(js::throw_type_error(
                env,
                "parameter \"accessKeyId\" is required",
            ))
        }
        (None, None) => {
            let supplied = Arc::new(SuppliedCredentials::default());
            js_credentials = JsCredentials::read(env, options, &supplied)?;
            if js_credentials.is_some() {
                CredentialSource::Provider(supplied)
            } else {
                default_chain(env, &text)?
            }
        }
    };

    let endpoints = Endpoints::resolve(
        text("endpoint")?.as_deref(),
        text("dybaseEndpoint")?.as_deref(),
        text("mnsEndpoint")?.as_deref(),
        env_var("PLS_ENDPOINT").as_deref(),
    )
    .map_err(|err| js::throw_type_error(env, &err.to_string()))?;

    let mut config = ClientConfig::new(credentials);
    config.endpoints = endpoints;
    if let Some(algorithm) = text("signatureAlgorithm")? {
        config.signature_algorithm = SignatureAlgorithm::parse(&algorithm)
            .map_err(|err| js::throw_type_error(env, &err.to_string()))?;
    }
    config.user_agent = format!(
        "{} pls-native/{}",
        config.user_agent,
        env!("CARGO_PKG_VERSION")
    );
    config.sdk_client = format!("pls-native: {}", env!("CARGO_PKG_VERSION"));
    if let Some(object) = options {
        config.extra_ca = read_ca(env, object)?;
        read_wire_options(env, object, &mut config)?;
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
    Ok((config, js_credentials))
}

/// The environment's key when it has one (read once, then signed with no
/// lookup per call), else the rest of the default chain. STS and instance
/// metadata follow `stsEndpoint` / `metadataEndpoint`, then
/// `PLS_STS_ENDPOINT` / `PLS_METADATA_ENDPOINT`, then `PLS_ENDPOINT` (one
/// emulator serving everything).
fn default_chain(
    env: napi_env,
    text: &dyn Fn(&str) -> Result<Option<String>>,
) -> Result<CredentialSource> {
    let mut environment = Environment::from_process();
    if let Ok(credentials) = pls_core::credentials::env::from_environment(&environment) {
        return Ok(CredentialSource::Static(credentials));
    }
    let env_var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let endpoint = |option: &str, variable: &str| -> Result<Option<String>> {
        match text(option)?
            .or_else(|| env_var(variable))
            .or_else(|| env_var("PLS_ENDPOINT"))
        {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Ok(Some(url)),
            Some(url) => Err(js::throw_type_error(
                env,
                &format!("option \"{option}\" must be an http:// or https:// URL, got {url:?}"),
            )),
            None => Ok(None),
        }
    };
    environment.sts_endpoint = endpoint("stsEndpoint", "PLS_STS_ENDPOINT")?;
    environment.metadata_endpoint = endpoint("metadataEndpoint", "PLS_METADATA_ENDPOINT")?;
    Ok(CredentialSource::Provider(Arc::new(DefaultChain::new(
        &environment,
    ))))
}

/// The `ca` option: one PEM text or an array of them (Node's `tls` option of
/// the same name); anything else is a TypeError.
fn read_ca(env: napi_env, options: napi_value) -> Result<Vec<String>> {
    let value = js::get(env, options, "ca")?;
    if js::is_nullish(env, value)? {
        return Ok(Vec::new());
    }
    let as_pem = |item: napi_value| -> Result<String> {
        if js::type_of(env, item)? != sys::ValueType::napi_string {
            return Err(js::throw_type_error(
                env,
                "option \"ca\" must be a PEM string or an array of PEM strings",
            ));
        }
        js::read_string(env, item)
    };
    if !js::is_array(env, value)? {
        return Ok(vec![as_pem(value)?]);
    }
    (0..js::array_length(env, value)?)
        .map(|index| as_pem(js::element(env, value, index)?))
        .collect()
}

/// The pool and proxy options, with the names of Aliyun's runtime options:
/// `keepAlive` (a boolean), `maxIdleConns` (a whole number), `httpProxy`,
/// `httpsProxy`, `noProxy`; a value that cannot work is a TypeError.
fn read_wire_options(env: napi_env, options: napi_value, config: &mut ClientConfig) -> Result<()> {
    let keep_alive = js::get(env, options, "keepAlive")?;
    if !js::is_nullish(env, keep_alive)? {
        if js::type_of(env, keep_alive)? != sys::ValueType::napi_boolean {
            return Err(js::throw_type_error(
                env,
                "option \"keepAlive\" must be a boolean",
            ));
        }
        config.keep_alive = js::is_truthy(env, keep_alive)?;
    }
    let max_idle = js::get(env, options, "maxIdleConns")?;
    if !js::is_nullish(env, max_idle)? {
        match js::number(env, max_idle)? {
            Some(n) if n.fract() == 0.0 && (0.0..=65_535.0).contains(&n) => {
                config.max_idle_conns = Some(n as usize)
            }
            _ => {
                return Err(js::throw_type_error(
                    env,
                    "option \"maxIdleConns\" must be a whole number from 0 to 65535",
                ))
            }
        }
    }
    config.proxy =
        read_proxy_options(env, options).map_err(|err| js::throw_type_error(env, &err.reason))?;
    Ok(())
}
