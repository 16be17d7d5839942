//! A local emulator of the three services `@alicloud/pls-sdk` talks to:
//! the dyplsapi/dybaseapi RPC gateway, the dypls business model and the
//! MNS queues, all behind one base URL, plus a control API for tests.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post, put};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tower_service::Service;

mod acs3;
mod action_result;
mod actions;
mod activity;
mod clock;
mod console;
mod control;
mod dybase;
mod dypls;
mod faults;
mod flow_limit;
mod gateway;
mod ids;
mod inspect;
mod metadata;
mod mns;
mod outbox;
mod params;
mod push;
mod queue_names;
mod receipts;
mod request_log;
mod seed;
mod signature;
mod state;
mod sts;
mod tls;
mod xml_reply;

pub use flow_limit::FlowLimitsOption;
pub use seed::{Seed, SeedSource};
pub use tls::TlsOption;

use clock::BusinessClock;
use dypls::Model;
use gateway::NonceStore;
use ids::Ids;

/// The demo's placeholder key pair, always accepted.
pub const DEMO_ACCESS_KEY_ID: &str = "yourAccessKeyId";
/// The secret of the demo key pair.
pub const DEMO_ACCESS_KEY_SECRET: &str = "yourAccessKeySecret";

/// An accepted access key pair.
#[derive(Debug, Deserialize, Serialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyPair {
    /// The AccessKeyId.
    pub access_key_id: String,
    /// Its secret.
    pub access_key_secret: String,
}

/// A secret number (X) and the city it belongs to.
#[derive(Debug, Deserialize, Serialize, Default, Clone, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretNumberConfig {
    /// The number, e.g. `17000000000`.
    pub number: String,
    /// Its city without suffix, e.g. `北京`.
    pub city: String,
}

/// A number pool and its X numbers.
#[derive(Debug, Deserialize, Serialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct PoolConfig {
    /// The PoolKey.
    pub pool_key: String,
    /// Its numbers.
    pub numbers: Vec<SecretNumberConfig>,
}

/// Configuration, deserializable from the JSON the JS side passes
/// (camelCase keys, all optional).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct EmulatorConfig {
    /// Listen address, default `127.0.0.1`.
    pub host: Option<String>,
    /// Listen port, default 0 (the OS picks).
    pub port: Option<u16>,
    /// Key pairs accepted besides the demo pair.
    pub keys: Vec<KeyPair>,
    /// Replaces the default pool set when given.
    pub pools: Option<Vec<PoolConfig>>,
    /// Business clock start, `YYYY-MM-DD HH:mm:ss` Beijing time; real now
    /// when absent. The clock runs forward in real time from there.
    pub clock: Option<String>,
    /// MNS queue account id, default `1234567890`.
    pub account: Option<String>,
    /// Benchmark mode: gateway checks only, fixed success bodies, no state
    /// and no nonce replay check.
    pub stateless: bool,
    /// Receipt types pushed over HTTP instead of queued: type to callback
    /// URL (null keeps the type on its queue).
    pub push: BTreeMap<String, Option<String>>,
    /// How long a push waits for the receiver's answer, ms (default 700,
    /// the service's limit).
    pub push_timeout_ms: Option<u64>,
    /// The starting state: a seed file's path or the seed itself. The
    /// options above win over it.
    pub seed: Option<SeedSource>,
    /// A state file: loaded at start when it exists, written at `stop`.
    pub state: Option<String>,
    /// HTTPS: `true` (a certificate made at start) or `{cert, key}` PEM.
    pub tls: Option<TlsOption>,
    /// QPS limits answered with isv.FLOW_LIMIT: `true` for the documented
    /// ones, or `{Action: qps}`; off when absent.
    pub flow_limits: Option<FlowLimitsOption>,
}

/// Why the emulator could not start.
#[derive(Debug)]
pub enum EmulatorError {
    /// The configuration is invalid.
    Config(String),
    /// The listen address could not be bound.
    Bind {
        address: String,
        source: std::io::Error,
    },
    /// The state file could not be read at start or written at stop.
    State { path: String, reason: String },
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmulatorError::Config(m) => write!(f, "invalid emulator configuration: {m}"),
            EmulatorError::Bind { address, source }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                write!(f, "cannot listen on {address}: address already in use")
            }
            EmulatorError::Bind { address, source } => {
                write!(f, "cannot listen on {address}: {source}")
            }
            EmulatorError::State { path, reason } => write!(f, "state file {path}: {reason}"),
        }
    }
}

impl std::error::Error for EmulatorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmulatorError::Bind { source, .. } => Some(source),
            EmulatorError::Config(_) | EmulatorError::State { .. } => None,
        }
    }
}

/// A response carrying this extension makes the server drop the
/// connection without answering (the `reset` fault).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResetConnection;

/// Everything the handlers share.
pub(crate) struct App {
    pub base_url: String,
    pub account: String,
    pub stateless: bool,
    pub keys: HashMap<String, String>,
    /// The model as configured and seeded, which `reset` returns to.
    initial_model: Model,
    initial_clock: Option<i64>,
    pub clock: BusinessClock,
    pub ids: Ids,
    pub nonces: Mutex<NonceStore>,
    pub model: Mutex<Model>,
    pub tokens: Mutex<dybase::TokenStore>,
    /// STS and instance-metadata keys, and request counts.
    pub sts: Mutex<sts::StsStore>,
    pub activity: Mutex<activity::ActivityLog>,
    pub queues: mns::Queues,
    /// Receipt push settings, lanes and client.
    pub push: push::Pusher,
    /// Receipts and push retries waiting for their business time.
    pub outbox: outbox::Outbox,
    pub faults: faults::Faults,
    pub shutdown: watch::Receiver<bool>,
    pub requests: request_log::RequestLog,
    pub flow_limits: Option<flow_limit::FlowLimits>,
    pub state_file: Option<PathBuf>,
    pub started: Instant,
}

impl App {
    fn new(
        config: &EmulatorConfig,
        base_url: String,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, EmulatorError> {
        let setup = seed::Setup::resolve(config)?;
        let initial_clock = setup.clock;
        let clock = BusinessClock::new(initial_clock);
        let initial_model = setup.model(clock.now_ms())?;
        let account = setup.account;
        let push = push::Pusher::new(&config.push, config.push_timeout_ms)
            .map_err(EmulatorError::Config)?;
        Ok(App {
            base_url,
            queues: mns::Queues::new(&account),
            push,
            outbox: outbox::Outbox::default(),
            account,
            stateless: config.stateless,
            keys: setup.keys,
            model: Mutex::new(initial_model.clone()),
            initial_model,
            clock,
            initial_clock,
            ids: Ids::new(),
            nonces: Mutex::new(NonceStore::default()),
            tokens: Mutex::new(dybase::TokenStore::default()),
            sts: Mutex::new(sts::StsStore::default()),
            activity: Mutex::new(activity::ActivityLog::default()),
            faults: faults::Faults::default(),
            shutdown,
            requests: request_log::RequestLog::default(),
            flow_limits: setup
                .flow_limits
                .as_ref()
                .and_then(FlowLimitsOption::limits),
            state_file: config.state.as_ref().map(PathBuf::from),
            started: Instant::now(),
        })
    }

    /// Back to the configured initial state (the clock to its start).
    fn reset(&self) {
        if let Ok(mut m) = self.model.lock() {
            *m = self.initial_model.clone();
        }
        if let Ok(mut n) = self.nonces.lock() {
            n.clear();
        }
        if let Ok(mut t) = self.tokens.lock() {
            t.clear();
        }
        if let Ok(mut s) = self.sts.lock() {
            s.clear();
        }
        if let Ok(mut a) = self.activity.lock() {
            a.clear();
        }
        self.queues.clear();
        self.push.reset();
        self.outbox.clear();
        self.faults.clear();
        self.requests.clear();
        if let Some(limits) = &self.flow_limits {
            limits.reset();
        }
        self.clock.set(self.initial_clock);
    }
}

/// All routes of the one base URL.
fn router(app: Arc<App>) -> Router {
    let services = Router::new()
        .route("/", get(gateway::handle).post(gateway::handle))
        .route(
            "/queues/{queue}/messages",
            get(mns::receive).delete(mns::delete),
        );
    // The benchmark's stateless mode keeps its hot path free of the log.
    let services = if app.stateless {
        services
    } else {
        services.route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            request_log::record,
        ))
    };
    Router::new()
        .merge(services)
        .route("/latest/api/token", put(metadata::token))
        .route(
            "/latest/meta-data/ram/security-credentials/",
            get(metadata::roles),
        )
        .route(
            "/latest/meta-data/ram/security-credentials/{role}",
            get(metadata::credentials),
        )
        .route("/__emulator/credentials", get(sts::counts))
        .route("/__emulator/reset", post(control::reset))
        .route("/__emulator/state", get(control::state))
        .route("/__emulator/clock", post(control::clock))
        .route("/__emulator/calls", post(control::calls))
        .route("/__emulator/sms", post(control::sms))
        .route("/__emulator/faults", post(control::faults))
        .route("/__emulator/push", get(push::list).post(push::configure))
        .route("/__emulator/queues/visibility", post(control::visibility))
        .route("/__emulator/recordings/{file}", get(control::recording))
        .route("/__emulator/requests", get(request_log::list))
        .route("/__emulator/health", get(inspect::health))
        .route("/__emulator/queues/next", post(inspect::next))
        .route("/__emulator/snapshot", get(state::snapshot))
        .route("/__emulator/restore", post(state::restore))
        .merge(console::routes())
        .with_state(app)
}

/// A running emulator; dropping it without `stop` also shuts it down.
pub struct RunningEmulator {
    url: String,
    address: SocketAddr,
    ca_pem: Option<String>,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningEmulator {
    /// The base URL, e.g. `http://127.0.0.1:43123`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The PEM of the CA a client must trust, when serving HTTPS with a
    /// certificate made at start.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Graceful shutdown: stops accepting, ends long polls, lets in-flight
    /// requests finish, returns once the listener is closed, then writes
    /// the state file when there is one (the error says why it could not).
    pub async fn stop(self) -> Result<(), EmulatorError> {
        let _ = self.shutdown.send(true);
        // Connections get a few seconds to finish; a stuck client must not
        // hang the caller's shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        match &self.app.state_file {
            Some(path) => state::save_file(&self.app, path).map_err(|e| EmulatorError::State {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
            None => Ok(()),
        }
    }
}

/// Binds and starts serving; returns once the listener is bound. Callable
/// from within any multi-thread tokio runtime.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let host = config
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = config.port.unwrap_or(0);
    let address_text = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    // Validate before binding, so a bad config never holds the port.
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    App::new(&config, String::new(), shutdown_rx.clone())?;
    let tls = match config.tls.as_ref().filter(|t| t.enabled()) {
        Some(option) => Some(tls::setup(option, &host)?),
        None => None,
    };
    let listener = TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|source| EmulatorError::Bind {
            address: address_text.clone(),
            source,
        })?;
    let address = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            address: address_text,
            source,
        })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{address}");
    let app = Arc::new(App::new(&config, url.clone(), shutdown_rx.clone())?);
    if let Some(path) = &app.state_file {
        state::load_file(&app, path).map_err(|e| EmulatorError::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let (acceptor, ca_pem) = match tls {
        Some(t) => (Some(t.acceptor), t.ca_pem),
        None => (None, None),
    };
    tokio::spawn(outbox::run(app.clone()));
    let task = tokio::spawn(serve(listener, router(app.clone()), shutdown_rx, acceptor));
    Ok(RunningEmulator {
        url,
        address,
        ca_pem,
        app,
        shutdown: shutdown_tx,
        task,
    })
}

/// The accept loop: one task per connection, HTTP/1.1 with keep-alive,
/// over TLS when there is an acceptor.
async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    // Every connection task holds a clone of this sender; when all are
    // gone, `recv` returns None and every connection has closed.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    match &tls {
                        None => {
                            tokio::spawn(serve_connection(stream, router.clone(), shutdown.clone(), alive_tx.clone()));
                        }
                        Some(acceptor) => {
                            tokio::spawn(serve_tls_connection(acceptor.clone(), stream, router.clone(), shutdown.clone(), alive_tx.clone()));
                        }
                    }
                }
                // Out of file descriptors and the like: back off, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
}

/// The TLS handshake in the connection's own task (a slow client never
/// holds up the accept loop), bounded in time and by shutdown.
async fn serve_tls_connection(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let handshake = tokio::time::timeout(tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            // A failed or stalled handshake just closes the connection.
            _ => return,
        },
        _ = shutdown.changed() => return,
    };
    serve_connection(stream, router, shutdown, alive).await;
}

async fn serve_connection<S>(
    stream: S,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut router = router.clone();
        async move {
            let response = match router.call(request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if response.extensions().get::<ResetConnection>().is_some() {
                // An error from the service makes hyper drop the connection
                // without writing a response.
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                ));
            }
            Ok(response)
        }
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    if *shutdown.borrow() {
        connection.as_mut().graceful_shutdown();
    }
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = shutdown.changed() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod receipts_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
