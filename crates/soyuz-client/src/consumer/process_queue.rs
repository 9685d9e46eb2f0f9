//! [`ProcessQueue`]: the messages of one queue pulled but not yet consumed, and the
//! offset that is safe to commit (`ProcessQueue`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use parking_lot::Mutex;

use crate::message::MessageExt;

/// Pulled, not yet consumed messages of one queue, by queue offset.
///
/// The committable offset is the smallest offset still being consumed, or one past the
/// largest offset ever pulled when nothing is: a message that failed and is retried
/// holds the offset back, so a restart never skips it.
#[derive(Debug, Default)]
pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    last_pull_millis: AtomicI64,
    locked: AtomicBool,
    last_lock_millis: AtomicI64,
    /// Held while an orderly listener call runs (`consumeLock`): a queue is unlocked on
    /// the broker only once its in-flight consumption ended.
    pub(crate) consume_lock: tokio::sync::Mutex<()>,
}

/// How long a broker lock is trusted without renewal (`REBALANCE_LOCK_MAX_LIVE_TIME`).
pub const LOCK_MAX_LIVE_MILLIS: i64 = 30_000;

#[derive(Debug, Default)]
struct State {
    messages: BTreeMap<i64, MessageExt>,
    bytes: usize,
    queue_offset_max: i64,
    /// An orderly consume task is running for the queue (`consuming`).
    consuming: bool,
}

impl ProcessQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds pulled messages (`putMessage`); returns how many were new.
    pub fn put(&self, messages: &[MessageExt]) -> usize {
        let mut state = self.state.lock();
        let mut added = 0;
        for message in messages {
            if state
                .messages
                .insert(message.queue_offset, message.clone())
                .is_none()
            {
                added += 1;
                state.bytes += message.body.len();
            }
            state.queue_offset_max = state.queue_offset_max.max(message.queue_offset);
        }
        added
    }

    /// Removes consumed messages (`removeMessage`) and returns the offset to commit:
    /// the smallest offset still held, else one past the largest ever pulled; -1 when
    /// the queue was already empty.
    pub fn remove(&self, offsets: impl IntoIterator<Item = i64>) -> i64 {
        let mut state = self.state.lock();
        if state.messages.is_empty() {
            return -1;
        }
        for offset in offsets {
            if let Some(message) = state.messages.remove(&offset) {
                state.bytes -= message.body.len();
            }
        }
        match state.messages.keys().next() {
            Some(first) => *first,
            None => state.queue_offset_max + 1,
        }
    }

    /// Orderly: claims the queue's consume task when there are messages and none runs
    /// (`putMessage`'s `dispatchToConsume`).
    pub fn try_start_consuming(&self) -> bool {
        let mut state = self.state.lock();
        if state.messages.is_empty() || state.consuming {
            return false;
        }
        state.consuming = true;
        true
    }

    /// Orderly: the first `max` messages held, in queue order, left in place until
    /// consumed (`takeMessages`). Empty means the consume task ends; it is released
    /// atomically so a later pull starts a new one.
    pub fn peek_batch(&self, max: usize) -> Vec<MessageExt> {
        let mut state = self.state.lock();
        if state.messages.is_empty() {
            state.consuming = false;
            return Vec::new();
        }
        state.messages.values().take(max.max(1)).cloned().collect()
    }

    /// Orderly: counts another delivery of the messages at `offsets` (a suspended batch
    /// is consumed again with a higher `reconsume_times`).
    pub fn mark_reconsumed(&self, offsets: &[i64]) {
        let mut state = self.state.lock();
        for offset in offsets {
            if let Some(message) = state.messages.get_mut(offset) {
                message.reconsume_times += 1;
            }
        }
    }

    /// Whether the broker lock of the queue is held and was renewed recently enough.
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked.load(Ordering::Acquire)
            && now - self.last_lock_millis.load(Ordering::Acquire) <= LOCK_MAX_LIVE_MILLIS
    }

    /// Records the outcome of a lock request at `now` ms.
    pub fn set_locked(&self, locked: bool, now: i64) {
        if locked {
            self.last_lock_millis.store(now, Ordering::Release);
        }
        self.locked.store(locked, Ordering::Release);
    }

    /// Messages held.
    pub fn count(&self) -> usize {
        self.state.lock().messages.len()
    }

    /// Body bytes held.
    pub fn bytes(&self) -> usize {
        self.state.lock().bytes
    }

    /// Offsets between the first and last message held (`getMaxSpan`).
    pub fn span(&self) -> i64 {
        let state = self.state.lock();
        match (
            state.messages.keys().next(),
            state.messages.keys().next_back(),
        ) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// Forgets every message (the queue is being dropped or reset).
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.messages.clear();
        state.bytes = 0;
    }

    /// Marks the queue dropped: its pull loop stops and its results are ignored.
    pub fn set_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Whether the queue was dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    /// Records a pull at `now` ms.
    pub fn touch_pull(&self, now: i64) {
        self.last_pull_millis.store(now, Ordering::Relaxed);
    }

    /// When the queue was last pulled (ms).
    pub fn last_pull_millis(&self) -> i64 {
        self.last_pull_millis.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(offset: i64) -> MessageExt {
        MessageExt::sample(offset)
    }

    #[test]
    fn commit_offset_is_the_smallest_unconsumed() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.put(&(10..15).map(message).collect::<Vec<_>>()), 5);
        assert_eq!((pq.count(), pq.bytes(), pq.span()), (5, 50, 4));
        // 11 and 13 done first: 10 still held.
        assert_eq!(pq.remove([11, 13]), 10);
        // 10 done: 12 is the smallest held.
        assert_eq!(pq.remove([10]), 12);
        // all done: one past the largest pulled.
        assert_eq!(pq.remove([12, 14]), 15);
        assert_eq!(pq.count(), 0);
        // Already empty: nothing to commit.
        assert_eq!(pq.remove([14]), -1);
    }

    #[test]
    fn duplicates_are_not_counted_twice_and_max_survives_removal() {
        let pq = ProcessQueue::new();
        pq.put(&[message(3), message(4)]);
        assert_eq!(pq.put(&[message(4)]), 0);
        assert_eq!(pq.count(), 2);
        assert_eq!(pq.remove([3, 4]), 5);
        pq.put(&[message(5)]);
        assert_eq!(pq.remove([5]), 6);
        pq.set_dropped();
        assert!(pq.is_dropped());
    }

    #[test]
    fn orderly_batches_stay_until_consumed_and_release_the_task_when_empty() {
        let pq = ProcessQueue::new();
        assert!(!pq.try_start_consuming(), "nothing to consume");
        pq.put(&(0..3).map(message).collect::<Vec<_>>());
        assert!(pq.try_start_consuming());
        assert!(!pq.try_start_consuming(), "one task per queue");
        let batch = pq.peek_batch(2);
        assert_eq!(
            batch.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1]
        );
        pq.mark_reconsumed(&[0, 1]);
        let again = pq.peek_batch(2);
        assert_eq!(again[0].reconsume_times, 1);
        assert_eq!(pq.remove([0, 1]), 2);
        assert_eq!(pq.remove([2]), 3);
        assert!(pq.peek_batch(2).is_empty());
        pq.put(&[message(3)]);
        assert!(pq.try_start_consuming(), "released when it found nothing");

        assert!(!pq.is_locked(0));
        pq.set_locked(true, 1_000);
        assert!(pq.is_locked(1_000 + LOCK_MAX_LIVE_MILLIS));
        assert!(!pq.is_locked(1_001 + LOCK_MAX_LIVE_MILLIS), "expired");
        pq.set_locked(false, 2_000);
        assert!(!pq.is_locked(2_000));
    }
}
