//! What the JS side's debug log and diagnostics channels say about a
//! client: the host each service is reached at, and the proxy a call goes
//! through (never the keys, never a proxy's credentials).

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue};
use napi_derive::napi;
use pls_core::Service;

use crate::PlsClientBinding;

/// The `host[:port]` of each service this client calls, in the order
/// dyplsapi, dybaseapi, MNS.
// Only JS calls it; a `cargo test` build of the binding sees no caller.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn client_hosts(client: &PlsClientBinding) -> Vec<String> {
    let endpoints = &client.inner.config().endpoints;
    [Service::Dypls, Service::Dybase, Service::Mns]
        .into_iter()
        .map(|service| {
            let url = endpoints.of(service);
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or(url);
            host.to_owned()
        })
        .collect()
}

/// The proxy (`scheme://host:port`) a call to service `service` (0
/// dyplsapi, 1 dybaseapi, 2 MNS) goes through, with the call's `options`
/// (their `httpProxy`, `httpsProxy`, `noProxy`); `undefined` when it goes
/// direct or the options are not usable (the call itself says why).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn client_proxy(
    env: Env,
    client: &PlsClientBinding,
    service: u32,
    options: Option<Unknown<'_>>,
) -> Option<String> {
    let service = match service {
        0 => Service::Dypls,
        1 => Service::Dybase,
        _ => Service::Mns,
    };
    let call = match options {
        Some(options) if options.get_type().ok() == Some(napi::ValueType::Object) => {
            crate::params::read_proxy_options(env.raw(), options.raw())
                .ok()
                .filter(|proxy| !proxy.is_empty())
        }
        _ => None,
    };
    client
        .inner
        .proxy_for(service, call.as_ref())
        .ok()
        .flatten()
}
