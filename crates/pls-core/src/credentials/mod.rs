//! Where the access key comes from: the keys a caller passes, or the default
//! chain that Aliyun's own SDKs (`@alicloud/credentials` 2.x) walk, in their
//! order: environment, OIDC role (RRSA), the Aliyun CLI's profile, the
//! credentials INI file, the ECS RAM role through instance metadata, and a
//! credentials URI. Temporary credentials are cached and refreshed ahead of
//! their expiry, one fetch at a time (see [`cache`]).
//!
//! Nothing here prints a secret: `Credentials`' `Debug` hides it, errors
//! name files, lines and sources but never a value read from them.

pub mod cache;
pub mod chain;
pub mod cli_profile;
pub mod ecs_metadata;
pub mod env;
pub mod ini_file;
pub mod oidc;
pub mod sts;
pub mod uri;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::config::Credentials;
use crate::error::SdkError;

pub use cache::Refreshing;
pub use chain::DefaultChain;

/// A boxed future, so providers can sit behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Credentials a source fetched, with the instant (ms since the epoch) they
/// stop working when they are temporary.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The key, secret and token.
    pub credentials: Credentials,
    /// When they expire; None for a long-lived key.
    pub expires_at_ms: Option<i64>,
}

/// One way to fetch credentials (a file, STS, the metadata service).
pub trait FetchCredentials: Send + Sync + fmt::Debug {
    /// Fetches once, without caching.
    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SdkError>>;
}

/// What a client asks right before it signs.
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Credentials usable now without waiting, when they are held.
    fn current(&self) -> Option<Arc<Credentials>>;
    /// Credentials usable now, fetched or refreshed first when needed.
    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>>;
}

/// The `get` of a source whose real provider is built on first use (from a
/// file read once): build it, keep it, then ask it.
pub(crate) fn get_built<'a>(
    built: &'a tokio::sync::OnceCell<Arc<dyn ProvideCredentials>>,
    build: impl FnOnce() -> Result<Arc<dyn ProvideCredentials>, SdkError> + Send + 'a,
) -> BoxFuture<'a, Result<Arc<Credentials>, SdkError>> {
    Box::pin(async move {
        let provider = built.get_or_try_init(|| async move { build() }).await?;
        provider.get().await
    })
}

/// How a client obtains the key it signs with.
#[derive(Clone)]
pub enum CredentialSource {
    /// A key fixed at construction: signing needs no await and no lookup.
    Static(Credentials),
    /// A provider asked before every call (the default chain, or one the
    /// embedding supplies).
    Provider(Arc<dyn ProvideCredentials>),
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Static(credentials) => {
                f.debug_tuple("Static").field(credentials).finish()
            }
            CredentialSource::Provider(provider) => {
                f.debug_tuple("Provider").field(provider).finish()
            }
        }
    }
}

impl From<Credentials> for CredentialSource {
    fn from(credentials: Credentials) -> Self {
        CredentialSource::Static(credentials)
    }
}

/// Credentials borrowed from a static source or shared from a provider.
pub enum HeldCredentials<'a> {
    /// The client's own static key.
    Borrowed(&'a Credentials),
    /// A provider's current value.
    Shared(Arc<Credentials>),
}

impl Deref for HeldCredentials<'_> {
    type Target = Credentials;
    fn deref(&self) -> &Credentials {
        match self {
            HeldCredentials::Borrowed(credentials) => credentials,
            HeldCredentials::Shared(credentials) => credentials,
        }
    }
}

impl CredentialSource {
    /// The credentials to sign with when they are at hand without waiting.
    pub fn now(&self) -> Option<HeldCredentials<'_>> {
        match self {
            CredentialSource::Static(credentials) => Some(HeldCredentials::Borrowed(credentials)),
            CredentialSource::Provider(provider) => provider.current().map(HeldCredentials::Shared),
        }
    }

    /// The credentials to sign with, waiting for a provider when it must fetch.
    pub async fn get(&self) -> Result<HeldCredentials<'_>, SdkError> {
        match self {
            CredentialSource::Static(credentials) => Ok(HeldCredentials::Borrowed(credentials)),
            CredentialSource::Provider(provider) => {
                provider.get().await.map(HeldCredentials::Shared)
            }
        }
    }
}

/// Credentials handed in from outside, latest wins: the Node binding asks a
/// JavaScript provider before each call and leaves the answer here for the
/// parts of a call that sign later (the queue token request).
#[derive(Default)]
pub struct SuppliedCredentials {
    latest: Mutex<Option<Arc<Credentials>>>,
}

impl fmt::Debug for SuppliedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SuppliedCredentials")
    }
}

impl SuppliedCredentials {
    /// Records the credentials the embedding just obtained.
    pub fn supply(&self, credentials: Arc<Credentials>) {
        *self
            .latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(credentials);
    }
}

impl ProvideCredentials for SuppliedCredentials {
    fn current(&self) -> Option<Arc<Credentials>> {
        self.latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>> {
        let current = self.current();
        Box::pin(async move {
            current.ok_or_else(|| {
                failed("the credentials provider has not supplied any credentials yet".into())
            })
        })
    }
}

/// The process environment as the chain reads it, taken once so a chain
/// sees one consistent picture (and tests can hand in their own).
#[derive(Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
    /// The home folder (`HOME`, or `USERPROFILE` on Windows).
    pub home: Option<PathBuf>,
    /// Where STS is, overriding the region-derived default.
    pub sts_endpoint: Option<String>,
    /// Where the instance metadata service is, default `http://100.100.100.200`.
    pub metadata_endpoint: Option<String>,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: the values include secrets.
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Environment")
            .field("vars", &names)
            .field("home", &self.home)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("metadata_endpoint", &self.metadata_endpoint)
            .finish()
    }
}

impl Environment {
    /// The variables the chain reads, from this process.
    pub fn from_process() -> Self {
        let vars: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| {
                name.starts_with("ALIBABA_CLOUD_") || name == "HOME" || name == "USERPROFILE"
            })
            .collect();
        Environment::from_vars(vars)
    }

    /// An environment of exactly these variables.
    pub fn from_vars(vars: HashMap<String, String>) -> Self {
        let home = ["HOME", "USERPROFILE"]
            .iter()
            .find_map(|name| vars.get(*name).filter(|v| !v.is_empty()))
            .map(PathBuf::from);
        Environment {
            vars,
            home,
            sts_endpoint: None,
            metadata_endpoint: None,
        }
    }

    /// An environment of exactly these variables, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Environment::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// A variable's value; unset and empty are the same.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// True when a variable is `true` in any case.
    pub fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// `SDK.CredentialsFailed`: a source that applies could not deliver.
pub fn failed(message: String) -> SdkError {
    SdkError::Credentials {
        code: "SDK.CredentialsFailed",
        message,
    }
}

/// Builds `Credentials` from a reply's three fields, refusing empty ones.
pub(crate) fn from_fields(
    what: &str,
    access_key_id: Option<&str>,
    access_key_secret: Option<&str>,
    security_token: Option<&str>,
    token_required: bool,
) -> Result<Credentials, SdkError> {
    let access_key_id = access_key_id.filter(|v| !v.is_empty());
    let access_key_secret = access_key_secret.filter(|v| !v.is_empty());
    let security_token = security_token.filter(|v| !v.is_empty());
    match (access_key_id, access_key_secret, security_token) {
        (Some(id), Some(secret), token) if token.is_some() || !token_required => Ok(Credentials {
            access_key_id: id.to_owned(),
            access_key_secret: secret.to_owned(),
            security_token: token.map(str::to_owned),
        }),
        _ => Err(failed(format!(
            "{what} did not include {}",
            if token_required {
                "AccessKeyId, AccessKeySecret and SecurityToken"
            } else {
                "both AccessKeyId and AccessKeySecret"
            }
        ))),
    }
}

/// Reads a small local file (a profile, an OIDC token), naming it on failure.
pub(crate) fn read_file(path: &std::path::Path, what: &str) -> Result<String, SdkError> {
    std::fs::read_to_string(path).map_err(|err| {
        let reason = match err.kind() {
            std::io::ErrorKind::NotFound => "not found".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::InvalidData => "not UTF-8 text".to_owned(),
            _ => err.to_string(),
        };
        failed(format!("{what} {}: {reason}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_debug_names_variables_but_never_values() {
        let env = Environment::from_vars(HashMap::from([
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET".to_owned(),
                "TOPSECRET".to_owned(),
            ),
            ("HOME".to_owned(), "/home/u".to_owned()),
        ]));
        let text = format!("{env:?}");
        assert!(
            text.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET") && !text.contains("TOPSECRET"),
            "{text}"
        );
        assert_eq!(env.home, Some(PathBuf::from("/home/u")));
    }

    #[test]
    fn empty_variables_count_as_unset_and_flags_ignore_case() {
        let env = Environment::from_vars(HashMap::from([
            ("A".to_owned(), String::new()),
            ("B".to_owned(), "TRUE".to_owned()),
            ("C".to_owned(), "yes".to_owned()),
        ]));
        assert_eq!(env.var("A"), None);
        assert!(env.flag("B") && !env.flag("C") && !env.flag("D"));
    }

    #[tokio::test]
    async fn supplied_credentials_serve_the_latest_answer() {
        let supplied = SuppliedCredentials::default();
        assert!(supplied.current().is_none());
        assert_eq!(
            supplied.get().await.unwrap_err().code(),
            "SDK.CredentialsFailed"
        );
        for id in ["first", "second"] {
            supplied.supply(Arc::new(Credentials {
                access_key_id: id.into(),
                access_key_secret: "s".into(),
                security_token: None,
            }));
        }
        assert_eq!(supplied.get().await.unwrap().access_key_id, "second");
        let source = CredentialSource::Provider(Arc::new(supplied));
        assert_eq!(source.now().unwrap().access_key_id, "second");
        assert!(!format!("{source:?}").contains("\"s\""));
    }

    #[test]
    fn a_reply_without_its_fields_is_refused_without_echoing_them() {
        let err = from_fields("the reply", Some("id"), Some("TOPSECRET"), None, true).unwrap_err();
        assert_eq!(err.code(), "SDK.CredentialsFailed");
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        assert!(from_fields("the reply", Some("id"), Some("s"), None, false).is_ok());
    }
}
