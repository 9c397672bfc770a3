//! The hub: channel → subscribers, per-channel offsets and a bounded history.
//!
//! A published message is serialized once; every subscriber's queue gets a cheap
//! clone of the same bytes. Fan-out never blocks: a full subscriber queue closes that
//! subscriber as a slow consumer and the others carry on. A channel's entry is
//! removed with its last subscriber, so the hub holds nothing for closed connections.

use crate::connection::ConnHandle;
use crate::shedding::{Shed, Shedder};
use crate::stats::Stats;
use axum::extract::ws::Utf8Bytes;
use moorline_core::protocol::{Payload, Position, ServerFrame};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Identifies one connection of this gateway.
pub type ConnId = u64;

struct Channel {
    epoch: String,
    last_offset: u64,
    subscribers: HashMap<ConnId, ConnHandle>,
    history: VecDeque<(u64, Utf8Bytes)>,
    subscribes_total: u64,
}

/// What a stats query learns about one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ChannelStats {
    /// Current subscribers.
    pub subscribers: usize,
    /// `subscribe` frames accepted since the channel entry was created.
    pub subscribes_total: u64,
    /// Offset of the last message.
    pub last_offset: u64,
}

/// Channels and their subscribers. Shared by every connection of a gateway.
pub struct Hub {
    channels: Mutex<HashMap<String, Channel>>,
    history_size: usize,
    epochs: AtomicU64,
    stats: Arc<Stats>,
    shedder: Arc<Shedder>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("channels", &self.channel_count())
            .finish()
    }
}

impl Hub {
    pub(crate) fn new(history_size: usize, stats: Arc<Stats>, shedder: Arc<Shedder>) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            history_size,
            epochs: AtomicU64::new(0),
            stats,
            shedder,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Channel>> {
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn new_epoch(&self) -> String {
        let n = self.epochs.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        format!("{:x}-{n}", nanos)
    }

    /// Add (or refresh) a subscription and queue `subscribed`, then any history after
    /// `resume`, to the connection — under the channel lock, so nothing published
    /// meanwhile can slip in before them or be missed.
    pub(crate) fn subscribe(
        &self,
        conn: ConnId,
        handle: &ConnHandle,
        request: u64,
        channel: &str,
        resume: Option<&Position>,
        ttl_secs: u64,
    ) {
        let mut channels = self.lock();
        let entry = channels.entry(channel.to_owned()).or_insert_with(|| {
            self.stats.channels.fetch_add(1, Ordering::Relaxed);
            Channel {
                epoch: self.new_epoch(),
                last_offset: 0,
                subscribers: HashMap::new(),
                history: VecDeque::new(),
                subscribes_total: 0,
            }
        });
        entry.subscribes_total += 1;
        if entry.subscribers.insert(conn, handle.clone()).is_none() {
            self.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
        }
        let subscribed = ServerFrame::Subscribed {
            id: request,
            channel: channel.to_owned(),
            position: Position {
                offset: entry.last_offset,
                epoch: entry.epoch.clone(),
            },
            ttl_secs,
        };
        handle.send(subscribed.to_text().into());
        if let Some(resume) = resume.filter(|r| r.epoch == entry.epoch) {
            for (_, frame) in entry.history.iter().filter(|(o, _)| *o > resume.offset) {
                handle.send(frame.clone());
            }
        }
    }

    /// Remove one subscription. Returns whether it existed.
    pub(crate) fn unsubscribe(&self, conn: ConnId, channel: &str) -> bool {
        let mut channels = self.lock();
        self.remove_locked(&mut channels, conn, channel)
    }

    fn remove_locked(
        &self,
        channels: &mut HashMap<String, Channel>,
        conn: ConnId,
        channel: &str,
    ) -> bool {
        let Some(entry) = channels.get_mut(channel) else {
            return false;
        };
        let removed = entry.subscribers.remove(&conn).is_some();
        if removed {
            self.stats.subscriptions.fetch_sub(1, Ordering::Relaxed);
        }
        if entry.subscribers.is_empty() {
            channels.remove(channel);
            self.stats.channels.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Remove every subscription of a closed connection.
    pub(crate) fn remove_connection<'a>(
        &self,
        conn: ConnId,
        channels: impl IntoIterator<Item = &'a String>,
    ) {
        let mut map = self.lock();
        for channel in channels {
            self.remove_locked(&mut map, conn, channel);
        }
    }

    /// Publish to a channel: give the message the next offset, serialize it once,
    /// queue it to every subscriber. Returns the offset, or 0 when the channel has no
    /// subscriber (nothing is stored; counted as a `no_subscribers` drop). Under
    /// memory pressure a non-critical channel's message is refused with [`Shed`].
    pub fn publish(&self, channel: &str, data: Payload) -> Result<u64, Shed> {
        self.shedder.admit_message(channel)?;
        let mut channels = self.lock();
        let Some(entry) = channels.get_mut(channel) else {
            self.stats.drops.add("no_subscribers", 1);
            return Ok(0);
        };
        entry.last_offset += 1;
        let offset = entry.last_offset;
        let frame: Utf8Bytes = ServerFrame::Message {
            channel: channel.to_owned(),
            offset,
            epoch: entry.epoch.clone(),
            data,
        }
        .to_text()
        .into();
        if self.history_size > 0 {
            if entry.history.len() >= self.history_size {
                entry.history.pop_front();
            }
            entry.history.push_back((offset, frame.clone()));
        }
        let mut delivered = 0u64;
        for handle in entry.subscribers.values() {
            if handle.send(frame.clone()) {
                delivered += 1;
            }
        }
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        self.stats.fanout.observe(delivered as f64);
        Ok(offset)
    }

    /// Channels with at least one subscriber.
    pub fn channel_count(&self) -> usize {
        self.lock().len()
    }

    /// Stats of one channel, when it has subscribers.
    pub fn channel_stats(&self, channel: &str) -> Option<ChannelStats> {
        self.lock().get(channel).map(|c| ChannelStats {
            subscribers: c.subscribers.len(),
            subscribes_total: c.subscribes_total,
            last_offset: c.last_offset,
        })
    }
}
