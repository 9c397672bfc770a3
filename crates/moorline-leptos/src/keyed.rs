//! `use_realtime_keyed`: a bounded map of the latest message per key.

use crate::callables::{Publish, Trigger};
use crate::driver::{drive, StatusSignals};
use leptos::prelude::*;
use moorline_core::RealtimeError;
use moorline_core::{ClientMetrics, ClientOptions, ConnectionState, EvictionPolicy, KeyedMap};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;

/// Options of [`use_realtime_keyed_with_options`].
#[derive(Debug, Clone)]
pub struct UseRealtimeKeyedOptions {
    /// As [`UseRealtimeChannelOptions::url`](crate::UseRealtimeChannelOptions::url).
    /// Default `None`.
    pub url: Option<Signal<String>>,
    /// Client options used when connecting by `url`. Default [`ClientOptions::default`].
    pub client: ClientOptions,
    /// Most keys kept. Default 1000.
    pub capacity: usize,
    /// Which key a full map evicts. Default [`EvictionPolicy::LeastRecentlyUpdated`].
    pub eviction: EvictionPolicy,
}

impl Default for UseRealtimeKeyedOptions {
    fn default() -> Self {
        Self {
            url: None,
            client: ClientOptions::default(),
            capacity: 1000,
            eviction: EvictionPolicy::LeastRecentlyUpdated,
        }
    }
}

/// What [`use_realtime_keyed`] returns.
#[derive(Debug, Clone)]
pub struct UseRealtimeKeyedReturn<K, T>
where
    K: Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    /// The latest message per key, bounded; cleared on a channel switch.
    pub map: Signal<KeyedMap<K, T>>,
    /// The connection state.
    pub state: Signal<ConnectionState>,
    /// The last error.
    pub error: Signal<Option<RealtimeError>>,
    /// The client's metrics.
    pub metrics: Signal<Option<ClientMetrics>>,
    /// Publish on the current channel.
    pub publish: Publish<T>,
    /// Close the connection for good (shared).
    pub close: Trigger,
    /// Reconnect at once (shared).
    pub reconnect: Trigger,
}

/// Keep the latest message per `key(message)` of `channel`, at most 1000 keys.
/// See [`use_realtime_keyed_with_options`].
pub fn use_realtime_keyed<T, K>(
    channel: impl Into<Signal<String>>,
    key: impl Fn(&T) -> K + 'static,
) -> UseRealtimeKeyedReturn<K, T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    K: Eq + Hash + Clone + Send + Sync + 'static,
{
    use_realtime_keyed_with_options(channel, key, UseRealtimeKeyedOptions::default())
}

/// Keep the latest message per `key(message)` of `channel` in a bounded map: the
/// `setState(prev => ({...prev, [id]: payload}))` pattern without unbounded growth.
pub fn use_realtime_keyed_with_options<T, K>(
    channel: impl Into<Signal<String>>,
    key: impl Fn(&T) -> K + 'static,
    options: UseRealtimeKeyedOptions,
) -> UseRealtimeKeyedReturn<K, T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    K: Eq + Hash + Clone + Send + Sync + 'static,
{
    let channel = channel.into();
    let (capacity, eviction) = (options.capacity, options.eviction);
    let map = RwSignal::new(KeyedMap::<K, T>::new(capacity, eviction));
    let status = StatusSignals::new();
    Effect::new(move |previous: Option<String>| {
        let name = channel.get();
        if previous.is_some_and(|p| p != name) {
            map.try_set(KeyedMap::new(capacity, eviction));
        }
        name
    });
    let callables = drive(
        channel,
        options.url,
        options.client,
        status,
        move |name, msg| {
            if channel
                .try_get_untracked()
                .is_none_or(|current| current != name)
            {
                return;
            }
            let k = key(&msg.data);
            map.try_update(|m| {
                m.insert(k, msg.data);
            });
        },
    );
    UseRealtimeKeyedReturn {
        map: map.into(),
        state: status.state.into(),
        error: status.error.into(),
        metrics: status.metrics.into(),
        publish: callables.publish,
        close: callables.close,
        reconnect: callables.reconnect,
    }
}
