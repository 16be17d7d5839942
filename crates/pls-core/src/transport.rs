//! The reqwest clients requests go out on, one per configuration.
//!
//! A client holds a connection pool and costs a TLS set-up to build, so
//! clients are shared: every PlsClient with the same pool, trust and proxy
//! settings gets the same [`Transport`], and a call with proxy options of
//! its own gets the transport of that configuration (kept by its PlsClient
//! for the next such call). Transports live as long as someone holds them;
//! the one for the default configuration lives as long as the process.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use crate::error::{error_chain, SdkError};
use crate::proxy::{ProxyOptions, ProxySettings, ProxyUrl};

/// A pooled connection idle this long is closed rather than reused. Load
/// balancers and servers close idle connections too, and a request sent on
/// one they have just closed fails; closing first avoids the race. Node's
/// own HTTP server closes after 5 s (`keepAliveTimeout`), Aliyun's CLB HTTP
/// listeners after 15 s by default, ALB after 60 s, nginx after 75 s; 4 s
/// is under all of them, as undici (Node's `fetch`) chose for the same
/// reason. A call a second keeps its connection; a client idle longer pays
/// one new connection.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// The default configuration's transport, never freed.
static KEPT: OnceLock<Arc<Transport>> = OnceLock::new();

/// What a transport is built from: two equal values share one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransportOptions {
    /// CA certificates (PEM) trusted besides the default roots.
    pub extra_ca: Vec<String>,
    /// False: a new connection for every request, none kept.
    pub keep_alive: bool,
    /// Idle connections kept per host (`None`: no limit but the idle timeout).
    pub max_idle_per_host: Option<usize>,
    /// The proxies, options and environment already read.
    pub proxy: ProxySettings,
}

impl TransportOptions {
    /// Keep-alive, no limit on idle connections, direct.
    pub fn direct() -> Self {
        TransportOptions {
            extra_ca: Vec::new(),
            keep_alive: true,
            max_idle_per_host: None,
            proxy: ProxySettings::default(),
        }
    }
}

/// Which connection an exchange may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A pooled connection when one is idle, else a new one that is pooled after.
    Pooled,
    /// Always a new connection, closed after the exchange: for sending a
    /// request again after a pooled connection turned out to be closed.
    Fresh,
}

/// A configuration's clients: the pooled one, and (built when first
/// needed) one that never reuses a connection.
pub struct Transport {
    options: TransportOptions,
    pooled: reqwest::Client,
    fresh: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("keep_alive", &self.options.keep_alive)
            .field("max_idle_per_host", &self.options.max_idle_per_host)
            .field("proxy", &self.options.proxy)
            .finish()
    }
}

impl Transport {
    /// The shared transport for `options`, built when no one holds one.
    pub fn for_options(options: TransportOptions) -> Result<Arc<Transport>, SdkError> {
        static SHARED: Mutex<Vec<(TransportOptions, Weak<Transport>)>> = Mutex::new(Vec::new());
        if let Some(kept) = KEPT.get().filter(|kept| kept.options == options) {
            return Ok(Arc::clone(kept));
        }
        let mut shared = SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shared.retain(|(_, held)| held.strong_count() > 0);
        if let Some(found) = shared
            .iter()
            .find(|(key, _)| *key == options)
            .and_then(|(_, held)| held.upgrade())
        {
            return Ok(found);
        }
        let built = Arc::new(Transport::build(options.clone())?);
        shared.push((options, Arc::downgrade(&built)));
        Ok(built)
    }

    /// The transport of the default configuration (keep-alive, proxies from
    /// the environment), kept for the life of the process: the credentials
    /// chain's, and every PlsClient's that sets no pool, trust or proxy option.
    pub fn environment() -> Result<Arc<Transport>, SdkError> {
        if let Some(kept) = KEPT.get() {
            return Ok(Arc::clone(kept));
        }
        let options = TransportOptions {
            proxy: ProxySettings::from_process(&ProxyOptions::default())?,
            ..TransportOptions::direct()
        };
        let built = Transport::for_options(options)?;
        Ok(Arc::clone(KEPT.get_or_init(|| built)))
    }

    fn build(options: TransportOptions) -> Result<Transport, SdkError> {
        let pooled = build_client(&options, options.keep_alive).map_err(|message| {
            SdkError::InvalidArgument {
                message: format!("cannot build the HTTP client: {message}"),
            }
        })?;
        let fresh = OnceLock::new();
        if !options.keep_alive {
            // Nothing is ever reused: the pooled client is already fresh.
            let _ = fresh.set(Ok(pooled.clone()));
        }
        Ok(Transport {
            options,
            pooled,
            fresh,
        })
    }

    /// The client for `route`.
    pub fn client(&self, route: Route) -> Result<&reqwest::Client, SdkError> {
        match route {
            Route::Pooled => Ok(&self.pooled),
            Route::Fresh => self
                .fresh
                .get_or_init(|| build_client(&self.options, false))
                .as_ref()
                .map_err(|message| SdkError::InvalidArgument {
                    message: format!("cannot build the HTTP client: {message}"),
                }),
        }
    }

    /// What this transport was built from.
    pub fn options(&self) -> &TransportOptions {
        &self.options
    }

    /// The proxy a request to `url` goes through, if any.
    pub fn proxy_for(&self, url: &str) -> Option<&ProxyUrl> {
        if self.options.proxy.is_direct() {
            return None;
        }
        self.options.proxy.proxy_for(url)
    }
}

/// A client for `options`; `pooling` false keeps no idle connection.
fn build_client(options: &TransportOptions, pooling: bool) -> Result<reqwest::Client, String> {
    // The TLS configuration carries its own crypto provider (ring: it builds
    // faster and smaller than aws-lc-rs), so no process default is installed.
    let tls = crate::tls::client_config(&options.extra_ca).map_err(|err| err.to_string())?;
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        // A signed request goes only where the caller configured: a 3xx is
        // an answer (SDK.Redirect), never followed.
        .redirect(reqwest::redirect::Policy::none())
        // Retries are ours (crate::retry). reqwest's default policy only
        // retries HTTP/2 refusals, which this client never speaks, yet it
        // copies every request (headers, URI, extensions) in case it must.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .connector_layer(crate::http::ConnectPhaseLayer);
    let builder = match (pooling, options.max_idle_per_host) {
        (false, _) => builder.pool_max_idle_per_host(0),
        (true, Some(limit)) => builder.pool_max_idle_per_host(limit),
        (true, None) => builder,
    };
    options
        .proxy
        .apply(builder)?
        .build()
        .map_err(|err| error_chain(&err))
}

/// A PlsClient's transports for calls with proxy options of their own,
/// most recently used first, so a program that passes the same proxy on
/// every call builds its client once.
#[derive(Debug, Default)]
pub struct PerCallTransports {
    recent: Mutex<Vec<(ProxyOptions, Arc<Transport>)>>,
}

/// How many per-call configurations a PlsClient keeps.
const PER_CALL_KEPT: usize = 8;

impl PerCallTransports {
    /// The transport for `base` with the call's `proxy` options over its own.
    pub fn get(
        &self,
        base: &TransportOptions,
        client_proxy: &ProxyOptions,
        proxy: &ProxyOptions,
    ) -> Result<Arc<Transport>, SdkError> {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = recent.iter().position(|(key, _)| key == proxy) {
            let entry = recent.remove(at);
            let transport = Arc::clone(&entry.1);
            recent.insert(0, entry);
            return Ok(transport);
        }
        let settings = ProxySettings::from_process(&proxy.over(client_proxy))?;
        let transport = Transport::for_options(TransportOptions {
            proxy: settings,
            ..base.clone()
        })?;
        recent.insert(0, (proxy.clone(), Arc::clone(&transport)));
        recent.truncate(PER_CALL_KEPT);
        Ok(transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_configurations_share_one_transport() {
        let a = Transport::for_options(TransportOptions::direct()).unwrap();
        let b = Transport::for_options(TransportOptions::direct()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let no_pool = TransportOptions {
            keep_alive: false,
            ..TransportOptions::direct()
        };
        let c = Transport::for_options(no_pool.clone()).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(&c, &Transport::for_options(no_pool).unwrap()));
        // Without keep-alive the pooled client is the fresh one.
        assert!(c.fresh.get().is_some());
    }

    #[test]
    fn a_transport_no_one_holds_is_freed() {
        let options = TransportOptions {
            max_idle_per_host: Some(3),
            ..TransportOptions::direct()
        };
        let weak = Arc::downgrade(&Transport::for_options(options.clone()).unwrap());
        assert!(weak.upgrade().is_none());
        assert!(Transport::for_options(options).is_ok());
    }

    #[test]
    fn per_call_transports_are_kept_and_bounded() {
        let kept = PerCallTransports::default();
        let base = TransportOptions::direct();
        let proxy = |n: usize| ProxyOptions {
            https: Some(format!("http://127.0.0.1:{}", 1000 + n)),
            ..ProxyOptions::default()
        };
        let first = kept
            .get(&base, &ProxyOptions::default(), &proxy(0))
            .unwrap();
        let again = kept
            .get(&base, &ProxyOptions::default(), &proxy(0))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            first
                .proxy_for("https://dyplsapi.aliyuncs.com/")
                .map(|p| p.to_string()),
            Some("http://127.0.0.1:1000".to_owned())
        );
        for n in 1..20 {
            kept.get(&base, &ProxyOptions::default(), &proxy(n))
                .unwrap();
        }
        assert_eq!(kept.recent.lock().unwrap().len(), PER_CALL_KEPT);
        let bad = ProxyOptions {
            http: Some("ftp://x".into()),
            ..ProxyOptions::default()
        };
        assert!(kept.get(&base, &ProxyOptions::default(), &bad).is_err());
    }
}
