//! A local emulator of the three services `@alicloud/pls-sdk` talks to:
//! the dyplsapi/dybaseapi RPC gateway, the dypls business model and the
//! MNS queues, all behind one base URL, plus a control API for tests.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post, put};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
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
mod gateway;
mod ids;
mod metadata;
mod mns;
mod outbox;
mod params;
mod push;
mod queue_names;
mod receipts;
mod signature;
mod sts;
mod xml_reply;

use clock::{parse_beijing, BusinessClock};
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
        }
    }
}

impl std::error::Error for EmulatorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmulatorError::Bind { source, .. } => Some(source),
            EmulatorError::Config(_) => None,
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
    initial_pools: Vec<PoolConfig>,
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
}

impl App {
    fn new(
        config: &EmulatorConfig,
        base_url: String,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, EmulatorError> {
        let initial_clock = match &config.clock {
            Some(text) => Some(parse_beijing(text).ok_or_else(|| {
                EmulatorError::Config(format!(
                    "clock must be YYYY-MM-DD HH:mm:ss (Beijing time), got {text:?}"
                ))
            })?),
            None => None,
        };
        let initial_pools = config.pools.clone().unwrap_or_else(dypls::default_pools);
        let mut keys: HashMap<String, String> = config
            .keys
            .iter()
            .filter(|k| !k.access_key_id.is_empty())
            .map(|k| (k.access_key_id.clone(), k.access_key_secret.clone()))
            .collect();
        keys.insert(DEMO_ACCESS_KEY_ID.into(), DEMO_ACCESS_KEY_SECRET.into());
        let account = config
            .account
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "1234567890".into());
        let push = push::Pusher::new(&config.push, config.push_timeout_ms)
            .map_err(EmulatorError::Config)?;
        Ok(App {
            base_url,
            queues: mns::Queues::new(&account),
            push,
            outbox: outbox::Outbox::default(),
            account,
            stateless: config.stateless,
            keys,
            model: Mutex::new(Model::new(&initial_pools)),
            initial_pools,
            clock: BusinessClock::new(initial_clock),
            initial_clock,
            ids: Ids::new(),
            nonces: Mutex::new(NonceStore::default()),
            tokens: Mutex::new(dybase::TokenStore::default()),
            sts: Mutex::new(sts::StsStore::default()),
            activity: Mutex::new(activity::ActivityLog::default()),
            faults: faults::Faults::default(),
            shutdown,
        })
    }

    /// Back to the configured initial state (the clock to its start).
    fn reset(&self) {
        if let Ok(mut m) = self.model.lock() {
            *m = Model::new(&self.initial_pools);
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
        self.clock.set(self.initial_clock);
    }
}

/// All routes of the one base URL.
fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(gateway::handle).post(gateway::handle))
        .route(
            "/queues/{queue}/messages",
            get(mns::receive).delete(mns::delete),
        )
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
        .merge(console::routes())
        .with_state(app)
}

/// A running emulator; dropping it without `stop` also shuts it down.
pub struct RunningEmulator {
    url: String,
    address: SocketAddr,
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

    /// Graceful shutdown: stops accepting, ends long polls, lets in-flight
    /// requests finish, and returns once the listener is closed.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        // Connections get a few seconds to finish; a stuck client must not
        // hang the caller's shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
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
    let url = format!("http://{address}");
    let app = Arc::new(App::new(&config, url.clone(), shutdown_rx.clone())?);
    tokio::spawn(outbox::run(app.clone()));
    let task = tokio::spawn(serve(listener, router(app), shutdown_rx));
    Ok(RunningEmulator {
        url,
        address,
        shutdown: shutdown_tx,
        task,
    })
}

/// The accept loop: one task per connection, HTTP/1.1 with keep-alive.
async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    // Every connection task holds a clone of this sender; when all are
    // gone, `recv` returns None and every connection has closed.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(stream, router.clone(), shutdown.clone(), alive_tx.clone()));
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

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
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
