//! Subscriptions of one connection: ref-counted channels, handles with generation
//! ids, a linger before the last release unsubscribes, bounded inbound queues.
//!
//! Like [`Session`](crate::session::Session) it is sans-IO: it tells its caller which
//! channels to subscribe and unsubscribe, and when its next linger deadline is.
//!
//! ```
//! use moorline_core::registry::{Acquired, Registry, RegistryConfig};
//! use web_time::Instant;
//!
//! let now = Instant::now();
//! let mut reg = Registry::new(RegistryConfig::default());
//! let (a, first) = reg.acquire("prices", now);
//! assert_eq!(first, Acquired::New); // caller subscribes
//! reg.release(a, now); // last handle: linger starts, nothing sent yet
//! let (_b, again) = reg.acquire("prices", now);
//! assert_eq!(again, Acquired::Reused); // inside the linger: no new subscribe
//! ```

use crate::protocol::{ErrorCode, Payload};
use crate::queue::{BoundedQueue, OverflowPolicy, Pushed};
use std::collections::{BTreeMap, HashMap};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use web_time::Instant;

/// Identifies one handle. Ids are never reused, so an id doubles as the handle's
/// generation: a message routed to a released id has nowhere to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandleId(pub u64);

/// Settings of a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// How long a channel stays subscribed after its last handle is released.
    /// A re-acquire inside this window reuses the subscription. Default 300 ms.
    pub linger: Duration,
    /// Most undelivered items per handle. Default 1024.
    pub inbound_capacity: usize,
    /// What a full inbound queue does. Default [`OverflowPolicy::DropOldest`].
    pub inbound_policy: OverflowPolicy,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            linger: Duration::from_millis(300),
            inbound_capacity: 1024,
            inbound_policy: OverflowPolicy::DropOldest,
        }
    }
}

/// What [`Registry::acquire`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// First handle of the channel: the caller must subscribe.
    New,
    /// The channel was lingering: its subscription is reused.
    Reused,
    /// Other handles hold the channel already.
    Shared,
}

/// One item routed to a handle.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// A channel message.
    Message {
        /// Offset in the channel.
        offset: u64,
        /// Epoch of the channel history.
        epoch: String,
        /// The JSON value.
        data: Payload,
    },
    /// The gateway refused the subscription.
    Refused {
        /// Error code from the gateway.
        code: ErrorCode,
        /// Error message from the gateway.
        message: String,
    },
}

#[derive(Debug)]
struct Handle {
    channel: String,
    queue: BoundedQueue<Delivery>,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Channel {
    handles: Vec<HandleId>,
    linger_until: Option<Instant>,
}

/// Channels and handles of one connection. See the module docs.
#[derive(Debug)]
pub struct Registry {
    config: RegistryConfig,
    channels: BTreeMap<String, Channel>,
    handles: HashMap<HandleId, Handle>,
    next: u64,
    dropped: u64,
    delivered: u64,
}

impl Registry {
    /// An empty registry.
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            channels: BTreeMap::new(),
            handles: HashMap::new(),
            next: 0,
            dropped: 0,
            delivered: 0,
        }
    }

    /// Add a handle to `channel`.
    pub fn acquire(&mut self, channel: &str, _now: Instant) -> (HandleId, Acquired) {
        self.next += 1;
        let id = HandleId(self.next);
        let entry = self.channels.entry(channel.to_owned()).or_default();
        let acquired = if entry.linger_until.take().is_some() {
            Acquired::Reused
        } else if entry.handles.is_empty() {
            Acquired::New
        } else {
            Acquired::Shared
        };
        entry.handles.push(id);
        self.handles.insert(
            id,
            Handle {
                channel: channel.to_owned(),
                queue: BoundedQueue::new(self.config.inbound_capacity, self.config.inbound_policy),
                waker: None,
            },
        );
        (id, acquired)
    }

    /// Remove a handle. Its undelivered items are discarded. Returns the channel when
    /// this was its last handle and the linger is zero: the caller must unsubscribe
    /// now. With a linger, the channel is returned later by
    /// [`handle_timeout`](Self::handle_timeout).
    pub fn release(&mut self, id: HandleId, now: Instant) -> Option<String> {
        let handle = self.handles.remove(&id)?;
        let entry = self.channels.get_mut(&handle.channel)?;
        entry.handles.retain(|h| *h != id);
        if !entry.handles.is_empty() {
            return None;
        }
        if self.config.linger.is_zero() {
            self.channels.remove(&handle.channel);
            return Some(handle.channel);
        }
        entry.linger_until = Some(now + self.config.linger);
        None
    }

    /// The earliest linger deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.channels.values().filter_map(|c| c.linger_until).min()
    }

    /// Whether some channel is lingering (no handles, still subscribed).
    pub fn is_lingering(&self) -> bool {
        self.channels.values().any(|c| c.linger_until.is_some())
    }

    /// Remove channels whose linger passed; the caller unsubscribes each.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .channels
            .iter()
            .filter(|(_, c)| c.linger_until.is_some_and(|t| t <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &expired {
            self.channels.remove(name);
        }
        expired
    }

    /// Route an item to every live handle of `channel`. Returns how many got it.
    pub fn deliver(&mut self, channel: &str, delivery: &Delivery) -> usize {
        let Some(entry) = self.channels.get(channel) else {
            return 0;
        };
        let mut count = 0;
        for id in &entry.handles {
            if let Some(handle) = self.handles.get_mut(id) {
                match handle.queue.push(delivery.clone()) {
                    Ok(Pushed::Queued) => {}
                    Ok(Pushed::Evicted(_)) | Ok(Pushed::DroppedNew(_)) | Err(_) => {
                        self.dropped += 1
                    }
                }
                if let Some(waker) = handle.waker.take() {
                    waker.wake();
                }
                count += 1;
            }
        }
        self.delivered += count as u64;
        count
    }

    /// Take the next item of a handle, or register the waker. `Ready(None)` when the
    /// handle is gone.
    pub fn poll_next(&mut self, id: HandleId, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let Some(handle) = self.handles.get_mut(&id) else {
            return Poll::Ready(None);
        };
        match handle.queue.pop() {
            Some(item) => Poll::Ready(Some(item)),
            None => {
                handle.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Whether the handle is live.
    pub fn contains(&self, id: HandleId) -> bool {
        self.handles.contains_key(&id)
    }

    /// The channel of a live handle.
    pub fn channel_of(&self, id: HandleId) -> Option<&str> {
        self.handles.get(&id).map(|h| h.channel.as_str())
    }

    /// Channels held (including lingering ones).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Live handles.
    pub fn handle_count(&self) -> usize {
        self.handles.len()
    }

    /// Items waiting in all inbound queues.
    pub fn queued(&self) -> usize {
        self.handles.values().map(|h| h.queue.len()).sum()
    }

    /// Items dropped by inbound overflow policies.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Items routed to handles.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(offset: u64) -> Delivery {
        Delivery::Message {
            offset,
            epoch: "e".into(),
            data: Payload::from_json(&offset.to_string()).unwrap(),
        }
    }

    #[test]
    fn ref_counts_and_linger() {
        let t0 = Instant::now();
        let mut reg = Registry::new(RegistryConfig::default());
        let (a, first) = reg.acquire("c", t0);
        let (b, second) = reg.acquire("c", t0);
        assert_eq!((first, second), (Acquired::New, Acquired::Shared));
        assert_eq!(reg.release(a, t0), None);
        assert_eq!(reg.release(b, t0), None);
        assert!(reg.is_lingering());
        let deadline = reg.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + Duration::from_millis(300));
        assert!(reg
            .handle_timeout(deadline - Duration::from_millis(1))
            .is_empty());
        assert_eq!(reg.handle_timeout(deadline), vec!["c".to_owned()]);
        assert_eq!(reg.channel_count(), 0);
        assert_eq!(reg.poll_timeout(), None);
    }

    #[test]
    fn reacquire_inside_linger_reuses() {
        let t0 = Instant::now();
        let mut reg = Registry::new(RegistryConfig::default());
        let (a, _) = reg.acquire("c", t0);
        reg.release(a, t0);
        let (_b, again) = reg.acquire("c", t0 + Duration::from_millis(100));
        assert_eq!(again, Acquired::Reused);
        assert!(!reg.is_lingering());
        assert!(reg.handle_timeout(t0 + Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn zero_linger_unsubscribes_at_once() {
        let t0 = Instant::now();
        let mut reg = Registry::new(RegistryConfig {
            linger: Duration::ZERO,
            ..RegistryConfig::default()
        });
        let (a, _) = reg.acquire("c", t0);
        assert_eq!(reg.release(a, t0), Some("c".to_owned()));
    }

    #[test]
    fn released_handles_get_nothing() {
        let t0 = Instant::now();
        let mut reg = Registry::new(RegistryConfig::default());
        let (a, _) = reg.acquire("c", t0);
        let (b, _) = reg.acquire("c", t0);
        reg.release(a, t0);
        assert_eq!(reg.deliver("c", &msg(1)), 1);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(reg.poll_next(a, &mut cx), Poll::Ready(None));
        assert_eq!(reg.poll_next(b, &mut cx), Poll::Ready(Some(msg(1))));
        assert_eq!(reg.poll_next(b, &mut cx), Poll::Pending);
    }

    #[test]
    fn inbound_queue_is_bounded_and_counts_drops() {
        let t0 = Instant::now();
        let mut reg = Registry::new(RegistryConfig {
            inbound_capacity: 2,
            ..RegistryConfig::default()
        });
        let (a, _) = reg.acquire("c", t0);
        for i in 1..=5 {
            reg.deliver("c", &msg(i));
        }
        assert_eq!(reg.queued(), 2);
        assert_eq!(reg.dropped(), 3);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(reg.poll_next(a, &mut cx), Poll::Ready(Some(msg(4))));
    }
}
