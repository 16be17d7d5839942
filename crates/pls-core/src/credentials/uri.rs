//! `ALIBABA_CLOUD_CREDENTIALS_URI`: a local service that answers GET with
//! `{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration }`.

use serde_json::Value;

use crate::credentials::sts::{exchange, fetched_from, STS_CONNECT_TIMEOUT, STS_READ_TIMEOUT};
use crate::credentials::{failed, BoxFuture, Environment, FetchCredentials, Fetched};
use crate::error::SdkError;

/// The credentials URI source.
#[derive(Debug, Clone)]
pub struct CredentialsUri {
    uri: String,
}

impl CredentialsUri {
    /// The URI this environment names, or why there is none.
    pub fn from_environment(env: &Environment) -> Result<Self, String> {
        env.var("ALIBABA_CLOUD_CREDENTIALS_URI")
            .map(|uri| CredentialsUri {
                uri: uri.to_owned(),
            })
            .ok_or_else(|| "ALIBABA_CLOUD_CREDENTIALS_URI is not set".into())
    }
}

impl FetchCredentials for CredentialsUri {
    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SdkError>> {
        Box::pin(async move {
            let reply = exchange(
                "credentials URI",
                "GET",
                &self.uri,
                Vec::new(),
                None,
                STS_CONNECT_TIMEOUT,
                STS_READ_TIMEOUT,
            )
            .await
            .map_err(|err| failed(format!("credentials URI: {err}")))?;
            if reply.status != 200 {
                return Err(failed(format!(
                    "credentials URI answered HTTP {}",
                    reply.status
                )));
            }
            let json: Value = serde_json::from_slice(&reply.body)
                .map_err(|_| failed("credentials URI: the answer is not JSON".into()))?;
            fetched_from("credentials URI", &json)
        })
    }
}
