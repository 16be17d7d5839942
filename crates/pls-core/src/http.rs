//! The HTTP layer: one reqwest client for the whole process, and one send
//! routine that bounds each phase of an exchange by its own limit and maps
//! failures to [`SdkError`].
//!
//! reqwest's own connect timeout is a property of the client, so a per-call
//! connect limit would need a client (TLS roots, a pool) per distinct value.
//! Instead the single client carries a small connector layer that tells the
//! exchange in flight when its connection starts and finishes opening; the
//! send routine then runs the connect limit over the connect alone and the
//! read limit from the moment the request can be written.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{error_chain, Cause, SdkError, TimeoutPhase};

/// The pooled keep-alive client for a client with these extra CA
/// certificates. Building one costs milliseconds (TLS roots) and each holds
/// its own pool, so every PlsClient without a `ca` option shares one,
/// whatever its timeouts; one with a `ca` option gets its own, kept as long
/// as that PlsClient is.
pub fn shared_client(extra_ca: &[String]) -> Result<reqwest::Client, SdkError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    if !extra_ca.is_empty() {
        return build_client(extra_ca);
    }
    CLIENT
        .get_or_init(|| build_client(&[]).map_err(|err| err.to_string()))
        .clone()
        .map_err(|message| SdkError::InvalidArgument { message })
}

/// Where a client is configured: pool, TLS trust, the connect-phase layer.
fn build_client(extra_ca: &[String]) -> Result<reqwest::Client, SdkError> {
    // The TLS configuration carries its own crypto provider (ring: it builds
    // faster and smaller than aws-lc-rs), so no process default is installed.
    let tls = crate::tls::client_config(extra_ca)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        // The original ignores proxy variables; so do we, for the same requests.
        .no_proxy()
        // Retries are ours (crate::retry). reqwest's default policy only
        // retries HTTP/2 refusals, which this client never speaks, yet it
        // copies every request (headers, URI, extensions) in case it must.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .connector_layer(ConnectPhaseLayer)
        .build()
        .map_err(|err| SdkError::InvalidArgument {
            message: format!("cannot build the HTTP client: {}", error_chain(&err)),
        })
}

/// How far the exchange in flight has got with its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectState {
    /// No new connection asked for (yet): a pooled one is written to at once.
    Pooled,
    /// A new connection started opening at this instant.
    Opening(Instant),
    /// The new connection is open (TCP and TLS) since this instant.
    Open(Instant),
}

/// What the connector layer needs from the exchange that is being polled.
struct ExchangeScope {
    report: watch::Sender<ConnectState>,
    connect_timeout: Duration,
}

tokio::task_local! {
    /// The exchange being polled, for the connector layer to report to.
    static EXCHANGE: ExchangeScope;
}

/// Wraps reqwest's connector so that opening a connection is reported to
/// the exchange that asked for it.
#[derive(Debug, Clone, Copy)]
struct ConnectPhaseLayer;

impl<S> tower_layer::Layer<S> for ConnectPhaseLayer {
    type Service = ConnectPhase<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConnectPhase { inner }
    }
}

/// The connector service with phase reporting (see [`ConnectPhaseLayer`]).
#[derive(Debug, Clone)]
struct ConnectPhase<S> {
    inner: S,
}

impl<S, Target> tower_service::Service<Target> for ConnectPhase<S>
where
    S: tower_service::Service<Target>,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: From<tokio::time::error::Elapsed> + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, target: Target) -> Self::Future {
        // The connector is called while the exchange's future is polled, so
        // the task-local names the exchange that wants this connection.
        let exchange = EXCHANGE
            .try_with(|exchange| (exchange.report.clone(), exchange.connect_timeout))
            .ok();
        let connecting = self.inner.call(target);
        Box::pin(async move {
            let Some((report, limit)) = exchange else {
                return connecting.await;
            };
            report.send_replace(ConnectState::Opening(Instant::now()));
            // The exchange enforces the limit itself; this bound matters only
            // when the pool hands the exchange another connection first and
            // this one is left to finish in the background.
            let opened = tokio::time::timeout(limit, connecting).await??;
            report.send_replace(ConnectState::Open(Instant::now()));
            Ok(opened)
        })
    }
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
    /// Time allowed to open a new connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time allowed for the whole response, from when the request can be written.
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

/// Sends and reads the whole reply. A new connection must open within the
/// connect timeout; the read timeout runs from the moment the request can be
/// written (at once on a pooled connection, else once the new one is open),
/// as the original's read timer does.
pub async fn send(client: &reqwest::Client, mut exchange: Exchange<'_>) -> Result<Reply, SdkError> {
    let started = Instant::now();
    let (report, mut state) = watch::channel(ConnectState::Pooled);
    let scope = ExchangeScope {
        report,
        connect_timeout: exchange.connect_timeout,
    };
    // Built in place and pinned where it stands: a future held in a local
    // and then moved into another future is stored twice in the task.
    let work =
        std::pin::pin!(EXCHANGE.scope(scope, exchange_once(client, build_request(&mut exchange)?)));
    let reply = race_limits(&exchange, started, &mut state, work).await?;
    decompress(&exchange, reply)
}

/// The reqwest request for `exchange`, its body taken.
fn build_request(exchange: &mut Exchange<'_>) -> Result<reqwest::Request, SdkError> {
    let method = reqwest::Method::from_bytes(exchange.method.as_bytes()).map_err(|_| {
        SdkError::InvalidArgument {
            message: format!(
                "{}: {:?} is not an HTTP method",
                exchange.action, exchange.method
            ),
        }
    })?;
    let url = parse_url(exchange.url).map_err(|err| SdkError::InvalidArgument {
        message: format!(
            "{}: cannot build the request: {:?} is not a valid URL: {err}",
            exchange.action, exchange.url
        ),
    })?;
    let mut request = reqwest::Request::new(method, url);
    let headers = request.headers_mut();
    headers.reserve(exchange.headers.len());
    for (name, value) in exchange.headers {
        let invalid = |what: &str| SdkError::InvalidArgument {
            message: format!(
                "{}: cannot build the request: header {name:?} has an invalid {what}",
                exchange.action
            ),
        };
        let name = header_name(name).map_err(|_| invalid("name"))?;
        let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| invalid("value"))?;
        headers.append(name, value);
    }
    if let Some(body) = exchange.body.take() {
        *request.body_mut() = Some(body.into());
    }
    Ok(request)
}

/// The header name, without parsing when it is one the SDK sends itself.
fn header_name(
    name: &str,
) -> Result<reqwest::header::HeaderName, reqwest::header::InvalidHeaderName> {
    use reqwest::header::{HeaderName, AUTHORIZATION, CONTENT_TYPE, DATE, HOST, USER_AGENT};
    Ok(match name {
        "x-sdk-client" => HeaderName::from_static("x-sdk-client"),
        "user-agent" => USER_AGENT,
        "x-acs-action" => HeaderName::from_static("x-acs-action"),
        "x-acs-version" => HeaderName::from_static("x-acs-version"),
        "content-type" => CONTENT_TYPE,
        "authorization" => AUTHORIZATION,
        "host" => HOST,
        "date" => DATE,
        _ => HeaderName::from_bytes(name.as_bytes())?,
    })
}

/// Parses a request URL. Calls to one endpoint differ only in their query,
/// so the part before it is parsed once per thread and each call sets only
/// its query on a copy: the same URL as a full parse, without re-reading
/// the scheme and host (IDNA included) every time.
fn parse_url(url: &str) -> Result<reqwest::Url, String> {
    use std::cell::RefCell;
    thread_local! {
        static LAST_BASE: RefCell<Option<(String, reqwest::Url)>> = const { RefCell::new(None) };
    }
    // Only a query of visible ASCII without '#' reads the same set on its
    // own (a full parse also trims spaces and drops tabs and newlines); a
    // signed query is always one.
    let plain = |query: &str| query.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    let Some((base, query)) = url.split_once('?').filter(|(_, query)| plain(query)) else {
        return reqwest::Url::parse(url).map_err(|err| err.to_string());
    };
    LAST_BASE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let mut parsed = match slot.as_ref() {
            Some((text, parsed)) if text == base => parsed.clone(),
            _ => {
                let parsed = reqwest::Url::parse(base).map_err(|err| err.to_string())?;
                *slot = Some((base.to_owned(), parsed.clone()));
                parsed
            }
        };
        parsed.set_query(Some(query));
        Ok(parsed)
    })
}

/// One request on the wire and its whole reply.
async fn exchange_once(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<Reply, reqwest::Error> {
    let mut response = client.execute(request).await?;
    let status = response.status().as_u16();
    let headers = std::mem::take(response.headers_mut());
    let body = response.bytes().await?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Drives `work` under the limit of the phase it is in (see [`send`]).
async fn race_limits(
    exchange: &Exchange<'_>,
    started: Instant,
    state: &mut watch::Receiver<ConnectState>,
    mut work: Pin<&mut impl Future<Output = Result<Reply, reqwest::Error>>>,
) -> Result<Reply, SdkError> {
    loop {
        let (deadline, phase, limit) = match *state.borrow_and_update() {
            ConnectState::Pooled => (
                started + exchange.read_timeout,
                TimeoutPhase::Read,
                exchange.read_timeout,
            ),
            ConnectState::Opening(at) => (
                at + exchange.connect_timeout,
                TimeoutPhase::Connect,
                exchange.connect_timeout,
            ),
            ConnectState::Open(at) => (
                at + exchange.read_timeout,
                TimeoutPhase::Read,
                exchange.read_timeout,
            ),
        };
        tokio::select! {
            biased;
            outcome = work.as_mut() => {
                return outcome.map_err(|err| map_reqwest_error(exchange, err));
            }
            // The sender lives inside `work`, so this only ends with a change.
            Ok(()) = state.changed() => continue,
            () = tokio::time::sleep_until(deadline) => {
                return Err(SdkError::Timeout {
                    action: exchange.action.into(),
                    url: exchange.url.into(),
                    phase,
                    millis: limit.as_millis() as u64,
                });
            }
        }
    }
}

/// A decoded body may be at most this large: a small compressed reply must
/// not be able to fill the memory.
pub const MAX_DECODED_BODY: usize = 64 << 20;

/// Undoes a `gzip` or `deflate` content-encoding, as the original's HTTP
/// client does, so such a reply reads the same as a plain one.
fn decompress(exchange: &Exchange<'_>, mut reply: Reply) -> Result<Reply, SdkError> {
    use std::io::Read;
    let encoding = match reply
        .headers
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        Some(encoding) => encoding.trim().to_ascii_lowercase(),
        None => return Ok(reply),
    };
    let mut decoded = Vec::new();
    let body = &reply.body[..];
    let read = match encoding.as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(body)
            .take(MAX_DECODED_BODY as u64 + 1)
            .read_to_end(&mut decoded),
        "deflate" => flate2::read::ZlibDecoder::new(body)
            .take(MAX_DECODED_BODY as u64 + 1)
            .read_to_end(&mut decoded),
        _ => return Ok(reply),
    };
    let invalid = |cause: String| SdkError::InvalidResponse {
        action: exchange.action.into(),
        url: exchange.url.into(),
        status: reply.status,
        cause: cause.into(),
    };
    match read {
        Err(err) => {
            return Err(invalid(format!(
                "the {encoding} body cannot be decoded: {err}"
            )))
        }
        Ok(_) if decoded.len() > MAX_DECODED_BODY => {
            return Err(invalid(format!(
                "the {encoding} body decodes to more than {MAX_DECODED_BODY} bytes"
            )))
        }
        Ok(_) => {}
    }
    reply.body = bytes::Bytes::from(decoded);
    Ok(reply)
}

fn map_reqwest_error(exchange: &Exchange<'_>, err: reqwest::Error) -> SdkError {
    let action = exchange.action.to_owned();
    let url = exchange.url.to_owned();
    if err.is_builder() {
        // e.g. a GET whose signed query is longer than a URI may be.
        return SdkError::InvalidArgument {
            message: format!("{action}: the request cannot be sent: {} (a very long query can go as options.method 'POST')", error_chain(&err)),
        };
    }
    if err.is_connect() && (err.is_timeout() || caused_by::<tokio::time::error::Elapsed>(&err)) {
        let millis = exchange.connect_timeout.as_millis() as u64;
        SdkError::Timeout {
            action,
            url,
            phase: TimeoutPhase::Connect,
            millis,
        }
    } else if err.is_timeout() {
        let millis = exchange.read_timeout.as_millis() as u64;
        SdkError::Timeout {
            action,
            url,
            phase: TimeoutPhase::Read,
            millis,
        }
    } else if let Some(reason) = crate::tls::failure_reason(&err) {
        SdkError::Tls {
            action,
            url,
            reason,
            cause: Cause::new(err),
        }
    } else if err.is_connect() {
        SdkError::Connect {
            action,
            url,
            cause: Cause::new(err),
        }
    } else {
        SdkError::Network {
            action,
            url,
            cause: Cause::new(err),
        }
    }
}

/// Whether `E` is somewhere in the error's chain of sources.
fn caused_by<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<E>() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    fn exchange(url: &str, connect_ms: u64, read_ms: u64) -> Exchange<'_> {
        Exchange {
            action: "BindAxb",
            method: "GET",
            url,
            headers: &[],
            body: None,
            connect_timeout: Duration::from_millis(connect_ms),
            read_timeout: Duration::from_millis(read_ms),
        }
    }

    /// Fails the test instead of hanging it when a limit does not fire.
    async fn bounded<T>(future: impl Future<Output = T>) -> T {
        match tokio::time::timeout(Duration::from_secs(20), future).await {
            Ok(output) => output,
            Err(_) => panic!("the exchange outlived every limit it was given"),
        }
    }

    #[tokio::test]
    async fn the_connect_limit_bounds_a_connect_that_never_completes() {
        // An accept queue of one, filled and never accepted: the kernel then
        // drops new SYNs, so a further connect hangs.
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = socket.local_addr().unwrap();
        let _listener = socket.listen(1).unwrap();
        let mut held = Vec::new();
        while let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(address)).await
        {
            held.push(stream);
            assert!(held.len() < 64, "the accept queue never filled");
        }
        let url = format!("http://{address}/");
        let err = bounded(send(
            &shared_client(&[]).unwrap(),
            exchange(&url, 300, 60_000),
        ))
        .await
        .err()
        .unwrap();
        assert!(
            matches!(
                err,
                SdkError::Timeout {
                    phase: TimeoutPhase::Connect,
                    millis: 300,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("ConnectTimeout: no connection within 300 ms (connectTimeout)"),
            "{err}"
        );
        assert!(err.is_connect());
    }

    #[tokio::test]
    async fn the_read_limit_runs_from_the_open_connection_not_after_the_connect_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let silent = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut sink = vec![0u8; 4096];
            // Read the request, answer nothing.
            while socket.read(&mut sink).await.map(|n| n > 0).unwrap_or(false) {}
        });
        // Were the read limit counted after the connect limit, this would wait a minute.
        let err = bounded(send(
            &shared_client(&[]).unwrap(),
            exchange(&url, 60_000, 300),
        ))
        .await
        .err()
        .unwrap();
        assert!(
            matches!(
                err,
                SdkError::Timeout {
                    phase: TimeoutPhase::Read,
                    millis: 300,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("ReadTimeout: no complete response within 300 ms (readTimeout)"),
            "{err}"
        );
        silent.abort();
    }

    #[test]
    fn a_url_built_on_the_cached_base_is_the_url_a_full_parse_gives() {
        let urls = [
            "http://127.0.0.1:8080/?AccessKeyId=id&Action=BindAxb&Signature=a%2Bb%3D",
            "http://127.0.0.1:8080/?Action=QueryCallStatus&Timestamp=2018-08-01T00%3A00%3A00Z",
            "https://dyplsapi.aliyuncs.com/?a=1",
            "https://Dyplsapi.Aliyuncs.com:443/?b=2",
            "http://[::1]:9/?x=%E4%B8%AD&y=raw space",
            "http://例子.测试/path/?q=1",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/?frag=1#hash",
            "http://127.0.0.1:8080/??double",
        ];
        // Twice over, so the second pass takes every URL from a warm cache.
        for url in urls.iter().chain(urls.iter()) {
            let expected = reqwest::Url::parse(url).unwrap();
            assert_eq!(parse_url(url).unwrap(), expected, "{url}");
            assert_eq!(parse_url(url).unwrap().as_str(), expected.as_str());
        }
        assert!(parse_url("not a url?x=1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_query_on_the_cached_base_matches_a_full_parse(query in "\\PC{0,200}") {
            let url = format!("http://127.0.0.1:8080/?{query}");
            let expected = reqwest::Url::parse(&url).unwrap();
            let cached = parse_url(&url).unwrap();
            proptest::prop_assert_eq!(cached.as_str(), expected.as_str());
        }
    }

    fn reply_with(encoding: &str, body: Vec<u8>) -> Reply {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::CONTENT_ENCODING, encoding.parse().unwrap());
        Reply {
            status: 200,
            headers,
            body: bytes::Bytes::from(body),
        }
    }

    #[test]
    fn gzip_and_deflate_bodies_are_decoded_and_bombs_refused() {
        let text = br#"{"Code":"OK"}"#;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(text).unwrap();
        let decoded = decompress(
            &exchange("u", 1, 1),
            reply_with("gzip", gzip.finish().unwrap()),
        )
        .ok()
        .unwrap();
        assert_eq!(&decoded.body[..], text);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(text).unwrap();
        let decoded = decompress(
            &exchange("u", 1, 1),
            reply_with("deflate", zlib.finish().unwrap()),
        )
        .ok()
        .unwrap();
        assert_eq!(&decoded.body[..], text);
        // Not compressed after all: an SDK error, not garbage handed on.
        let err = decompress(&exchange("u", 1, 1), reply_with("gzip", text.to_vec()))
            .err()
            .unwrap();
        assert_eq!(err.code(), "SDK.InvalidResponse");
        // A small body that would decode past the limit.
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        bomb.write_all(&vec![b' '; MAX_DECODED_BODY + 1]).unwrap();
        let err = decompress(
            &exchange("u", 1, 1),
            reply_with("gzip", bomb.finish().unwrap()),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("decodes to more than"), "{err}");
        // Other encodings pass through untouched.
        let same = decompress(&exchange("u", 1, 1), reply_with("br", text.to_vec()))
            .ok()
            .unwrap();
        assert_eq!(&same.body[..], text);
    }
}
