//! Property tests of the gateway's request parsing: whatever a client puts
//! in a query or a form body reaches the signature check unchanged.

use proptest::prelude::*;

use crate::params::Params;
use crate::signature::{encode, rpc_string_to_sign};

/// A pair list as a client puts it on the wire: each key and value
/// percent-encoded, joined with `=` and `&`.
fn wire(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

proptest! {
    #[test]
    fn every_pair_survives_the_query_parser(
        pairs in proptest::collection::vec(("[A-Za-z][A-Za-z0-9.]{0,8}", any::<String>()), 1..12)
    ) {
        let text = wire(&pairs);
        let mut params = Params::default();
        params.extend_from_form(text.as_bytes());
        for (key, _) in &pairs {
            // The gateway reads the first value of a repeated key.
            let first = pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
            prop_assert_eq!(params.get(key), first);
        }
        prop_assert_eq!(params.get("Signature"), None);
    }

    /// A signed query parsed and turned back into a string to sign gives the
    /// string the client signed, whatever Unicode the values hold.
    #[test]
    fn the_string_to_sign_survives_the_parser(value in any::<String>(), nonce in "[0-9a-f]{32}") {
        let pairs = vec![
            ("AccessKeyId".to_owned(), "id".to_owned()),
            ("Action".to_owned(), "BindAxb".to_owned()),
            ("OutId".to_owned(), value.clone()),
            ("SignatureNonce".to_owned(), nonce.clone()),
        ];
        let text = wire(&pairs);
        let mut params = Params::default();
        params.extend_from_form(text.as_bytes());
        let received: Vec<(&str, &str)> = pairs.iter().map(|(k, _)| (k.as_str(), params.get(k).unwrap_or("<missing>"))).collect();
        let signed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        prop_assert_eq!(rpc_string_to_sign("GET", &received), rpc_string_to_sign("GET", &signed));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut params = Params::default();
        params.extend_from_form(&bytes);
        let _ = params.get("Action");
    }
}
