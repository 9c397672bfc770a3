//! A map of the latest value per key with a size bound and a named eviction policy:
//! the safe form of `setState(prev => ({...prev, [id]: payload}))`, which grows
//! without bound when ids keep changing.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Which entry a full [`KeyedMap`] evicts to make room for a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EvictionPolicy {
    /// The entry updated longest ago (an update refreshes an entry).
    #[default]
    LeastRecentlyUpdated,
    /// The entry inserted first (updates do not refresh).
    OldestInserted,
}

/// The latest value per key, at most `capacity` keys. Evictions are counted.
///
/// ```
/// use moorline_core::keyed::{EvictionPolicy, KeyedMap};
///
/// let mut prices = KeyedMap::new(2, EvictionPolicy::LeastRecentlyUpdated);
/// prices.insert("AAPL", 1.0);
/// prices.insert("MSFT", 2.0);
/// prices.insert("AAPL", 1.5); // refreshes AAPL
/// prices.insert("TSLA", 3.0); // evicts MSFT
/// assert_eq!(prices.get(&"MSFT"), None);
/// assert_eq!(prices.get(&"AAPL"), Some(&1.5));
/// assert_eq!(prices.evicted(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct KeyedMap<K, V> {
    entries: HashMap<K, (V, u64)>,
    order: BTreeMap<u64, K>,
    capacity: usize,
    policy: EvictionPolicy,
    clock: u64,
    evicted: u64,
}

impl<K: Eq + Hash + Clone, V> KeyedMap<K, V> {
    /// An empty map holding at most `capacity` keys (0 is raised to 1).
    pub fn new(capacity: usize, policy: EvictionPolicy) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            capacity: capacity.max(1),
            policy,
            clock: 0,
            evicted: 0,
        }
    }

    /// Set the value of `key`, evicting one entry by the policy when a new key does
    /// not fit. Returns the evicted key, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<K> {
        self.clock += 1;
        let stamp = self.clock;
        if let Some((old, old_stamp)) = self.entries.get_mut(&key) {
            *old = value;
            if self.policy == EvictionPolicy::LeastRecentlyUpdated {
                self.order.remove(old_stamp);
                *old_stamp = stamp;
                self.order.insert(stamp, key);
            }
            return None;
        }
        let mut evicted = None;
        if self.entries.len() >= self.capacity {
            if let Some((_, victim)) = self.order.pop_first() {
                self.entries.remove(&victim);
                self.evicted += 1;
                evicted = Some(victim);
            }
        }
        self.order.insert(stamp, key.clone());
        self.entries.insert(key, (value, stamp));
        evicted
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(v, _)| v)
    }

    /// Remove `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (value, stamp) = self.entries.remove(key)?;
        self.order.remove(&stamp);
        Some(value)
    }

    /// Entries in eviction order (the next to be evicted first).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.order
            .values()
            .filter_map(|k| self.entries.get(k).map(|(v, _)| (k, v)))
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most keys held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The eviction policy.
    pub fn policy(&self) -> EvictionPolicy {
        self.policy
    }

    /// Entries evicted since creation.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

impl<K: PartialEq + Eq + Hash, V: PartialEq> PartialEq for KeyedMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(k, (v, _))| other.entries.get(k).is_some_and(|(o, _)| o == v))
            && self.evicted == other.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_bound_under_many_distinct_keys() {
        let mut map = KeyedMap::new(100, EvictionPolicy::LeastRecentlyUpdated);
        for id in 0..10_000u32 {
            map.insert(id, id * 2);
            assert!(map.len() <= 100);
        }
        assert_eq!(map.len(), 100);
        assert_eq!(map.evicted(), 9_900);
        assert_eq!(map.get(&9_999), Some(&19_998));
        assert_eq!(map.get(&0), None);
        assert_eq!(map.order.len(), 100, "no stale order entries");
    }

    #[test]
    fn oldest_inserted_ignores_updates() {
        let mut map = KeyedMap::new(2, EvictionPolicy::OldestInserted);
        map.insert('a', 1);
        map.insert('b', 2);
        map.insert('a', 3);
        assert_eq!(map.insert('c', 4), Some('a'));
        assert_eq!(
            map.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec!['b', 'c']
        );
    }

    #[test]
    fn least_recently_updated_keeps_fresh_keys() {
        let mut map = KeyedMap::new(2, EvictionPolicy::LeastRecentlyUpdated);
        map.insert('a', 1);
        map.insert('b', 2);
        map.insert('a', 3);
        assert_eq!(map.insert('c', 4), Some('b'));
        assert_eq!(map.get(&'a'), Some(&3));
    }

    #[test]
    fn remove_frees_a_slot() {
        let mut map = KeyedMap::new(1, EvictionPolicy::LeastRecentlyUpdated);
        map.insert(1, ());
        assert_eq!(map.remove(&1), Some(()));
        assert_eq!(map.insert(2, ()), None);
        assert_eq!(map.evicted(), 0);
    }
}
