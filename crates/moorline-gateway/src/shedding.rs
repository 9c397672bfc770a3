//! Load shedding by memory: RSS sampled against a budget, three levels with
//! hysteresis, and the decisions each level makes.
//!
//! | level | entered at RSS/budget | does |
//! |---|---|---|
//! | 0 normal | below `recover` (from any level) | nothing |
//! | 1 soft | `soft` | drops messages of non-critical channels; refuses new sockets (HTTP 503) |
//! | 2 hard | `hard` | as soft, and closes the newest connections with 4002 (a tenth per sample) |
//!
//! Between `recover` and `soft` the level stays where it is (hysteresis).

use crate::stats::Stats;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// Shedding level: normal.
pub const NORMAL: i64 = 0;
/// Shedding level: soft pressure.
pub const SOFT: i64 = 1;
/// Shedding level: hard pressure.
pub const HARD: i64 = 2;

/// A message was not delivered because the gateway is shedding load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the gateway is shedding load under memory pressure; retry later")]
pub struct Shed;

/// The shedding state of one gateway.
#[derive(Debug)]
pub struct Shedder {
    budget: AtomicU64,
    soft: f64,
    hard: f64,
    recover: f64,
    level: AtomicI64,
    critical: Vec<String>,
    stats: Arc<Stats>,
}

impl Shedder {
    pub(crate) fn new(config: &crate::Config, stats: Arc<Stats>) -> Self {
        let budget = config
            .memory_budget_bytes
            .or_else(default_budget)
            .unwrap_or(u64::MAX);
        stats
            .memory_budget_bytes
            .store(i64::try_from(budget).unwrap_or(i64::MAX), Ordering::Relaxed);
        Self {
            budget: AtomicU64::new(budget.max(1)),
            soft: config.shed_soft_ratio,
            hard: config.shed_hard_ratio,
            recover: config.shed_recover_ratio,
            level: AtomicI64::new(NORMAL),
            critical: config.critical_channel_prefixes.clone(),
            stats,
        }
    }

    /// The current level ([`NORMAL`], [`SOFT`] or [`HARD`]).
    pub fn level(&self) -> i64 {
        self.level.load(Ordering::Relaxed)
    }

    /// Change the budget at run time (operators; tests lower it to cause pressure).
    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes.max(1), Ordering::Relaxed);
        self.stats
            .memory_budget_bytes
            .store(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Whether a message on `channel` may be delivered now.
    pub(crate) fn admit_message(&self, channel: &str) -> Result<(), Shed> {
        if self.level() == NORMAL
            || self
                .critical
                .iter()
                .any(|p| channel.starts_with(p.as_str()))
        {
            return Ok(());
        }
        self.stats.drops.add("shed", 1);
        Err(Shed)
    }

    /// Whether a new socket may be accepted now.
    pub(crate) fn admit_connection(&self) -> bool {
        self.level() == NORMAL
    }

    /// Take one RSS sample and move between levels. Returns the new level.
    pub(crate) fn sample(&self, rss: u64) -> i64 {
        self.stats
            .rss_bytes
            .store(i64::try_from(rss).unwrap_or(i64::MAX), Ordering::Relaxed);
        let ratio = rss as f64 / self.budget.load(Ordering::Relaxed) as f64;
        let old = self.level();
        let new = if ratio >= self.hard {
            HARD
        } else if ratio >= self.soft {
            old.max(SOFT)
        } else if ratio < self.recover {
            NORMAL
        } else {
            old
        };
        if new != old {
            self.level.store(new, Ordering::Relaxed);
            self.stats.shedding_level.store(new, Ordering::Relaxed);
            let event = match new {
                HARD => "enter_hard",
                SOFT if old == NORMAL => "enter_soft",
                SOFT => "hard_to_soft",
                _ => "recover",
            };
            self.stats.shed_events.add(event, 1);
            tracing::warn!(
                rss,
                ratio,
                level = new,
                event,
                "memory pressure level changed"
            );
        }
        new
    }
}

/// The resident set size of this process, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The cgroup memory limit when one is set, else half of the machine's RAM.
fn default_budget() -> Option<u64> {
    for path in [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ] {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(limit) = text.trim().parse::<u64>() {
                // cgroup v1 reports "no limit" as a huge number.
                if limit < (1 << 60) {
                    return Some(limit);
                }
            }
        }
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024 / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shedder() -> Shedder {
        let config = crate::Config {
            memory_budget_bytes: Some(1000),
            critical_channel_prefixes: vec!["crit:".into()],
            ..crate::Config::default()
        };
        Shedder::new(&config, Arc::new(Stats::default()))
    }

    #[test]
    fn levels_move_with_hysteresis() {
        let s = shedder();
        assert_eq!(s.sample(500), NORMAL);
        assert_eq!(s.sample(850), SOFT);
        assert_eq!(s.sample(750), SOFT, "between recover and soft: stays");
        assert_eq!(s.sample(960), HARD);
        assert_eq!(s.sample(850), HARD, "between soft and hard: stays hard");
        assert_eq!(s.sample(750), HARD);
        assert_eq!(s.sample(690), NORMAL, "below recover: back to normal");
        let events = s.stats.snapshot().shed_events;
        assert_eq!(events.get("enter_soft"), Some(&1));
        assert_eq!(events.get("enter_hard"), Some(&1));
        assert_eq!(events.get("recover"), Some(&1));
    }

    #[test]
    fn critical_channels_are_never_shed() {
        let s = shedder();
        s.sample(900);
        assert_eq!(s.admit_message("crit:alerts"), Ok(()));
        assert_eq!(s.admit_message("ticks"), Err(Shed));
        assert!(!s.admit_connection());
        assert_eq!(s.stats.snapshot().drops.get("shed"), Some(&1));
    }

    #[test]
    fn rss_is_readable_here() {
        assert!(rss_bytes().is_some_and(|b| b > 0));
    }
}
