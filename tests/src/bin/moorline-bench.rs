//! `cargo xtask bench`: numbers, not pass/fail. Starts the release gateway binary on a
//! free loopback port and measures, from this process:
//!
//! 1. gateway RSS per idle connection (2,000 idle sockets, RSS read from `/metrics`);
//! 2. fan-out: 1,000 subscribers × 1,000 messages, deliveries per second;
//! 3. publish → receive latency for one subscriber (p50 / p99 / max over 2,000 messages).
//!
//! Every loop is bounded in count and time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use moorline_core::protocol::ServerFrame;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

type Ws = moorline_tests::RawSocket;

struct Gateway {
    child: Child,
    addr: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway(binary: &str) -> Gateway {
    let mut child = Command::new(binary)
        .args(["--addr", "127.0.0.1:0", "--max-frames-per-sec", "1000000"])
        .args(["--max-connections", "20000"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the gateway");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap();
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    Gateway { child, addr }
}

async fn metric(addr: &str, name: &str) -> f64 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    moorline_tests::prometheus_value(&body, name).unwrap_or(f64::NAN)
}

async fn connect(addr: &str) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap()
        .0
}

async fn subscribe(ws: &mut Ws, channel: &str) {
    moorline_tests::subscribe(ws, 1, channel).await;
}

async fn idle_memory(addr: &str) {
    const IDLE: usize = 2000;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = metric(addr, "moorline_rss_bytes").await;
    let mut sockets = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        sockets.push(connect(addr).await);
    }
    // Let the gateway sample RSS (every second by default).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = metric(addr, "moorline_rss_bytes").await;
    println!(
        "idle connections   {IDLE} sockets: gateway RSS {:.1} MiB -> {:.1} MiB = {:.1} KiB per connection",
        before / 1048576.0,
        after / 1048576.0,
        (after - before) / IDLE as f64 / 1024.0
    );
    drop(sockets);
}

async fn fan_out(addr: &str) {
    const SUBSCRIBERS: usize = 1000;
    const MESSAGES: usize = 1000;
    let mut subscribers = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let mut ws = connect(addr).await;
        subscribe(&mut ws, "bench:fanout").await;
        subscribers.push(ws);
    }
    let mut publisher = connect(addr).await;
    let started = Instant::now();
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = 0;
                while got < MESSAGES {
                    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"message\"") => got += 1,
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
                got
            })
        })
        .collect();
    for n in 0..MESSAGES {
        let frame = format!(
            r#"{{"type":"publish","id":{n},"channel":"bench:fanout","data":{{"n":{n},"pad":"0123456789abcdef"}}}}"#
        );
        publisher.feed(Message::Text(frame.into())).await.unwrap();
        if n % 50 == 49 {
            publisher.flush().await.unwrap();
        }
    }
    publisher.flush().await.unwrap();
    let mut delivered = 0;
    for reader in readers {
        delivered += reader.await.unwrap();
    }
    let took = started.elapsed();
    println!(
        "fan-out            {SUBSCRIBERS} subscribers x {MESSAGES} messages: {delivered} deliveries in {took:.2?} = {:.0} deliveries/s",
        delivered as f64 / took.as_secs_f64()
    );
}

async fn latency(addr: &str) {
    const MESSAGES: usize = 2000;
    let mut subscriber = connect(addr).await;
    subscribe(&mut subscriber, "bench:latency").await;
    let mut publisher = connect(addr).await;
    let mut samples = Vec::with_capacity(MESSAGES);
    for n in 0..MESSAGES {
        let frame =
            format!(r#"{{"type":"publish","id":{n},"channel":"bench:latency","data":{n}}}"#);
        let sent = Instant::now();
        publisher.send(Message::Text(frame.into())).await.unwrap();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), subscriber.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(text) = msg {
                if matches!(ServerFrame::parse(&text), Ok(ServerFrame::Message { .. })) {
                    break;
                }
            }
        }
        samples.push(sent.elapsed());
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "latency            publish -> receive over {MESSAGES} messages: p50 {:.0?}, p99 {:.0?}, max {:.0?}",
        pick(0.50),
        pick(0.99),
        samples[samples.len() - 1]
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let binary = std::env::args()
        .nth(1)
        .expect("usage: moorline-bench PATH-TO-moorline-gateway");
    println!(
        "moorline bench (release gateway, loopback, this machine: {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let gateway = start_gateway(&binary);
    idle_memory(&gateway.addr).await;
    fan_out(&gateway.addr).await;
    latency(&gateway.addr).await;
}
