//! Aliyun RPC signature version 1.0 (HMAC-SHA1), as pop-core computes it.
//!
//! canonical query  = sorted pairs, each `encode(key)=encode(value)`, joined by `&`
//! string to sign   = METHOD & encode("/") & encode(canonical query)
//! signature        = base64(HMAC-SHA1(key = secret + "&", string to sign))

use crate::digest::hmac_sha1_base64;
use crate::encode::{percent_encode, percent_encode_into};

/// Joins already sorted pairs into the canonical query string.
pub fn canonical_query<K: AsRef<str>, V: AsRef<str>>(sorted_pairs: &[(K, V)]) -> String {
    let mut out = String::with_capacity(sorted_pairs.len() * 32);
    for (index, (key, value)) in sorted_pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        percent_encode_into(key.as_ref(), &mut out);
        out.push('=');
        percent_encode_into(value.as_ref(), &mut out);
    }
    out
}

/// `METHOD&%2F&` + the encoded canonical query.
pub fn string_to_sign(method: &str, canonical_query: &str) -> String {
    let mut out = String::with_capacity(method.len() + 4 + canonical_query.len() * 5 / 4);
    out.push_str(method);
    out.push_str("&%2F&");
    percent_encode_into(canonical_query, &mut out);
    out
}

/// base64(HMAC-SHA1(secret + "&", string_to_sign)).
pub fn sign(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut key = Vec::with_capacity(access_key_secret.len() + 1);
    key.extend_from_slice(access_key_secret.as_bytes());
    key.push(b'&');
    hmac_sha1_base64(&key, string_to_sign.as_bytes())
}

/// The `Signature` value as it goes into the query: encoded once more.
pub fn encoded_signature(access_key_secret: &str, method: &str, canonical: &str) -> String {
    percent_encode(&sign(access_key_secret, &string_to_sign(method, canonical)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::PairSet;

    fn aliyun_example() -> Vec<(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )> {
        let mut set = PairSet::default();
        for (k, v) in [
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("Version", "2014-05-26"),
            ("AccessKeyId", "testid"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
        ] {
            set.set(k, v);
        }
        set.into_sorted()
    }

    #[test]
    fn aliyun_published_example_get_and_post() {
        let canonical = canonical_query(&aliyun_example());
        assert_eq!(
            sign("testsecret", &string_to_sign("GET", &canonical)),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        assert_eq!(
            sign("testsecret", &string_to_sign("POST", &canonical)),
            "MxbnVAM4w6sft9xjVpe/GCKueuk="
        );
    }

    #[test]
    fn string_to_sign_encodes_the_query_again() {
        let canonical = canonical_query(&[("A", "b c"), ("D", "é")]);
        assert_eq!(canonical, "A=b%20c&D=%C3%A9");
        assert_eq!(
            string_to_sign("GET", &canonical),
            "GET&%2F&A%3Db%2520c%26D%3D%25C3%25A9"
        );
    }
}
