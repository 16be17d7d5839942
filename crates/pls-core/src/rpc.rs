//! Building a signed RPC request exactly as pop-core's `RPCClient.request` does.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::action::API_VERSION;
use crate::config::Credentials;
use crate::params::{first_letter_upper, PairSet, ParamValue};
use crate::proxy::ProxyOptions;
use crate::signer::{canonical_query, encoded_signature};

/// Per-call options of the original (`options` argument), plus timeouts.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// `options.method` as given. Signing upper-cases it; only exactly
    /// `"POST"` moves the params into a form body (the original's quirk).
    pub method: Option<String>,
    /// `options.formatAction !== false`.
    pub format_action: bool,
    /// `options.formatParams !== false`.
    pub format_params: bool,
    /// Overrides the client's connect timeout.
    pub connect_timeout: Option<Duration>,
    /// Overrides the client's read timeout.
    pub read_timeout: Option<Duration>,
    /// Overrides the client's limit on the whole call (retries included).
    pub timeout: Option<Duration>,
    /// Overrides the client's number of retries after the first attempt.
    pub max_retries: Option<u32>,
    /// `options.headers`: replaces the default headers, as in the original.
    pub headers: Option<Vec<(String, String)>>,
    /// `httpProxy`, `httpsProxy`, `noProxy` for this call, over the client's.
    pub proxy: Option<Box<ProxyOptions>>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            method: None,
            format_action: true,
            format_params: true,
            connect_timeout: None,
            read_timeout: None,
            timeout: None,
            max_retries: None,
            headers: None,
            proxy: None,
        }
    }
}

/// One RPC call: an action and the caller's params, in `Object.keys` order.
#[derive(Debug, Clone, Default)]
pub struct RpcRequest {
    /// The action as the caller named it.
    pub action: String,
    /// The caller's params.
    pub params: Vec<(String, ParamValue)>,
    /// The per-call options.
    pub options: CallOptions,
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The HTTP method, upper-cased.
    pub method: String,
    /// The full URL (with the signed query unless the params travel in the body).
    pub url: String,
    /// The form body, for POST.
    pub body: Option<String>,
    /// Headers in sending order.
    pub headers: Vec<(String, String)>,
    /// The action as sent, for error messages.
    pub action: String,
}

/// What the signer needs from the client besides the request.
pub struct SigningContext<'a> {
    /// The base URL of the service, no trailing slash.
    pub endpoint: &'a str,
    /// The access key.
    pub credentials: &'a Credentials,
    /// `user-agent`.
    pub user_agent: &'a str,
    /// `x-sdk-client`.
    pub sdk_client: &'a str,
    /// `Timestamp`, `YYYY-MM-DDTHH:mm:ssZ`.
    pub timestamp: &'a str,
    /// `SignatureNonce`.
    pub nonce: &'a str,
}

impl RpcRequest {
    /// A request with default options.
    pub fn new(action: impl Into<String>, params: Vec<(String, ParamValue)>) -> Self {
        RpcRequest {
            action: action.into(),
            params,
            options: CallOptions::default(),
        }
    }

    /// Adds the default params, signs, and lays out URL, body and headers.
    pub fn sign(&self, ctx: &SigningContext<'_>) -> SignedRequest {
        let opts = &self.options;
        let action = if opts.format_action {
            first_letter_upper(&self.action)
        } else {
            Cow::Borrowed(self.action.as_str())
        };
        let creds = ctx.credentials;

        let method = opts.method.as_deref().unwrap_or("GET").to_uppercase();
        let mut query = {
            let mut pairs = PairSet::with_capacity(self.params.len() + 10);
            pairs.set("Action", action.as_ref());
            pairs.set("Format", "JSON");
            pairs.set("Timestamp", ctx.timestamp);
            pairs.set("Version", API_VERSION);
            pairs.set("SignatureMethod", "HMAC-SHA1");
            pairs.set("SignatureVersion", "1.0");
            pairs.set("SignatureNonce", ctx.nonce);
            pairs.set("AccessKeyId", creds.access_key_id.as_str());
            if let Some(token) = creds.security_token.as_ref().filter(|t| !t.is_empty()) {
                pairs.set("SecurityToken", token.as_str());
            }
            for (key, value) in &self.params {
                let key = if opts.format_params {
                    first_letter_upper(key)
                } else {
                    Cow::Borrowed(key.as_str())
                };
                pairs.set_param(key, value);
            }
            canonical_query(&pairs.into_sorted())
        };
        let signature = encoded_signature(&creds.access_key_secret, &method, &query);
        query.push_str("&Signature=");
        query.push_str(&signature);
        let action = action.into_owned();

        let mut headers = match &opts.headers {
            Some(custom) => custom.clone(),
            None => vec![
                ("x-sdk-client".into(), ctx.sdk_client.into()),
                ("user-agent".into(), ctx.user_agent.into()),
                ("x-acs-action".into(), self.action.clone()),
                ("x-acs-version".into(), API_VERSION.into()),
            ],
        };
        let form_body = opts.method.as_deref() == Some("POST");
        let (url, body) = if form_body {
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            (format!("{}/", ctx.endpoint), Some(query))
        } else {
            (format!("{}/?{}", ctx.endpoint, query), None)
        };
        SignedRequest {
            method,
            url,
            body,
            headers,
            action,
        }
    }
}

/// A value never used before in this process, and random across processes.
pub fn make_nonce() -> String {
    static SEED: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (mask, salt) = *SEED.get_or_init(|| {
        let state = RandomState::new();
        let mut a = state.build_hasher();
        a.write_u32(std::process::id());
        a.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let mut b = state.build_hasher();
        b.write_u64(a.finish());
        (a.finish(), b.finish())
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Multiplying by an odd constant and xoring are both bijections on u64,
    // so the first half alone is distinct for every counter value.
    let first = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ mask;
    format!("{first:016x}{:016x}", salt.rotate_left((n % 64) as u32) ^ n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(creds: &'a Credentials) -> SigningContext<'a> {
        SigningContext {
            endpoint: "http://h:1",
            credentials: creds,
            user_agent: "ua",
            sdk_client: "sc",
            timestamp: "2018-08-01T00:00:00Z",
            nonce: "n1",
        }
    }

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "id".into(),
            access_key_secret: "secret".into(),
            security_token: None,
        }
    }

    #[test]
    fn get_puts_the_sorted_query_in_the_url_and_signature_last() {
        let c = creds();
        let req = RpcRequest::new(
            "bindAxb",
            vec![
                ("poolKey".into(), "FC1".into()),
                ("PhoneNoA".into(), "1 2".into()),
            ],
        );
        let signed = req.sign(&ctx(&c));
        assert_eq!(signed.method, "GET");
        assert_eq!(signed.action, "BindAxb");
        assert!(signed.body.is_none());
        let query = signed.url.strip_prefix("http://h:1/?").unwrap();
        let keys: Vec<_> = query
            .split('&')
            .map(|p| p.split('=').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "AccessKeyId",
                "Action",
                "Format",
                "PhoneNoA",
                "PoolKey",
                "SignatureMethod",
                "SignatureNonce",
                "SignatureVersion",
                "Timestamp",
                "Version",
                "Signature"
            ]
        );
        assert!(query.contains("PhoneNoA=1%202"));
        assert!(query.contains("Timestamp=2018-08-01T00%3A00%3A00Z"));
        // The header carries the action as the caller wrote it.
        assert!(signed
            .headers
            .contains(&("x-acs-action".into(), "bindAxb".into())));
    }

    #[test]
    fn post_moves_the_query_to_a_form_body_and_signs_as_post() {
        let c = creds();
        let mut req = RpcRequest::new("BindAxb", vec![]);
        let get = req.sign(&ctx(&c));
        req.options.method = Some("POST".into());
        let post = req.sign(&ctx(&c));
        assert_eq!(post.url, "http://h:1/");
        let body = post.body.unwrap();
        assert!(post
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/x-www-form-urlencoded"));
        let get_query = get.url.split_once('?').unwrap().1;
        let (unsigned_get, sig_get) = get_query.rsplit_once("&Signature=").unwrap();
        let (unsigned_post, sig_post) = body.rsplit_once("&Signature=").unwrap();
        assert_eq!(unsigned_get, unsigned_post);
        assert_ne!(sig_get, sig_post);
    }

    #[test]
    fn lower_case_post_signs_as_post_but_keeps_the_query_in_the_url() {
        let c = creds();
        let mut req = RpcRequest::new("BindAxb", vec![]);
        req.options.method = Some("post".into());
        let signed = req.sign(&ctx(&c));
        assert_eq!(signed.method, "POST");
        assert!(signed.url.starts_with("http://h:1/?") && signed.body.is_none());
    }

    #[test]
    fn caller_params_override_defaults_and_format_flags_are_honoured() {
        let c = Credentials {
            security_token: Some("tok".into()),
            ..creds()
        };
        let mut req = RpcRequest::new(
            "bindAxb",
            vec![
                ("format".into(), "XML".into()),
                ("x".into(), ParamValue::Absent),
            ],
        );
        req.options.format_action = false;
        let signed = req.sign(&ctx(&c));
        assert!(signed.url.contains("Format=XML") && !signed.url.contains("Format=JSON"));
        assert!(signed.url.contains("Action=bindAxb"));
        assert!(signed.url.contains("SecurityToken=tok"));
        assert!(!signed.url.contains("X="));
        req.options.format_params = false;
        let raw = req.sign(&ctx(&c));
        assert!(raw.url.contains("format=XML") && raw.url.contains("Format=JSON"));
    }

    #[test]
    fn nonces_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(make_nonce()));
        }
    }
}
