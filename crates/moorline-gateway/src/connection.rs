//! One WebSocket connection: a reader (this task) and a writer task joined by a
//! bounded queue, server pings with an inbound deadline, and teardown in one order on
//! every path: close the transport, then remove every subscription.

use crate::hub::ConnId;
use crate::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use moorline_core::protocol::{
    validate_channel, ClientFrame, ErrorCode, ServerFrame, UnsubscribeReason,
};
use moorline_core::CloseCode;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
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

/// What the hub holds of a connection: its queue and its closer.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    tx: mpsc::Sender<Utf8Bytes>,
    closer: Arc<Closer>,
}

impl ConnHandle {
    /// Queue a frame without waiting. A full queue closes the connection as a slow
    /// consumer; returns whether the frame was queued.
    pub(crate) fn send(&self, frame: Utf8Bytes) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(CloseCode::SlowConsumer, "slow consumer");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// End the connection with `code` (no effect after the first call).
    pub(crate) fn close(&self, code: CloseCode, reason: &'static str) {
        let _ = self.closer.reason.set((code, reason));
        self.closer.token.cancel();
    }
}

/// Serve one upgraded socket until it ends.
pub(crate) async fn serve(socket: WebSocket, state: Arc<AppState>, conn: ConnId, version_ok: bool) {
    let stats = &state.stats;
    stats.connections.fetch_add(1, Ordering::Relaxed);
    stats.connections_total.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(state.config.outbound_queue_frames.max(1));
    let closer = Arc::new(Closer {
        reason: OnceLock::new(),
        token: state.shutdown.child_token(),
    });
    let handle = ConnHandle { tx, closer };
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_loop(sink, rx, handle.closer.clone()));

    let mut channels: HashSet<String> = HashSet::new();
    if version_ok {
        read_loop(stream, &state, conn, &handle, &mut channels).await;
    } else {
        handle.close(CloseCode::BadProtocol, "unsupported protocol version");
    }
    // The server is shutting down when the token was cancelled without a reason.
    handle.close(CloseCode::GoingAway, "server shutting down");

    // Teardown: transport first, then subscriptions.
    if tokio::time::timeout(CLOSE_GRACE * 2, writer).await.is_err() {
        tracing::debug!(conn, "writer did not finish in time");
    }
    state.hub.remove_connection(conn, &channels);
    let code = handle
        .closer
        .reason
        .get()
        .map_or(CloseCode::Abnormal, |(code, _)| *code);
    stats.closed(code.as_u16());
    stats.connections.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(conn, code = code.as_u16(), "connection closed");
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    state: &AppState,
    conn: ConnId,
    handle: &ConnHandle,
    channels: &mut HashSet<String>,
) {
    let config = &state.config;
    let mut ping = tokio::time::interval(config.ping_interval());
    ping.tick().await;
    let mut last_inbound = Instant::now();
    let token = handle.closer.token.clone();
    loop {
        let deadline = last_inbound + config.heartbeat_timeout();
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep_until(deadline) => {
                handle.close(CloseCode::HeartbeatTimeout, "heartbeat timeout");
                return;
            }
            _ = ping.tick() => {
                handle.send(ServerFrame::Ping.to_text().into());
            }
            message = stream.next() => {
                last_inbound = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => {
                        state.stats.frames_in.fetch_add(1, Ordering::Relaxed);
                        on_text(&text, state, conn, handle, channels);
                    }
                    Some(Ok(Message::Binary(_))) => {
                        state.stats.frames_in.fetch_add(1, Ordering::Relaxed);
                        send_error(state, handle, None, ErrorCode::BinaryNotSupported,
                            "binary frames are not part of the protocol".into());
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map_or(CloseCode::NoStatus, |f| CloseCode::from(f.code));
                        handle.close(code, "closed by client");
                        return;
                    }
                    Some(Err(err)) => {
                        let code = if err.to_string().contains("too long") || err.to_string().contains("too big") {
                            CloseCode::TooBig
                        } else {
                            CloseCode::Abnormal
                        };
                        handle.close(code, "read error");
                        return;
                    }
                    None => {
                        handle.close(CloseCode::Abnormal, "connection dropped");
                        return;
                    }
                }
            }
        }
    }
}

fn send_error(
    state: &AppState,
    handle: &ConnHandle,
    id: Option<u64>,
    code: ErrorCode,
    message: String,
) {
    state.stats.error_frames.fetch_add(1, Ordering::Relaxed);
    handle.send(ServerFrame::Error { id, code, message }.to_text().into());
}

/// The `id` of a frame that failed to parse, when it has a numeric one.
fn salvage_id(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<u64>,
    }
    serde_json::from_str::<IdOnly>(text).ok().and_then(|f| f.id)
}

fn on_text(
    text: &str,
    state: &AppState,
    conn: ConnId,
    handle: &ConnHandle,
    channels: &mut HashSet<String>,
) {
    let config = &state.config;
    if text.len() > config.max_frame_bytes {
        send_error(
            state,
            handle,
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
            send_error(state, handle, salvage_id(text), err.code(), err.to_string());
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
                send_error(
                    state,
                    handle,
                    Some(id),
                    ErrorCode::InvalidChannel,
                    err.to_string(),
                );
                return;
            }
            if !channels.contains(&channel) && channels.len() >= config.max_channels_per_connection
            {
                send_error(
                    state,
                    handle,
                    Some(id),
                    ErrorCode::TooManyChannels,
                    format!(
                        "at most {} channels per connection",
                        config.max_channels_per_connection
                    ),
                );
                return;
            }
            state
                .hub
                .subscribe(conn, handle, id, &channel, resume.as_ref());
            channels.insert(channel);
        }
        ClientFrame::Unsubscribe { id, channel } => {
            if channels.remove(&channel) && state.hub.unsubscribe(conn, &channel) {
                let frame = ServerFrame::Unsubscribed {
                    channel,
                    reason: UnsubscribeReason::Requested,
                };
                handle.send(frame.to_text().into());
            } else {
                send_error(
                    state,
                    handle,
                    Some(id),
                    ErrorCode::NotSubscribed,
                    format!("not subscribed to `{channel}`"),
                );
            }
        }
        ClientFrame::Publish { id, channel, data } => {
            if let Err(err) = validate_channel(&channel) {
                send_error(
                    state,
                    handle,
                    Some(id),
                    ErrorCode::InvalidChannel,
                    err.to_string(),
                );
                return;
            }
            let offset = state.hub.publish(&channel, data);
            handle.send(ServerFrame::Published { id, offset }.to_text().into());
        }
        ClientFrame::Pong => {}
        _ => send_error(
            state,
            handle,
            None,
            ErrorCode::UnknownType,
            "unsupported frame".into(),
        ),
    }
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Utf8Bytes>,
    closer: Arc<Closer>,
) {
    loop {
        tokio::select! {
            biased;
            _ = closer.token.cancelled() => break,
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if sink.feed(Message::Text(frame)).await.is_err() {
                    return;
                }
                for _ in 1..WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(frame) => {
                            if sink.feed(Message::Text(frame)).await.is_err() {
                                return;
                            }
                        }
                        Err(_) => break,
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        }
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
    // Frames still queued are dropped with the queue: a closing connection gets no more.
}
