//! The default chain, in the order of Aliyun's own SDKs: environment, OIDC
//! role, CLI profile, credentials file, ECS metadata, credentials URI. The
//! first source that delivers is kept for the life of the client (as theirs
//! do); when none does, the error lists every source and why it gave nothing.

use std::sync::{Arc, Mutex};

use crate::config::Credentials;
use crate::credentials::cli_profile::CliProfile;
use crate::credentials::ecs_metadata::EcsMetadata;
use crate::credentials::ini_file::IniFile;
use crate::credentials::uri::CredentialsUri;
use crate::credentials::{env, oidc, BoxFuture, Environment, ProvideCredentials, Refreshing};
use crate::error::SdkError;

/// A long-lived key that never needs refreshing.
#[derive(Clone)]
pub struct Fixed(Arc<Credentials>);

impl Fixed {
    /// Serves `credentials` as they are.
    pub fn new(credentials: Credentials) -> Self {
        Fixed(Arc::new(credentials))
    }
}

impl std::fmt::Debug for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Fixed").field(&self.0.access_key_id).finish()
    }
}

impl ProvideCredentials for Fixed {
    fn current(&self) -> Option<Arc<Credentials>> {
        Some(Arc::clone(&self.0))
    }

    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>> {
        let credentials = Arc::clone(&self.0);
        Box::pin(async move { Ok(credentials) })
    }
}

enum Slot {
    /// The source applies; asked in turn.
    Ready(Box<dyn ProvideCredentials>),
    /// The source does not apply here, and why.
    Skipped(String),
}

/// The default credentials chain.
pub struct DefaultChain {
    sources: Vec<(&'static str, Slot)>,
    chosen: Mutex<Option<usize>>,
    choosing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for DefaultChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chosen = *self.chosen.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("DefaultChain")
            .field("chosen", &chosen.map(|i| self.sources[i].0))
            .finish()
    }
}

impl DefaultChain {
    /// The chain as this environment configures it. Nothing is read or
    /// asked yet: files and services are consulted on the first `get`.
    pub fn new(env: &Environment) -> Self {
        let mut sources: Vec<(&'static str, Slot)> = Vec::with_capacity(6);
        let slot = |result: Result<Box<dyn ProvideCredentials>, String>| match result {
            Ok(provider) => Slot::Ready(provider),
            Err(reason) => Slot::Skipped(reason),
        };
        sources.push((
            "environment",
            slot(env::from_environment(env).map(|c| Box::new(Fixed::new(c)) as _)),
        ));
        sources.push((
            "OIDC role",
            slot(oidc::from_environment(env).map(|c| Box::new(Refreshing::new(c)) as _)),
        ));
        sources.push((
            "Aliyun CLI profile",
            slot(CliProfile::from_environment(env).map(|c| Box::new(c) as _)),
        ));
        sources.push((
            "credentials file",
            slot(IniFile::from_environment(env).map(|c| Box::new(c) as _)),
        ));
        let metadata = if env.flag("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
            Err("disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED".to_owned())
        } else {
            Ok(Box::new(Refreshing::new(EcsMetadata::from_environment(env, None))) as _)
        };
        sources.push(("ECS RAM role", slot(metadata)));
        sources.push((
            "credentials URI",
            slot(CredentialsUri::from_environment(env).map(|c| Box::new(Refreshing::new(c)) as _)),
        ));
        DefaultChain {
            sources,
            chosen: Mutex::new(None),
            choosing: tokio::sync::Mutex::new(()),
        }
    }

    fn chosen(&self) -> Option<&dyn ProvideCredentials> {
        let index = (*self.chosen.lock().unwrap_or_else(|p| p.into_inner()))?;
        match &self.sources[index].1 {
            Slot::Ready(provider) => Some(provider.as_ref()),
            Slot::Skipped(_) => None,
        }
    }

    /// The name of the source in use, once one has delivered.
    pub fn chosen_name(&self) -> Option<&'static str> {
        let index = (*self.chosen.lock().unwrap_or_else(|p| p.into_inner()))?;
        Some(self.sources[index].0)
    }

    async fn choose(&self) -> Result<Arc<Credentials>, SdkError> {
        let _one_walk = self.choosing.lock().await;
        if let Some(provider) = self.chosen() {
            return provider.get().await;
        }
        let mut tried = Vec::with_capacity(self.sources.len());
        for (index, (name, slot)) in self.sources.iter().enumerate() {
            match slot {
                Slot::Skipped(reason) => tried.push(format!("{name}: {reason}")),
                Slot::Ready(provider) => match provider.get().await {
                    Ok(credentials) => {
                        *self.chosen.lock().unwrap_or_else(|p| p.into_inner()) = Some(index);
                        return Ok(credentials);
                    }
                    Err(err) => tried.push(format!("{name}: {err}")),
                },
            }
        }
        Err(SdkError::Credentials {
            code: "SDK.CredentialsNotFound",
            message: format!(
                "no credentials: pass accessKeyId and secretAccessKey, or configure one of the default chain's sources. Tried, in order: {}",
                tried.join("; ")
            ),
        })
    }
}

impl ProvideCredentials for DefaultChain {
    fn current(&self) -> Option<Arc<Credentials>> {
        self.chosen()?.current()
    }

    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>> {
        Box::pin(async move {
            match self.chosen() {
                Some(provider) => provider.get().await,
                None => self.choose().await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_configured_lists_every_source_and_why() {
        let home =
            std::env::temp_dir().join(format!("pls-core-empty-home-{}", crate::rpc::make_nonce()));
        let chain = DefaultChain::new(&Environment::from_pairs(&[
            ("HOME", home.to_str().unwrap()),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
        ]));
        let err = chain.get().await.unwrap_err();
        assert_eq!(err.code(), "SDK.CredentialsNotFound");
        let text = err.to_string();
        for part in [
            "environment: ALIBABA_CLOUD_ACCESS_KEY_ID is not set",
            "OIDC role: ALIBABA_CLOUD_ROLE_ARN is not set",
            "Aliyun CLI profile: Aliyun CLI config",
            "credentials file: credentials file",
            "ECS RAM role: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED",
            "credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
        assert!(chain.current().is_none() && chain.chosen_name().is_none());
    }

    #[tokio::test]
    async fn the_environment_comes_first_and_is_kept() {
        let chain = DefaultChain::new(&Environment::from_pairs(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "envid"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
            ("ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/"),
        ]));
        assert_eq!(chain.get().await.unwrap().access_key_id, "envid");
        assert_eq!(chain.chosen_name(), Some("environment"));
        assert_eq!(chain.current().unwrap().access_key_id, "envid");
    }

    #[tokio::test]
    async fn a_down_metadata_service_falls_through_to_the_next_source() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let home =
            std::env::temp_dir().join(format!("pls-core-empty-home-{}", crate::rpc::make_nonce()));
        let mut environment = Environment::from_pairs(&[
            ("HOME", home.to_str().unwrap()),
            ("ALIBABA_CLOUD_CREDENTIALS_URI", &closed),
        ]);
        environment.metadata_endpoint = Some(closed.clone());
        let err = DefaultChain::new(&environment).get().await.unwrap_err();
        let text = err.to_string();
        // Both were asked, in order, and both failures are reported.
        let metadata = text.find("ECS RAM role: ECS metadata token").expect(&text);
        let uri = text.find("credentials URI: credentials URI").expect(&text);
        assert!(metadata < uri, "{text}");
    }
}
