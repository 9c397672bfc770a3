//! `use_realtime_channel`: the latest message of a channel as a signal.

use crate::callables::{Publish, Trigger};
use crate::driver::{drive, StatusSignals};
use leptos::prelude::*;
use moorline_core::RealtimeError;
use moorline_core::{ClientMetrics, ClientOptions, ConnectionState};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Options of [`use_realtime_channel_with_options`].
#[derive(Debug, Clone)]
pub struct UseRealtimeChannelOptions {
    /// Connect to this URL (shared per URL in the page) instead of the client of
    /// [`provide_realtime`](crate::provide_realtime). Reactive: a change moves the
    /// subscription to the new URL. Default `None`: use the provided client.
    pub url: Option<Signal<String>>,
    /// Client options used when the hook connects by `url`. Default
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

/// What [`use_realtime_channel`] returns.
#[derive(Debug, Clone)]
pub struct UseRealtimeChannelReturn<T: Send + Sync + 'static> {
    /// The latest message of the current channel (`None` until one arrives, and
    /// again right after a channel switch).
    pub message: Signal<Option<T>>,
    /// The connection state.
    pub state: Signal<ConnectionState>,
    /// The last error (a message that did not decode, a refused subscription, a
    /// terminal close, ...).
    pub error: Signal<Option<RealtimeError>>,
    /// The client's metrics, refreshed on every message and connection event.
    pub metrics: Signal<Option<ClientMetrics>>,
    /// Publish on the current channel.
    pub publish: Publish<T>,
    /// Close the connection for good (shared: affects every hook on it).
    pub close: Trigger,
    /// Drop the socket and connect again at once (shared, like `close`).
    pub reconnect: Trigger,
}

/// Subscribe to `channel` with the client of [`provide_realtime`](crate::provide_realtime).
/// See [`use_realtime_channel_with_options`].
pub fn use_realtime_channel<T>(channel: impl Into<Signal<String>>) -> UseRealtimeChannelReturn<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    use_realtime_channel_with_options(channel, UseRealtimeChannelOptions::default())
}

/// Subscribe to `channel` (reactive) and keep its latest message in a signal.
///
/// On cleanup the subscription is released (the client's linger absorbs a remount),
/// its task is aborted, and nothing touches the hook's signals afterwards. When the
/// channel changes, the old subscription stops before the new one starts: no message
/// of the old channel lands after the switch.
pub fn use_realtime_channel_with_options<T>(
    channel: impl Into<Signal<String>>,
    options: UseRealtimeChannelOptions,
) -> UseRealtimeChannelReturn<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    let channel = channel.into();
    // The latest message with the channel it came from: `message` shows it only while
    // that is still the current channel, so whatever order effects run in after a
    // switch, an old channel's message is never visible.
    let latest = RwSignal::new(None::<(String, T)>);
    let message = Signal::derive(move || {
        let current = channel.get();
        latest.with(|l| {
            l.as_ref()
                .filter(|(c, _)| *c == current)
                .map(|(_, t)| t.clone())
        })
    });
    let status = StatusSignals::new();
    let callables = drive(
        channel,
        options.url,
        options.client,
        status,
        move |name, msg| {
            latest.try_set(Some((name.to_owned(), msg.data)));
        },
    );
    UseRealtimeChannelReturn {
        message,
        state: status.state.into(),
        error: status.error.into(),
        metrics: status.metrics.into(),
        publish: callables.publish,
        close: callables.close,
        reconnect: callables.reconnect,
    }
}
