//! Gateway counters, served as JSON on `/stats`.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counters of one gateway. Gauges and totals are plain atomics.
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) connections: AtomicU64,
    pub(crate) connections_total: AtomicU64,
    pub(crate) subscriptions: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) published_unheard: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) error_frames: AtomicU64,
    pub(crate) closes_by_code: Mutex<BTreeMap<u16, u64>>,
}

/// A point-in-time copy of [`Stats`], as served on `/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Open connections.
    pub connections: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Current subscriptions (connection × channel).
    pub subscriptions: u64,
    /// Channels with at least one subscriber.
    pub channels: u64,
    /// Messages published to a channel with subscribers.
    pub published: u64,
    /// Messages published to a channel without subscribers (not stored).
    pub published_unheard: u64,
    /// Messages queued to subscribers.
    pub delivered: u64,
    /// Frames received from clients.
    pub frames_in: u64,
    /// Error frames sent.
    pub error_frames: u64,
    /// Closed connections by close code.
    pub closes_by_code: BTreeMap<u16, u64>,
}

impl Stats {
    pub(crate) fn closed(&self, code: u16) {
        let mut map = self
            .closes_by_code
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(code).or_default() += 1;
    }

    /// Copy the counters.
    pub fn snapshot(&self, channels: u64) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections.load(Ordering::Relaxed),
            connections_total: self.connections_total.load(Ordering::Relaxed),
            subscriptions: self.subscriptions.load(Ordering::Relaxed),
            channels,
            published: self.published.load(Ordering::Relaxed),
            published_unheard: self.published_unheard.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            error_frames: self.error_frames.load(Ordering::Relaxed),
            closes_by_code: self
                .closes_by_code
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }
}
