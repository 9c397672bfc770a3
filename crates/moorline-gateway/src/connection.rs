//! One WebSocket connection: a reader (this task) and a writer task joined by a
//! byte-bounded queue, server pings with an inbound deadline, subscription TTLs, an
//! inbound rate limit, and teardown in one order on every path: close the transport,
//! then remove every subscription.

use crate::hub::ConnId;
use crate::stats::Stats;
use crate::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use moorline_core::protocol::{
    validate_channel, ClientFrame, ErrorCode, ServerFrame, UnsubscribeReason,
};
use moorline_core::CloseCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the writer may take to deliver the close frame before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Most queued frames the writer batches into one flush.
const WRITE_BATCH: usize = 64;

/// Why and how a connection ends; the first reason set wins.
#[derive(Debug, Default)]
struct Closer {
    reason: OnceLock<(CloseCode, &'static str)>,
    token: CancellationToken,
}

/// What the hub and the gateway hold of a connection: its outbound queue (bounded in
/// bytes) and its closer.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    tx: mpsc::UnboundedSender<Utf8Bytes>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    closer: Arc<Closer>,
    stats: Arc<Stats>,
}

impl ConnHandle {
    /// Queue a frame without waiting. When the queue would exceed its byte limit the
    /// frame is dropped and the connection closed as a slow consumer (4000); returns
    /// whether the frame was queued.
    pub(crate) fn send(&self, frame: Utf8Bytes) -> bool {
        if self.closer.token.is_cancelled() {
            return false;
        }
        let len = frame.len();
        let queued = self.queued.fetch_add(len, Ordering::AcqRel) + len;
        if queued > self.limit {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            self.stats.drops.add("slow_consumer", 1);
            self.close(CloseCode::SlowConsumer, "slow consumer");
            return false;
        }
        if self.tx.send(frame).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        self.stats
            .outbound_bytes
            .fetch_add(len as i64, Ordering::Relaxed);
        self.stats.frames_out.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// End the connection with `code` (no effect after the first call).
    pub(crate) fn close(&self, code: CloseCode, reason: &'static str) {
        let _ = self.closer.reason.set((code, reason));
        self.closer.token.cancel();
    }

    fn unqueue(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::AcqRel);
        self.stats
            .outbound_bytes
            .fetch_sub(len as i64, Ordering::Relaxed);
    }
}

/// What happens to a socket right after the upgrade.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Admission {
    /// Serve it.
    Accept,
    /// Close at once with this code.
    Refuse(CloseCode, &'static str),
}

/// A token bucket: `rate` tokens per second, at most `burst` saved.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            burst: rate * 2.0,
            tokens: rate * 2.0,
            at: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Per-connection state owned by the reader.
struct Conn<'a> {
    id: ConnId,
    state: &'a AppState,
    handle: ConnHandle,
    /// Channel → when its subscription expires unless refreshed.
    channels: HashMap<String, Instant>,
    bucket: TokenBucket,
    /// Frames refused by the rate limit in a row.
    strikes: u32,
    ping_sent: Option<Instant>,
}

/// Serve one upgraded socket until it ends.
pub(crate) async fn serve(
    socket: WebSocket,
    state: Arc<AppState>,
    conn: ConnId,
    admission: Admission,
) {
    let stats = &state.stats;
    stats.connections.fetch_add(1, Ordering::Relaxed);
    stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = ConnHandle {
        tx,
        queued: Arc::new(AtomicUsize::new(0)),
        limit: state.config.max_outbound_bytes.max(1024),
        closer: Arc::new(Closer::default()),
        stats: stats.clone(),
    };
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_loop(sink, rx, handle.clone()));

    let mut c = Conn {
        id: conn,
        state: &state,
        handle: handle.clone(),
        channels: HashMap::new(),
        bucket: TokenBucket::new(state.config.max_frames_per_sec),
        strikes: 0,
        ping_sent: None,
    };
    match admission {
        Admission::Accept => {
            state.register(conn, &handle);
            c.read_loop(stream).await;
            state.unregister(conn);
        }
        Admission::Refuse(code, reason) => handle.close(code, reason),
    }

    // Teardown: transport first, then subscriptions.
    if tokio::time::timeout(CLOSE_GRACE * 2, writer).await.is_err() {
        tracing::debug!("writer did not finish in time");
    }
    state.hub.remove_connection(conn, c.channels.keys());
    let code = handle
        .closer
        .reason
        .get()
        .map_or(CloseCode::Abnormal, |(code, _)| *code);
    stats.closes.add(code.as_u16(), 1);
    stats.connections.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(code = code.as_u16(), "connection closed");
}

impl Conn<'_> {
    async fn read_loop(&mut self, mut stream: futures_util::stream::SplitStream<WebSocket>) {
        let config = &self.state.config;
        let mut ping = tokio::time::interval(config.ping_interval());
        ping.tick().await;
        let mut last_inbound = Instant::now();
        let token = self.handle.closer.token.clone();
        loop {
            let deadline = last_inbound + config.heartbeat_timeout();
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::info!("heartbeat timeout");
                    self.handle.close(CloseCode::HeartbeatTimeout, "heartbeat timeout");
                    return;
                }
                _ = ping.tick() => {
                    self.ping_sent.get_or_insert_with(Instant::now);
                    self.handle.send(ServerFrame::Ping.to_text().into());
                    self.expire(Instant::now());
                }
                message = stream.next() => {
                    last_inbound = Instant::now();
                    match message {
                        Some(Ok(Message::Text(text))) => {
                            if self.admit(last_inbound, &text) {
                                self.on_text(&text);
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            if self.admit(last_inbound, "") {
                                self.error(None, ErrorCode::BinaryNotSupported,
                                    "binary frames are not part of the protocol".into());
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(frame))) => {
                            let code = frame.map_or(CloseCode::NoStatus, |f| CloseCode::from(f.code));
                            self.handle.close(code, "closed by client");
                            return;
                        }
                        Some(Err(err)) => {
                            let text = err.to_string();
                            let code = if text.contains("too long") || text.contains("too big") {
                                CloseCode::TooBig
                            } else {
                                CloseCode::Abnormal
                            };
                            tracing::debug!(error = %text, "read error");
                            self.handle.close(code, "read error");
                            return;
                        }
                        None => {
                            self.handle.close(CloseCode::Abnormal, "connection dropped");
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Count an inbound frame against the rate limit. Over the limit the frame gets a
    /// `rate_limited` error; a connection that keeps flooding is closed with 4502.
    fn admit(&mut self, now: Instant, text: &str) -> bool {
        self.state.stats.frames_in.fetch_add(1, Ordering::Relaxed);
        if self.bucket.take(now) {
            self.strikes = 0;
            return true;
        }
        self.strikes += 1;
        self.state.stats.drops.add("rate_limited", 1);
        if f64::from(self.strikes) > self.bucket.burst {
            tracing::info!("closing a flooding connection");
            self.handle
                .close(CloseCode::PolicyViolation, "too many frames");
        } else {
            self.error(
                salvage_id(text),
                ErrorCode::RateLimited,
                format!(
                    "more than {} frames per second",
                    self.state.config.max_frames_per_sec
                ),
            );
        }
        false
    }

    /// Drop subscriptions whose TTL passed and tell the client.
    fn expire(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .channels
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for channel in expired {
            self.channels.remove(&channel);
            self.state.hub.unsubscribe(self.id, &channel);
            self.state.stats.drops.add("expired_subscription", 1);
            let frame = ServerFrame::Unsubscribed {
                channel,
                reason: UnsubscribeReason::Expired,
            };
            self.handle.send(frame.to_text().into());
        }
    }

    fn error(&self, id: Option<u64>, code: ErrorCode, message: String) {
        self.state.stats.errors.add(code, 1);
        self.handle
            .send(ServerFrame::Error { id, code, message }.to_text().into());
    }

    fn on_text(&mut self, text: &str) {
        let config = &self.state.config;
        if text.len() > config.max_frame_bytes {
            self.error(
                salvage_id(text),
                ErrorCode::FrameTooLarge,
                format!(
                    "frame of {} bytes, the limit is {}",
                    text.len(),
                    config.max_frame_bytes
                ),
            );
            return;
        }
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(err) => {
                self.error(salvage_id(text), err.code(), err.to_string());
                return;
            }
        };
        match frame {
            ClientFrame::Subscribe {
                id,
                channel,
                resume,
            } => {
                if let Err(err) = validate_channel(&channel) {
                    self.error(Some(id), ErrorCode::InvalidChannel, err.to_string());
                    return;
                }
                if !self.channels.contains_key(&channel)
                    && self.channels.len() >= config.max_channels_per_connection
                {
                    self.error(
                        Some(id),
                        ErrorCode::TooManyChannels,
                        format!(
                            "at most {} channels per connection",
                            config.max_channels_per_connection
                        ),
                    );
                    return;
                }
                let ttl = config.subscription_ttl();
                self.state.hub.subscribe(
                    self.id,
                    &self.handle,
                    id,
                    &channel,
                    resume.as_ref(),
                    ttl.map_or(0, |t| t.as_secs()),
                );
                // Without a TTL the subscription lasts as long as the connection.
                let expires = ttl.map_or(Instant::now() + Duration::from_secs(86_400 * 365), |t| {
                    Instant::now() + t
                });
                self.channels.insert(channel, expires);
            }
            ClientFrame::Unsubscribe { id, channel } => {
                if self.channels.remove(&channel).is_some()
                    && self.state.hub.unsubscribe(self.id, &channel)
                {
                    let frame = ServerFrame::Unsubscribed {
                        channel,
                        reason: UnsubscribeReason::Requested,
                    };
                    self.handle.send(frame.to_text().into());
                } else {
                    self.error(
                        Some(id),
                        ErrorCode::NotSubscribed,
                        format!("not subscribed to `{channel}`"),
                    );
                }
            }
            ClientFrame::Publish { id, channel, data } => {
                if let Err(err) = validate_channel(&channel) {
                    self.error(Some(id), ErrorCode::InvalidChannel, err.to_string());
                    return;
                }
                match self.state.hub.publish(&channel, data) {
                    Ok(offset) => {
                        self.handle
                            .send(ServerFrame::Published { id, offset }.to_text().into());
                    }
                    Err(shed) => self.error(Some(id), ErrorCode::Overloaded, shed.to_string()),
                }
            }
            ClientFrame::Pong => {
                if let Some(sent) = self.ping_sent.take() {
                    self.state
                        .stats
                        .ping_rtt
                        .observe(sent.elapsed().as_secs_f64());
                }
            }
            _ => self.error(None, ErrorCode::UnknownType, "unsupported frame".into()),
        }
    }
}

/// The `id` of a frame that failed to parse, when it has a numeric one.
fn salvage_id(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<u64>,
    }
    serde_json::from_str::<IdOnly>(text).ok().and_then(|f| f.id)
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Utf8Bytes>,
    handle: ConnHandle,
) {
    let closer = handle.closer.clone();
    'write: loop {
        tokio::select! {
            biased;
            _ = closer.token.cancelled() => break,
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                handle.unqueue(frame.len());
                if sink.feed(Message::Text(frame)).await.is_err() {
                    break;
                }
                for _ in 1..WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(frame) => {
                            handle.unqueue(frame.len());
                            if sink.feed(Message::Text(frame)).await.is_err() {
                                break 'write;
                            }
                        }
                        Err(_) => break,
                    }
                }
                if sink.flush().await.is_err() {
                    break;
                }
            }
        }
    }
    if !closer.token.is_cancelled() {
        // The socket failed under the writer: end the whole connection.
        handle.close(CloseCode::Abnormal, "write failed");
    }
    // A closing connection gets nothing more: release what is still queued.
    rx.close();
    while let Ok(frame) = rx.try_recv() {
        handle.unqueue(frame.len());
    }
    let (code, reason) = closer
        .reason
        .get()
        .copied()
        .unwrap_or((CloseCode::GoingAway, "server shutting down"));
    let frame = CloseFrame {
        code: code.as_u16(),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
}
