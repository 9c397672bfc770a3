//! `use_realtime_channel`: the latest message of a channel as component state.

use crate::controls::{use_controls, Controls};
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
    controls: Controls,
}

impl<T> Clone for UseRealtimeChannelHandle<T> {
    fn clone(&self) -> Self {
        Self {
            channel: self.channel.clone(),
            latest: self.latest.clone(),
            controls: self.controls.clone(),
        }
    }
}

impl<T> std::fmt::Debug for UseRealtimeChannelHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseRealtimeChannelHandle")
            .field("channel", &self.channel)
            .field("state", &self.controls.state())
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
        self.controls.state()
    }

    /// The last error.
    pub fn error(&self) -> Option<RealtimeError> {
        self.controls.error()
    }

    /// The client's metrics now (read on call; reading them causes no re-render).
    pub fn metrics(&self) -> Option<ClientMetrics> {
        self.controls.metrics()
    }

    /// Publish on the current channel. After unmount: `Err(RealtimeError::Disposed)`.
    pub fn publish(&self, value: &T) -> Result<u64, RealtimeError> {
        self.controls.publish(value)
    }

    /// Close the connection for good (shared: affects every hook on it).
    pub fn close(&self) {
        self.controls.close()
    }

    /// Drop the socket and connect again at once (shared, like `close`).
    pub fn reconnect(&self) {
        self.controls.reconnect()
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
    let (controls, target) = use_controls(options.url, options.client);
    {
        let (latest, controls) = (latest.clone(), controls.clone());
        use_effect_with((channel.clone(), target), move |(channel, target)| {
            controls.start(
                target,
                channel,
                Rc::new(move |name: &str, msg: moorline_core::Message<T>| {
                    latest.set(Some((Rc::from(name), msg.data)))
                }),
            )
        });
    }
    UseRealtimeChannelHandle {
        channel,
        latest,
        controls,
    }
}
