//! Verification of ACS3-HMAC-SHA256 (Aliyun's signature V3), written from
//! the public description apart from any client's signer.
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
//! and compares hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical)))).

use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::gateway::{check_timestamp, gateway_error, GatewayError};
use crate::params::Params;
use crate::signature::{encode, signatures_equal};
use crate::App;

const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Whether the request is signed with V3 (an `Authorization` header of this algorithm).
pub fn applies(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(ALGORITHM))
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

/// The three fields of the Authorization header.
struct Authorization<'a> {
    credential: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, GatewayError> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| incomplete("Unknown algorithm."))?;
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
        "{ALGORITHM}\n{}",
        lower_hex(&Sha256::digest(canonical.as_bytes()))
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
    let body_hash = lower_hex(&Sha256::digest(body));
    let hashed_payload = match header(headers, "x-acs-content-sha256") {
        Some(sent) if !sent.eq_ignore_ascii_case(&body_hash) => {
            return Err(gateway_error(
                400,
                "InvalidParameter.ContentSHA256",
                "The x-acs-content-sha256 header does not match the SHA-256 of the body.",
            ))
        }
        Some(sent) => sent.to_owned(),
        None => body_hash,
    };
    let token = header(headers, "x-acs-security-token");
    let secret = crate::sts::secret_for(app, authorization.credential, token)?;
    let string_to_sign = server_string_to_sign(method, uri, headers, signed, &hashed_payload);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| {
        gateway_error(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        )
    })?;
    mac.update(string_to_sign.as_bytes());
    let expected = lower_hex(&mac.finalize().into_bytes());
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
        for bad in [
            "ACS3-HMAC-SHA256",
            "ACS3-HMAC-SHA256 Credential=id,Signature=ab",
            "HMAC Credential=a,SignedHeaders=h,Signature=s",
        ] {
            let err = parse_authorization(bad).err().unwrap();
            assert!(format!("{err:?}").contains("IncompleteSignature"), "{bad}");
        }
    }
}
