//! The Aliyun CLI's `~/.aliyun/config.json`: the profile named by
//! `ALIBABA_CLOUD_PROFILE`, else the file's `current`. Modes: `AK`,
//! `StsToken`, `RamRoleArn` (STS AssumeRole with the profile's key) and
//! `EcsRamRole` (instance metadata). `ALIBABA_CLOUD_CLI_PROFILE_DISABLED`
//! turns the source off.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::config::Credentials;
use crate::credentials::chain::Fixed;
use crate::credentials::ecs_metadata::EcsMetadata;
use crate::credentials::sts::{default_session_name, sts_endpoint, AssumeRole};
use crate::credentials::{
    failed, get_built, BoxFuture, Environment, ProvideCredentials, Refreshing,
};
use crate::error::SdkError;

/// The CLI profile source: read on first use, then the profile's provider serves.
pub struct CliProfile {
    path: PathBuf,
    profile: Option<String>,
    env: Environment,
    inner: OnceCell<Arc<dyn ProvideCredentials>>,
}

impl std::fmt::Debug for CliProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliProfile")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .finish()
    }
}

impl CliProfile {
    /// The config file of this environment's home, or why there is none.
    pub fn from_environment(env: &Environment) -> Result<Self, String> {
        if env.flag("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") {
            return Err("disabled by ALIBABA_CLOUD_CLI_PROFILE_DISABLED".into());
        }
        let home = env
            .home
            .as_ref()
            .ok_or_else(|| "no home folder to look in (HOME is not set)".to_owned())?;
        Ok(CliProfile {
            path: home.join(".aliyun").join("config.json"),
            profile: env.var("ALIBABA_CLOUD_PROFILE").map(str::to_owned),
            env: env.clone(),
            inner: OnceCell::new(),
        })
    }

    fn build(&self) -> Result<Arc<dyn ProvideCredentials>, SdkError> {
        let file = self.path.display();
        let text = crate::credentials::read_file(&self.path, "Aliyun CLI config")?;
        // Parsed as a plain value first: serde_json's syntax errors carry a
        // line and column and never quote the text, which may hold a secret.
        let config: Value = serde_json::from_str(&text).map_err(|err| {
            failed(format!(
                "Aliyun CLI config {file} line {} column {}: not valid JSON",
                err.line(),
                err.column()
            ))
        })?;
        let name = self
            .profile
            .clone()
            .or_else(|| config.get("current").and_then(Value::as_str).map(str::to_owned))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| failed(format!("Aliyun CLI config {file}: no current profile and ALIBABA_CLOUD_PROFILE is not set")))?;
        let profile = config
            .get("profiles")
            .and_then(Value::as_array)
            .and_then(|profiles| {
                profiles
                    .iter()
                    .find(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()))
            })
            .ok_or_else(|| {
                failed(format!(
                    "Aliyun CLI config {file}: no profile named {name:?}"
                ))
            })?;
        let where_ = format!("Aliyun CLI config {file} profile {name:?}");
        let get = |key: &str| {
            profile
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let need = |key: &str| -> Result<String, SdkError> {
            get(key)
                .map(str::to_owned)
                .ok_or_else(|| failed(format!("{where_}: {key} is missing")))
        };
        let key = |token: Option<String>| -> Result<Credentials, SdkError> {
            Ok(Credentials {
                access_key_id: need("access_key_id")?,
                access_key_secret: need("access_key_secret")?,
                security_token: token,
            })
        };
        match profile.get("mode").and_then(Value::as_str).unwrap_or("AK") {
            "AK" => Ok(Arc::new(Fixed::new(key(None)?))),
            "StsToken" => Ok(Arc::new(Fixed::new(key(Some(need("sts_token")?))?))),
            "RamRoleArn" => {
                let seconds = profile.get("expired_seconds").and_then(Value::as_u64).filter(|s| *s > 0).unwrap_or(3600);
                let vpc = profile.get("enable_vpc").and_then(Value::as_bool).unwrap_or(false);
                let endpoint = match get("sts_endpoint") {
                    Some(endpoint) if self.env.sts_endpoint.is_none() => {
                        if endpoint.contains("://") { endpoint.to_owned() } else { format!("https://{endpoint}") }
                    }
                    _ => sts_endpoint(&self.env, get("sts_region"), vpc),
                };
                Ok(Arc::new(Refreshing::new(AssumeRole {
                    endpoint,
                    base: key(None)?,
                    role_arn: need("ram_role_arn")?,
                    session_name: get("ram_session_name").map(str::to_owned).unwrap_or_else(default_session_name),
                    duration_seconds: u32::try_from(seconds).unwrap_or(3600),
                    policy: None,
                    external_id: None,
                })))
            }
            "EcsRamRole" => Ok(Arc::new(Refreshing::new(EcsMetadata::from_environment(&self.env, get("ram_role_name"))))),
            other => Err(failed(format!(
                "{where_}: mode {other:?} is not supported here (AK, StsToken, RamRoleArn, EcsRamRole are)"
            ))),
        }
    }
}

impl ProvideCredentials for CliProfile {
    fn current(&self) -> Option<Arc<Credentials>> {
        self.inner.get()?.current()
    }

    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>> {
        get_built(&self.inner, || self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn home_with(config: &str, profile: Option<&str>) -> (CliProfile, PathBuf) {
        let home = std::env::temp_dir().join(format!("pls-core-cli-{}", crate::rpc::make_nonce()));
        std::fs::create_dir_all(home.join(".aliyun")).unwrap();
        std::fs::write(home.join(".aliyun").join("config.json"), config).unwrap();
        let mut vars = HashMap::from([("HOME".to_owned(), home.display().to_string())]);
        if let Some(profile) = profile {
            vars.insert("ALIBABA_CLOUD_PROFILE".into(), profile.into());
        }
        (
            CliProfile::from_environment(&Environment::from_vars(vars)).unwrap(),
            home,
        )
    }

    const CONFIG: &str = r#"{"current":"dev","profiles":[
        {"name":"dev","mode":"AK","access_key_id":"dev-id","access_key_secret":"s"},
        {"name":"sts","mode":"StsToken","access_key_id":"sts-id","access_key_secret":"s","sts_token":"tok"},
        {"name":"odd","mode":"CloudSSO"}]}"#;

    #[tokio::test]
    async fn current_profile_or_the_named_one() {
        let (current, home) = home_with(CONFIG, None);
        assert_eq!(current.get().await.unwrap().access_key_id, "dev-id");
        let (named, home2) = home_with(CONFIG, Some("sts"));
        let creds = named.get().await.unwrap();
        assert_eq!(
            (
                creds.access_key_id.as_str(),
                creds.security_token.as_deref()
            ),
            ("sts-id", Some("tok"))
        );
        let (odd, home3) = home_with(CONFIG, Some("odd"));
        assert!(odd
            .get()
            .await
            .unwrap_err()
            .to_string()
            .contains("\"CloudSSO\" is not supported"));
        for h in [home, home2, home3] {
            std::fs::remove_dir_all(h).unwrap();
        }
    }

    #[tokio::test]
    async fn broken_json_names_file_line_and_column_but_not_the_text() {
        let (source, home) = home_with("{\"current\":\"dev\",\n\"profiles\": [TOPSECRET]}", None);
        let text = source.get().await.unwrap_err().to_string();
        assert!(
            text.contains("config.json line 2 column") && !text.contains("TOPSECRET"),
            "{text}"
        );
        std::fs::remove_dir_all(home).unwrap();
    }
}
