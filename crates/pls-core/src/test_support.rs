//! What the unit tests share: a stand-in HTTP server that answers each
//! request with a reply chosen from its head, and a client pointed at it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::client::PlsClient;
use crate::config::{ClientConfig, Credentials, Endpoints};

/// One reply of the stand-in server.
pub struct Canned {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Canned {
    /// A reply sent at once.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Canned {
            status,
            content_type,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

/// A running stand-in server.
pub struct Server {
    /// `http://127.0.0.1:port`.
    pub url: String,
    /// Every request head received, in order.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Request heads whose request line starts with `prefix`.
    pub fn hits(&self, prefix: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|head| head.starts_with(prefix))
            .cloned()
            .collect()
    }
    /// How many `QueryTokenForMnsQueue` requests came.
    pub fn token_hits(&self) -> usize {
        self.hits("GET /?")
            .iter()
            .filter(|head| head.contains("Action=QueryTokenForMnsQueue"))
            .count()
    }
}

/// Serves every connection with `route(request head)`, one request per
/// connection (`connection: close`), recording each head.
pub async fn serve<R>(route: R) -> Server
where
    R: Fn(&str) -> Canned + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let route = Arc::new(route);
    let recorder = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (route, recorder) = (route.clone(), recorder.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                recorder.lock().unwrap().push(head.clone());
                let canned = route(&head);
                tokio::time::sleep(canned.delay).await;
                let response = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    canned.status,
                    canned.content_type,
                    canned.body.len(),
                    canned.body
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Server { url, seen }
}

impl Server {
    /// A config with every service at this server and test credentials.
    pub fn config(&self) -> ClientConfig {
        config_for(&self.url)
    }

    /// A client on [`Server::config`].
    pub fn client(&self) -> PlsClient {
        match PlsClient::new(self.config()) {
            Ok(client) => client,
            Err(err) => panic!("cannot make a test client: {err}"),
        }
    }
}

/// A config with every service at `url` and the credentials `id`/`secret`.
pub fn config_for(url: &str) -> ClientConfig {
    let mut config = ClientConfig::new(Credentials {
        access_key_id: "id".into(),
        access_key_secret: "secret".into(),
        security_token: None,
    });
    config.endpoints = match Endpoints::resolve(None, None, None, Some(url)) {
        Ok(endpoints) => endpoints,
        Err(err) => panic!("bad test endpoint {url}: {err}"),
    };
    config
}

/// What a [`scripted`] server does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Answer with this status and body, keeping the connection open.
    Answer(u16, &'static str),
    /// Answer with this status and `Location` header, and an empty body.
    Redirect(u16, &'static str),
    /// Close the connection (FIN) instead of answering, as a server does
    /// whose idle timer fired just as the request arrived.
    Close,
    /// Reset the connection (RST) instead of answering.
    Reset,
}

/// One request a [`scripted`] server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which connection (0 for the first accepted).
    pub connection: usize,
    /// Which request on that connection (0 for the first).
    pub index: usize,
    /// The request head.
    pub head: String,
    /// What the server did.
    pub step: Step,
}

/// A keep-alive server whose `script(connection, index, head)` decides,
/// per request, whether to answer, close or reset; every request is logged.
pub async fn scripted<F>(script: F) -> (String, Arc<Mutex<Vec<Received>>>)
where
    F: Fn(usize, usize, &str) -> Step + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let recorder = log.clone();
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (script, recorder) = (script.clone(), recorder.clone());
            tokio::spawn(async move {
                let mut pending = Vec::new();
                for index in 0.. {
                    let mut buf = [0u8; 4096];
                    let end = loop {
                        if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&pending[..end]).into_owned();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    while pending.len() < end + length {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    }
                    pending.drain(..end + length);
                    let step = script(connection, index, &head);
                    recorder.lock().unwrap().push(Received {
                        connection,
                        index,
                        head,
                        step,
                    });
                    let response = match step {
                        Step::Answer(status, body) => format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        ),
                        Step::Redirect(status, location) => format!(
                            "HTTP/1.1 {status} X\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
                        ),
                        Step::Close | Step::Reset => String::new(),
                    };
                    match step {
                        Step::Answer(..) | Step::Redirect(..) => {
                            if socket.write_all(response.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        Step::Close => {
                            let _ = socket.shutdown().await;
                            return;
                        }
                        Step::Reset => {
                            // A zero linger turns the close into a reset.
                            let _ = socket.set_zero_linger();
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, log)
}
