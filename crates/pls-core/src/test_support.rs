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
