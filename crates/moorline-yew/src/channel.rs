//! `use_realtime_channel`: the latest message of a channel as component state.

use crate::context::RealtimeContext;
use crate::driver::{self, Shared, Sinks};
use moorline_core::{ClientMetrics, ClientOptions, ConnectionState, RealtimeError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::rc::Rc;
use yew::prelude::*;

/// Options of [`use_realtime_channel_with_options`].
#[derive(Debug, Clone, PartialEq)]
pub struct UseRealtimeChannelOptions {
    /// Connect to this URL (shared per URL in the page) instead of the one of the
    /// enclosing [`RealtimeProvider`](crate::RealtimeProvider). A change re-subscribes.
    /// Default `None`: use the provider.
    pub url: Option<AttrValue>,
    /// Client options used when the shared client for the URL is created. Default
    /// [`ClientOptions::default`].
    pub client: ClientOptions,
}

// Hand-written so the docs above can state each default.
#[allow(clippy::derivable_impls)]
impl Default for UseRealtimeChannelOptions {
    fn default() -> Self {
        Self {
            url: None,
            client: ClientOptions::default(),
        }
    }
}

/// What [`use_realtime_channel`] returns. Cheap to clone; every method borrows its
/// internals only for its own duration, so holding the handle across callbacks is
/// safe.
pub struct UseRealtimeChannelHandle<T> {
    channel: Rc<str>,
    latest: UseStateHandle<Option<(Rc<str>, T)>>,
    state: UseStateHandle<ConnectionState>,
    error: UseStateHandle<Option<RealtimeError>>,
    shared: Shared,
}

impl<T> Clone for UseRealtimeChannelHandle<T> {
    fn clone(&self) -> Self {
        Self {
            channel: self.channel.clone(),
            latest: self.latest.clone(),
            state: self.state.clone(),
            error: self.error.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for UseRealtimeChannelHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseRealtimeChannelHandle")
            .field("channel", &self.channel)
            .field("state", &*self.state)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Serialize> UseRealtimeChannelHandle<T> {
    /// The latest message of the current channel (`None` until one arrives; never a
    /// message of a previous channel).
    pub fn message(&self) -> Option<T> {
        self.latest
            .as_ref()
            .filter(|(c, _)| *c == self.channel)
            .map(|(_, t)| t.clone())
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        *self.state
    }

    /// The last error.
    pub fn error(&self) -> Option<RealtimeError> {
        (*self.error).clone()
    }

    /// The client's metrics now (read on call; reading them causes no re-render).
    pub fn metrics(&self) -> Option<ClientMetrics> {
        driver::client(&self.shared).map(|c| c.metrics())
    }

    /// Publish on the current channel. After unmount: `Err(RealtimeError::Disposed)`.
    pub fn publish(&self, value: &T) -> Result<u64, RealtimeError> {
        driver::publish(&self.shared, value)
    }

    /// Close the connection for good (shared: affects every hook on it).
    pub fn close(&self) {
        if let Some(client) = driver::client(&self.shared) {
            client.close();
        }
    }

    /// Drop the socket and connect again at once (shared, like `close`).
    pub fn reconnect(&self) {
        if let Some(client) = driver::client(&self.shared) {
            client.reconnect();
        }
    }
}

/// The URL a hook connects to: its own option, else the provider's.
#[hook]
pub(crate) fn use_target(
    url: Option<AttrValue>,
    client: ClientOptions,
) -> Option<(AttrValue, ClientOptions)> {
    let context = use_context::<RealtimeContext>();
    match (url, context) {
        (Some(url), _) => Some((url, client)),
        (None, Some(context)) => Some((context.url, context.options)),
        (None, None) => None,
    }
}

/// Subscribe to `channel` with the connection of the enclosing
/// [`RealtimeProvider`](crate::RealtimeProvider). See [`use_realtime_channel_with_options`].
#[hook]
pub fn use_realtime_channel<T>(channel: &str) -> UseRealtimeChannelHandle<T>
where
    T: Serialize + DeserializeOwned + Clone + PartialEq + 'static,
{
    use_realtime_channel_with_options(channel, UseRealtimeChannelOptions::default())
}

/// Subscribe to `channel` and keep its latest message in state. The component
/// re-renders when the message, the connection state or the error changes.
///
/// Teardown runs in the effect's destructor: the subscription task is aborted (the
/// subscription is released; the client's linger absorbs a remount) and no message
/// updates the component afterwards. A change of `channel` or URL tears down the old
/// subscription before the new one starts.
#[hook]
pub fn use_realtime_channel_with_options<T>(
    channel: &str,
    options: UseRealtimeChannelOptions,
) -> UseRealtimeChannelHandle<T>
where
    T: Serialize + DeserializeOwned + Clone + PartialEq + 'static,
{
    let channel: Rc<str> = Rc::from(channel);
    let latest = use_state_eq(|| None::<(Rc<str>, T)>);
    let state = use_state_eq(|| ConnectionState::Idle);
    let error = use_state_eq(|| None::<RealtimeError>);
    let shared = use_mut_ref(Default::default);
    let target = use_target(options.url, options.client);
    {
        let (latest, state, error, shared) =
            (latest.clone(), state.clone(), error.clone(), shared.clone());
        use_effect_with((channel.clone(), target), move |(channel, target)| {
            let sinks = Sinks {
                message: Rc::new(move |name: &str, msg: moorline_core::Message<T>| {
                    latest.set(Some((Rc::from(name), msg.data)))
                }),
                state: Rc::new(move |s| state.set(s)),
                error: Rc::new({
                    let error = error.clone();
                    move |e| error.set(Some(e))
                }),
            };
            let teardown: Box<dyn FnOnce()> = match target {
                Some((url, options)) => {
                    Box::new(driver::start(url, options, channel, &shared, sinks))
                }
                None => {
                    error.set(Some(RealtimeError::NoClient));
                    Box::new(|| {})
                }
            };
            teardown
        });
    }
    UseRealtimeChannelHandle {
        channel,
        latest,
        state,
        error,
        shared,
    }
}
