//! `use_realtime_keyed`: a bounded map of the latest message per key.

use crate::controls::{use_controls, Controls};
use moorline_core::{
    ClientMetrics, ClientOptions, ConnectionState, EvictionPolicy, KeyedMap, RealtimeError,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::hash::Hash;
use std::rc::Rc;
use yew::prelude::*;

/// Options of [`use_realtime_keyed_with_options`].
#[derive(Debug, Clone, PartialEq)]
pub struct UseRealtimeKeyedOptions {
    /// As [`UseRealtimeChannelOptions::url`](crate::UseRealtimeChannelOptions::url).
    /// Default `None`.
    pub url: Option<AttrValue>,
    /// Client options. Default [`ClientOptions::default`].
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

/// What [`use_realtime_keyed`] returns. Cheap to clone; safe to hold across callbacks.
pub struct UseRealtimeKeyedHandle<K, T> {
    map: Rc<RefCell<KeyedMap<K, T>>>,
    controls: Controls,
}

impl<K, T> Clone for UseRealtimeKeyedHandle<K, T> {
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
            controls: self.controls.clone(),
        }
    }
}

impl<K, T> std::fmt::Debug for UseRealtimeKeyedHandle<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseRealtimeKeyedHandle")
            .field("state", &self.controls.state())
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone, T: Serialize> UseRealtimeKeyedHandle<K, T> {
    /// Read the map (the latest message per key, bounded). Borrowed for the call only.
    pub fn with_map<R>(&self, f: impl FnOnce(&KeyedMap<K, T>) -> R) -> R {
        f(&self.map.borrow())
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.map.borrow().len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.map.borrow().is_empty()
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.controls.state()
    }

    /// The last error.
    pub fn error(&self) -> Option<RealtimeError> {
        self.controls.error()
    }

    /// The client's metrics now.
    pub fn metrics(&self) -> Option<ClientMetrics> {
        self.controls.metrics()
    }

    /// Publish on the current channel.
    pub fn publish(&self, value: &T) -> Result<u64, RealtimeError> {
        self.controls.publish(value)
    }

    /// Close the connection for good (shared).
    pub fn close(&self) {
        self.controls.close()
    }

    /// Reconnect at once (shared).
    pub fn reconnect(&self) {
        self.controls.reconnect()
    }
}

/// Keep the latest message per `key(message)` of `channel`, at most 1000 keys.
#[hook]
pub fn use_realtime_keyed<T, K>(channel: &str, key: fn(&T) -> K) -> UseRealtimeKeyedHandle<K, T>
where
    T: Serialize + DeserializeOwned + 'static,
    K: Eq + Hash + Clone + 'static,
{
    use_realtime_keyed_with_options(channel, key, UseRealtimeKeyedOptions::default())
}

/// Keep the latest message per `key(message)` of `channel` in a bounded map: the
/// `setState(prev => ({...prev, [id]: payload}))` pattern without unbounded growth.
/// The component re-renders on every change of the map; a channel switch clears it.
#[hook]
pub fn use_realtime_keyed_with_options<T, K>(
    channel: &str,
    key: fn(&T) -> K,
    options: UseRealtimeKeyedOptions,
) -> UseRealtimeKeyedHandle<K, T>
where
    T: Serialize + DeserializeOwned + 'static,
    K: Eq + Hash + Clone + 'static,
{
    let (capacity, eviction) = (options.capacity, options.eviction);
    let map = use_mut_ref(|| KeyedMap::<K, T>::new(capacity, eviction));
    let redraw = use_force_update();
    let (controls, target) = use_controls(options.url, options.client);
    {
        let (map, controls) = (map.clone(), controls.clone());
        use_effect_with(
            (Rc::<str>::from(channel), target),
            move |(channel, target)| {
                // A new channel starts from an empty map.
                *map.borrow_mut() = KeyedMap::new(capacity, eviction);
                controls.start(
                    target,
                    channel,
                    Rc::new(move |_: &str, msg: moorline_core::Message<T>| {
                        let k = key(&msg.data);
                        map.borrow_mut().insert(k, msg.data);
                        redraw.force_update();
                    }),
                )
            },
        );
    }
    UseRealtimeKeyedHandle { map, controls }
}
