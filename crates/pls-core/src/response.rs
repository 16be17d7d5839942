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

/// Parses a reply body and applies the success rule.
pub fn interpret(action: &str, url: &str, status: u16, body: &[u8]) -> Result<Value, SdkError> {
    let json: Value = serde_json::from_slice(body).map_err(|err| SdkError::InvalidResponse {
        action: action.into(),
        url: url.into(),
        status,
        cause: format!("{err}; body starts with {:?}", preview(body)),
    })?;
    if let Some(code) = json.get("Code").filter(|code| is_truthy(code) && !is_success_code(code)) {
        return Err(SdkError::Api {
            code: js_string(Some(code)),
            message: js_string(json.get("Message")),
            url: url.into(),
            data: json,
        });
    }
    Ok(json)
}

/// The first 120 characters of a body, for error messages.
fn preview(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(480)]).chars().take(120).collect()
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
        let err = run(r#"{"Message":"no","Code":"isv.NO_AVAILABLE_NUMBER","RequestId":"r"}"#).unwrap_err();
        match &err {
            SdkError::Api { code, message, data, url } => {
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
    fn a_body_that_is_not_json_is_an_sdk_error() {
        let err = run("<html>busy</html>").unwrap_err();
        assert_eq!(err.code(), "SDK.InvalidResponse");
        assert!(err.to_string().contains("BindAxb") && err.to_string().contains("<html>"), "{err}");
    }
}
