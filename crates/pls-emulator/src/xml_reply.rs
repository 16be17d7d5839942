//! `Format=XML` replies: the JSON reply rewritten as the POP gateway writes
//! XML. A reply of the action, success or business error (HTTP 200 with a
//! `Code` other than OK), is wrapped in `<{Action}Response>`, as captured
//! from the real gateway (`<SendSmsResponse>...<Code>isv.BUSINESS_LIMIT_CONTROL</Code>`
//! for the sister product dysmsapi); a gateway error (it has `HostId`) in
//! `<Error>`; a list repeats its element under the list's own name.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::Value;

/// Replies are small; anything bigger is left as it is.
const MAX_BODY: usize = 4 * 1024 * 1024;

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn element(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            for item in items {
                element(name, item, out);
            }
        }
        Value::Object(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in fields {
                element(k, v, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::String(s) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape(s, out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        other => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&other.to_string());
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// The XML text of a JSON reply: `<{root}>` holding each field.
pub fn render(root: &str, body: &Value) -> String {
    let mut out = String::from("<?xml version='1.0' encoding='UTF-8'?>");
    element(root, body, &mut out);
    out
}

/// Whether a JSON reply is the gateway's own error (it has HostId), which
/// is `<Error>`; the action's replies, errors included, are its response.
fn is_gateway_error(body: &Value) -> bool {
    body.get("HostId").is_some()
}

/// Rewrites a JSON reply as XML; a body that is not JSON stays as it is.
pub async fn to_xml(response: Response, action: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let root = if is_gateway_error(&json) || action.is_empty() {
        "Error".to_string()
    } else {
        format!("{action}Response")
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(render(&root, &json)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_repeat_their_element_and_text_is_escaped() {
        let body = json!({
            "RequestId": "r1", "Code": "OK",
            "SecretBindList": {"SecretBind": [{"SubsId": "1"}, {"SubsId": "2"}]},
            "Note": "a<b & 'c'", "Count": 2, "Empty": null,
        });
        assert_eq!(
            render("BindBatchAxgResponse", &body),
            "<?xml version='1.0' encoding='UTF-8'?><BindBatchAxgResponse><RequestId>r1</RequestId><Code>OK</Code>\
             <SecretBindList><SecretBind><SubsId>1</SubsId></SecretBind><SecretBind><SubsId>2</SubsId></SecretBind></SecretBindList>\
             <Note>a&lt;b &amp; &apos;c&apos;</Note><Count>2</Count><Empty/></BindBatchAxgResponse>"
        );
    }

    #[test]
    fn only_gateway_errors_are_error_documents() {
        assert!(!is_gateway_error(&json!({"Code": "isv.BIND_CONFLICT"})));
        assert!(is_gateway_error(
            &json!({"Code": "SignatureDoesNotMatch", "HostId": "h"})
        ));
        assert!(!is_gateway_error(&json!({"Code": "OK"})));
    }

    #[tokio::test]
    async fn a_business_error_keeps_the_action_root() {
        let reply = |body: &str| Response::new(Body::from(body.to_string()));
        let business = to_xml(
            reply(r#"{"RequestId":"r","Code":"isv.BIND_CONFLICT","Message":"m"}"#),
            "BindAxb",
        )
        .await;
        let text = to_bytes(business.into_body(), MAX_BODY).await.unwrap();
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            "<?xml version='1.0' encoding='UTF-8'?><BindAxbResponse><RequestId>r</RequestId><Code>isv.BIND_CONFLICT</Code><Message>m</Message></BindAxbResponse>"
        );
        let gateway = to_xml(
            reply(r#"{"RequestId":"r","HostId":"h","Code":"InvalidVersion","Message":"m"}"#),
            "BindAxb",
        )
        .await;
        let text = to_bytes(gateway.into_body(), MAX_BODY).await.unwrap();
        assert!(std::str::from_utf8(&text)
            .unwrap()
            .contains("<Error><RequestId>"));
    }
}
