//! Every way a call can fail, as values with a stable `code`.

use std::fmt;
use std::sync::Arc;

/// A failed call. `code()` is what programs branch on; `Display` is for people.
/// Nothing here ever holds the access-key secret. New kinds of failure may be
/// added, so a `match` needs a catch-all arm.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SdkError {
    /// The service answered with a body `Code` outside the success set.
    Api {
        /// The body's `Code`, as `String(Code)`.
        code: String,
        /// The body's `Message`, as `${Message}`.
        message: String,
        /// The whole parsed body.
        data: serde_json::Value,
        /// The request URL (query included, as the original reports it).
        url: String,
        /// The exchange's headers and status (the original's `err.entry`),
        /// when the error came from a call rather than from a body alone.
        entry: Option<Box<HttpEntry>>,
    },
    /// No answer in time. `phase` says whether the connection or the response was late.
    Timeout {
        action: String,
        url: String,
        phase: TimeoutPhase,
        millis: u64,
    },
    /// The connection could not be made (refused, DNS).
    Connect {
        action: String,
        url: String,
        cause: Cause,
    },
    /// The TLS handshake failed: `reason` says why in words (unknown issuer,
    /// expired, wrong host name); `cause` is the handshake's own error.
    Tls {
        action: String,
        url: String,
        reason: String,
        cause: Cause,
    },
    /// The connection broke, or the body could not be read.
    Network {
        action: String,
        url: String,
        cause: Cause,
    },
    /// The body is not the JSON (or XML) the protocol promises.
    InvalidResponse {
        action: String,
        url: String,
        status: u16,
        cause: Cause,
    },
    /// Bad input that the caller can fix (bad endpoint, bad option).
    InvalidArgument { message: String },
    /// The MNS service answered with an `<Error>` document.
    Mns {
        code: String,
        message: String,
        request_id: String,
        host_id: String,
        status: u16,
        method: String,
        url: String,
    },
    /// A temporary token response without AccessKeyId, AccessKeySecret and SecurityToken.
    TokenFailed,
    /// The caller cancelled the call (an aborted AbortSignal).
    Aborted { action: String },
    /// The server answered with a redirect (3xx). Redirects are never
    /// followed: a signed request goes only where it was configured to.
    Redirect {
        action: String,
        url: String,
        status: u16,
        /// The `Location` header, as sent.
        location: Option<String>,
    },
    /// The proxy the request goes through is down, refused the connection
    /// or the tunnel, or wants credentials. `proxy` is `scheme://host:port`,
    /// never its user name or password.
    Proxy {
        action: String,
        url: String,
        proxy: String,
        cause: Cause,
    },
    /// No credentials could be had: `code` is `SDK.CredentialsNotFound` when
    /// no source of the chain had any, `SDK.CredentialsFailed` when a source
    /// that applies failed (a malformed file, STS or metadata refusing).
    Credentials { code: &'static str, message: String },
}

/// The failure underneath an [`SdkError`], kept whole as its `source()`;
/// `Display` prints it with its own sources ("error sending request:
/// connection refused").
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    /// Keeps `err` (and its chain of sources).
    pub fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(err))
    }
}

/// A cause that is a description only (what was wrong with a reply).
#[derive(Debug)]
struct Described(String);

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Described {}

impl From<String> for Cause {
    fn from(text: String) -> Self {
        Cause::new(Described(text))
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Self {
        Cause::from(text.to_owned())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&error_chain(self.0.as_ref()))
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", error_chain(self.0.as_ref()))
    }
}

/// An error and its sources, innermost last ("error sending request: connection refused").
/// reqwest's own text includes the URL; strip it so the signed query is not repeated.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        let text = match text.find(" for url (") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// What the original reports of an exchange in `err.entry`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpEntry {
    /// The request headers as sent (names lower-case).
    pub request_headers: Vec<(String, String)>,
    /// The HTTP status of the reply.
    pub status: u16,
    /// The reply's headers (names lower-case, repeated names joined by ", ").
    pub response_headers: Vec<(String, String)>,
}

/// Which part of the exchange ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Opening the connection.
    Connect,
    /// Waiting for or reading the response.
    Read,
    /// The whole call, retries and their waits included.
    Total,
}

impl SdkError {
    /// The stable code: the service's own for API errors, `SDK.*` otherwise.
    pub fn code(&self) -> String {
        match self {
            SdkError::Api { code, .. } => code.clone(),
            SdkError::Timeout { .. } => "SDK.Timeout".into(),
            SdkError::Connect { .. } => "SDK.ConnectionFailed".into(),
            SdkError::Tls { .. } => "SDK.TlsError".into(),
            SdkError::Network { .. } => "SDK.NetworkError".into(),
            SdkError::InvalidResponse { .. } => "SDK.InvalidResponse".into(),
            SdkError::InvalidArgument { .. } => "SDK.InvalidArgument".into(),
            SdkError::Mns { code, .. } => format!("MNS.{code}"),
            SdkError::TokenFailed => "SDK.TokenFailed".into(),
            SdkError::Aborted { .. } => "SDK.Aborted".into(),
            SdkError::Credentials { code, .. } => (*code).into(),
            SdkError::Redirect { .. } => "SDK.Redirect".into(),
            SdkError::Proxy { .. } => "SDK.ConnectionFailed".into(),
        }
    }

    /// The JS `name` the original gives this failure.
    pub fn name(&self) -> String {
        match self {
            SdkError::Api { code, .. } => format!("{code}Error"),
            SdkError::Timeout { .. } => "RequestTimeoutError".into(),
            SdkError::Mns { code, .. } => format!("MNS{code}Error"),
            SdkError::TokenFailed => "TypeError".into(),
            // The name fetch gives a cancelled request.
            SdkError::Aborted { .. } => "AbortError".into(),
            _ => "Error".into(),
        }
    }

    /// True for failures where the request may never have reached the service.
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            SdkError::Connect { .. }
                | SdkError::Proxy { .. }
                | SdkError::Tls { .. }
                | SdkError::Timeout {
                    phase: TimeoutPhase::Connect,
                    ..
                }
        )
    }

    /// True when the call ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, SdkError::Timeout { .. })
    }
}

impl fmt::Display for SdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The original's exact message, which callers may parse.
            SdkError::Api { message, url, .. } => write!(f, "{message}, URL: {url}"),
            // Each names the option whose limit fired.
            SdkError::Timeout { action, url, phase: TimeoutPhase::Connect, millis } => write!(
                f,
                "{action}: ConnectTimeout: no connection within {millis} ms (connectTimeout) to {}",
                origin(url)
            ),
            SdkError::Timeout { action, url, phase: TimeoutPhase::Read, millis } => write!(
                f,
                "{action}: ReadTimeout: no complete response within {millis} ms (readTimeout) from {}",
                origin(url)
            ),
            SdkError::Timeout { action, url, phase: TimeoutPhase::Total, millis } => write!(
                f,
                "{action}: Timeout: the call did not complete within {millis} ms (timeout) at {}",
                origin(url)
            ),
            SdkError::Connect { action, url, cause } => {
                write!(f, "{action}: cannot connect to {}: {cause}", origin(url))
            }
            SdkError::Tls { action, url, reason, .. } => {
                write!(f, "{action}: TLS error with {}: {reason}", origin(url))
            }
            SdkError::Network { action, url, cause } => {
                write!(f, "{action}: the connection to {} failed: {cause}", origin(url))
            }
            SdkError::InvalidResponse { action, url, status, cause } => {
                write!(f, "{action}: {} answered HTTP {status} with a body that is not valid: {cause}", origin(url))
            }
            SdkError::InvalidArgument { message } => f.write_str(message),
            // The original's MNS message: `GET <url> failed with 404. requestid: ..., hostid: ..., message: ...`
            SdkError::Mns { message, request_id, host_id, status, method, url, .. } => write!(
                f,
                "{method} {url} failed with {status}. requestid: {request_id}, hostid: {host_id}, message: {message}"
            ),
            SdkError::TokenFailed => f.write_str("get token fail"),
            SdkError::Aborted { action } => write!(f, "{action}: the operation was aborted"),
            SdkError::Credentials { message, .. } => f.write_str(message),
            SdkError::Redirect { action, url, status, location } => {
                write!(f, "{action}: {} answered HTTP {status}", origin(url))?;
                if let Some(location) = location {
                    write!(f, " redirecting to {}", without_query(location))?;
                }
                f.write_str("; redirects are not followed, so the signed request goes nowhere else (set the endpoint to the address that answers)")
            }
            SdkError::Proxy { action, url, proxy, cause } => {
                write!(f, "{action}: cannot reach {} through the proxy {proxy}: {cause}", origin(url))
            }
        }
    }
}

impl std::error::Error for SdkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SdkError::Connect { cause, .. }
            | SdkError::Proxy { cause, .. }
            | SdkError::Tls { cause, .. }
            | SdkError::Network { cause, .. }
            | SdkError::InvalidResponse { cause, .. } => Some(cause.0.as_ref()),
            _ => None,
        }
    }
}

/// Scheme, host and port of a URL: enough to say where, without the signed query.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// A URL without its query (`?...` shown as `?…`): where, not what.
fn without_query(url: &str) -> String {
    match url.split_once('?') {
        Some((before, _)) => format!("{before}?…"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_names_the_status_and_where_without_the_signed_query() {
        let err = SdkError::Redirect {
            action: "BindAxb".into(),
            url: "https://dyplsapi.aliyuncs.com/?Signature=abc".into(),
            status: 301,
            location: Some("http://elsewhere.example/?AccessKeyId=id&Signature=abc".into()),
        };
        let text = err.to_string();
        assert!(
            text.starts_with("BindAxb: https://dyplsapi.aliyuncs.com answered HTTP 301 redirecting to http://elsewhere.example/?…;"),
            "{text}"
        );
        assert!(!text.contains("Signature"), "{text}");
        assert_eq!(err.code(), "SDK.Redirect");
        assert!(!err.is_connect());
        let bare = SdkError::Redirect {
            action: "A".into(),
            url: "http://h/".into(),
            status: 304,
            location: None,
        };
        assert!(bare
            .to_string()
            .starts_with("A: http://h answered HTTP 304; redirects"));
    }

    #[test]
    fn a_proxy_failure_names_the_proxy() {
        let err = SdkError::Proxy {
            action: "BindAxb".into(),
            url: "https://dyplsapi.aliyuncs.com/?q".into(),
            proxy: "http://127.0.0.1:3128".into(),
            cause: "connection refused".into(),
        };
        assert_eq!(
            err.to_string(),
            "BindAxb: cannot reach https://dyplsapi.aliyuncs.com through the proxy http://127.0.0.1:3128: connection refused"
        );
        assert_eq!(err.code(), "SDK.ConnectionFailed");
        assert!(err.is_connect());
    }

    #[test]
    fn api_error_keeps_the_original_message_and_name() {
        let err = SdkError::Api {
            code: "isv.BIND_CONFLICT".into(),
            message: "bind conflict".into(),
            data: serde_json::Value::Null,
            url: "http://h/?a=b".into(),
            entry: None,
        };
        assert_eq!(err.to_string(), "bind conflict, URL: http://h/?a=b");
        assert_eq!(err.name(), "isv.BIND_CONFLICTError");
        assert_eq!(err.code(), "isv.BIND_CONFLICT");
    }

    #[test]
    fn transport_errors_name_the_action_and_not_the_query() {
        let err = SdkError::Timeout {
            action: "BindAxb".into(),
            url: "https://dyplsapi.aliyuncs.com/?Signature=x".into(),
            phase: TimeoutPhase::Read,
            millis: 3000,
        };
        let text = err.to_string();
        assert!(text.starts_with("BindAxb: ReadTimeout"), "{text}");
        assert!(
            text.contains("https://dyplsapi.aliyuncs.com") && !text.contains("Signature"),
            "{text}"
        );
        assert_eq!(err.code(), "SDK.Timeout");
        assert!(err.is_timeout() && !err.is_connect());
    }

    #[test]
    fn the_underlying_failure_is_the_source_and_is_printed_with_its_chain() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let err = SdkError::Connect {
            action: "BindAxb".into(),
            url: "http://h:1/?q".into(),
            cause: Cause::new(io),
        };
        let source = err.source().expect("a source");
        assert_eq!(source.to_string(), "connection refused");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(
            err.to_string(),
            "BindAxb: cannot connect to http://h:1: connection refused"
        );
        let described = SdkError::InvalidResponse {
            action: "A".into(),
            url: "u".into(),
            status: 502,
            cause: "html".into(),
        };
        assert_eq!(
            described.source().map(|s| s.to_string()),
            Some("html".to_string())
        );
        assert!(SdkError::TokenFailed.source().is_none());
    }
}
