//! The Aliyun number-privacy protection (dypls) SDK as a plain Rust library.
//!
//! It reproduces, byte for byte, the requests that the npm package
//! `@alicloud/pls-sdk` sends (pop-core RPC signing, version 2017-05-25) and
//! its success/error rules, over one pooled reqwest client. No Node here: the
//! napi binding in the workspace root is a thin layer over this crate.

// SdkError carries the whole reply of a failed call (the original's
// `err.data`); failures are rare, so it stays unboxed rather than costing an
// allocation per error.
#![allow(clippy::result_large_err)]

pub mod action;
pub mod client;
pub mod config;
pub mod encode;
pub mod error;
pub mod http;
pub mod jsvalue;
pub mod mns;
pub mod params;
pub mod queue;
pub mod response;
pub mod retry;
pub mod rpc;
pub mod signer;
pub mod timefmt;

pub use action::{Action, ACTIONS};
pub use client::PlsClient;
pub use config::{ClientConfig, Credentials, Endpoints, Service};
pub use error::{HttpEntry, SdkError};
pub use mns::{MnsCredentials, MnsReply};
pub use params::ParamValue;
pub use queue::{decode_message_body, MessageType};
pub use rpc::{CallOptions, RpcRequest};
