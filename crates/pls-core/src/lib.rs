//! The Aliyun number-privacy protection (dypls) SDK as a plain Rust library.
//!
//! It reproduces, byte for byte, the requests that the npm package
//! `@alicloud/pls-sdk` sends (pop-core RPC signing, version 2017-05-25) and
//! its success/error rules, over pooled reqwest clients shared by
//! configuration. No Node here: the napi binding in the workspace root is a
//! thin layer over this crate.

// SdkError carries the whole reply of a failed call (the original's
// `err.data`); failures are rare, so it stays unboxed rather than costing an
// allocation per error.
#![allow(clippy::result_large_err)]

mod action;
// Written by scripts/generate-api.js, one line per action: left as generated.
#[rustfmt::skip]
mod actions_generated;
mod client;
mod config;
pub mod credentials;
mod digest;
mod encode;
mod error;
mod http;
mod jsvalue;
mod message_type;
mod mns;
mod params;
mod proxy;
mod queue;
mod response;
mod retry;
mod rpc;
mod signer;
mod signer_acs3;
#[cfg(test)]
mod test_support;
mod timefmt;
mod tls;
mod token_cache;
mod transport;

// The public API: what the Node binding needs, and nothing of how it is done.
pub use action::{by_method, Action};
pub use client::{Attempted, PlsClient, PreparedCall};
pub use config::{ClientConfig, Credentials, Endpoints, Service, SignatureAlgorithm};
pub use credentials::{
    CredentialSource, DefaultChain, Environment, ProvideCredentials, SuppliedCredentials,
};
pub use error::{HttpEntry, SdkError, TimeoutPhase};
pub use jsvalue::{classify_number, JsNumber};
pub use mns::MnsReply;
pub use params::ParamValue;
pub use proxy::ProxyOptions;
pub use queue::{check_queue_name, check_receive_args, decode_message_body, MessageType};
pub use response::Success;
pub use rpc::{CallOptions, RpcRequest, SignedRequest};
pub use transport::POOL_IDLE_TIMEOUT;
