//! Client configuration: credentials, endpoints, timeouts.

use std::fmt;
use std::time::Duration;

use crate::credentials::CredentialSource;
use crate::error::SdkError;
use crate::proxy::ProxyOptions;

/// The three services a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// dyplsapi: bindings and numbers.
    Dypls,
    /// dybaseapi: temporary MNS credentials.
    Dybase,
    /// MNS: the message queues.
    Mns,
}

/// HTTPS by default (an improvement over the original's plain HTTP).
pub const DEFAULT_DYPLS_ENDPOINT: &str = "https://dyplsapi.aliyuncs.com";
/// See [`DEFAULT_DYPLS_ENDPOINT`].
pub const DEFAULT_DYBASE_ENDPOINT: &str = "https://dybaseapi.aliyuncs.com";
/// The MNS endpoint of the account the original's queues live in
/// (1943695596114318, region cn-hangzhou).
pub const DEFAULT_MNS_ENDPOINT: &str = "https://1943695596114318.mns.cn-hangzhou.aliyuncs.com";

/// The original's connect and read timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(3000);

/// An access key, optionally with an STS security token. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The AccessKeyId.
    pub access_key_id: String,
    /// The AccessKeySecret; never printed.
    pub access_key_secret: String,
    /// The STS SecurityToken, sent as the `SecurityToken` param when present.
    pub security_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<hidden>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// Base URLs of the three services, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// dyplsapi.
    pub dypls: String,
    /// dybaseapi.
    pub dybase: String,
    /// MNS.
    pub mns: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            dypls: DEFAULT_DYPLS_ENDPOINT.into(),
            dybase: DEFAULT_DYBASE_ENDPOINT.into(),
            mns: DEFAULT_MNS_ENDPOINT.into(),
        }
    }
}

impl Endpoints {
    /// Explicit endpoints first, then `shared` (the `PLS_ENDPOINT` variable,
    /// one emulator serving all three), then the HTTPS defaults.
    pub fn resolve(
        dypls: Option<&str>,
        dybase: Option<&str>,
        mns: Option<&str>,
        shared: Option<&str>,
    ) -> Result<Endpoints, SdkError> {
        let shared = shared.filter(|s| !s.is_empty());
        let pick =
            |explicit: Option<&str>, default: &str, what: &str| -> Result<String, SdkError> {
                let chosen = explicit
                    .filter(|s| !s.is_empty())
                    .or(shared)
                    .unwrap_or(default);
                validate_endpoint(chosen, what)
            };
        Ok(Endpoints {
            dypls: pick(dypls, DEFAULT_DYPLS_ENDPOINT, "endpoint")?,
            dybase: pick(dybase, DEFAULT_DYBASE_ENDPOINT, "dybaseEndpoint")?,
            mns: pick(mns, DEFAULT_MNS_ENDPOINT, "mnsEndpoint")?,
        })
    }

    /// The base URL of one service.
    pub fn of(&self, service: Service) -> &str {
        match service {
            Service::Dypls => &self.dypls,
            Service::Dybase => &self.dybase,
            Service::Mns => &self.mns,
        }
    }
}

fn validate_endpoint(endpoint: &str, what: &str) -> Result<String, SdkError> {
    let trimmed = endpoint.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(trimmed.to_owned()),
        _ => Err(SdkError::InvalidArgument {
            message: format!(
                "option \"{what}\" must be a base URL such as https://host[:port] (got {endpoint:?})"
            ),
        }),
    }
}

/// How RPC calls are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureAlgorithm {
    /// The original's RPC signature: HMAC-SHA1, version 1.0, in the query.
    #[default]
    HmacSha1,
    /// Aliyun's signature V3 in an `Authorization` header.
    Acs3HmacSha256,
    /// Signature V3 with SM3 (GB/T 32905) in place of SHA-256.
    Acs3HmacSm3,
}

impl SignatureAlgorithm {
    /// From the `signatureAlgorithm` option: `HMAC-SHA1`, `ACS3-HMAC-SHA256`
    /// or `ACS3-HMAC-SM3` (also `v2` and `v3`, the names of Aliyun's Tea
    /// SDKs), in any case.
    pub fn parse(text: &str) -> Result<Self, SdkError> {
        if text.eq_ignore_ascii_case("HMAC-SHA1") || text.eq_ignore_ascii_case("v2") {
            Ok(SignatureAlgorithm::HmacSha1)
        } else if text.eq_ignore_ascii_case("ACS3-HMAC-SHA256") || text.eq_ignore_ascii_case("v3") {
            Ok(SignatureAlgorithm::Acs3HmacSha256)
        } else if text.eq_ignore_ascii_case("ACS3-HMAC-SM3") {
            Ok(SignatureAlgorithm::Acs3HmacSm3)
        } else {
            Err(SdkError::InvalidArgument {
                message: format!("option \"signatureAlgorithm\" must be 'HMAC-SHA1', 'ACS3-HMAC-SHA256' or 'ACS3-HMAC-SM3', got {text:?}"),
            })
        }
    }
}

/// Everything a [`crate::PlsClient`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where the access key the RPC calls are signed with comes from.
    pub credentials: CredentialSource,
    /// How the RPC calls are signed.
    pub signature_algorithm: SignatureAlgorithm,
    /// Where each service is.
    pub endpoints: Endpoints,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed, once the request can be written, for the whole response.
    pub read_timeout: Duration,
    /// Time allowed for a whole call, retries and their waits included; none by default.
    pub timeout: Option<Duration>,
    /// Retries after the first attempt, where a retry is safe.
    pub max_retries: u32,
    /// The `user-agent` header.
    pub user_agent: String,
    /// The `x-sdk-client` header.
    pub sdk_client: String,
    /// CA certificates (PEM texts) trusted besides the bundled and system roots.
    pub extra_ca: Vec<String>,
    /// `keepAlive`: false opens a new connection for every request.
    pub keep_alive: bool,
    /// `maxIdleConns`: idle connections kept per host (`None`: no limit
    /// but the idle timeout).
    pub max_idle_conns: Option<usize>,
    /// `httpProxy`, `httpsProxy`, `noProxy`; the environment fills in what is not given.
    pub proxy: ProxyOptions,
}

impl ClientConfig {
    /// A config with the defaults: HTTPS endpoints, 3 s timeouts, HMAC-SHA1.
    pub fn new(credentials: impl Into<CredentialSource>) -> Self {
        ClientConfig {
            credentials: credentials.into(),
            signature_algorithm: SignatureAlgorithm::default(),
            endpoints: Endpoints::default(),
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
            timeout: None,
            max_retries: crate::retry::DEFAULT_MAX_RETRIES,
            user_agent: default_user_agent(),
            sdk_client: format!("Rust, pls-core: {}", env!("CARGO_PKG_VERSION")),
            extra_ca: Vec::new(),
            keep_alive: true,
            max_idle_conns: None,
            proxy: ProxyOptions::default(),
        }
    }
}

/// `pls-core/<version> (<os>; <arch>)`.
pub fn default_user_agent() -> String {
    format!(
        "pls-core/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_beats_shared_beats_default() {
        let e = Endpoints::resolve(Some("http://a:1/"), None, None, Some("http://emu:9")).unwrap();
        assert_eq!(e.dypls, "http://a:1");
        assert_eq!(e.dybase, "http://emu:9");
        assert_eq!(e.mns, "http://emu:9");
        let d = Endpoints::resolve(None, None, None, None).unwrap();
        assert_eq!(d, Endpoints::default());
        assert!(d.dypls.starts_with("https://") && d.mns.starts_with("https://"));
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_option_name() {
        let err = Endpoints::resolve(Some("dyplsapi.aliyuncs.com"), None, None, None).unwrap_err();
        assert!(err.to_string().contains("\"endpoint\""), "{err}");
        assert!(Endpoints::resolve(None, Some("http://"), None, None).is_err());
        assert!(Endpoints::resolve(None, None, Some("ftp://x"), None).is_err());
    }

    #[test]
    fn signature_algorithm_names() {
        assert_eq!(
            SignatureAlgorithm::parse("ACS3-HMAC-SHA256").unwrap(),
            SignatureAlgorithm::Acs3HmacSha256
        );
        assert_eq!(
            SignatureAlgorithm::parse("v3").unwrap(),
            SignatureAlgorithm::Acs3HmacSha256
        );
        assert_eq!(
            SignatureAlgorithm::parse("hmac-sha1").unwrap(),
            SignatureAlgorithm::HmacSha1
        );
        assert_eq!(
            SignatureAlgorithm::parse("acs3-hmac-sm3").unwrap(),
            SignatureAlgorithm::Acs3HmacSm3
        );
        let err = SignatureAlgorithm::parse("MD5").unwrap_err();
        assert!(err.to_string().contains("signatureAlgorithm"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let creds = Credentials {
            access_key_id: "id".into(),
            access_key_secret: "TOPSECRET".into(),
            security_token: Some("TOKEN".into()),
        };
        let text = format!("{:?}", ClientConfig::new(creds));
        assert!(
            !text.contains("TOPSECRET") && !text.contains("TOKEN"),
            "{text}"
        );
    }
}
