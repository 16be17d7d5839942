//! Aliyun's signature V3 for RPC actions, in its two HMAC forms:
//! ACS3-HMAC-SHA256 and ACS3-HMAC-SM3, which differ only in the hash
//! (SHA-256 or SM3, GB/T 32905) used for the body, the canonical request
//! and the HMAC. As Aliyun's own runtimes do, the body hash travels in
//! `x-acs-content-sha256` whichever the hash.
//!
//! canonical request = METHOD \n URI \n canonical query \n
//!                     each signed header as `name:value\n` \n
//!                     signed header names joined by `;` \n
//!                     hex(SHA-256(body))
//! string to sign    = "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical request))
//! signature         = hex(HMAC-SHA256(secret, string to sign))
//! Authorization     = "ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<sig>"
//!
//! The action and version travel in `x-acs-action` / `x-acs-version`, the
//! time in `x-acs-date`, the nonce in `x-acs-signature-nonce`, an STS token
//! in `x-acs-security-token`; the action's own params in the query (GET) or
//! a form body (POST). Encoding and sorting are the V1 signer's.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;

use crate::action::API_VERSION;
use crate::params::{first_letter_upper, PairSet};
use crate::rpc::{RpcRequest, SignedRequest, SigningContext};
use crate::signer::canonical_query;

/// The algorithm's name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The hash of a V3 signature: SHA-256 or SM3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3Hash {
    /// ACS3-HMAC-SHA256.
    Sha256,
    /// ACS3-HMAC-SM3.
    Sm3,
}

impl V3Hash {
    /// The algorithm's name in the string to sign and `Authorization`.
    pub fn algorithm(self) -> &'static str {
        match self {
            V3Hash::Sha256 => ALGORITHM,
            V3Hash::Sm3 => "ACS3-HMAC-SM3",
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            V3Hash::Sha256 => hex(&Sha256::digest(data)),
            V3Hash::Sm3 => hex(&Sm3::digest(data)),
        }
    }

    /// hex(HMAC(secret, string to sign)); the key is the bare secret.
    pub fn signature(self, access_key_secret: &str, string_to_sign: &str) -> String {
        match self {
            V3Hash::Sha256 => signature(access_key_secret, string_to_sign),
            V3Hash::Sm3 => {
                let mut mac = match Hmac::<Sm3>::new_from_slice(access_key_secret.as_bytes()) {
                    Ok(mac) => mac,
                    Err(_) => unreachable!("HMAC takes keys of any length"),
                };
                mac.update(string_to_sign.as_bytes());
                hex(&mac.finalize().into_bytes())
            }
        }
    }

    /// `<algorithm>\n` + hex(hash(canonical request)).
    pub fn string_to_sign(self, canonical_request: &str) -> String {
        format!(
            "{}\n{}",
            self.algorithm(),
            self.hash_hex(canonical_request.as_bytes())
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 15) as usize] as char);
    }
    out
}

/// The canonical request of headers already lower-case, trimmed and sorted
/// by name; returns it with the `;`-joined signed header names.
pub fn canonical_request(
    method: &str,
    uri: &str,
    canonical_query: &str,
    sorted_headers: &[(String, String)],
    hashed_payload: &str,
) -> (String, String) {
    let signed_headers = sorted_headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut out = String::with_capacity(256 + canonical_query.len());
    for part in [method, uri, canonical_query] {
        out.push_str(part);
        out.push('\n');
    }
    for (name, value) in sorted_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers);
    out.push('\n');
    out.push_str(hashed_payload);
    (out, signed_headers)
}

/// hex(HMAC-SHA256(secret, string to sign)); the key is the bare secret.
fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub fn authorization(
    hash: V3Hash,
    access_key_id: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    format!(
        "{} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}",
        hash.algorithm()
    )
}

/// `host[:port]` of a base URL, as the client sends it in `Host`.
fn host_of(endpoint: &str) -> String {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_ascii_lowercase()
}

/// Signs an RPC call with signature V3 over `hash`, honouring the same
/// options as the V1 signer (method, formatAction, formatParams, headers).
pub fn sign_rpc(request: &RpcRequest, ctx: &SigningContext<'_>, hash: V3Hash) -> SignedRequest {
    let opts = &request.options;
    let action = if opts.format_action {
        first_letter_upper(&request.action).into_owned()
    } else {
        request.action.clone()
    };
    let mut pairs = PairSet::with_capacity(request.params.len());
    for (key, value) in &request.params {
        let key = if opts.format_params {
            first_letter_upper(key)
        } else {
            std::borrow::Cow::Borrowed(key.as_str())
        };
        pairs.set_param(key, value);
    }
    let query = canonical_query(&pairs.into_sorted());
    let method = opts.method.as_deref().unwrap_or("GET").to_uppercase();
    let form_body = opts.method.as_deref() == Some("POST");
    let (canonical_query_text, body) = if form_body {
        (String::new(), query)
    } else {
        (query, String::new())
    };
    let hashed_payload = hash.hash_hex(body.as_bytes());

    let creds = ctx.credentials;
    let mut signed: Vec<(String, String)> = vec![
        ("host".into(), host_of(ctx.endpoint)),
        ("x-acs-action".into(), action.clone()),
        ("x-acs-content-sha256".into(), hashed_payload.clone()),
        ("x-acs-date".into(), ctx.timestamp.into()),
        ("x-acs-signature-nonce".into(), ctx.nonce.into()),
        ("x-acs-version".into(), API_VERSION.into()),
    ];
    if let Some(token) = creds.security_token.as_ref().filter(|t| !t.is_empty()) {
        signed.push(("x-acs-security-token".into(), token.clone()));
    }
    if form_body {
        signed.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    let (canonical, signed_names) = canonical_request(
        &method,
        "/",
        &canonical_query_text,
        &signed,
        &hashed_payload,
    );
    let sig = hash.signature(&creds.access_key_secret, &hash.string_to_sign(&canonical));

    let mut headers: Vec<(String, String)> = match &opts.headers {
        // Custom headers replace the defaults, as in V1, but never the signed ones.
        Some(custom) => custom
            .iter()
            .filter(|(name, _)| {
                !signed.iter().any(|(s, _)| s.eq_ignore_ascii_case(name))
                    && !name.eq_ignore_ascii_case("authorization")
            })
            .cloned()
            .collect(),
        None => vec![
            ("x-sdk-client".into(), ctx.sdk_client.into()),
            ("user-agent".into(), ctx.user_agent.into()),
        ],
    };
    // The client writes Host from the URL itself.
    headers.extend(signed.into_iter().filter(|(name, _)| name != "host"));
    headers.push((
        "authorization".into(),
        authorization(hash, &creds.access_key_id, &signed_names, &sig),
    ));

    let url = if canonical_query_text.is_empty() {
        format!("{}/", ctx.endpoint)
    } else {
        format!("{}/?{canonical_query_text}", ctx.endpoint)
    };
    SignedRequest {
        method,
        url,
        body: form_body.then_some(body),
        headers,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Credentials;

    /// Aliyun's published V3 example: RunInstances on ECS, POST with the
    /// params in the query and an empty body.
    #[test]
    fn aliyun_published_example() {
        let query =
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";
        let empty = V3Hash::Sha256.hash_hex(b"");
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let headers: Vec<(String, String)> = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-content-sha256", empty.as_str()),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (canonical, names) = canonical_request("POST", "/", query, &headers, &empty);
        assert_eq!(
            names,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        assert_eq!(
            V3Hash::Sha256.hash_hex(canonical.as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        let sig = signature(
            "YourAccessKeySecret",
            &V3Hash::Sha256.string_to_sign(&canonical),
        );
        assert_eq!(
            sig,
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        assert_eq!(
            authorization(V3Hash::Sha256, "YourAccessKeyId", &names, &sig),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    /// The value of one header of a signed request.
    fn header_of<'r>(signed: &'r SignedRequest, name: &str) -> Option<&'r str> {
        signed
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn ctx<'a>(creds: &'a Credentials) -> SigningContext<'a> {
        SigningContext {
            endpoint: "http://127.0.0.1:8080",
            credentials: creds,
            user_agent: "ua",
            sdk_client: "sc",
            timestamp: "2023-10-26T10:22:32Z",
            nonce: "n1",
        }
    }

    #[test]
    fn rpc_calls_carry_action_version_and_authorization_in_headers() {
        let creds = Credentials {
            access_key_id: "id".into(),
            access_key_secret: "secret".into(),
            security_token: Some("tok".into()),
        };
        let request = RpcRequest::new(
            "bindAxb",
            vec![
                ("poolKey".into(), "FC1".into()),
                ("PhoneNoA".into(), "1 2".into()),
            ],
        );
        let signed = sign_rpc(&request, &ctx(&creds), V3Hash::Sha256);
        assert_eq!(
            signed.url,
            "http://127.0.0.1:8080/?PhoneNoA=1%202&PoolKey=FC1"
        );
        assert!(signed.body.is_none() && signed.method == "GET");
        let header = |name: &str| header_of(&signed, name);
        assert_eq!(header("x-acs-action"), Some("BindAxb"));
        assert_eq!(header("x-acs-version"), Some(API_VERSION));
        assert_eq!(header("x-acs-security-token"), Some("tok"));
        assert_eq!(
            header("x-acs-content-sha256"),
            Some(V3Hash::Sha256.hash_hex(b"").as_str())
        );
        let authorization = header("authorization").unwrap();
        assert!(authorization.starts_with(
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,Signature="
        ), "{authorization}");
        assert!(!signed.url.contains("Signature") && !signed.url.contains("AccessKeyId"));
        assert!(!format!("{signed:?}").contains("secret"));
    }

    /// SM3 against the standard's example (GB/T 32905-2016 A.1), and
    /// HMAC-SM3 against Aliyun's own runtime (`alibabacloud_tea_openapi`
    /// 0.4.6: `hmac.new(b"YourAccessKeySecret", b"ACS3-HMAC-SM3\nabc", Sm3)`).
    #[test]
    fn sm3_vectors() {
        assert_eq!(
            V3Hash::Sm3.hash_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            V3Hash::Sm3.signature("YourAccessKeySecret", "ACS3-HMAC-SM3\nabc"),
            "199b50b9804776a48b7f91d842dfa3e563312a5db2177fee2f283930d7ccb1af"
        );
    }

    #[test]
    fn sm3_calls_name_their_algorithm_and_hash_the_body_with_sm3() {
        let creds = Credentials {
            access_key_id: "id".into(),
            access_key_secret: "secret".into(),
            security_token: None,
        };
        let mut request = RpcRequest::new("BindAxb", vec![("PoolKey".into(), "FC1".into())]);
        request.options.method = Some("POST".into());
        let signed = sign_rpc(&request, &ctx(&creds), V3Hash::Sm3);
        let header = |name: &str| header_of(&signed, name);
        assert_eq!(
            header("x-acs-content-sha256"),
            Some(V3Hash::Sm3.hash_hex(b"PoolKey=FC1").as_str())
        );
        let authorization = header("authorization").unwrap();
        assert!(
            authorization
                .starts_with("ACS3-HMAC-SM3 Credential=id,SignedHeaders=content-type;host;"),
            "{authorization}"
        );
        let sha = sign_rpc(&request, &ctx(&creds), V3Hash::Sha256);
        assert_ne!(sha.headers, signed.headers);
    }

    #[test]
    fn post_signs_the_form_body_and_its_content_type() {
        let creds = Credentials {
            access_key_id: "id".into(),
            access_key_secret: "secret".into(),
            security_token: None,
        };
        let mut request = RpcRequest::new("BindAxb", vec![("PoolKey".into(), "FC1".into())]);
        request.options.method = Some("POST".into());
        let signed = sign_rpc(&request, &ctx(&creds), V3Hash::Sha256);
        assert_eq!(signed.url, "http://127.0.0.1:8080/");
        assert_eq!(signed.body.as_deref(), Some("PoolKey=FC1"));
        let header = |name: &str| header_of(&signed, name);
        assert_eq!(
            header("x-acs-content-sha256"),
            Some(V3Hash::Sha256.hash_hex(b"PoolKey=FC1").as_str())
        );
        assert!(header("authorization")
            .unwrap()
            .contains("SignedHeaders=content-type;host;"));
    }
}
