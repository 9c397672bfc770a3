//! Client metrics: a per-client snapshot and process-wide live-resource counters.
//!
//! Live counters count resources that exist right now: sockets, JS callbacks, timers,
//! subscription/event handles, clients. Each is held by an RAII guard inside the value
//! that owns the resource, so the counter falls exactly when the owner drops. Leak
//! tests assert they return to zero.

use crate::session::ConnectionState;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A kind of live resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Live {
    Client,
    Socket,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    Callback,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    Timer,
    Handle,
}

static CLIENTS: AtomicI64 = AtomicI64::new(0);
static SOCKETS: AtomicI64 = AtomicI64::new(0);
static CALLBACKS: AtomicI64 = AtomicI64::new(0);
static TIMERS: AtomicI64 = AtomicI64::new(0);
static HANDLES: AtomicI64 = AtomicI64::new(0);

impl Live {
    fn counter(self) -> &'static AtomicI64 {
        match self {
            Live::Client => &CLIENTS,
            Live::Socket => &SOCKETS,
            Live::Callback => &CALLBACKS,
            Live::Timer => &TIMERS,
            Live::Handle => &HANDLES,
        }
    }
}

/// Counts one live resource for as long as it exists.
#[derive(Debug)]
pub(crate) struct LiveGuard(Live);

impl LiveGuard {
    pub(crate) fn new(kind: Live) -> Self {
        kind.counter().fetch_add(1, Ordering::Relaxed);
        LiveGuard(kind)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.counter().fetch_sub(1, Ordering::Relaxed);
    }
}

/// Resources alive in this process (or page) right now, across all clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveCounts {
    /// Client engines (one per connection).
    pub clients: i64,
    /// Open or opening sockets.
    pub sockets: i64,
    /// JS callbacks attached to browser objects (socket, page and timer handlers).
    pub callbacks: i64,
    /// Pending timers.
    pub timers: i64,
    /// Subscription and event-stream handles.
    pub handles: i64,
}

impl LiveCounts {
    /// Whether every counter is zero.
    pub fn is_zero(&self) -> bool {
        *self == LiveCounts::default()
    }
}

/// Read the live-resource counters.
///
/// ```
/// let live = moorline_core::metrics::live();
/// assert!(live.sockets >= 0);
/// ```
pub fn live() -> LiveCounts {
    LiveCounts {
        clients: CLIENTS.load(Ordering::Relaxed),
        sockets: SOCKETS.load(Ordering::Relaxed),
        callbacks: CALLBACKS.load(Ordering::Relaxed),
        timers: TIMERS.load(Ordering::Relaxed),
        handles: HANDLES.load(Ordering::Relaxed),
    }
}

/// A snapshot of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientMetrics {
    /// Connection state.
    pub state: ConnectionState,
    /// How long the current socket has been open.
    pub uptime: Option<Duration>,
    /// Sockets that reached open.
    pub connects: u64,
    /// Reconnect attempts after drops.
    pub reconnects: u64,
    /// Closes seen, by code.
    pub closes_by_code: BTreeMap<u16, u64>,
    /// Publishes waiting in the outbox.
    pub outbox_depth: usize,
    /// Messages waiting in subscription queues.
    pub inbound_depth: usize,
    /// Publishes dropped (outbox overflow or close).
    pub dropped_sends: u64,
    /// Messages dropped by inbound overflow policies.
    pub dropped_messages: u64,
    /// Messages routed to subscriptions.
    pub delivered: u64,
    /// Frames from the gateway that could not be parsed.
    pub protocol_errors: u64,
    /// Heartbeat deadlines missed.
    pub heartbeat_timeouts: u64,
    /// Channels held (including lingering ones).
    pub channels: usize,
    /// Live subscription handles of this client.
    pub subscriptions: usize,
    /// Process-wide live resources.
    pub live: LiveCounts,
}
