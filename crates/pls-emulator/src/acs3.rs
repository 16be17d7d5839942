//! Verification of Aliyun's signature V3 in both of its HMAC forms,
//! ACS3-HMAC-SHA256 and ACS3-HMAC-SM3, written from the public description
//! apart from any client's signer. The two differ only in the hash and the
//! HMAC: SM3 (GB/T 32905) instead of SHA-256, for the body hash, the
//! canonical request's hash and the signature. As Aliyun's runtimes send
//! it, the body hash travels in `x-acs-content-sha256` in both forms.
//!
//! The request names its action and version in `x-acs-action` and
//! `x-acs-version`, its time in `x-acs-date` (UTC, 15 minutes either way),
//! a nonce in `x-acs-signature-nonce`, the body's hash in
//! `x-acs-content-sha256`, an STS token in `x-acs-security-token`, and
//! `Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<hex>`.
//! The server rebuilds the canonical request from what arrived:
//!
//! ```text
//! METHOD \n path \n sorted encoded query \n name:value\n per signed header \n names \n body hash
//! ```
//!
//! and compares hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical))))
//! (SM3 in place of SHA-256 for ACS3-HMAC-SM3).

use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;

use crate::gateway::{check_timestamp, gateway_error, GatewayError};
use crate::params::Params;
use crate::signature::{encode, signatures_equal};
use crate::App;

/// The first word of every V3 `Authorization` header.
const V3_PREFIX: &str = "ACS3-";

/// A V3 signature algorithm the emulator verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    HmacSha256,
    HmacSm3,
}

impl Algorithm {
    fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "ACS3-HMAC-SHA256" => Some(Algorithm::HmacSha256),
            "ACS3-HMAC-SM3" => Some(Algorithm::HmacSm3),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "ACS3-HMAC-SHA256",
            Algorithm::HmacSm3 => "ACS3-HMAC-SM3",
        }
    }

    fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::HmacSha256 => lower_hex(&Sha256::digest(data)),
            Algorithm::HmacSm3 => lower_hex(&Sm3::digest(data)),
        }
    }

    fn hmac_hex(self, key: &[u8], data: &[u8]) -> Option<String> {
        Some(match self {
            Algorithm::HmacSha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
                mac.update(data);
                lower_hex(&mac.finalize().into_bytes())
            }
            Algorithm::HmacSm3 => {
                let mut mac = Hmac::<Sm3>::new_from_slice(key).ok()?;
                mac.update(data);
                lower_hex(&mac.finalize().into_bytes())
            }
        })
    }
}

/// Whether the request is signed with V3 (an `Authorization` header whose
/// first word is an `ACS3-` algorithm, known or not).
pub fn applies(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(V3_PREFIX))
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn incomplete(detail: &str) -> GatewayError {
    gateway_error(
        400,
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards. {detail}"),
    )
}

/// The algorithm and three fields of the Authorization header.
struct Authorization<'a> {
    algorithm: Algorithm,
    credential: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, GatewayError> {
    let value = value.trim();
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    let algorithm = Algorithm::from_name(name).ok_or_else(|| {
        incomplete(&format!(
            "Unknown algorithm {name:?}; ACS3-HMAC-SHA256 and ACS3-HMAC-SM3 are verified."
        ))
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.trim().split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(incomplete("The Authorization header is malformed.")),
        }
    }
    match (credential, signed, signature) {
        (Some(c), Some(s), Some(sig)) if !c.is_empty() && !s.is_empty() && !sig.is_empty() => {
            Ok(Authorization {
                algorithm,
                credential: c,
                signed_headers: s.split(';').collect(),
                signature: sig,
            })
        }
        _ => Err(incomplete(
            "Credential, SignedHeaders and Signature are all required.",
        )),
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The canonical query of a raw query string: pairs decoded, re-encoded,
/// sorted by encoded name (then value).
fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The server's string to sign for this request, with `hashed_payload` as sent.
fn server_string_to_sign(
    algorithm: Algorithm,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed: &[&str],
    hashed_payload: &str,
) -> String {
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        method.as_str(),
        uri.path(),
        canonical_query(uri.query())
    );
    for name in signed {
        let values: Vec<&str> = headers
            .get_all(*name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .collect();
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(&values.join(","));
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed.join(";"));
    canonical.push('\n');
    canonical.push_str(hashed_payload);
    format!(
        "{}\n{}",
        algorithm.name(),
        algorithm.hash_hex(canonical.as_bytes())
    )
}

/// Checks a V3 request; on success adds Action, Version, AccessKeyId,
/// SignatureNonce and SecurityToken to `params`, so the rest of the
/// gateway (nonce, version, action, dispatch) treats it like any call.
pub fn verify(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    params: &mut Params<'_>,
) -> Result<(), GatewayError> {
    let authorization = parse_authorization(header(headers, "authorization").unwrap_or(""))?;
    for (name, param) in [
        ("x-acs-action", "Action"),
        ("x-acs-version", "Version"),
        ("x-acs-date", "Timestamp"),
        ("x-acs-signature-nonce", "SignatureNonce"),
    ] {
        if header(headers, name).is_none() {
            return Err(gateway_error(
                400,
                format!("Missing{param}"),
                format!("{param} is mandatory for this action."),
            ));
        }
    }
    let date = header(headers, "x-acs-date").unwrap_or("");
    check_timestamp(date)?;
    // Every x-acs-* header and host must be signed, names lower-case and sorted.
    let signed = &authorization.signed_headers;
    if signed.windows(2).any(|w| w[0] >= w[1])
        || signed
            .iter()
            .any(|n| n.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(incomplete("SignedHeaders must be lower-case and sorted."));
    }
    if !signed.contains(&"host") {
        return Err(incomplete("The host header must be signed."));
    }
    for name in headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-acs-") && !signed.contains(&name) {
            return Err(incomplete(&format!("The header {name} must be signed.")));
        }
    }
    let algorithm = authorization.algorithm;
    let body_hash = algorithm.hash_hex(body);
    let sent_hash = header(headers, "x-acs-content-sha256").or(match algorithm {
        Algorithm::HmacSm3 => header(headers, "x-acs-content-sm3"),
        Algorithm::HmacSha256 => None,
    });
    let hashed_payload = match sent_hash {
        Some(sent) if !sent.eq_ignore_ascii_case(&body_hash) => {
            return Err(gateway_error(
                400,
                "InvalidParameter.ContentSHA256",
                format!(
                    "The body hash header does not match the {} hash of the body.",
                    match algorithm {
                        Algorithm::HmacSha256 => "SHA-256",
                        Algorithm::HmacSm3 => "SM3",
                    }
                ),
            ))
        }
        Some(sent) => sent.to_owned(),
        None => body_hash,
    };
    let token = header(headers, "x-acs-security-token");
    let secret = crate::sts::secret_for(app, authorization.credential, token)?;
    let string_to_sign =
        server_string_to_sign(algorithm, method, uri, headers, signed, &hashed_payload);
    let expected = algorithm
        .hmac_hex(secret.as_bytes(), string_to_sign.as_bytes())
        .ok_or_else(|| {
            gateway_error(
                500,
                "InternalError",
                "The request processing has failed due to some unknown error.",
            )
        })?;
    if !signatures_equal(&expected, &authorization.signature.to_ascii_lowercase()) {
        return Err(gateway_error(
            400,
            "SignatureDoesNotMatch",
            format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
        ));
    }
    for (key, name) in [
        ("Action", "x-acs-action"),
        ("Version", "x-acs-version"),
        ("SignatureNonce", "x-acs-signature-nonce"),
    ] {
        params.push_owned(key, header(headers, name).unwrap_or("").to_owned());
    }
    params.push_owned("AccessKeyId", authorization.credential.to_owned());
    if let Some(token) = token {
        params.push_owned("SecurityToken", token.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// Aliyun's published V3 example, checked by this verifier's own
    /// string to sign and HMAC.
    #[test]
    fn aliyun_published_example() {
        let uri: Uri =
            "/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
                .parse()
                .unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            (
                "x-acs-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let signed = [
            "host",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-version",
        ];
        let to_sign = server_string_to_sign(
            Algorithm::HmacSha256,
            &Method::POST,
            &uri,
            &headers,
            &signed,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        assert_eq!(
            to_sign,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"YourAccessKeySecret").unwrap();
        mac.update(to_sign.as_bytes());
        assert_eq!(
            lower_hex(&mac.finalize().into_bytes()),
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    /// SM3 against the standard's examples (GB/T 32905-2016 A.1 and A.2),
    /// and HMAC-SM3 against Aliyun's own SM3
    /// (the `alibabacloud_tea_openapi` runtime's pure-Python SM3 and
    /// `hmac`), an implementation independent of RustCrypto's.
    #[test]
    fn sm3_vectors() {
        let sm3 = Algorithm::HmacSm3;
        assert_eq!(
            sm3.hash_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            sm3.hash_hex(&b"abcd".repeat(16)),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
        assert_eq!(
            sm3.hmac_hex(b"YourAccessKeySecret", b"ACS3-HMAC-SM3\nabc")
                .unwrap(),
            HMAC_SM3_BY_ALIYUN_RUNTIME
        );
    }

    /// hmac.new(b"YourAccessKeySecret", b"ACS3-HMAC-SM3\nabc", Sm3).hexdigest()
    /// with `Sm3` from alibabacloud_tea_openapi 0.4.6.
    const HMAC_SM3_BY_ALIYUN_RUNTIME: &str =
        "199b50b9804776a48b7f91d842dfa3e563312a5db2177fee2f283930d7ccb1af";

    #[test]
    fn authorization_parsing_is_strict() {
        let ok = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-date,Signature=ab",
        )
        .unwrap();
        assert_eq!(
            (ok.credential, ok.signed_headers.len(), ok.signature),
            ("id", 2, "ab")
        );
        let sm3 =
            parse_authorization("ACS3-HMAC-SM3 Credential=id,SignedHeaders=host,Signature=cd")
                .unwrap();
        assert_eq!(sm3.algorithm, Algorithm::HmacSm3);
        for bad in [
            "ACS3-HMAC-SHA256",
            "ACS3-HMAC-SHA256 Credential=id,Signature=ab",
            "HMAC Credential=a,SignedHeaders=h,Signature=s",
            "ACS3-RSA-SHA256 Credential=a,SignedHeaders=h,Signature=s",
        ] {
            let err = parse_authorization(bad).err().unwrap();
            assert!(format!("{err:?}").contains("IncompleteSignature"), "{bad}");
        }
    }
}
