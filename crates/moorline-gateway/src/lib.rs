//! moorline-gateway: the WebSocket gateway moorline clients talk to.
//!
//! An axum/tokio server with an in-memory hub: channels → subscribers, per-message
//! offsets within an epoch, a bounded per-channel history for resuming clients, a
//! bounded outbound queue per connection, server pings with an inbound deadline, and
//! removal of every subscription on every way a connection ends.
//!
//! # Usage
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use moorline_gateway::{Config, Gateway};
//!
//! let gateway = Gateway::bind(Config::ephemeral()).await?;
//! println!("ws://{}/ws", gateway.local_addr());
//! gateway.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Or run the binary: `cargo run -p moorline-gateway -- --addr 127.0.0.1:8080`.
//!
//! # Endpoints
//!
//! | path | what |
//! |---|---|
//! | `/ws` | the WebSocket endpoint (`?v=1`, the protocol version) |
//! | `/stats` | counters as JSON; `?channel=NAME` adds that channel's stats |
//! | `/healthz` | 200 while the process runs |

mod config;
mod connection;
mod hub;
mod stats;

pub use config::Config;
pub use hub::{ChannelStats, ConnId, Hub};
pub use stats::{Stats, StatsSnapshot};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use moorline_core::protocol::PROTOCOL_VERSION;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// State shared by the handlers of one gateway.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) hub: Hub,
    pub(crate) stats: Arc<Stats>,
    pub(crate) shutdown: CancellationToken,
    next_conn: AtomicU64,
}

/// The gateway's router (useful to mount it inside another axum app).
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ws", get(ws_handler))
        .route("/stats", get(stats_handler))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

async fn ws_handler(
    upgrade: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> impl IntoResponse {
    let version_ok = query
        .get("v")
        .is_none_or(|v| v.parse::<u32>() == Ok(PROTOCOL_VERSION));
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
    // Frames a bit larger than the limit still get a clear error frame; far larger
    // ones are cut off by the socket layer with 1009.
    let hard_limit = state.config.max_frame_bytes.saturating_mul(4).max(1024);
    upgrade
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection::serve(socket, state, conn, version_ok))
}

async fn stats_handler(
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> impl IntoResponse {
    let snapshot = state.stats.snapshot(state.hub.channel_count() as u64);
    let mut body = serde_json::to_value(snapshot).unwrap_or_default();
    if let (Some(name), Some(obj)) = (query.get("channel"), body.as_object_mut()) {
        let channel = state.hub.channel_stats(name).unwrap_or(ChannelStats {
            subscribers: 0,
            subscribes_total: 0,
            last_offset: 0,
        });
        obj.insert(
            "channel".into(),
            serde_json::to_value(channel).unwrap_or_default(),
        );
    }
    // Read-only counters: browser tests on another origin may read them.
    ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(body))
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    state: Arc<AppState>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl Gateway {
    /// Bind `config.addr` and start serving.
    pub async fn bind(config: Config) -> std::io::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let state = Arc::new(AppState {
            hub: Hub::new(config.history_size, stats.clone()),
            config,
            stats,
            shutdown: CancellationToken::new(),
            next_conn: AtomicU64::new(0),
        });
        let app = router(state.clone());
        let token = state.shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await
        });
        Ok(Gateway {
            addr,
            state,
            server,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL of this gateway.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The hub (to publish from the server side, or to inspect channels).
    pub fn hub(&self) -> &Hub {
        &self.state.hub
    }

    /// Current counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.state
            .stats
            .snapshot(self.state.hub.channel_count() as u64)
    }

    /// Stop accepting, close every connection with 1001 and wait for the server.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        let _ = self.server.await;
    }

    /// Wait until the server stops (after [`shutdown`](Self::shutdown) from elsewhere
    /// or an error).
    pub async fn wait(self) -> std::io::Result<()> {
        self.server
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
    }

    /// A token that stops the gateway when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }
}
