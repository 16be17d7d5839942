//! The two MNS queue operations receiveMsg needs (ReceiveMessage and
//! DeleteMessage), signed and parsed as `@alicloud/mns` 1.x does it.
//!
//! string to sign = VERB \n CONTENT-MD5 \n CONTENT-TYPE \n DATE \n
//!                  + each `x-mns-*` header as `name:value\n`, sorted by name
//!                  + resource (path and query, exactly as sent)
//! authorization  = `MNS {AccessKeyId}:` + base64(HMAC-SHA1(key = secret, string to sign))
//!
//! The security token travels in `security-token`, outside the signature.

use std::time::{Duration, SystemTime};

use base64::Engine;
use md5::{Digest, Md5};
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::config::Credentials;
use crate::digest::hmac_sha1_base64;
use crate::error::SdkError;
use crate::http::{self, Exchange};
use crate::transport::Transport;

/// The `x-mns-version` every request carries.
pub const MNS_API_VERSION: &str = "2015-06-06";

/// MNS refuses a `waitseconds` above 30, so longer polls are cut to 30.
pub const MAX_WAIT_SECONDS: u32 = 30;

/// Time allowed beyond `waitseconds` for a long poll to answer: MNS holds the
/// request for up to `waitseconds`, so the RPC read timeout would cut it.
pub const POLL_MARGIN: Duration = Duration::from_secs(5);

/// What the original's `receiveMessage`/`deleteMessage` resolve to: `{ code, headers, body }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnsReply {
    /// The HTTP status.
    pub code: u16,
    /// Always empty: the original copies no response header for these two operations.
    pub headers: Vec<(String, String)>,
    /// The root element's children as (name, text) in document order; `None`
    /// when the reply carried no XML (a 204, or another content type).
    pub body: Option<Vec<(String, String)>>,
}

impl MnsReply {
    /// The text of the first body field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.body
            .as_ref()?
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The canonical string MNS signs (see the module doc).
pub fn string_to_sign(
    verb: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    headers: &[(String, String)],
    resource: &str,
) -> String {
    let mut mns_headers: Vec<&(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.starts_with("x-mns-"))
        .collect();
    mns_headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = format!("{verb}\n{content_md5}\n{content_type}\n{date}\n");
    for (name, value) in mns_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push_str(resource);
    out
}

/// base64(HMAC-SHA1(key = secret, string_to_sign)); unlike RPC, no `&` after the secret.
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    hmac_sha1_base64(access_key_secret.as_bytes(), string_to_sign.as_bytes())
}

/// `content-md5` as the original computes it: base64 of the lowercase hex
/// digest text, not of the 16 raw bytes (MNS accepts this form).
pub fn content_md5(body: &[u8]) -> String {
    let digest = Md5::digest(body);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    base64::engine::general_purpose::STANDARD.encode(hex)
}

/// All request headers, signed, in the original's order; `date` is RFC 1123 GMT.
pub fn signed_headers(
    credentials: &Credentials,
    method: &str,
    host: &str,
    resource: &str,
    body: &str,
    date: &str,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = vec![
        ("date".into(), date.into()),
        ("host".into(), host.into()),
        ("x-mns-date".into(), date.into()),
        ("x-mns-version".into(), MNS_API_VERSION.into()),
    ];
    let (md5, content_type) = if method != "GET" && method != "HEAD" {
        let md5 = content_md5(body.as_bytes());
        headers.push(("content-length".into(), body.len().to_string()));
        headers.push(("content-type".into(), "text/xml".into()));
        headers.push(("content-md5".into(), md5.clone()));
        (md5, "text/xml")
    } else {
        (String::new(), "")
    };
    let to_sign = string_to_sign(method, &md5, content_type, date, &headers, resource);
    let authorization = format!(
        "MNS {}:{}",
        credentials.access_key_id,
        signature(&credentials.access_key_secret, &to_sign)
    );
    headers.push(("authorization".into(), authorization));
    if let Some(token) = credentials
        .security_token
        .as_ref()
        .filter(|token| !token.is_empty())
    {
        headers.push(("security-token".into(), token.clone()));
    }
    headers
}

/// The root element of an MNS XML document and its children's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDocument {
    /// Local name of the root element (`Message`, `Error`).
    pub root: String,
    /// Each child of the root as (local name, text) in document order. Text
    /// is kept as written (whitespace too), CDATA and entities resolved, an
    /// empty element gives "", as xml2js gives them to the original.
    pub children: Vec<(String, String)>,
}

/// Parses an MNS reply document. Grandchildren (MNS sends none in these
/// replies) add their text to their child's.
pub fn parse_document(xml: &str) -> Result<XmlDocument, String> {
    let mut reader = Reader::from_str(xml);
    let mut root: Option<String> = None;
    let mut children = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| format!("{err} at byte {}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                depth += 1;
                let name = local_name(start.local_name().as_ref())?;
                match depth {
                    1 if root.is_some() => return Err("more than one root element".into()),
                    1 => root = Some(name),
                    2 => current = Some((name, String::new())),
                    _ => {}
                }
            }
            Event::Empty(empty) => {
                let name = local_name(empty.local_name().as_ref())?;
                match depth {
                    0 if root.is_some() => return Err("more than one root element".into()),
                    0 => root = Some(name),
                    1 => children.push((name, String::new())),
                    _ => {}
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    if let Some(child) = current.take() {
                        children.push(child);
                    }
                }
                depth = depth
                    .checked_sub(1)
                    .ok_or("an end tag without a start tag")?;
            }
            Event::Text(text) if depth >= 2 => {
                let text = text.decode().map_err(|err| err.to_string())?;
                push_text(&mut current, &text);
            }
            Event::CData(cdata) if depth >= 2 => {
                let text = cdata.decode().map_err(|err| err.to_string())?;
                push_text(&mut current, &text);
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                if depth >= 2 {
                    push_text(&mut current, &resolved);
                }
            }
            Event::Text(text) if depth == 0 && !text.iter().all(u8::is_ascii_whitespace) => {
                return Err("text outside the root element".into());
            }
            Event::Eof => break,
            // Declaration, comments, processing instructions, whitespace
            // between the root's children: nothing the original reads.
            _ => {}
        }
    }
    if depth != 0 {
        return Err("the document ends inside an element".into());
    }
    let root = root.ok_or("no root element")?;
    Ok(XmlDocument { root, children })
}

fn local_name(raw: &[u8]) -> Result<String, String> {
    std::str::from_utf8(raw)
        .map(str::to_owned)
        .map_err(|err| err.to_string())
}

fn push_text(current: &mut Option<(String, String)>, text: &str) {
    if let Some((_, value)) = current.as_mut() {
        value.push_str(text);
    }
}

/// `&#x4E2D;` and the five predefined entities; XML allows no others without a DTD.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, String> {
    if let Some(ch) = reference
        .resolve_char_ref()
        .map_err(|err| err.to_string())?
    {
        return Ok(ch.to_string());
    }
    let name = reference.decode().map_err(|err| err.to_string())?;
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| format!("unknown entity &{name};"))
}

/// An MNS account endpoint on the client's transport.
pub struct MnsEndpoint<'a> {
    /// Where the requests go out.
    pub http: &'a Transport,
    /// `scheme://host[:port]`, no trailing slash.
    pub base_url: &'a str,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a reply that is not a long poll (DeleteMessage).
    pub read_timeout: Duration,
}

impl MnsEndpoint<'_> {
    /// ReceiveMessage: long-polls `queue` for up to `wait_seconds` (at most
    /// [`MAX_WAIT_SECONDS`]; 0 sends no `waitseconds`, so the queue's own
    /// default applies, as in the original).
    pub async fn receive_message(
        &self,
        credentials: &Credentials,
        queue: &str,
        wait_seconds: u32,
    ) -> Result<MnsReply, SdkError> {
        let wait_seconds = wait_seconds.min(MAX_WAIT_SECONDS);
        let mut resource = format!("/queues/{queue}/messages");
        if wait_seconds > 0 {
            resource.push_str(&format!("?waitseconds={wait_seconds}"));
        }
        // With no waitseconds the queue's PollingWaitSeconds (up to 30 s) applies.
        let hold = if wait_seconds > 0 {
            wait_seconds
        } else {
            MAX_WAIT_SECONDS
        };
        let read_timeout = Duration::from_secs(u64::from(hold)) + POLL_MARGIN;
        self.request(
            credentials,
            "ReceiveMessage",
            "GET",
            &resource,
            "Message",
            read_timeout,
        )
        .await
    }

    /// DeleteMessage: `receipt_handle` goes into the URL as it is, as in the original.
    pub async fn delete_message(
        &self,
        credentials: &Credentials,
        queue: &str,
        receipt_handle: &str,
    ) -> Result<MnsReply, SdkError> {
        let resource = format!("/queues/{queue}/messages?ReceiptHandle={receipt_handle}");
        self.request(
            credentials,
            "DeleteMessage",
            "DELETE",
            &resource,
            "Message",
            self.read_timeout,
        )
        .await
    }

    async fn request(
        &self,
        credentials: &Credentials,
        action: &str,
        method: &str,
        resource: &str,
        root: &str,
        read_timeout: Duration,
    ) -> Result<MnsReply, SdkError> {
        let url = format!("{}{}", self.base_url, resource);
        ensure_sent_as_signed(action, &url, resource)?;
        let date = httpdate::fmt_http_date(SystemTime::now());
        let headers = signed_headers(
            credentials,
            method,
            host_of(self.base_url),
            resource,
            "",
            &date,
        );
        let body = if method == "GET" { None } else { Some("") };
        let reply = http::send(
            self.http,
            Exchange {
                action,
                method,
                url: &url,
                headers: &headers,
                body,
                connect_timeout: self.connect_timeout,
                read_timeout,
            },
        )
        .await?;
        let content_type = reply
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        interpret(
            action,
            method,
            &url,
            reply.status,
            content_type,
            &reply.body,
            root,
        )
    }
}

/// The original's reply rule: only an XML content type is parsed; an
/// `<Error>` document rejects whatever the status; otherwise the expected
/// root's children are the body.
pub fn interpret(
    action: &str,
    method: &str,
    url: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    root: &str,
) -> Result<MnsReply, SdkError> {
    let invalid = |cause: String| SdkError::InvalidResponse {
        action: action.into(),
        url: url.into(),
        status,
        cause: cause.into(),
    };
    let content_type = content_type.to_ascii_lowercase();
    let is_xml =
        content_type.starts_with("text/xml") || content_type.starts_with("application/xml");
    if body.is_empty() || !is_xml {
        return Ok(MnsReply {
            code: status,
            headers: Vec::new(),
            body: None,
        });
    }
    let text = String::from_utf8_lossy(body);
    let document =
        parse_document(&text).map_err(|err| invalid(format!("not well-formed XML: {err}")))?;
    if document.root == "Error" {
        let field = |name: &str| -> String {
            document
                .children
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        return Err(SdkError::Mns {
            code: field("Code"),
            message: field("Message"),
            request_id: field("RequestId"),
            host_id: field("HostId"),
            status,
            method: method.into(),
            url: url.into(),
        });
    }
    if document.root != root {
        return Err(invalid(format!(
            "expected a <{root}> document, got <{}>",
            document.root
        )));
    }
    Ok(MnsReply {
        code: status,
        headers: Vec::new(),
        body: Some(document.children),
    })
}

/// The signature covers the resource as written; a queue name or receipt
/// handle that the URL parser would rewrite (spaces, `#`, `..`) would only
/// come back as SignatureDoesNotMatch, so refuse it here with the reason.
fn ensure_sent_as_signed(action: &str, url: &str, resource: &str) -> Result<(), SdkError> {
    let parsed = reqwest::Url::parse(url).map_err(|err| SdkError::InvalidArgument {
        message: format!("{action}: cannot build the URL: {err}"),
    })?;
    let sent = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    if sent != resource {
        return Err(SdkError::InvalidArgument {
            message: format!(
                "{action}: the queue name or receipt handle holds characters that cannot be sent as they are ({resource:?} would go out as {sent:?})"
            ),
        });
    }
    Ok(())
}

/// `host[:port]` of a base URL, as Node's `URL.host` gives it (default ports dropped).
fn host_of(base_url: &str) -> &str {
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("", base_url));
    let authority = rest.split('/').next().unwrap_or(rest);
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default_port).unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts() -> Credentials {
        Credentials {
            access_key_id: "STS.testid".into(),
            access_key_secret: "testsecret".into(),
            security_token: Some("tok".into()),
        }
    }

    // Vectors from the original: @alicloud/mns 1.2.0, `new Client('1943695596114318',
    // { region: 'cn-hangzhou', accessKeyId: 'STS.testid', accessKeySecret: 'testsecret',
    // securityToken: 'tok' })`, global Date frozen at 1456231584000, then
    // `client.buildHeaders(method, '', resource, {})`.
    const DATE: &str = "Tue, 23 Feb 2016 12:46:24 GMT";
    const HOST: &str = "1943695596114318.mns.cn-hangzhou.aliyuncs.com";
    const RECEIVE: &str = "/queues/Alicom-Queue-1234567890-SecretReport/messages?waitseconds=10";
    const DELETE: &str =
        "/queues/Alicom-Queue-1234567890-SecretReport/messages?ReceiptHandle=1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA==";

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn the_date_is_rfc_1123_as_javascript_writes_it() {
        let date =
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(1_456_231_584));
        assert_eq!(date, DATE);
    }

    #[test]
    fn get_is_signed_as_the_original_signs_it() {
        let headers = signed_headers(&sts(), "GET", HOST, RECEIVE, "", DATE);
        assert_eq!(
            header(&headers, "authorization"),
            Some("MNS STS.testid:NX0Nl6YQTJTvjXErg/b+PZekjpc=")
        );
        assert_eq!(header(&headers, "security-token"), Some("tok"));
        assert_eq!(header(&headers, "x-mns-version"), Some("2015-06-06"));
        assert_eq!(header(&headers, "x-mns-date"), Some(DATE));
        assert_eq!(header(&headers, "host"), Some(HOST));
        assert_eq!(header(&headers, "content-md5"), None);
        assert_eq!(header(&headers, "content-type"), None);
    }

    #[test]
    fn delete_is_signed_with_the_md5_of_the_empty_body() {
        let headers = signed_headers(&sts(), "DELETE", HOST, DELETE, "", DATE);
        assert_eq!(
            header(&headers, "authorization"),
            Some("MNS STS.testid:RQZx8GO5Xa4Acj/0hUiZMuz5NT4=")
        );
        assert_eq!(
            header(&headers, "content-md5"),
            Some("ZDQxZDhjZDk4ZjAwYjIwNGU5ODAwOTk4ZWNmODQyN2U=")
        );
        assert_eq!(header(&headers, "content-type"), Some("text/xml"));
        assert_eq!(header(&headers, "content-length"), Some("0"));
    }

    #[test]
    fn the_token_is_not_signed() {
        let mut without = sts();
        without.security_token = None;
        let a = signed_headers(&sts(), "GET", HOST, RECEIVE, "", DATE);
        let b = signed_headers(&without, "GET", HOST, RECEIVE, "", DATE);
        assert_eq!(header(&a, "authorization"), header(&b, "authorization"));
        assert_eq!(header(&b, "security-token"), None);
    }

    #[test]
    fn string_to_sign_sorts_the_mns_headers_and_skips_the_rest() {
        let headers = vec![
            ("x-mns-version".to_string(), "2015-06-06".to_string()),
            ("host".to_string(), "h".to_string()),
            ("x-mns-date".to_string(), "D".to_string()),
        ];
        assert_eq!(
            string_to_sign("GET", "", "", "D", &headers, "/queues/q/messages"),
            "GET\n\n\nD\nx-mns-date:D\nx-mns-version:2015-06-06\n/queues/q/messages"
        );
        // From the original's `client.sign('GET', {date, 'x-mns-version', 'x-mns-date', host}, resource)`.
        assert_eq!(
            signature(
                "testsecret",
                &string_to_sign(
                    "GET",
                    "",
                    "",
                    DATE,
                    &[
                        ("x-mns-version".into(), "2015-06-06".into()),
                        ("x-mns-date".into(), DATE.into()),
                    ],
                    "/queues/q/messages"
                )
            ),
            "QYST71a+zqGOyQcVZcOMRRf5gc0="
        );
    }

    #[test]
    fn debug_hides_the_temporary_secret_and_token() {
        let text = format!("{:?}", sts());
        assert!(
            text.contains("STS.testid") && !text.contains("testsecret") && !text.contains("tok\""),
            "{text}"
        );
    }

    const MESSAGE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <Message xmlns=\"http://mns.aliyuncs.com/doc/v1/\">\n  \
        <MessageId>5F290C926D472878-2-14D9529A8FA-200000001</MessageId>\n  \
        <ReceiptHandle>1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA==</ReceiptHandle>\n  \
        <MessageBodyMD5>C5DD56A39F5F7BB8B3337C6D11B6D8C7</MessageBodyMD5>\n  \
        <MessageBody><![CDATA[eyJh<&>]]></MessageBody>\n  \
        <Escaped>a &amp; b &lt;c&gt; &#x4E2D; &quot;</Escaped>\n  \
        <Empty/>\n  <Empty2></Empty2>\n  <Spaces>  </Spaces>\n  \
        <Mixed> x <![CDATA[y]]> z </Mixed>\n  \
        <DequeueCount>1</DequeueCount>\n</Message>";

    #[test]
    fn a_message_document_gives_its_children_in_order_as_xml2js_does() {
        let reply = interpret(
            "ReceiveMessage",
            "GET",
            "http://h/q",
            200,
            "text/xml;charset=utf-8",
            MESSAGE.as_bytes(),
            "Message",
        )
        .unwrap();
        // Expected values are what the original resolved for this document
        // (xml2js + extract, run under node).
        let expected: Vec<(String, String)> = [
            ("MessageId", "5F290C926D472878-2-14D9529A8FA-200000001"),
            ("ReceiptHandle", "1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA=="),
            ("MessageBodyMD5", "C5DD56A39F5F7BB8B3337C6D11B6D8C7"),
            ("MessageBody", "eyJh<&>"),
            ("Escaped", "a & b <c> 中 \""),
            ("Empty", ""),
            ("Empty2", ""),
            ("Spaces", "  "),
            ("Mixed", " x y z "),
            ("DequeueCount", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(reply.code, 200);
        assert!(reply.headers.is_empty());
        assert_eq!(reply.body, Some(expected));
        assert_eq!(reply.field("DequeueCount"), Some("1"));
    }

    #[test]
    fn an_error_document_rejects_with_the_original_message_and_name() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error xmlns=\"http://mns.aliyuncs.com/doc/v1/\">\n  \
            <Code>MessageNotExist</Code>\n  <Message>Message not exist.</Message>\n  \
            <RequestId>5A1B</RequestId>\n  <HostId>http://1.mns.cn-hangzhou.aliyuncs.com</HostId>\n</Error>";
        let url = "http://1.mns.cn-hangzhou.aliyuncs.com/queues/q/messages?waitseconds=10";
        // Any status: the document decides, as in the original.
        for status in [404, 200] {
            let err = interpret(
                "ReceiveMessage",
                "GET",
                url,
                status,
                "text/xml",
                xml.as_bytes(),
                "Message",
            )
            .unwrap_err();
            assert_eq!(err.name(), "MNSMessageNotExistError");
            assert_eq!(err.code(), "MNS.MessageNotExist");
            assert_eq!(
                err.to_string(),
                format!("GET {url} failed with {status}. requestid: 5A1B, hostid: http://1.mns.cn-hangzhou.aliyuncs.com, message: Message not exist.")
            );
        }
    }

    #[test]
    fn only_an_xml_content_type_is_read() {
        for content_type in ["application/json", "", "text/plain"] {
            let reply = interpret(
                "ReceiveMessage",
                "GET",
                "u",
                200,
                content_type,
                MESSAGE.as_bytes(),
                "Message",
            )
            .unwrap();
            assert_eq!(reply.body, None, "{content_type}");
        }
        let reply = interpret(
            "DeleteMessage",
            "DELETE",
            "u",
            204,
            "text/xml",
            b"",
            "Message",
        )
        .unwrap();
        assert_eq!((reply.code, reply.body), (204, None));
        let reply = interpret(
            "ReceiveMessage",
            "GET",
            "u",
            200,
            "application/xml",
            MESSAGE.as_bytes(),
            "Message",
        )
        .unwrap();
        assert!(reply.body.is_some());
    }

    #[test]
    fn broken_or_unexpected_xml_is_an_invalid_response() {
        for body in [
            "<Message><A>1</B></Message>",
            "<Message><A>1</A>",
            "not xml at all",
            "<Message>&bogus;</Message>",
            "<Queue/>",
        ] {
            let err = interpret(
                "ReceiveMessage",
                "GET",
                "u",
                200,
                "text/xml",
                body.as_bytes(),
                "Message",
            )
            .unwrap_err();
            assert_eq!(err.code(), "SDK.InvalidResponse", "{body}: {err}");
        }
    }

    #[test]
    fn names_are_local_whatever_the_prefix() {
        let doc = parse_document("<m:Message xmlns:m=\"http://mns.aliyuncs.com/doc/v1/\"><m:MessageId>7</m:MessageId></m:Message>").unwrap();
        assert_eq!(doc.root, "Message");
        assert_eq!(
            doc.children,
            vec![("MessageId".to_string(), "7".to_string())]
        );
    }

    #[test]
    fn a_rewritten_url_is_refused_before_sending() {
        assert!(ensure_sent_as_signed(
            "ReceiveMessage",
            "http://h/queues/q-1/messages?waitseconds=3",
            "/queues/q-1/messages?waitseconds=3"
        )
        .is_ok());
        for queue in ["a b", "a#b", "..", "a\"b", "a\u{e9}"] {
            let resource = format!("/queues/{queue}/messages");
            let err =
                ensure_sent_as_signed("ReceiveMessage", &format!("http://h{resource}"), &resource)
                    .unwrap_err();
            assert_eq!(err.code(), "SDK.InvalidArgument", "{queue}");
        }
    }

    #[test]
    fn host_drops_the_scheme_and_default_port() {
        assert_eq!(
            host_of("https://1.mns.cn-hangzhou.aliyuncs.com"),
            "1.mns.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(host_of("http://h:80"), "h");
    }
}
