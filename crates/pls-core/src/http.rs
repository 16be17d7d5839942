//! The HTTP layer: one send routine that bounds each phase of an exchange
//! by its own limit, tells a request lost to a stale pooled connection
//! from one the server may have seen, and maps failures to [`SdkError`].
//!
//! reqwest's own connect timeout is a property of the client, so a per-call
//! connect limit would need a client (TLS roots, a pool) per distinct value.
//! Instead every client carries a small connector layer that tells the
//! exchange in flight when its connection starts and finishes opening, and
//! which connection that is; the send routine then runs the connect limit
//! over the connect alone, the read limit from the moment the request can
//! be written, and on a failure knows whether the request went on a
//! connection it opened itself or on one the pool handed it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{error_chain, Cause, SdkError, TimeoutPhase};
use crate::transport::{Route, Transport};

/// The local and remote address of a connection: while it is open, no
/// other connection has both.
type ConnectionId = (SocketAddr, SocketAddr);

/// How far the exchange in flight has got with its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectState {
    /// No new connection asked for (yet): a pooled one is written to at once.
    Pooled,
    /// A new connection started opening at this instant.
    Opening(Instant),
    /// The new connection is open (TCP and TLS) since this instant.
    Open(Instant, Option<ConnectionId>),
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
pub(crate) struct ConnectPhaseLayer;

impl<S> tower_layer::Layer<S> for ConnectPhaseLayer {
    type Service = ConnectPhase<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConnectPhase { inner }
    }
}

/// The connector service with phase reporting (see [`ConnectPhaseLayer`]).
#[derive(Debug, Clone)]
pub(crate) struct ConnectPhase<S> {
    inner: S,
}

impl<S, Target> tower_service::Service<Target> for ConnectPhase<S>
where
    S: tower_service::Service<Target>,
    S::Future: Send + 'static,
    S::Response: hyper_util::client::legacy::connect::Connection + 'static,
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
            let id = connection_id(&hyper_util::client::legacy::connect::Connection::connected(
                &opened,
            ));
            report.send_replace(ConnectState::Open(Instant::now(), id));
            Ok(opened)
        })
    }
}

/// The addresses hyper's connector records for a TCP connection.
fn connection_id(
    connected: &hyper_util::client::legacy::connect::Connected,
) -> Option<ConnectionId> {
    let mut extras = http::Extensions::new();
    connected.get_extras(&mut extras);
    let info = extras.get::<hyper_util::client::legacy::connect::HttpInfo>()?;
    Some((info.local_addr(), info.remote_addr()))
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
    pub body: Option<&'a str>,
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

/// A failed exchange, and whether it may be sent again as it is.
#[derive(Debug)]
pub struct Failed {
    /// What went wrong.
    pub error: SdkError,
    /// The request went on a pooled connection that was found closed (or
    /// reset) before any of the reply arrived: the server closed it as
    /// idle, and almost surely never saw the request.
    pub stale: bool,
}

impl From<SdkError> for Failed {
    fn from(error: SdkError) -> Self {
        Failed {
            error,
            stale: false,
        }
    }
}

/// Sends and reads the whole reply (see [`send_via`]); a request lost to a
/// stale pooled connection is sent once more, as it is, on a new one.
pub async fn send(transport: &Transport, exchange: Exchange<'_>) -> Result<Reply, SdkError> {
    match send_via(transport, Route::Pooled, &exchange).await {
        Err(Failed { stale: true, .. }) => send_via(transport, Route::Fresh, &exchange)
            .await
            .map_err(|failed| failed.error),
        other => other.map_err(|failed| failed.error),
    }
}

/// Sends once on `route` and reads the whole reply. A new connection must
/// open within the connect timeout; the read timeout runs from the moment
/// the request can be written (at once on a pooled connection, else once
/// the new one is open), as the original's read timer does. A 3xx is an
/// error: redirects are never followed.
pub async fn send_via(
    transport: &Transport,
    route: Route,
    exchange: &Exchange<'_>,
) -> Result<Reply, Failed> {
    let started = Instant::now();
    let client = transport.client(route)?;
    let (report, mut state) = watch::channel(ConnectState::Pooled);
    let scope = ExchangeScope {
        report,
        connect_timeout: exchange.connect_timeout,
    };
    // Built in place and pinned where it stands: a future held in a local
    // and then moved into another future is stored twice in the task.
    let work =
        std::pin::pin!(EXCHANGE.scope(scope, exchange_once(client, build_request(exchange)?)));
    let reply = race_limits(transport, exchange, started, &mut state, work).await?;
    if (300..400).contains(&reply.status) {
        return Err(SdkError::Redirect {
            action: exchange.action.into(),
            url: exchange.url.into(),
            status: reply.status,
            location: reply
                .headers
                .get(reqwest::header::LOCATION)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        }
        .into());
    }
    if reply.status == 407 {
        // A forward proxy (plain http:// endpoints) answers for itself.
        if let Some(proxy) = transport.proxy_for(exchange.url) {
            return Err(SdkError::Proxy {
                action: exchange.action.into(),
                url: exchange.url.into(),
                proxy: proxy.shown().into(),
                cause: "the proxy answered HTTP 407: it wants credentials (user:password@ in the proxy URL) or refused them".into(),
            }
            .into());
        }
    }
    Ok(decompress(exchange, reply)?)
}

/// The reqwest request for `exchange`.
fn build_request(exchange: &Exchange<'_>) -> Result<reqwest::Request, SdkError> {
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
    if let Some(body) = exchange.body {
        *request.body_mut() = Some(bytes::Bytes::copy_from_slice(body.as_bytes()).into());
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

/// Drives `work` under the limit of the phase it is in (see [`send_via`]).
async fn race_limits(
    transport: &Transport,
    exchange: &Exchange<'_>,
    started: Instant,
    state: &mut watch::Receiver<ConnectState>,
    mut work: Pin<&mut impl Future<Output = Result<Reply, reqwest::Error>>>,
) -> Result<Reply, Failed> {
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
            ConnectState::Open(at, _) => (
                at + exchange.read_timeout,
                TimeoutPhase::Read,
                exchange.read_timeout,
            ),
        };
        tokio::select! {
            biased;
            outcome = work.as_mut() => {
                return outcome.map_err(|err| {
                    let stale = lost_to_a_stale_connection(&err, *state.borrow());
                    Failed { error: map_reqwest_error(transport, exchange, err), stale }
                });
            }
            // The sender lives inside `work`, so this only ends with a change.
            Ok(()) = state.changed() => continue,
            () = tokio::time::sleep_until(deadline) => {
                return Err(SdkError::Timeout {
                    action: exchange.action.into(),
                    url: exchange.url.into(),
                    phase,
                    millis: limit.as_millis() as u64,
                }.into());
            }
        }
    }
}

/// Whether `err` is a request that went on a connection this exchange did
/// not open (a pooled one) and that closed or was reset before any byte of
/// the reply arrived: what happens when the server (or a load balancer)
/// closes an idle connection just as a request is written to it.
fn lost_to_a_stale_connection(err: &reqwest::Error, state: ConnectState) -> bool {
    // Sending failed (not reading the body: the reply had begun), and not
    // because a connection could not be opened or a limit fired.
    if !err.is_request() || err.is_connect() || err.is_timeout() || err.is_body() {
        return false;
    }
    let (failed_on, before_reply) = classify_chain(err);
    if !before_reply {
        return false;
    }
    match (failed_on, state) {
        // The connection this exchange opened is the one that failed.
        (Some(failed), ConnectState::Open(_, Some(opened))) => failed != opened,
        // Opened one whose addresses are unknown: assume it was that one.
        (_, ConnectState::Open(_, None)) => false,
        // Never opened one (or it is still opening): the pool's was used.
        (Some(_), _) | (None, ConnectState::Pooled) => true,
        (None, _) => false,
    }
}

/// The connection a send failed on (when hyper says), and whether the
/// failure is one that happens before any of the reply is read: the
/// connection closed (hyper's `IncompleteMessage`, or the request was
/// never dispatched: `is_canceled`, `is_closed`) or the kernel reports it
/// gone (ECONNRESET, EPIPE, ECONNABORTED, ENOTCONN). A reply that began
/// and then broke is a parse or body error, never one of these.
fn classify_chain(err: &(dyn std::error::Error + 'static)) -> (Option<ConnectionId>, bool) {
    use std::io::ErrorKind;
    let mut failed_on = None;
    let mut before_reply = false;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(client) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            failed_on = failed_on.or_else(|| client.connect_info().and_then(connection_id));
        } else if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            if hyper.is_parse() || hyper.is_user() || hyper.is_timeout() {
                return (failed_on, false);
            }
            before_reply |= hyper.is_incomplete_message()
                || hyper.is_canceled()
                || hyper.is_closed()
                || hyper.is_body_write_aborted();
        } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
            before_reply |= matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::NotConnected
                    | ErrorKind::UnexpectedEof
            );
        }
        current = e.source();
    }
    (failed_on, before_reply)
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

fn map_reqwest_error(
    transport: &Transport,
    exchange: &Exchange<'_>,
    err: reqwest::Error,
) -> SdkError {
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
        match transport.proxy_for(exchange.url) {
            // Down, refusing, or refusing the tunnel: the proxy is the one to fix.
            Some(proxy) => SdkError::Proxy {
                action,
                url,
                proxy: proxy.shown().into(),
                cause: Cause::new(err),
            },
            None => SdkError::Connect {
                action,
                url,
                cause: Cause::new(err),
            },
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
    use crate::test_support::{scripted, Step};
    use crate::transport::TransportOptions;
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    const OK: &str = r#"{"Code":"OK"}"#;

    fn steps(
        log: &std::sync::Mutex<Vec<crate::test_support::Received>>,
    ) -> Vec<(usize, usize, Step)> {
        log.lock()
            .unwrap()
            .iter()
            .map(|r| (r.connection, r.index, r.step))
            .collect()
    }

    #[tokio::test]
    async fn a_request_lost_to_a_closed_pooled_connection_is_sent_again_on_a_new_one() {
        for kill in [Step::Close, Step::Reset] {
            // The first connection answers once, then dies under the next request.
            let (url, log) = scripted(move |connection, index, _| match (connection, index) {
                (0, 0) => Step::Answer(200, OK),
                (0, _) => kill,
                _ => Step::Answer(200, OK),
            })
            .await;
            let transport = Transport::for_options(TransportOptions {
                max_idle_per_host: Some(1),
                ..TransportOptions::direct()
            })
            .unwrap();
            let first = bounded(send(&transport, exchange(&url, 2000, 2000))).await;
            assert_eq!(first.ok().unwrap().status, 200);
            // Seen on its own, the second request is lost to a stale connection...
            let lost = bounded(send_via(
                &transport,
                Route::Pooled,
                &exchange(&url, 2000, 2000),
            ))
            .await
            .err()
            .unwrap();
            assert!(lost.stale, "{kill:?}: {:?}", lost.error);
            assert_eq!(lost.error.code(), "SDK.NetworkError");
            assert_eq!(
                steps(&log),
                [(0, 0, Step::Answer(200, OK)), (0, 1, kill)],
                "{kill:?}"
            );
        }
    }

    #[tokio::test]
    async fn send_resends_once_on_a_new_connection() {
        let (url, log) = scripted(|connection, index, _| match (connection, index) {
            (0, 1) => Step::Close,
            (1, 0) => Step::Reset,
            _ => Step::Answer(200, OK),
        })
        .await;
        let transport = Transport::for_options(TransportOptions {
            max_idle_per_host: Some(2),
            ..TransportOptions::direct()
        })
        .unwrap();
        assert!(bounded(send(&transport, exchange(&url, 2000, 2000)))
            .await
            .is_ok());
        // Closed under the request, then sent again on a new connection,
        // which resets: that failure is final, not sent a third time.
        let err = bounded(send(&transport, exchange(&url, 2000, 2000)))
            .await
            .err()
            .unwrap();
        assert_eq!(err.code(), "SDK.NetworkError", "{err}");
        assert_eq!(
            steps(&log),
            [
                (0, 0, Step::Answer(200, OK)),
                (0, 1, Step::Close),
                (1, 0, Step::Reset)
            ]
        );
        // The resend's connection was not kept: the next request opens another.
        assert!(bounded(send(&transport, exchange(&url, 2000, 2000)))
            .await
            .is_ok());
        assert_eq!(steps(&log)[3], (2, 0, Step::Answer(200, OK)));
    }

    #[tokio::test]
    async fn a_new_connection_that_breaks_is_not_stale() {
        for kill in [Step::Close, Step::Reset] {
            let (url, log) = scripted(move |_, _, _| kill).await;
            let failed = bounded(send_via(
                &direct(),
                Route::Pooled,
                &exchange(&url, 2000, 2000),
            ))
            .await
            .err()
            .unwrap();
            assert!(!failed.stale, "{kill:?}");
            assert_eq!(failed.error.code(), "SDK.NetworkError");
            assert_eq!(steps(&log).len(), 1);
        }
    }

    #[tokio::test]
    async fn redirects_are_answers_never_followed() {
        let (elsewhere, followed) = scripted(|_, _, _| Step::Answer(200, OK)).await;
        for status in [301u16, 302, 303, 307, 308] {
            for method in ["GET", "POST"] {
                let target = format!("{elsewhere}/path?Signature=x");
                let location: &'static str = Box::leak(target.into_boxed_str());
                let (url, log) = scripted(move |_, _, _| Step::Redirect(status, location)).await;
                let mut request = exchange(&url, 2000, 2000);
                request.method = method;
                request.body = (method == "POST").then_some("a=1");
                let err = bounded(send(&direct(), request)).await.err().unwrap();
                assert_eq!(err.code(), "SDK.Redirect", "{status} {method}: {err}");
                let text = err.to_string();
                assert!(
                    text.contains(&format!("HTTP {status} redirecting to {elsewhere}/path?…")),
                    "{text}"
                );
                assert!(!text.contains("Signature"), "{text}");
                assert!(
                    matches!(&err, SdkError::Redirect { location: Some(l), .. } if l == location)
                );
                assert_eq!(steps(&log).len(), 1, "{status} {method}");
            }
        }
        assert!(steps(&followed).is_empty());
        // A 407 means something only from a proxy; from the server it is a reply.
        let (url, _) = scripted(|_, _, _| Step::Answer(407, OK)).await;
        let reply = bounded(send(&direct(), exchange(&url, 2000, 2000))).await;
        assert_eq!(reply.ok().unwrap().status, 407);
    }

    fn direct() -> std::sync::Arc<Transport> {
        Transport::for_options(TransportOptions::direct()).unwrap()
    }

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
        let err = bounded(send(&direct(), exchange(&url, 300, 60_000)))
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
        let err = bounded(send(&direct(), exchange(&url, 60_000, 300)))
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
