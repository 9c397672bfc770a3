//! Bounded FIFO queues with a named overflow policy; every drop is counted.

use std::collections::VecDeque;

/// What a full queue does with one more item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Evict the oldest item to make room (keeps the freshest data).
    #[default]
    DropOldest,
    /// Discard the new item (keeps what was queued first).
    DropNewest,
    /// Refuse the new item and hand it back to the caller as an error.
    Reject,
}

/// A full queue refused an item (policy [`OverflowPolicy::Reject`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue full ({capacity} items)")]
pub struct QueueFull<T> {
    /// The refused item.
    pub item: T,
    /// The queue's capacity.
    pub capacity: usize,
}

/// What happened to a pushed item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Pushed<T> {
    /// Queued; nothing dropped.
    Queued,
    /// Queued after evicting this oldest item.
    Evicted(T),
    /// The new item was dropped (policy [`OverflowPolicy::DropNewest`]).
    DroppedNew(T),
}

/// A FIFO queue that never holds more than `capacity` items.
///
/// ```
/// use moorline_core::queue::{BoundedQueue, OverflowPolicy, Pushed};
///
/// let mut q = BoundedQueue::new(2, OverflowPolicy::DropOldest);
/// assert_eq!(q.push(1), Ok(Pushed::Queued));
/// assert_eq!(q.push(2), Ok(Pushed::Queued));
/// assert_eq!(q.push(3), Ok(Pushed::Evicted(1)));
/// assert_eq!(q.dropped(), 1);
/// assert_eq!(q.pop(), Some(2));
/// ```
#[derive(Debug, Clone)]
pub struct BoundedQueue<T> {
    items: VecDeque<T>,
    capacity: usize,
    policy: OverflowPolicy,
    dropped: u64,
}

impl<T> BoundedQueue<T> {
    /// A queue of at most `capacity` items (a capacity of 0 is raised to 1).
    pub fn new(capacity: usize, policy: OverflowPolicy) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            policy,
            dropped: 0,
        }
    }

    /// Add an item at the back, applying the overflow policy when full.
    pub fn push(&mut self, item: T) -> Result<Pushed<T>, QueueFull<T>> {
        if self.items.len() < self.capacity {
            self.items.push_back(item);
            return Ok(Pushed::Queued);
        }
        self.dropped += 1;
        match self.policy {
            OverflowPolicy::DropOldest => {
                let evicted = self.items.pop_front();
                self.items.push_back(item);
                Ok(evicted.map_or(Pushed::Queued, Pushed::Evicted))
            }
            OverflowPolicy::DropNewest => Ok(Pushed::DroppedNew(item)),
            OverflowPolicy::Reject => Err(QueueFull {
                item,
                capacity: self.capacity,
            }),
        }
    }

    /// Put an item back at the front (used to retry an item that could not be sent).
    /// Past capacity the item at the back is dropped and counted.
    pub fn push_front(&mut self, item: T) {
        self.items.push_front(item);
        if self.items.len() > self.capacity {
            self.items.pop_back();
            self.dropped += 1;
        }
    }

    /// Take the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Remove every item and return them, oldest first (not counted as drops).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.items.drain(..)
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most items the queue holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The overflow policy.
    pub fn policy(&self) -> OverflowPolicy {
        self.policy
    }

    /// Items dropped or refused by the overflow policy since creation.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(policy: OverflowPolicy) -> BoundedQueue<u32> {
        let mut q = BoundedQueue::new(3, policy);
        for i in 0..3 {
            assert_eq!(q.push(i), Ok(Pushed::Queued));
        }
        q
    }

    #[test]
    fn drop_oldest_keeps_the_newest() {
        let mut q = fill(OverflowPolicy::DropOldest);
        assert_eq!(q.push(3), Ok(Pushed::Evicted(0)));
        assert_eq!(q.push(4), Ok(Pushed::Evicted(1)));
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        assert_eq!(q.drain().collect::<Vec<_>>(), vec![2, 3, 4]);
    }

    #[test]
    fn drop_newest_keeps_the_oldest() {
        let mut q = fill(OverflowPolicy::DropNewest);
        assert_eq!(q.push(3), Ok(Pushed::DroppedNew(3)));
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.drain().collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn reject_hands_the_item_back() {
        let mut q = fill(OverflowPolicy::Reject);
        assert_eq!(
            q.push(3),
            Err(QueueFull {
                item: 3,
                capacity: 3
            })
        );
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.drain().collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn push_front_stays_bounded() {
        let mut q = fill(OverflowPolicy::DropOldest);
        q.push_front(9);
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.drain().collect::<Vec<_>>(), vec![9, 0, 1]);
    }

    #[test]
    fn zero_capacity_is_one() {
        let mut q = BoundedQueue::new(0, OverflowPolicy::DropOldest);
        assert_eq!(q.capacity(), 1);
        assert_eq!(q.push('a'), Ok(Pushed::Queued));
        assert_eq!(q.push('b'), Ok(Pushed::Evicted('a')));
    }
}
