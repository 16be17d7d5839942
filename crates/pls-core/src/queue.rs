//! receiveMsg: temporary queue credentials from dybaseapi (cached per
//! message type, see [`crate::token_cache`]), and the MNS long poll (and
//! delete) made with them.
//!
//! As the original: the token is asked for with the message type and the
//! caller's queue name. Beyond it: a token MNS no longer accepts is replaced
//! and the call made again, once.

use std::future::Future;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

use crate::action::QUERY_TOKEN_FOR_MNS_QUEUE;
use crate::client::PlsClient;
use crate::config::Credentials;
use crate::config::Service;
use crate::error::SdkError;
pub use crate::message_type::MessageType;
use crate::mns::{MnsEndpoint, MnsReply};
use crate::params::ParamValue;
use crate::rpc::RpcRequest;
use crate::token_cache::TokenLease;

/// MNS error codes after which a fresh token may succeed where the cached one
/// failed: the token expired or was revoked before our 10 minutes were up.
const STALE_TOKEN_CODES: &[&str] = &[
    "SecurityTokenExpired",
    "InvalidSecurityToken",
    "InvalidAccessKeyId",
    "AccessDenied",
];

/// The credentials in a `QueryTokenForMnsQueue` reply; all three non-empty or [`SdkError::TokenFailed`].
pub fn credentials_from_token_reply(reply: &Value) -> Result<Credentials, SdkError> {
    let dto = reply.get("MessageTokenDTO");
    let text = |name: &str| -> Option<String> {
        dto.and_then(|dto| dto.get(name))
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    match (
        text("AccessKeyId"),
        text("AccessKeySecret"),
        text("SecurityToken"),
    ) {
        (Some(access_key_id), Some(access_key_secret), Some(security_token)) => Ok(Credentials {
            access_key_id,
            access_key_secret,
            security_token: Some(security_token),
        }),
        _ => Err(SdkError::TokenFailed),
    }
}

/// True when `err` says MNS no longer takes the token (see [`STALE_TOKEN_CODES`]).
pub fn means_stale_token(err: &SdkError) -> bool {
    matches!(err, SdkError::Mns { code, .. } if STALE_TOKEN_CODES.contains(&code.as_str()))
}

/// The JSON object inside a message's base64 `MessageBody`.
pub fn decode_message_body(body_base64: &str) -> Result<Value, SdkError> {
    let invalid = |what: String| SdkError::InvalidArgument {
        message: format!("MessageBody {what}"),
    };
    // Line breaks are legal in base64 text and harmless to drop.
    let compact: String = body_base64
        .chars()
        .filter(|ch| !ch.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|err| invalid(format!("is not base64: {err}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|err| invalid(format!("does not decode to UTF-8 text: {err}")))?;
    serde_json::from_str(&text).map_err(|err| invalid(format!("does not decode to JSON: {err}")))
}

/// The checks `receive_msg` and `delete_msg` make before any request: a
/// known message type and a queue name that addresses only that queue.
pub fn check_receive_args(msg_type: u32, queue_name: &str) -> Result<MessageType, SdkError> {
    let kind = MessageType::from_number(msg_type)?;
    check_queue_name(queue_name)?;
    Ok(kind)
}

/// MNS names queues with letters, digits and `-`; a `/`, `?` or `#` would
/// silently address another resource, so only URL-safe names are sent.
pub fn check_queue_name(queue_name: &str) -> Result<(), SdkError> {
    if queue_name.is_empty() {
        return Err(SdkError::InvalidArgument {
            message: "parameter \"queueName\" is required".into(),
        });
    }
    if let Some(bad) = queue_name
        .chars()
        .find(|ch| !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.' | '~')))
    {
        return Err(SdkError::InvalidArgument {
            message: format!("queue name {queue_name:?} holds {bad:?}; MNS queue names are letters, digits and '-'"),
        });
    }
    Ok(())
}

impl PlsClient {
    /// `receiveMsg`: long-polls `queue_name` for up to `wait_seconds` (at most
    /// 30) with the token of `msg_type`; when `delete` and a message came
    /// (200 with a ReceiptHandle), deletes it before returning.
    pub async fn receive_msg(
        &self,
        msg_type: u32,
        queue_name: &str,
        wait_seconds: u32,
        delete: bool,
    ) -> Result<MnsReply, SdkError> {
        let kind = MessageType::from_number(msg_type)?;
        self.receive_message(kind, queue_name, wait_seconds, delete)
            .await
    }

    /// [`PlsClient::receive_msg`] for any receipt type, named or numbered.
    pub async fn receive_message(
        &self,
        kind: MessageType,
        queue_name: &str,
        wait_seconds: u32,
        delete: bool,
    ) -> Result<MnsReply, SdkError> {
        check_queue_name(queue_name)?;
        let endpoint = self.mns_endpoint();
        let endpoint = &endpoint;
        let reply = self
            .with_mns_token(kind, queue_name, |credentials| async move {
                endpoint
                    .receive_message(&credentials, queue_name, wait_seconds)
                    .await
            })
            .await?;
        if reply.body.is_none() {
            // The original fails here too (it destructures the missing body).
            return Err(SdkError::InvalidResponse {
                action: "ReceiveMessage".into(),
                url: format!("{}/queues/{queue_name}/messages", endpoint.base_url),
                status: reply.code,
                cause: "no XML document in the reply".into(),
            });
        }
        if delete && reply.code == 200 {
            if let Some(handle) = reply
                .field("ReceiptHandle")
                .filter(|handle| !handle.is_empty())
            {
                self.delete_message(kind, queue_name, handle).await?;
            }
        }
        Ok(reply)
    }

    /// Deletes a received message, for consumers that delete only after
    /// handling it; fails unless MNS answers 2xx.
    pub async fn delete_msg(
        &self,
        msg_type: u32,
        queue_name: &str,
        receipt_handle: &str,
    ) -> Result<(), SdkError> {
        let kind = MessageType::from_number(msg_type)?;
        self.delete_message(kind, queue_name, receipt_handle).await
    }

    /// [`PlsClient::delete_msg`] for any receipt type, named or numbered.
    pub async fn delete_message(
        &self,
        kind: MessageType,
        queue_name: &str,
        receipt_handle: &str,
    ) -> Result<(), SdkError> {
        check_queue_name(queue_name)?;
        if receipt_handle.is_empty() {
            return Err(SdkError::InvalidArgument {
                message: "parameter \"receiptHandle\" is required".into(),
            });
        }
        let endpoint = self.mns_endpoint();
        let endpoint = &endpoint;
        let reply = self
            .with_mns_token(kind, queue_name, |credentials| async move {
                endpoint
                    .delete_message(&credentials, queue_name, receipt_handle)
                    .await
            })
            .await?;
        if (200..300).contains(&reply.code) {
            return Ok(());
        }
        Err(SdkError::InvalidResponse {
            action: "DeleteMessage".into(),
            url: format!("{}/queues/{queue_name}/messages", endpoint.base_url),
            status: reply.code,
            cause: "an error status without an MNS error document".into(),
        })
    }

    /// Runs `operation` with the type's token; if MNS says a cached token is
    /// no longer good, drops it and runs `operation` once more with a new one.
    /// Both operations here are safe to repeat: a refused request did nothing.
    async fn with_mns_token<T, F, Fut>(
        &self,
        kind: MessageType,
        queue_name: &str,
        operation: F,
    ) -> Result<T, SdkError>
    where
        F: Fn(Arc<Credentials>) -> Fut,
        Fut: Future<Output = Result<T, SdkError>>,
    {
        let lease = self.mns_token(kind, queue_name).await?;
        match operation(lease.credentials.clone()).await {
            // A token fetched for this very call would come back the same.
            Err(err) if !lease.fetched && means_stale_token(&err) => {
                self.mns_tokens().forget(kind, &lease).await;
                let fresh = self.mns_token(kind, queue_name).await?;
                operation(fresh.credentials).await
            }
            outcome => outcome,
        }
    }

    async fn mns_token(&self, kind: MessageType, queue_name: &str) -> Result<TokenLease, SdkError> {
        self.mns_tokens()
            .lease(kind, || self.fetch_mns_token(kind, queue_name))
            .await
    }

    async fn fetch_mns_token(
        &self,
        kind: MessageType,
        queue_name: &str,
    ) -> Result<Credentials, SdkError> {
        let request = RpcRequest::new(
            QUERY_TOKEN_FOR_MNS_QUEUE.name,
            vec![
                ("MessageType".into(), ParamValue::from(kind.name())),
                ("QueueName".into(), ParamValue::from(queue_name)),
            ],
        );
        let reply = self.call(Service::Dybase, &request).await?;
        credentials_from_token_reply(&reply)
    }

    fn mns_endpoint(&self) -> MnsEndpoint<'_> {
        let config = self.config();
        MnsEndpoint {
            http: self.transport(),
            base_url: &config.endpoints.mns,
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{serve, Canned, Server};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    // ---- pure helpers ----

    #[test]
    fn a_token_reply_needs_all_three_keys() {
        let full = serde_json::json!({"Code":"OK","MessageTokenDTO":{"AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t"}});
        let creds = credentials_from_token_reply(&full).unwrap();
        assert_eq!(
            (
                creds.access_key_id.as_str(),
                creds.security_token.as_deref()
            ),
            ("STS.a", Some("t"))
        );
        for broken in [
            serde_json::json!({"Code":"OK"}),
            serde_json::json!({"MessageTokenDTO":{"AccessKeyId":"STS.a","AccessKeySecret":"s"}}),
            serde_json::json!({"MessageTokenDTO":{"AccessKeyId":"","AccessKeySecret":"s","SecurityToken":"t"}}),
            serde_json::json!({"MessageTokenDTO":"x"}),
        ] {
            let err = credentials_from_token_reply(&broken).unwrap_err();
            assert_eq!(
                (err.to_string(), err.name()),
                ("get token fail".to_string(), "TypeError".to_string()),
                "{broken}"
            );
        }
    }

    #[test]
    fn stale_token_codes_are_only_mns_auth_failures() {
        let mns = |code: &str| SdkError::Mns {
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
            host_id: String::new(),
            status: 403,
            method: "GET".into(),
            url: String::new(),
        };
        assert!(means_stale_token(&mns("SecurityTokenExpired")));
        assert!(means_stale_token(&mns("InvalidAccessKeyId")));
        assert!(!means_stale_token(&mns("MessageNotExist")));
        assert!(!means_stale_token(&mns("SignatureDoesNotMatch")));
        assert!(!means_stale_token(&SdkError::TokenFailed));
    }

    #[test]
    fn a_message_body_decodes_to_its_json() {
        let report =
            r#"{"pool_key":"FC1","sub_id":1000000000000000001,"call_id":"c1","secret_no":"1700"}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(report);
        let wrapped = format!("{}\n{}", &encoded[..20], &encoded[20..]);
        let value = decode_message_body(&wrapped).unwrap();
        assert_eq!(value["pool_key"], "FC1");
        // Integers beyond 2^53 keep every digit.
        assert_eq!(value["sub_id"].to_string(), "1000000000000000001");
        for bad in [
            "!!!",
            &base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe]),
            &base64::engine::general_purpose::STANDARD.encode("not json"),
        ] {
            let err = decode_message_body(bad).unwrap_err();
            assert_eq!(err.code(), "SDK.InvalidArgument", "{bad}");
            assert!(err.to_string().starts_with("MessageBody "), "{err}");
        }
    }

    // ---- against a tiny server standing in for dybaseapi and MNS ----

    const QUEUE: &str = "Alicom-Queue-1234567890-SecretReport";
    const TOKEN: &str = r#"{"RequestId":"r1","Code":"OK","Message":"OK","MessageTokenDTO":{"AccessKeyId":"STS.tempid","AccessKeySecret":"tempsecret","SecurityToken":"temptoken","CreateTime":"2018-01-01 00:00:00","ExpireTime":"2018-01-01 00:10:00"}}"#;
    const MESSAGE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Message xmlns=\"http://mns.aliyuncs.com/doc/v1/\">\
        <MessageId>M1</MessageId><ReceiptHandle>1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA==</ReceiptHandle>\
        <MessageBodyMD5>X</MessageBodyMD5><MessageBody>eyJhIjoxfQ==</MessageBody><EnqueueTime>1250700979248</EnqueueTime>\
        <NextVisibleTime>1250700799348</NextVisibleTime><FirstDequeueTime>1250700779318</FirstDequeueTime>\
        <DequeueCount>1</DequeueCount><Priority>8</Priority></Message>";

    fn mns_error(code: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error xmlns=\"http://mns.aliyuncs.com/doc/v1/\">\
             <Code>{code}</Code><Message>{code} happened</Message><RequestId>R</RequestId><HostId>H</HostId></Error>"
        )
    }

    /// A token, then messages, then 204 for deletes.
    fn happy(head: &str) -> Canned {
        if head.starts_with("GET /?") {
            Canned::new(200, "application/json", TOKEN)
        } else if head.starts_with("GET /queues/") {
            Canned::new(200, "text/xml;charset=utf-8", MESSAGE)
        } else if head.starts_with("DELETE /queues/") {
            Canned::new(204, "text/xml", "")
        } else {
            Canned::new(500, "text/plain", "unexpected")
        }
    }

    #[tokio::test]
    async fn receive_asks_for_a_token_then_polls_signed_with_it() {
        let server = serve(happy).await;
        let client = server.client();
        let reply = client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        assert_eq!(reply.code, 200);
        assert!(reply.headers.is_empty());
        assert_eq!(reply.field("MessageId"), Some("M1"));
        assert_eq!(reply.field("Priority"), Some("8"));

        let token = server.hits("GET /?");
        assert_eq!(token.len(), 1);
        assert!(
            token[0].contains("Action=QueryTokenForMnsQueue"),
            "{}",
            token[0]
        );
        assert!(
            token[0].contains("MessageType=SecretReport")
                && token[0].contains(&format!("QueueName={QUEUE}")),
            "{}",
            token[0]
        );

        let poll = server.hits("GET /queues/");
        assert_eq!(poll.len(), 1);
        assert!(
            poll[0].starts_with(&format!(
                "GET /queues/{QUEUE}/messages?waitseconds=1 HTTP/1.1"
            )),
            "{}",
            poll[0]
        );
        let lower = poll[0].to_ascii_lowercase();
        assert!(
            lower.contains("authorization: mns sts.tempid:"),
            "{}",
            poll[0]
        );
        assert!(lower.contains("security-token: temptoken"), "{}", poll[0]);
        assert!(lower.contains("x-mns-version: 2015-06-06"), "{}", poll[0]);
        // Not asked to delete: nothing deleted.
        assert!(server.hits("DELETE").is_empty());
    }

    #[tokio::test]
    async fn a_named_type_asks_its_own_token_and_deletes_with_it() {
        let server = serve(happy).await;
        let client = server.client();
        let queue = "Alicom-Queue-1234567890-SecretStartReport";
        client
            .receive_message(MessageType::SecretStartReport, queue, 1, true)
            .await
            .unwrap();
        let token = server.hits("GET /?");
        assert_eq!(token.len(), 1);
        assert!(
            token[0].contains("MessageType=SecretStartReport")
                && token[0].contains(&format!("QueueName={queue}")),
            "{}",
            token[0]
        );
        assert_eq!(server.hits("DELETE /queues/").len(), 1);
        // The original's 0 and the name SecretReport share one slot, apart
        // from SecretStartReport's.
        client
            .receive_message(MessageType::SecretReport, QUEUE, 1, false)
            .await
            .unwrap();
        client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        assert_eq!(server.token_hits(), 2);
        let err = client
            .receive_message(MessageType::NumberManagementReport, "bad/name", 1, false)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "SDK.InvalidArgument");
        assert_eq!(server.token_hits(), 2, "no request for a bad queue name");
    }

    #[tokio::test]
    async fn receive_with_delete_deletes_by_receipt_handle() {
        let server = serve(happy).await;
        let client = server.client();
        client.receive_msg(0, QUEUE, 0, true).await.unwrap();
        // 0 sends no waitseconds, as the original.
        assert_eq!(
            server
                .hits(&format!("GET /queues/{QUEUE}/messages HTTP/1.1"))
                .len(),
            1
        );
        let delete = server.hits("DELETE /queues/");
        assert_eq!(delete.len(), 1);
        assert!(
            delete[0].starts_with(&format!("DELETE /queues/{QUEUE}/messages?ReceiptHandle=1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA== HTTP/1.1")),
            "{}",
            delete[0]
        );
        assert!(
            delete[0].contains("\r\ncontent-md5: ZDQxZDhjZDk4ZjAwYjIwNGU5ODAwOTk4ZWNmODQyN2U=\r\n"),
            "{}",
            delete[0]
        );
        assert!(
            delete[0].contains("\r\ncontent-type: text/xml\r\n"),
            "{}",
            delete[0]
        );
        // Set by us for the signature and by the HTTP stack: must go out once.
        for once in ["\r\ncontent-length: ", "\r\nhost: "] {
            assert_eq!(delete[0].matches(once).count(), 1, "{}", delete[0]);
        }
        // One token served both calls.
        assert_eq!(server.token_hits(), 1);
    }

    #[tokio::test]
    async fn long_waits_are_capped_at_30_seconds() {
        let server = serve(happy).await;
        server
            .client()
            .receive_msg(0, QUEUE, 120, false)
            .await
            .unwrap();
        assert_eq!(
            server
                .hits(&format!("GET /queues/{QUEUE}/messages?waitseconds=30 "))
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn an_empty_queue_rejects_with_mns_message_not_exist_and_deletes_nothing() {
        let server = serve(|head: &str| {
            if head.starts_with("GET /queues/") {
                Canned::new(404, "text/xml", mns_error("MessageNotExist"))
            } else {
                happy(head)
            }
        })
        .await;
        let err = server
            .client()
            .receive_msg(0, QUEUE, 1, true)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "MNSMessageNotExistError");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("GET {}/queues/{QUEUE}/messages?waitseconds=1 failed with 404. requestid: R, hostid: H, message: MessageNotExist happened", server.url)),
            "{text}"
        );
        assert!(server.hits("DELETE").is_empty());
        // An empty queue is not a token problem: no second token request.
        assert_eq!(server.token_hits(), 1);
    }

    #[tokio::test]
    async fn a_reply_without_xml_is_an_invalid_response() {
        let server = serve(|head: &str| {
            if head.starts_with("GET /queues/") {
                Canned::new(502, "text/html", "<html>bad gateway</html>")
            } else {
                happy(head)
            }
        })
        .await;
        let err = server
            .client()
            .receive_msg(0, QUEUE, 1, false)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "SDK.InvalidResponse", "{err}");
        assert!(err.to_string().contains("502"), "{err}");
    }

    #[tokio::test]
    async fn concurrent_receives_share_one_token_request() {
        let server = serve(|head: &str| {
            let mut canned = happy(head);
            if head.starts_with("GET /?") {
                // Slow enough that every caller arrives while it is in flight.
                canned.delay = Duration::from_millis(300);
            }
            canned
        })
        .await;
        let client = server.client();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            // Clones share the cache.
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                client.receive_msg(0, QUEUE, 1, false).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().field("MessageId"), Some("M1"));
        }
        assert_eq!(server.token_hits(), 1);
        assert_eq!(server.hits("GET /queues/").len(), 6);
    }

    /// Serves a token per request (numbered) and answers the polls listed in
    /// `expired` (1-based) with 403 SecurityTokenExpired.
    async fn serve_expiring(expired: &'static [usize]) -> Server {
        let tokens = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(AtomicUsize::new(0));
        serve(move |head: &str| {
            if head.starts_with("GET /?") {
                let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
                Canned::new(
                    200,
                    "application/json",
                    TOKEN.replace("STS.tempid", &format!("STS.temp{n}")),
                )
            } else if head.starts_with("GET /queues/") {
                let n = polls.fetch_add(1, Ordering::SeqCst) + 1;
                if expired.contains(&n) {
                    Canned::new(403, "text/xml", mns_error("SecurityTokenExpired"))
                } else {
                    Canned::new(200, "text/xml", MESSAGE)
                }
            } else {
                happy(head)
            }
        })
        .await
    }

    #[tokio::test]
    async fn an_expired_cached_token_is_replaced_and_the_poll_retried_once() {
        let server = serve_expiring(&[2]).await;
        let client = server.client();
        client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        let reply = client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        assert_eq!(reply.field("MessageId"), Some("M1"));
        assert_eq!(server.token_hits(), 2);
        let polls = server.hits("GET /queues/");
        assert_eq!(polls.len(), 3);
        assert!(
            polls[1].to_ascii_lowercase().contains("sts.temp1:"),
            "{}",
            polls[1]
        );
        assert!(
            polls[2].to_ascii_lowercase().contains("sts.temp2:"),
            "{}",
            polls[2]
        );
        // The replacement stays cached.
        client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        assert_eq!(server.token_hits(), 2);
    }

    #[tokio::test]
    async fn a_token_refused_twice_fails_after_one_retry() {
        let server = serve_expiring(&[2, 3, 4, 5]).await;
        let client = server.client();
        client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        let err = client.receive_msg(0, QUEUE, 1, false).await.unwrap_err();
        assert_eq!(err.name(), "MNSSecurityTokenExpiredError");
        assert_eq!(server.hits("GET /queues/").len(), 3);
        assert_eq!(server.token_hits(), 2);
    }

    #[tokio::test]
    async fn a_token_refused_as_soon_as_fetched_is_not_fetched_again() {
        let server = serve_expiring(&[1, 2]).await;
        let err = server
            .client()
            .receive_msg(0, QUEUE, 1, false)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "MNSSecurityTokenExpiredError");
        assert_eq!(server.hits("GET /queues/").len(), 1);
        assert_eq!(server.token_hits(), 1);
    }

    #[tokio::test]
    async fn a_token_reply_without_keys_is_get_token_fail() {
        let server = serve(|head: &str| {
            if head.starts_with("GET /?") {
                Canned::new(
                    200,
                    "application/json",
                    r#"{"RequestId":"r","Code":"OK","MessageTokenDTO":{"AccessKeyId":"STS.x"}}"#,
                )
            } else {
                happy(head)
            }
        })
        .await;
        let err = server
            .client()
            .receive_msg(1, "q", 1, false)
            .await
            .unwrap_err();
        assert!(matches!(err, SdkError::TokenFailed), "{err:?}");
        assert_eq!(
            (err.name(), err.to_string()),
            ("TypeError".to_string(), "get token fail".to_string())
        );
        assert!(server.hits("GET /queues/").is_empty());
    }

    #[tokio::test]
    async fn a_token_api_error_passes_through() {
        let server = serve(|head: &str| {
            if head.starts_with("GET /?") {
                Canned::new(
                    400,
                    "application/json",
                    r#"{"RequestId":"r","Code":"isv.INVALID_PARAMETERS","Message":"bad queue"}"#,
                )
            } else {
                happy(head)
            }
        })
        .await;
        let err = server
            .client()
            .receive_msg(2, "q", 1, false)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "isv.INVALID_PARAMETERS");
    }

    #[tokio::test]
    async fn bad_arguments_fail_before_any_request() {
        let server = serve(happy).await;
        let client = server.client();
        for err in [
            client.receive_msg(3, QUEUE, 1, false).await.unwrap_err(),
            client.receive_msg(0, "", 1, false).await.unwrap_err(),
            client.receive_msg(0, "q?x=1", 1, false).await.unwrap_err(),
            client.receive_msg(0, "../q", 1, false).await.unwrap_err(),
            client.delete_msg(7, QUEUE, "h").await.unwrap_err(),
            client.delete_msg(0, QUEUE, "").await.unwrap_err(),
        ] {
            assert_eq!(err.code(), "SDK.InvalidArgument", "{err}");
        }
        assert!(server.seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_long_poll_outlives_the_rpc_read_timeout() {
        let server = serve(|head: &str| {
            let mut canned = happy(head);
            if head.starts_with("GET /queues/") {
                canned.delay = Duration::from_millis(1500);
            }
            canned
        })
        .await;
        let mut config = server.config();
        config.read_timeout = Duration::from_millis(500);
        let client = PlsClient::new(config).unwrap();
        let reply = client.receive_msg(0, QUEUE, 1, false).await.unwrap();
        assert_eq!(reply.code, 200);
    }

    #[tokio::test]
    async fn delete_msg_reports_mns_errors() {
        let server = serve(|head: &str| {
            if head.starts_with("DELETE /queues/") {
                Canned::new(400, "text/xml", mns_error("ReceiptHandleError"))
            } else {
                happy(head)
            }
        })
        .await;
        let err = server
            .client()
            .delete_msg(0, QUEUE, "bogus")
            .await
            .unwrap_err();
        assert_eq!(err.name(), "MNSReceiptHandleErrorError");
        assert!(err.to_string().starts_with("DELETE "), "{err}");
        assert!(
            !err.to_string().contains("tempsecret") && !format!("{err:?}").contains("tempsecret")
        );
    }
}
