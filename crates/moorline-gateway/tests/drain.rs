//! Drain of the real binary on SIGTERM with 1,000 open sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Status code of `GET path`, or `None` when the server does not answer.
async fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut response))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_thousand_sockets_with_4003_then_exits_zero() {
    const SOCKETS: usize = 1000;
    const WINDOW_MS: u64 = 3000;
    let mut child = Command::new(env!("CARGO_BIN_EXE_moorline-gateway"))
        .args(["--addr", "127.0.0.1:0"])
        .env("GRACEFUL_SHUTDOWN_MS", WINDOW_MS.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap()
        .to_owned();
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    assert_eq!(http_status(&addr, "/readyz").await, Some(200));

    let mut sockets = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS {
        let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        sockets.push(ws);
    }
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Close(frame) = msg {
                        return (frame.map(|f| u16::from(f.code)), Instant::now());
                    }
                }
                (None, Instant::now())
            })
        })
        .collect();

    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        http_status(&addr, "/readyz").await,
        Some(503),
        "not ready while draining"
    );
    assert_eq!(
        http_status(&addr, "/healthz").await,
        Some(200),
        "healthy until exit"
    );
    let refused = tokio_tungstenite::connect_async(&url).await;
    assert!(refused.is_err(), "no new sockets while draining");

    let mut codes = std::collections::BTreeMap::new();
    let mut first: Option<Instant> = None;
    let mut last = sent;
    for reader in readers {
        let (code, at) = reader.await.unwrap();
        *codes.entry(code).or_insert(0) += 1;
        last = last.max(at);
        first = Some(first.map_or(at, |f| f.min(at)));
    }
    let first = first.unwrap();
    let spread = last - first;
    println!(
        "drain: {SOCKETS} sockets, codes {codes:?}, first close after {:?}, last after {:?}, spread {spread:?}",
        first - sent,
        last - sent
    );
    assert_eq!(codes.get(&Some(4003)), Some(&SOCKETS), "{codes:?}");
    assert!(
        last - sent <= Duration::from_millis(WINDOW_MS + 1000),
        "within the window"
    );
    assert!(
        spread >= Duration::from_millis(WINDOW_MS / 2),
        "closes spread in batches: {spread:?}"
    );

    let deadline = Instant::now() + Duration::from_millis(WINDOW_MS + 5000);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the gateway did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
}
