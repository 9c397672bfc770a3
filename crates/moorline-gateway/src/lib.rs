//! moorline-gateway: the WebSocket gateway moorline clients talk to.
//!
//! An axum/tokio server with an in-memory hub: channels → subscribers, per-message
//! offsets within an epoch, a bounded per-channel history for resuming clients, an
//! outbound queue per connection bounded in bytes (slow consumers are closed), server
//! pings with an inbound deadline, subscription TTLs, an inbound rate limit, load
//! shedding under memory pressure, a graceful drain, Prometheus metrics, and removal
//! of every subscription on every way a connection ends (transport first, then
//! subscriptions).
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
//! | `/metrics` | Prometheus (OpenMetrics) text |
//! | `/stats` | the same counters as JSON; `?channel=NAME` adds that channel's stats |
//! | `/healthz` | 200 while the process runs |
//! | `/readyz` | 200, or 503 while draining |
//! | `POST /admin/disconnect?code=N` | close every connection with `N` (default 1012); needs `--api-key` |
//! | `POST /publish` | `{"channel": …, "data": …}` → `{"offset": n}`; `Authorization: Bearer KEY` when `--api-key` is set |

mod config;
mod connection;
mod demo;
mod hub;
mod routes;
pub mod shedding;
mod stats;

pub use config::Config;
pub use hub::{ChannelStats, ConnId, Hub};
pub use shedding::Shedder;
pub use stats::{Stats, StatsSnapshot};

use moorline_core::CloseCode;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// State shared by the handlers of one gateway.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) hub: Arc<Hub>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) shedder: Arc<Shedder>,
    pub(crate) registry: prometheus_client::registry::Registry,
    /// Cancelled when the listener must stop.
    pub(crate) shutdown: CancellationToken,
    /// Set at the start of a drain: `/readyz` 503, upgrades refused.
    pub(crate) draining: AtomicBool,
    /// Open connections, for drain, shedding and shutdown.
    conns: Mutex<HashMap<ConnId, connection::ConnHandle>>,
    pub(crate) next_conn: AtomicU64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, connection::ConnHandle>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn register(&self, conn: ConnId, handle: &connection::ConnHandle) {
        self.conns().insert(conn, handle.clone());
    }

    pub(crate) fn unregister(&self, conn: ConnId) {
        self.conns().remove(&conn);
    }

    fn open_handles(&self) -> Vec<connection::ConnHandle> {
        self.conns().values().cloned().collect()
    }

    /// Close every open connection with `code`; returns how many.
    pub(crate) fn close_all(&self, code: CloseCode, reason: &'static str) -> usize {
        let handles = self.open_handles();
        for handle in &handles {
            handle.close(code, reason);
        }
        handles.len()
    }

    /// Close the newest tenth (at least one) of the open connections with 4002.
    fn shed_newest(&self) {
        let victims: Vec<connection::ConnHandle> = {
            let conns = self.conns();
            let mut ids: Vec<ConnId> = conns.keys().copied().collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            let count = ids.len().div_ceil(10);
            ids.into_iter()
                .take(count)
                .filter_map(|id| conns.get(&id).cloned())
                .collect()
        };
        for handle in &victims {
            handle.close(CloseCode::Overloaded, "memory pressure");
        }
        if !victims.is_empty() {
            self.stats
                .shed_events
                .add("closed_connection", victims.len() as u64);
            tracing::warn!(
                closed = victims.len(),
                "hard memory pressure: closed the newest connections"
            );
        }
    }
}

/// Sample RSS, move between shedding levels, and close connections at the hard level.
async fn sample_memory(state: std::sync::Weak<AppState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else { return };
        if state.shutdown.is_cancelled() {
            return;
        }
        if let Some(rss) = shedding::rss_bytes() {
            if state.shedder.sample(rss) == shedding::HARD {
                state.shed_newest();
            }
        }
    }
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    state: Arc<AppState>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Gateway {
    /// Bind `config.addr` and start serving.
    pub async fn bind(config: Config) -> std::io::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let shedder = Arc::new(Shedder::new(&config, stats.clone()));
        let state = Arc::new(AppState {
            hub: Arc::new(Hub::new(
                config.history_size,
                stats.clone(),
                shedder.clone(),
            )),
            registry: stats.registry(),
            config,
            stats,
            shedder,
            shutdown: CancellationToken::new(),
            draining: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
        });
        tokio::spawn(sample_memory(
            Arc::downgrade(&state),
            Duration::from_millis(state.config.memory_sample_ms.max(1)),
        ));
        if state.config.demo {
            tokio::spawn(demo::run(Arc::downgrade(&state.hub)));
        }
        let app = routes::router(state.clone());
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

    /// The load shedder (its level; the budget can be changed at run time).
    pub fn shedder(&self) -> &Shedder {
        &self.state.shedder
    }

    /// Current counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats.snapshot()
    }

    /// Stop at once: close every connection with 1001, stop the listener, wait.
    pub async fn shutdown(self) {
        self.state
            .close_all(CloseCode::GoingAway, "server shutting down");
        self.state.shutdown.cancel();
        let _ = self.server.await;
    }

    /// Drain, then stop: `/readyz` turns 503 and new sockets are refused with 503;
    /// open sockets get the retryable 4003 close in batches spread over
    /// `graceful_shutdown_ms`; when they are gone (or the window is over) the listener
    /// stops. `/healthz` answers 200 until then.
    pub async fn drain(self) {
        let state = &self.state;
        state.draining.store(true, Ordering::Relaxed);
        state.stats.draining.store(1, Ordering::Relaxed);
        let window = Duration::from_millis(state.config.graceful_shutdown_ms);
        let started = tokio::time::Instant::now();
        let handles = state.open_handles();
        tracing::info!(
            connections = handles.len(),
            window_ms = state.config.graceful_shutdown_ms,
            "draining"
        );
        if !handles.is_empty() {
            const BATCHES: usize = 10;
            let per_batch = handles.len().div_ceil(BATCHES);
            // Closes go out over the first 80% of the window; the rest lets them finish.
            let pause = window.mul_f64(0.8) / BATCHES as u32;
            for (i, batch) in handles.chunks(per_batch).enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                for handle in batch {
                    handle.close(CloseCode::Draining, "server draining");
                }
            }
        }
        while state.stats.connections.load(Ordering::Relaxed) > 0 && started.elapsed() < window {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        state.close_all(CloseCode::GoingAway, "server shutting down");
        state.shutdown.cancel();
        let _ = self.server.await;
    }

    /// Wait until the server stops.
    pub async fn wait(self) -> std::io::Result<()> {
        self.server
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
    }
}
