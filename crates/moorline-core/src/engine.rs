//! The sans-IO heart of a client: a [`Session`] plus a [`Registry`] plus event
//! listeners, with frame parsing and routing. Transports drive it.

use crate::close_code::CloseCode;
use crate::metrics::{live, ClientMetrics, Live, LiveGuard};
use crate::protocol::{ErrorCode, Payload, ServerFrame};
use crate::queue::{BoundedQueue, OverflowPolicy};
use crate::registry::{Acquired, Delivery, HandleId, Registry, RegistryConfig};
use crate::session::{
    Action, ConnectionState, SendError, Session, SessionConfig, SessionError, SocketId,
};
use std::collections::HashMap;
use std::task::{Context, Poll, Waker};
use web_time::Instant;

/// Something a client reports to its event listeners.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The connection state changed.
    State(ConnectionState),
    /// Something went wrong; the client keeps going unless the state says `Closed`.
    Error(ClientErrorEvent),
}

/// Errors reported as events (not tied to one call).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientErrorEvent {
    /// The session stopped.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The gateway answered a request with an error frame.
    #[error("server error {code}: {message}")]
    Server {
        /// Request id, when known.
        id: Option<u64>,
        /// Error code.
        code: ErrorCode,
        /// Error message.
        message: String,
    },
    /// A frame from the gateway could not be parsed.
    #[error("bad frame from the server: {0}")]
    Protocol(String),
    /// A queued publish was never sent.
    #[error("publish {id} failed: {error}")]
    SendFailed {
        /// Request id of the publish.
        id: u64,
        /// Why.
        error: SendError,
    },
}

struct Listener {
    queue: BoundedQueue<ClientEvent>,
    waker: Option<Waker>,
}

/// Session, registry and listeners of one client. Not for direct use by apps.
pub(crate) struct Engine {
    pub(crate) session: Session,
    pub(crate) registry: Registry,
    listeners: HashMap<u64, Listener>,
    next_listener: u64,
    protocol_errors: u64,
    _live: LiveGuard,
}

impl Engine {
    pub(crate) fn new(session: SessionConfig, registry: RegistryConfig, seed: u64) -> Self {
        Self {
            session: Session::new(session, seed),
            registry: Registry::new(registry),
            listeners: HashMap::new(),
            next_listener: 0,
            protocol_errors: 0,
            _live: LiveGuard::new(Live::Client),
        }
    }

    /// Acquire a handle; subscribes when the channel is new.
    pub(crate) fn acquire(&mut self, channel: &str, now: Instant) -> HandleId {
        let (id, acquired) = self.registry.acquire(channel, now);
        if acquired == Acquired::New {
            self.session.subscribe(channel);
        }
        id
    }

    pub(crate) fn release(&mut self, id: HandleId, now: Instant) {
        if let Some(channel) = self.registry.release(id, now) {
            self.session.unsubscribe(&channel);
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match (self.session.poll_timeout(), self.registry.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        for channel in self.registry.handle_timeout(now) {
            self.session.unsubscribe(&channel);
        }
    }

    pub(crate) fn on_text(&mut self, socket: SocketId, text: &str, now: Instant) {
        let frame = ServerFrame::parse(text);
        if !self.session.on_inbound(socket, frame.as_ref().ok(), now) {
            return;
        }
        match frame {
            Ok(ServerFrame::Message {
                channel,
                offset,
                epoch,
                data,
            }) => {
                self.registry.deliver(
                    &channel,
                    &Delivery::Message {
                        offset,
                        epoch,
                        data,
                    },
                );
            }
            Ok(ServerFrame::Error { id, code, message }) => {
                match id.and_then(|id| self.session.refused(id)) {
                    Some(channel) => {
                        let refused = Delivery::Refused {
                            code,
                            message: message.clone(),
                        };
                        self.registry.deliver(&channel, &refused);
                    }
                    None => self.emit(ClientEvent::Error(ClientErrorEvent::Server {
                        id,
                        code,
                        message,
                    })),
                }
            }
            Ok(_) => {}
            Err(err) => {
                self.protocol_errors += 1;
                self.emit(ClientEvent::Error(ClientErrorEvent::Protocol(
                    err.to_string(),
                )));
            }
        }
    }

    /// A binary frame arrived: not part of the protocol, counted and reported.
    pub(crate) fn on_binary(&mut self, socket: SocketId, now: Instant) {
        if self.session.on_inbound(socket, None, now) {
            self.protocol_errors += 1;
            self.emit(ClientEvent::Error(ClientErrorEvent::Protocol(
                "binary frame".to_owned(),
            )));
        }
    }

    pub(crate) fn on_close(&mut self, socket: SocketId, code: u16, reason: &str, now: Instant) {
        self.session
            .on_close(socket, CloseCode::from(code), reason, now);
    }

    pub(crate) fn publish(&mut self, channel: &str, data: Payload) -> Result<u64, SendError> {
        self.session.publish(channel, data)
    }

    /// Take the session's actions, turning state changes and errors into events.
    /// Returns the I/O actions the transport must carry out.
    pub(crate) fn take_io_actions(&mut self) -> Vec<Action> {
        let actions: Vec<Action> = self.session.take_actions().collect();
        let mut io = Vec::with_capacity(actions.len());
        for action in actions {
            match action {
                Action::StateChanged(state) => self.emit(ClientEvent::State(state)),
                Action::Error(err) => self.emit(ClientEvent::Error(err.into())),
                Action::SendFailed { id, error } => {
                    self.emit(ClientEvent::Error(ClientErrorEvent::SendFailed {
                        id,
                        error,
                    }))
                }
                other => io.push(other),
            }
        }
        io
    }

    pub(crate) fn add_listener(&mut self, capacity: usize) -> u64 {
        self.next_listener += 1;
        self.listeners.insert(
            self.next_listener,
            Listener {
                queue: BoundedQueue::new(capacity, OverflowPolicy::DropOldest),
                waker: None,
            },
        );
        self.next_listener
    }

    pub(crate) fn remove_listener(&mut self, id: u64) {
        self.listeners.remove(&id);
    }

    pub(crate) fn poll_listener(
        &mut self,
        id: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Option<ClientEvent>> {
        let Some(listener) = self.listeners.get_mut(&id) else {
            return Poll::Ready(None);
        };
        match listener.queue.pop() {
            Some(event) => Poll::Ready(Some(event)),
            None => {
                listener.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn emit(&mut self, event: ClientEvent) {
        for listener in self.listeners.values_mut() {
            // DropOldest: a listener that does not read loses the oldest events.
            let _ = listener.queue.push(event.clone());
            if let Some(waker) = listener.waker.take() {
                waker.wake();
            }
        }
    }

    pub(crate) fn metrics(&self, now: Instant) -> ClientMetrics {
        let stats = self.session.stats();
        ClientMetrics {
            state: self.session.state(),
            uptime: self
                .session
                .opened_at()
                .map(|at| now.saturating_duration_since(at)),
            connects: stats.connects,
            reconnects: stats.reconnects,
            closes_by_code: stats.closes_by_code.clone(),
            outbox_depth: self.session.outbox_len(),
            inbound_depth: self.registry.queued(),
            dropped_sends: stats.dropped_sends,
            dropped_messages: self.registry.dropped(),
            delivered: self.registry.delivered(),
            protocol_errors: self.protocol_errors,
            heartbeat_timeouts: stats.heartbeat_timeouts,
            channels: self.registry.channel_count(),
            subscriptions: self.registry.handle_count(),
            live: live(),
        }
    }
}
