//! STS (API version 2015-04-01): `AssumeRole`, signed with a long-lived key
//! (the CLI's and the INI file's RAM-role modes), and `AssumeRoleWithOIDC`,
//! which carries an OIDC token instead of a signature (RRSA on Kubernetes).
//! Both POST their role parameters as a form and answer `Credentials`.

use std::time::Duration;

use serde_json::Value;

use crate::config::Credentials;
use crate::credentials::{failed, from_fields, BoxFuture, Environment, FetchCredentials, Fetched};
use crate::encode::percent_encode;
use crate::error::SdkError;
use crate::http::{self, Exchange, Reply};
use crate::params::PairSet;
use crate::rpc::make_nonce;
use crate::signer::{canonical_query, encoded_signature};
use crate::timefmt::{parse_utc_ms, rpc_timestamp_now, unix_now_ms};
use crate::transport::Transport;

/// The STS API version.
pub const STS_VERSION: &str = "2015-04-01";
/// Connect and read timeouts of STS and credentials-URI requests (Aliyun's SDK defaults).
pub const STS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// See [`STS_CONNECT_TIMEOUT`].
pub const STS_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where STS is: the configured endpoint, else `sts[-vpc].<region>.aliyuncs.com`
/// when a region is known, else `sts.aliyuncs.com`.
pub fn sts_endpoint(env: &Environment, region: Option<&str>, vpc: bool) -> String {
    if let Some(endpoint) = &env.sts_endpoint {
        return endpoint.trim_end_matches('/').to_owned();
    }
    let region = region
        .filter(|r| !r.is_empty())
        .or_else(|| env.var("ALIBABA_CLOUD_STS_REGION"));
    let vpc = vpc || env.flag("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED");
    match region {
        Some(region) if vpc => format!("https://sts-vpc.{region}.aliyuncs.com"),
        Some(region) => format!("https://sts.{region}.aliyuncs.com"),
        None => "https://sts.aliyuncs.com".into(),
    }
}

/// A session name unique enough per process, when none is configured.
pub fn default_session_name() -> String {
    format!("pls-core-{}", unix_now_ms())
}

/// One exchange of the chain's own (STS, metadata, URI) on the default
/// transport: proxies from the environment, never for loopback or the
/// metadata address.
pub(crate) async fn exchange(
    what: &str,
    method: &str,
    url: &str,
    headers: Vec<(String, String)>,
    body: Option<String>,
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<Reply, SdkError> {
    let transport = Transport::environment()?;
    http::send(
        &transport,
        Exchange {
            action: what,
            method,
            url,
            headers: &headers,
            body: body.as_deref(),
            connect_timeout,
            read_timeout,
        },
    )
    .await
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `AssumeRole` with a long-lived key.
#[derive(Debug, Clone)]
pub struct AssumeRole {
    /// STS base URL.
    pub endpoint: String,
    /// The key that may assume the role.
    pub base: Credentials,
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `DurationSeconds`.
    pub duration_seconds: u32,
    /// An optional narrowing policy.
    pub policy: Option<String>,
    /// An optional `ExternalId`.
    pub external_id: Option<String>,
}

impl AssumeRole {
    /// The signed request: the common parameters and signature in the query,
    /// the role parameters in the form body, all of them signed together.
    pub fn request(&self, timestamp: &str, nonce: &str) -> (String, String) {
        let duration = self.duration_seconds.to_string();
        let mut role: Vec<(&str, &str)> = vec![
            ("RoleArn", &self.role_arn),
            ("RoleSessionName", &self.session_name),
            ("DurationSeconds", &duration),
        ];
        if let Some(policy) = &self.policy {
            role.push(("Policy", policy));
        }
        if let Some(external_id) = &self.external_id {
            role.push(("ExternalId", external_id));
        }
        let mut common: Vec<(&str, &str)> = vec![
            ("Version", STS_VERSION),
            ("Action", "AssumeRole"),
            ("Format", "JSON"),
            ("Timestamp", timestamp),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", nonce),
            ("AccessKeyId", &self.base.access_key_id),
        ];
        if let Some(token) = self
            .base
            .security_token
            .as_deref()
            .filter(|t| !t.is_empty())
        {
            common.push(("SecurityToken", token));
        }
        let mut all = PairSet::with_capacity(common.len() + role.len());
        for (k, v) in common.iter().chain(role.iter()) {
            all.set(*k, *v);
        }
        let signature = encoded_signature(
            &self.base.access_key_secret,
            "POST",
            &canonical_query(&all.into_sorted()),
        );
        let mut query = form(&common);
        query.push_str("&Signature=");
        query.push_str(&signature);
        (format!("{}/?{query}", self.endpoint), form(&role))
    }
}

impl FetchCredentials for AssumeRole {
    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SdkError>> {
        Box::pin(async move {
            let (url, body) = self.request(&rpc_timestamp_now(), &make_nonce());
            let reply = post_form("AssumeRole", &url, body).await?;
            parse_reply("STS AssumeRole", &reply)
        })
    }
}

/// `AssumeRoleWithOIDC`: the OIDC token file is read at every fetch, since
/// the platform rotates it.
#[derive(Debug, Clone)]
pub struct AssumeRoleWithOidc {
    /// STS base URL.
    pub endpoint: String,
    /// `ALIBABA_CLOUD_ROLE_ARN`.
    pub role_arn: String,
    /// `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`.
    pub provider_arn: String,
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE`.
    pub token_file: std::path::PathBuf,
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME`, or a generated one.
    pub session_name: String,
    /// `DurationSeconds`.
    pub duration_seconds: u32,
    /// An optional narrowing policy.
    pub policy: Option<String>,
}

impl AssumeRoleWithOidc {
    /// The request for `oidc_token`: no signature, the token proves who asks.
    pub fn request(&self, oidc_token: &str, timestamp: &str) -> (String, String) {
        let query = form(&[
            ("Version", STS_VERSION),
            ("Action", "AssumeRoleWithOIDC"),
            ("Format", "JSON"),
            ("Timestamp", timestamp),
        ]);
        let duration = self.duration_seconds.to_string();
        let mut body: Vec<(&str, &str)> = vec![
            ("OIDCProviderArn", &self.provider_arn),
            ("OIDCToken", oidc_token),
            ("RoleArn", &self.role_arn),
            ("RoleSessionName", &self.session_name),
            ("DurationSeconds", &duration),
        ];
        if let Some(policy) = &self.policy {
            body.push(("Policy", policy));
        }
        (format!("{}/?{query}", self.endpoint), form(&body))
    }
}

impl FetchCredentials for AssumeRoleWithOidc {
    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SdkError>> {
        Box::pin(async move {
            let token = crate::credentials::read_file(&self.token_file, "the OIDC token file")?;
            let (url, body) = self.request(token.trim(), &rpc_timestamp_now());
            let reply = post_form("AssumeRoleWithOIDC", &url, body).await?;
            parse_reply("STS AssumeRoleWithOIDC", &reply)
        })
    }
}

async fn post_form(action: &str, url: &str, body: String) -> Result<Reply, SdkError> {
    let headers = vec![
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("user-agent".to_owned(), crate::config::default_user_agent()),
    ];
    exchange(
        action,
        "POST",
        url,
        headers,
        Some(body),
        STS_CONNECT_TIMEOUT,
        STS_READ_TIMEOUT,
    )
    .await
    .map_err(|err| failed(format!("STS {action}: {err}")))
}

/// `Credentials` of an STS reply, or the service's Code and Message. The
/// body is never quoted whole: a successful one holds a secret.
pub fn parse_reply(what: &str, reply: &Reply) -> Result<Fetched, SdkError> {
    let json: Value = serde_json::from_slice(&reply.body).map_err(|_| {
        failed(format!(
            "{what}: HTTP {} with a body that is not JSON",
            reply.status
        ))
    })?;
    match json.get("Credentials") {
        Some(credentials) if reply.status == 200 => fetched_from(what, credentials),
        _ => {
            let field = |name: &str| {
                json.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            Err(failed(format!(
                "{what} refused (HTTP {}): {}: {}",
                reply.status,
                field("Code"),
                field("Message")
            )))
        }
    }
}

/// `{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration }` as [`Fetched`].
pub fn fetched_from(what: &str, object: &Value) -> Result<Fetched, SdkError> {
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    let credentials = from_fields(
        what,
        text("AccessKeyId"),
        text("AccessKeySecret"),
        text("SecurityToken"),
        true,
    )?;
    let expires_at_ms = match text("Expiration") {
        Some(expiration) => Some(parse_utc_ms(expiration).ok_or_else(|| {
            failed(format!(
                "{what}: Expiration {expiration:?} is not a UTC time"
            ))
        })?),
        None => None,
    };
    Ok(Fetched {
        credentials,
        expires_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn endpoint_from_option_region_and_vpc() {
        let mut env = Environment::from_vars(HashMap::new());
        assert_eq!(sts_endpoint(&env, None, false), "https://sts.aliyuncs.com");
        assert_eq!(
            sts_endpoint(&env, Some("cn-hangzhou"), false),
            "https://sts.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint(&env, Some("cn-hangzhou"), true),
            "https://sts-vpc.cn-hangzhou.aliyuncs.com"
        );
        env.sts_endpoint = Some("http://127.0.0.1:9/".into());
        assert_eq!(
            sts_endpoint(&env, Some("cn-hangzhou"), true),
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn assume_role_signs_query_and_body_together() {
        let call = AssumeRole {
            endpoint: "http://sts".into(),
            base: Credentials {
                access_key_id: "id".into(),
                access_key_secret: "secret".into(),
                security_token: None,
            },
            role_arn: "acs:ram::1:role/r".into(),
            session_name: "s".into(),
            duration_seconds: 3600,
            policy: None,
            external_id: None,
        };
        let (url, body) = call.request("2020-01-01T00:00:00Z", "n");
        assert_eq!(
            body,
            "RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr&RoleSessionName=s&DurationSeconds=3600"
        );
        assert!(
            url.starts_with("http://sts/?Version=2015-04-01&Action=AssumeRole&"),
            "{url}"
        );
        assert!(!url.contains("secret") && !body.contains("secret"));
        // The signature over every pair, as the STS gateway recomputes it.
        let mut pairs: Vec<(String, String)> =
            form_urlencoded_pairs(url.split_once('?').unwrap().1);
        let signature = pairs.pop().unwrap();
        assert_eq!(signature.0, "Signature");
        pairs.extend(form_urlencoded_pairs(&body));
        pairs.sort();
        let expected = crate::signer::sign(
            "secret",
            &crate::signer::string_to_sign("POST", &canonical_query(&pairs)),
        );
        assert_eq!(signature.1, expected);
    }

    fn form_urlencoded_pairs(text: &str) -> Vec<(String, String)> {
        text.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                let decode = |s: &str| {
                    let mut out = Vec::new();
                    let bytes = s.as_bytes();
                    let mut i = 0;
                    while i < bytes.len() {
                        if bytes[i] == b'%' {
                            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                            i += 3;
                        } else {
                            out.push(bytes[i]);
                            i += 1;
                        }
                    }
                    String::from_utf8(out).unwrap()
                };
                (decode(k), decode(v))
            })
            .collect()
    }

    #[test]
    fn replies_parse_or_name_the_code_without_the_secret() {
        let reply = |status: u16, body: &str| Reply {
            status,
            headers: Default::default(),
            body: bytes::Bytes::from(body.to_owned()),
        };
        let ok = parse_reply(
            "t",
            &reply(200, r#"{"Credentials":{"AccessKeyId":"STS.a","AccessKeySecret":"S3CRET","SecurityToken":"tok","Expiration":"2030-01-01T00:00:00Z"}}"#),
        )
        .unwrap();
        assert_eq!(ok.credentials.access_key_id, "STS.a");
        assert_eq!(ok.expires_at_ms, parse_utc_ms("2030-01-01T00:00:00Z"));
        let refused = parse_reply(
            "t",
            &reply(404, r#"{"Code":"EntityNotExist.Role","Message":"no role"}"#),
        )
        .unwrap_err();
        assert!(
            refused.to_string().contains("EntityNotExist.Role: no role"),
            "{refused}"
        );
        let partial = parse_reply(
            "t",
            &reply(
                200,
                r#"{"Credentials":{"AccessKeyId":"a","AccessKeySecret":"S3CRET"}}"#,
            ),
        )
        .unwrap_err();
        assert!(!partial.to_string().contains("S3CRET"));
        assert!(parse_reply("t", &reply(200, "not json S3CRET"))
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
    }
}
