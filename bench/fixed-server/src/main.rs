//! `pls-bench-fixed-server [--port N] [--threads N]`: the first stdout line is
//! the base URL. Every request (GET or POST with a Content-Length body) gets
//! the same 200 JSON reply on the same keep-alive connection. No parsing
//! beyond finding the end of the head and the body length.

use std::io::Write;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BODY: &str = r#"{"RequestId":"00000000-0000-4000-8000-000000000000","Code":"OK","Message":"OK","SecretBindDTO":{"SubsId":"1000000000001","SecretNo":"17000000000","Extension":""}}"#;

fn reply() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json;charset=utf-8\r\nx-acs-request-id: 00000000-0000-4000-8000-000000000000\r\ncontent-length: {}\r\n\r\n{}",
        BODY.len(),
        BODY
    )
    .into_bytes()
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

fn content_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                return value.trim().parse().unwrap_or(0);
            }
        }
    }
    0
}

async fn serve(mut socket: TcpStream, response: &'static [u8]) {
    let _ = socket.set_nodelay(true);
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut out = Vec::with_capacity(4096);
    loop {
        let n = match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        // Answer every complete request in the buffer (pipelining included).
        loop {
            let Some(head_end) = find_head_end(&buf) else { break };
            let total = head_end + content_length(&buf[..head_end]);
            if buf.len() < total {
                break;
            }
            buf.drain(..total);
            out.extend_from_slice(response);
        }
        if !out.is_empty() {
            if socket.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if buf.len() > 1 << 20 {
            return; // a head that never ends
        }
    }
}

fn main() {
    let mut port = 0u16;
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--port" => port = value.parse().expect("--port N"),
            "--threads" => threads = value.parse().expect("--threads N"),
            other => panic!("unknown option {other}"),
        }
    }
    let response: &'static [u8] = Box::leak(reply().into_boxed_slice());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        println!("http://{}", listener.local_addr().expect("addr"));
        let _ = std::io::stdout().flush();
        tokio::select! {
            _ = async {
                loop {
                    if let Ok((socket, _)) = listener.accept().await {
                        tokio::spawn(serve(socket, response));
                    }
                }
            } => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
}
