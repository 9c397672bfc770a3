//! Cross-crate integration tests of moorline; the tests live in `tests/`. This
//! library holds their shared helpers.
#![allow(clippy::unwrap_used)]

use futures_util::{SinkExt, StreamExt};
use moorline_core::protocol::ServerFrame;
use moorline_gateway::{Config, Gateway};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A raw WebSocket to the gateway, for sending frames the client library never would.
pub type RawSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Start a gateway on 127.0.0.1 with a free port.
pub async fn gateway(config: Config) -> Gateway {
    Gateway::bind(config).await.unwrap()
}

/// Defaults on a free loopback port.
pub fn test_config() -> Config {
    Config::ephemeral()
}

/// Open a raw socket.
pub async fn raw(gateway: &Gateway) -> RawSocket {
    let (ws, _) = tokio_tungstenite::connect_async(gateway.ws_url())
        .await
        .unwrap();
    ws
}

/// Send one text frame.
pub async fn send_text(ws: &mut RawSocket, text: &str) {
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// The next server frame other than `ping`, within 5 s.
pub async fn next_frame(ws: &mut RawSocket) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket open")
            .expect("no socket error");
        if let Message::Text(text) = msg {
            let frame = ServerFrame::parse(&text).unwrap();
            if frame != ServerFrame::Ping {
                return frame;
            }
        }
    }
}

/// Read until the server closes the socket; returns the close code (`None` when the
/// socket ends without a close frame). Panics when nothing closes within `within`.
pub async fn close_code(ws: &mut RawSocket, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return None,
            Err(_) => panic!("no close within {within:?}"),
        }
    }
}

/// Subscribe a raw socket and wait for the `subscribed` answer.
pub async fn subscribe(ws: &mut RawSocket, id: u64, channel: &str) {
    send_text(
        ws,
        &format!(r#"{{"type":"subscribe","id":{id},"channel":"{channel}"}}"#),
    )
    .await;
    match next_frame(ws).await {
        ServerFrame::Subscribed { id: got, .. } => assert_eq!(got, id),
        other => panic!("expected subscribed, got {other:?}"),
    }
}

/// The next item of a subscription, within 5 s.
pub async fn next_item<T: serde::de::DeserializeOwned>(
    sub: &mut moorline_core::Subscription<T>,
) -> Result<moorline_core::Message<T>, moorline_core::SubscriptionError> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an item within 5 s")
        .expect("the subscription stream is open")
}

/// Poll `check` every 10 ms until it holds, for at most `within`.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A plain HTTP/1.1 request to the gateway: returns the status and the body.
pub async fn http(
    gateway: &Gateway,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gateway.local_addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("a response within 5 s")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of an unlabelled sample in Prometheus text, e.g. `moorline_connections`.
pub fn prometheus_value(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}
