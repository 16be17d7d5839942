//! The HTTP layer: reqwest clients shared across the process, one per
//! connect timeout, and one send routine that maps failures to [`SdkError`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::error::{SdkError, TimeoutPhase};

/// A pooled keep-alive client for this connect timeout. Building one costs
/// milliseconds (TLS roots), so every PlsClient with the same timeout shares it.
pub fn shared_client(connect_timeout: Duration) -> Result<reqwest::Client, SdkError> {
    static CLIENTS: OnceLock<Mutex<HashMap<Duration, reqwest::Client>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(|| {
        // reqwest is built without a default crypto provider; ring builds
        // faster and smaller than aws-lc-rs. An earlier install (by another
        // crate in the process) is fine too, hence the ignored result.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Mutex::new(HashMap::new())
    });
    let mut clients = clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(client) = clients.get(&connect_timeout) {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        // The original ignores proxy variables; so do we, for the same requests.
        .no_proxy()
        .build()
        .map_err(|err| SdkError::InvalidArgument {
            message: format!("cannot build the HTTP client: {err}"),
        })?;
    clients.insert(connect_timeout, client.clone());
    Ok(client)
}

/// One exchange's description, for sending and for error messages.
pub struct Exchange<'a> {
    /// The action (or MNS operation) named in errors.
    pub action: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Full URL.
    pub url: &'a str,
    /// Headers in order.
    pub headers: &'a [(String, String)],
    /// Request body.
    pub body: Option<String>,
    /// Connect timeout (reported in errors; the client enforces it).
    pub connect_timeout: Duration,
    /// Time for the whole response once connected.
    pub read_timeout: Duration,
}

/// The status, headers and whole body of a reply.
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: bytes::Bytes,
}

/// Sends and reads the whole reply. The read timeout runs from the moment
/// the request is sent, as the original's read timer does on a pooled
/// connection; a new connection must also open within the connect timeout,
/// and nothing waits longer than the larger of the two.
pub async fn send(client: &reqwest::Client, mut exchange: Exchange<'_>) -> Result<Reply, SdkError> {
    let method = reqwest::Method::from_bytes(exchange.method.as_bytes()).map_err(|_| {
        SdkError::InvalidArgument {
            message: format!(
                "{}: {:?} is not an HTTP method",
                exchange.action, exchange.method
            ),
        }
    })?;
    let mut builder = client.request(method, exchange.url);
    for (name, value) in exchange.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = exchange.body.take() {
        builder = builder.body(body);
    }
    let request = builder.build().map_err(|err| SdkError::InvalidArgument {
        message: format!(
            "{}: cannot build the request: {}",
            exchange.action,
            error_chain(&err)
        ),
    })?;

    let deadline = exchange.read_timeout.max(exchange.connect_timeout);
    let work = async {
        let response = client.execute(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>(Reply {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(deadline, work).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(err)) => Err(map_reqwest_error(&exchange, &err)),
        Err(_) => Err(SdkError::Timeout {
            action: exchange.action.into(),
            url: exchange.url.into(),
            phase: TimeoutPhase::Read,
            millis: exchange.read_timeout.as_millis() as u64,
        }),
    }
}

fn map_reqwest_error(exchange: &Exchange<'_>, err: &reqwest::Error) -> SdkError {
    let action = exchange.action.to_owned();
    let url = exchange.url.to_owned();
    if err.is_builder() {
        // e.g. a GET whose signed query is longer than a URI may be.
        return SdkError::InvalidArgument {
            message: format!("{action}: the request cannot be sent: {} (a very long query can go as options.method 'POST')", error_chain(err)),
        };
    }
    if err.is_timeout() {
        let (phase, millis) = if err.is_connect() {
            (TimeoutPhase::Connect, exchange.connect_timeout)
        } else {
            (TimeoutPhase::Read, exchange.read_timeout)
        };
        SdkError::Timeout {
            action,
            url,
            phase,
            millis: millis.as_millis() as u64,
        }
    } else if err.is_connect() {
        SdkError::Connect {
            action,
            url,
            cause: error_chain(err),
        }
    } else {
        SdkError::Network {
            action,
            url,
            cause: error_chain(err),
        }
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
