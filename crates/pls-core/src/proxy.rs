//! Which proxy a request goes through, with the names of Aliyun's runtime
//! options: `httpProxy` for `http://` endpoints, `httpsProxy` for
//! `https://` ones, `noProxy` for the hosts that go direct. An option that
//! is not given falls back to `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`
//! (upper case first, then lower case), as Aliyun's Tea runtime reads them.
//!
//! A proxy taken from the environment never applies to loopback addresses
//! or to the ECS metadata address: the emulator and a credentials sidecar
//! run there, and a corporate proxy cannot reach them. A proxy named in an
//! option applies to every endpoint of its scheme except what `noProxy`
//! (or `NO_PROXY`) lists: naming it is the caller saying so.
//!
//! The matching itself (domains and their subdomains, IPs, CIDR blocks,
//! `*`) is hyper-util's, the matcher reqwest decides with, so what this
//! module reports (DEBUG, error messages) is what the client does.

use std::fmt;
use std::sync::OnceLock;

use crate::error::SdkError;

/// The variables proxies are read from.
const PROXY_VARIABLES: [&str; 7] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
];

/// Hosts a proxy from the environment never applies to.
const ENV_BYPASS: &str = "localhost, 127.0.0.0/8, ::1, 100.100.100.200";

/// The proxy options as given (constructor or call); `None` is "not given".
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ProxyOptions {
    /// `httpProxy`: the proxy for `http://` endpoints.
    pub http: Option<String>,
    /// `httpsProxy`: the proxy for `https://` endpoints.
    pub https: Option<String>,
    /// `noProxy`: comma-separated hosts, domains, IPs or CIDR blocks that go direct.
    pub no_proxy: Option<String>,
}

impl fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |url: &Option<String>| url.as_deref().map(redact);
        f.debug_struct("ProxyOptions")
            .field("http", &shown(&self.http))
            .field("https", &shown(&self.https))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyOptions {
    /// True when no option is given.
    pub fn is_empty(&self) -> bool {
        given(&self.http).is_none()
            && given(&self.https).is_none()
            && given(&self.no_proxy).is_none()
    }

    /// These options where given, else `base`'s (a call's over its client's).
    pub fn over(&self, base: &ProxyOptions) -> ProxyOptions {
        let pick = |mine: &Option<String>, theirs: &Option<String>| {
            given(mine).or_else(|| given(theirs)).map(str::to_owned)
        };
        ProxyOptions {
            http: pick(&self.http, &base.http),
            https: pick(&self.https, &base.https),
            no_proxy: pick(&self.no_proxy, &base.no_proxy),
        }
    }

    /// Refuses a proxy URL that cannot work, naming the option (never the password).
    pub fn validate(&self) -> Result<(), SdkError> {
        for (name, value) in [("httpProxy", &self.http), ("httpsProxy", &self.https)] {
            if let Some(value) = given(value) {
                ProxyUrl::parse(value).map_err(|why| SdkError::InvalidArgument {
                    message: format!("option \"{name}\" {why}"),
                })?;
            }
        }
        Ok(())
    }
}

/// An option's value unless it is absent or blank: an empty option is
/// not given, as in Aliyun's runtime.
fn given(option: &Option<String>) -> Option<&str> {
    option.as_deref().filter(|text| !text.trim().is_empty())
}

/// A checked proxy URL. `Display` and `Debug` show `scheme://host:port`,
/// never the user name or password.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyUrl {
    /// The URL as reqwest takes it, credentials included.
    full: String,
    /// `scheme://host:port`.
    shown: String,
}

impl ProxyUrl {
    /// `http://`, `https://`, `socks5://` or `socks5h://` (no scheme means
    /// `http://`), with an optional `user:password@`.
    pub fn parse(text: &str) -> Result<ProxyUrl, String> {
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = reqwest::Url::parse(&with_scheme)
            .map_err(|err| format!("is not a proxy URL ({err}): {}", redact(text)))?;
        let default_port = match url.scheme() {
            "http" => 80,
            "https" => 443,
            "socks5" | "socks5h" => 1080,
            other => {
                return Err(format!(
                    "must be an http://, https://, socks5:// or socks5h:// URL, not {other}://"
                ))
            }
        };
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(format!("names no host: {}", redact(text)));
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "must be scheme://[user:password@]host[:port], without a path: {}",
                redact(text)
            ));
        }
        let port = url.port().unwrap_or(default_port);
        Ok(ProxyUrl {
            shown: format!("{}://{host}:{port}", url.scheme()),
            full: url.as_str().trim_end_matches('/').to_owned(),
        })
    }

    /// `scheme://host:port`, for messages and logs.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({})", self.shown)
    }
}

/// `text` without what sits between `://` and `@` (or before `@` when
/// there is no scheme): a proxy URL as it may be shown.
fn redact(text: &str) -> String {
    let start = text.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &text[..start], &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// One scheme's proxy and the hosts that bypass it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The proxy.
    pub proxy: ProxyUrl,
    /// The `NO_PROXY`-style list of hosts that go direct.
    pub bypass: String,
}

/// Where requests go, once options and environment are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProxySettings {
    /// For `http://` endpoints.
    pub http: Option<Route>,
    /// For `https://` endpoints.
    pub https: Option<Route>,
}

impl ProxySettings {
    /// `options` where given, else the variables `var` reads (an empty
    /// value counts as unset). A variable that is not a proxy URL is an
    /// error rather than a silent direct connection.
    pub fn resolve(
        options: &ProxyOptions,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ProxySettings, SdkError> {
        options.validate()?;
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        // httpoxy: in a CGI script HTTP_PROXY may come from a request's
        // `Proxy:` header, so only the lower-case name counts there.
        let cgi = var("REQUEST_METHOD").is_some();
        let env_no_proxy = var("NO_PROXY").or_else(|| var("no_proxy"));
        let route = |option: &Option<String>, names: &[&str]| -> Result<Option<Route>, SdkError> {
            let listed = given(&options.no_proxy)
                .map(str::to_owned)
                .or_else(|| env_no_proxy.clone());
            if let Some(text) = given(option) {
                let proxy = ProxyUrl::parse(text).map_err(|why| SdkError::InvalidArgument {
                    message: format!("a proxy option {why}"),
                })?;
                return Ok(Some(Route {
                    proxy,
                    bypass: listed.unwrap_or_default(),
                }));
            }
            for name in names {
                if cgi && *name == "HTTP_PROXY" {
                    continue;
                }
                if let Some(text) = var(name) {
                    let proxy =
                        ProxyUrl::parse(&text).map_err(|why| SdkError::InvalidArgument {
                            message: format!("environment variable {name} {why}"),
                        })?;
                    let bypass = match listed {
                        Some(list) => format!("{list}, {ENV_BYPASS}"),
                        None => ENV_BYPASS.to_owned(),
                    };
                    return Ok(Some(Route { proxy, bypass }));
                }
            }
            Ok(None)
        };
        // `*` bypasses everything (hyper-util's matcher applies it to names only).
        let everywhere = |route: Option<Route>| {
            route.filter(|r| !r.bypass.split(',').any(|entry| entry.trim() == "*"))
        };
        Ok(ProxySettings {
            http: everywhere(route(&options.http, &["HTTP_PROXY", "http_proxy"])?),
            https: everywhere(route(&options.https, &["HTTPS_PROXY", "https_proxy"])?),
        })
    }

    /// [`Self::resolve`] with this process's variables, read once (when
    /// the first client is made), as `DEBUG` is.
    pub fn from_process(options: &ProxyOptions) -> Result<ProxySettings, SdkError> {
        static VARS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
        let vars = VARS.get_or_init(|| {
            PROXY_VARIABLES
                .iter()
                .filter_map(|name| Some((*name, std::env::var(name).ok()?)))
                .collect()
        });
        Self::resolve(options, |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, value)| value.clone())
        })
    }

    /// True when every request goes direct.
    pub fn is_direct(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy a request to `url` goes through, if any.
    pub fn proxy_for(&self, url: &str) -> Option<&ProxyUrl> {
        let uri: http::Uri = url.parse().ok()?;
        let route = match uri.scheme_str()? {
            "http" => self.http.as_ref()?,
            "https" => self.https.as_ref()?,
            _ => return None,
        };
        // Asked with the proxy for both schemes, so only the bypass list decides.
        hyper_util::client::proxy::matcher::Matcher::builder()
            .http(route.proxy.full.clone())
            .https(route.proxy.full.clone())
            .no(route.bypass.clone())
            .build()
            .intercept(&uri)
            .map(|_| &route.proxy)
    }

    /// Sets these proxies on a client being built (and no others: the
    /// client never reads the environment itself).
    pub(crate) fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, String> {
        let mut builder = builder.no_proxy();
        let bypass = |route: &Route| reqwest::NoProxy::from_string(&route.bypass);
        if let Some(route) = &self.http {
            let proxy = reqwest::Proxy::http(route.proxy.full.as_str())
                .map_err(|err| format!("proxy {}: {}", route.proxy, reqwest_reason(&err)))?;
            builder = builder.proxy(proxy.no_proxy(bypass(route)));
        }
        if let Some(route) = &self.https {
            let proxy = reqwest::Proxy::https(route.proxy.full.as_str())
                .map_err(|err| format!("proxy {}: {}", route.proxy, reqwest_reason(&err)))?;
            builder = builder.proxy(proxy.no_proxy(bypass(route)));
        }
        Ok(builder)
    }
}

/// A reqwest builder error's reason, without any URL it quotes.
fn reqwest_reason(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    err.source()
        .map(|source| source.to_string())
        .unwrap_or_else(|| "not usable".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn options(http: Option<&str>, https: Option<&str>, no: Option<&str>) -> ProxyOptions {
        ProxyOptions {
            http: http.map(Into::into),
            https: https.map(Into::into),
            no_proxy: no.map(Into::into),
        }
    }

    fn via(settings: &ProxySettings, url: &str) -> Option<String> {
        settings.proxy_for(url).map(|p| p.shown().to_owned())
    }

    #[test]
    fn options_win_over_variables_and_upper_case_over_lower() {
        let vars = env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("http_proxy", "lower-http:3"),
        ]);
        let s = ProxySettings::resolve(&ProxyOptions::default(), &vars).unwrap();
        assert_eq!(
            via(&s, "https://dyplsapi.aliyuncs.com/?a=1").as_deref(),
            Some("http://upper:1")
        );
        assert_eq!(
            via(&s, "http://dyplsapi.aliyuncs.com/").as_deref(),
            Some("http://lower-http:3")
        );
        let s = ProxySettings::resolve(&options(None, Some("socks5://opt"), None), &vars).unwrap();
        assert_eq!(
            via(&s, "https://dyplsapi.aliyuncs.com/").as_deref(),
            Some("socks5://opt:1080")
        );
        // An empty option is not given, as in Aliyun's runtime.
        let s = ProxySettings::resolve(&options(None, Some(""), None), &vars).unwrap();
        assert_eq!(via(&s, "https://h/").as_deref(), Some("http://upper:1"));
        assert!(ProxySettings::resolve(&ProxyOptions::default(), env(&[]))
            .unwrap()
            .is_direct());
    }

    #[test]
    fn loopback_goes_direct_unless_an_option_names_the_proxy() {
        let vars = env(&[
            ("HTTP_PROXY", "http://corp:3128"),
            ("NO_PROXY", "internal.example"),
        ]);
        let s = ProxySettings::resolve(&ProxyOptions::default(), &vars).unwrap();
        for url in [
            "http://127.0.0.1:8080/",
            "http://localhost:1/",
            "http://[::1]:9/",
            "http://100.100.100.200/latest/meta-data/",
            "http://api.internal.example/",
        ] {
            assert_eq!(via(&s, url), None, "{url}");
        }
        assert_eq!(
            via(&s, "http://example.com/").as_deref(),
            Some("http://corp:3128")
        );
        let s = ProxySettings::resolve(&options(Some("http://opt:1"), None, None), &vars).unwrap();
        assert_eq!(
            via(&s, "http://127.0.0.1:8080/").as_deref(),
            Some("http://opt:1")
        );
        // NO_PROXY still applies to a proxy given by option, as in Aliyun's runtime.
        assert_eq!(via(&s, "http://internal.example/"), None);
        let s = ProxySettings::resolve(
            &options(Some("http://opt:1"), None, Some("127.0.0.1, .corp")),
            &vars,
        )
        .unwrap();
        assert_eq!(via(&s, "http://127.0.0.1:8080/"), None);
        assert_eq!(via(&s, "http://a.b.corp/"), None);
        assert_eq!(
            via(&s, "http://internal.example/").as_deref(),
            Some("http://opt:1")
        );
    }

    #[test]
    fn no_proxy_patterns() {
        let s = ProxySettings::resolve(
            &options(
                Some("http://p:1"),
                Some("http://p:1"),
                Some("example.com, .svc.local,10.0.0.0/8 , 192.168.1.7"),
            ),
            env(&[]),
        )
        .unwrap();
        for url in [
            "https://example.com/",
            "https://api.example.com/",
            "http://a.svc.local/",
            "http://10.20.30.40:8080/",
            "http://192.168.1.7/",
        ] {
            assert_eq!(via(&s, url), None, "{url}");
        }
        for url in [
            "https://notexample.com/",
            "http://192.168.1.8/",
            "http://svc.localx/",
        ] {
            assert!(via(&s, url).is_some(), "{url}");
        }
        let all =
            ProxySettings::resolve(&options(Some("http://p:1"), None, Some("a, *")), env(&[]))
                .unwrap();
        assert_eq!(via(&all, "http://anything/"), None);
        assert_eq!(via(&all, "http://127.0.0.1/"), None);
        assert!(all.is_direct());
    }

    #[test]
    fn credentials_are_used_but_never_shown() {
        let url = ProxyUrl::parse("http://user:pa%40ss@proxy.corp:3128").unwrap();
        assert_eq!(url.shown(), "http://proxy.corp:3128");
        assert_eq!(
            format!("{url} {url:?}"),
            "http://proxy.corp:3128 ProxyUrl(http://proxy.corp:3128)"
        );
        let opts = options(Some("http://user:SECRET@h:1"), None, None);
        assert!(!format!("{opts:?}").contains("SECRET"));
        let err = ProxyUrl::parse("ftp://user:SECRET@h").unwrap_err();
        assert!(!err.contains("SECRET") && err.contains("ftp://"), "{err}");
        let err = ProxySettings::resolve(
            &ProxyOptions::default(),
            env(&[("HTTPS_PROXY", "http://user:SECRET@h:1/path")]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("HTTPS_PROXY") && !text.contains("SECRET"),
            "{text}"
        );
        assert_eq!(redact("user:pw@host:1"), "host:1");
        assert_eq!(redact("socks5://u:p@h"), "socks5://h");
        assert_eq!(redact("http://h/a@b"), "http://h/a@b");
    }

    #[test]
    fn bad_options_name_the_option() {
        for (opts, name) in [
            (options(Some("ftp://h"), None, None), "httpProxy"),
            (options(None, Some("http://"), None), "httpsProxy"),
            (options(None, Some("http://h:1/path"), None), "httpsProxy"),
        ] {
            let err = opts.validate().unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
            assert_eq!(err.code(), "SDK.InvalidArgument");
        }
        assert_eq!(ProxyUrl::parse("h:8").unwrap().shown(), "http://h:8");
        assert_eq!(
            ProxyUrl::parse("https://h").unwrap().shown(),
            "https://h:443"
        );
    }

    #[test]
    fn httpoxy_http_proxy_is_ignored_in_cgi() {
        let s = ProxySettings::resolve(
            &ProxyOptions::default(),
            env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")]),
        )
        .unwrap();
        assert!(s.is_direct());
    }
}
