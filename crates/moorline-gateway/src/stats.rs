//! Gateway counters: one set of atomics and maps, served two ways — Prometheus text on
//! `/metrics` (through `prometheus-client`) and JSON on `/stats` (for tests and tools).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A counted map keyed by a label value (close code, reason, error code).
#[derive(Debug, Default)]
pub(crate) struct Tally(Mutex<BTreeMap<String, u64>>);

impl Tally {
    pub(crate) fn add(&self, key: impl ToString, n: u64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(key.to_string()).or_default() += n;
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Counters of one gateway.
#[derive(Debug)]
pub struct Stats {
    pub(crate) connections: AtomicI64,
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) refused: Tally,
    pub(crate) closes: Tally,
    pub(crate) subscriptions: AtomicI64,
    pub(crate) channels: AtomicI64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) drops: Tally,
    pub(crate) errors: Tally,
    pub(crate) outbound_bytes: AtomicI64,
    pub(crate) rss_bytes: AtomicI64,
    pub(crate) memory_budget_bytes: AtomicI64,
    pub(crate) shedding_level: AtomicI64,
    pub(crate) shed_events: Tally,
    pub(crate) draining: AtomicI64,
    pub(crate) fanout: Histogram,
    pub(crate) ping_rtt: Histogram,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            connections: AtomicI64::new(0),
            connections_accepted: AtomicU64::new(0),
            refused: Tally::default(),
            closes: Tally::default(),
            subscriptions: AtomicI64::new(0),
            channels: AtomicI64::new(0),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            published: AtomicU64::new(0),
            drops: Tally::default(),
            errors: Tally::default(),
            outbound_bytes: AtomicI64::new(0),
            rss_bytes: AtomicI64::new(0),
            memory_budget_bytes: AtomicI64::new(0),
            shedding_level: AtomicI64::new(0),
            shed_events: Tally::default(),
            draining: AtomicI64::new(0),
            fanout: Histogram::new([0.0, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0]),
            ping_rtt: Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
        }
    }
}

/// A point-in-time copy of [`Stats`], as served on `/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Open connections.
    pub connections: i64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Refused sockets by reason (`draining`, `max_connections`, `protocol_version`,
    /// `memory_pressure`).
    pub refused: BTreeMap<String, u64>,
    /// Closed connections by close code.
    pub closes_by_code: BTreeMap<String, u64>,
    /// Current subscriptions (connection × channel).
    pub subscriptions: i64,
    /// Channels with at least one subscriber.
    pub channels: i64,
    /// Frames received from clients.
    pub frames_in: u64,
    /// Frames queued to clients.
    pub frames_out: u64,
    /// Messages published to a channel with subscribers.
    pub published: u64,
    /// Messages or frames dropped, by reason.
    pub drops: BTreeMap<String, u64>,
    /// Error frames sent, by error code.
    pub errors: BTreeMap<String, u64>,
    /// Bytes waiting in outbound queues.
    pub outbound_bytes: i64,
    /// Resident set size of the process.
    pub rss_bytes: i64,
    /// The memory budget.
    pub memory_budget_bytes: i64,
    /// 0 normal, 1 soft pressure (shedding), 2 hard pressure.
    pub shedding_level: i64,
    /// Shedding transitions and actions, by kind.
    pub shed_events: BTreeMap<String, u64>,
    /// 1 while draining.
    pub draining: i64,
}

impl StatsSnapshot {
    /// Closes seen with `code`.
    pub fn closes(&self, code: u16) -> u64 {
        self.closes_by_code
            .get(&code.to_string())
            .copied()
            .unwrap_or(0)
    }
}

impl Stats {
    /// Copy the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicI64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            connections: get(&self.connections),
            connections_total: self.connections_accepted.load(Ordering::Relaxed),
            refused: self.refused.snapshot(),
            closes_by_code: self.closes.snapshot(),
            subscriptions: get(&self.subscriptions),
            channels: get(&self.channels),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
            drops: self.drops.snapshot(),
            errors: self.errors.snapshot(),
            outbound_bytes: get(&self.outbound_bytes),
            rss_bytes: get(&self.rss_bytes),
            memory_budget_bytes: get(&self.memory_budget_bytes),
            shedding_level: get(&self.shedding_level),
            shed_events: self.shed_events.snapshot(),
            draining: get(&self.draining),
        }
    }

    /// A Prometheus registry serving these counters.
    pub(crate) fn registry(self: &Arc<Self>) -> Registry {
        let mut registry = Registry::with_prefix("moorline");
        registry.register(
            "publish_fanout",
            "Subscribers a published message was queued to",
            self.fanout.clone(),
        );
        registry.register(
            "ping_rtt_seconds",
            "Round trip from a server ping to the client's pong",
            self.ping_rtt.clone(),
        );
        registry.register_collector(Box::new(StatsCollector(self.clone())));
        registry
    }
}

#[derive(Debug)]
struct StatsCollector(Arc<Stats>);

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)
}

fn tally(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &'static str,
    tally: &Tally,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (key, value) in tally.snapshot() {
        let labels = [(label, key)];
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for StatsCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let get = |a: &AtomicI64| a.load(Ordering::Relaxed);
        gauge(
            &mut e,
            "connections",
            "Open connections",
            get(&s.connections),
        )?;
        counter(
            &mut e,
            "connections_accepted",
            "Connections accepted",
            s.connections_accepted.load(Ordering::Relaxed),
        )?;
        tally(
            &mut e,
            "connections_refused",
            "Sockets refused, by reason",
            "reason",
            &s.refused,
        )?;
        tally(
            &mut e,
            "connections_closed",
            "Connections closed, by close code",
            "code",
            &s.closes,
        )?;
        gauge(
            &mut e,
            "subscriptions",
            "Current subscriptions",
            get(&s.subscriptions),
        )?;
        gauge(
            &mut e,
            "channels",
            "Channels with subscribers",
            get(&s.channels),
        )?;
        counter(
            &mut e,
            "messages_in",
            "Frames received from clients",
            s.frames_in.load(Ordering::Relaxed),
        )?;
        counter(
            &mut e,
            "messages_out",
            "Frames queued to clients",
            s.frames_out.load(Ordering::Relaxed),
        )?;
        counter(
            &mut e,
            "published",
            "Messages published",
            s.published.load(Ordering::Relaxed),
        )?;
        tally(
            &mut e,
            "dropped",
            "Messages or frames dropped, by reason",
            "reason",
            &s.drops,
        )?;
        tally(
            &mut e,
            "error_frames",
            "Error frames sent, by code",
            "code",
            &s.errors,
        )?;
        gauge(
            &mut e,
            "outbound_queue_bytes",
            "Bytes waiting in outbound queues",
            get(&s.outbound_bytes),
        )?;
        gauge(&mut e, "rss_bytes", "Resident set size", get(&s.rss_bytes))?;
        gauge(
            &mut e,
            "memory_budget_bytes",
            "Memory budget",
            get(&s.memory_budget_bytes),
        )?;
        gauge(
            &mut e,
            "shedding_level",
            "0 normal, 1 soft pressure, 2 hard pressure",
            get(&s.shedding_level),
        )?;
        tally(
            &mut e,
            "shed_events",
            "Load-shedding transitions and actions",
            "event",
            &s.shed_events,
        )?;
        gauge(&mut e, "draining", "1 while draining", get(&s.draining))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_counters_gauges_families_and_histograms() {
        let stats = Arc::new(Stats::default());
        stats.connections.store(3, Ordering::Relaxed);
        stats.closes.add(4001, 2);
        stats.drops.add("shed", 5);
        stats.fanout.observe(10.0);
        let registry = stats.registry();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("moorline_connections 3"), "{text}");
        assert!(
            text.contains("moorline_connections_closed_total{code=\"4001\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("moorline_dropped_total{reason=\"shed\"} 5"),
            "{text}"
        );
        assert!(text.contains("moorline_publish_fanout_count 1"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
