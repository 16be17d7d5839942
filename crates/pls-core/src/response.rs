//! The original's rule for a reply: JSON always; a `Code` outside the
//! success set is an error whatever the HTTP status, anything else a result.

use serde_json::Value;

use crate::error::SdkError;
use crate::jsvalue::{classify_number, is_truthy, js_string, JsNumber};

/// True for `200`, `'200'`, `'OK'`, `'Success'`, `'success'`.
pub fn is_success_code(code: &Value) -> bool {
    match code {
        Value::Number(n) => classify_number(n) == JsNumber::Double(200.0),
        Value::String(s) => matches!(s.as_str(), "200" | "OK" | "Success" | "success"),
        _ => false,
    }
}

/// A successful reply, in the cheapest form that is still exact.
#[derive(Debug, Clone, PartialEq)]
pub enum Success {
    /// Valid JSON whose numbers all fit a double: a JS engine's own
    /// `JSON.parse` of these bytes gives exactly the original's result.
    Json(bytes::Bytes),
    /// Parsed here, because an integer beyond 2^53 must keep its digits.
    Parsed(Value),
}

/// Just the two fields the success rule reads; the rest is skipped unparsed.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "Code")]
    code: Option<Value>,
}

/// The success rule without building the whole body: a reply that is an
/// object with a success Code (or none) and no big integers comes back as
/// its bytes; anything else takes the exact path of [`interpret`].
pub fn interpret_fast(
    action: &str,
    url: &str,
    status: u16,
    body: bytes::Bytes,
) -> Result<Success, SdkError> {
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) {
        let succeeded = envelope
            .code
            .as_ref()
            .is_none_or(|code| !is_truthy(code) || is_success_code(code));
        if succeeded && !has_big_integer(&body) {
            return Ok(Success::Json(body));
        }
    }
    interpret(action, url, status, &body).map(Success::Parsed)
}

/// Whether a JSON text holds an integer literal of 16 or more digits (one
/// that may not fit a double exactly). Digits inside strings do not count.
pub fn has_big_integer(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut digits = 0usize;
    for &byte in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'0'..=b'9' => digits += 1,
            // A fraction or exponent makes it a double in json-bigint too.
            b'.' | b'e' | b'E' => digits = 0,
            _ => {
                if digits >= 16 {
                    return true;
                }
                digits = 0;
                in_string = byte == b'"';
            }
        }
    }
    digits >= 16
}

/// Parses a reply body and applies the success rule.
pub fn interpret(action: &str, url: &str, status: u16, body: &[u8]) -> Result<Value, SdkError> {
    let json: Value = serde_json::from_slice(body).map_err(|err| SdkError::InvalidResponse {
        action: action.into(),
        url: url.into(),
        status,
        cause: format!("{err}; body starts with {:?}", preview(body)).into(),
    })?;
    if let Some(code) = json
        .get("Code")
        .filter(|code| is_truthy(code) && !is_success_code(code))
    {
        return Err(SdkError::Api {
            code: js_string(Some(code)),
            message: js_string(json.get("Message")),
            url: url.into(),
            data: json,
            entry: None,
        });
    }
    Ok(json)
}

/// The first 120 characters of a body, for error messages.
fn preview(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(480)])
        .chars()
        .take(120)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> Result<Value, SdkError> {
        interpret("BindAxb", "http://h/?q", 200, body.as_bytes())
    }

    #[test]
    fn success_codes_and_no_code_resolve() {
        for body in [
            r#"{"Code":"OK"}"#,
            r#"{"Code":200}"#,
            r#"{"Code":"200"}"#,
            r#"{"Code":"Success"}"#,
            r#"{"Code":"success"}"#,
            r#"{"Code":""}"#,
            r#"{"Code":0}"#,
            r#"{"RequestId":"x"}"#,
            r#"[1,2]"#,
        ] {
            assert!(run(body).is_ok(), "{body}");
        }
    }

    #[test]
    fn other_codes_reject_with_the_original_fields() {
        let err = run(r#"{"Message":"no","Code":"isv.NO_AVAILABLE_NUMBER","RequestId":"r"}"#)
            .unwrap_err();
        match &err {
            SdkError::Api {
                code,
                message,
                data,
                url,
                ..
            } => {
                assert_eq!(code, "isv.NO_AVAILABLE_NUMBER");
                assert_eq!(message, "no");
                assert_eq!(data["RequestId"], "r");
                assert_eq!(url, "http://h/?q");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.to_string(), "no, URL: http://h/?q");
        // 'ok' in lower case is not in the set; a missing Message prints as undefined.
        let err = run(r#"{"Code":"ok"}"#).unwrap_err();
        assert_eq!(err.to_string(), "undefined, URL: http://h/?q");
        assert_eq!(run(r#"{"Code":404}"#).unwrap_err().name(), "404Error");
    }

    #[test]
    fn server_key_order_is_kept() {
        let value = run(r#"{"z":1,"a":2,"m":{"y":1,"b":2}}"#).unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn the_fast_path_hands_back_bytes_only_when_exact() {
        let fast =
            |body: &str| interpret_fast("BindAxb", "u", 200, bytes::Bytes::from(body.to_owned()));
        assert!(matches!(
            fast(r#"{"Code":"OK","SecretBindDTO":{"SubsId":"123456789012345678"}}"#),
            Ok(Success::Json(_))
        ));
        assert!(matches!(
            fast(r#"{"RequestId":"x","N":1.5e300}"#),
            Ok(Success::Json(_))
        ));
        assert!(matches!(
            fast(r#"{"Code":"OK","ChargeId":12345678901234567890}"#),
            Ok(Success::Parsed(_))
        ));
        assert!(matches!(fast(r#"[1,2]"#), Ok(Success::Parsed(_))));
        // Duplicate Code: serde refuses the envelope; the exact path decides (last one wins).
        assert!(fast(r#"{"Code":"OK","Code":"isv.X"}"#).is_err());
        let err = fast(r#"{"Code":"isv.BIND_CONFLICT","Message":"m"}"#).unwrap_err();
        assert_eq!(err.code(), "isv.BIND_CONFLICT");
        assert_eq!(fast("nope").unwrap_err().code(), "SDK.InvalidResponse");
    }

    #[test]
    fn big_integers_are_found_outside_strings_only() {
        assert!(!has_big_integer(
            br#"{"a":"12345678901234567890","b":123456789012345}"#
        ));
        assert!(has_big_integer(br#"{"a":1234567890123456}"#));
        assert!(has_big_integer(br#"[-12345678901234567890]"#));
        assert!(!has_big_integer(br#"{"a":"x\"12345678901234567890"}"#));
        assert!(!has_big_integer(
            br#"{"a":12345678901234567.5,"b":1234567890123456789e3}"#
        ));
        assert!(has_big_integer(b"12345678901234567"));
    }

    #[test]
    fn a_body_that_is_not_json_is_an_sdk_error() {
        let err = run("<html>busy</html>").unwrap_err();
        assert_eq!(err.code(), "SDK.InvalidResponse");
        assert!(
            err.to_string().contains("BindAxb") && err.to_string().contains("<html>"),
            "{err}"
        );
    }

    use proptest::prelude::*;

    /// Arbitrary JSON, with a `Code` drawn from success and failure codes
    /// at the top level, and numbers of every size.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "-?[1-9][0-9]{15,25}".prop_map(|digits| serde_json::from_str(&digits).unwrap()),
            any::<f64>()
                .prop_filter("finite", |d| d.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[A-Za-z]{1,6}", inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn code() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            prop_oneof![
                Just("OK"),
                Just("200"),
                Just("Success"),
                Just("success"),
                Just("ok"),
                Just(""),
                Just("isv.X")
            ]
            .prop_map(|c| Some(Value::from(c))),
            prop_oneof![Just(200), Just(0), Just(400)].prop_map(|c| Some(Value::from(c))),
        ]
    }

    proptest! {
        /// The fast path never disagrees with the full parse: same verdict,
        /// same code, and when it hands back bytes they parse to the same value.
        #[test]
        fn the_fast_path_agrees_with_the_full_parse(body in json_value(), code in code()) {
            let body = match (body, code) {
                (Value::Object(mut map), Some(code)) => {
                    map.insert("Code".into(), code);
                    Value::Object(map)
                }
                (other, _) => other,
            };
            let text = serde_json::to_vec(&body).unwrap();
            let full = interpret("A", "u", 200, &text);
            let fast = interpret_fast("A", "u", 200, bytes::Bytes::from(text.clone()));
            match (full, fast) {
                (Ok(value), Ok(Success::Parsed(parsed))) => prop_assert_eq!(value, parsed),
                (Ok(value), Ok(Success::Json(bytes))) => {
                    prop_assert!(!has_big_integer(&bytes));
                    let reparsed: Value = serde_json::from_slice(&bytes).unwrap();
                    prop_assert_eq!(value, reparsed);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.code(), b.code()),
                (full, fast) => prop_assert!(false, "full {:?} vs fast {:?}", full, fast),
            }
        }

        /// Any bytes at all: an answer or an SDK error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Err(err) = interpret_fast("A", "u", 200, bytes::Bytes::from(body)) {
                prop_assert!(!err.code().is_empty());
            }
        }
    }
}
