//! The framework-free [`Client`]: one connection, shared subscriptions, typed streams.

use crate::engine::{ClientEvent, Engine};
use crate::metrics::{ClientMetrics, Live, LiveGuard};
use crate::protocol::{validate_channel, ChannelError, ErrorCode, Payload, PROTOCOL_VERSION};
use crate::registry::{Delivery, HandleId, RegistryConfig};
use crate::session::{ConnectionState, SendError, SessionConfig};
use crate::transport::{self, Io};
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use web_time::Instant;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) type Shared<T> = std::sync::Arc<T>;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type WeakShared<T> = std::sync::Weak<T>;
#[cfg(target_arch = "wasm32")]
pub(crate) type Shared<T> = std::rc::Rc<T>;
#[cfg(target_arch = "wasm32")]
pub(crate) type WeakShared<T> = std::rc::Weak<T>;

/// Client settings. See each field for its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Connection behaviour: backoff, heartbeat deadline, outbox. Default:
    /// [`SessionConfig::default`].
    pub session: SessionConfig,
    /// Subscription behaviour: linger, inbound queue bound and policy. Default:
    /// [`RegistryConfig::default`].
    pub registry: RegistryConfig,
    /// Most undelivered events per [`Events`] stream (oldest dropped). Default 64.
    pub event_capacity: usize,
    /// Seed for the backoff jitter. Default `None`: a random seed.
    pub seed: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            registry: RegistryConfig::default(),
            event_capacity: 64,
            seed: None,
        }
    }
}

/// Why a client call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not a `ws://` or `wss://` URL.
    #[error("invalid url `{0}`: expected ws:// or wss://")]
    InvalidUrl(String),
    /// The channel name breaks the protocol's rules.
    #[error(transparent)]
    InvalidChannel(#[from] ChannelError),
    /// The value could not be serialized to JSON.
    #[error("could not encode the message: {0}")]
    Encode(String),
    /// The publish could not be queued.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The native transport needs a running tokio runtime.
    #[error("no tokio runtime is running")]
    NoRuntime,
    /// No transport in this build: enable the `native` feature (or build for wasm32).
    #[error("no transport: build for wasm32 or enable the `native` feature")]
    NoTransport,
}

/// Why a subscription yielded an error instead of a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// A message did not decode into the subscription's type; the stream goes on.
    #[error("message at offset {offset} did not decode: {error}")]
    Decode {
        /// Offset of the message.
        offset: u64,
        /// The decoder's error.
        error: String,
    },
    /// The gateway refused the subscription; no message will arrive.
    #[error("subscription refused ({code}): {message}")]
    Refused {
        /// Error code.
        code: ErrorCode,
        /// Error message.
        message: String,
    },
}

/// A typed channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<T> {
    /// Offset in the channel (grows by one per message).
    pub offset: u64,
    /// Epoch of the channel's history.
    pub epoch: String,
    /// The decoded value.
    pub data: T,
}

pub(crate) struct ClientInner {
    pub(crate) url: String,
    engine: Mutex<Engine>,
    pub(crate) io: Io,
    pub(crate) event_capacity: usize,
}

impl ClientInner {
    /// Lock the engine. A poisoned lock (a panic elsewhere) still yields the engine:
    /// its state is plain data and stays consistent between calls.
    pub(crate) fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A connection to a moorline gateway. Cheap to clone; every clone is the same
/// connection. The socket closes when the last clone and the last [`Subscription`]
/// are gone (after the linger of lingering channels).
///
/// On wasm32 the client uses the browser's `WebSocket`; elsewhere it needs the
/// `native` feature and a tokio runtime.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Shared<ClientInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url)
            .field("state", &self.state())
            .finish()
    }
}

impl Client {
    /// Open a new connection to `url` (`ws://` or `wss://`). The protocol version is
    /// added as the `v` query parameter.
    pub fn connect(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let url = with_version(url)?;
        let seed = options.seed.unwrap_or_else(transport::random_seed);
        let engine = Engine::new(options.session, options.registry, seed);
        let io = Io::new()?;
        let inner = Shared::new(ClientInner {
            url,
            engine: Mutex::new(engine),
            io,
            event_capacity: options.event_capacity.max(1),
        });
        transport::start(&inner);
        inner.engine().session.open(Instant::now());
        transport::pump(&inner);
        Ok(Client { inner })
    }

    /// The connection to `url` shared by everything in this page (wasm) or process
    /// (native) that asks for it while it lives; `options` apply when it is created.
    pub fn shared(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let key = with_version(url)?;
        transport::shared_client(&key, || Client::connect(url, options))
    }

    pub(crate) fn from_weak(weak: &WeakShared<ClientInner>) -> Option<Client> {
        weak.upgrade().map(|inner| Client { inner })
    }

    pub(crate) fn downgrade(&self) -> WeakShared<ClientInner> {
        Shared::downgrade(&self.inner)
    }

    /// The URL connected to, with the protocol version.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.inner.engine().session.state()
    }

    /// A snapshot of this client's counters and the process-wide live counters.
    pub fn metrics(&self) -> ClientMetrics {
        self.inner.engine().metrics(Instant::now())
    }

    /// Subscribe to `channel`, decoding each message as `T`. Subscriptions of one
    /// channel share one gateway subscription. Dropping the [`Subscription`] releases
    /// it; the last release unsubscribes after the linger.
    pub fn subscribe<T: DeserializeOwned>(
        &self,
        channel: &str,
    ) -> Result<Subscription<T>, ClientError> {
        validate_channel(channel)?;
        let id = self.inner.engine().acquire(channel, Instant::now());
        transport::pump(&self.inner);
        Ok(Subscription {
            client: self.clone(),
            id,
            _type: PhantomData,
            _live: LiveGuard::new(Live::Handle),
        })
    }

    /// Publish `data` on `channel`. Returns the request id. While disconnected the
    /// publish waits in the bounded outbox (see [`SessionConfig::outbox_policy`]).
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        channel: &str,
        data: &T,
    ) -> Result<u64, ClientError> {
        validate_channel(channel)?;
        let payload = Payload::from_value(data).map_err(|e| ClientError::Encode(e.to_string()))?;
        let result = self.inner.engine().publish(channel, payload);
        transport::pump(&self.inner);
        Ok(result?)
    }

    /// Close for good: timers cancelled, queued publishes failed, socket closed with
    /// 1000, no reconnect. Idempotent; [`open`](Self::open) re-enables.
    pub fn close(&self) {
        self.inner.engine().session.close(Instant::now());
        transport::pump(&self.inner);
    }

    /// Re-enable a closed client (no effect when it is not closed).
    pub fn open(&self) {
        self.inner.engine().session.open(Instant::now());
        transport::pump(&self.inner);
    }

    /// Drop the current socket, if any, and connect again at once.
    pub fn reconnect(&self) {
        self.inner.engine().session.reconnect_now(Instant::now());
        transport::pump(&self.inner);
    }

    /// A stream of state changes and errors, from now on. Bounded: a stream that is
    /// not read loses its oldest events.
    pub fn events(&self) -> Events {
        let id = self.inner.engine().add_listener(self.inner.event_capacity);
        Events {
            client: self.clone(),
            id,
            _live: LiveGuard::new(Live::Handle),
        }
    }
}

fn with_version(url: &str) -> Result<String, ClientError> {
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(ClientError::InvalidUrl(url.to_owned()));
    }
    if url.contains("?v=") || url.contains("&v=") {
        return Ok(url.to_owned());
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}v={PROTOCOL_VERSION}"))
}

/// A live subscription: a [`Stream`] of typed messages. Dropping it releases the
/// subscription; no message is delivered to it afterwards.
#[must_use = "a subscription is released as soon as it is dropped"]
pub struct Subscription<T> {
    client: Client,
    id: HandleId,
    _type: PhantomData<fn() -> T>,
    _live: LiveGuard,
}

impl<T> Subscription<T> {
    /// The channel of this subscription.
    pub fn channel(&self) -> String {
        self.client
            .inner
            .engine()
            .registry
            .channel_of(self.id)
            .unwrap_or_default()
            .to_owned()
    }

    /// The client this subscription belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl<T: DeserializeOwned> Stream for Subscription<T> {
    type Item = Result<Message<T>, SubscriptionError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let delivery = self.client.inner.engine().registry.poll_next(self.id, cx);
        delivery.map(|item| {
            item.map(|delivery| match delivery {
                Delivery::Message {
                    offset,
                    epoch,
                    data,
                } => data
                    .decode::<T>()
                    .map(|data| Message {
                        offset,
                        epoch,
                        data,
                    })
                    .map_err(|e| SubscriptionError::Decode {
                        offset,
                        error: e.to_string(),
                    }),
                Delivery::Refused { code, message } => {
                    Err(SubscriptionError::Refused { code, message })
                }
            })
        })
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.client.inner.engine().release(self.id, Instant::now());
        transport::pump(&self.client.inner);
    }
}

/// A stream of [`ClientEvent`]s; dropping it unregisters it.
#[must_use = "an event stream is unregistered as soon as it is dropped"]
pub struct Events {
    client: Client,
    id: u64,
    _live: LiveGuard,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("id", &self.id).finish()
    }
}

impl Stream for Events {
    type Item = ClientEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.client.inner.engine().poll_listener(self.id, cx)
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.client.inner.engine().remove_listener(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_added_once() {
        assert_eq!(with_version("ws://h/ws").unwrap(), "ws://h/ws?v=1");
        assert_eq!(with_version("ws://h/ws?a=b").unwrap(), "ws://h/ws?a=b&v=1");
        assert_eq!(with_version("ws://h/ws?v=1").unwrap(), "ws://h/ws?v=1");
        assert!(matches!(
            with_version("http://h"),
            Err(ClientError::InvalidUrl(_))
        ));
    }
}
