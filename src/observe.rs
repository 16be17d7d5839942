//! What the JS side's debug log and diagnostics channels say about a
//! client: the host each service is reached at (never the keys).

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
