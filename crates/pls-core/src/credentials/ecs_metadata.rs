//! The ECS RAM role through the instance metadata service, IMDSv2 first:
//! `PUT /latest/api/token` for a session token, then the role name from
//! `/latest/meta-data/ram/security-credentials/` and the role's
//! credentials from `.../security-credentials/<role>`, each with the token
//! in `x-aliyun-ecs-metadata-token`. Variables: `ALIBABA_CLOUD_ECS_METADATA`
//! (the role name), `ALIBABA_CLOUD_ECS_METADATA_DISABLED`,
//! `ALIBABA_CLOUD_IMDSV1_DISABLED`. Every request has 1 s to connect and
//! 1 s to answer, so a machine that is not an ECS instance falls through fast.

use std::time::Duration;

use serde_json::Value;

use crate::credentials::sts::{exchange, fetched_from};
use crate::credentials::{failed, BoxFuture, Environment, FetchCredentials, Fetched};
use crate::error::SdkError;

/// The metadata service's address on every ECS instance.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://100.100.100.200";
/// Connect and read timeout of each metadata request.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(1);
/// The lifetime asked for the IMDSv2 session token (6 hours).
const TOKEN_TTL_SECONDS: &str = "21600";

/// One instance's metadata service.
#[derive(Debug, Clone)]
pub struct EcsMetadata {
    endpoint: String,
    role_name: Option<String>,
    imdsv1_disabled: bool,
}

impl EcsMetadata {
    /// The service this environment points at, with `role_name` (else
    /// `ALIBABA_CLOUD_ECS_METADATA`, else asked of the service).
    pub fn from_environment(env: &Environment, role_name: Option<&str>) -> Self {
        EcsMetadata {
            endpoint: env
                .metadata_endpoint
                .clone()
                .unwrap_or_else(|| DEFAULT_METADATA_ENDPOINT.into())
                .trim_end_matches('/')
                .to_owned(),
            role_name: role_name
                .or_else(|| env.var("ALIBABA_CLOUD_ECS_METADATA"))
                .map(str::to_owned),
            imdsv1_disabled: env.flag("ALIBABA_CLOUD_IMDSV1_DISABLED"),
        }
    }

    /// Where the service is.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn get(&self, what: &str, path: &str, token: Option<&str>) -> Result<String, SdkError> {
        let headers = token
            .map(|t| vec![("x-aliyun-ecs-metadata-token".to_owned(), t.to_owned())])
            .unwrap_or_default();
        let url = format!("{}{path}", self.endpoint);
        let reply = exchange(
            what,
            "GET",
            &url,
            headers,
            None,
            METADATA_TIMEOUT,
            METADATA_TIMEOUT,
        )
        .await
        .map_err(|err| failed(format!("ECS metadata {what}: {err}")))?;
        if reply.status != 200 {
            return Err(failed(format!(
                "ECS metadata {what}: {url} answered HTTP {}",
                reply.status
            )));
        }
        String::from_utf8(reply.body.to_vec())
            .map_err(|_| failed(format!("ECS metadata {what}: the answer is not UTF-8")))
    }

    /// The IMDSv2 session token; None when IMDSv1 may be used instead.
    /// A service that cannot be reached at all is an error either way:
    /// asking it again without a token would only wait once more.
    async fn session_token(&self) -> Result<Option<String>, SdkError> {
        let url = format!("{}/latest/api/token", self.endpoint);
        let headers = vec![(
            "x-aliyun-ecs-metadata-token-ttl-seconds".to_owned(),
            TOKEN_TTL_SECONDS.to_owned(),
        )];
        match exchange("token", "PUT", &url, headers, None, METADATA_TIMEOUT, METADATA_TIMEOUT).await {
            Ok(reply) if reply.status == 200 => Ok(Some(String::from_utf8_lossy(&reply.body).trim().to_owned())),
            Ok(_) if !self.imdsv1_disabled => Ok(None),
            Ok(reply) => Err(failed(format!(
                "ECS metadata token: {url} answered HTTP {} and IMDSv1 is disabled (ALIBABA_CLOUD_IMDSV1_DISABLED)",
                reply.status
            ))),
            Err(err) => Err(failed(format!("ECS metadata token: {err}"))),
        }
    }
}

impl FetchCredentials for EcsMetadata {
    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SdkError>> {
        Box::pin(async move {
            let token = self.session_token().await?;
            let role = match &self.role_name {
                Some(role) => role.clone(),
                None => {
                    let listed = self
                        .get(
                            "role name",
                            "/latest/meta-data/ram/security-credentials/",
                            token.as_deref(),
                        )
                        .await?;
                    let role = listed.lines().next().unwrap_or("").trim().to_owned();
                    if role.is_empty() {
                        return Err(failed(
                            "ECS metadata: the instance has no RAM role attached".into(),
                        ));
                    }
                    role
                }
            };
            let path = format!(
                "/latest/meta-data/ram/security-credentials/{}",
                crate::encode::percent_encode(&role)
            );
            let body = self.get("credentials", &path, token.as_deref()).await?;
            let json: Value = serde_json::from_str(&body).map_err(|_| {
                failed(format!(
                    "ECS metadata credentials of role {role}: the answer is not JSON"
                ))
            })?;
            if json.get("Code").and_then(Value::as_str) != Some("Success") {
                return Err(failed(format!(
                    "ECS metadata credentials of role {role}: Code is not Success"
                )));
            }
            fetched_from(&format!("ECS metadata credentials of role {role}"), &json)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn env_at(url: &str, extra: &[(&str, &str)]) -> Environment {
        let mut env = Environment::from_vars(
            extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        );
        env.metadata_endpoint = Some(url.to_owned());
        env
    }

    /// Answers each request by its first line; records what it saw.
    async fn metadata_server(v2: bool) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap();
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let first = request.lines().next().unwrap_or("").to_owned();
                let has_token = request
                    .to_ascii_lowercase()
                    .contains("x-aliyun-ecs-metadata-token: tok");
                let (status, body) = if first.starts_with("PUT /latest/api/token") {
                    if v2 {
                        (200, "tok".to_owned())
                    } else {
                        (403, String::new())
                    }
                } else if v2 && !has_token {
                    (401, String::new())
                } else if first.starts_with("GET /latest/meta-data/ram/security-credentials/ ") {
                    (200, "role-a\n".to_owned())
                } else if first
                    .starts_with("GET /latest/meta-data/ram/security-credentials/role-a ")
                {
                    (200, r#"{"Code":"Success","AccessKeyId":"STS.ecs","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#.to_owned())
                } else {
                    (404, String::new())
                };
                seen.push(first);
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
            }
            seen
        });
        (url, task)
    }

    #[tokio::test]
    async fn imdsv2_token_then_role_then_credentials() {
        let (url, server) = metadata_server(true).await;
        let fetched = EcsMetadata::from_environment(&env_at(&url, &[]), None)
            .fetch()
            .await
            .unwrap();
        assert_eq!(fetched.credentials.access_key_id, "STS.ecs");
        assert!(fetched.expires_at_ms.is_some());
        let seen = server.await.unwrap();
        assert!(seen[0].starts_with("PUT /latest/api/token"), "{seen:?}");
    }

    #[tokio::test]
    async fn falls_back_to_imdsv1_unless_it_is_disabled() {
        let (url, _server) = metadata_server(false).await;
        let fetched = EcsMetadata::from_environment(&env_at(&url, &[]), None)
            .fetch()
            .await
            .unwrap();
        assert_eq!(fetched.credentials.access_key_id, "STS.ecs");
        let (url, _server) = metadata_server(false).await;
        let err = EcsMetadata::from_environment(
            &env_at(&url, &[("ALIBABA_CLOUD_IMDSV1_DISABLED", "true")]),
            None,
        )
        .fetch()
        .await
        .unwrap_err();
        assert!(err.to_string().contains("IMDSv1 is disabled"), "{err}");
    }

    #[tokio::test]
    async fn a_silent_service_fails_after_its_one_second_timeout() {
        // Accepts connections and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let _hold = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let err = EcsMetadata::from_environment(&env_at(&url, &[]), Some("r"))
            .fetch()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1000 ms"), "{err}");
    }
}
