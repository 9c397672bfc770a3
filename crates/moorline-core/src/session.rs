//! Sans-IO connection state machine: connect, backoff with jitter, heartbeat deadline,
//! resubscribe, visibility/online, terminal close.
//!
//! The session performs no I/O and reads no clock. A driver (the browser or native
//! transport, or a test) feeds it events with the current time and carries out the
//! [`Action`]s it returns, writes what [`Session::poll_transmit`] yields, and wakes it
//! at [`Session::poll_timeout`] through [`Session::handle_timeout`]. Because every
//! deadline is compared with the `now` it is given, a timer that fires late (a
//! throttled background tab) still sees the true elapsed time.
//!
//! ```
//! use moorline_core::session::{Action, ConnectionState, Session, SessionConfig};
//! use web_time::Instant;
//!
//! let now = Instant::now();
//! let mut session = Session::new(SessionConfig::default(), 7);
//! session.open(now);
//! let socket = match session.take_actions().next() {
//!     Some(Action::Connect(socket)) => socket,
//!     other => panic!("expected a connect, got {other:?}"),
//! };
//! session.on_open(socket, now);
//! assert_eq!(session.state(), ConnectionState::Open);
//! ```

use crate::close_code::CloseCode;
use crate::protocol::{ClientFrame, Payload, Position, ServerFrame, UnsubscribeReason};
use crate::queue::{BoundedQueue, OverflowPolicy, Pushed};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use web_time::Instant;

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Created, never opened.
    Idle,
    /// A socket is being opened.
    Connecting,
    /// The socket is open.
    Open,
    /// Waiting out a backoff delay before the next attempt.
    Reconnecting,
    /// `close()` was called; waiting for the socket's close.
    Closing,
    /// Terminal: closed by the client, by a terminal close code, or after the last
    /// allowed attempt. Only [`Session::open`] leaves it.
    Closed,
}

impl ConnectionState {
    /// Short lowercase name, for logs and UIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Closing => "closing",
            ConnectionState::Closed => "closed",
        }
    }
}

/// Identifies one socket of a session. Events of a socket that is no longer the
/// session's current one are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

/// Reconnect delays: full jitter, `delay = rand(0, min(max, base * 2^attempt))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Cap of the first delay. Default 500 ms.
    pub base: Duration,
    /// Largest cap. Default 30 s.
    pub max: Duration,
    /// A connection open this long resets the attempt counter. Default 10 s.
    pub stable_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The cap for attempt `attempt` (0-based): `min(max, base * 2^attempt)`.
    pub fn cap(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Session settings. See each field for its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Reconnect delays. Default: [`Backoff::default`].
    pub backoff: Backoff,
    /// Give up after this many consecutive failed attempts. Default `None`: never.
    pub max_attempts: Option<u32>,
    /// Reconnect when no frame arrived from the gateway for this long (the gateway
    /// pings every 15 s by default). `None` disables the check. Default 40 s.
    pub heartbeat_timeout: Option<Duration>,
    /// An attempt that is not open after this long counts as failed. Default 10 s.
    pub connect_timeout: Duration,
    /// After `close()`, wait this long for the socket's close before releasing it.
    /// Default 2 s.
    pub close_timeout: Duration,
    /// Most publishes held while disconnected. Default 256.
    pub outbox_capacity: usize,
    /// What a full outbox does. Default [`OverflowPolicy::Reject`]: the publish fails
    /// at once with [`SendError::QueueFull`].
    pub outbox_policy: OverflowPolicy,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            max_attempts: None,
            heartbeat_timeout: Some(Duration::from_secs(40)),
            connect_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
            outbox_capacity: 256,
            outbox_policy: OverflowPolicy::Reject,
        }
    }
}

/// Why a send did not reach a socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closed (or was closed with the send still queued).
    #[error("the connection is closed")]
    Closed,
    /// The outbox was full (policy `Reject`) or the send was evicted (`DropOldest`,
    /// `DropNewest`).
    #[error("the outbound queue is full")]
    QueueFull,
}

/// An error the session reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The gateway closed with a terminal code; the session stopped.
    #[error("closed by the server with terminal code {code}: {reason}")]
    Terminal {
        /// The close code.
        code: CloseCode,
        /// The close reason.
        reason: String,
    },
    /// `max_attempts` consecutive attempts failed; the session stopped.
    #[error("gave up after {0} attempts")]
    GaveUp(u32),
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Open a new socket with this id (release any other socket first).
    Connect(SocketId),
    /// Start the close handshake of a socket; its close event is still expected.
    Close {
        /// Which socket.
        socket: SocketId,
        /// Close code to send.
        code: CloseCode,
        /// Close reason to send.
        reason: &'static str,
    },
    /// Forget a socket: detach every handler and close it if it is still open.
    Release(SocketId),
    /// The connection state changed.
    StateChanged(ConnectionState),
    /// A queued publish will never be sent.
    SendFailed {
        /// Request id of the publish.
        id: u64,
        /// Why.
        error: SendError,
    },
    /// The session stopped for this reason.
    Error(SessionError),
}

#[derive(Debug, Clone, Default)]
struct ChannelState {
    position: Option<Position>,
    /// When to subscribe again to refresh the gateway's TTL.
    refresh_at: Option<Instant>,
}

/// Counters the session keeps; part of the client's metrics snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Sockets that reached open.
    pub connects: u64,
    /// Attempts started after a drop (not counting the first connect).
    pub reconnects: u64,
    /// Closes seen, by code (1006 for drops without a close frame).
    pub closes_by_code: BTreeMap<u16, u64>,
    /// Publishes dropped by the outbox policy or at close.
    pub dropped_sends: u64,
    /// Heartbeat deadlines missed.
    pub heartbeat_timeouts: u64,
}

/// The connection state machine. See the module docs.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    rng: fastrand::Rng,
    state: ConnectionState,
    socket: Option<SocketId>,
    next_socket: u64,
    next_request: u64,
    attempt: u32,
    opened_at: Option<Instant>,
    last_inbound: Option<Instant>,
    connect_deadline: Option<Instant>,
    retry_at: Option<Instant>,
    close_deadline: Option<Instant>,
    channels: BTreeMap<String, ChannelState>,
    control: VecDeque<ClientFrame>,
    inflight: BTreeMap<u64, String>,
    outbox: BoundedQueue<ClientFrame>,
    actions: VecDeque<Action>,
    stats: SessionStats,
}

impl Session {
    /// A new idle session. `seed` drives the backoff jitter (inject it for tests).
    pub fn new(config: SessionConfig, seed: u64) -> Self {
        let outbox = BoundedQueue::new(config.outbox_capacity, config.outbox_policy);
        Self {
            config,
            rng: fastrand::Rng::with_seed(seed),
            state: ConnectionState::Idle,
            socket: None,
            next_socket: 0,
            next_request: 0,
            attempt: 0,
            opened_at: None,
            last_inbound: None,
            connect_deadline: None,
            retry_at: None,
            close_deadline: None,
            channels: BTreeMap::new(),
            control: VecDeque::new(),
            inflight: BTreeMap::new(),
            outbox,
            actions: VecDeque::new(),
            stats: SessionStats::default(),
        }
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// The current socket, if any.
    pub fn socket(&self) -> Option<SocketId> {
        self.socket
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// When the current socket opened, if it is open.
    pub fn opened_at(&self) -> Option<Instant> {
        self.opened_at
    }

    /// Publishes waiting to be written.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Channels the session keeps subscribed (and resubscribes after a reconnect).
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// The last position seen on a channel.
    pub fn position(&self, channel: &str) -> Option<&Position> {
        self.channels.get(channel)?.position.as_ref()
    }

    /// Take the actions produced so far, oldest first.
    pub fn take_actions(&mut self) -> impl Iterator<Item = Action> + '_ {
        self.actions.drain(..)
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            ConnectionState::Connecting => self.connect_deadline,
            ConnectionState::Open => {
                let refresh = self.channels.values().filter_map(|c| c.refresh_at).min();
                match (self.heartbeat_deadline(), refresh) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            ConnectionState::Reconnecting => self.retry_at,
            ConnectionState::Closing => self.close_deadline,
            ConnectionState::Idle | ConnectionState::Closed => None,
        }
    }

    fn heartbeat_deadline(&self) -> Option<Instant> {
        self.config
            .heartbeat_timeout
            .and_then(|t| self.last_inbound.map(|at| at + t))
    }

    /// The next frame to write, when the socket is open: control frames first
    /// (subscribes, pongs), then queued publishes.
    pub fn poll_transmit(&mut self) -> Option<(SocketId, String)> {
        if self.state != ConnectionState::Open {
            return None;
        }
        let socket = self.socket?;
        let frame = self.control.pop_front().or_else(|| self.outbox.pop())?;
        Some((socket, frame.to_text()))
    }

    /// Start connecting. Leaves `Idle` and `Closed` (re-enabling a closed session);
    /// from `Closing` it abandons the closing socket. No effect otherwise.
    pub fn open(&mut self, now: Instant) {
        match self.state {
            ConnectionState::Idle | ConnectionState::Closed => {}
            ConnectionState::Closing => self.release_socket(),
            _ => return,
        }
        self.attempt = 0;
        self.connect(now);
    }

    /// Close for good: cancel timers, fail queued publishes, close the socket with
    /// 1000. Valid and idempotent in every state; only [`open`](Self::open) undoes it.
    pub fn close(&mut self, now: Instant) {
        self.control.clear();
        self.inflight.clear();
        self.retry_at = None;
        self.connect_deadline = None;
        self.fail_outbox(SendError::Closed);
        match self.state {
            ConnectionState::Connecting | ConnectionState::Open => {
                if let Some(socket) = self.socket {
                    self.actions.push_back(Action::Close {
                        socket,
                        code: CloseCode::Normal,
                        reason: "client closed",
                    });
                }
                self.opened_at = None;
                self.close_deadline = Some(now + self.config.close_timeout);
                self.set_state(ConnectionState::Closing);
            }
            ConnectionState::Idle | ConnectionState::Reconnecting => {
                self.set_state(ConnectionState::Closed)
            }
            ConnectionState::Closing | ConnectionState::Closed => {}
        }
    }

    /// Connect again at once: drops the current socket (closing it with 1000) or
    /// cuts a backoff wait short. From `Idle`, `Closing` or `Closed` it is [`open`](Self::open).
    pub fn reconnect_now(&mut self, now: Instant) {
        match self.state {
            ConnectionState::Idle | ConnectionState::Closing | ConnectionState::Closed => {
                self.open(now)
            }
            ConnectionState::Reconnecting => self.connect(now),
            ConnectionState::Connecting | ConnectionState::Open => {
                if let Some(socket) = self.socket {
                    self.actions.push_back(Action::Close {
                        socket,
                        code: CloseCode::Normal,
                        reason: "reconnect",
                    });
                }
                self.control.clear();
                self.inflight.clear();
                self.connect(now);
            }
        }
    }

    /// Keep `channel` subscribed (now if open, and after every reconnect). Returns
    /// the subscribe request id when a frame was queued.
    pub fn subscribe(&mut self, channel: &str) -> Option<u64> {
        if self.channels.contains_key(channel) {
            return None;
        }
        self.channels
            .insert(channel.to_owned(), ChannelState::default());
        self.queue_subscribe(channel)
    }

    /// Send `subscribe` again for a live channel (refreshes its TTL at the gateway).
    pub fn refresh(&mut self, channel: &str) -> Option<u64> {
        if !self.channels.contains_key(channel) {
            return None;
        }
        self.queue_subscribe(channel)
    }

    /// Stop keeping `channel` subscribed; sends `unsubscribe` when open.
    pub fn unsubscribe(&mut self, channel: &str) {
        if self.channels.remove(channel).is_none() {
            return;
        }
        if self.state == ConnectionState::Open {
            let id = self.request_id();
            self.control.push_back(ClientFrame::Unsubscribe {
                id,
                channel: channel.to_owned(),
            });
        }
    }

    /// Queue a publish. It waits in the bounded outbox while disconnected.
    pub fn publish(&mut self, channel: &str, data: Payload) -> Result<u64, SendError> {
        if matches!(
            self.state,
            ConnectionState::Closed | ConnectionState::Closing
        ) {
            return Err(SendError::Closed);
        }
        let id = self.request_id();
        let frame = ClientFrame::Publish {
            id,
            channel: channel.to_owned(),
            data,
        };
        match self.outbox.push(frame) {
            Ok(Pushed::Queued) => Ok(id),
            Ok(Pushed::Evicted(old)) => {
                self.stats.dropped_sends += 1;
                if let Some(old_id) = old.id() {
                    self.actions.push_back(Action::SendFailed {
                        id: old_id,
                        error: SendError::QueueFull,
                    });
                }
                Ok(id)
            }
            Ok(Pushed::DroppedNew(_)) | Err(_) => {
                self.stats.dropped_sends += 1;
                Err(SendError::QueueFull)
            }
        }
    }

    /// The socket opened.
    pub fn on_open(&mut self, socket: SocketId, now: Instant) {
        if self.socket != Some(socket) || self.state != ConnectionState::Connecting {
            return;
        }
        self.connect_deadline = None;
        self.opened_at = Some(now);
        self.last_inbound = Some(now);
        self.stats.connects += 1;
        self.control.clear();
        let channels: Vec<String> = self.channels.keys().cloned().collect();
        self.set_state(ConnectionState::Open);
        for channel in channels {
            self.queue_subscribe(&channel);
        }
    }

    /// Something arrived on a socket (`frame` is `None` when it could not be parsed).
    /// Returns whether the socket is the current open one, i.e. whether the frame
    /// should be delivered.
    pub fn on_inbound(
        &mut self,
        socket: SocketId,
        frame: Option<&ServerFrame>,
        now: Instant,
    ) -> bool {
        if self.socket != Some(socket) || self.state != ConnectionState::Open {
            return false;
        }
        self.last_inbound = Some(now);
        match frame {
            Some(ServerFrame::Ping) => self.control.push_back(ClientFrame::Pong),
            Some(ServerFrame::Subscribed {
                id,
                channel,
                position,
                ttl_secs,
            }) => {
                self.inflight.remove(id);
                if let Some(state) = self.channels.get_mut(channel) {
                    if state.position.is_none() {
                        state.position = Some(position.clone());
                    }
                    // Refresh at half the TTL so one lost refresh still leaves time.
                    state.refresh_at =
                        (*ttl_secs > 0).then(|| now + Duration::from_secs(*ttl_secs) / 2);
                }
            }
            Some(ServerFrame::Message {
                channel,
                offset,
                epoch,
                ..
            }) => {
                if let Some(state) = self.channels.get_mut(channel) {
                    state.position = Some(Position {
                        offset: *offset,
                        epoch: epoch.clone(),
                    });
                }
            }
            // The gateway dropped a channel we still want: take it back.
            Some(ServerFrame::Unsubscribed { channel, reason })
                if *reason != UnsubscribeReason::Requested
                    && self.channels.contains_key(channel) =>
            {
                let channel = channel.clone();
                self.queue_subscribe(&channel);
            }
            _ => {}
        }
        true
    }

    /// The gateway refused request `id`: when it was a subscribe, the channel is
    /// dropped from the resubscribe set (it would be refused again) and returned.
    pub fn refused(&mut self, id: u64) -> Option<String> {
        let channel = self.inflight.remove(&id)?;
        self.channels.remove(&channel);
        Some(channel)
    }

    /// The socket reported an error. Browsers follow an error with a close; the
    /// session treats the error as the drop and ignores that close.
    pub fn on_error(&mut self, socket: SocketId, now: Instant) {
        if self.socket != Some(socket) {
            return;
        }
        match self.state {
            ConnectionState::Connecting | ConnectionState::Open => {
                self.dropped(CloseCode::Abnormal, "", now)
            }
            ConnectionState::Closing => self.finish_close(),
            _ => {}
        }
    }

    /// The socket closed with `code`.
    pub fn on_close(&mut self, socket: SocketId, code: CloseCode, reason: &str, now: Instant) {
        if self.socket != Some(socket) {
            return;
        }
        match self.state {
            ConnectionState::Connecting | ConnectionState::Open => self.dropped(code, reason, now),
            ConnectionState::Closing => {
                *self.stats.closes_by_code.entry(code.as_u16()).or_default() += 1;
                self.finish_close()
            }
            _ => {}
        }
    }

    /// Run every deadline that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.state {
            ConnectionState::Reconnecting => self.connect(now),
            ConnectionState::Connecting => {
                self.dropped(CloseCode::Abnormal, "connect timeout", now)
            }
            ConnectionState::Open if self.heartbeat_deadline().is_none_or(|d| now < d) => {
                self.refresh_due(now)
            }
            ConnectionState::Open => {
                self.stats.heartbeat_timeouts += 1;
                if let Some(socket) = self.socket {
                    self.actions.push_back(Action::Close {
                        socket,
                        code: CloseCode::HeartbeatTimeout,
                        reason: "heartbeat timeout",
                    });
                }
                self.dropped(CloseCode::HeartbeatTimeout, "heartbeat timeout", now)
            }
            ConnectionState::Closing => self.finish_close(),
            ConnectionState::Idle | ConnectionState::Closed => {}
        }
    }

    /// The page became visible (`true`) or hidden. When it becomes visible with a
    /// dead connection, the next attempt starts at once.
    pub fn set_visible(&mut self, visible: bool, now: Instant) {
        if visible {
            self.wake_up(now);
        }
    }

    /// The browser went online (`true`) or offline. Online with a dead connection
    /// starts the next attempt at once.
    pub fn set_online(&mut self, online: bool, now: Instant) {
        if online {
            self.wake_up(now);
        }
    }

    fn wake_up(&mut self, now: Instant) {
        // Deadlines first: a throttled tab may have slept through a heartbeat deadline.
        self.handle_timeout(now);
        if self.state == ConnectionState::Reconnecting {
            self.connect(now);
        }
    }

    fn request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Subscribe again to every channel whose TTL refresh is due (no resume position:
    /// the subscription is live, nothing was missed).
    fn refresh_due(&mut self, now: Instant) {
        let due: Vec<String> = self
            .channels
            .iter_mut()
            .filter(|(_, c)| c.refresh_at.is_some_and(|at| at <= now))
            .map(|(name, c)| {
                c.refresh_at = None;
                name.clone()
            })
            .collect();
        for channel in due {
            self.queue_frame_subscribe(&channel, false);
        }
    }

    fn queue_subscribe(&mut self, channel: &str) -> Option<u64> {
        self.queue_frame_subscribe(channel, true)
    }

    fn queue_frame_subscribe(&mut self, channel: &str, resume: bool) -> Option<u64> {
        if self.state != ConnectionState::Open {
            return None;
        }
        let id = self.request_id();
        let resume = if resume {
            self.channels.get(channel).and_then(|c| c.position.clone())
        } else {
            None
        };
        self.inflight.insert(id, channel.to_owned());
        self.control.push_back(ClientFrame::Subscribe {
            id,
            channel: channel.to_owned(),
            resume,
        });
        Some(id)
    }

    fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state;
            self.actions.push_back(Action::StateChanged(state));
        }
    }

    fn connect(&mut self, now: Instant) {
        if self.state == ConnectionState::Reconnecting {
            self.stats.reconnects += 1;
        }
        self.release_socket();
        self.retry_at = None;
        self.close_deadline = None;
        self.next_socket += 1;
        let socket = SocketId(self.next_socket);
        self.socket = Some(socket);
        self.connect_deadline = Some(now + self.config.connect_timeout);
        self.actions.push_back(Action::Connect(socket));
        self.set_state(ConnectionState::Connecting);
    }

    fn release_socket(&mut self) {
        if let Some(socket) = self.socket.take() {
            self.actions.push_back(Action::Release(socket));
        }
        self.opened_at = None;
        self.last_inbound = None;
    }

    fn finish_close(&mut self) {
        self.release_socket();
        self.close_deadline = None;
        self.set_state(ConnectionState::Closed);
    }

    fn fail_outbox(&mut self, error: SendError) {
        let failed: Vec<u64> = self.outbox.drain().filter_map(|f| f.id()).collect();
        self.stats.dropped_sends += failed.len() as u64;
        for id in failed {
            self.actions.push_back(Action::SendFailed {
                id,
                error: error.clone(),
            });
        }
    }

    /// The one place that schedules a reconnect. Only reachable for the current
    /// socket in `Connecting`/`Open`, and it drops that socket, so a second event of
    /// the same drop finds no current socket and does nothing.
    fn dropped(&mut self, code: CloseCode, reason: &str, now: Instant) {
        *self.stats.closes_by_code.entry(code.as_u16()).or_default() += 1;
        if let Some(opened) = self.opened_at {
            if now.saturating_duration_since(opened) >= self.config.backoff.stable_after {
                self.attempt = 0;
            }
        }
        self.release_socket();
        self.control.clear();
        self.inflight.clear();
        for channel in self.channels.values_mut() {
            channel.refresh_at = None;
        }
        self.connect_deadline = None;
        if !code.is_retryable() {
            self.fail_outbox(SendError::Closed);
            self.actions
                .push_back(Action::Error(SessionError::Terminal {
                    code,
                    reason: reason.to_owned(),
                }));
            self.set_state(ConnectionState::Closed);
            return;
        }
        if let Some(max) = self.config.max_attempts {
            if self.attempt >= max {
                self.fail_outbox(SendError::Closed);
                self.actions
                    .push_back(Action::Error(SessionError::GaveUp(self.attempt)));
                self.set_state(ConnectionState::Closed);
                return;
            }
        }
        let delay = self.jittered_delay();
        self.attempt = self.attempt.saturating_add(1);
        self.retry_at = Some(now + delay);
        self.set_state(ConnectionState::Reconnecting);
    }

    fn jittered_delay(&mut self) -> Duration {
        let cap = self.config.backoff.cap(self.attempt);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(self.rng.u64(0..=cap_ms))
    }
}
